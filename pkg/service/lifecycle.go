package service

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// readyTimeout bounds the database checks of one readiness probe: a probe
// that hangs says as little as one that fails, and load balancers give up
// on a probe after a few seconds.
const readyTimeout = 2 * time.Second

// Readiness refusals. Their wording is shown to anyone asking /readyz, so
// it names no address or error text; the log has the detail.
var (
	errDraining       = errors.New("the node is shutting down")
	errDatabaseDown   = errors.New("the database does not answer")
	errMigrationsBack = errors.New("the database lacks migrations this node needs")
)

// Drain marks the node as going away: from now on Ready fails, so load
// balancers send new work elsewhere, while everything is still served.
// kiln serve calls it on SIGTERM, before it stops accepting connections.
func (s *Service) Drain() {
	if !s.draining.Swap(true) {
		s.log.Info("draining: /readyz answers 503 from now on")
	}
}

// Ready says whether the node should be given new work: it is not
// draining, its database answers, and the database has every migration
// this binary knows (checked until true once: migrations are never
// undone). Its error is safe to show to anyone.
func (s *Service) Ready(ctx context.Context) error {
	if s.draining.Load() {
		return errDraining
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := s.Store.Ping(ctx); err != nil {
		s.log.WarnContext(ctx, "not ready: the database does not answer", "error", err)
		return errDatabaseDown
	}
	if s.migrated.Load() {
		return nil
	}
	current, err := s.Store.MigrationsCurrent(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "not ready: reading the applied migrations", "error", err)
		return errDatabaseDown
	}
	if !current {
		return errMigrationsBack
	}
	s.migrated.Store(true)
	return nil
}

// Wait waits until the node's background work started by requests (the
// wizard's generations and builds) has finished, or ctx ends. Call it
// after the HTTP server has shut down and Run has returned, before Close,
// which cancels what is left (another node resumes it: its lease lapses).
func (s *Service) Wait(ctx context.Context) error {
	if err := s.Wizard.Wait(ctx); err != nil {
		return fmt.Errorf("waiting for the wizard's work: %w", err)
	}
	return nil
}
