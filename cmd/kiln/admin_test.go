package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/api"
	"github.com/kilnhq/kiln/pkg/build"
	"github.com/kilnhq/kiln/pkg/config"
	"github.com/kilnhq/kiln/pkg/secrets"
	"github.com/kilnhq/kiln/pkg/signing"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/pkg/testmodules"
	"github.com/kilnhq/kiln/pkg/tier"
	"github.com/kilnhq/kiln/sandbox"
)

const testOperatorToken = "cli-test-operator-token-0123456789abcdef"

// apiServer runs the API on s over HTTP, trusting the given library keys.
func apiServer(t *testing.T, s *store.Store, keys ...signing.PublicKey) string {
	t.Helper()
	ctx := context.Background()
	engine, err := sandbox.NewEngine(ctx, sandbox.Config{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close(ctx) })
	mk, err := secrets.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	box, err := secrets.New(mk)
	if err != nil {
		t.Fatal(err)
	}
	// The developer's GOCACHE is shared with other work: never trim it.
	builder := &build.GoBuilder{Engine: engine, GoCache: testmodules.GoCache(t), GoCacheBytes: -1, Timeout: 5 * time.Minute}
	h, err := api.New(api.Config{
		Logger: slog.New(slog.DiscardHandler), Store: s, Catalog: tier.NewCatalog(s), Engine: engine,
		Builds: build.NewPool(build.PoolConfig{Builder: builder, Workers: 1}), Secrets: box, OperatorToken: config.NewToken(testOperatorToken), LibraryKeys: keys,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// cli runs kiln against the server at url with the operator token.
type cli struct {
	t   *testing.T
	env map[string]string
}

func newCLI(t *testing.T, url string) *cli {
	return &cli{t: t, env: map[string]string{"KILN_SERVER_URL": url, "KILN_OPERATOR_TOKEN": testOperatorToken, "KILN_DATA_DIR": t.TempDir()}}
}

// ok runs a command that must succeed and decodes its JSON output into v.
func (c *cli) ok(v any, args ...string) string {
	c.t.Helper()
	status, stdout, stderr := runWithEnv(c.t, c.env, args...)
	if status != 0 {
		c.t.Fatalf("kiln %s: status %d\n%s", strings.Join(args, " "), status, stderr)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(stdout), v); err != nil {
			c.t.Fatalf("kiln %s: %v\n%s", strings.Join(args, " "), err, stdout)
		}
	}
	return stderr
}

// fails runs a command that must fail with status and mention want.
func (c *cli) fails(status int, want string, args ...string) {
	c.t.Helper()
	got, _, stderr := runWithEnv(c.t, c.env, args...)
	if got != status || !strings.Contains(stderr, want) {
		c.t.Fatalf("kiln %s: status %d, want %d mentioning %q\n%s", strings.Join(args, " "), got, status, want, stderr)
	}
}

func TestAdminCommands(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		c := newCLI(t, apiServer(t, s))
		var cust struct{ ID, Tier string }
		c.ok(&cust, "admin", "create-customer", "--name", "Acme", "--tier", "free")
		if cust.Tier != "free" {
			t.Fatalf("customer %+v", cust)
		}
		var key struct{ ID, Key string }
		if stderr := c.ok(&key, "admin", "create-key", cust.ID, "--name", "ci", "--expires", "720h"); !strings.Contains(stderr, "shown this once") {
			t.Errorf("no warning that the key is shown once: %s", stderr)
		}
		if !strings.HasPrefix(key.Key, "kiln_") {
			t.Fatalf("key %+v", key)
		}
		var moved struct{ Tier string }
		c.ok(&moved, "admin", "set-tier", cust.ID, "pro")
		if moved.Tier != "pro" {
			t.Fatalf("after set-tier %+v", moved)
		}
		var list struct{ Items []struct{ ID string } }
		c.ok(&list, "admin", "customers")
		if len(list.Items) != 1 {
			t.Fatalf("customers %+v", list)
		}
		c.ok(&list, "admin", "keys", cust.ID)
		if len(list.Items) != 1 || list.Items[0].ID != key.ID {
			t.Fatalf("keys %+v", list)
		}
		c.ok(nil, "admin", "revoke-key", cust.ID, key.ID)
		var audit struct{ Items []struct{ Action string } }
		c.ok(&audit, "admin", "audit", "--customer", cust.ID, "--limit", "10")
		var actions []string
		for _, e := range audit.Items {
			actions = append(actions, e.Action)
		}
		if strings.Join(actions, " ") != "apikey.revoke customer.tier apikey.create customer.create" {
			t.Fatalf("audit %v", actions)
		}

		c.fails(1, "there is no plan called \"gold\"", "admin", "set-tier", cust.ID, "gold")
		c.fails(1, "answered 404", "admin", "keys", "cus_nope")
		c.fails(2, "expected 2 argument(s)", "admin", "set-tier", cust.ID)

		wrong := &cli{t: t, env: map[string]string{"KILN_SERVER_URL": c.env["KILN_SERVER_URL"], "KILN_OPERATOR_TOKEN": strings.Repeat("x", 40)}}
		wrong.fails(1, "answered 401", "admin", "customers")
		none := &cli{t: t, env: map[string]string{"KILN_SERVER_URL": c.env["KILN_SERVER_URL"], "KILN_DATA_DIR": t.TempDir()}}
		none.fails(2, "no operator token: set KILN_OPERATOR_TOKEN", "admin", "customers")
		bad := &cli{t: t, env: map[string]string{"KILN_SERVER_URL": "ftp://x", "KILN_OPERATOR_TOKEN": testOperatorToken}}
		bad.fails(2, "not an http(s) URL", "admin", "customers")
	})
}

