package mcphost

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/kilnhq/kiln/pkg/secrets"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/sandbox"
)

// artifactPurpose names the key that authenticates compiled artifacts
// (secrets.Box.DeriveKey): derived from the master key, which the
// database does not hold, so writing the table is not enough to make a
// node run chosen native code.
const artifactPurpose = "kiln compiled artifacts v1"

// ShareArtifacts makes engine share compiled modules through st, with
// artifacts authenticated under a key derived from box's master key.
func ShareArtifacts(engine *sandbox.Engine, st *store.Store, box *secrets.Box, log *slog.Logger) error {
	key, err := box.DeriveKey(artifactPurpose, sandbox.ArtifactKeyBytes)
	if err != nil {
		return fmt.Errorf("mcphost: sharing compiled modules: %w", err)
	}
	return engine.ShareArtifacts(sandbox.Sharing{Store: ArtifactStore(st, 0), Key: key, Log: log})
}

// ArtifactStore lets a node's sandbox share compiled modules with the other
// nodes through the store's compiled_artifacts table, so that a module is
// compiled once per cluster rather than once per node (sandbox/artifact.go).
// maxTotal bounds the table (store.DefaultMaxArtifactBytes when zero).
func ArtifactStore(st *store.Store, maxTotal int64) sandbox.ArtifactStore {
	return artifacts{st: st, max: maxTotal}
}

type artifacts struct {
	st  *store.Store
	max int64
}

func artifactKey(k sandbox.ArtifactKey) store.ArtifactKey {
	return store.ArtifactKey{ModuleHash: k.ModuleHash, Instrumenter: k.Instrumenter, WazeroVersion: k.WazeroVersion, Platform: k.Platform, CPU: k.CPU}
}

func (a artifacts) LoadArtifact(ctx context.Context, key sandbox.ArtifactKey, maxBytes int64) (*sandbox.Artifact, error) {
	got, err := a.st.CompiledArtifact(ctx, artifactKey(key), maxBytes)
	if err != nil || got == nil {
		return nil, err
	}
	if got.Data == nil {
		return nil, fmt.Errorf("mcphost: compiled artifact of module %s is %d bytes, past the bound of %d", key.ModuleHash, got.Size, maxBytes)
	}
	return &sandbox.Artifact{Name: got.Name, Data: got.Data, MAC: got.MAC}, nil
}

func (a artifacts) ReleaseArtifact(ctx context.Context, key sandbox.ArtifactKey) error {
	return a.st.ReleaseCompiledArtifact(ctx, artifactKey(key))
}

func (a artifacts) ClaimArtifact(ctx context.Context, key sandbox.ArtifactKey, lease time.Duration) (bool, error) {
	return a.st.ClaimCompiledArtifact(ctx, artifactKey(key), lease)
}

func (a artifacts) SaveArtifact(ctx context.Context, key sandbox.ArtifactKey, art sandbox.Artifact) error {
	return a.st.PutCompiledArtifact(ctx, artifactKey(key), store.CompiledArtifact{Name: art.Name, MAC: art.MAC, Data: art.Data}, a.max)
}
