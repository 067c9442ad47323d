package service

import (
	"context"
	"log/slog"
	"testing"

	"github.com/kilnhq/kiln/pkg/build"
	"github.com/kilnhq/kiln/pkg/config"
	"github.com/kilnhq/kiln/pkg/signing"
	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/sandbox"
)

// TestDevLibraryOnlyInDevelopment: a production node never builds the
// library, whatever its settings say; a development node does, unless it is
// turned off or the node has no development key to sign with (the trusted
// keys come from KILN_LIBRARY_KEYS).
func TestDevLibraryOnlyInDevelopment(t *testing.T) {
	engine, err := sandbox.NewEngine(context.Background(), sandbox.Config{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close(context.Background()) })
	s := &Service{Store: storetest.SQLite(t), Engine: engine, log: slog.New(slog.DiscardHandler)}
	builds := build.NewPool(build.PoolConfig{Builder: &build.GoBuilder{Engine: engine, GoCache: t.TempDir()}})
	key, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		env  string
		on   bool
		key  *signing.PrivateKey
		want bool
	}{
		{config.Production, true, &key, false},
		{config.Development, false, &key, false},
		{config.Development, true, nil, false},
		{config.Development, true, &key, true},
	} {
		lib, err := s.newDevLibrary(&config.Config{Env: c.env, DevLibrary: c.on}, config.Resolved{LibrarySigningKey: c.key}, builds)
		if err != nil || (lib != nil) != c.want {
			t.Errorf("env %s, --dev-library=%v, key %v: library %v (%v), want one: %v", c.env, c.on, c.key != nil, lib != nil, err, c.want)
		}
	}
}
