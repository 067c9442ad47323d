// Package apikey checks Kiln API keys, for every front end that accepts
// them (the user API and the MCP endpoints): one lookup, one set of rules,
// one clock.
//
//	key, err := apikey.Check(ctx, st, logger, token)
//	switch {
//	case errors.Is(err, apikey.ErrInvalid), errors.Is(err, apikey.ErrUnusable):
//		// 401, worded for the audience
//	case err != nil:
//		// the store failed: 503
//	}
//
// What a key may do once checked (account-wide or one server's) is the
// caller's decision: the API refuses server-scoped keys, the MCP host
// refuses account-wide ones.
package apikey

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
)

// Prefix starts every Kiln API key.
const Prefix = "kiln_"

// PrefixLength is how much of a key is kept in clear to tell keys apart:
// "kiln_" and 7 random characters, 35 of its 130 bits.
const PrefixLength = len(Prefix) + 7

// New returns a fresh key: "kiln_" and 26 base32 characters (130 random
// bits), so its plain SHA-256 cannot be reversed.
func New() string { return Prefix + strings.ToLower(rand.Text()) }

// touchEvery is how stale a key's last-used time may get before a request
// updates it: a write per request would make every read a write.
const touchEvery = time.Minute

var (
	// ErrInvalid: the token is not a Kiln API key, or no key has it.
	ErrInvalid = errors.New("apikey: not a valid API key")
	// ErrUnusable: the key exists but is revoked or expired.
	ErrUnusable = errors.New("apikey: the API key is revoked or expired")
)

// Check returns the key token names when it is usable at the store's
// clock, and records its use (at most once a minute per key; a failure to
// record it is logged, not a refusal).
// The lookup is by SHA-256: keys carry 130 random bits, so timing the index
// lookup reveals nothing useful.
func Check(ctx context.Context, st *store.Store, log *slog.Logger, token string) (store.APIKey, error) {
	if !strings.HasPrefix(token, Prefix) {
		return store.APIKey{}, ErrInvalid
	}
	key, err := lookup(ctx, st, store.HashAPIKey(token))
	if err != nil {
		return store.APIKey{}, err
	}
	return verify(ctx, st, log, key)
}

// lookup finds the key with hash, revoked or not.
func lookup(ctx context.Context, st *store.Store, hash []byte) (store.APIKey, error) {
	key, err := st.APIKeyByHash(ctx, hash)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.APIKey{}, ErrInvalid
	case err != nil:
		return store.APIKey{}, fmt.Errorf("apikey: %w", err)
	}
	return key, nil
}

// verify is the one set of rules a found key must pass, whether read from
// the store or from a Cache: usable at the store's clock; its use recorded
// at most once a minute. The key returned carries the recorded use.
func verify(ctx context.Context, st *store.Store, log *slog.Logger, key store.APIKey) (store.APIKey, error) {
	now := st.Now()
	if !key.Usable(now) {
		return store.APIKey{}, ErrUnusable
	}
	if key.LastUsedAt == nil || now.Sub(*key.LastUsedAt) > touchEvery {
		if err := st.TouchAPIKey(ctx, key.ID, now); err != nil {
			log.WarnContext(ctx, "recording API key use", "key", key.ID, "error", err)
		} else {
			key.LastUsedAt = &now
		}
	}
	return key, nil
}
