package sandbox_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/sandbox"
	"github.com/kilnhq/kiln/sandbox/egress"
)

func replayFixture(t testing.TB) []byte { return builds.Go(t, "sandbox/testdata/replay") }

// replayServer is an HTTP server on 127.0.0.1 that answers with the path
// it was asked for and something new each time, and a network that
// reaches it as api.test.example through the egress guard.
func replayServer(t testing.TB) (*httptest.Server, *sandbox.Network, string) {
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		w.Write([]byte(r.URL.String() + " #" + itoa(n) + " " + r.Header.Get("Authorization")))
	}))
	port := itoa(srv.Listener.Addr().(*net.TCPAddr).Port)
	rule, err := egress.ParseRule("http://api.test.example:" + port)
	if err != nil {
		t.Fatal(err)
	}
	network := &sandbox.Network{
		Policy:  egress.Policy{Allow: []egress.Rule{rule}, AllowPrivate: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
		Secrets: []egress.Secret{{Name: "TOKEN", Value: secretValue, Hosts: []egress.Rule{rule}}},
		Options: []egress.Option{egress.WithResolver(resolver{"api.test.example": netip.MustParseAddr("127.0.0.1")})},
	}
	return srv, network, `{"url":"http://api.test.example:` + port + `/data"}`
}

// record makes a recorded call of tool.
func record(t *testing.T, e *sandbox.Engine, m *sandbox.Module, tool, args string, network *sandbox.Network, limit int) (sandbox.Result, *sandbox.Recording) {
	t.Helper()
	rec := sandbox.NewRecording(limit)
	res, err := e.Call(context.Background(), m, sandbox.Request{Tool: tool, Args: []byte(args), Env: map[string]string{"GREETING": "hello"},
		Limits: limits(), Network: network, Record: rec})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != sandbox.OutcomeOK {
		t.Fatalf("outcome %v: %s %s", res.Outcome, res.Detail, res.Console)
	}
	return res, rec
}

