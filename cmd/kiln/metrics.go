package main

import (
	"fmt"
	"net"
	"net/http"

	"github.com/kilnhq/kiln/pkg/config"
)

// metricsServer is the listener of --metrics-addr: /metrics without
// authentication, for a scraper inside the cluster, and nothing else (the
// service's routes stay behind the service address). It has the service's
// HTTP bounds, so a slow scraper cannot hold it open.
func metricsServer(addr string, limits config.HTTPLimits, metrics http.Handler) (*http.Server, net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("metrics listener (--metrics-addr/KILN_METRICS_ADDR): %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	return newHTTPServer(limits, mux), ln, nil
}
