//go:build unix

package store_test

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

// BenchmarkRecordExecutions measures the execution log's write, per row,
// for batches of 1 (a lone call) and 4 (four clients finishing together),
// with rows the size a trivial call writes (no payloads), on SQLite
// (RecordExecutions, and JournalExecutions, whose rows the store moves into
// the table later: "sqlite-journal", CPU counted once they are read back)
// and, when KILN_TEST_DATABASE_URL is set, on PostgreSQL: wall time per row and
// the process's CPU time per row (user and system, every goroutine and the
// garbage collector included), which a loaded machine disturbs less. The
// context has a deadline, as the execution log's writes do (mcphost's
// recordTimeout):
//
//	go test ./pkg/store -run '^$' -bench RecordExecutions -benchtime 3000x
func BenchmarkRecordExecutions(b *testing.B) {
	stores := map[string]func(testing.TB) *store.Store{"sqlite": storetest.SQLite, "sqlite-journal": storetest.SQLite}
	if os.Getenv(storetest.EnvURL) != "" {
		stores["postgres"] = func(b testing.TB) *store.Store { s, _ := storetest.Postgres(b); return s }
	}
	for _, db := range []string{"sqlite", "sqlite-journal", "postgres"} {
		open, ok := stores[db]
		if !ok {
			continue
		}
		for _, n := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/batch=%d", db, n), func(b *testing.B) {
				s := open(b)
				c := storetest.Customer(b, s, "free")
				batch := make([]*store.Execution, n)
				b.ResetTimer()
				cpu := processCPU(b)
				for range b.N {
					for i := range batch {
						batch[i] = &store.Execution{CustomerID: c.ID, ServerID: "srv_bench", ToolName: "echo",
							ModuleHash: store.ModuleHash([]byte("m")), Actor: "key:key_bench", Outcome: "ok",
							FuelUsed: 12345, MemoryPeak: 1 << 20, Duration: 150 * time.Microsecond}
					}
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					write := s.RecordExecutions
					if db == "sqlite-journal" {
						write = s.JournalExecutions
					}
					if err := write(ctx, batch); err != nil {
						b.Fatal(err)
					}
					cancel()
				}
				wall := b.Elapsed()
				if _, err := s.CountExecutionsSince(context.Background(), c.ID, time.Time{}); err != nil {
					b.Fatal(err) // and the journaled rows are in the table
				}
				b.ReportMetric(float64(wall.Microseconds())/float64(b.N*n), "µs/row")
				b.ReportMetric(float64((processCPU(b)-cpu).Microseconds())/float64(b.N*n), "cpu-µs/row")
			})
		}
	}
}

// processCPU is the CPU time the process has used, user and system.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
