package api

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what one request may declare. They bound what the store and
// the MCP host must handle; tests cross each of them.
const (
	maxTextName        = 100  // display names: customers, servers, API keys
	maxDescription     = 2000 // server and env var descriptions
	maxAllowedHosts    = 64   // hosts per server or per secret
	maxEnvVarsPerSrv   = 64   // env var declarations per server
	maxEnvValueBytes   = 8 << 10
	maxToolNameLength  = 64
	maxLibraryNameSize = 64
)

var (
	// toolName matches the manifest's rule for MCP tool names.
	toolName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	// envName matches the manifest's rule for env var names.
	envName     = regexp.MustCompile(`^[A-Z_][A-Z0-9_]{0,63}$`)
	libraryName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,63}$`)
	libraryVer  = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$`)
	// hostName is a DNS name, optionally with a leading "*." wildcard and a
	// port, as the manifest's egress hosts are written (lowercase).
	hostName = regexp.MustCompile(`^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(:[0-9]{1,5})?$`)
)

// checkText checks a display name or description: valid UTF-8, no control
// characters, at most max characters, and not blank when required.
func checkText(field, v string, max int, required bool) error {
	switch {
	case !utf8.ValidString(v):
		return badRequest("%s must be valid UTF-8", field)
	case required && strings.TrimSpace(v) == "":
		return badRequest("%s must not be empty", field)
	case utf8.RuneCountInString(v) > max:
		return badRequest("%s is %d characters; at most %d are allowed", field, utf8.RuneCountInString(v), max)
	}
	for _, r := range v {
		if unicode.IsControl(r) && (field != "description" || (r != '\n' && r != '\t')) {
			return badRequest("%s must not contain control characters", field)
		}
	}
	return nil
}

// checkHosts validates and normalizes (lowercases) a list of host names.
func checkHosts(field string, hosts []string) ([]string, error) {
	if len(hosts) > maxAllowedHosts {
		return nil, badRequest("%s has %d hosts; at most %d are allowed", field, len(hosts), maxAllowedHosts)
	}
	out := make([]string, 0, len(hosts))
	seen := map[string]bool{}
	for i, h := range hosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if !hostName.MatchString(h) {
			return nil, badRequest("%s[%d] %q is not a host name such as api.example.com, *.example.com or api.example.com:8443", field, i, hosts[i])
		}
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	return out, nil
}

func checkToolName(field, v string) error {
	if !toolName.MatchString(v) {
		return badRequest("%s %q must be 1-%d characters of A-Z a-z 0-9 _ . -", field, v, maxToolNameLength)
	}
	return nil
}

func checkEnvName(v string) error {
	switch {
	case !envName.MatchString(v):
		return badRequest("env var name %q must be 1-64 characters of A-Z 0-9 _, not starting with a digit", v)
	case strings.HasPrefix(v, "KILN_"):
		return badRequest("env var name %q: the KILN_ prefix is reserved for the host", v)
	}
	return nil
}

func checkLibraryRef(name, version string) error {
	if !libraryName.MatchString(name) {
		return badRequest("library name %q must be 1-%d characters of a-z 0-9 -, starting with a letter", name, maxLibraryNameSize)
	}
	if version != "" && !libraryVer.MatchString(version) {
		return badRequest("library version %q must be 1-64 characters of A-Z a-z 0-9 . + -, such as 1.2.0", version)
	}
	return nil
}

// plural is for messages: "1 tool", "3 tools".
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
