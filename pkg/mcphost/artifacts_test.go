package mcphost_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/mcphost"
	"github.com/kilnhq/kiln/pkg/secrets"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/pkg/testmodules"
	"github.com/kilnhq/kiln/sandbox"
)

// node is one node of box's cluster, sharing compiled modules through st.
func node(t *testing.T, st *store.Store, box *secrets.Box) *sandbox.Engine {
	t.Helper()
	return nodeWith(t, st, box, sandbox.Config{CacheDir: t.TempDir()})
}

func nodeWith(t *testing.T, st *store.Store, box *secrets.Box, cfg sandbox.Config) *sandbox.Engine {
	t.Helper()
	e, err := sandbox.NewEngine(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	if err := mcphost.ShareArtifacts(e, st, box, nil); err != nil {
		t.Fatal(err)
	}
	return e
}

// storeKey is key in pkg/store's terms.
func storeKey(key sandbox.ArtifactKey) store.ArtifactKey {
	return store.ArtifactKey{ModuleHash: key.ModuleHash, Instrumenter: key.Instrumenter, WazeroVersion: key.WazeroVersion, Platform: key.Platform, CPU: key.CPU}
}

// loadCompiled loads wasm on e and waits for its compiled form.
func loadCompiled(t *testing.T, e *sandbox.Engine, wasm []byte) *sandbox.Module {
	t.Helper()
	ctx := context.Background()
	m, err := e.Load(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.WaitCompiled(ctx, m); err != nil {
		t.Fatal(err)
	}
	if !e.Native(m) {
		t.Fatalf("not compiled; tier stats %+v", e.TierStats())
	}
	return m
}

func echoOK(t *testing.T, e *sandbox.Engine, m *sandbox.Module) {
	t.Helper()
	res, err := e.Call(context.Background(), m, sandbox.Request{Tool: "echo", Args: []byte(`{"text":"hi"}`), Limits: sandbox.DefaultLimits()})
	if err != nil || res.Outcome != sandbox.OutcomeOK {
		t.Fatalf("echo: %v %v %s", err, res.Outcome, res.Detail)
	}
}

// TestArtifactsSharedBetweenNodes: the first node compiles a module and
// stores the compiled form; a second node on the same store takes it and
// does not run the compiler. Then what goes wrong with a stored artifact
// (corrupt bytes, a truncated file with a matching checksum, another
// wazero's file, another wazero's key) makes a node compile the module
// itself and serve it, never fail.
func TestArtifactsSharedBetweenNodes(t *testing.T) {
	wasm := testmodules.WAT(t, "toolkits/wat/echo.wasm")
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		box := newBox(t)
		first := node(t, st, box)
		m := loadCompiled(t, first, wasm)
		if s := first.TierStats(); s.Compiled != 1 || s.ArtifactsSaved != 1 {
			t.Fatalf("first node: %+v, want one compile and one artifact saved", s)
		}
		second := node(t, st, box)
		echoOK(t, second, loadCompiled(t, second, wasm))
		if s := second.TierStats(); s.Compiled != 0 || s.ArtifactsLoaded != 1 {
			t.Fatalf("second node: %+v, want no compile and one artifact loaded", s)
		}

		key, err := first.ArtifactKey(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		skey := storeKey(key)
		good, err := st.CompiledArtifact(ctx, skey, 0)
		if err != nil || good == nil {
			t.Fatalf("stored artifact: %v %v", good, err)
		}
		sumOf := func(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }
		flipped := bytes.Clone(good.Data)
		flipped[len(flipped)/2] ^= 0xff
		otherVersion := bytes.Replace(bytes.Clone(good.Data), []byte(key.WazeroVersion), []byte(key.WazeroVersion[:len(key.WazeroVersion)-1]+"x"), 1)
		half := good.Data[:len(good.Data)/2]
		for _, bad := range []struct {
			name string
			art  store.CompiledArtifact
		}{
			{"corrupt bytes", store.CompiledArtifact{Name: good.Name, MAC: good.MAC, Data: flipped}},
			{"truncated with its SHA-256 for a MAC", store.CompiledArtifact{Name: good.Name, MAC: sumOf(half), Data: half}},
			{"another wazero's file", store.CompiledArtifact{Name: good.Name, MAC: sumOf(otherVersion), Data: otherVersion}},
			{"a path for a name", store.CompiledArtifact{Name: "../../" + good.Name[6:], MAC: good.MAC, Data: good.Data}},
			{"another name", store.CompiledArtifact{Name: strings.Repeat("0", 64), MAC: good.MAC, Data: good.Data}},
			{"no MAC", store.CompiledArtifact{Name: good.Name, Data: good.Data}},
		} {
			t.Run(bad.name, func(t *testing.T) {
				if err := st.PutCompiledArtifact(ctx, skey, bad.art, 0); err != nil {
					t.Fatal(err)
				}
				n := node(t, st, box)
				echoOK(t, n, loadCompiled(t, n, wasm))
				if s := n.TierStats(); s.ArtifactsRejected != 1 || s.Compiled != 1 || s.ArtifactsLoaded != 0 || s.ArtifactsSaved != 1 {
					t.Fatalf("tier stats %+v, want the artifact rejected, the module compiled and saved", s)
				}
			})
		}

		t.Run("another wazero's key", func(t *testing.T) {
			st2 := storetest.SQLite(t)
			foreign := skey
			foreign.WazeroVersion = "v0.0.9"
			if err := st2.PutCompiledArtifact(ctx, foreign, *good, 0); err != nil {
				t.Fatal(err)
			}
			foreign = skey
			foreign.Platform = "linux/riscv64"
			if err := st2.PutCompiledArtifact(ctx, foreign, *good, 0); err != nil {
				t.Fatal(err)
			}
			n := node(t, st2, box)
			loadCompiled(t, n, wasm)
			if s := n.TierStats(); s.ArtifactsLoaded != 0 || s.Compiled != 1 {
				t.Fatalf("tier stats %+v, want the foreign artifacts ignored and the module compiled", s)
			}
		})
	})
}

// TestArtifactClaimMakesOthersWait: while another node holds the claim to
// compile a module, a node serves it from the interpreter and takes the
// artifact when it is stored, without compiling.
func TestArtifactClaimMakesOthersWait(t *testing.T) {
	wasm := testmodules.WAT(t, "toolkits/wat/echo.wasm")
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		// Another cluster's node makes the artifact the compiling node
		// will store.
		box := newBox(t)
		elsewhere := storetest.SQLite(t)
		maker := node(t, elsewhere, box)
		m := loadCompiled(t, maker, wasm)
		key, err := maker.ArtifactKey(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		skey := storeKey(key)
		art, err := elsewhere.CompiledArtifact(ctx, skey, 0)
		if err != nil || art == nil {
			t.Fatalf("artifact: %v %v", art, err)
		}

		if claimed, err := st.ClaimCompiledArtifact(ctx, skey, time.Hour); err != nil || !claimed {
			t.Fatalf("claim: %v %v", claimed, err)
		}
		waiting := node(t, st, box)
		mw, err := waiting.Load(ctx, wasm)
		if err != nil {
			t.Fatal(err)
		}
		echoOK(t, waiting, mw) // on the interpreter
		if waiting.Native(mw) {
			t.Fatal("compiled although another node holds the claim and stored nothing")
		}
		if err := st.PutCompiledArtifact(ctx, skey, *art, 0); err != nil {
			t.Fatal(err)
		}
		if err := waiting.WaitCompiled(ctx, mw); err != nil {
			t.Fatal(err)
		}
		echoOK(t, waiting, mw)
		if s := waiting.TierStats(); !waiting.Native(mw) || s.Compiled != 0 || s.ArtifactsLoaded != 1 || s.Interpreted != 1 {
			t.Fatalf("tier stats %+v, want the interpreter, then the stored artifact and no compile", s)
		}
	})
}

