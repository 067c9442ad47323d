package config

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"

	"github.com/kilnhq/kiln/pkg/secrets"
	"github.com/kilnhq/kiln/pkg/signing"
)

// Files in the data directory holding development secrets. Production never
// reads them.
const (
	OperatorTokenFile = "operator.token"
	LibraryKeyFile    = "library-signing.key"
)

// MinOperatorTokenLength is the shortest operator token accepted: the token
// is the keys to every customer, so it must not be guessable.
const MinOperatorTokenLength = 32

// Token is a secret string, such as the operator token. It prints as
// [redacted] with every fmt verb and in slog, so it cannot reach a log by
// accident; Reveal returns it.
type Token struct {
	v func() string
}

// NewToken wraps a secret string.
func NewToken(s string) Token { return Token{v: func() string { return s }} }

// Reveal returns the secret; empty for the zero Token.
func (t Token) Reveal() string {
	if t.v == nil {
		return ""
	}
	return t.v()
}

// Format implements fmt.Formatter.
func (Token) Format(f fmt.State, _ rune) {
	// fmt.State writes into fmt's buffer, which cannot fail.
	_, _ = io.WriteString(f, "[redacted]")
}

// LogValue implements slog.LogValuer.
func (Token) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// Resolved is what the service runs with, beyond the plain settings: the
// public URL and the secrets, each from the environment or, in development
// only, from (or generated into) the data directory.
type Resolved struct {
	// PublicURL is the base of OAuth issuer and MCP resource URLs, without
	// a trailing slash.
	PublicURL string
	// MasterKey encrypts secrets at rest (pkg/secrets).
	MasterKey secrets.MasterKey
	// OperatorToken authenticates the operator API.
	OperatorToken Token
	// LibraryKeys are the keys library uploads must be signed with. Empty
	// means every upload is refused.
	LibraryKeys []signing.PublicKey
	// LibrarySigningKey is the development library signing key of the
	// data directory, which development trusts; nil in production and when
	// KILN_LIBRARY_KEYS names the trusted keys.
	LibrarySigningKey *signing.PrivateKey
	// OIDCClientSecret is Kiln's secret at the upstream OpenID Connect
	// provider, from KILN_OIDC_CLIENT_SECRET (empty: a public client).
	OIDCClientSecret Token
}

// ProductionError lists everything production mode is missing, so an
// operator fixes the configuration in one round.
type ProductionError struct{ Problems []string }

func (e *ProductionError) Error() string {
	return "production mode (KILN_ENV=production) refuses to start: " + strings.Join(e.Problems, "; ")
}

// Resolve finds the public URL and the secrets. Call Validate first.
//
// In production each must come from the environment (or, for the URL and
// keys, a flag), and the public URL must be https; anything missing is a
// *ProductionError naming all of it. In development a missing master key,
// operator token or library signing key is read from the data directory, or
// generated there (files 0600, directory 0700), and the log says which; the
// public URL defaults to http://<addr>. Nothing has a default in code.
func (c *Config) Resolve(getenv Getenv, logger *slog.Logger) (Resolved, error) {
	resolve := c.resolveDevelopment
	if c.Env == Production {
		resolve = c.resolveProduction
	}
	r, err := resolve(getenv, logger)
	r.OIDCClientSecret = NewToken(getenv(EnvOIDCClientSecret))
	return r, err
}

func (c *Config) resolveProduction(getenv Getenv, logger *slog.Logger) (Resolved, error) {
	var r Resolved
	var problems []string
	if c.PublicURL == "" {
		problems = append(problems, "KILN_PUBLIC_URL (or --public-url) is not set (it must be the https URL clients reach this service at)")
	} else if u, err := ParsePublicURL(c.PublicURL, true); err != nil {
		problems = append(problems, strings.TrimPrefix(err.Error(), "config: "))
	} else {
		r.PublicURL = u
	}
	key, _, err := secrets.LoadMasterKey(getenv(EnvMasterKey), "", secrets.Production)
	switch {
	case errors.Is(err, secrets.ErrNoMasterKey):
		problems = append(problems, EnvMasterKey+" is not set (it must be 32 random bytes in base64: openssl rand -base64 32)")
	case err != nil:
		problems = append(problems, err.Error())
	default:
		r.MasterKey = key
	}
	if token, err := checkOperatorToken(getenv(EnvOperatorToken), EnvOperatorToken); err != nil {
		problems = append(problems, err.Error())
	} else {
		r.OperatorToken = token
	}
	keys, err := signing.ParsePublicKeys(c.LibraryKeys)
	if err != nil {
		problems = append(problems, "KILN_LIBRARY_KEYS: "+err.Error())
	}
	if len(problems) > 0 {
		return Resolved{}, &ProductionError{Problems: problems}
	}
	r.LibraryKeys = keys
	if len(keys) == 0 {
		logger.Warn("no trusted library signing keys (KILN_LIBRARY_KEYS): every library upload will be refused")
	}
	return r, nil
}

