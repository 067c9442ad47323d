package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/sandbox"
	"github.com/kilnhq/kiln/sandbox/manifest"
)

// loadModule loads wasm in the sandbox (which checks it against the ABI,
// instruments and compiles it) and returns the row that stores it under its
// hash: tx.PutModule(ctx, &row, wasm), in the transaction that records why
// it is stored; the compile stays outside. The stored bytes are the module
// as given: the sandbox instruments on load, keyed by this hash and its
// instrumenter version, so storing the instrumented form would only tie the
// store to one instrumenter. A module the sandbox refuses is a 422 with the
// sandbox's reason.
func (s *Server) loadModule(ctx context.Context, wasm []byte) (*sandbox.Module, store.Module, error) {
	mod, err := s.engine.Load(ctx, wasm)
	var bad *sandbox.BadModuleError
	if errors.As(err, &bad) {
		return nil, store.Module{}, unprocessable("the module was refused: %s", strings.TrimPrefix(bad.Error(), "bad module: "))
	}
	if err != nil {
		return nil, store.Module{}, err
	}
	doc, err := json.Marshal(mod.Manifest)
	if err != nil {
		return nil, store.Module{}, fmt.Errorf("api: encode manifest: %w", err)
	}
	return mod, store.Module{Hash: mod.Hash, Manifest: doc}, nil
}

// storedManifest decodes the manifest kept with a stored module.
func storedManifest(m store.Module) (*manifest.Manifest, error) {
	man, err := manifest.Parse(m.Manifest)
	if err != nil {
		return nil, fmt.Errorf("api: stored manifest of module %s: %w", m.Hash, err)
	}
	return man, nil
}

func moduleTools(man *manifest.Manifest) []moduleToolView {
	out := make([]moduleToolView, 0, len(man.Tools))
	for _, t := range man.Tools {
		out = append(out, moduleToolView{Name: t.Name, Description: t.Description})
	}
	return out
}

// pickTool chooses which of a module's tools a new server tool serves: the
// one asked for, or the only one.
func pickTool(man *manifest.Manifest, want string) (string, error) {
	names := make([]string, 0, len(man.Tools))
	for _, t := range man.Tools {
		names = append(names, t.Name)
	}
	switch {
	case want != "" && slices.Contains(names, want):
		return want, nil
	case want != "":
		return "", unprocessable("the module has no tool %q; it offers %s", want, strings.Join(names, ", "))
	case len(names) == 1:
		return names[0], nil
	}
	return "", unprocessable("the module offers %s (%s); say which one with \"tool\"", plural(len(names), "tool"), strings.Join(names, ", "))
}
