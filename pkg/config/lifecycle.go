package config

import (
	"flag"
	"fmt"
	"time"
)

// Drain is how `kiln serve` stops on SIGTERM or SIGINT without failing the
// work it holds: first /readyz answers 503 while everything is still
// served, for Delay, so that load balancers (which poll readiness every few
// seconds) stop sending new work here; then the listener closes and the
// requests in flight (tool calls, builds) get Timeout to finish; then the
// execution log is written and the process exits.
type Drain struct {
	// Delay is how long the node keeps serving, unready, before it stops
	// accepting connections (--drain-delay, KILN_DRAIN_DELAY).
	Delay time.Duration
	// Timeout bounds the wait for requests in flight once the listener is
	// closed (--shutdown-timeout, KILN_SHUTDOWN_TIMEOUT); past it they are
	// cut off and serve exits non-zero.
	Timeout time.Duration
}

// Defaults of Drain, which also stand in for zero values. Together they
// stay under the 30 seconds Kubernetes waits after SIGTERM before SIGKILL.
const (
	// DefaultDrainDelay covers a load balancer polling readiness every 2
	// seconds and marking a backend down after two failures.
	DefaultDrainDelay = 5 * time.Second
	// DefaultShutdownTimeout is longer than the pro plan's 10 second tool
	// calls; builds run up to minutes and are resumed elsewhere if cut off
	// (the wizard's leased work) or retried by their client.
	DefaultShutdownTimeout = 20 * time.Second
)

// OrDefaults fills zero values with the defaults.
func (d Drain) OrDefaults() Drain {
	if d.Delay == 0 {
		d.Delay = DefaultDrainDelay
	}
	if d.Timeout == 0 {
		d.Timeout = DefaultShutdownTimeout
	}
	return d
}

// DBPool bounds the database connection pool of one node. With several
// nodes on one PostgreSQL, MaxOpenConns times the number of nodes (plus one
// notification connection each) must stay below the server's
// max_connections (100 by default).
type DBPool struct {
	// MaxOpenConns bounds the connections open at once; a query beyond it
	// waits for one (--db-max-open-conns, KILN_DB_MAX_OPEN_CONNS).
	MaxOpenConns int
	// MaxIdleConns bounds the connections kept open while unused
	// (--db-max-idle-conns, KILN_DB_MAX_IDLE_CONNS).
	MaxIdleConns int
	// ConnMaxLifetime closes a connection this long after it was opened,
	// so that connections move to a database restarted or failed over
	// behind the same name (--db-conn-max-lifetime, KILN_DB_CONN_MAX_LIFETIME).
	ConnMaxLifetime time.Duration
	// ConnMaxIdleTime closes a connection unused for this long
	// (--db-conn-max-idle-time, KILN_DB_CONN_MAX_IDLE_TIME).
	ConnMaxIdleTime time.Duration
	// SyncExecutionLog makes a tool call on PostgreSQL wait until its
	// execution row is flushed to disk (and to synchronous standbys), not
	// only committed (--db-sync-execution-log, KILN_DB_SYNC_EXECUTION_LOG;
	// store.Store.SyncExecutions).
	SyncExecutionLog bool
}

// Defaults of DBPool, which also stand in for zero values.
const (
	// DefaultDBMaxOpenConns: four nodes stay under PostgreSQL's default
	// of 100 connections with room for migrations and an operator's psql.
	DefaultDBMaxOpenConns    = 20
	DefaultDBMaxIdleConns    = 10
	DefaultDBConnMaxLifetime = 30 * time.Minute
	DefaultDBConnMaxIdleTime = 5 * time.Minute
)

// OrDefaults fills zero values with the defaults.
func (p DBPool) OrDefaults() DBPool {
	if p.MaxOpenConns == 0 {
		p.MaxOpenConns = DefaultDBMaxOpenConns
	}
	if p.MaxIdleConns == 0 {
		p.MaxIdleConns = min(DefaultDBMaxIdleConns, p.MaxOpenConns)
	}
	if p.ConnMaxLifetime == 0 {
		p.ConnMaxLifetime = DefaultDBConnMaxLifetime
	}
	if p.ConnMaxIdleTime == 0 {
		p.ConnMaxIdleTime = DefaultDBConnMaxIdleTime
	}
	return p
}

