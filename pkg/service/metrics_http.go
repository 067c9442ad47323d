package service

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kilnhq/kiln/pkg/ratelimit"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/sandbox"
)

// MetricsHandler serves the node's metrics in the Prometheus format,
// without authentication: for the separate listener of --metrics-addr.
func (s *Service) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{})
}

// operatorMetrics is /metrics on the service address: only for the
// operator token (Authorization: Bearer), since metrics name every server
// and tool of every customer.
func (s *Service) operatorMetrics(operatorToken string) http.Handler {
	want := sha256.Sum256([]byte(operatorToken))
	metrics := s.MetricsHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		got := sha256.Sum256([]byte(token))
		if !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="kiln-metrics"`)
			http.Error(w, "/metrics needs the operator token: Authorization: Bearer <KILN_OPERATOR_TOKEN>", http.StatusUnauthorized)
			return
		}
		metrics.ServeHTTP(w, r)
	})
}

// registerStats adds what the store's connection pool and the engine's
// warm instance pools already count, read at scrape time.
func (m *Metrics) registerStats(st *store.Store, e *sandbox.Engine) {
	db := reading(st.DBStats)
	m.gaugeFunc("kiln_db_max_open_connections", "The database pool's bound on open connections (0: none).", db(func(s sql.DBStats) float64 { return float64(s.MaxOpenConnections) }))
	m.gaugeFunc("kiln_db_open_connections", "Open database connections, in use and idle.", db(func(s sql.DBStats) float64 { return float64(s.OpenConnections) }))
	m.gaugeFunc("kiln_db_in_use_connections", "Database connections in use.", db(func(s sql.DBStats) float64 { return float64(s.InUse) }))
	m.gaugeFunc("kiln_db_idle_connections", "Idle database connections.", db(func(s sql.DBStats) float64 { return float64(s.Idle) }))
	m.counterFunc("kiln_db_wait_count_total", "Times a caller waited for a database connection.", db(func(s sql.DBStats) float64 { return float64(s.WaitCount) }))
	m.counterFunc("kiln_db_wait_duration_seconds_total", "Time callers spent waiting for a database connection.", db(func(s sql.DBStats) float64 { return seconds(s.WaitDuration) }))
	warm := reading(e.WarmStats)
	m.counterFunc("kiln_warm_instances_initialised_total", "Sandbox instances initialised by running a module (one per snapshot).", warm(func(w sandbox.WarmStats) float64 { return float64(w.Initialised) }))
	m.counterFunc("kiln_warm_instances_cloned_total", "Sandbox instances made from a snapshot.", warm(func(w sandbox.WarmStats) float64 { return float64(w.Cloned) }))
	m.counterFunc("kiln_warm_calls_served_total", "Tool calls served on a warm instance.", warm(func(w sandbox.WarmStats) float64 { return float64(w.Served) }))
	m.counterFunc("kiln_warm_instances_restored_total", "Instances restored after a call and kept.", warm(func(w sandbox.WarmStats) float64 { return float64(w.Restored) }))
	m.counterFunc("kiln_warm_instances_discarded_total", "Instances closed after a call that could not be restored exactly.", warm(func(w sandbox.WarmStats) float64 { return float64(w.Discarded) }))
	m.counterFunc("kiln_warm_instances_evicted_total", "Idle instances and snapshots dropped to stay within the pools' bounds.", warm(func(w sandbox.WarmStats) float64 { return float64(w.Evicted) }))
	m.registerTiers(e)
}

// registerTiers adds what the engine's compile tiers did: how modules
// reached the compiled form (compiled here, from the disk cache or from
// another node's artifact), and how often the shared artifacts failed.
func (m *Metrics) registerTiers(e *sandbox.Engine) {
	tier := reading(e.TierStats)
	m.counterFunc("kiln_modules_interpreted_total", "Modules prepared for wazero's interpreter, served while their compile runs.", tier(func(t sandbox.TierStats) float64 { return float64(t.Interpreted) }))
	m.counterFunc("kiln_modules_compiled_total", "Runs of wazero's compiler on this node.", tier(func(t sandbox.TierStats) float64 { return float64(t.Compiled) }))
	m.counterFunc("kiln_modules_from_disk_total", "Compiled modules loaded from this node's disk cache.", tier(func(t sandbox.TierStats) float64 { return float64(t.FromDisk) }))
	m.counterFunc("kiln_artifacts_loaded_total", "Compiled modules taken from the shared artifact store (compiled by another node).", tier(func(t sandbox.TierStats) float64 { return float64(t.ArtifactsLoaded) }))
	m.counterFunc("kiln_artifacts_saved_total", "Compiled modules this node gave to the shared artifact store.", tier(func(t sandbox.TierStats) float64 { return float64(t.ArtifactsSaved) }))
	m.counterFunc("kiln_artifacts_rejected_total", "Shared artifacts refused as corrupt, forged or unusable here.", tier(func(t sandbox.TierStats) float64 { return float64(t.ArtifactsRejected) }))
	m.counterFunc("kiln_artifact_errors_total", "Failures of the shared artifact store (the module was compiled here instead).", tier(func(t sandbox.TierStats) float64 { return float64(t.ArtifactErrors) }))
}

// reading turns a statistics snapshot into gauge and counter readers of
// its fields: each scrape takes a new snapshot and picks one field.
func reading[S any](read func() S) func(pick func(S) float64) func() float64 {
	return func(pick func(S) float64) func() float64 {
		return func() float64 { return pick(read()) }
	}
}

// registerRedisLimiter adds whether the rate limits are shared through
// Redis (1) or counted per node because Redis is unavailable (0), and how
// many events were decided per node.
func (m *Metrics) registerRedisLimiter(r *ratelimit.Redis) {
	m.gaugeFunc("kiln_rate_limit_shared", "1 while rate limits are shared through Redis, 0 while this node counts them alone because Redis is unavailable.",
		func() float64 {
			if r.Shared() {
				return 1
			}
			return 0
		})
	m.counterFunc("kiln_rate_limit_fallbacks_total", "Rate-limit events decided by this node's own counters because Redis was unavailable.",
		func() float64 { return float64(r.Fallbacks()) })
}

// countingLimiter counts the refusals of the limiter every part shares.
type countingLimiter struct {
	ratelimit.Limiter
	m *Metrics
}

func (l countingLimiter) Allow(ctx context.Context, key string, limit ratelimit.Limit) (ratelimit.Decision, error) {
	d, err := l.Limiter.Allow(ctx, key, limit)
	if err == nil && !d.Allowed {
		l.m.RateLimited(key)
	}
	return d, err
}
