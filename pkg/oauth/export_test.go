package oauth

import (
	"github.com/kilnhq/kiln/pkg/ratelimit"
	"github.com/kilnhq/kiln/sandbox/egress"
)

// Test hooks. They are in a _test.go file: they exist only in this
// package's test binary, so no configuration, flag or caller elsewhere can
// turn them on. Call them before the server serves its first request.

// UseCIMDTransportForTest makes metadata document fetches use opts: a
// resolver, a dialer and root CAs reaching the test's document server on
// 127.0.0.1 under a public name and address. The address checks still
// apply to what the resolver returns.
func (s *Server) UseCIMDTransportForTest(opts ...egress.Option) { s.cimd.options = opts }

// SetCIMDLimitsForTest replaces the fetch rate limits and the cache size.
func (s *Server) SetCIMDLimitsForTest(perAddr, perNode ratelimit.Limit, entries int) {
	s.cimd.limits = cimdLimits{perAddr: perAddr, perNode: perNode}
	s.cimd.cache = newCIMDCache(entries)
}

// CIMDCacheLenForTest is the number of cached metadata documents.
func (s *Server) CIMDCacheLenForTest() int { return s.cimd.cache.len() }

// CIMDLifetimeForTest is cimdLifetime.
var CIMDLifetimeForTest = cimdLifetime
