package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/api"
	"github.com/kilnhq/kiln/pkg/llm"
	"github.com/kilnhq/kiln/pkg/llm/llmtest"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/pkg/tier"
	"github.com/kilnhq/kiln/pkg/wizard"
	"github.com/kilnhq/kiln/pkg/wizard/eval/evalfake"
	"github.com/kilnhq/kiln/sandbox"
)

// wizardHarness is the API with a wizard whose LLM is a fake OpenAI endpoint.
func wizardHarness(t *testing.T, s *store.Store) (*harness, *llmtest.Server) {
	t.Helper()
	fake := llmtest.New(t)
	chain, err := llm.New([]llm.ProviderConfig{{API: llm.APIOpenAI, Model: "test-model", BaseURL: fake.OpenAIURL()}},
		llm.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := sandbox.NewEngine(context.Background(), sandbox.Config{CacheDir: modules.Dir(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close(context.Background()) })
	w, err := wizard.New(wizard.Config{Store: s, Catalog: tier.NewCatalog(s), Engine: engine, Builds: buildPool(t), LLM: chain,
		Logger: slog.New(slog.DiscardHandler), Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return newHarness(t, s, func(d *api.Config) { d.Wizard = w }), fake
}

type wizardJSON struct {
	ID      string `json:"id"`
	State   string `json:"state"`
	Version int64  `json:"version"`
	Error   string `json:"error"`
	Tools   []struct {
		Name   string `json:"name"`
		Status string `json:"status"`
	} `json:"tools"`
	Proposal struct {
		Tools []json.RawMessage `json:"tools"`
	} `json:"proposal"`
}

// events reads a session's event stream to its end and returns the ids
// and kinds of its events.
func (h *harness) events(t *testing.T, key, id string, lastID int64) (ids []int64, kinds []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", h.url+"/api/v1/wizard/sessions/"+id+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	if lastID > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(lastID, 10))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("event stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			n, _ := strconv.ParseInt(strings.TrimPrefix(line, "id: "), 10, 64)
			ids = append(ids, n)
		case strings.HasPrefix(line, "event: "):
			kinds = append(kinds, strings.TrimPrefix(line, "event: "))
		}
	}
	if len(kinds) == 0 || kinds[len(kinds)-1] != "end" {
		t.Fatalf("the stream did not end with an end event: %v", kinds)
	}
	return ids, kinds
}

func (h *harness) wizardSession(t *testing.T, key, id string) wizardJSON {
	t.Helper()
	var w wizardJSON
	r := h.do("GET", "/api/v1/wizard/sessions/"+id, key, nil).want(t, 200)
	r.decode(t, &w)
	if r.header.Get("ETag") != fmt.Sprintf("%q", strconv.FormatInt(w.Version, 10)) {
		t.Fatalf("ETag %q for version %d", r.header.Get("ETag"), w.Version)
	}
	return w
}

// TestWizardAPI drives a session over HTTP from a description to a
// deployed tool: the proposal and generation are followed on the event
// stream (and a reconnect with Last-Event-ID replays exactly what came
// after), two concurrent accepts give one 409, the playground runs the
// tool, and another customer gets 404 everywhere.
func TestWizardAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		h, fake := wizardHarness(t, s)
		// A new module's first calls may run on wazero's interpreter while
		// it compiles: under the race detector on a loaded machine the free
		// plan's 2 s per call can pass, and this test is not about time.
		catalog := tier.NewCatalog(s)
		free, err := catalog.Plan(t.Context(), "free")
		if err != nil {
			t.Fatal(err)
		}
		free.Timeout = time.Minute
		if err := catalog.SetPlan(t.Context(), free); err != nil {
			t.Fatal(err)
		}
		_, key := h.customer("free")
		_, other := h.customer("free")
		evalfake.ScriptCountWords(fake)

		h.do("POST", "/api/v1/wizard/sessions", key, map[string]any{}).want(t, 422)
		var w wizardJSON
		h.do("POST", "/api/v1/wizard/sessions", key, map[string]any{"description": "count the words of a text"}).want(t, 201).decode(t, &w)
		if w.State != "proposing" || w.Version != 1 {
			t.Fatalf("created %+v", w)
		}
		ids, kinds := h.events(t, key, w.ID, 0)
		if len(ids) < 2 || !contains(kinds, "proposal") {
			t.Fatalf("events %v %v", ids, kinds)
		}
		replay, _ := h.events(t, key, w.ID, ids[0])
		if fmt.Sprint(replay) != fmt.Sprint(ids[1:]) {
			t.Fatalf("replay after %d: %v, want %v", ids[0], replay, ids[1:])
		}
		w = h.wizardSession(t, key, w.ID)
		if w.State != "proposed" || len(w.Proposal.Tools) != 1 {
			t.Fatalf("proposed %+v", w)
		}

		base := "/api/v1/wizard/sessions/" + w.ID
		for _, r := range []resp{
			h.do("GET", base, other, nil), h.do("POST", base+"/accept", other, map[string]any{"version": w.Version, "tools": w.Proposal.Tools}),
			h.do("POST", base+"/generate", other, map[string]any{"version": w.Version}),
			h.do("POST", base+"/deploy", other, map[string]any{"version": w.Version}),
			h.do("POST", base+"/tools/count_words/run", other, map[string]any{"arguments": map[string]any{}}),
		} {
			r.want(t, 404)
		}
		req, _ := http.NewRequest("GET", h.url+base+"/events", nil)
		req.Header.Set("Authorization", "Bearer "+other)
		if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 404 {
			t.Fatalf("another customer's stream: %v %v", res, err)
		}

		statuses := concurrentAccepts(t, h, key, base, w.Version, w.Proposal.Tools)
		if statuses[200] != 1 || statuses[409] != 1 {
			t.Fatalf("two concurrent accepts answered %v, want one 200 and one 409", statuses)
		}
		h.do("POST", base+"/accept", key, map[string]any{"version": w.Version, "tools": w.Proposal.Tools}).want(t, 409)
		w = h.wizardSession(t, key, w.ID)
		h.do("POST", base+"/deploy", key, map[string]any{"version": w.Version}).want(t, 409) // nothing passed yet
		h.do("POST", base+"/generate", key, map[string]any{}, "If-Match", strconv.Quote(strconv.FormatInt(w.Version, 10))).want(t, 202)
		h.events(t, key, w.ID, 0)
		w = h.wizardSession(t, key, w.ID)
		if w.State != "ready" || w.Tools[0].Status != "passed" {
			t.Fatalf("generated %+v", w)
		}

		var run struct {
			Outcome string
			Output  struct{ StructuredContent map[string]int }
		}
		h.do("POST", base+"/tools/count_words/run", key, map[string]any{"arguments": map[string]any{"text": "x y"}}).want(t, 200).decode(t, &run)
		if run.Outcome != "ok" || run.Output.StructuredContent["words"] != 2 {
			t.Fatalf("playground %+v", run)
		}
		// Arguments the tool's input schema refuses: 422, before anything runs.
		h.do("POST", base+"/tools/count_words/run", key, map[string]any{"arguments": map[string]any{"text": 3}}).want(t, 422)
		var d struct {
			Created bool
			Tools   []string
			MCPPath string `json:"mcp_path"`
			Server  struct{ ID string }
		}
		h.do("POST", base+"/deploy", key, map[string]any{"version": w.Version, "server_name": "words"}).want(t, 200).decode(t, &d)
		if !d.Created || len(d.Tools) != 1 || d.MCPPath != "/mcp/"+d.Server.ID {
			t.Fatalf("deploy %+v", d)
		}
		h.do("GET", "/api/v1/servers/"+d.Server.ID+"/tools", key, nil).want(t, 200)
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// concurrentAccepts sends two accepts of one version at once.
func concurrentAccepts(t *testing.T, h *harness, key, base string, version int64, tools []json.RawMessage) map[int]int {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"version": version, "tools": tools})
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", h.url+base+"/accept", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+key)
			req.Header.Set("Content-Type", "application/json")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			res.Body.Close()
			mu.Lock()
			statuses[res.StatusCode]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return statuses
}

