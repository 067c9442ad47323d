package wizard_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/llm"
	"github.com/kilnhq/kiln/pkg/llm/llmtest"
	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/pkg/tier"
	"github.com/kilnhq/kiln/pkg/wizard"
)

// BenchmarkAcceptedToDeployed is Kiln's own time from an accepted proposal
// to deployed tools, with a provider that answers at once: generating (the
// fake's answer), validating, building, loading, the sample calls, and the
// deploy. The Go build cache is warm (one untimed run first); every
// iteration's sources differ, so each tool is really built, not taken
// from the build pool's cache. Reported per tool (s/tool).
//
//	go test ./pkg/wizard -run '^$' -bench AcceptedToDeployed -benchtime 5x
func BenchmarkAcceptedToDeployed(b *testing.B) {
	e := newEnv(b, storetest.SQLite(b))
	w := e.wizard(e.chain(llm.APIOpenAI), func(c *wizard.Config) { c.Parallel = 2 })
	p, _ := tier.Default(tier.Enterprise)
	p.Name, p.LLMGenerationsPerDay = "bench", 1_000_000
	if err := tier.NewCatalog(e.store).SetPlan(b.Context(), p); err != nil {
		b.Fatal(err)
	}
	cust := e.customer("bench")
	var iteration atomic.Int64
	e.llm.Respond(func(r llmtest.Recorded) llmtest.Reply {
		// A comment makes each iteration's source new to the build pool.
		salt := fmt.Sprintf("\n// iteration %d\n", iteration.Load())
		if strings.Contains(string(r.Body), "Name: shout") {
			return code(goodShout + salt)
		}
		return code(goodCount + salt)
	})
	run := func() {
		sess := manualSession(b, e, cust, countSpec, shoutSpec)
		sess, err := w.Generate(b.Context(), cust, sess.ID, sess.Version, nil)
		if err != nil {
			b.Fatal(err)
		}
		sess = settle(b, w, cust, sess.ID)
		if sess.State != wizard.StateReady {
			b.Fatalf("state %s: %+v", sess.State, sess.Tools)
		}
		if _, err := w.Deploy(b.Context(), cust, sess.ID, wizard.DeployRequest{Version: sess.Version, Actor: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
	run() // warm the Go build cache and the sandbox's compile cache
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		iteration.Store(int64(i + 1))
		run()
	}
	b.ReportMetric(time.Since(start).Seconds()/float64(2*b.N), "s/tool")
}
