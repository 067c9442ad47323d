package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
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
	"github.com/kilnhq/kiln/pkg/websession"
	"github.com/kilnhq/kiln/pkg/wizard"
	"github.com/kilnhq/kiln/sandbox"
	"github.com/kilnhq/kiln/sandbox/manifest"
)

// modules is the CacheDir of the tests' engines: each fixture and built
// tool compiles once per test binary.
var modules testmodules.ModuleCache

func TestMain(m *testing.M) { os.Exit(modules.Run(m)) }

const operatorToken = "test-operator-token-0123456789abcdef"

// syncBuffer collects log output written from handler goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// harness is a real API on a real database, with a sandbox engine and a
// build pool, reached over HTTP.
type harness struct {
	t       *testing.T
	store   *store.Store
	url     string
	logs    *syncBuffer
	box     *secrets.Box
	libKey  signing.PrivateKey
	routes  *api.Server
	checker *contract
}

// sharedPool builds Go source for every test of the package: builds of the
// same source are then shared, and the Go cache is warm after the first.
var (
	poolOnce   sync.Once
	sharedPool *build.Pool
	poolEngine *sandbox.Engine
	poolErr    error
)

func buildPool(t *testing.T) *build.Pool {
	t.Helper()
	poolOnce.Do(func() {
		poolEngine, poolErr = sandbox.NewEngine(context.Background(), sandbox.Config{CacheDir: modules.Dir(t)})
		if poolErr != nil {
			return
		}
		// The developer's GOCACHE is shared with other work: never trim it.
		builder := &build.GoBuilder{Engine: poolEngine, GoCache: testmodules.GoCache(t), GoCacheBytes: -1, Timeout: 5 * time.Minute}
		sharedPool = build.NewPool(build.PoolConfig{Builder: builder, Workers: 2})
	})
	if poolErr != nil {
		t.Fatal(poolErr)
	}
	return sharedPool
}

func newHarness(t *testing.T, s *store.Store, adjust ...func(*api.Config)) *harness {
	t.Helper()
	ctx := context.Background()
	engine, err := sandbox.NewEngine(ctx, sandbox.Config{CacheDir: modules.Dir(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close(ctx) })
	key, err := secrets.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	box, err := secrets.New(key)
	if err != nil {
		t.Fatal(err)
	}
	libKey, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	deps := api.Config{
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Store:  s, Catalog: tier.NewCatalog(s), Engine: engine, Builds: buildPool(t), Secrets: box,
		OperatorToken: config.NewToken(operatorToken), LibraryKeys: []signing.PublicKey{libKey.Public()},
		Sessions: websession.New(websession.Config{Store: s}),
	}
	// A wizard without an LLM: its routes answer as in a Kiln with no
	// provider configured. Tests of the LLM path bring their own.
	wiz, err := wizard.New(wizard.Config{Store: s, Catalog: deps.Catalog, Engine: engine, Builds: deps.Builds, Logger: deps.Logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(wiz.Close)
	deps.Wizard = wiz
	for _, a := range adjust {
		a(&deps)
	}
	srv, err := api.New(deps)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &harness{t: t, store: s, url: hs.URL, logs: logs, box: box, libKey: libKey, routes: srv, checker: loadContract(t)}
}

// resp is an answer, already checked against the OpenAPI document.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

// decode reads the JSON body into v.
func (r resp) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r, err)
	}
}

// errorMessage is the "error" field of an error body.
func (r resp) errorMessage(t *testing.T) string {
	t.Helper()
	var e struct{ Error string }
	r.decode(t, &e)
	return e.Error
}

// want fails the test unless the status is status.
func (r resp) want(t *testing.T, status int) resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("got %s, want status %d", r, status)
	}
	return r
}

// raw sends a request with a body as given.
func (h *harness) raw(method, path, token, contentType string, body io.Reader, header ...string) resp {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	r := resp{status: res.StatusCode, header: res.Header, body: data}
	h.checker.check(h.t, method, path, r)
	return r
}

// do sends body (nil, raw []byte or a value to encode) as JSON.
func (h *harness) do(method, path, token string, body any, header ...string) resp {
	h.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd, ct = bytes.NewReader(b), "application/json"
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	default:
		data, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd, ct = bytes.NewReader(data), "application/json"
	}
	return h.raw(method, path, token, ct, rd, header...)
}

func (h *harness) admin(method, path string, body any) resp {
	h.t.Helper()
	return h.do(method, "/api/v1/admin"+path, operatorToken, body)
}

// customer creates a customer on a plan and an API key for it.
func (h *harness) customer(plan string) (id, key string) {
	h.t.Helper()
	var c struct{ ID string }
	h.admin("POST", "/customers", map[string]any{"name": "customer on " + plan, "tier": plan}).want(h.t, 201).decode(h.t, &c)
	var k struct{ Key string }
	h.admin("POST", "/customers/"+c.ID+"/keys", map[string]any{"name": "test"}).want(h.t, 201).decode(h.t, &k)
	return c.ID, k.Key
}

type serverJSON struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Description  string   `json:"description"`
	AllowedHosts []string `json:"allowed_hosts"`
	Version      int64    `json:"version"`
}

func (h *harness) server(key, name string) serverJSON {
	h.t.Helper()
	var s serverJSON
	h.do("POST", "/api/v1/servers", key, map[string]any{"name": name}).want(h.t, 201).decode(h.t, &s)
	return s
}

// upload sends a library module; sig nil means an unsigned upload.
func (h *harness) upload(fields map[string]string, module, sig []byte) resp {
	h.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			h.t.Fatal(err)
		}
	}
	for name, data := range map[string][]byte{"module": module, "signature": sig} {
		if data == nil {
			continue
		}
		part, err := w.CreateFormFile(name, name+".bin")
		if err != nil {
			h.t.Fatal(err)
		}
		part.Write(data)
	}
	if err := w.Close(); err != nil {
		h.t.Fatal(err)
	}
	return h.raw("POST", "/api/v1/admin/library", operatorToken, w.FormDataContentType(), &body)
}

func (h *harness) sign(module []byte) []byte {
	h.t.Helper()
	sig, err := signing.Sign(h.libKey, module)
	if err != nil {
		h.t.Fatal(err)
	}
	return sig.Marshal()
}

// publish uploads module, signed, as name@version for minTier and above.
func (h *harness) publish(name, version, minTier string, module []byte) {
	h.t.Helper()
	h.upload(map[string]string{"name": name, "version": version, "min_tier": minTier}, module, h.sign(module)).want(h.t, 201)
}

func echoWasm(t *testing.T) []byte { return testmodules.WAT(t, "toolkits/wat/echo.wasm") }

// echoVariant is the echo module with another manifest: a different module
// (hash) offering the given tools.
func echoVariant(t *testing.T, label string, tools ...string) []byte {
	t.Helper()
	if len(tools) == 0 {
		tools = []string{"echo"}
	}
	var decls []string
	for _, name := range tools {
		decls = append(decls, fmt.Sprintf(`{"name":%q,"description":"echo %s","inputSchema":{"type":"object"}}`, name, label))
	}
	wasm, err := manifest.Embed(echoWasm(t), []byte(`{"abi":1,"tools":[`+strings.Join(decls, ",")+`]}`))
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

// each runs fn against a harness on every configured database.
func each(t *testing.T, fn func(t *testing.T, h *harness)) {
	storetest.Each(t, func(t *testing.T, s *store.Store) { fn(t, newHarness(t, s)) })
}

// sqliteStore is a store for tests that are about the API, not the database.
func sqliteStore(t *testing.T) *store.Store { return storetest.SQLite(t) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
