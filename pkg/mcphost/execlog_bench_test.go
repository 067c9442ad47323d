package mcphost

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

// BenchmarkExecLog measures a call's wait for its execution row (execLog.add
// until the commit), sequential and from 4 goroutines at once, with a
// writer that does nothing (the handoff alone) and with SQLite, and how
// many rows a batch holds on average:
//
//	go test ./pkg/mcphost -run '^$' -bench ExecLog -benchtime 5000x
func BenchmarkExecLog(b *testing.B) {
	for _, db := range []string{"none", "sqlite"} {
		for _, clients := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/clients=%d", db, clients), func(b *testing.B) {
				write := func(context.Context, []*store.Execution) error { return nil }
				customer := "cus_bench"
				if db == "sqlite" {
					s := storetest.SQLite(b)
					customer = storetest.Customer(b, s, "free").ID
					write = s.RecordExecutions
				}
				var batches atomic.Int64
				counted := func(ctx context.Context, es []*store.Execution) error {
					batches.Add(1)
					return write(ctx, es)
				}
				l := newExecLog(counted, func(_ *store.Execution, err error) { b.Error(err) })
				b.ResetTimer()
				var wg sync.WaitGroup
				for c := range clients {
					wg.Go(func() {
						for i := c; i < b.N; i += clients {
							l.add(execRow(customer, "ok"))
						}
					})
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/float64(batches.Load()), "rows/batch")
			})
		}
	}
}
