package api_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/api"
)

// TestReadiness: /readyz answers 200 while Config.Ready is content and 503
// with its reason when not; /livez and /healthz answer 200 either way (a
// node that cannot take work is still alive: restarting it would not help).
func TestReadiness(t *testing.T) {
	var notReady error
	h := newHarness(t, sqliteStore(t), func(c *api.Config) {
		c.Ready = func(context.Context) error { return notReady }
	})
	h.do("GET", "/readyz", "", nil).want(t, 200)
	notReady = errors.New("the node is shutting down")
	r := h.do("GET", "/readyz", "", nil).want(t, 503)
	if !strings.Contains(string(r.body), `"reason":"the node is shutting down"`) || !strings.Contains(string(r.body), `"status":"unavailable"`) {
		t.Errorf("503 body: %s", r.body)
	}
	h.do("GET", "/livez", "", nil).want(t, 200)
	h.do("GET", "/healthz", "", nil).want(t, 200)
}

// TestReadinessWithoutReady: an API built without Config.Ready is ready
// while its store answers.
func TestReadinessWithoutReady(t *testing.T) {
	s := sqliteStore(t)
	h := newHarness(t, s)
	h.do("GET", "/readyz", "", nil).want(t, 200)
	s.Close()
	h.do("GET", "/readyz", "", nil).want(t, 503)
}
