package mcphost_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/mcphost"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/pkg/tier"
	"github.com/kilnhq/kiln/sandbox/egress"
)

// netPlan lets a call make HTTP requests.
var netPlan = tier.Plan{Name: "net-test", Rank: 8, ServersPerCustomer: 50, ToolsPerServer: 50,
	Fuel: 1 << 40, MemoryBytes: 64 << 20, Timeout: 30 * time.Second, OutputBytes: 1 << 20,
	HTTPRequestsPerCall: 4, CallsPerMinute: 1_000_000}

const (
	replaySecret   = "tok-9f8e7d6c5b4a-never-stored"
	replayGreeting = "greeting-value-sealed-in-the-recording"
	// replayIssued is a credential the API answers with (as an OAuth token
	// endpoint called with a secret would): egress cannot redact it.
	replayIssued = "access-token-issued-7c1d2e3f-sealed"
)

// lookup maps api.test.example to 127.0.0.1.
type lookup struct{}

func (lookup) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if host == "api.test.example" {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// replayEnv is a host recording the payloads of a server whose tool reads
// the clocks, random bytes, a plain env var and an HTTP response fetched
// with a secret from a server on 127.0.0.1, through the egress guard.
func replayEnv(t *testing.T, s *store.Store, recordingBytes int) (*env, server, *httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "session", Value: replayIssued})
		fmt.Fprintf(w, "hit %d for %s with %s: {\"access_token\":%q}", hits.Add(1), r.URL, r.Header.Get("Authorization"), replayIssued)
	}))
	t.Cleanup(api.Close)
	e := newEnv(t, s, envOptions{payloads: true,
		egress:        egress.Policy{AllowPrivate: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
		egressOptions: []egress.Option{egress.WithResolver(lookup{})}, recordingBytes: recordingBytes})
	ctx := context.Background()
	if err := e.catalog.SetPlan(ctx, netPlan); err != nil {
		t.Fatal(err)
	}
	srv := e.addServer(netPlan.Name, toolSpec{"probe", "probe", builds.Go(t, "sandbox/testdata/replay")})
	hostRule := "http://api.test.example:" + strconv.Itoa(api.Listener.Addr().(*net.TCPAddr).Port)
	srv.AllowedHosts = store.StringList{hostRule}
	if err := s.UpdateServer(ctx, &srv.Server); err != nil {
		t.Fatal(err)
	}
	for name, value := range map[string]string{"GREETING": replayGreeting, "TOKEN": replaySecret} {
		v := store.EnvVar{ServerID: srv.ID, Name: name, Secret: name == "TOKEN", Hosts: store.StringList{hostRule}}
		if err := s.PutEnvVar(ctx, &v); err != nil {
			t.Fatal(err)
		}
		sealed, err := e.box.Seal([]byte(value), []byte("kiln env value\x00"+srv.ID+"\x00"+name))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetEnvValue(ctx, srv.ID, name, sealed); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.host.Reload(ctx, srv.ID); err != nil {
		t.Fatal(err)
	}
	return e, srv, api, &hits
}

// TestRecordAndReplayThroughTheHost: calls of a server that records
// payloads keep what they read from the host, and never a secret's value
// nor a plain env value in clear; with the HTTP server gone, each replays
// with the same result and fuel; changed env is reported; and replay says
// why when the execution, its recording or its module is missing.
func TestRecordAndReplayThroughTheHost(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e, srv, api, hits := replayEnv(t, s, 0)
		session := connect(t, e.url(srv.ID), srv.key)
		url := api.URL
		url = strings.Replace(url, "127.0.0.1", "api.test.example", 1) + "/data"
		for range 3 {
			if res := call(t, session, "probe", map[string]any{"url": url}); res.IsError || !strings.Contains(text(res), "[redacted:TOKEN]") {
				t.Fatalf("probe: %s", text(res))
			}
		}
		if hits.Load() != 3 {
			t.Fatalf("the API was hit %d times", hits.Load())
		}
		xs := e.executions(srv)
		api.Close()
		ctx := context.Background()
		for _, x := range xs {
			full, err := s.Execution(ctx, x.ID)
			if err != nil || full.Recording == nil {
				t.Fatalf("execution %d: %v, recording %q", x.ID, err, full.Recording)
			}
			// The secret is nowhere in the row; the plain value and the
			// credential the API issued, which the tool puts in its
			// (recorded) result, are sealed in the recording.
			row := fmt.Sprintf("%+v %s %s %s %s", full, full.Arguments, full.Result, full.Logs, full.Recording)
			if strings.Contains(row, replaySecret) || strings.Contains(string(full.Recording), replayGreeting) ||
				holds(full.Recording, replayIssued) || !strings.Contains(string(full.Result), replayIssued) {
				t.Fatalf("execution %d holds a value in clear", x.ID)
			}
			var doc struct {
				Env []struct{ Name, Sealed string }
			}
			if err := json.Unmarshal(full.Recording, &doc); err != nil || len(doc.Env) != 2 || doc.Env[1].Name != "TOKEN" || doc.Env[1].Sealed != "" {
				t.Fatalf("the recording does not name the secret (%d bytes)", len(full.Recording))
			}
			r, err := mcphost.Replay(ctx, mcphost.ReplayConfig{Store: s, Engine: testEngine, Secrets: e.box}, x.ID)
			if err != nil || !r.Exact() || uint64(x.FuelUsed) != r.Fuel || !strings.Contains(string(r.Result.Answer.Document), replayGreeting) ||
				!strings.Contains(string(r.Result.Answer.Document), replayIssued) {
				t.Fatalf("replay of %d: %v %+v (recorded fuel %d)", x.ID, err, r, x.FuelUsed)
			}
			if len(r.Secrets) != 1 || r.Secrets[0] != "TOKEN" {
				t.Fatalf("secrets %v", r.Secrets)
			}
		}
		if hits.Load() != 3 {
			t.Fatal("a replay reached the API")
		}

		r, err := mcphost.Replay(ctx, mcphost.ReplayConfig{Store: s, Engine: testEngine, Secrets: e.box, Env: map[string]string{"GREETING": "changed"}}, xs[0].ID)
		if err != nil || r.Exact() || r.ResultMatches || len(r.EnvDiffers) != 1 || r.EnvDiffers[0] != "GREETING" {
			t.Fatalf("replay with another GREETING: %v %+v", err, r)
		}
		r, err = mcphost.Replay(ctx, mcphost.ReplayConfig{Store: s, Engine: testEngine, Secrets: e.box, CurrentEnv: true}, xs[0].ID)
		if err != nil || !r.Exact() || len(r.EnvDiffers) != 0 {
			t.Fatalf("replay with the current (unchanged) env: %v %+v", err, r)
		}

		replayRefusals(t, s, e, xs[0])
	})
}

