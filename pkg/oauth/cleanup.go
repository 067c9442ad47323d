package oauth

import (
	"context"
	"time"
)

// keyReloadEvery is how often Run reloads (and when due rotates) the
// signing keys and deletes expired requests and tokens.
const keyReloadEvery = time.Minute

// Run keeps the signing keys current and deletes expired authorization
// requests and tokens until ctx is done. Any number of nodes may run it.
func (s *Server) Run(ctx context.Context) error {
	t := time.NewTicker(keyReloadEvery)
	defer t.Stop()
	for {
		s.Cleanup(ctx)
		if err := s.ReloadKeys(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "reloading signing keys", "error", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Cleanup deletes expired authorization requests and tokens once, then the
// metadata document clients nothing refers to any more. A token's row
// outlives its expiry by a day; a rotated refresh token past its own expiry
// is refused anyway, so deleting it loses nothing but the family revocation
// its late reuse would have caused.
func (s *Server) Cleanup(ctx context.Context) {
	if _, err := s.store.DeleteExpiredOAuthAuthRequests(ctx); err != nil && ctx.Err() == nil {
		s.log.WarnContext(ctx, "deleting expired OAuth authorization requests", "error", err)
	}
	if _, err := s.store.DeleteExpiredUserSessions(ctx); err != nil && ctx.Err() == nil {
		s.log.WarnContext(ctx, "deleting expired browser sessions", "error", err)
	}
	if _, err := s.store.DeleteExpiredOAuthTokens(ctx, s.now().Add(-24*time.Hour)); err != nil && ctx.Err() == nil {
		s.log.WarnContext(ctx, "deleting expired OAuth tokens", "error", err)
	}
	if _, err := s.store.DeleteExpiredOAuthClients(ctx, s.now()); err != nil && ctx.Err() == nil {
		s.log.WarnContext(ctx, "deleting expired metadata document clients", "error", err)
	}
}
