package store_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
)

// TestCompiledArtifacts: one claim at a time until it expires or the
// artifact is stored; artifacts replace each other under one key; the
// oldest go when the table passes its bound; keys differing in any part
// (another wazero, platform or CPU) do not see each other's artifacts.
func TestCompiledArtifacts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		clock := storetest.NewClock(time.Date(2026, 12, 6, 1, 0, 0, 0, time.UTC))
		s = s.WithClock(clock.Now)
		key := store.ArtifactKey{ModuleHash: strings.Repeat("a", 64), Instrumenter: "fuel-v9", WazeroVersion: "v1.12.0", Platform: "linux/amd64", CPU: strings.Repeat("c", 64)}
		claim := func(k store.ArtifactKey, want bool) {
			t.Helper()
			got, err := s.ClaimCompiledArtifact(ctx, k, time.Minute)
			if err != nil || got != want {
				t.Fatalf("claim = %v, %v; want %v", got, err, want)
			}
		}
		if a, err := s.CompiledArtifact(ctx, key, 0); err != nil || a != nil {
			t.Fatalf("before anything: %v, %v", a, err)
		}
		claim(key, true)
		claim(key, false) // another node's claim is live
		if a, err := s.CompiledArtifact(ctx, key, 0); err != nil || a != nil {
			t.Fatalf("a claim is not an artifact: %v, %v", a, err)
		}
		clock.Add(2 * time.Minute)
		claim(key, true) // the claim expired: its node died
		if err := s.ReleaseCompiledArtifact(ctx, key); err != nil {
			t.Fatal(err)
		}
		claim(key, true) // released: claimable at once, before the lease ends
		art := store.CompiledArtifact{Name: strings.Repeat("e", 64), MAC: "mac", Data: []byte("compiled")}
		if err := s.PutCompiledArtifact(ctx, key, art, 0); err != nil {
			t.Fatal(err)
		}
		claim(key, false) // stored: nothing to compile
		if err := s.ReleaseCompiledArtifact(ctx, key); err != nil {
			t.Fatal(err)
		}
		claim(key, false) // releasing a claim keeps a stored artifact
		if big, err := s.CompiledArtifact(ctx, key, int64(len(art.Data)-1)); err != nil || big == nil || big.Data != nil || big.Size != int64(len(art.Data)) {
			t.Fatalf("past the bound: %+v, %v; want its size and no data", big, err)
		}
		got, err := s.CompiledArtifact(ctx, key, 0)
		if err != nil || got == nil || got.Name != art.Name || got.MAC != art.MAC || !bytes.Equal(got.Data, art.Data) {
			t.Fatalf("stored %+v, %v", got, err)
		}
		for _, other := range []func(k *store.ArtifactKey){
			func(k *store.ArtifactKey) { k.WazeroVersion = "v1.11.0" },
			func(k *store.ArtifactKey) { k.Platform = "linux/arm64" },
			func(k *store.ArtifactKey) { k.CPU = strings.Repeat("d", 64) },
			func(k *store.ArtifactKey) { k.Instrumenter = "fuel-v8" },
		} {
			k := key
			other(&k)
			if a, err := s.CompiledArtifact(ctx, k, 0); err != nil || a != nil {
				t.Fatalf("key %+v sees %v, %v", k, a, err)
			}
		}
		// A bound of 10 bytes keeps only the newest 8-byte artifact.
		clock.Add(time.Second)
		newer := key
		newer.ModuleHash = strings.Repeat("b", 64)
		if err := s.PutCompiledArtifact(ctx, newer, art, 10); err != nil {
			t.Fatal(err)
		}
		if a, err := s.CompiledArtifact(ctx, key, 0); err != nil || a != nil {
			t.Fatalf("the oldest artifact stayed past the bound: %v, %v", a, err)
		}
		if a, err := s.CompiledArtifact(ctx, newer, 0); err != nil || a == nil {
			t.Fatalf("the newest artifact is gone: %v, %v", a, err)
		}
	})
}
