package store

import "database/sql"

// DBStats are the connection pool's statistics, for metrics: open, in use
// and idle connections, and how often and how long callers waited for one.
func (s *Store) DBStats() sql.DBStats { return s.pool.Stats() }
