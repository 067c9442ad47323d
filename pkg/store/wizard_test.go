package store_test

import (
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

func TestWizardSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c, other := customer(t, s), customer(t, s)
		w := store.WizardSession{CustomerID: c.ID, State: "describing", Description: "a weather tool",
			ExpiresAt: time.Now().Add(time.Hour)}
		if err := s.CreateWizardSession(ctx, &w); err != nil {
			t.Fatal(err)
		}
		if w.Version != 1 || string(w.Data) != "{}" {
			t.Fatalf("created %+v", w)
		}
		_, err := s.WizardSession(ctx, other.ID, w.ID)
		wantErr(t, err, store.ErrNotFound)

		// Two tabs hold version 1; the second save conflicts.
		tab1, err := s.WizardSession(ctx, c.ID, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		tab2 := tab1
		srv := newServer(t, s, c.ID, "weather")
		tab1.State, tab1.Data, tab1.ServerID = "proposing", store.JSON(`{"tools":["forecast"]}`), &srv.ID
		if err := s.UpdateWizardSession(ctx, &tab1); err != nil {
			t.Fatal(err)
		}
		tab2.State = "abandoned"
		wantErr(t, s.UpdateWizardSession(ctx, &tab2), store.ErrConflict)
		got, err := s.WizardSession(ctx, c.ID, w.ID)
		if err != nil || got.State != "proposing" || got.Version != 2 || got.ServerID == nil || *got.ServerID != srv.ID {
			t.Fatalf("stored %+v, %v", got, err)
		}
		if list, err := s.ListWizardSessions(ctx, c.ID); err != nil || len(list) != 1 {
			t.Fatalf("list %+v, %v", list, err)
		}

		// Expired sessions are invisible and swept.
		old := store.WizardSession{CustomerID: c.ID, State: "describing", ExpiresAt: time.Now().Add(-time.Minute)}
		if err := s.CreateWizardSession(ctx, &old); err != nil {
			t.Fatal(err)
		}
		_, err = s.WizardSession(ctx, c.ID, old.ID)
		wantErr(t, err, store.ErrNotFound)
		n, err := s.DeleteExpiredWizardSessions(ctx, time.Now())
		if err != nil || n != 1 {
			t.Fatalf("swept %d, %v", n, err)
		}

		wantErr(t, s.DeleteWizardSession(ctx, other.ID, w.ID), store.ErrNotFound)
		if err := s.DeleteWizardSession(ctx, c.ID, w.ID); err != nil {
			t.Fatal(err)
		}
		wantErr(t, s.UpdateWizardSession(ctx, &tab1), store.ErrNotFound)
	})
}
