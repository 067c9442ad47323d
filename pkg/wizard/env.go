package wizard

import (
	"fmt"

	"github.com/kilnhq/kiln/pkg/llm"
)

// FromEnv makes the wizard of a node with the LLM chain KILN_LLM_PROVIDERS
// names (keys from KILN_LLM_KEY_n, read through getenv, as os.Getenv).
// cfg.LLM is ignored. Without providers the wizard runs without an LLM and
// says how to configure one; a malformed variable is an error, so a typo
// does not quietly turn the LLM off.
func FromEnv(cfg Config, getenv func(string) string, opts llm.Options) (*Wizard, error) {
	cfgs, err := llm.ParseProviders(getenv("KILN_LLM_PROVIDERS"), getenv)
	if err != nil {
		return nil, fmt.Errorf("wizard: %w", err)
	}
	cfg.LLM = nil
	if len(cfgs) > 0 {
		if opts.Logger == nil {
			opts.Logger = cfg.Logger
		}
		chain, err := llm.New(cfgs, opts)
		if err != nil {
			return nil, fmt.Errorf("wizard: %w", err)
		}
		cfg.LLM = chain // set only when there is one: a nil *Chain in the interface is not nil
	}
	return New(cfg)
}
