package store_test

import (
	"bytes"
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
		// Redeclaring keeps the value.
		e.Description, e.Hosts = "weather API key", store.StringList{"api.weather.example", "backup.weather.example"}
		if err := s.PutEnvVar(ctx, &e); err != nil {
			t.Fatal(err)
		}
		if !e.HasValue || e.Description != "weather API key" || len(e.Hosts) != 2 {
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