// TestWizardQuota: a plan whose daily generations are used answers the
// generate step with 429, naming the limit, the plan and its maximum.
func TestWizardQuota(t *testing.T) {
	h, fake := wizardHarness(t, sqliteStore(t))
	p, _ := tier.Default(tier.Free)
	p.Name, p.LLMGenerationsPerDay = "tiny", 1
	if err := tier.NewCatalog(h.store).SetPlan(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	_, key := h.customer("tiny")
	fake.Enqueue(evalfake.CountWordsProposal())
	var w wizardJSON
	h.do("POST", "/api/v1/wizard/sessions", key, map[string]any{"description": "count words"}).want(t, 201).decode(t, &w)
	h.events(t, key, w.ID, 0)
	w = h.wizardSession(t, key, w.ID)
	base := "/api/v1/wizard/sessions/" + w.ID
	h.do("POST", base+"/accept", key, map[string]any{"version": w.Version, "tools": w.Proposal.Tools}).want(t, 200).decode(t, &w)
	r := h.do("POST", base+"/generate", key, map[string]any{"version": w.Version}).want(t, 429)
	var e struct {
		Error, Limit, Plan string
		Max                int
	}
	r.decode(t, &e)
	if e.Limit != "llm_generations_per_day" || e.Plan != "tiny" || e.Max != 1 || !strings.Contains(e.Error, "tiny plan") {
		t.Fatalf("429 body %+v", e)
	}
}
