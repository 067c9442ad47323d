package service

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/config"
)

// TestRequestIDOnLogLines: a safe client id is kept, an unsafe or long one
// is replaced, and the id is on the lines logged with the request's context.
func TestRequestIDOnLogLines(t *testing.T) {
	var out bytes.Buffer
	logger := slog.New(NewLogHandler(&out, config.Observe{LogFormat: config.LogJSON, LogLevel: "debug"}))
	h := withRequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logger.DebugContext(r.Context(), "handled")
	}))
	for _, tc := range []struct{ sent, want string }{
		{"abc-123.x_y:z", "abc-123.x_y:z"},
		{"", ""},
		{"bad id\" level=ERROR", ""},
		{strings.Repeat("a", maxRequestIDLen+1), ""},
	} {
		out.Reset()
		req := httptest.NewRequest("GET", "/", nil)
		if tc.sent != "" {
			req.Header.Set(RequestIDHeader, tc.sent)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		got := rec.Header().Get(RequestIDHeader)
		if tc.want != "" && got != tc.want || tc.want == "" && (got == tc.sent || len(got) != 24) {
			t.Errorf("sent %q: id %q", tc.sent, got)
		}
		var line map[string]any
		if err := json.Unmarshal(out.Bytes(), &line); err != nil || line["request_id"] != got {
			t.Errorf("sent %q: log line %s (%v), want request_id %q", tc.sent, out.String(), err, got)
		}
	}
}