// withSection is wasm with a custom section appended: another module (its
// own hash and compiled file) that behaves the same.
func withSection(wasm []byte, name string) []byte {
	body := append([]byte{byte(len(name))}, name...)
	return append(append(bytes.Clone(wasm), 0, byte(len(body))), body...)
}

// TestArtifactForgeriesRefused: what someone with write access to the
// database alone can store is refused, and the node compiles the module
// itself and serves it: module B's genuine artifact under module A's key,
// an artifact another cluster (another master key) made for A, and A's
// artifact with a fresh SHA-256 where its MAC goes.
func TestArtifactForgeriesRefused(t *testing.T) {
	a := testmodules.WAT(t, "toolkits/wat/echo.wasm")
	b := withSection(a, "kiln-test-b")
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		box := newBox(t)
		first := node(t, st, box)
		ma, mb := loadCompiled(t, first, a), loadCompiled(t, first, b)
		keyA, err := first.ArtifactKey(ctx, ma)
		if err != nil {
			t.Fatal(err)
		}
		keyB, err := first.ArtifactKey(ctx, mb)
		if err != nil {
			t.Fatal(err)
		}
		artB, err := st.CompiledArtifact(ctx, storeKey(keyB), 0)
		if err != nil || artB == nil {
			t.Fatalf("B's artifact: %v %v", artB, err)
		}
		other := storetest.SQLite(t)
		loadCompiled(t, node(t, other, newBox(t)), a)
		foreignA, err := other.CompiledArtifact(ctx, storeKey(keyA), 0)
		if err != nil || foreignA == nil {
			t.Fatalf("the other cluster's artifact: %v %v", foreignA, err)
		}
		resummed := *foreignA
		h := sha256.Sum256(resummed.Data)
		resummed.MAC = hex.EncodeToString(h[:])
		for name, forged := range map[string]store.CompiledArtifact{
			"module B's artifact under A's key": *artB,
			"another cluster's artifact":        *foreignA,
			"a SHA-256 for a MAC":               resummed,
		} {
			t.Run(name, func(t *testing.T) {
				if err := st.PutCompiledArtifact(ctx, storeKey(keyA), forged, 0); err != nil {
					t.Fatal(err)
				}
				n := node(t, st, box)
				echoOK(t, n, loadCompiled(t, n, a))
				if s := n.TierStats(); s.ArtifactsRejected != 1 || s.ArtifactsLoaded != 0 || s.Compiled != 1 {
					t.Fatalf("tier stats %+v, want the forgery refused and the module compiled here", s)
				}
			})
		}
	})
}