func TestAdminOAuthClientCommands(t *testing.T) {
	_, _, help := runWithEnv(t, nil, "admin", "--help")
	for _, sub := range []string{"create-client", "clients", "delete-client"} {
		if !strings.Contains(help, "  "+sub+" ") {
			t.Errorf("admin --help does not list %s", sub)
		}
		status, _, stderr := runWithEnv(t, nil, "admin", sub, "--help")
		if status != 0 || !strings.Contains(stderr, "Usage: kiln admin "+sub) {
			t.Errorf("admin %s --help: %d %s", sub, status, stderr)
		}
	}
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		c := newCLI(t, apiServer(t, s))
		var conf struct {
			ClientID     string   `json:"client_id"`
			ClientSecret string   `json:"client_secret"`
			RedirectURIs []string `json:"redirect_uris"`
			Confidential bool
		}
		stderr := c.ok(&conf, "admin", "create-client", "--name", "Web app", "--redirect-uri", "https://app.example/cb",
			"--redirect-uri", "http://127.0.0.1:8123/cb", "--confidential")
		if !strings.Contains(stderr, "shown this once") {
			t.Errorf("no warning that the secret is shown once: %s", stderr)
		}
		if !strings.HasPrefix(conf.ClientID, "cli_") || !strings.HasPrefix(conf.ClientSecret, "kilncs_") || !conf.Confidential ||
			len(conf.RedirectURIs) != 2 {
			t.Fatalf("confidential client %+v", conf)
		}
		var pub struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
		}
		if stderr := c.ok(&pub, "admin", "create-client", "--name", "CLI", "--redirect-uri", "http://localhost/cb"); strings.Contains(stderr, "shown this once") || pub.ClientSecret != "" {
			t.Fatalf("public client %+v %s", pub, stderr)
		}
		var list struct {
			Items []struct {
				ClientID     string `json:"client_id"`
				ClientSecret string `json:"client_secret"`
			}
		}
		c.ok(&list, "admin", "clients")
		if len(list.Items) != 2 || list.Items[0].ClientID != pub.ClientID || list.Items[1].ClientID != conf.ClientID || list.Items[1].ClientSecret != "" {
			t.Fatalf("clients %+v", list)
		}
		c.ok(&list, "admin", "clients", "--registration", "dynamic")
		if len(list.Items) != 0 {
			t.Fatalf("dynamic clients %+v", list)
		}
		if stderr := c.ok(nil, "admin", "delete-client", conf.ClientID); !strings.Contains(stderr, "deleted "+conf.ClientID) {
			t.Errorf("delete-client said %q", stderr)
		}
		c.ok(&list, "admin", "clients", "--registration", "all")
		if len(list.Items) != 1 || list.Items[0].ClientID != pub.ClientID {
			t.Fatalf("clients after the delete %+v", list)
		}
		var audit struct{ Items []struct{ Action string } }
		c.ok(&audit, "admin", "audit", "--action", "oauthclient.delete")
		if len(audit.Items) != 1 {
			t.Fatalf("audit %+v", audit)
		}

		// Signing keys: a rotation puts a new key first; the previous one
		// stays listed (its tokens are still valid).
		var keys struct {
			Items []struct {
				ID      string
				Current bool
			}
		}
		c.ok(&keys, "admin", "signing-keys")
		before := len(keys.Items)
		c.ok(&keys, "admin", "rotate-keys")
		if len(keys.Items) != before+1 || !keys.Items[0].Current || !strings.HasPrefix(keys.Items[0].ID, "key_") || (before > 0 && keys.Items[1].Current) {
			t.Fatalf("keys after a rotation: %+v (before: %d)", keys, before)
		}
		c.ok(&audit, "admin", "audit", "--action", "oauth.signingkey.rotate")
		if len(audit.Items) != 1 {
			t.Fatalf("rotation audit %+v", audit)
		}

		c.fails(1, `"http://app.example/cb": http is only allowed on a loopback address`, "admin", "create-client", "--name", "x", "--redirect-uri", "http://app.example/cb")
		c.fails(1, "redirect_uris must list", "admin", "create-client", "--name", "x")
		c.fails(1, "name must not be empty", "admin", "create-client", "--redirect-uri", "https://app.example/cb")
		c.fails(1, "answered 404", "admin", "delete-client", conf.ClientID)
		c.fails(1, "registration", "admin", "clients", "--registration", "everyone")
		c.fails(2, "expected 1 argument(s)", "admin", "delete-client")
	})
}

