package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/config"
)

// TestLifecycleSettings: the drain and connection pool settings' defaults,
// the environment, flags over it, and zero values standing in for the
// defaults.
func TestLifecycleSettings(t *testing.T) {
	drain := config.Drain{Delay: 5 * time.Second, Timeout: 20 * time.Second}
	pool := config.DBPool{MaxOpenConns: 20, MaxIdleConns: 10, ConnMaxLifetime: 30 * time.Minute, ConnMaxIdleTime: 5 * time.Minute}
	if c := parse(t, nil); c.Drain != drain || c.DB != pool {
		t.Fatalf("defaults: %+v %+v", c.Drain, c.DB)
	}
	if (config.Drain{}).OrDefaults() != drain || (config.DBPool{}).OrDefaults() != pool {
		t.Fatalf("zero values: %+v %+v", (config.Drain{}).OrDefaults(), (config.DBPool{}).OrDefaults())
	}
	if got := (config.DBPool{MaxOpenConns: 4}).OrDefaults(); got.MaxIdleConns != 4 {
		t.Fatalf("idle connections above the open ones: %+v", got)
	}
	env := map[string]string{"KILN_DRAIN_DELAY": "2s", "KILN_SHUTDOWN_TIMEOUT": "1m", "KILN_DB_MAX_OPEN_CONNS": "50",
		"KILN_DB_MAX_IDLE_CONNS": "5", "KILN_DB_CONN_MAX_LIFETIME": "1h", "KILN_DB_CONN_MAX_IDLE_TIME": "30s", "KILN_DB_SYNC_EXECUTION_LOG": "true"}
	c := parse(t, env, "--drain-delay", "3s", "--db-max-open-conns", "40")
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if want := (config.Drain{Delay: 3 * time.Second, Timeout: time.Minute}); c.Drain != want {
		t.Errorf("drain: %+v", c.Drain)
	}
	if want := (config.DBPool{MaxOpenConns: 40, MaxIdleConns: 5, ConnMaxLifetime: time.Hour, ConnMaxIdleTime: 30 * time.Second, SyncExecutionLog: true}); c.DB != want {
		t.Errorf("pool: %+v", c.DB)
	}
}

func TestLifecycleValidate(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"KILN_DRAIN_DELAY": "5"}, nil, "KILN_DRAIN_DELAY is \"5\"; it must be a duration"},
		{nil, []string{"--shutdown-timeout", "0s"}, "--shutdown-timeout/KILN_SHUTDOWN_TIMEOUT is 0s; it must be positive"},
		{nil, []string{"--db-max-open-conns", "0"}, "--db-max-open-conns/KILN_DB_MAX_OPEN_CONNS is 0"},
		{nil, []string{"--db-max-open-conns", "4", "--db-max-idle-conns", "8"}, "--db-max-idle-conns/KILN_DB_MAX_IDLE_CONNS is 8; it must be from 1 to --db-max-open-conns (4)"},
		{nil, []string{"--db-conn-max-lifetime", "-1s"}, "KILN_DB_CONN_MAX_LIFETIME is -1s"},
		{map[string]string{"KILN_DB_SYNC_EXECUTION_LOG": "sometimes"}, nil, "KILN_DB_SYNC_EXECUTION_LOG is \"sometimes\"; it must be true or false"},
	} {
		err := parse(t, tc.env, tc.args...).Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: %v, want %q", tc.env, tc.args, err, tc.want)
		}
	}
}
