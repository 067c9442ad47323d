package config_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/config"
	"github.com/kilnhq/kiln/pkg/secrets"
	"github.com/kilnhq/kiln/pkg/signing"
)

const goodToken = "0123456789abcdef0123456789abcdef-operator"

// parse registers the serve flags with env as the environment and parses args.
func parse(t *testing.T, env map[string]string, args ...string) *config.Config {
	t.Helper()
	var c config.Config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.RegisterServe(fs, func(name string) string { return env[name] })
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return &c
}

func getenv(env map[string]string) config.Getenv {
	return func(name string) string { return env[name] }
}

func masterKey(t *testing.T) string {
	t.Helper()
	k, err := secrets.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	return k.Base64()
}

// TestProductionRefusesToStartWithoutSecrets: every missing item is named in
// one clear error, and nothing is generated.
func TestProductionRefusesToStartWithoutSecrets(t *testing.T) {
	dir := t.TempDir()
	key := masterKey(t)
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"nothing", map[string]string{}, []string{"KILN_PUBLIC_URL", "KILN_MASTER_KEY is not set", "KILN_OPERATOR_TOKEN is not set"}},
		{"no master key", map[string]string{"KILN_PUBLIC_URL": "https://kiln.example.com", "KILN_OPERATOR_TOKEN": goodToken}, []string{"KILN_MASTER_KEY is not set"}},
		{"bad master key", map[string]string{"KILN_PUBLIC_URL": "https://kiln.example.com", "KILN_OPERATOR_TOKEN": goodToken, "KILN_MASTER_KEY": "c2hvcnQ="}, []string{"KILN_MASTER_KEY", "decodes to 5 bytes"}},
		{"http public URL", map[string]string{"KILN_PUBLIC_URL": "http://kiln.example.com", "KILN_OPERATOR_TOKEN": goodToken, "KILN_MASTER_KEY": key}, []string{"must be an https URL in production"}},
		{"short operator token", map[string]string{"KILN_PUBLIC_URL": "https://kiln.example.com", "KILN_OPERATOR_TOKEN": "letmein", "KILN_MASTER_KEY": key}, []string{"KILN_OPERATOR_TOKEN is 7 characters"}},
		{"bad library key", map[string]string{"KILN_PUBLIC_URL": "https://kiln.example.com", "KILN_OPERATOR_TOKEN": goodToken, "KILN_MASTER_KEY": key, "KILN_LIBRARY_KEYS": "ed25519:nope"}, []string{"KILN_LIBRARY_KEYS"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.env["KILN_ENV"] = config.Production
			tc.env["KILN_DATA_DIR"] = dir
			c := parse(t, tc.env)
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			_, err := c.Resolve(getenv(tc.env), slog.New(slog.DiscardHandler))
			var pe *config.ProductionError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a ProductionError", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "production mode (KILN_ENV=production) refuses to start: ") {
				t.Errorf("message %q", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not mention %q", msg, w)
				}
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("production generated files: %v", entries)
	}
}

func TestProductionStartsWithEverything(t *testing.T) {
	dir := t.TempDir()
	lib, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"KILN_ENV": config.Production, "KILN_DATA_DIR": dir, "KILN_MASTER_KEY": masterKey(t),
		"KILN_OPERATOR_TOKEN": goodToken, "KILN_PUBLIC_URL": "https://kiln.example.com/",
		"KILN_LIBRARY_KEYS": lib.Public().String(),
	}
	r, err := parse(t, env).Resolve(getenv(env), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if r.PublicURL != "https://kiln.example.com" || r.OperatorToken.Reveal() != goodToken || len(r.LibraryKeys) != 1 {
		t.Fatalf("resolved %+v", r)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("production generated files: %v", entries)
	}
}

// TestDevelopmentGeneratesSecrets: zero configuration works, the generated
// files are private, the log says where they are but not what they hold,
// and a second start reuses them.
func TestDevelopmentGeneratesSecrets(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	env := map[string]string{"KILN_DATA_DIR": dir}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	c := parse(t, env)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	first, err := c.Resolve(getenv(env), logger)
	if err != nil {
		t.Fatal(err)
	}
	if first.PublicURL != "http://127.0.0.1:8080" {
		t.Errorf("public URL %q", first.PublicURL)
	}
	if len(first.OperatorToken.Reveal()) < config.MinOperatorTokenLength || len(first.LibraryKeys) != 1 {
		t.Fatalf("resolved %+v", first)
	}
	for _, name := range []string{secrets.KeyFileName, config.OperatorTokenFile, config.LibraryKeyFile} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %04o", name, info.Mode().Perm())
		}
		if !strings.Contains(logs.String(), filepath.Join(dir, name)) {
			t.Errorf("the log does not say where %s is:\n%s", name, logs.String())
		}
	}
	if info, _ := os.Stat(dir); info.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode %04o", info.Mode().Perm())
	}
	if got := strings.Count(logs.String(), "generated"); got != 3 {
		t.Errorf("%d 'generated' lines:\n%s", got, logs.String())
	}
	if strings.Contains(logs.String(), first.OperatorToken.Reveal()) || strings.Contains(logs.String(), first.MasterKey.Base64()) {
		t.Fatalf("a secret is in the log:\n%s", logs.String())
	}

	logs.Reset()
	second, err := parse(t, env).Resolve(getenv(env), logger)
	if err != nil {
		t.Fatal(err)
	}
	if second.OperatorToken.Reveal() != first.OperatorToken.Reveal() || second.MasterKey.Base64() != first.MasterKey.Base64() ||
		second.LibraryKeys[0].ID() != first.LibraryKeys[0].ID() {
		t.Fatal("the second start did not reuse the generated secrets")
	}
	if strings.Contains(logs.String(), "generated") {
		t.Errorf("the second start generated again:\n%s", logs.String())
	}
	tok, err := config.ReadOperatorTokenFile(dir)
	if err != nil || tok.Reveal() != first.OperatorToken.Reveal() {
		t.Fatalf("ReadOperatorTokenFile: %v", err)
	}

	// A token file others can read is refused, not used.
	if err := os.Chmod(filepath.Join(dir, config.OperatorTokenFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := parse(t, env).Resolve(getenv(env), logger); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable token file: %v", err)
	}
}

func TestDevelopmentTakesTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	lib, _ := signing.GenerateKey()
	env := map[string]string{
		"KILN_DATA_DIR": dir, "KILN_MASTER_KEY": masterKey(t), "KILN_OPERATOR_TOKEN": goodToken,
		"KILN_LIBRARY_KEYS": lib.Public().String(), "KILN_ADDR": "0.0.0.0:9000",
	}
	r, err := parse(t, env).Resolve(getenv(env), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if r.PublicURL != "http://localhost:9000" || r.OperatorToken.Reveal() != goodToken || r.LibraryKeys[0].ID() != lib.Public().ID() {
		t.Fatalf("resolved %+v", r)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("generated files although everything was given: %v", entries)
	}
	env["KILN_OPERATOR_TOKEN"] = "short"
	if _, err := parse(t, env).Resolve(getenv(env), slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("a short operator token was accepted in development")
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"KILN_ENV": "staging"}, nil, `"staging"`},
		{map[string]string{"KILN_BUILD_WORKERS": "many"}, nil, "KILN_BUILD_WORKERS"},
		{nil, []string{"--build-workers", "0"}, "at least 1"},
		{nil, []string{"--public-url", "ftp://x"}, "http or https"},
		{nil, []string{"--public-url", "https://x/?a=b"}, "query"},
		{nil, []string{"--data-dir", ""}, "data directory"},
		{map[string]string{"KILN_TRUSTED_PROXIES": "10.0.0.0/8, proxy.local"}, nil, `"proxy.local"`},
		{map[string]string{"KILN_OIDC_ISSUER": "https://idp.example.com"}, nil, "--oidc-client-id"},
		{nil, []string{"--oidc-issuer", "idp.example.com", "--oidc-client-id", "kiln"}, "--oidc-issuer"},
		{map[string]string{"KILN_ENV": "production"}, []string{"--oidc-issuer", "http://idp.example.com", "--oidc-client-id", "kiln"}, "https in production"},
		{map[string]string{"KILN_OIDC_SIGNUP": "perhaps"}, nil, "KILN_OIDC_SIGNUP"},
		{map[string]string{"KILN_MCP_IP_REQUESTS_PER_MINUTE": "lots"}, nil, "KILN_MCP_IP_REQUESTS_PER_MINUTE"},
		{nil, []string{"--mcp-ip-requests-per-minute", "0"}, "--mcp-ip-requests-per-minute/KILN_MCP_IP_REQUESTS_PER_MINUTE is 0; it must be at least 1"},
		{map[string]string{"KILN_MCP_IP_REQUESTS_PER_MINUTE": "-5"}, nil, "is -5; it must be at least 1"},
		{map[string]string{"KILN_OTLP_ENDPOINT": "otel-collector:4318"}, nil, "KILN_OTLP_ENDPOINT"},
		{nil, []string{"--otlp-endpoint", "grpc://collector"}, "http:// or https://"},
		{map[string]string{"KILN_TRACE_SAMPLE": "half"}, nil, "KILN_TRACE_SAMPLE"},
		{nil, []string{"--trace-sample", "1.5"}, "from 0 to 1"},
		{nil, []string{"--trace-sample", "-0.1"}, "from 0 to 1"},
	} {
		err := parse(t, tc.env, tc.args...).Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: got %v, want %q", tc.env, tc.args, err, tc.want)
		}
	}
}

// TestMCPIPRequestsPerMinute: the default, the variable, the flag over the
// variable, and the smallest value allowed (TestValidate crosses it).
func TestMCPIPRequestsPerMinute(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want int
	}{
		{nil, nil, config.DefaultMCPIPRequestsPerMinute},
		{map[string]string{"KILN_MCP_IP_REQUESTS_PER_MINUTE": "1"}, nil, 1},
		{map[string]string{"KILN_MCP_IP_REQUESTS_PER_MINUTE": "6000"}, []string{"--mcp-ip-requests-per-minute", "30"}, 30},
	} {
		c := parse(t, tc.env, tc.args...)
		if err := c.Validate(); err != nil || c.MCPIPRequestsPerMinute != tc.want {
			t.Errorf("%v %v: %d, %v; want %d", tc.env, tc.args, c.MCPIPRequestsPerMinute, err, tc.want)
		}
	}
}

func TestTokenIsRedacted(t *testing.T) {
	tok := config.NewToken(goodToken)
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "token", tok)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "token", tok)
	for _, out := range []string{fmt.Sprint(tok), fmt.Sprintf("%+v %#v %q %x", tok, tok, tok, tok), logs.String()} {
		if strings.Contains(out, goodToken) || strings.Contains(out, fmt.Sprintf("%x", goodToken)) {
			t.Fatalf("token printed: %s", out)
		}
	}
}