// TestAdminPlanCommands: plans are listed, created from flags (alone or
// from another plan), changed one limit at a time, overridden and removed.
func TestAdminPlanCommands(t *testing.T) {
	_, _, help := runWithEnv(t, nil, "admin", "--help")
	for _, sub := range []string{"plans", "set-plan", "remove-plan"} {
		if !strings.Contains(help, "  "+sub+" ") {
			t.Errorf("admin --help does not list %s", sub)
		}
	}
	type plan struct {
		Name, Source        string
		Rank                int
		Fuel                int64
		MemoryBytes         int64 `json:"memory_bytes"`
		TimeoutMS           int64 `json:"timeout_ms"`
		OutputBytes         int64 `json:"output_bytes"`
		HTTPRequestsPerCall int   `json:"http_requests_per_call"`
	}
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		c := newCLI(t, apiServer(t, s))
		var list struct{ Items []plan }
		c.ok(&list, "admin", "plans")
		if len(list.Items) != 3 || list.Items[0].Name != "free" || list.Items[0].Source != "default" {
			t.Fatalf("plans %+v", list)
		}

		// A new plan needs every limit, or --from.
		c.fails(1, "missing: rank, servers_per_customer", "admin", "set-plan", "team", "--fuel", "5")
		var team plan
		c.ok(&team, "admin", "set-plan", "team", "--from", "pro", "--rank", "3", "--memory-bytes", "96MiB", "--timeout-ms", "1500")
		pro, _ := tier.Default(tier.Pro)
		if team.Name != "team" || team.Source != "operator" || team.Rank != 3 || team.MemoryBytes != 96<<20 ||
			team.TimeoutMS != 1500 || team.Fuel != pro.Fuel || team.OutputBytes != pro.OutputBytes {
			t.Fatalf("team from pro: %+v", team)
		}
		// A change of one limit keeps the others.
		c.ok(&team, "admin", "set-plan", "team", "--http-requests-per-call", "0", "--fuel", "10000000000")
		if team.HTTPRequestsPerCall != 0 || team.Fuel != 10_000_000_000 || team.MemoryBytes != 96<<20 || team.Rank != 3 {
			t.Fatalf("team after a change: %+v", team)
		}
		var free plan
		c.ok(&free, "admin", "set-plan", "free", "--fuel", "7")
		if free.Source != "override" || free.Fuel != 7 {
			t.Fatalf("free overridden: %+v", free)
		}
		c.fails(1, "timeout_ms must be at most 900000", "admin", "set-plan", "team", "--timeout-ms", "900001")
		c.fails(1, "output_bytes must be at most 67108864", "admin", "set-plan", "team", "--output-bytes", "65MiB")
		c.fails(1, "answered 404", "admin", "set-plan", "team", "--from", "gold")
		c.fails(2, "not a whole number", "admin", "set-plan", "team", "--fuel", "lots")
		c.fails(2, "not a size", "admin", "set-plan", "team", "--memory-bytes", "big")

		var cust struct{ ID string }
		c.ok(&cust, "admin", "create-customer", "--name", "Acme", "--tier", "team")
		c.fails(1, `1 customer is on plan "team"`, "admin", "remove-plan", "team")
		c.ok(nil, "admin", "set-tier", cust.ID, "free")
		if stderr := c.ok(nil, "admin", "remove-plan", "team"); !strings.Contains(stderr, "removed team") {
			t.Errorf("remove-plan said %q", stderr)
		}
		if stderr := c.ok(nil, "admin", "remove-plan", "free"); !strings.Contains(stderr, "built-in limits apply again") {
			t.Errorf("remove-plan of an override said %q", stderr)
		}
		c.fails(1, "answered 409", "admin", "remove-plan", "free")
		c.fails(1, "answered 404", "admin", "remove-plan", "team")
		c.ok(&list, "admin", "plans")
		if len(list.Items) != 3 || list.Items[0].Source != "default" {
			t.Fatalf("plans at the end %+v", list)
		}
		var audit struct {
			Items []struct{ Action, Target string }
		}
		c.ok(&audit, "admin", "audit", "--action", "plan.change")
		if len(audit.Items) != 3 {
			t.Fatalf("plan.change records %+v", audit)
		}
	})
}

