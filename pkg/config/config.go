// Package config holds the service's configuration: every setting is a
// command-line flag with a KILN_* environment variable of the same name, and
// the flag wins when both are given.
package config

import (
	"flag"
	"fmt"
	"path/filepath"
)

// Environments.
const (
	Development = "development"
	Production  = "production"
)

// Config is the configuration shared by kiln's commands.
type Config struct {
	Addr        string // --addr, KILN_ADDR
	DataDir     string // --data-dir, KILN_DATA_DIR
	DatabaseURL string // --database-url, KILN_DATABASE_URL; empty means SQLite in DataDir
	Env         string // --env, KILN_ENV
}

// Getenv looks up an environment variable; os.Getenv in production, a map in tests.
type Getenv func(string) string

func orDefault(getenv Getenv, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

// RegisterStorage adds --data-dir, --database-url and --env to fs.
func (c *Config) RegisterStorage(fs *flag.FlagSet, getenv Getenv) {
	fs.StringVar(&c.DataDir, "data-dir", orDefault(getenv, "KILN_DATA_DIR", "./kiln-data"),
		"directory for the embedded database, caches and generated dev secrets (env KILN_DATA_DIR)")
	fs.StringVar(&c.DatabaseURL, "database-url", getenv("KILN_DATABASE_URL"),
		"postgres://... to use PostgreSQL; empty uses SQLite in the data dir (env KILN_DATABASE_URL)")
	fs.StringVar(&c.Env, "env", orDefault(getenv, "KILN_ENV", Development),
		"development or production (env KILN_ENV)")
}

// RegisterServe adds the storage flags and --addr to fs.
func (c *Config) RegisterServe(fs *flag.FlagSet, getenv Getenv) {
	fs.StringVar(&c.Addr, "addr", orDefault(getenv, "KILN_ADDR", "127.0.0.1:8080"),
		"address to listen on (env KILN_ADDR)")
	c.RegisterStorage(fs, getenv)
}

// Validate checks values that flags cannot check by type.
func (c *Config) Validate() error {
	if c.Env != Development && c.Env != Production {
		return fmt.Errorf("config: KILN_ENV/--env is %q; it must be %q or %q", c.Env, Development, Production)
	}
	if c.DataDir == "" {
		return fmt.Errorf("config: the data directory (--data-dir, KILN_DATA_DIR) must not be empty")
	}
	return nil
}

// CacheDir is where compiled modules are cached on disk.
func (c *Config) CacheDir() string { return filepath.Join(c.DataDir, "cache", "wasm") }

// GoCacheDir is the GOCACHE used for tool builds.
func (c *Config) GoCacheDir() string { return filepath.Join(c.DataDir, "cache", "go-build") }
