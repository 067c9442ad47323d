package store

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jmoiron/sqlx"
)

// preparedStmts holds statements prepared once per Open and reused: the
// execution log's INSERT runs for every tool call, and preparing it each
// time was ~40% of its cost on SQLite. database/sql prepares a statement
// again on each connection it runs on (and on connections that replace
// broken ones); a transaction uses it through Tx.Stmt.
type preparedStmts struct {
	mu    sync.Mutex
	stmts map[string]*sqlx.Stmt
}

// get returns query, in the ? form, prepared on db for its dialect. A
// failure is not remembered: the next call tries again.
func (p *preparedStmts) get(ctx context.Context, db *sqlx.DB, query string) (*sqlx.Stmt, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if st, ok := p.stmts[query]; ok {
		return st, nil
	}
	st, err := db.PreparexContext(ctx, db.Rebind(query))
	if err != nil {
		return nil, fmt.Errorf("store: prepare: %w", classify(err))
	}
	if p.stmts == nil {
		p.stmts = map[string]*sqlx.Stmt{}
	}
	p.stmts[query] = st
	return st, nil
}

func (p *preparedStmts) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var err error
	for q, st := range p.stmts {
		err = errors.Join(err, st.Close())
		delete(p.stmts, q)
	}
	return err
}
