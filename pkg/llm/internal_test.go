package llm

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		h    map[string]string
		want time.Duration
	}{
		{nil, 0},
		{map[string]string{"Retry-After": "2"}, 2 * time.Second},
		{map[string]string{"Retry-After": "0.5"}, 500 * time.Millisecond},
		{map[string]string{"Retry-After": "3600"}, time.Hour}, // no cap: the deadline decides
		{map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}, 90 * time.Second},
		{map[string]string{"Retry-After": now.Add(-time.Minute).Format(http.TimeFormat)}, 0},
		{map[string]string{"Retry-After": "-3"}, 0},
		{map[string]string{"Retry-After": "soon"}, 0},
		{map[string]string{"Retry-After": "1e300"}, 0},
		{map[string]string{"Retry-After-Ms": "250", "Retry-After": "9"}, 250 * time.Millisecond},
		{map[string]string{"Retry-After-Ms": "x", "Retry-After": "9"}, 9 * time.Second},
	} {
		h := http.Header{}
		for k, v := range tc.h {
			h.Set(k, v)
		}
		if got := retryAfter(h, now); got != tc.want {
			t.Errorf("%v: got %v, want %v", tc.h, got, tc.want)
		}
	}
}

func TestBackoffGrowsCapsAndJitters(t *testing.T) {
	lo := Options{Jitter: func() float64 { return 0 }}
	hi := Options{Jitter: func() float64 { return 0.999999 }}
	for n, want := range map[int]time.Duration{1: 500 * time.Millisecond, 2: time.Second, 3: 2 * time.Second, 5: 8 * time.Second, 40: 8 * time.Second} {
		if got := lo.backoff(n); got != want/2 {
			t.Errorf("backoff(%d) low = %v, want %v", n, got, want/2)
		}
		if got := hi.backoff(n); got <= want*99/100 || got > want {
			t.Errorf("backoff(%d) high = %v, want just under %v", n, got, want)
		}
	}
}

func TestKindOfStatus(t *testing.T) {
	for status, want := range map[int]Kind{
		429: KindRateLimited, 529: KindOverloaded, 503: KindOverloaded, 500: KindServer, 502: KindServer,
		409: KindServer, 408: KindTimeout, 401: KindAuth, 403: KindAuth, 400: KindBadRequest, 404: KindBadRequest, 422: KindBadRequest,
	} {
		if got := kindOfStatus(status); got != want {
			t.Errorf("%d: %v, want %v", status, got, want)
		}
	}
}

func TestStripFenceAndRedact(t *testing.T) {
	for in, want := range map[string]string{
		"```json\n{\"a\":1}\n```": `{"a":1}`,
		"```\n[1]\n```":           `[1]`,
		"  {\"a\":1}  ":           `{"a":1}`,
		"```{}```":                "```{}```",
	} {
		if got := stripFence(in); got != want {
			t.Errorf("stripFence(%q) = %q, want %q", in, got, want)
		}
	}
	if got := redact("key sk-1 and sk-1", "sk-1"); got != "key [redacted] and [redacted]" {
		t.Errorf("redact: %q", got)
	}
	if got := redact(strings.Repeat("x", 1000), ""); len(got) > 310 {
		t.Errorf("redact did not bound: %d", len(got))
	}
}
