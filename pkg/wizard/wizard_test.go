package wizard_test

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/llm"
	"github.com/kilnhq/kiln/pkg/llm/llmtest"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/pkg/tier"
	"github.com/kilnhq/kiln/pkg/wizard"
	"github.com/kilnhq/kiln/sandbox"
)

// TestSessionFromDescriptionToDeployedTool: the LLM proposes two tools;
// count_words crashes on its sample call and shout does not compile, and
// each is repaired on the second round with the crash or the compiler's
// errors (and the lines around them) in the repair prompt. Both deploy to a
// new server, where the tool answers a call in the sandbox. Every
// generation is recorded with its prompt version, provider and model.
func TestSessionFromDescriptionToDeployedTool(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		w := e.wizard(e.chain(llm.APIOpenAI))
		cust := e.customer(tier.Free)
		ctx := t.Context()
		e.llm.Enqueue(proposal(countSpec, shoutSpec), code(crashCount), code(goodCount), code(badShout), code(goodShout))

		sess, err := w.Create(ctx, cust, nil, "count the words of a text, and shout a text")
		if err != nil {
			t.Fatal(err)
		}
		mustState(t, sess, wizard.StateProposing)
		sess = settle(t, w, cust, sess.ID)
		mustState(t, sess, wizard.StateProposed)
		if p := sess.Proposal; len(p.Tools) != 2 || p.Generation == nil || p.Generation.PromptVersion != wizard.PromptPropose || p.Generation.Model != "test-model" {
			t.Fatalf("proposal %+v", p)
		}
		sess, err = w.Accept(ctx, cust, sess.ID, sess.Version, sess.Proposal.Tools)
		if err != nil {
			t.Fatal(err)
		}
		if sess, err = w.Generate(ctx, cust, sess.ID, sess.Version, nil); err != nil {
			t.Fatal(err)
		}
		sess = settle(t, w, cust, sess.ID)
		mustState(t, sess, wizard.StateReady)
		for _, name := range []string{"count_words", "shout"} {
			tl := toolOf(t, sess, name)
			if tl.Status != wizard.ToolPassed || tl.Round != 2 || len(tl.Attempts) != 2 || tl.Origin != wizard.OriginLLM ||
				tl.Generation == nil || tl.Generation.PromptVersion != wizard.PromptRepair || tl.Generation.Provider == "" {
				t.Fatalf("%s: %+v", name, tl)
			}
		}
		if a := toolOf(t, sess, "count_words").Attempts[0]; a.Stage != "samples" || !contains(a.Error, "trap") {
			t.Errorf("crash attempt %+v", a)
		}
		if a := toolOf(t, sess, "shout").Attempts[0]; a.Stage != "compile" || a.PromptVersion != wizard.PromptGenerate {
			t.Errorf("compile attempt %+v", a)
		}
		reqs := e.llm.Requests()
		if len(reqs) != 5 {
			t.Fatalf("%d LLM requests, want 5", len(reqs))
		}
		crashRepair, compileRepair := string(reqs[2].Body), string(reqs[4].Body)
		if !contains(crashRepair, "sample call 1") || !contains(crashRepair, "nil map") {
			t.Errorf("the crash did not reach the repair prompt: %s", crashRepair)
		}
		if !contains(compileRepair, "The Go compiler failed") || !contains(compileRepair, "\u003e ") {
			t.Errorf("the compiler's errors did not reach the repair prompt: %s", compileRepair)
		}

		d, err := w.Deploy(ctx, cust, sess.ID, wizard.DeployRequest{Version: sess.Version, ServerName: "words", Actor: "test"})
		if err != nil {
			t.Fatal(err)
		}
		mustState(t, d.Session, wizard.StateDeployed)
		if !d.Created || len(d.Tools) != 2 || d.Session.ServerID == nil || *d.Session.ServerID != d.Server.ID {
			t.Fatalf("deployment %+v", d)
		}
		callDeployed(t, e, d.Server.ID, "count_words", `{"text":"one two three four"}`, `{"words":4}`)
		n, err := e.store.CountWizardGenerations(ctx, cust, time.Now().Add(-time.Hour))
		if err != nil || n != 5 {
			t.Errorf("%d generations recorded, want 5 (%v)", n, err)
		}
	})
}

