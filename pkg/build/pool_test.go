package build_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/build"
	"github.com/kilnhq/kiln/sandbox/manifest"
)

// instrumented wraps a pool's compile step with counters: builds started
// and the most that ever ran at once. before, when set, runs at the start
// of every build (inside the pool's slot) with the build's source.
type instrumented struct {
	calls     atomic.Int32
	active    atomic.Int32
	maxActive atomic.Int32
	before    func(ctx context.Context, files map[string][]byte)
}

func newPool(t *testing.T, workers int, in *instrumented) *build.Pool {
	t.Helper()
	p := build.NewPool(build.PoolConfig{Builder: newBuilder(t), Workers: workers})
	build.WrapCompile(p, func(real build.CompileFunc) build.CompileFunc {
		return func(ctx context.Context, files map[string][]byte) ([]byte, error) {
			in.calls.Add(1)
			n := in.active.Add(1)
			defer in.active.Add(-1)
			for {
				m := in.maxActive.Load()
				if n <= m || in.maxActive.CompareAndSwap(m, n) {
					break
				}
			}
			if in.before != nil {
				in.before(ctx, files)
			}
			return real(ctx, files)
		}
	})
	return p
}

// tool returns a valid tool source that differs by label.
func tool(label string) map[string][]byte {
	return map[string][]byte{"main.go": []byte(strings.Replace(goodTool, "Doubles n", "Doubles n "+label, 1))}
}

