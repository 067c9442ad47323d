package eval_test

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/testmodules"
	"github.com/kilnhq/kiln/pkg/wizard/eval"
	"github.com/kilnhq/kiln/pkg/wizard/eval/evalfake"
)

// shortTasks are run with -short: one network task, one whose first answer
// does not compile, one whose first answer crashes, and a plain one.
var shortTasks = []string{"weather-city", "semver-compare", "text-tools", "prime-factors"}

// TestEvalOverFakeProvider runs the evaluation tasks (a subset with -short)
// through whole sessions against the scripted fake over the OpenAI wire
// format: real validation, builds and sandbox calls. The report's counts
// must add up, per task and in total, and match what the fake scripted:
// every tool built, the broken first answers repaired, the proposal and
// every source answer counted as LLM calls with their tokens.
func TestEvalOverFakeProvider(t *testing.T) {
	tasks, err := eval.Tasks()
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) < 20 {
		t.Fatalf("%d tasks; the harness needs at least 20", len(tasks))
	}
	if testing.Short() {
		tasks = subset(t, tasks, shortTasks)
	}
	descriptions := map[string]string{}
	for _, task := range tasks {
		descriptions[task.Description] = task.ID
	}
	fake := evalfake.New(t, descriptions)
	ctx := context.Background()
	st, err := eval.OpenStack(ctx, eval.StackOptions{
		DataDir: t.TempDir(), GoCache: testmodules.GoCache(t), GoCacheBytes: -1,
		Getenv: envMap{"KILN_LLM_PROVIDERS": "openai:eval-model@" + fake.LLM.OpenAIURL()}.get,
		// The fake's stand-in APIs listen on loopback.
		AllowPrivate: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	cfg := st.Config()
	cfg.TaskTimeout = 10 * time.Minute
	// The person supplies the stock-quote task's API key in the session.
	cfg.Secret = envMap{"ALPHAVANTAGE_KEY": evalfake.SecretValue}.get
	rep, err := eval.Run(ctx, cfg, tasks)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := rep.Print(&out); err != nil {
		t.Fatal(err)
	}
	t.Logf("eval report:\n%s", out.String())
	checkReport(t, rep, len(tasks))
}

type envMap map[string]string

func (m envMap) get(k string) string { return m[k] }

func subset(t *testing.T, all []eval.Task, ids []string) []eval.Task {
	t.Helper()
	var out []eval.Task
	for _, id := range ids {
		for _, task := range all {
			if task.ID == id {
				out = append(out, task)
			}
		}
	}
	if len(out) != len(ids) {
		t.Fatalf("tasks.json lacks some of %v", ids)
	}
	return out
}

// checkReport holds the report to its own arithmetic and to the script.
func checkReport(t *testing.T, rep eval.Report, n int) {
	t.Helper()
	if len(rep.Tasks) != n || rep.Total.TasksRun != n {
		t.Fatalf("%d task results, total says %d, want %d", len(rep.Tasks), rep.Total.TasksRun, n)
	}
	var sum eval.Counts
	repaired := 0
	for _, r := range rep.Tasks {
		c := r.Counts
		if c.Tools == 0 || c.BuiltFirstTry+c.BuiltAfterRepair+c.NeverBuilt != c.Tools || c.Passed > c.BuiltFirstTry+c.BuiltAfterRepair {
			t.Errorf("%s: inconsistent counts %+v", r.ID, c)
		}
		if c.Rounds < c.Tools || c.SamplesPassed > c.Samples || c.Seconds <= 0 {
			t.Errorf("%s: rounds, samples or time out of bounds %+v", r.ID, c)
		}
		// One proposal, then one answer per round: the fake never needs a re-ask.
		if c.LLMCalls != 1+c.Rounds || c.InputTokens <= 0 || c.OutputTokens <= 0 {
			t.Errorf("%s: %d LLM calls for %d rounds, tokens %d/%d", r.ID, c.LLMCalls, c.Rounds, c.InputTokens, c.OutputTokens)
		}
		// The fake's answers all build in the end; those with a broken
		// first answer take a second round.
		if c.NeverBuilt != 0 || r.State != "ready" {
			t.Errorf("%s: ended %s with %d never built: %s", r.ID, r.State, c.NeverBuilt, r.Error)
		}
		if c.Rounds > c.Tools {
			repaired++
		}
		if c.Passed != c.Tools || c.SamplesPassed != c.Samples {
			t.Errorf("%s: %d of %d tools passed, %d of %d samples: %s", r.ID, c.Passed, c.Tools, c.SamplesPassed, c.Samples, r.Error)
		}
		sum.Tools += c.Tools
		sum.Passed += c.Passed
		sum.Rounds += c.Rounds
		sum.LLMCalls += c.LLMCalls
		sum.InputTokens += c.InputTokens
	}
	tot := rep.Total.Counts
	if tot.Tools != sum.Tools || tot.Passed != sum.Passed || tot.Rounds != sum.Rounds || tot.LLMCalls != sum.LLMCalls || tot.InputTokens != sum.InputTokens {
		t.Errorf("total %+v is not the sum of the tasks %+v", tot, sum)
	}
	if repaired < 2 || tot.BuiltAfterRepair < 1 {
		t.Errorf("%d tasks needed a repair and %d tools built after one; the fake scripts broken first answers", repaired, tot.BuiltAfterRepair)
	}
	if !strings.Contains(rep.Tasks[0].Session, "wiz_") {
		t.Errorf("task results name no session: %+v", rep.Tasks[0])
	}
}