func checkOperatorToken(token, source string) (Token, error) {
	token = strings.TrimSpace(token)
	switch {
	case token == "":
		return Token{}, fmt.Errorf("%s is not set (it must be at least %d random characters: openssl rand -base64 32)", source, MinOperatorTokenLength)
	case len(token) < MinOperatorTokenLength:
		return Token{}, fmt.Errorf("%s is %d characters; it must be at least %d", source, len(token), MinOperatorTokenLength)
	}
	return NewToken(token), nil
}

func (c *Config) resolveDevelopment(getenv Getenv, logger *slog.Logger) (Resolved, error) {
	var r Resolved
	logger.Warn("development mode: secrets not set in the environment are kept in the data directory; " +
		"set KILN_ENV=production, KILN_MASTER_KEY, KILN_OPERATOR_TOKEN and an https KILN_PUBLIC_URL for a real deployment")

	if c.PublicURL != "" {
		u, err := ParsePublicURL(c.PublicURL, false)
		if err != nil {
			return Resolved{}, err
		}
		r.PublicURL = u
	} else {
		r.PublicURL = "http://" + displayAddr(c.Addr)
		logger.Info("development mode: KILN_PUBLIC_URL is not set; using the listen address", "public_url", r.PublicURL)
	}

	key, src, err := secrets.LoadMasterKey(getenv(EnvMasterKey), c.DataDir, secrets.Development)
	if err != nil {
		return Resolved{}, fmt.Errorf("config: master key: %w", err)
	}
	r.MasterKey = key
	switch {
	case src.Generated:
		logger.Warn("development mode: generated a master key", "path", src.Path)
	case src.Path != "":
		logger.Info("development mode: using the master key file", "path", src.Path)
	}

	if r.OperatorToken, err = c.devOperatorToken(getenv, logger); err != nil {
		return Resolved{}, err
	}
	if r.LibraryKeys, r.LibrarySigningKey, err = c.devLibraryKeys(logger); err != nil {
		return Resolved{}, err
	}
	return r, nil
}

func (c *Config) devOperatorToken(getenv Getenv, logger *slog.Logger) (Token, error) {
	if v := getenv(EnvOperatorToken); v != "" {
		return checkOperatorToken(v, EnvOperatorToken)
	}
	path := filepath.Join(c.DataDir, OperatorTokenFile)
	text, created, err := readOrCreateSecretFile(path, func() (string, error) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		return base64.RawURLEncoding.EncodeToString(b), nil
	})
	if err != nil {
		return Token{}, fmt.Errorf("config: operator token: %w", err)
	}
	token, err := checkOperatorToken(text, path)
	if err != nil {
		return Token{}, fmt.Errorf("config: %w", err)
	}
	if created {
		logger.Warn("development mode: generated an operator token; kiln admin and kiln library read it from this file when KILN_OPERATOR_TOKEN is unset", "path", path)
	} else {
		logger.Info("development mode: using the operator token file", "path", path)
	}
	return token, nil
}

// ReadOperatorTokenFile reads the development operator token of a data
// directory, for the CLI, refusing a file other users can read.
func ReadOperatorTokenFile(dataDir string) (Token, error) {
	text, err := readSecretFile(filepath.Join(dataDir, OperatorTokenFile))
	if err != nil {
		return Token{}, err
	}
	return checkOperatorToken(text, filepath.Join(dataDir, OperatorTokenFile))
}

func (c *Config) devLibraryKeys(logger *slog.Logger) ([]signing.PublicKey, *signing.PrivateKey, error) {
	if c.LibraryKeys != "" {
		keys, err := signing.ParsePublicKeys(c.LibraryKeys)
		if err != nil {
			return nil, nil, fmt.Errorf("config: KILN_LIBRARY_KEYS: %w", err)
		}
		return keys, nil, nil
	}
	path := filepath.Join(c.DataDir, LibraryKeyFile)
	text, created, err := readOrCreateSecretFile(path, func() (string, error) {
		k, err := signing.GenerateKey()
		if err != nil {
			return "", err
		}
		return k.Text(), nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("config: library signing key: %w", err)
	}
	k, err := signing.ParsePrivateKey(text)
	if err != nil {
		return nil, nil, fmt.Errorf("config: %s: %w", path, err)
	}
	if created {
		logger.Warn("development mode: generated a library signing key and trust it (sign uploads with kiln library sign --key)",
			"path", path, "public_key", k.Public().String())
	} else {
		logger.Info("development mode: trusting the library signing key file", "path", path, "public_key", k.Public().String())
	}
	return []signing.PublicKey{k.Public()}, &k, nil
}

// displayAddr turns a listen address into one a browser can use: an empty or
// unspecified host becomes localhost.
func displayAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
