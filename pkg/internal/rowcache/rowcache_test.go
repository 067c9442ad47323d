package rowcache_test

import (
	"context"
	"errors"
	"testing"

	"github.com/kilnhq/kiln/pkg/internal/rowcache"
)

func newCache(t *testing.T, size int) *rowcache.Cache[int] {
	t.Helper()
	c, err := rowcache.New[int](size, -1)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestFillRacingAnInvalidation: a value loaded while a change was announced
// may be the old one, so it answers its caller but is not kept.
func TestFillRacingAnInvalidation(t *testing.T) {
	c := newCache(t, 4)
	ctx := context.Background()
	v, err := c.Get(ctx, "a", func(context.Context) (int, error) {
		c.Forget(func(string, int) bool { return true }) // the change lands mid-read
		return 1, nil
	})
	if err != nil || v != 1 {
		t.Fatalf("Get = %v, %v", v, err)
	}
	if c.Len() != 0 {
		t.Fatal("a row read before an invalidation was kept after it")
	}
	loads := 0
	load := func(context.Context) (int, error) { loads++; return 2, nil }
	for range 2 {
		if v, _ := c.Get(ctx, "a", load); v != 2 {
			t.Fatalf("Get = %d, want 2", v)
		}
	}
	if loads != 1 {
		t.Fatalf("loaded %d times, want once", loads)
	}
}

// TestBoundsErrorsAndForget: the size bound holds, errors are not cached,
// and Forget drops exactly what it matches.
func TestBoundsErrorsAndForget(t *testing.T) {
	c := newCache(t, 2)
	ctx := context.Background()
	for i, k := range []string{"a", "b", "c"} {
		if _, err := c.Get(ctx, k, func(context.Context) (int, error) { return i, nil }); err != nil {
			t.Fatal(err)
		}
	}
	if c.Len() != 2 {
		t.Fatalf("Len = %d over a bound of 2", c.Len())
	}
	boom := errors.New("boom")
	if _, err := c.Get(ctx, "d", func(context.Context) (int, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if c.Len() != 2 {
		t.Fatal("an error was cached")
	}
	c.Update("c", func(v int) int { return v + 10 })
	c.Forget(func(k string, _ int) bool { return k == "b" })
	got, _ := c.Get(ctx, "c", func(context.Context) (int, error) { return -1, nil })
	if c.Len() != 1 || got != 12 {
		t.Fatalf("after Forget(b): Len %d, c = %d; want 1 and 12", c.Len(), got)
	}
	if _, err := rowcache.New[int](0, 0); err == nil {
		t.Fatal("a cache of size 0 was made")
	}
}