// replay replays rec of tool on a new engine (no pools, no snapshot, no
// network shared with the recording engine).
func replay(t *testing.T, wasm []byte, tool, args string, rec *sandbox.Recording) sandbox.Replay {
	t.Helper()
	e := newEngine(t, sandbox.Config{})
	m := load(t, e, wasm)
	r, err := e.Replay(context.Background(), m, sandbox.Request{Tool: tool, Args: []byte(args), Env: map[string]string{"GREETING": "hello"},
		Limits: limits()}, rec)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRecordAndReplay: calls that read the clocks, random bytes, an env
// var and an HTTP response (through the egress guard, with a secret) are
// recorded, on warm instances and on fresh ones; with the HTTP server
// gone, a replay on another engine answers the same, with the same fuel.
func TestRecordAndReplay(t *testing.T) {
	wasm := replayFixture(t)
	for _, fresh := range []bool{false, true} {
		srv, network, args := replayServer(t)
		e := newEngine(t, sandbox.Config{FreshInstances: fresh})
		m := load(t, e, wasm)
		var recs []*sandbox.Recording
		var answers [][]byte
		for range 3 { // the first warm call initialises; the others are restored
			res, rec := record(t, e, m, "probe", args, network, 1<<20)
			if rec.Warm == fresh || rec.Truncated || len(rec.Reads) == 0 {
				t.Fatalf("fresh=%v: recording warm=%v truncated=%v with %d reads", fresh, rec.Warm, rec.Truncated, len(rec.Reads))
			}
			if bytes.Contains(res.Answer.Document, []byte(secretValue)) || !bytes.Contains(res.Answer.Document, []byte("[redacted:TOKEN]")) {
				t.Fatalf("answer %s", res.Answer.Document)
			}
			recs, answers = append(recs, rec), append(answers, res.Answer.Document)
		}
		if bytes.Equal(answers[1], answers[2]) {
			t.Fatal("two calls answered the same: the fixture does not read the host")
		}
		srv.Close()
		for i, rec := range recs {
			r := replay(t, wasm, "probe", args, rec)
			if !r.Exact() || !bytes.Equal(r.Result.Answer.Document, answers[i]) {
				t.Fatalf("fresh=%v call %d: replay %+v\nrecorded %s\nreplayed %s", fresh, i, r, answers[i], r.Result.Answer.Document)
			}
			if r.Fuel != rec.Fuel || r.Fuel == 0 {
				t.Fatalf("fuel recorded %d, replayed %d", rec.Fuel, r.Fuel)
			}
		}
	}
}

// TestReplayDivergence: replaying a recording on a code path that reads
// more (probe_more), on an edited module, or a tampered recording, reports
// where it diverged.
func TestReplayDivergence(t *testing.T) {
	wasm := replayFixture(t)
	srv, network, args := replayServer(t)
	defer srv.Close()
	e := newEngine(t, sandbox.Config{})
	m := load(t, e, wasm)
	_, rec := record(t, e, m, "probe", args, network, 1<<20)

	r := replay(t, wasm, "probe_more", args, rec)
	if r.Exact() || r.ResultMatches || !hasDivergence(r, "after the last of the") {
		t.Fatalf("probe_more replayed as probe: %+v", r)
	}

	tampered := *rec
	tampered.Reads = append([]sandbox.Read(nil), rec.Reads...)
	for i, read := range tampered.Reads {
		if read.Kind == sandbox.ReadHTTP {
			tampered.Reads[i].Request = bytes.Replace(read.Request, []byte("/data"), []byte("/other"), 1)
		}
	}
	r = replay(t, wasm, "probe", args, &tampered)
	if r.Exact() || !hasDivergence(r, "HTTP request differs") {
		t.Fatalf("a changed request was not reported: %+v", r.Divergences)
	}

	// The clock tool, recorded, replayed on an edited module that reads
	// the clock before the random bytes.
	_, clockRec := record(t, e, m, "clock", `{}`, nil, 1<<20)
	edited := replay(t, builds.Go(t, "sandbox/testdata/replayedit"), "clock", `{}`, clockRec)
	if edited.Exact() || edited.ResultMatches || !hasDivergence(edited, "the guest read the walltime where the recording has the") {
		t.Fatalf("the edited module replayed as the recorded one: %+v", edited.Divergences)
	}
	if same := replay(t, wasm, "clock", `{}`, clockRec); !same.Exact() {
		t.Fatalf("control: the clock tool's own replay is not exact: %+v", same.Divergences)
	}

	short := *rec
	short.Reads = rec.Reads[:len(rec.Reads)-1]
	if r = replay(t, wasm, "probe", args, &short); r.Exact() || len(r.Divergences) == 0 {
		t.Fatalf("a recording missing its last read replayed exactly: %+v", r)
	}
}

// TestRecordingLimit: a recording that reaches its size limit stops there
// and says so, and its replay says it cannot be exact.
func TestRecordingLimit(t *testing.T) {
	wasm := replayFixture(t)
	srv, network, args := replayServer(t)
	defer srv.Close()
	e := newEngine(t, sandbox.Config{FreshInstances: true})
	m := load(t, e, wasm)
	_, whole := record(t, e, m, "probe", args, network, 1<<20)
	// Half of what a call reads: how many times Go's runtime reads the
	// clock varies from call to call, by far less than that.
	limit := whole.Size / 2
	_, rec := record(t, e, m, "probe", args, network, limit)
	if !rec.Truncated || rec.Size > limit || rec.Size == 0 {
		t.Fatalf("limit %d: truncated=%v size=%d, %d reads", limit, rec.Truncated, rec.Size, len(rec.Reads))
	}
	srv.Close()
	r := replay(t, wasm, "probe", args, rec)
	if !r.Truncated || r.Exact() {
		t.Fatalf("a truncated recording replayed as exact: %+v", r)
	}
}

// TestInitRecordingLimit: a warm call of a module whose initialisation
// read more than a snapshot keeps of it (InitRecordLimit) is recorded as
// truncated, the initialisation's reads cut at the limit, and its replay
// says it cannot be exact; the same call on a fresh instance records whole.
func TestInitRecordingLimit(t *testing.T) {
	wasm := builds.Go(t, "sandbox/testdata/biginit")
	for _, fresh := range []bool{false, true} {
		e := newEngine(t, sandbox.Config{FreshInstances: fresh})
		m := load(t, e, wasm)
		rec := sandbox.NewRecording(1 << 20)
		res, err := e.Call(context.Background(), m, sandbox.Request{Tool: "digest", Args: []byte(`{}`), Env: map[string]string{"GREETING": "hello"}, Limits: limits(), Record: rec})
		if err != nil || res.Outcome != sandbox.OutcomeOK {
			t.Fatalf("fresh=%v: %v %v %s", fresh, err, res.Outcome, res.Detail)
		}
		initSize := 0
		for _, r := range rec.Init {
			initSize += len(r.Data)
		}
		if rec.Warm == fresh || rec.Truncated == fresh || initSize > sandbox.InitRecordLimit {
			t.Fatalf("fresh=%v: warm=%v truncated=%v, init keeps %d bytes", fresh, rec.Warm, rec.Truncated, initSize)
		}
		r := replay(t, wasm, "digest", `{}`, rec)
		if r.Truncated != !fresh || r.Exact() == !fresh {
			t.Fatalf("fresh=%v: replay truncated=%v exact=%v %v", fresh, r.Truncated, r.Exact(), r.Divergences)
		}
	}
}

// TestReplayDivergenceLimit: a replay describes at most MaxDivergences
// places where the guest read differently (and then how far it got), however
// many there are: here every read, the recording's kinds all changed.
func TestReplayDivergenceLimit(t *testing.T) {
	wasm := replayFixture(t)
	srv, network, args := replayServer(t)
	defer srv.Close()
	e := newEngine(t, sandbox.Config{FreshInstances: true})
	_, rec := record(t, e, load(t, e, wasm), "probe", args, network, 1<<20)
	if len(rec.Reads) <= sandbox.MaxDivergences {
		t.Fatalf("the call read %d times: too few to cross the limit", len(rec.Reads))
	}
	wrong := *rec
	wrong.Reads = append([]sandbox.Read(nil), rec.Reads...)
	for i := range wrong.Reads {
		wrong.Reads[i].Kind = sandbox.ReadInput
	}
	r := replay(t, wasm, "probe", args, &wrong)
	if len(r.Divergences) != sandbox.MaxDivergences+1 || !hasDivergence(r, "the guest made 0 of the") {
		t.Fatalf("%d divergences: %v", len(r.Divergences), r.Divergences)
	}
}

func hasDivergence(r sandbox.Replay, s string) bool {
	for _, d := range r.Divergences {
		if strings.Contains(d, s) {
			return true
		}
	}
	return false
}