// callDeployed calls a deployed tool as the MCP host does: the server's
// current version of the tool, loaded from the store, in the sandbox.
func callDeployed(t *testing.T, e *env, serverID, tool, args, want string) {
	t.Helper()
	ctx := t.Context()
	tools, err := e.store.ServerTools(ctx, serverID)
	if err != nil {
		t.Fatal(err)
	}
	for _, dt := range tools {
		if dt.Name != tool {
			continue
		}
		wasm, err := e.store.ModuleData(ctx, dt.ModuleHash)
		if err != nil {
			t.Fatal(err)
		}
		mod, err := e.engine.Load(ctx, wasm)
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.engine.Call(ctx, mod, sandbox.Request{Tool: dt.ModuleTool, Args: []byte(args), Limits: sandbox.DefaultLimits()})
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != sandbox.OutcomeOK || string(res.Answer.Structured) != want {
			t.Fatalf("call: %s %s %s", res.Outcome, res.Detail, res.Answer.Structured)
		}
		return
	}
	t.Fatalf("server %s has no tool %s: %+v", serverID, tool, tools)
}

// TestNeverCompilingToolFailsWhileSiblingDeploys: a tool whose source never
// builds ends failed after the bound (1 + Repairs answers) with its last
// error and its best attempt kept; its sibling passes and deploys alone.
// The answers come over Anthropic's wire format.
func TestNeverCompilingToolFailsWhileSiblingDeploys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		w := e.wizard(e.chain(llm.APIAnthropic), func(c *wizard.Config) { c.Repairs = 1 })
		cust := e.customer(tier.Free)
		ctx := t.Context()
		broken := spec("broken", "words", "integer", `{"text":"x"}`)
		sess := manualSession(t, e, cust, broken, countSpec)
		e.llm.Enqueue(code(syntaxErr), code(syntaxErr), code(goodCount))
		sess, err := w.Generate(ctx, cust, sess.ID, sess.Version, nil)
		if err != nil {
			t.Fatal(err)
		}
		sess = settle(t, w, cust, sess.ID)
		mustState(t, sess, wizard.StateReady)
		b := toolOf(t, sess, "broken")
		if b.Status != wizard.ToolFailed || len(b.Attempts) != 2 || !contains(b.Error, "after 2 rounds") || len(b.Problems) == 0 || b.Files["main.go"] != syntaxErr {
			t.Fatalf("broken: %+v", b)
		}
		if c := toolOf(t, sess, "count_words"); c.Status != wizard.ToolPassed {
			t.Fatalf("count_words: %+v", c)
		}
		var se *wizard.StateError
		if _, err := w.Deploy(ctx, cust, sess.ID, wizard.DeployRequest{Version: sess.Version, Tools: []string{"broken"}}); !errors.As(err, &se) {
			t.Fatalf("deploying a failed tool: %v", err)
		}
		d, err := w.Deploy(ctx, cust, sess.ID, wizard.DeployRequest{Version: sess.Version, ServerName: "sib", Actor: "test"})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Tools) != 1 || d.Tools[0].Name != "count_words" {
			t.Fatalf("deployed %+v", d.Tools)
		}
	})
}

// TestConcurrentSubmitsGiveOneConflict: two submits of one step at the same
// version (two browser tabs): one wins, the other gets a *ConflictError
// naming the current version, and the session holds the winner's change.
func TestConcurrentSubmitsGiveOneConflict(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		w := e.wizard(nil)
		cust := e.customer(tier.Free)
		sess := manualSession(t, e, cust, countSpec)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		start := make(chan struct{})
		for i, sp := range []wizard.Spec{shoutSpec, spec("other", "text", "string", `{"text":"x"}`)} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = w.Accept(t.Context(), cust, sess.ID, sess.Version, []wizard.Spec{sp})
			}()
		}
		close(start)
		wg.Wait()
		var ce *wizard.ConflictError
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.As(err, &ce) || ce.Current != sess.Version+1:
				t.Fatalf("want a conflict at version %d, got %v", sess.Version+1, err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d of 2 concurrent submits won: %v", ok, errs)
		}
		got, err := w.Get(t.Context(), cust, sess.ID)
		if err != nil || got.Version != sess.Version+1 || len(got.Tools) != 1 {
			t.Fatalf("session after the race: %+v, %v", got, err)
		}
	})
}

