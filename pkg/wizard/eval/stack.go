package eval

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"

	"github.com/kilnhq/kiln/pkg/build"
	"github.com/kilnhq/kiln/pkg/llm"
	"github.com/kilnhq/kiln/pkg/secrets"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/tier"
	"github.com/kilnhq/kiln/pkg/wizard"
	"github.com/kilnhq/kiln/sandbox"
	"github.com/kilnhq/kiln/sandbox/egress"
)

// PlanName is the plan of the evaluation's customer: enterprise's limits
// and enough generations that the quota never decides a task.
const PlanName = "eval"

// StackOptions say where an evaluation keeps its state.
type StackOptions struct {
	// DataDir holds the SQLite database and the module caches.
	DataDir string
	// GoCache and GoCacheBytes are the build cache (build.GoBuilder); an
	// empty GoCache is one under DataDir.
	GoCache      string
	GoCacheBytes int64
	// Getenv reads KILN_LLM_PROVIDERS and KILN_LLM_KEY_n.
	Getenv func(string) string
	// AllowPrivate lets sample calls reach these private prefixes (a local
	// API under test); empty: public addresses only.
	AllowPrivate []netip.Prefix
	Logger       *slog.Logger
}

// Stack is a node's wizard, minus HTTP: a store, sandbox, build pool and
// the configured LLM chain, with a customer on PlanName.
type Stack struct {
	Store    *store.Store
	Wizard   *wizard.Wizard
	Customer string
	engine   *sandbox.Engine
}

// OpenStack builds the stack. Without KILN_LLM_PROVIDERS it is an error:
// there is nothing to evaluate.
func OpenStack(ctx context.Context, o StackOptions) (_ *Stack, err error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.GoCache == "" {
		o.GoCache = filepath.Join(o.DataDir, "gocache")
	}
	s := &Stack{}
	defer func() {
		if err != nil {
			s.Close(context.WithoutCancel(ctx))
		}
	}()
	if s.Store, err = store.Open(ctx, "", o.DataDir); err != nil {
		return nil, err
	}
	if err = s.Store.Migrate(ctx); err != nil {
		return nil, err
	}
	if s.engine, err = sandbox.NewEngine(ctx, sandbox.Config{CacheDir: filepath.Join(o.DataDir, "cache")}); err != nil {
		return nil, err
	}
	catalog := tier.NewCatalog(s.Store)
	builds := build.NewPool(build.PoolConfig{Builder: &build.GoBuilder{Engine: s.engine, GoCache: o.GoCache, GoCacheBytes: o.GoCacheBytes}, Workers: 2})
	// A master key of this run's own seals the secrets supplied to sessions.
	mk, err := secrets.GenerateMasterKey()
	if err != nil {
		return nil, err
	}
	box, err := secrets.New(mk)
	if err != nil {
		return nil, err
	}
	cfg := wizard.Config{Store: s.Store, Catalog: catalog, Engine: s.engine, Builds: builds, Logger: o.Logger,
		Egress: egress.Policy{AllowPrivate: o.AllowPrivate}, Secrets: box}
	if s.Wizard, err = wizard.FromEnv(cfg, o.Getenv, llm.Options{Logger: o.Logger}); err != nil {
		return nil, err
	}
	if !s.Wizard.HasLLM() {
		return nil, errors.New("eval: no LLM provider: set KILN_LLM_PROVIDERS (and KILN_LLM_KEY_n) to the providers to evaluate")
	}
	if s.Customer, err = evalCustomer(ctx, s.Store, catalog); err != nil {
		return nil, err
	}
	return s, nil
}

// evalCustomer makes the evaluation's plan and a customer on it.
func evalCustomer(ctx context.Context, st *store.Store, catalog *tier.Catalog) (string, error) {
	p, ok := tier.Default(tier.Enterprise)
	if !ok {
		return "", errors.New("eval: no enterprise plan to start from")
	}
	p.Name, p.LLMGenerationsPerDay = PlanName, 1_000_000
	if err := catalog.SetPlan(ctx, p); err != nil {
		return "", fmt.Errorf("eval: plan: %w", err)
	}
	c := store.Customer{Name: "kiln wizard eval", Tier: PlanName}
	if err := st.CreateCustomer(ctx, &c); err != nil {
		return "", fmt.Errorf("eval: customer: %w", err)
	}
	return c.ID, nil
}

// Close stops the wizard and releases the stack.
func (s *Stack) Close(ctx context.Context) {
	if s.Wizard != nil {
		s.Wizard.Close()
	}
	if s.engine != nil {
		s.engine.Close(ctx)
	}
	if s.Store != nil {
		_ = s.Store.Close()
	}
}

// Config is the evaluation's Config on this stack.
func (s *Stack) Config() Config {
	return Config{Wizard: s.Wizard, Store: s.Store, Customer: s.Customer}
}
