package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/kilnhq/kiln/schema"
)

// PoolConfig bounds the connection pool (database/sql's settings, which
// treat zero as "no bound": callers fill in their defaults first).
type PoolConfig struct {
	MaxOpenConns    int
	MaxIdleConns    int
	ConnMaxLifetime time.Duration
	ConnMaxIdleTime time.Duration
}

// SetPool applies p to the connection pool. A lifetime bound also moves
// connections to a database restarted behind the same address: the pool
// drops broken connections on use, and old ones by age.
func (s *Store) SetPool(p PoolConfig) {
	s.pool.SetMaxOpenConns(p.MaxOpenConns)
	s.pool.SetMaxIdleConns(p.MaxIdleConns)
	s.pool.SetConnMaxLifetime(p.ConnMaxLifetime)
	s.pool.SetConnMaxIdleTime(p.ConnMaxIdleTime)
}

// MigrationsCurrent says whether the database has every migration this
// binary knows (a newer binary may have applied more), for readiness.
func (s *Store) MigrationsCurrent(ctx context.Context) (bool, error) {
	known, err := schema.Migrations(s.dialect)
	if err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	applied, err := s.AppliedMigrations(ctx)
	if err != nil {
		return false, err
	}
	have := map[int]bool{}
	for _, a := range applied {
		have[a.Version] = true
	}
	for _, m := range known {
		if !have[m.Version] {
			return false, nil
		}
	}
	return true, nil
}

// Unavailable says whether err is the database being away (a refused or
// broken connection, a server shutting down or starting up) rather than a
// statement it refused: the same statement may succeed once it is back.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	if pqErr, ok := errors.AsType[*pq.Error](err); ok {
		// Class 08: connection exception; 57P01-57P03: administrator or
		// crash shutdown, cannot connect now (starting up).
		code := string(pqErr.Code)
		return strings.HasPrefix(code, "08") || code == "57P01" || code == "57P02" || code == "57P03"
	}
	return false
}
