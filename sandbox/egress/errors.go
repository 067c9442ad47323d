package egress

import (
	"context"
	"fmt"
	"time"
)

// Reason says why a request was denied. The values are stable strings the
// host may pass on to the tool.
type Reason string

const (
	// ReasonInvalidRequest: the method, a header or the template syntax is
	// not acceptable.
	ReasonInvalidRequest Reason = "invalid_request"
	// ReasonInvalidURL: the URL does not parse, uses another scheme, carries
	// user info, a zone, or an invalid host name.
	ReasonInvalidURL Reason = "invalid_url"
	// ReasonNumericHost: the host is a number in a notation other than
	// canonical dotted-quad IPv4 or bracketed IPv6.
	ReasonNumericHost Reason = "numeric_host"
	// ReasonNotAllowed: scheme, host and port match no Allow rule.
	ReasonNotAllowed Reason = "not_allowed"
	// ReasonBlockedAddress: the host is, or resolves to, an address that is
	// refused (loopback, private, link-local, reserved, ...).
	ReasonBlockedAddress Reason = "blocked_address"
	// ReasonUnknownSecret: a template names a secret the call does not have.
	ReasonUnknownSecret Reason = "unknown_secret"
	// ReasonSecretNotBound: a template names a secret that may not be sent
	// to this destination.
	ReasonSecretNotBound Reason = "secret_not_bound"
	// ReasonRedirectLoop: a redirect leads back to a URL already requested.
	ReasonRedirectLoop Reason = "redirect_loop"
	// ReasonUninspectable: the response to a request that carried a secret
	// uses a content encoding the host cannot decode, so it cannot be
	// redacted.
	ReasonUninspectable Reason = "uninspectable_response"
)

// DeniedError is a request (or redirect hop) refused by policy. No
// connection was made for the refused hop.
type DeniedError struct {
	Reason Reason
	// URL is the refused URL as given by the tool or the redirecting server,
	// with secret values redacted.
	URL string
	// Secret is the name (never the value) of the secret involved, if any.
	Secret string
	// Detail is a human-readable explanation without secret values.
	Detail string
}

func (e *DeniedError) Error() string {
	if e.URL == "" {
		return "egress: denied: " + e.Detail
	}
	return fmt.Sprintf("egress: request to %s denied: %s", clip(e.URL), e.Detail)
}

// Limit names a cap of the policy.
type Limit string

const (
	LimitRequests      Limit = "requests"       // MaxRequests per call
	LimitRequestBytes  Limit = "request_bytes"  // MaxRequestBytes (body), or the fixed header cap
	LimitResponseBytes Limit = "response_bytes" // MaxResponseBytes
	LimitRedirects     Limit = "redirects"      // MaxRedirects per request
	LimitTimeout       Limit = "timeout"        // Timeout per request
)

// LimitError is a cap of the policy crossed by the tool or the server.
type LimitError struct {
	Limit Limit
	// Max is the cap that was crossed: a count, a size in bytes, or, for
	// LimitTimeout, a time.Duration.
	Max int64
	// URL is the request's URL, with secret values redacted.
	URL string
}

func (e *LimitError) Error() string {
	var what string
	switch e.Limit {
	case LimitRequests:
		what = fmt.Sprintf("more than %d requests in one call", e.Max)
	case LimitRequestBytes:
		what = fmt.Sprintf("request larger than %d bytes", e.Max)
	case LimitResponseBytes:
		what = fmt.Sprintf("response body larger than %d bytes", e.Max)
	case LimitRedirects:
		what = fmt.Sprintf("more than %d redirects", e.Max)
	case LimitTimeout:
		what = fmt.Sprintf("no complete response within %v", time.Duration(e.Max))
	default:
		what = fmt.Sprintf("%s limit %d exceeded", e.Limit, e.Max)
	}
	if e.URL == "" {
		return "egress: limit exceeded: " + what
	}
	return fmt.Sprintf("egress: limit exceeded: %s (%s)", what, clip(e.URL))
}

// Unwrap makes errors.Is(err, context.DeadlineExceeded) true for timeouts.
func (e *LimitError) Unwrap() error {
	if e.Limit == LimitTimeout {
		return context.DeadlineExceeded
	}
	return nil
}

// RequestError is a failure to resolve, connect, verify TLS, or exchange
// HTTP with an allowed destination, or the end of the whole call's context.
type RequestError struct {
	// Op is the stage that failed: "resolve", "request" or "read".
	Op string
	// URL is the request's URL, with secret values redacted.
	URL string
	// Err is the underlying error. Its own text is not redacted; Error
	// returns a redacted message, so report that one.
	Err error

	msg string // redacted text of Err
}

func (e *RequestError) Error() string {
	return fmt.Sprintf("egress: %s %s: %s", e.Op, clip(e.URL), e.msg)
}

func (e *RequestError) Unwrap() error { return e.Err }

// clip keeps error messages readable when a tool sends a huge URL.
func clip(s string) string {
	const max = 256
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
