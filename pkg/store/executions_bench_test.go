package store_test

import (
	"testing"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

// BenchmarkRecordExecution compares, in one run, writing one execution
// row as RecordExecutions does for a call that is alone in its batch (one
// INSERT in autocommit) with the same INSERT between a BEGIN and a COMMIT
// (what it did before; InTx gives that path):
//
//	go test ./pkg/store -run '^$' -bench RecordExecution
func BenchmarkRecordExecution(b *testing.B) {
	each := map[string]func(testing.TB) *store.Store{"sqlite": storetest.SQLite}
	if pg, ok := storetest.Postgres(b); ok {
		each["postgres"] = func(testing.TB) *store.Store { return pg }
	}
	for name, open := range each {
		s := open(b)
		c := customer(b, s)
		row := func() *store.Execution {
			return &store.Execution{CustomerID: c.ID, ServerID: "srv_bench", ToolName: "echo",
				ModuleHash: store.ModuleHash([]byte("m")), Actor: "key:key_1", Outcome: "ok"}
		}
		b.Run(name+"/autocommit", func(b *testing.B) {
			for b.Loop() {
				if err := s.RecordExecutions(b.Context(), []*store.Execution{row()}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/transaction", func(b *testing.B) {
			for b.Loop() {
				err := s.InTx(b.Context(), func(tx *store.Store) error {
					return tx.RecordExecutions(b.Context(), []*store.Execution{row()})
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
