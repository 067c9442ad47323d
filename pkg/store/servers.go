package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Server is one MCP server a customer runs: a named set of tools with the
// hosts they may reach. Version counts its updates: UpdateServer only
// applies to the version the caller read, so two edits that race cannot
// silently overwrite each other.
type Server struct {
	ID           string     `db:"id"`
	CustomerID   string     `db:"customer_id"`
	Name         string     `db:"name"`
	Description  string     `db:"description"`
	AllowedHosts StringList `db:"allowed_hosts"`
	// RecordPayloads keeps tool arguments and results in the execution log.
	RecordPayloads bool      `db:"record_payloads"`
	Version        int64     `db:"version"`
	CreatedAt      time.Time `db:"created_at"`
	UpdatedAt      time.Time `db:"updated_at"`
}

// LimitCheck decides whether one more item may be added when there are
// current ones already; pkg/tier's Check functions fit, for example
// func(n int) error { return tier.CheckServers(plan, n) }. Its error is
// returned as is.
type LimitCheck func(current int) error

const serverColumns = `id, customer_id, name, description, allowed_hosts, record_payloads, version, created_at, updated_at`

// CreateServer inserts srv for srv.CustomerID, setting its ID, version and
// times, if check allows one more server. The count and the insert happen
// under a lock on the customer's row, so concurrent creations cannot both
// slip under the limit. ErrConflict if the customer has a server of that
// name; ErrNotFound if the customer does not exist.
func (s *Store) CreateServer(ctx context.Context, srv *Server, check LimitCheck) error {
	if check == nil {
		return errors.New("store: create server: no limit check")
	}
	row := *srv
	row.ID = newID("srv")
	row.Version = 1
	row.CreatedAt = s.now()
	row.UpdatedAt = row.CreatedAt
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.lockCustomer(ctx, tx, row.CustomerID); err != nil {
			return err
		}
		var n int
		if err := get(ctx, tx, &n, `SELECT COUNT(*) FROM servers WHERE customer_id = ?`, row.CustomerID); err != nil {
			return wrap(err, "count servers of customer %s", row.CustomerID)
		}
		if err := check(n); err != nil {
			return err
		}
		_, err := exec(ctx, tx, `INSERT INTO servers (`+serverColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			row.ID, row.CustomerID, row.Name, row.Description, row.AllowedHosts, row.RecordPayloads, row.Version, row.CreatedAt, row.UpdatedAt)
		return wrap(err, "create server %q", row.Name)
	})
	if err != nil {
		return err
	}
	*srv = row
	return nil
}

// lockCustomer locks a customer's row until the transaction ends, to
// serialize changes counted against the customer's limits.
func (s *Store) lockCustomer(ctx context.Context, tx *sqlx.Tx, customerID string) error {
	var id string
	err := get(ctx, tx, &id, `SELECT id FROM customers WHERE id = ?`+s.forUpdate(), customerID)
	return wrap(err, "lock customer %s", customerID)
}

// Server returns one of a customer's servers. Another customer's server is
// ErrNotFound, as if it did not exist.
func (s *Store) Server(ctx context.Context, customerID, id string) (Server, error) {
	var srv Server
	err := get(ctx, s.db, &srv, `SELECT `+serverColumns+` FROM servers WHERE id = ? AND customer_id = ?`, id, customerID)
	return srv, wrap(err, "get server %s", id)
}

// ServerByID returns a server whoever owns it, for routing a request that
// names only the server (/mcp/{server}). Authorize before using it.
func (s *Store) ServerByID(ctx context.Context, id string) (Server, error) {
	var srv Server
	err := get(ctx, s.db, &srv, `SELECT `+serverColumns+` FROM servers WHERE id = ?`, id)
	return srv, wrap(err, "get server %s", id)
}

// ListServers returns a customer's servers by name.
func (s *Store) ListServers(ctx context.Context, customerID string) ([]Server, error) {
	out := []Server{}
	err := selectAll(ctx, s.db, &out, `SELECT `+serverColumns+` FROM servers WHERE customer_id = ? ORDER BY name`, customerID)
	return out, wrap(err, "list servers of customer %s", customerID)
}

// CountServers counts a customer's servers.
func (s *Store) CountServers(ctx context.Context, customerID string) (int, error) {
	var n int
	err := get(ctx, s.db, &n, `SELECT COUNT(*) FROM servers WHERE customer_id = ?`, customerID)
	return n, wrap(err, "count servers of customer %s", customerID)
}

// UpdateServer saves srv's name, description and allowed hosts if the stored
// server is still at srv.Version, then advances srv.Version. If someone else
// updated it first the result is ErrConflict: read it again and retry, or
// tell the user. ErrNotFound if it does not exist (or is another customer's).
func (s *Store) UpdateServer(ctx context.Context, srv *Server) error {
	updated := s.now()
	n, err := exec(ctx, s.db, `
		UPDATE servers SET name = ?, description = ?, allowed_hosts = ?, record_payloads = ?, version = version + 1, updated_at = ?
		WHERE id = ? AND customer_id = ? AND version = ?`,
		srv.Name, srv.Description, srv.AllowedHosts, srv.RecordPayloads, updated, srv.ID, srv.CustomerID, srv.Version)
	if err != nil {
		return wrap(err, "update server %s", srv.ID)
	}
	if n == 0 {
		return s.versionMiss(ctx, "servers", srv.ID, srv.CustomerID, srv.Version)
	}
	srv.Version++
	srv.UpdatedAt = updated
	return nil
}

// versionMiss explains an optimistic update that changed no row: the row is
// gone (ErrNotFound) or its version moved on (ErrConflict).
func (s *Store) versionMiss(ctx context.Context, table, id, customerID string, version int64) error {
	var current int64
	err := get(ctx, s.db, &current, `SELECT version FROM `+table+` WHERE id = ? AND customer_id = ?`, id, customerID)
	if err != nil {
		return wrap(err, "update %s %s", table, id)
	}
	return fmt.Errorf("store: update %s %s: %w: it is at version %d, the update was for version %d",
		table, id, ErrConflict, current, version)
}

// DeleteServer deletes one of a customer's servers with its tools, env vars
// and server-scoped keys. Nodes caching keys hear of it (AccessServer).
func (s *Store) DeleteServer(ctx context.Context, customerID, id string) error {
	return s.changeAccess(ctx, AccessServer, id, func(tx *Store) error {
		err := execOne(ctx, tx.db, `DELETE FROM servers WHERE id = ? AND customer_id = ?`, id, customerID)
		return wrap(err, "delete server %s", id)
	})
}
