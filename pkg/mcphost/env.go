package mcphost

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// EnvHeaderPrefix starts the headers that carry per-request env values:
// X-Kiln-Env-API_KEY (or X-Kiln-Env-API-KEY, for proxies that drop headers
// with underscores) sets API_KEY for this request's tool call.
const EnvHeaderPrefix = "X-Kiln-Env-"

// maxEnvHeaders bounds how many X-Kiln-Env-* headers one request may carry.
const maxEnvHeaders = 32

var envNamePattern = regexp.MustCompile(`^[A-Z_][A-Z0-9_]{0,63}$`)

// requestEnv reads the X-Kiln-Env-* headers. Only env vars a module of
// this server declares with perRequest may arrive this way (the service
// this replaces took any header as env: a client could set whatever the
// tool read); anything else is refused with a message naming the problem,
// rather than silently ignored, so a misconfigured client finds out.
func (h *Host) requestEnv(r *http.Request, d *deployment) (map[string]string, string) {
	var env map[string]string
	count := 0
	for header, values := range r.Header {
		if len(header) <= len(EnvHeaderPrefix) || !strings.EqualFold(header[:len(EnvHeaderPrefix)], EnvHeaderPrefix) {
			continue
		}
		if count++; count > maxEnvHeaders {
			return nil, fmt.Sprintf("At most %d %s* headers may be sent in one request.", maxEnvHeaders, EnvHeaderPrefix)
		}
		name := strings.ToUpper(strings.ReplaceAll(header[len(EnvHeaderPrefix):], "-", "_"))
		switch {
		case !envNamePattern.MatchString(name):
			return nil, fmt.Sprintf("Header %s: %q is not an env var name (letters, digits and _, starting with a letter or _, at most 64).", header, name)
		case !d.perRequest[name]:
			return nil, fmt.Sprintf("Header %s: server %s does not accept %s per request. %s", header, d.srv.ID, name, d.perRequestHint())
		case len(values) != 1 || env[name] != "":
			return nil, fmt.Sprintf("Header %s: %s was sent more than once.", header, name)
		}
		v := values[0]
		switch {
		case len(v) > h.cfg.MaxEnvValueBytes:
			return nil, fmt.Sprintf("Header %s: the value is %d bytes; at most %d are allowed.", header, len(v), h.cfg.MaxEnvValueBytes)
		case !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl):
			return nil, fmt.Sprintf("Header %s: the value must be UTF-8 text without control characters.", header)
		}
		if env == nil {
			env = map[string]string{}
		}
		env[name] = v
	}
	return env, ""
}

// perRequestHint lists what the server does accept.
func (d *deployment) perRequestHint() string {
	if len(d.perRequest) == 0 {
		return "Its tools take no env vars per request."
	}
	names := make([]string, 0, len(d.perRequest))
	for n := range d.perRequest {
		names = append(names, EnvHeaderPrefix+n)
	}
	slices.Sort(names)
	return "It accepts " + strings.Join(names, ", ") + "."
}