// TestRestartMidGenerationResumes: a node dies while the LLM writes a tool
// (its wizard closes with the call in flight); once its lease expires, a
// new wizard on the same store takes the session over and finishes it. A
// second generation while the first runs is refused.
func TestRestartMidGenerationResumes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		first := e.wizard(e.chain(llm.APIOpenAI))
		cust := e.customer(tier.Free)
		ctx := t.Context()
		sess := manualSession(t, e, cust, countSpec)
		gate := make(chan struct{}) // never opened: the first node never gets its answer
		e.llm.Enqueue(llmtest.Reply{Gate: gate}, code(goodCount))
		sess, err := first.Generate(ctx, cust, sess.ID, sess.Version, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.llm.WaitInFlight(ctx, 1); err != nil {
			t.Fatal(err)
		}
		var se *wizard.StateError
		for {
			// The worker may renew its lease in between: read again then.
			current, err := first.Get(ctx, cust, sess.ID)
			if err != nil {
				t.Fatal(err)
			}
			_, err = first.Generate(ctx, cust, sess.ID, current.Version, nil)
			var ce *wizard.ConflictError
			if errors.As(err, &ce) {
				continue
			}
			if !errors.As(err, &se) {
				t.Fatalf("a second generation while one runs: %v", err)
			}
			break
		}
		first.Close() // the node dies
		if sess, err = first.Get(ctx, cust, sess.ID); err != nil {
			t.Fatal(err)
		}

		second := e.wizard(e.chain(llm.APIOpenAI))
		if err := second.ResumeStale(ctx); err != nil {
			t.Fatal(err)
		}
		if got, _ := second.Get(ctx, cust, sess.ID); got.State != wizard.StateGenerating || got.Version != sess.Version {
			t.Fatalf("a live lease was taken over: %+v", got)
		}
		e.clock.advance(2 * wizard.DefaultLeaseTTL)
		if err := second.ResumeStale(ctx); err != nil {
			t.Fatal(err)
		}
		sess = settle(t, second, cust, sess.ID)
		mustState(t, sess, wizard.StateReady)
		if c := toolOf(t, sess, "count_words"); c.Status != wizard.ToolPassed {
			t.Fatalf("count_words: %+v", c)
		}
		evs, err := e.store.WizardEvents(ctx, cust, sess.ID, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		resumed := false
		for _, ev := range evs {
			resumed = resumed || ev.Kind == "resumed"
		}
		if !resumed {
			t.Errorf("no resumed event in %+v", evs)
		}
	})
}

// TestCustomersCannotReachEachOthersSessions: every operation on another
// customer's session is not found, as if it did not exist.
func TestCustomersCannotReachEachOthersSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		w := e.wizard(nil)
		a, b := e.customer(tier.Free), e.customer(tier.Free)
		ctx := t.Context()
		sess := manualSession(t, e, a, countSpec)
		v := sess.Version
		ops := map[string]func() error{
			"get":      func() error { _, err := w.Get(ctx, b, sess.ID); return err },
			"accept":   func() error { _, err := w.Accept(ctx, b, sess.ID, v, []wizard.Spec{shoutSpec}); return err },
			"generate": func() error { _, err := w.Generate(ctx, b, sess.ID, v, nil); return err },
			"source": func() error {
				_, err := w.SetSource(ctx, b, sess.ID, "count_words", v, map[string]string{"main.go": goodCount})
				return err
			},
			"run":    func() error { _, err := w.RunTool(ctx, b, sess.ID, "count_words", json.RawMessage(`{}`)); return err },
			"deploy": func() error { _, err := w.Deploy(ctx, b, sess.ID, wizard.DeployRequest{Version: v}); return err },
			"stream": func() error { return w.Stream(ctx, b, sess.ID, 0, func(wizard.Event) error { return nil }) },
		}
		for name, op := range ops {
			if err := op(); !errors.Is(err, wizard.ErrNotFound) {
				t.Errorf("%s as another customer: %v, want not found", name, err)
			}
		}
		if list, err := w.List(ctx, b); err != nil || len(list) != 0 {
			t.Errorf("B lists %d sessions, %v", len(list), err)
		}
		if got, err := w.Get(ctx, a, sess.ID); err != nil || got.Version != v {
			t.Fatalf("A's session changed: %+v %v", got, err)
		}
	})
}

// quotaPlan stores a plan like free with n generations a day.
func quotaPlan(t *testing.T, e *env, name string, n int) {
	t.Helper()
	p, _ := tier.Default(tier.Free)
	p.Name, p.Rank, p.LLMGenerationsPerDay = name, 0, n
	if err := tier.NewCatalog(e.store).SetPlan(t.Context(), p); err != nil {
		t.Fatal(err)
	}
}

