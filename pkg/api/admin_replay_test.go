package api_test

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"

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
	// The layout of pkg/mcphost's recording document (recording.go).
	recording := `{"version":1,"tool":"echo","args":"` + base64.StdEncoding.EncodeToString([]byte(`{"text":"hi"}`)) + `",` +
		`"limits":{"Fuel":100000000,"Memory":16777216,"Timeout":5000000000,"OutputBytes":65536,"LogBytes":65536},"env":[],` +
		`"tape":{"warm":false,"reads":[],"size":0,"limit":1024,"outcome":"ok","fuel":0}}`
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
	for _, bad := range []string{"abc", "0", "-1", "99999999999999999999"} {
		h.admin("POST", "/executions/"+bad+"/replay", nil).want(t, 400)
	}
	h.do("POST", "/api/v1/admin/executions/"+recorded+"/replay", key, nil).want(t, 401)
}
