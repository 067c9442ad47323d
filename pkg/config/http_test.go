package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/config"
)

// TestHTTPLimits: defaults, the environment, flags over the environment,
// and zero values standing in for the defaults.
func TestHTTPLimits(t *testing.T) {
	want := config.HTTPLimits{ReadTimeout: time.Minute, WriteTimeout: 30 * time.Second, IdleTimeout: 90 * time.Second,
		MaxConns: 4096, MaxConnsPerAddr: 64}
	if c := parse(t, nil); c.HTTP != want || c.MemoryLimitPercent != 75 {
		t.Fatalf("defaults: %+v %d%%", c.HTTP, c.MemoryLimitPercent)
	}
	if got := (config.HTTPLimits{}).OrDefaults(); got != want {
		t.Fatalf("zero value: %+v", got)
	}
	env := map[string]string{"KILN_READ_TIMEOUT": "5s", "KILN_WRITE_TIMEOUT": "6s", "KILN_IDLE_TIMEOUT": "7s",
		"KILN_MAX_CONNS": "100", "KILN_MAX_CONNS_PER_ADDR": "8", "KILN_MEMORY_LIMIT_PERCENT": "0"}
	c := parse(t, env, "--idle-timeout", "2m", "--max-conns-per-addr", "9")
	want = config.HTTPLimits{ReadTimeout: 5 * time.Second, WriteTimeout: 6 * time.Second, IdleTimeout: 2 * time.Minute,
		MaxConns: 100, MaxConnsPerAddr: 9}
	if err := c.Validate(); err != nil || c.HTTP != want || c.MemoryLimitPercent != 0 {
		t.Fatalf("set: %+v %d%% %v", c.HTTP, c.MemoryLimitPercent, err)
	}
}

func TestHTTPLimitsValidate(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"KILN_READ_TIMEOUT": "60"}, nil, "KILN_READ_TIMEOUT is \"60\"; it must be a duration"},
		{nil, []string{"--write-timeout", "0s"}, "--write-timeout/KILN_WRITE_TIMEOUT is 0s; it must be positive"},
		{nil, []string{"--idle-timeout", "-1s"}, "KILN_IDLE_TIMEOUT is -1s"},
		{map[string]string{"KILN_MAX_CONNS": "lots"}, nil, "KILN_MAX_CONNS is \"lots\""},
		{nil, []string{"--max-conns", "0"}, "--max-conns/KILN_MAX_CONNS is 0; it must be at least 1"},
		{nil, []string{"--max-conns-per-addr", "0"}, "KILN_MAX_CONNS_PER_ADDR is 0"},
		{nil, []string{"--memory-limit-percent", "101"}, "it must be from 0 to 100"},
		{nil, []string{"--memory-limit-percent", "-1"}, "KILN_MEMORY_LIMIT_PERCENT is -1"},
	} {
		err := parse(t, tc.env, tc.args...).Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: got %v, want %q", tc.env, tc.args, err, tc.want)
		}
	}
}
