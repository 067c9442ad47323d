// Package egress is the guarded HTTP client behind the sandbox's host HTTP
// function. Tool modules are untrusted code; the only network they get is
// what this package agrees to fetch for them, so every check here exists to
// stop a module from turning the host's network position against the host
// itself or its neighbours (SSRF), or from learning a secret it may use but
// must never read.
//
// # What is enforced, for every request and every redirect hop
//
//  1. The URL is parsed strictly: http or https only, no user info, no IPv6
//     zones, and numeric hosts only as canonical dotted-quad IPv4 or bracketed
//     IPv6. Forms such as "2130706433", "0x7f.1", "0177.0.0.1" and "127.1" are
//     refused: libc and browsers turn them into 127.0.0.1, and a filter that
//     reads them differently from the resolver is the classic SSRF bypass.
//     Host names are normalized (IDNA to punycode, lower case, one trailing
//     dot removed) before any comparison, so a rule cannot be dodged with
//     "API.Example.COM." or full-width characters.
//  2. The normalized scheme, host and port must match one of the policy's
//     Allow rules (default deny).
//  3. Every secret referenced by the request must be bound to the
//     destination (see Secret).
//  4. The host name is resolved by the host's resolver, and EVERY address it
//     returns is checked by [CheckAddr]: loopback, private, link-local (cloud
//     metadata), CGNAT, unique local, multicast, unspecified, broadcast,
//     reserved, documentation, benchmarking, NAT64, 6to4, Teredo and every
//     IPv6 address outside 2000::/3 are refused, in IPv4-mapped form too,
//     unless an operator's AllowPrivate prefix covers them. One bad answer
//     refuses the request: a name that mixes public and private answers is
//     an attack, not a misconfiguration.
//  5. The connection goes to exactly the addresses that were checked: each
//     hop gets a transport whose dialer only knows those addresses, never
//     resolves, and never uses a proxy. A resolver that answers differently
//     the second time (DNS rebinding) is therefore never asked a second time.
//     TLS is verified against the original host name (which is also the SNI).
//  6. Only then are secret templates substituted, and the request is sent.
//  7. The response is read up to MaxResponseBytes (a larger body is an
//     error, see below), and every secret value echoed in its headers, body
//     or final URL is replaced by "[redacted:NAME]" before it is returned.
//
// # Secret templates
//
// The URL's query, a header value or the body may contain {{secret.NAME}},
// where NAME is [A-Za-z_][A-Za-z0-9_]{0,63}; in the query a template must be
// a parameter's whole value (key={{secret.NAME}}) and is substituted
// query-escaped. The text "{{secret." followed by anything else
// is a malformed reference and refuses the request, so that a typo can never
// send the literal template (or a partial one) to a server. Other "{{" text is
// left alone. A template anywhere else in the URL (host, path, fragment) is
// refused: it could choose the destination, or land in access logs as a path.
// What the tool sees of its URL (Response.URL, errors) keeps the template.
//
// # Redirects and secrets
//
// Redirects (301, 302, 303, 307, 308) are followed by this package, never by
// net/http, and each hop goes through every check above. Each hop is rebuilt
// from the guest's original templates and re-substituted for the hop's own
// destination; a secret is never carried over as a value, a Location that
// holds a secret's value (a server echoing a query-string key) is followed
// only to a destination that secret is bound to, and a Location may not
// contain templates (a server must not choose which secrets are sent). On a hop to another
// origin (scheme, host or port) the Authorization and Cookie headers are
// dropped, as browsers and net/http do, so the common "API redirects to a
// CDN" case works without the credential. If any other part of the hop (a
// header or a re-sent 307/308 body) still references a secret that is not
// bound to the hop's destination, the hop is refused with a *DeniedError
// naming the secret; no connection is made to that destination. Set
// Request.NoRedirect to get the 3xx response instead and decide in the tool.
//
// A hop to a URL already requested in the same Do (same method) is a redirect
// loop and ends with a *DeniedError (ReasonRedirectLoop); more hops than
// MaxRedirects end with a *LimitError. Every hop counts against MaxRequests.
//
// # Response size
//
// A body larger than MaxResponseBytes is an error (*LimitError), not a
// truncated response: a cut could split an echoed secret so that redaction
// no longer recognizes it, and truncated JSON is rarely useful to a tool.
//
// # Limits of redaction
//
// Redaction catches each secret value as-is and in its URL-query-escaped,
// URL-path-escaped, JSON-string-escaped and HTML-escaped forms, and a
// standalone base64 encoding (standard and URL alphabets) of the value alone.
// It does not catch base64 at a non-aligned offset (for example the value
// inside an echoed "Basic" credential), hashes, other encodings, compression
// the host did not ask for, or a value split across fields. In a body or
// header a tool can also put a template next to text the server decodes
// together with the value's first characters (a form body's "%2" before
// it), so that the echo no longer holds the whole value; the query allows
// only whole-value templates for that reason, but a body's encoding is the
// tool's to choose. Accept-Encoding
// is set by the host (gzip, decoded before redaction); a response in any
// other content encoding to a request that carried a secret is refused,
// since its body cannot be inspected. Redaction protects against a server
// that echoes what it received; it cannot stop a bound destination that
// deliberately transforms the value, so bind secrets only to the API they
// belong to.
//
// # Errors
//
// Refusals are *DeniedError (no connection was made for that hop), crossed
// caps are *LimitError, and network or protocol failures are
// *RequestError. Their messages are safe to show to the tool: they never
// contain a secret value (URLs and server-provided text are redacted).
package egress