// TestDailyQuotaStopsGeneration: with a quota of one generation a day the
// proposal uses it and generating is refused with a *QuotaError naming the
// plan; with two, the second round of a failing tool is refused and the
// tool ends failed saying so. No request beyond the quota reaches the LLM.
func TestDailyQuotaStopsGeneration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		w := e.wizard(e.chain(llm.APIOpenAI))
		ctx := t.Context()
		quotaPlan(t, e, "tiny", 1)
		cust := e.customer("tiny")
		e.llm.Enqueue(proposal(countSpec))
		sess, err := w.Create(ctx, cust, nil, "count words")
		if err != nil {
			t.Fatal(err)
		}
		sess = settle(t, w, cust, sess.ID)
		sess, err = w.Accept(ctx, cust, sess.ID, sess.Version, sess.Proposal.Tools)
		if err != nil {
			t.Fatal(err)
		}
		var qe *wizard.QuotaError
		if _, err := w.Generate(ctx, cust, sess.ID, sess.Version, nil); !errors.As(err, &qe) || qe.Plan != "tiny" || qe.Max != 1 ||
			!contains(err.Error(), "tiny plan allows 1") {
			t.Fatalf("generating past the quota: %v", err)
		}
		// A new session today: no proposal either, and it says why.
		next, err := w.Create(ctx, cust, nil, "more")
		if err != nil || next.State != wizard.StateDescribing || !contains(next.Error, "tiny plan") {
			t.Fatalf("a session past the quota: %+v, %v", next, err)
		}

		quotaPlan(t, e, "small", 2)
		other := e.customer("small")
		sess = manualSession(t, e, other, countSpec)
		// Two answers fit the quota; the second repair does not.
		e.llm.Enqueue(code(syntaxErr), code(syntaxErr))
		sess, err = w.Generate(ctx, other, sess.ID, sess.Version, nil)
		if err != nil {
			t.Fatal(err)
		}
		sess = settle(t, w, other, sess.ID)
		c := toolOf(t, sess, "count_words")
		if c.Status != wizard.ToolFailed || !contains(c.Error, "small plan allows 2") || len(c.Attempts) != 2 {
			t.Fatalf("count_words: %+v", c)
		}
		if len(e.llm.Requests()) != 3 {
			t.Fatalf("%d LLM requests; the quota should have stopped the third", len(e.llm.Requests()))
		}
	})
}

// TestNoProviderSkeletonPath: without an LLM the session says how to
// configure one, proposing is refused, and a person goes the whole way by
// hand: their proposal, a compiling skeleton (which never passes on its
// own), their source, the playground, and a deploy.
func TestNoProviderSkeletonPath(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s)
		w := e.wizard(nil)
		cust := e.customer(tier.Free)
		ctx := t.Context()
		sess, err := w.Create(ctx, cust, nil, "count words")
		if err != nil {
			t.Fatal(err)
		}
		if sess.State != wizard.StateDescribing || sess.LLM || !contains(sess.Error, "KILN_LLM_PROVIDERS") {
			t.Fatalf("session without an LLM: %+v", sess)
		}
		if _, err := w.Propose(ctx, cust, sess.ID, sess.Version); !errors.Is(err, wizard.ErrNoLLM) {
			t.Fatalf("proposing without an LLM: %v", err)
		}
		sess, err = w.Accept(ctx, cust, sess.ID, sess.Version, []wizard.Spec{countSpec})
		if err != nil {
			t.Fatal(err)
		}
		var se *wizard.StateError
		if _, err := w.Deploy(ctx, cust, sess.ID, wizard.DeployRequest{Version: sess.Version}); !errors.As(err, &se) {
			t.Fatalf("deploying before anything passed: %v", err)
		}
		if sess, err = w.Generate(ctx, cust, sess.ID, sess.Version, nil); err != nil {
			t.Fatal(err)
		}
		sess = settle(t, w, cust, sess.ID)
		mustState(t, sess, wizard.StateFailed)
		c := toolOf(t, sess, "count_words")
		if c.Origin != wizard.OriginSkeleton || c.Generation != nil || c.ModuleHash == "" || !contains(c.Error, "skeleton") ||
			!strings.Contains(c.Files["main.go"], `kiln.NewTool("count_words"`) {
			t.Fatalf("skeleton: %+v", c)
		}
		sess, err = w.SetSource(ctx, cust, sess.ID, "count_words", sess.Version, map[string]string{"main.go": goodCount})
		if err != nil {
			t.Fatal(err)
		}
		mustState(t, sess, wizard.StateReady)
		res, err := w.RunTool(ctx, cust, sess.ID, "count_words", json.RawMessage(`{"text":"a b"}`))
		if err != nil || res.Outcome != sandbox.OutcomeOK || !strings.Contains(string(res.Output), `"structuredContent":{"words":2}`) {
			t.Fatalf("playground: %+v, %v", res, err)
		}
		// The playground's arguments are checked against the input schema:
		// the person hears what is wrong, and nothing runs.
		var inputErr *wizard.InputError
		if _, err := w.RunTool(ctx, cust, sess.ID, "count_words", json.RawMessage(`{"text":3}`)); !errors.As(err, &inputErr) ||
			!strings.Contains(inputErr.Msg, "text") {
			t.Fatalf("playground with a number for text: %v", err)
		}
		d, err := w.Deploy(ctx, cust, sess.ID, wizard.DeployRequest{Version: sess.Version, ServerName: "by-hand"})
		if err != nil {
			t.Fatal(err)
		}
		callDeployed(t, e, d.Server.ID, "count_words", `{"text":"x"}`, `{"words":1}`)
		if n, _ := e.store.CountWizardGenerations(ctx, cust, time.Now().Add(-time.Hour)); n != 0 {
			t.Errorf("%d generations counted without an LLM", n)
		}
	})
}
