package egress

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"sort"
	"strings"
)

// Secret is a value a tool may use but never read. The tool refers to it as
// {{secret.NAME}} in the URL's query, a header value or the body; the host substitutes the
// value only after the destination passed every egress check, and only if
// the destination matches one of Hosts. Binding is what makes a secret safe
// to hand to untrusted code: without it, a tool could send an API key to any
// allowed host, including one that logs requests.
type Secret struct {
	Name  string
	Value string
	// Hosts are the only destinations the value may be sent to. They are
	// matched in addition to the policy's Allow rules, never instead of.
	Hosts []Rule
}

const (
	templateOpen  = "{{secret."
	templateClose = "}}"
	maxSecretName = 64
)

// validSecretName reports whether s may name a secret:
// [A-Za-z_][A-Za-z0-9_]{0,63}.
func validSecretName(s string) bool {
	if s == "" || len(s) > maxSecretName {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// templateRefs returns the secret names s refers to, in order of first use.
// Any "{{secret." not followed by a valid name and "}}" is an error, so a
// typo never sends a half-substituted template to a server.
func templateRefs(s string) ([]string, error) {
	var names []string
	seen := map[string]bool{}
	for off := 0; ; {
		i := strings.Index(s[off:], templateOpen)
		if i < 0 {
			return names, nil
		}
		start := off + i + len(templateOpen)
		end := strings.Index(s[start:], templateClose)
		if end < 0 || !validSecretName(s[start:start+end]) {
			return nil, fmt.Errorf("malformed secret reference at byte %d: want {{secret.NAME}} with NAME of letters, digits and '_'", off+i)
		}
		name := s[start : start+end]
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
		off = start + end + len(templateClose)
	}
}

// substitute replaces every reference in s. The references were validated by
// templateRefs and every name is in values.
func substitute(s string, values map[string]string) string {
	if !strings.Contains(s, templateOpen) {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, templateOpen)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		rest := s[i+len(templateOpen):]
		end := strings.Index(rest, templateClose)
		b.WriteString(values[rest[:end]])
		s = rest[end+len(templateClose):]
	}
}

// boundTo reports whether the secret may be sent to t.
func (s *Secret) boundTo(t *target) bool {
	for _, r := range s.Hosts {
		if r.Matches(t.scheme, t.host, t.port) {
			return true
		}
	}
	return false
}

// containsSecret reports whether text holds the value in any encoding the
// redactor knows.
func containsSecret(text, value string) bool {
	for _, enc := range encodings(value) {
		if enc != "" && strings.Contains(text, enc) {
			return true
		}
	}
	return false
}

// substituteEscaped is substitute with each value escaped for its place
// (url.QueryEscape in a query).
func substituteEscaped(s string, values map[string]string, escape func(string) string) string {
	escaped := make(map[string]string, len(values))
	for k, v := range values {
		escaped[k] = escape(v)
	}
	return substitute(s, escaped)
}

// newRedactor builds the replacer that removes secret values from anything
// returned to the tool. Each value is matched as-is and in the encodings a
// server is likely to echo it in (see the package documentation for what is
// not caught). Longer needles come first so that a secret containing
// another secret is redacted as the longer one.
func newRedactor(secrets []Secret) *strings.Replacer {
	type pair struct{ needle, repl string }
	var pairs []pair
	seen := map[string]bool{}
	for _, s := range secrets {
		repl := "[redacted:" + s.Name + "]"
		for _, v := range encodings(s.Value) {
			if v != "" && !seen[v] {
				seen[v] = true
				pairs = append(pairs, pair{v, repl})
			}
		}
	}
	if len(pairs) == 0 {
		return nil
	}
	sort.SliceStable(pairs, func(i, j int) bool { return len(pairs[i].needle) > len(pairs[j].needle) })
	args := make([]string, 0, 2*len(pairs))
	for _, p := range pairs {
		args = append(args, p.needle, p.repl)
	}
	return strings.NewReplacer(args...)
}

func encodings(v string) []string {
	out := []string{v, url.QueryEscape(v), url.PathEscape(v), html.EscapeString(v)}
	if j, err := json.Marshal(v); err == nil && len(j) >= 2 {
		out = append(out, string(j[1:len(j)-1])) // Go escapes <, >, & as \u003c
	}
	// The common non-Go JSON escaping: only quote, backslash and controls,
	// and optionally "\/".
	js := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(v)
	out = append(out, js, strings.ReplaceAll(js, "/", `\/`))
	// Standalone base64 of the value alone. Unpadded forms are prefixes of
	// the padded ones, so they cover both.
	out = append(out, base64.RawStdEncoding.EncodeToString([]byte(v)), base64.RawURLEncoding.EncodeToString([]byte(v)))
	return out
}
