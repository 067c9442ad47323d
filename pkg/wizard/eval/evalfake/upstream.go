package evalfake

import (
	"encoding/json"
	"net/http"
	"strings"
)

// upstream answers like the public APIs the network tasks use, in their
// own response formats, with fixed data.
func upstream() http.Handler {
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	type obj = map[string]any
	// Open-Meteo geocoding and forecast.
	mux.HandleFunc("GET /v1/search", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, obj{"results": []obj{{"name": r.URL.Query().Get("name"), "country": "Germany",
			"latitude": 52.52437, "longitude": 13.41053}}})
	})
	mux.HandleFunc("GET /v1/forecast", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, obj{"latitude": 52.52, "longitude": 13.419998, "current": obj{
			"time": "2026-12-05T22:00", "interval": 900, "temperature_2m": 3.1, "wind_speed_10m": 12.4}})
	})
	// Frankfurter.
	mux.HandleFunc("GET /latest", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		reply(w, 200, obj{"amount": 1.0, "base": q.Get("from"), "date": "2026-12-04", "rates": obj{q.Get("to"): 1.0842}})
	})
	// GitHub.
	mux.HandleFunc("GET /repos/{owner}/{name}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, obj{"full_name": r.PathValue("owner") + "/" + r.PathValue("name"), "description": "The Go programming language",
			"stargazers_count": 131000, "open_issues_count": 9500, "license": obj{"key": "bsd-3-clause", "spdx_id": "BSD-3-Clause"}})
	})
	// Alpha Vantage, which wants the key as a query parameter.
	mux.HandleFunc("GET /query", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("apikey") != SecretValue {
			reply(w, 401, obj{"Information": "Invalid API key. Claim your free API key on the website."})
			return
		}
		reply(w, 200, obj{"Global Quote": obj{"01. symbol": strings.ToUpper(q.Get("symbol")), "05. price": "231.4500",
			"09. change": "1.2300", "10. change percent": "0.5343%"}})
	})
	return mux
}