// waitFor polls cond: the tests synchronise on the pool's state, never on
// sleeps of a guessed length.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !eventually(cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// eventually reports whether cond became true within a generous bound; it
// may run outside the test goroutine.
func eventually(cond func() bool) bool {
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

func TestPoolBuildsOnceAndHashes(t *testing.T) {
	in := &instrumented{}
	p := newPool(t, 2, in)
	ctx := context.Background()
	policy := build.DefaultPolicy()

	art, err := p.Build(ctx, "acme", policy, tool("a"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(art.Wasm)
	if art.Hash != hex.EncodeToString(sum[:]) || len(art.SourceKey) != 64 {
		t.Fatalf("hash %s, source key %q", art.Hash, art.SourceKey)
	}
	if _, found, err := manifest.Extract(art.Wasm); err != nil || !found {
		t.Fatalf("no manifest: %v", err)
	}

	art.Wasm[0] ^= 0xff // callers own their copy
	again, err := p.Build(ctx, "acme", policy, tool("a"))
	if err != nil {
		t.Fatal(err)
	}
	if again.Hash != art.Hash || again.SourceKey != art.SourceKey || again.Wasm[0] == art.Wasm[0] {
		t.Fatalf("the remembered artifact differs")
	}
	if n := in.calls.Load(); n != 1 {
		t.Fatalf("identical source compiled %d times", n)
	}

	other, err := p.Build(ctx, "acme", policy, tool("b"))
	if err != nil {
		t.Fatal(err)
	}
	if other.SourceKey == art.SourceKey || other.Hash == art.Hash || in.calls.Load() != 2 {
		t.Fatalf("different source shared a build (calls %d)", in.calls.Load())
	}
}

func TestPoolValidatesBeforeCompiling(t *testing.T) {
	in := &instrumented{}
	p := newPool(t, 1, in)
	src := strings.Replace(goodTool, `"context"`, "\"context\"\n\t\"os\"", 1)
	_, err := p.Build(context.Background(), "acme", build.DefaultPolicy(), map[string][]byte{"main.go": []byte(src)})
	var verr *build.ValidationError
	if !errors.As(err, &verr) || len(verr.Problems) != 1 || verr.Problems[0].Line != 5 || verr.Problems[0].Code != build.CodeImport {
		t.Fatalf("err = %v", err)
	}
	if in.calls.Load() != 0 {
		t.Fatal("refused source was compiled")
	}

	// A source built for one plan is validated again for the next.
	curated := strings.Replace(goodTool, `"context"`, "\"context\"\n\t\"math/big\"", 1)
	curated = strings.Replace(curated, "func main() {", "var _ big.Int\n\nfunc main() {", 1)
	files := map[string][]byte{"main.go": []byte(curated)}
	if _, err := p.Build(context.Background(), "acme", build.DefaultPolicy(), files); err != nil {
		t.Fatal(err)
	}
	strict := build.Policy{AllowedImports: []string{"context", build.ToolkitImport}}
	if _, err := p.Build(context.Background(), "acme", strict, files); !errors.As(err, &verr) {
		t.Fatalf("a cached build skipped validation: err = %v", err)
	}
}

func TestPoolSharesConcurrentIdenticalBuilds(t *testing.T) {
	const callers = 6
	release := make(chan struct{})
	in := &instrumented{before: func(context.Context, map[string][]byte) { <-release }}
	p := newPool(t, 2, in)

	var wg sync.WaitGroup
	arts := make([]build.Artifact, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() {
			arts[i], errs[i] = p.Build(context.Background(), "acme", build.DefaultPolicy(), tool("shared"))
		})
	}
	// Hold the one build until every caller waits on it.
	waitFor(t, "all callers to join the build", func() bool { return build.Waiters(p) == callers })
	close(release)
	wg.Wait()

	if n := in.calls.Load(); n != 1 {
		t.Fatalf("%d concurrent identical requests compiled %d times", callers, n)
	}
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if arts[i].Hash != arts[0].Hash {
			t.Fatalf("caller %d got a different module", i)
		}
	}
	if build.Waiters(p) != 0 {
		t.Error("the finished build is still registered")
	}
}

func TestPoolBoundsConcurrency(t *testing.T) {
	in := &instrumented{}
	p := newPool(t, 1, in)
	// The first build holds the only slot until the second is queued
	// behind it, so the two are certain to contend.
	var first atomic.Bool
	in.before = func(context.Context, map[string][]byte) {
		if first.CompareAndSwap(false, true) && !eventually(func() bool { return build.Queued(p) == 1 }) {
			t.Error("the second build never queued")
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, label := range []string{"one", "two"} {
		wg.Go(func() { _, errs[i] = p.Build(context.Background(), "acme", build.DefaultPolicy(), tool(label)) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if in.calls.Load() != 2 || in.maxActive.Load() != 1 {
		t.Fatalf("calls %d, at most %d at once; want 2 and 1", in.calls.Load(), in.maxActive.Load())
	}
}

func TestPoolCancelWhileQueued(t *testing.T) {
	release := make(chan struct{})
	in := &instrumented{}
	in.before = func(_ context.Context, files map[string][]byte) {
		if strings.Contains(string(files["main.go"]), "Doubles n holder") {
			<-release
		}
	}
	p := newPool(t, 1, in)

	holder := make(chan error, 1)
	go func() {
		_, err := p.Build(context.Background(), "acme", build.DefaultPolicy(), tool("holder"))
		holder <- err
	}()
	waitFor(t, "the first build to take the slot", func() bool { return in.calls.Load() == 1 })

	ctx, cancel := context.WithCancel(context.Background())
	queued := make(chan error, 1)
	go func() {
		_, err := p.Build(ctx, "acme", build.DefaultPolicy(), tool("queued"))
		queued <- err
	}()
	waitFor(t, "the second build to queue", func() bool { return build.Queued(p) == 1 })
	cancel()
	if err := <-queued; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled while queued: err = %v", err)
	}
	// Its place in line is given up, not kept for a build nobody wants.
	waitFor(t, "the cancelled build to leave the queue", func() bool { return build.Queued(p) == 0 })

	close(release)
	if err := <-holder; err != nil {
		t.Fatal(err)
	}
	if n := in.calls.Load(); n != 1 {
		t.Fatalf("the cancelled build was compiled (calls %d)", n)
	}
	// The same source asked again builds afresh.
	if _, err := p.Build(context.Background(), "acme", build.DefaultPolicy(), tool("queued")); err != nil {
		t.Fatal(err)
	}
	if n := in.calls.Load(); n != 2 {
		t.Fatalf("calls %d, want 2", n)
	}
}

// A build started by a caller that then gives up still finishes for the
// callers that share it.
func TestPoolBuildOutlivesTheCallerThatStartedIt(t *testing.T) {
	release := make(chan struct{})
	var buildCtxErr atomic.Value
	in := &instrumented{}
	in.before = func(ctx context.Context, _ map[string][]byte) {
		<-release
		if ctx.Err() != nil {
			buildCtxErr.Store(ctx.Err())
		}
	}
	p := newPool(t, 1, in)

	ctx, cancel := context.WithCancel(context.Background())
	starter := make(chan error, 1)
	go func() {
		_, err := p.Build(ctx, "acme", build.DefaultPolicy(), tool("outlive"))
		starter <- err
	}()
	waitFor(t, "the build to start", func() bool { return in.calls.Load() == 1 })
	joiner := make(chan error, 1)
	go func() {
		_, err := p.Build(context.Background(), "acme", build.DefaultPolicy(), tool("outlive"))
		joiner <- err
	}()
	waitFor(t, "the second caller to join", func() bool { return build.Waiters(p) == 2 })
	cancel()
	if err := <-starter; !errors.Is(err, context.Canceled) {
		t.Fatalf("starter: err = %v", err)
	}
	close(release)
	if err := <-joiner; err != nil {
		t.Fatalf("joiner: %v", err)
	}
	if err := buildCtxErr.Load(); err != nil {
		t.Fatalf("the build's context ended with its starter: %v", err)
	}
	if in.calls.Load() != 1 {
		t.Fatalf("calls %d", in.calls.Load())
	}
}

// TestPoolSharesWorkersBetweenCustomers floods a two-worker pool with
// customer A's builds, which hang, and shows customer B's build still gets
// a worker: A runs at most its share (one) at a time.
func TestPoolSharesWorkersBetweenCustomers(t *testing.T) {
	release := make(chan struct{})
	in := &instrumented{}
	p := build.NewPool(build.PoolConfig{Builder: newBuilder(t), Workers: 2})
	// A fake compiler: A's builds block until released; B's finish at once.
	build.WrapCompile(p, func(build.CompileFunc) build.CompileFunc {
		return func(ctx context.Context, files map[string][]byte) ([]byte, error) {
			in.calls.Add(1)
			if strings.Contains(string(files["main.go"]), "flood") {
				n := in.active.Add(1)
				defer in.active.Add(-1)
				if m := in.maxActive.Load(); n > m {
					in.maxActive.Store(n) // only A's builds write it, one at a time
				}
				select {
				case <-release:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			return files["main.go"], nil
		}
	})

	const flood = 3
	var wg sync.WaitGroup
	errs := make([]error, flood)
	for i := range flood {
		wg.Go(func() {
			_, errs[i] = p.Build(context.Background(), "a", build.DefaultPolicy(), tool(fmt.Sprint("flood ", i)))
		})
	}
	waitFor(t, "A's builds to take its share and queue", func() bool { return in.calls.Load() == 1 && build.Queued(p) == flood-1 })

	done := make(chan error, 1)
	go func() {
		_, err := p.Build(context.Background(), "b", build.DefaultPolicy(), tool("b"))
		done <- err
	}()
	if !eventually(func() bool { return len(done) == 1 }) {
		t.Fatal("customer B's build is stalled behind customer A's")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if build.Queued(p) != flood-1 {
		t.Errorf("%d builds queued, want A's %d", build.Queued(p), flood-1)
	}

	close(release)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if in.maxActive.Load() != 1 || in.calls.Load() != flood+1 {
		t.Fatalf("A ran up to %d builds at once (calls %d); want 1", in.maxActive.Load(), in.calls.Load())
	}
}

// Callers share a build only with their own customer's callers, so B never
// waits in A's line for the same source; B gets A's finished build from the
// cache.
func TestPoolDoesNotShareQueuedBuildsAcrossCustomers(t *testing.T) {
	release := make(chan struct{})
	in := &instrumented{}
	p := build.NewPool(build.PoolConfig{Builder: newBuilder(t), Workers: 2})
	build.WrapCompile(p, func(build.CompileFunc) build.CompileFunc {
		return func(ctx context.Context, files map[string][]byte) ([]byte, error) {
			if in.calls.Add(1) == 1 {
				<-release // A's first build holds A's share
			}
			return files["main.go"], nil
		}
	})
	holder := make(chan error, 1)
	go func() {
		_, err := p.Build(context.Background(), "a", build.DefaultPolicy(), tool("holder"))
		holder <- err
	}()
	waitFor(t, "A's first build to start", func() bool { return in.calls.Load() == 1 })
	queued := make(chan error, 1)
	go func() {
		_, err := p.Build(context.Background(), "a", build.DefaultPolicy(), tool("common"))
		queued <- err
	}()
	waitFor(t, "A's second build to queue", func() bool { return build.Queued(p) == 1 })

	if _, err := p.Build(context.Background(), "b", build.DefaultPolicy(), tool("common")); err != nil {
		t.Fatal(err)
	}
	close(release)
	for _, c := range []chan error{holder, queued} {
		if err := <-c; err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Build(context.Background(), "c", build.DefaultPolicy(), tool("common")); err != nil || in.calls.Load() != 3 {
		t.Fatalf("err %v, calls %d: want the finished build served from the cache", err, in.calls.Load())
	}
}
