package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

var errBoom = errors.New("boom")

// auditCount counts the audit entries of one action.
func auditCount(t *testing.T, s *store.Store, action string) int {
	t.Helper()
	all, err := s.ListAudit(t.Context(), store.AuditFilter{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return len(all)
}

func TestInTxRollsBackChangeAndAudit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		var cust store.Customer
		err := s.InTx(ctx, func(tx *store.Store) error {
			cust = store.Customer{Name: "rolled back", Tier: "free"}
			if err := tx.CreateCustomer(ctx, &cust); err != nil {
				return err
			}
			if err := tx.RecordAudit(ctx, &store.AuditEntry{Actor: "operator", CustomerID: &cust.ID, Action: "customer.create", Target: cust.ID}); err != nil {
				return err
			}
			// The transaction sees its own writes; the database outside
			// does not, yet.
			if _, err := tx.Customer(ctx, cust.ID); err != nil {
				t.Errorf("inside the transaction: %v", err)
			}
			if _, err := s.Customer(ctx, cust.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("outside the transaction before commit: %v, want ErrNotFound", err)
			}
			return errBoom
		})
		if err != errBoom {
			t.Fatalf("InTx returned %v, want fn's error as is", err)
		}
		if _, err := s.Customer(ctx, cust.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the customer outlived the rollback: %v", err)
		}
		if n := auditCount(t, s, "customer.create"); n != 0 {
			t.Fatalf("%d audit entries outlived the rollback", n)
		}

		// The same with nil: both are stored.
		err = s.InTx(ctx, func(tx *store.Store) error {
			cust = store.Customer{Name: "committed", Tier: "free"}
			if err := tx.CreateCustomer(ctx, &cust); err != nil {
				return err
			}
			return tx.RecordAudit(ctx, &store.AuditEntry{Actor: "operator", CustomerID: &cust.ID, Action: "customer.create", Target: cust.ID})
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Customer(ctx, cust.ID); err != nil {
			t.Fatal(err)
		}
		if n := auditCount(t, s, "customer.create"); n != 1 {
			t.Fatalf("%d audit entries after commit, want 1", n)
		}
	})
}

// Methods that use a transaction of their own (CreateServer, CreateTool)
// and InTx itself run inside the caller's transaction when called on a
// transaction's store: the outermost InTx decides.
func TestInTxNested(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c := customer(t, s)
		m := newModule(t, s, "nested")
		attempt := func(fail error) (store.Server, store.Tool, error) {
			var (
				srv  store.Server
				tool store.Tool
			)
			err := s.InTx(ctx, func(tx *store.Store) error {
				srv = store.Server{CustomerID: c.ID, Name: "nested"}
				if err := tx.CreateServer(ctx, &srv, unlimited); err != nil {
					return err
				}
				err := tx.InTx(ctx, func(inner *store.Store) error {
					code := "package main"
					tool = store.Tool{ServerID: srv.ID, Name: "echo"}
					v := store.ToolVersion{ModuleHash: m.Hash, ModuleTool: "echo", Source: store.SourceGo, SourceCode: &code, CreatedBy: "user:test"}
					if err := inner.CreateTool(ctx, &tool, &v, unlimited); err != nil {
						return err
					}
					return inner.RecordAudit(ctx, &store.AuditEntry{Actor: "user:test", CustomerID: &c.ID, Action: "tool.create", Target: tool.ID})
				})
				if err != nil {
					return err
				}
				// The inner InTx did not commit: this rolls it back too.
				return fail
			})
			return srv, tool, err
		}

		srv, tool, err := attempt(errBoom)
		if !errors.Is(err, errBoom) {
			t.Fatalf("InTx returned %v, want errBoom", err)
		}
		if _, err := s.Server(ctx, c.ID, srv.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the server outlived the rollback: %v", err)
		}
		if _, err := s.Tool(ctx, srv.ID, tool.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the tool outlived the rollback: %v", err)
		}
		if n := auditCount(t, s, "tool.create"); n != 0 {
			t.Fatalf("%d audit entries outlived the rollback", n)
		}

		srv, tool, err = attempt(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Server(ctx, c.ID, srv.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Tool(ctx, srv.ID, tool.ID); err != nil {
			t.Fatal(err)
		}
		if n := auditCount(t, s, "tool.create"); n != 1 {
			t.Fatalf("%d audit entries after commit, want 1", n)
		}
	})
}

// A failing store call inside fn ends the transaction like any error, and
// a panic rolls it back before going on: the database is not left locked.
func TestInTxStoreErrorAndPanic(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c := customer(t, s)
		taken := newServer(t, s, c.ID, "taken")
		var first store.Server
		err := s.InTx(ctx, func(tx *store.Store) error {
			first = store.Server{CustomerID: c.ID, Name: "first"}
			if err := tx.CreateServer(ctx, &first, unlimited); err != nil {
				return err
			}
			dup := store.Server{CustomerID: c.ID, Name: taken.Name}
			return tx.CreateServer(ctx, &dup, unlimited)
		})
		wantErr(t, err, store.ErrConflict)
		if _, err := s.Server(ctx, c.ID, first.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the first server outlived the rollback: %v", err)
		}

		func() {
			defer func() {
				if p := recover(); p != errBoom {
					t.Fatalf("recovered %v, want the panic to go on", p)
				}
			}()
			_ = s.InTx(ctx, func(tx *store.Store) error {
				srv := store.Server{CustomerID: c.ID, Name: "panicked"}
				if err := tx.CreateServer(ctx, &srv, unlimited); err != nil {
					t.Error(err)
				}
				panic(errBoom)
			})
		}()
		// A write through the pool would wait for the busy timeout on
		// SQLite if the transaction were still open.
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		after := store.Server{CustomerID: c.ID, Name: "panicked"}
		if err := s.CreateServer(ctx, &after, unlimited); err != nil {
			t.Fatalf("after the panic: %v", err)
		}
	})
}

func TestTxStoreRefusesPoolOperations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		err := s.InTx(ctx, func(tx *store.Store) error {
			if err := tx.Close(); err == nil {
				t.Error("Close on a transaction's store succeeded")
			}
			if err := tx.Migrate(ctx); err == nil {
				t.Error("Migrate on a transaction's store succeeded")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("the store was closed: %v", err)
		}
	})
}