// TestAdminReadsTheDevelopmentToken: with KILN_OPERATOR_TOKEN unset, the
// CLI uses the token a development service generated in its data dir.
func TestAdminReadsTheDevelopmentToken(t *testing.T) {
	dataDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dataDir, config.OperatorTokenFile), []byte(testOperatorToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	url := apiServer(t, storetest.SQLite(t))
	c := &cli{t: t, env: map[string]string{"KILN_SERVER_URL": url}}
	c.ok(nil, "admin", "customers", "--data-dir", dataDir)
}

func TestLibraryCommands(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "library.key")
	status, stdout, stderr := runWithEnv(t, nil, "library", "keygen", "-o", keyFile)
	if status != 0 {
		t.Fatalf("keygen: %d %s", status, stderr)
	}
	pub, err := signing.ParsePublicKey(strings.TrimSpace(stdout))
	if err != nil {
		t.Fatal(err)
	}
	if status, _, stderr := runWithEnv(t, nil, "library", "keygen", "-o", keyFile); status != 1 || !strings.Contains(stderr, "refusing to overwrite") {
		t.Fatalf("keygen over an existing key: %d %s", status, stderr)
	}

	module := filepath.Join(dir, "echo.wasm")
	if err := os.WriteFile(module, testmodules.WAT(t, "toolkits/wat/echo.wasm"), 0o644); err != nil {
		t.Fatal(err)
	}
	if status, _, stderr := runWithEnv(t, nil, "library", "sign", "--key", keyFile, module); status != 0 {
		t.Fatalf("sign: %d %s", status, stderr)
	}
	vars := map[string]string{"KILN_LIBRARY_KEYS": pub.String()}
	if status, stdout, stderr := runWithEnv(t, vars, "library", "verify", module); status != 0 || !strings.Contains(stdout, pub.ID()) {
		t.Fatalf("verify: %d %s %s", status, stdout, stderr)
	}
	other, _ := signing.GenerateKey()
	if status, _, stderr := runWithEnv(t, nil, "library", "verify", "--keys", other.Public().String(), module); status != 1 || !strings.Contains(stderr, "not trusted") {
		t.Fatalf("verify with another key: %d %s", status, stderr)
	}
	tampered := filepath.Join(dir, "tampered.wasm")
	data, _ := os.ReadFile(module)
	data[len(data)-1] ^= 1
	os.WriteFile(tampered, data, 0o644)
	if status, _, stderr := runWithEnv(t, vars, "library", "verify", tampered, module+".sig"); status != 1 || !strings.Contains(stderr, "not the one that was signed") {
		t.Fatalf("verify a tampered module: %d %s", status, stderr)
	}
	if status, _, stderr := runWithEnv(t, nil, "library", "verify", module); status != 2 || !strings.Contains(stderr, "no trusted keys") {
		t.Fatalf("verify without keys: %d %s", status, stderr)
	}

	storetest.Each(t, func(t *testing.T, s *store.Store) {
		c := newCLI(t, apiServer(t, s, pub))
		var lib struct {
			Name, Version, Signer string
			MinTier               string `json:"min_tier"`
		}
		c.ok(&lib, "library", "push", module, "--name", "echo", "--version", "1.0.0", "--min-tier", "pro")
		if lib.Name != "echo" || lib.Signer != pub.ID() || lib.MinTier != "pro" {
			t.Fatalf("pushed %+v", lib)
		}
		c.fails(1, "answered 409", "library", "push", module, "--name", "echo", "--version", "1.0.0", "--min-tier", "pro")
		c.fails(1, "answered 422", "library", "push", tampered, "--signature", module+".sig", "--name", "echo", "--version", "1.0.1", "--min-tier", "pro")
		c.fails(1, "sign the module with kiln library sign", "library", "push", tampered, "--name", "echo", "--version", "1.0.1", "--min-tier", "pro")
		c.fails(1, "--name, --version and --min-tier are required", "library", "push", module)

		var changed struct {
			Deprecated bool
			MinTier    string `json:"min_tier"`
		}
		c.ok(&changed, "library", "deprecate", "echo", "1.0.0")
		if !changed.Deprecated {
			t.Fatalf("after deprecate %+v", changed)
		}
		c.ok(&changed, "library", "deprecate", "echo", "1.0.0", "--undo")
		c.ok(&changed, "library", "set-min-tier", "echo", "1.0.0", "free")
		if changed.Deprecated || changed.MinTier != "free" {
			t.Fatalf("after undo and set-min-tier %+v", changed)
		}
		var list struct{ Items []struct{ Name string } }
		c.ok(&list, "library", "list")
		if len(list.Items) != 1 {
			t.Fatalf("list %+v", list)
		}
		c.ok(&list, "library", "list", "echo")
		c.fails(1, "answered 404", "library", "list", "other")
	})
}
