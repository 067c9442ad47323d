package main

import (
	"testing"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

// TestAdminSetOperator: kiln admin set-operator makes a user, named by its
// email address, an operator account, and --undo makes it an ordinary user
// again; an address nobody has fails with the API's answer.
func TestAdminSetOperator(t *testing.T) {
	s := storetest.SQLite(t)
	c := newCLI(t, apiServer(t, s))
	var cust struct{ ID string }
	c.ok(&cust, "admin", "create-customer", "--name", "Acme", "--tier", "free")
	u := store.User{CustomerID: cust.ID, Email: "ada@example.com", DisplayName: "ada", Role: store.RoleOwner}
	if err := s.CreateUser(t.Context(), &u); err != nil {
		t.Fatal(err)
	}
	var got struct {
		ID       string
		Operator bool
	}
	c.ok(&got, "admin", "set-operator", "ada@example.com")
	if got.ID != u.ID || !got.Operator {
		t.Fatalf("set-operator answered %+v", got)
	}
	if stored, err := s.User(t.Context(), u.ID); err != nil || !stored.Operator {
		t.Fatalf("stored %+v %v, want an operator", stored, err)
	}
	c.ok(&got, "admin", "set-operator", "--undo", u.ID)
	if got.Operator {
		t.Fatalf("set-operator --undo answered %+v", got)
	}
	c.fails(1, "answered 404", "admin", "set-operator", "nobody@example.com")
}
