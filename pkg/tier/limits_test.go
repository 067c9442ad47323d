package tier

import (
	"errors"
	"strings"
	"testing"
)

func wantLimit(t *testing.T, err error, p Plan, l Limit, max, value int64) {
	t.Helper()
	var le *LimitError
	if !errors.As(err, &le) {
		t.Fatalf("%s: got %v, want a *LimitError", l, err)
	}
	if le.Plan != p.Name || le.Limit != l || le.Max != max || le.Value != value {
		t.Fatalf("got %+v, want plan %s limit %s max %d value %d", *le, p.Name, l, max, value)
	}
	if !strings.HasPrefix(le.Error(), "tier: ") || !strings.Contains(le.Error(), p.Name) {
		t.Fatalf("message %q", le.Error())
	}
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestCountLimits crosses each count limit of each default plan: the last
// item that fits passes, the next one fails with the plan's numbers.
func TestCountLimits(t *testing.T) {
	for _, p := range Defaults() {
		t.Run(p.Name, func(t *testing.T) {
			for _, c := range []struct {
				limit Limit
				max   int
				check func(Plan, int) error
			}{
				{LimitServers, p.ServersPerCustomer, CheckServers},
				{LimitTools, p.ToolsPerServer, CheckTools},
			} {
				ok(t, c.check(p, 0))
				ok(t, c.check(p, c.max-1))
				wantLimit(t, c.check(p, c.max), p, c.limit, int64(c.max), int64(c.max)+1)
				wantLimit(t, c.check(p, c.max+10), p, c.limit, int64(c.max), int64(c.max)+11)
			}
		})
	}
}

func TestLibraryLimit(t *testing.T) {
	free, _ := Default(Free)
	pro, _ := Default(Pro)
	enterprise, _ := Default(Enterprise)
	wantLimit(t, CheckLibrary(free, pro), free, LimitLibrary, 0, 1)
	wantLimit(t, CheckLibrary(pro, enterprise), pro, LimitLibrary, 1, 2)
	ok(t, CheckLibrary(free, free))
	ok(t, CheckLibrary(pro, pro))
	ok(t, CheckLibrary(pro, free))
	ok(t, CheckLibrary(enterprise, pro))
}
