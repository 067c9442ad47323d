package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/config"
	"github.com/kilnhq/kiln/pkg/service/servicetest"
)

// TestMetricsListener: the --metrics-addr listener serves a node's
// /metrics without the operator token, and none of the service's routes.
func TestMetricsListener(t *testing.T) {
	node := servicetest.Start(t, servicetest.Options{})
	srv, ln, err := metricsServer("127.0.0.1:0", config.HTTPLimits{}, node.Service.MetricsHandler())
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	for path, want := range map[string]int{"/metrics": 200, "/api/v1/admin/customers": 404, "/healthz": 404} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %s, want %d", path, resp.Status, want)
		}
		if path == "/metrics" && !strings.Contains(string(body), "kiln_db_open_connections") {
			t.Errorf("/metrics lacks the database pool:\n%.500s", body)
		}
	}
	if _, _, err := metricsServer(ln.Addr().String(), config.HTTPLimits{}, node.Service.MetricsHandler()); err == nil || !strings.Contains(err.Error(), "KILN_METRICS_ADDR") {
		t.Errorf("a taken address: %v", err)
	}
}
