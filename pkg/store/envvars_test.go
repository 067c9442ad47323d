package store_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

func TestEnvVars(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c := customer(t, s)
		srv := newServer(t, s, c.ID, "weather")

		// No value for an undeclared name.
		wantErr(t, s.SetEnvValue(ctx, srv.ID, "API_KEY", []byte("sealed")), store.ErrNotFound)

		e := store.EnvVar{ServerID: srv.ID, Name: "API_KEY", Secret: true, Required: true, Hosts: store.StringList{"api.weather.example"}}
		if err := s.PutEnvVar(ctx, &e); err != nil {
			t.Fatal(err)
		}
		if e.HasValue || e.CreatedAt.IsZero() {
			t.Fatalf("declared %+v", e)
		}
		if err := s.SetEnvValue(ctx, srv.ID, "API_KEY", []byte("sealed-1")); err != nil {
			t.Fatal(err)
		}
		if err := s.SetEnvValue(ctx, srv.ID, "API_KEY", []byte("sealed-2")); err != nil {
			t.Fatal(err)
		}
		got, err := s.EnvValue(ctx, srv.ID, "API_KEY")
		if err != nil || !bytes.Equal(got, []byte("sealed-2")) {
			t.Fatalf("value %q, %v", got, err)
		}
		// Redeclaring with the same secrecy and hosts keeps the value.
		e.Description, e.Required = "weather API key", false
		if err := s.PutEnvVar(ctx, &e); err != nil {
			t.Fatal(err)
		}
		if !e.HasValue || e.Description != "weather API key" || e.Required || len(e.Hosts) != 1 {
			t.Fatalf("redeclared %+v", e)
		}
		units := store.EnvVar{ServerID: srv.ID, Name: "UNITS"}
		if err := s.PutEnvVar(ctx, &units); err != nil {
			t.Fatal(err)
		}
		list, err := s.ListEnvVars(ctx, srv.ID)
		if err != nil || len(list) != 2 || list[0].Name != "API_KEY" || !list[0].HasValue || list[1].HasValue {
			t.Fatalf("list %+v, %v", list, err)
		}
		values, err := s.EnvValues(ctx, srv.ID)
		if err != nil || len(values) != 1 || string(values["API_KEY"]) != "sealed-2" {
			t.Fatalf("values %q, %v", values, err)
		}

		if err := s.DeleteEnvValue(ctx, srv.ID, "API_KEY"); err != nil {
			t.Fatal(err)
		}
		_, err = s.EnvValue(ctx, srv.ID, "API_KEY")
		wantErr(t, err, store.ErrNotFound)
		if err := s.SetEnvValue(ctx, srv.ID, "API_KEY", []byte("sealed-3")); err != nil {
			t.Fatal(err)
		}
		// Deleting the declaration deletes the value.
		if err := s.DeleteEnvVar(ctx, srv.ID, "API_KEY"); err != nil {
			t.Fatal(err)
		}
		_, err = s.EnvValue(ctx, srv.ID, "API_KEY")
		wantErr(t, err, store.ErrNotFound)
		wantErr(t, s.DeleteEnvVar(ctx, srv.ID, "API_KEY"), store.ErrNotFound)
	})
}

// TestRedeclaringClearsValue: a change of an env var's secrecy, or of a
// secret's hosts, deletes its stored value in the declaration's own
// transaction; other changes keep it.
func TestRedeclaringClearsValue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		srv := newServer(t, s, customer(t, s).ID, "weather")
		declare := func(secret bool, hosts ...string) store.EnvVarChange {
			t.Helper()
			e := store.EnvVar{ServerID: srv.ID, Name: "TOKEN", Secret: secret, Hosts: hosts}
			change, err := s.DeclareEnvVar(ctx, &e)
			if err != nil {
				t.Fatal(err)
			}
			if e.HasValue == change.ValueCleared && change.Before != nil && change.Before.HasValue {
				t.Fatalf("has_value %v after a change that cleared: %v", e.HasValue, change.ValueCleared)
			}
			return change
		}
		setValue := func() {
			t.Helper()
			if err := s.SetEnvValue(ctx, srv.ID, "TOKEN", []byte("sealed")); err != nil {
				t.Fatal(err)
			}
		}
		if c := declare(true, "a.example"); c.Before != nil || c.ValueCleared {
			t.Fatalf("a new declaration: %+v", c)
		}
		for _, tc := range []struct {
			name   string
			secret bool
			hosts  []string
			clears bool
		}{
			{"same hosts, reordered and repeated", true, []string{"a.example", "a.example"}, false},
			{"a secret's hosts grow", true, []string{"a.example", "b.example"}, true},
			{"a secret's hosts change", true, []string{"c.example"}, true},
			{"a secret becomes plain", false, []string{"c.example"}, true},
			{"a plain var's hosts change", false, []string{"d.example"}, false},
			{"a plain var becomes secret", true, []string{"d.example"}, true},
		} {
			setValue()
			c := declare(tc.secret, tc.hosts...)
			if c.ValueCleared != tc.clears || c.Before == nil || !c.Before.HasValue {
				t.Fatalf("%s: change %+v, want cleared %v", tc.name, c, tc.clears)
			}
			if _, err := s.EnvValue(ctx, srv.ID, "TOKEN"); (err == nil) == tc.clears {
				t.Fatalf("%s: value after: %v", tc.name, err)
			}
		}

		// The clearing is part of the declaration's transaction: rolled
		// back with it, the value and the old hosts stay.
		setValue()
		abort := errors.New("abort")
		err := s.InTx(ctx, func(tx *store.Store) error {
			e := store.EnvVar{ServerID: srv.ID, Name: "TOKEN", Secret: true, Hosts: store.StringList{"evil.example"}}
			if c, err := tx.DeclareEnvVar(ctx, &e); err != nil || !c.ValueCleared {
				t.Fatalf("in the transaction: %+v, %v", c, err)
			}
			return abort
		})
		wantErr(t, err, abort)
		e, err := s.EnvVar(ctx, srv.ID, "TOKEN")
		if err != nil || !e.HasValue || e.Hosts[0] != "d.example" {
			t.Fatalf("after the rollback: %+v, %v", e, err)
		}
	})
}