// holds reports whether doc has s in it: in clear, or in any of its
// strings once decoded from base64 (as []byte fields are encoded), down
// through the JSON documents such strings hold.
func holds(doc []byte, s string) bool {
	if strings.Contains(string(doc), s) {
		return true
	}
	var v any
	if json.Unmarshal(doc, &v) != nil {
		return false
	}
	return holdsValue(v, s)
}

func holdsValue(v any, s string) bool {
	switch v := v.(type) {
	case string:
		b, err := base64.StdEncoding.DecodeString(v)
		return err == nil && holds(b, s)
	case []any:
		return slices.ContainsFunc(v, func(e any) bool { return holdsValue(e, s) })
	case map[string]any:
		for _, e := range v {
			if holdsValue(e, s) {
				return true
			}
		}
	}
	return false
}

// replayRefusals: an unknown id, an execution without a recording, one
// whose module is gone.
func replayRefusals(t *testing.T, s *store.Store, e *env, recorded store.Execution) {
	ctx := context.Background()
	rc := mcphost.ReplayConfig{Store: s, Engine: testEngine, Secrets: e.box}
	if _, err := mcphost.Replay(ctx, rc, recorded.ID+1000); !errors.Is(err, mcphost.ErrNoExecution) {
		t.Fatalf("unknown id: %v", err)
	}
	bare := store.Execution{CustomerID: recorded.CustomerID, ServerID: recorded.ServerID, ToolName: "probe", ModuleHash: recorded.ModuleHash, Outcome: "ok"}
	if err := s.RecordExecution(ctx, &bare); err != nil {
		t.Fatal(err)
	}
	if _, err := mcphost.Replay(ctx, rc, bare.ID); !errors.Is(err, mcphost.ErrNoRecording) || !strings.Contains(err.Error(), "not recording payloads") {
		t.Fatalf("no recording: %v", err)
	}
	full, err := s.Execution(ctx, recorded.ID)
	if err != nil {
		t.Fatal(err)
	}
	full.ID, full.ModuleHash = 0, store.ModuleHash([]byte("a module never stored"))
	if err := s.RecordExecution(ctx, &full); err != nil {
		t.Fatal(err)
	}
	if _, err := mcphost.Replay(ctx, rc, full.ID); !errors.Is(err, mcphost.ErrModuleGone) {
		t.Fatalf("module gone: %v", err)
	}
	// A sealed tape moved to another server's execution does not open.
	moved, err := s.Execution(ctx, recorded.ID)
	if err != nil {
		t.Fatal(err)
	}
	moved.ID, moved.ServerID = 0, "srv_other"
	if err := s.RecordExecution(ctx, &moved); err != nil {
		t.Fatal(err)
	}
	if _, err := mcphost.Replay(ctx, rc, moved.ID); !errors.Is(err, mcphost.ErrReplayInput) || !strings.Contains(err.Error(), "another server") {
		t.Fatalf("moved recording: %v", err)
	}
}

// TestRecordingLimitThroughTheHost: a call that reads more than
// Config.RecordingBytes keeps a truncated recording, and its replay says
// it cannot be exact.
func TestRecordingLimitThroughTheHost(t *testing.T) {
	s := storetest.SQLite(t)
	e, srv, api, _ := replayEnv(t, s, 512)
	url := strings.Replace(api.URL, "127.0.0.1", "api.test.example", 1) + "/data"
	if res := call(t, connect(t, e.url(srv.ID), srv.key), "probe", map[string]any{"url": url}); res.IsError {
		t.Fatalf("probe: %s", text(res))
	}
	x := e.executions(srv)[0]
	full, err := s.Execution(context.Background(), x.ID)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Version int }
	if err := json.Unmarshal(full.Recording, &doc); err != nil || doc.Version != 2 {
		t.Fatalf("recording %+v, %v", doc, err)
	}
	api.Close()
	r, err := mcphost.Replay(context.Background(), mcphost.ReplayConfig{Store: s, Engine: testEngine, Secrets: e.box}, x.ID)
	if err != nil || !r.Truncated || r.Exact() {
		t.Fatalf("replay of a truncated recording: %v %+v", err, r.Replay.Divergences)
	}
}
