package build_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/build"
)

// TestPoolStatsAndOnBuild: with one worker, a second build queues (queue
// depth 1, one running), and each compile is reported with its outcome;
// a build answered from the cache is not a compile.
func TestPoolStatsAndOnBuild(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var outcomes []string
	p := build.NewPool(build.PoolConfig{Builder: newBuilder(t), Workers: 1, OnBuild: func(d time.Duration, outcome string) {
		mu.Lock()
		defer mu.Unlock()
		outcomes = append(outcomes, outcome)
	}})
	build.WrapCompile(p, func(build.CompileFunc) build.CompileFunc {
		return func(ctx context.Context, files map[string][]byte) ([]byte, error) {
			<-release
			return files["main.go"], nil
		}
	})
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			if _, err := p.Build(context.Background(), "a", build.DefaultPolicy(), tool(fmt.Sprint("stats ", i))); err != nil {
				t.Error(err)
			}
		})
	}
	waitFor(t, "one build running and one queued", func() bool { return p.Stats() == build.PoolStats{Running: 1, Waiting: 1} })
	close(release)
	wg.Wait()
	if _, err := p.Build(context.Background(), "a", build.DefaultPolicy(), tool("stats 0")); err != nil {
		t.Fatal(err)
	}
	if s := p.Stats(); s != (build.PoolStats{}) {
		t.Errorf("idle pool: %+v", s)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(outcomes) != 2 || outcomes[0] != "ok" || outcomes[1] != "ok" {
		t.Errorf("outcomes %v, want two compiles, ok", outcomes)
	}
}

func TestBuildOutcome(t *testing.T) {
	for err, want := range map[error]string{
		nil: "ok", &build.Error{}: "compile_error", fmt.Errorf("x: %w", context.Canceled): "canceled",
		context.DeadlineExceeded: "canceled", errors.New("toolchain missing"): "error",
	} {
		if got := build.BuildOutcome(err); got != want {
			t.Errorf("BuildOutcome(%v) = %q, want %q", err, got, want)
		}
	}
}
