package llm

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// API is the wire protocol a provider speaks.
type API string

// The supported protocols.
const (
	// APIOpenAI is OpenAI Chat Completions, spoken by OpenAI, OpenRouter,
	// Ollama, vLLM and LM Studio.
	APIOpenAI API = "openai"
	// APIAnthropic is Anthropic Messages.
	APIAnthropic API = "anthropic"
)

// The vendors' own endpoints, used when an entry names no base URL.
const (
	OpenAIBaseURL    = "https://api.openai.com/v1"
	AnthropicBaseURL = "https://api.anthropic.com"
)

// Secret is an API key. It prints, logs and marshals as "[redacted]" in every
// form; only Reveal gives the value, and only the adapters call it. The value
// sits behind a pointer so that even fmt's reflection over unexported fields
// (which skips String methods) prints an address, not the key.
type Secret struct{ v *string }

const redacted = "[redacted]"

// NewSecret wraps a key; an empty key gives the zero Secret.
func NewSecret(key string) Secret {
	if key == "" {
		return Secret{}
	}
	return Secret{v: &key}
}

// Reveal returns the key itself.
func (s Secret) Reveal() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

// IsZero reports whether no key is set.
func (s Secret) IsZero() bool { return s.v == nil }

// String hides the key.
func (s Secret) String() string { return s.mask() }

// GoString hides the key from %#v.
func (s Secret) GoString() string { return s.mask() }

// Format hides the key from every fmt verb.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.mask())) }

// LogValue hides the key from slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.mask()) }

// MarshalJSON hides the key from encoding/json.
func (s Secret) MarshalJSON() ([]byte, error) { return strconv.AppendQuote(nil, s.mask()), nil }

// MarshalText hides the key from text encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.mask()), nil }

func (s Secret) mask() string {
	if s.IsZero() {
		return ""
	}
	return redacted
}

// ProviderConfig is one entry of KILN_LLM_PROVIDERS.
type ProviderConfig struct {
	API     API
	Model   string
	BaseURL string // always set: the vendor's endpoint when the entry named none
	Key     Secret // from KILN_LLM_KEY_n; may be empty (local servers)
	// Stream makes the adapter use the streaming wire format. ParseProviders
	// leaves it off: every server supports the plain format, and only it
	// reports usage everywhere.
	Stream bool
}

// String is the entry in KILN_LLM_PROVIDERS syntax, plus whether a key is set.
func (c ProviderConfig) String() string {
	s := string(c.API) + ":" + c.Model + "@" + c.BaseURL
	if !c.Key.IsZero() {
		s += " (key set)"
	}
	return s
}

// Format makes every fmt verb, %#v included, print String: the struct's
// fields are never walked, so the key cannot be reached by reflection.
func (c ProviderConfig) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue logs the config without its key.
func (c ProviderConfig) LogValue() slog.Value { return slog.StringValue(c.String()) }

// KeyEnv is the environment variable holding the n-th (1-based) entry's key.
func KeyEnv(n int) string { return "KILN_LLM_KEY_" + strconv.Itoa(n) }

// ParseProviders parses KILN_LLM_PROVIDERS: comma-separated entries
// KIND:MODEL[@BASE_URL], KIND being "openai" or "anthropic". KIND ends at the
// first ':' and BASE_URL starts after the last '@', so model names may contain
// ':' and '/' (openai:qwen2.5-coder:7b@http://127.0.0.1:11434/v1). The n-th
// entry's key is read with getenv(KeyEnv(n)). An empty spec yields no providers.
func ParseProviders(spec string, getenv func(string) string) ([]ProviderConfig, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, nil
	}
	entries := strings.Split(spec, ",")
	out := make([]ProviderConfig, 0, len(entries))
	for i, e := range entries {
		c, err := parseEntry(strings.TrimSpace(e), NewSecret(strings.TrimSpace(getenv(KeyEnv(i+1)))))
		if err != nil {
			return nil, fmt.Errorf("KILN_LLM_PROVIDERS entry %d: %w", i+1, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func parseEntry(e string, key Secret) (ProviderConfig, error) {
	if e == "" {
		return ProviderConfig{}, fmt.Errorf("empty entry (want KIND:MODEL[@BASE_URL])")
	}
	kind, rest, ok := strings.Cut(e, ":")
	if !ok {
		return ProviderConfig{}, fmt.Errorf("%q has no ':' (want KIND:MODEL[@BASE_URL])", e)
	}
	c := ProviderConfig{API: API(kind), Model: rest, Key: key}
	switch c.API {
	case APIOpenAI:
		c.BaseURL = OpenAIBaseURL
	case APIAnthropic:
		c.BaseURL = AnthropicBaseURL
	default:
		return ProviderConfig{}, fmt.Errorf("unknown kind %q (want %q or %q)", kind, APIOpenAI, APIAnthropic)
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		c.Model, c.BaseURL = rest[:at], rest[at+1:]
		if err := checkBaseURL(c.BaseURL, !key.IsZero()); err != nil {
			return ProviderConfig{}, err
		}
	}
	if strings.TrimSpace(c.Model) == "" {
		return ProviderConfig{}, fmt.Errorf("empty model name")
	}
	if key.IsZero() && (c.BaseURL == OpenAIBaseURL || c.BaseURL == AnthropicBaseURL) {
		return ProviderConfig{}, fmt.Errorf("%s's own endpoint needs a key: set the entry's KILN_LLM_KEY_n", c.API)
	}
	return c, nil
}

// checkBaseURL accepts absolute http(s) URLs without credentials, query or
// fragment. Plain http is allowed for local servers, but a key is only ever
// sent over https or to a loopback address.
func checkBaseURL(raw string, hasKey bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("bad base URL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("bad base URL %q: scheme must be http or https", raw)
	case u.Host == "":
		return fmt.Errorf("bad base URL %q: no host", raw)
	case u.User != nil:
		return fmt.Errorf("bad base URL: credentials in the URL; put the key in KILN_LLM_KEY_n")
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("bad base URL %q: no query or fragment allowed", raw)
	case hasKey && u.Scheme == "http" && !isLoopback(u.Hostname()):
		return fmt.Errorf("base URL %q is plain http to a non-loopback host: a key would travel in clear; use https", raw)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
