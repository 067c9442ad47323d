package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
)

func TestExecutions(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		custID, key := h.customer("free")
		a, b := h.server(key, "a"), h.server(key, "b")
		otherID, _ := h.customer("free")
		ctx := t.Context()
		record := func(customer, server, tool, outcome string) {
			e := store.Execution{CustomerID: customer, ServerID: server, ToolName: tool, ModuleHash: strings.Repeat("a", 64),
				Actor: "key:test", Outcome: outcome, FuelUsed: 10, MemoryPeak: 65536, Duration: 1500 * time.Microsecond,
				Arguments: store.JSON(`{"n":2}`)}
			if err := h.store.RecordExecution(ctx, &e); err != nil {
				t.Fatal(err)
			}
		}
		record(custID, a.ID, "double", "ok")
		record(custID, a.ID, "double", "fuel_exhausted")
		record(custID, b.ID, "echo", "ok")
		record(otherID, "srv_theirs", "double", "ok")

		type page struct {
			Items []struct {
				ID         int64
				ServerID   string  `json:"server_id"`
				ToolName   string  `json:"tool_name"`
				Outcome    string  `json:"outcome"`
				DurationMS float64 `json:"duration_ms"`
			}
			NextBefore *int64 `json:"next_before"`
		}
		var all page
		h.do("GET", "/api/v1/executions", key, nil).want(t, 200).decode(t, &all)
		if len(all.Items) != 3 || all.Items[0].ServerID != b.ID || all.Items[1].Outcome != "fuel_exhausted" || all.Items[0].DurationMS != 1.5 {
			t.Fatalf("executions %+v", all)
		}
		var filtered page
		h.do("GET", "/api/v1/executions?server="+a.ID+"&tool=double&limit=1", key, nil).want(t, 200).decode(t, &filtered)
		if len(filtered.Items) != 1 || filtered.Items[0].Outcome != "fuel_exhausted" || filtered.NextBefore == nil {
			t.Fatalf("filtered %+v", filtered)
		}
		var next page
		h.do("GET", "/api/v1/executions?server="+a.ID+"&before="+itoa(*filtered.NextBefore), key, nil).want(t, 200).decode(t, &next)
		if len(next.Items) != 1 || next.Items[0].Outcome != "ok" || next.NextBefore != nil {
			t.Fatalf("next page %+v", next)
		}
		h.do("GET", "/api/v1/executions?limit=1000", key, nil).want(t, 400)
		h.do("GET", "/api/v1/executions?before=x", key, nil).want(t, 400)
	})
}
