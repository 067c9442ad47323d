package llm

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Kind classifies a failure by what the caller can do about it.
type Kind int

// The kinds of failure. RateLimited, Overloaded, Server, Timeout and
// Connection are transient: another attempt may succeed.
const (
	KindRateLimited   Kind = iota + 1 // HTTP 429
	KindOverloaded                    // HTTP 503, 529, "overloaded_error"
	KindServer                        // other 5xx, 409, a garbled response
	KindTimeout                       // HTTP 408 or the attempt's deadline
	KindConnection                    // the endpoint could not be reached
	KindAuth                          // HTTP 401, 403: the key is wrong
	KindBadRequest                    // other 4xx: the request or model name is wrong
	KindInvalidOutput                 // the answer is unusable (schema, size)
	KindCanceled                      // the caller gave up
)

var kindNames = map[Kind]string{
	KindRateLimited:   "rate_limited",
	KindOverloaded:    "overloaded",
	KindServer:        "server_error",
	KindTimeout:       "timeout",
	KindConnection:    "connection_error",
	KindAuth:          "auth_error",
	KindBadRequest:    "bad_request",
	KindInvalidOutput: "invalid_output",
	KindCanceled:      "canceled",
}

// String is the kind's stable name, used as a Record outcome.
func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Transient reports whether another attempt at the same provider may succeed.
func (k Kind) Transient() bool {
	switch k {
	case KindRateLimited, KindOverloaded, KindServer, KindTimeout, KindConnection:
		return true
	}
	return false
}

// Error is a failed call. It never carries an SDK error value, which holds
// the request and its credential headers; only the cause's text survives, with
// the key removed.
type Error struct {
	Kind     Kind
	Provider string
	Model    string
	// Status is the HTTP status, 0 when there was none.
	Status int
	// RetryAfter is what the server asked us to wait, 0 when it did not say.
	RetryAfter time.Duration
	// Attempts is how many HTTP attempts led to this error (set by a Chain).
	Attempts int
	// Msg says what went wrong.
	Msg string
	// Err is the cause when it is safe to keep (context errors, validation
	// errors, or the joined per-provider errors of a Chain).
	Err error
}

// Error formats the failure without any credential.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("llm: ")
	if e.Provider != "" {
		fmt.Fprintf(&b, "%s model %q: ", e.Provider, e.Model)
	}
	b.WriteString(e.Kind.String())
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	if e.Msg != "" {
		b.WriteString(": " + e.Msg)
	}
	return b.String()
}

// Unwrap returns the safe cause.
func (e *Error) Unwrap() error { return e.Err }

// kindOfStatus maps an HTTP error status to a Kind.
func kindOfStatus(status int) Kind {
	switch {
	case status == http.StatusTooManyRequests:
		return KindRateLimited
	case status == http.StatusServiceUnavailable || status == 529:
		return KindOverloaded
	case status == http.StatusRequestTimeout:
		return KindTimeout
	case status == http.StatusConflict || status >= 500:
		return KindServer
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return KindAuth
	}
	return KindBadRequest
}

// kindOfErrorType maps the error "type" both vendors put in error bodies and
// in-stream error events, for errors that arrive after a 200.
func kindOfErrorType(t string) (Kind, bool) {
	switch t {
	case "rate_limit_error", "rate_limit_exceeded":
		return KindRateLimited, true
	case "overloaded_error":
		return KindOverloaded, true
	case "api_error", "server_error":
		return KindServer, true
	case "authentication_error", "permission_error":
		return KindAuth, true
	case "invalid_request_error", "not_found_error", "request_too_large":
		return KindBadRequest, true
	}
	return 0, false
}

// retryAfter reads the wait a server asked for: Retry-After-Ms (OpenAI's
// extension), else Retry-After in seconds or as an HTTP date. Unlike the SDKs
// it caps nothing: the Chain compares the wait with the deadline.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 && ms < 1e15 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s > 0 && s < 1e9 {
			return time.Duration(s * float64(time.Second))
		}
		return 0
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// redact removes key from s and bounds s, so a provider that echoes the key
// (or a huge body) in its error message cannot put either into our errors.
func redact(s, key string) string {
	if key != "" {
		s = strings.ReplaceAll(s, key, "[redacted]")
	}
	const max = 300
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}
