package oauth

import (
	"context"
	cryptorand "crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/kilnhq/kiln/pkg/secrets"
	"github.com/kilnhq/kiln/pkg/store"
)

// signingKey is an RSA signing key; it is both op.SigningKey and op.Key.
type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k signingKey) Algorithm() jose.SignatureAlgorithm          { return jose.RS256 }
func (k signingKey) Use() string                                 { return "sig" }
func (k signingKey) ID() string                                  { return k.id }

// Key is the private key for op.SigningKey; publicKey wraps it for JWKS.
func (k signingKey) Key() any { return k.key }

type publicKey struct{ signingKey }

func (k publicKey) Key() any { return &k.key.PublicKey }

func keyAssociatedData(id string) []byte { return []byte("kiln oauth signing key\x00" + id) }

// loadKeys reads the signing keys, creating the first one if there is none.
// Keys are sealed by the master key, so every node signs with the same keys
// and they survive restarts.
func (s *Server) loadKeys(ctx context.Context) error {
	rows, err := s.store.OAuthSigningKeys(ctx)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		if _, err := createKey(ctx, s.store, s.box); err != nil {
			return err
		}
		if rows, err = s.store.OAuthSigningKeys(ctx); err != nil {
			return err
		}
	}
	keys := make([]signingKey, 0, len(rows))
	for _, row := range rows {
		der, err := s.box.Open(row.PrivateKey, keyAssociatedData(row.ID))
		if err != nil {
			return fmt.Errorf("oauth: opening signing key %s: %w", row.ID, err)
		}
		priv, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return fmt.Errorf("oauth: parsing signing key %s: %w", row.ID, err)
		}
		rk, ok := priv.(*rsa.PrivateKey)
		if !ok {
			return fmt.Errorf("oauth: signing key %s is not an RSA key", row.ID)
		}
		keys = append(keys, signingKey{id: row.ID, key: rk})
	}
	s.keysMu.Lock()
	s.keys = keys
	s.keysMu.Unlock()
	return nil
}

func createKey(ctx context.Context, st *store.Store, box *secrets.Box) (string, error) {
	rk, err := rsa.GenerateKey(cryptorand.Reader, 2048)
	if err != nil {
		return "", fmt.Errorf("oauth: generating signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(rk)
	if err != nil {
		return "", fmt.Errorf("oauth: encoding signing key: %w", err)
	}
	id := "key_" + randomToken(12)
	sealed, err := box.Seal(der, keyAssociatedData(id))
	if err != nil {
		return "", fmt.Errorf("oauth: sealing signing key: %w", err)
	}
	return id, st.CreateOAuthSigningKey(ctx, &store.OAuthSigningKey{ID: id, Algorithm: string(jose.RS256), PrivateKey: sealed})
}

// Key rotation: a new key signs from the moment a node loads it; a
// superseded key stays in the JWKS (and verifies) for KeyOverlap, longer
// than any token it signed lives, and is then retired.
const (
	KeyOverlap     = AccessTokenTTL + time.Hour
	KeyRotateEvery = 30 * 24 * time.Hour
)

// RotateKeys creates a new signing key and retires the keys superseded
// more than KeyOverlap before now. Running servers load the new key within
// keyReloadEvery (or at once when they see a token signed by it). It
// returns the new key's id.
func RotateKeys(ctx context.Context, st *store.Store, box *secrets.Box, now time.Time) (string, error) {
	id, err := createKey(ctx, st, box)
	if err != nil {
		return "", err
	}
	return id, retireSuperseded(ctx, st, now)
}

// retireSuperseded retires every key whose successor is older than
// KeyOverlap.
func retireSuperseded(ctx context.Context, st *store.Store, now time.Time) error {
	rows, err := st.OAuthSigningKeys(ctx) // newest first
	if err != nil {
		return err
	}
	for i := 1; i < len(rows); i++ {
		if now.Sub(rows[i-1].CreatedAt) > KeyOverlap {
			if err := st.RetireOAuthSigningKey(ctx, rows[i].ID, now); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
	}
	return nil
}

// ReloadKeys reads the signing keys again, rotating them first when the
// newest is older than KeyRotateEvery and retiring superseded ones. Run
// calls it every keyReloadEvery.
func (s *Server) ReloadKeys(ctx context.Context) error {
	now := s.now()
	rows, err := s.store.OAuthSigningKeys(ctx)
	if err != nil {
		return err
	}
	if len(rows) > 0 && now.Sub(rows[0].CreatedAt) > KeyRotateEvery {
		if _, err := RotateKeys(ctx, s.store, s.box, now); err != nil {
			return err
		}
	} else if err := retireSuperseded(ctx, s.store, now); err != nil {
		return err
	}
	s.keysMu.Lock()
	s.keysLoaded = now
	s.keysMu.Unlock()
	return s.loadKeys(ctx)
}

// reloadForUnknownKey reloads the keys when a token names a key this node
// has not loaded yet, at most once per minReloadGap.
func (s *Server) reloadForUnknownKey(ctx context.Context) {
	s.keysMu.Lock()
	recent := s.now().Sub(s.keysLoaded) < minReloadGap
	s.keysMu.Unlock()
	if recent {
		return
	}
	if err := s.ReloadKeys(ctx); err != nil {
		s.log.WarnContext(ctx, "reloading signing keys", "error", err)
	}
}

const minReloadGap = 5 * time.Second

func (s *Server) currentKey(context.Context) (signingKey, error) {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	if len(s.keys) == 0 {
		return signingKey{}, fmt.Errorf("oauth: no signing key")
	}
	return s.keys[0], nil
}

func (s *Server) publicKeys(context.Context) ([]publicKey, error) {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	out := make([]publicKey, len(s.keys))
	for i, k := range s.keys {
		out[i] = publicKey{k}
	}
	return out, nil
}