// TestArtifactClaimReleased: a node that compiles a module but stores no
// artifact (here: past the node's bound) releases its claim, so another
// node may claim the module at once instead of waiting out the lease; and
// a stored artifact past a node's bound is not used.
func TestArtifactClaimReleased(t *testing.T) {
	wasm := testmodules.WAT(t, "toolkits/wat/echo.wasm")
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		box := newBox(t)
		small := nodeWith(t, st, box, sandbox.Config{CacheDir: t.TempDir(), MaxArtifactBytes: 16})
		m := loadCompiled(t, small, wasm)
		if s := small.TierStats(); s.Compiled != 1 || s.ArtifactsSaved != 0 {
			t.Fatalf("tier stats %+v, want a compile and nothing stored", s)
		}
		key, err := small.ArtifactKey(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if claimed, err := st.ClaimCompiledArtifact(ctx, storeKey(key), time.Hour); err != nil || !claimed {
			t.Fatalf("claim after the compile: %v %v; want the first node's claim released", claimed, err)
		}
		if err := st.ReleaseCompiledArtifact(ctx, storeKey(key)); err != nil {
			t.Fatal(err)
		}
		loadCompiled(t, node(t, st, box), wasm) // stores the artifact
		again := nodeWith(t, st, box, sandbox.Config{CacheDir: t.TempDir(), MaxArtifactBytes: 16})
		echoOK(t, again, loadCompiled(t, again, wasm))
		if s := again.TierStats(); s.ArtifactsLoaded != 0 || s.ArtifactErrors != 1 || s.Compiled != 1 {
			t.Fatalf("tier stats %+v, want the oversized artifact left unread and the module compiled here", s)
		}
	})
}
