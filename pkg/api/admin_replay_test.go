package api_test

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/secrets"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/sandbox/manifest"
)

// TestAdminReplay: the operator replays a recorded execution on the node
// and gets the comparison (here of a recording that claims fuel 0, which
// the replay does not match); an unknown id is 404, one without a
// recording or whose module is gone 422, a bad id 400, and a customer's
// key is refused. kiln replay's tests (cmd/kiln) and mcphost's replay
// exact recordings of real calls; this one is about the endpoint.
func TestAdminReplay(t *testing.T) {
	s := sqliteStore(t)
	h := newHarness(t, s)
	ctx := context.Background()
	custID, key := h.customer("free")
	wasm := echoWasm(t)
	payload, found, err := manifest.Extract(wasm)
	if err != nil || !found {
		t.Fatalf("echo.wasm has no manifest: %v", err)
	}
	m := store.Module{Manifest: store.JSON(payload)}
	if err := s.PutModule(ctx, &m, wasm); err != nil {
		t.Fatal(err)
	}
	// The layout of pkg/mcphost's recording document (recording.go): the
	// tape sealed under associated data bound to the server and the tool.
	document := func(version int, box *secrets.Box) string {
		sealed, err := box.Seal([]byte(`{"warm":false,"reads":[],"size":0,"limit":1024,"outcome":"ok","fuel":0}`),
			[]byte("kiln recorded tape\x00srv_gone\x00echo"))
		if err != nil {
			t.Fatal(err)
		}
		return `{"version":` + strconv.Itoa(version) + `,"tool":"echo","args":"` + base64.StdEncoding.EncodeToString([]byte(`{"text":"hi"}`)) + `",` +
			`"limits":{"Fuel":100000000,"Memory":16777216,"Timeout":5000000000,"OutputBytes":65536,"LogBytes":65536},"env":[],` +
			`"sealed_tape":"` + base64.StdEncoding.EncodeToString(sealed) + `"}`
	}
	recording := document(2, h.box)
	record := func(hash string, rec store.JSON) string {
		x := store.Execution{CustomerID: custID, ServerID: "srv_gone", ToolName: "echo", ModuleHash: hash, Outcome: "ok", Recording: rec}
		if err := s.RecordExecution(ctx, &x); err != nil {
			t.Fatal(err)
		}
		return strconv.FormatInt(x.ID, 10)
	}
	recorded := record(m.Hash, store.JSON(recording))
	var r struct {
		Exact        bool
		Outcome      string
		Fuel         uint64
		RecordedFuel uint64 `json:"recorded_fuel"`
		Divergences  []string
	}
	h.admin("POST", "/executions/"+recorded+"/replay", nil).want(t, 200).decode(t, &r)
	if r.Exact || r.Outcome != "ok" || r.Fuel == 0 || r.RecordedFuel != 0 || len(r.Divergences) != 0 {
		t.Fatalf("replay %+v", r)
	}
	if msg := h.admin("POST", "/executions/99999/replay", nil).want(t, 404).errorMessage(t); !strings.Contains(msg, "not in the execution log") {
		t.Errorf("unknown id: %s", msg)
	}
	if msg := h.admin("POST", "/executions/"+record(m.Hash, nil)+"/replay", nil).want(t, 422).errorMessage(t); !strings.Contains(msg, "has no recording") {
		t.Errorf("no recording: %s", msg)
	}
	gone := record(store.ModuleHash([]byte("never stored")), store.JSON(recording))
	if msg := h.admin("POST", "/executions/"+gone+"/replay", nil).want(t, 422).errorMessage(t); !strings.Contains(msg, "no longer in the store") {
		t.Errorf("module gone: %s", msg)
	}
	replayInputProblems(t, h, m.Hash, record, document)
	for _, bad := range []string{"abc", "0", "-1", "99999999999999999999"} {
		h.admin("POST", "/executions/"+bad+"/replay", nil).want(t, 400)
	}
	h.do("POST", "/api/v1/admin/executions/"+recorded+"/replay", key, nil).want(t, 401)
}

// replayInputProblems: a recording of an unknown layout version, one sealed
// under another master key, and one whose module no longer loads are the
// recording's problems, 422 with the sentence saying which, never a 500.
func replayInputProblems(t *testing.T, h *harness, hash string, record func(string, store.JSON) string, document func(int, *secrets.Box) string) {
	t.Helper()
	if msg := h.admin("POST", "/executions/"+record(hash, store.JSON(document(1, h.box)))+"/replay", nil).want(t, 422).errorMessage(t); !strings.Contains(msg, "layout version 1") {
		t.Errorf("old version: %s", msg)
	}
	key, err := secrets.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	other, err := secrets.New(key)
	if err != nil {
		t.Fatal(err)
	}
	if msg := h.admin("POST", "/executions/"+record(hash, store.JSON(document(2, other)))+"/replay", nil).want(t, 422).errorMessage(t); !strings.Contains(msg, "another master key") {
		t.Errorf("another master key: %s", msg)
	}
	junk := store.Module{Manifest: store.JSON(`{}`)}
	if err := h.store.PutModule(context.Background(), &junk, []byte("\x00asm but not a module")); err != nil {
		t.Fatal(err)
	}
	if msg := h.admin("POST", "/executions/"+record(junk.Hash, store.JSON(document(2, h.box)))+"/replay", nil).want(t, 422).errorMessage(t); msg == "" {
		t.Error("a module that does not load: no message")
	}
}