// registerLifecycle adds the drain and connection pool settings to fs.
func (c *Config) registerLifecycle(fs *flag.FlagSet, getenv Getenv) {
	fs.DurationVar(&c.Drain.Delay, "drain-delay", c.envDuration(getenv, "KILN_DRAIN_DELAY", DefaultDrainDelay),
		"after SIGTERM, how long /readyz answers 503 while requests are still served, before the listener closes;\na second signal ends the process at once (env KILN_DRAIN_DELAY)")
	fs.DurationVar(&c.Drain.Timeout, "shutdown-timeout", c.envDuration(getenv, "KILN_SHUTDOWN_TIMEOUT", DefaultShutdownTimeout),
		"after the listener closed, how long requests in flight (tool calls, builds) may take to finish (env KILN_SHUTDOWN_TIMEOUT)")
	p := &c.DB
	fs.IntVar(&p.MaxOpenConns, "db-max-open-conns", c.envInt(getenv, "KILN_DB_MAX_OPEN_CONNS", DefaultDBMaxOpenConns),
		"most database connections open at once (env KILN_DB_MAX_OPEN_CONNS)")
	fs.IntVar(&p.MaxIdleConns, "db-max-idle-conns", c.envInt(getenv, "KILN_DB_MAX_IDLE_CONNS", DefaultDBMaxIdleConns),
		"most unused database connections kept open (env KILN_DB_MAX_IDLE_CONNS)")
	fs.DurationVar(&p.ConnMaxLifetime, "db-conn-max-lifetime", c.envDuration(getenv, "KILN_DB_CONN_MAX_LIFETIME", DefaultDBConnMaxLifetime),
		"a database connection is closed this long after it was opened (env KILN_DB_CONN_MAX_LIFETIME)")
	fs.DurationVar(&p.ConnMaxIdleTime, "db-conn-max-idle-time", c.envDuration(getenv, "KILN_DB_CONN_MAX_IDLE_TIME", DefaultDBConnMaxIdleTime),
		"an unused database connection is closed after this long (env KILN_DB_CONN_MAX_IDLE_TIME)")
	fs.BoolVar(&p.SyncExecutionLog, "db-sync-execution-log", c.envBool(getenv, "KILN_DB_SYNC_EXECUTION_LOG", false),
		"on PostgreSQL, answer a tool call only once its execution row is flushed to disk and to synchronous standbys;\n"+
			"off, the row is committed asynchronously and a database crash or failover can lose the last moments' rows\n"+
			"(env KILN_DB_SYNC_EXECUTION_LOG)")
}

// validateLifecycle checks the values of registerLifecycle.
func (c *Config) validateLifecycle() []error {
	var errs []error
	positive := func(setting string, v time.Duration) {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("config: %s is %v; it must be positive", setting, v))
		}
	}
	positive("--drain-delay/KILN_DRAIN_DELAY", c.Drain.Delay)
	positive("--shutdown-timeout/KILN_SHUTDOWN_TIMEOUT", c.Drain.Timeout)
	positive("--db-conn-max-lifetime/KILN_DB_CONN_MAX_LIFETIME", c.DB.ConnMaxLifetime)
	positive("--db-conn-max-idle-time/KILN_DB_CONN_MAX_IDLE_TIME", c.DB.ConnMaxIdleTime)
	if c.DB.MaxOpenConns < 1 {
		errs = append(errs, fmt.Errorf("config: --db-max-open-conns/KILN_DB_MAX_OPEN_CONNS is %d; it must be at least 1", c.DB.MaxOpenConns))
	}
	if c.DB.MaxIdleConns < 1 || c.DB.MaxIdleConns > c.DB.MaxOpenConns {
		errs = append(errs, fmt.Errorf("config: --db-max-idle-conns/KILN_DB_MAX_IDLE_CONNS is %d; it must be from 1 to --db-max-open-conns (%d)",
			c.DB.MaxIdleConns, c.DB.MaxOpenConns))
	}
	return errs
}
