package wizard

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"unicode/utf8"

	"github.com/kilnhq/kiln/pkg/secrets"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/sandbox/egress"
)

// A tool that calls an API with a key declares the key as a secret env var
// and uses it by reference (kiln.Secret). For its sample calls to work the
// person supplies the value in the session: it is sealed with the node's
// master key (Config.Secrets) in the session's stored data, handed to the
// sandbox's egress client for the tool's own hosts only, and, at deploy,
// declared on the server with its value. No answer, event or log carries a
// value: a session lists only the names that have one (Session.SecretsSet).

// maxSecretValue bounds one secret value (API keys are a few dozen bytes).
const maxSecretValue = 4 << 10

// secretAD binds a sealed value to its session and name, so a value cannot
// be moved to another session or secret.
func secretAD(sessionID, name string) []byte {
	return []byte("kiln wizard secret\x00" + sessionID + "\x00" + name)
}

// SetSecret stores the value of a secret that a tool of the session
// declares, against version. An empty value removes it.
func (w *Wizard) SetSecret(ctx context.Context, customerID, id string, version int64, name, value string) (*Session, error) {
	if w.cfg.Secrets == nil {
		return nil, inputf("this Kiln node keeps no secrets (no master key): secrets cannot be supplied in the wizard")
	}
	if len(value) > maxSecretValue || !utf8.ValidString(value) {
		return nil, inputf("the value of %s must be text of at most %d bytes", name, maxSecretValue)
	}
	return w.update(ctx, customerID, id, version, func(s *Session) ([]event, error) {
		if !declaresSecret(s, name) {
			return nil, inputf("no tool of the session declares a secret %q; declare it in a tool's env (secret: true) first", name)
		}
		if s.secrets == nil {
			s.secrets = map[string][]byte{}
		}
		delete(s.secrets, name)
		if value != "" {
			sealed, err := w.cfg.Secrets.Seal([]byte(value), secretAD(s.ID, name))
			if err != nil {
				return nil, fmt.Errorf("wizard: seal secret %s: %w", name, err)
			}
			s.secrets[name] = sealed
		}
		s.SecretsSet = secretNames(s.secrets)
		return []event{{kind: "secret", data: map[string]any{"name": name, "set": value != ""}}}, nil
	})
}

func declaresSecret(s *Session, name string) bool {
	for _, t := range s.Tools {
		if slices.ContainsFunc(t.Env, func(e EnvVar) bool { return e.Secret && e.Name == name }) {
			return true
		}
	}
	return false
}

func secretNames(m map[string][]byte) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// toolSecrets are the session's values of spec's secrets, bound to the
// tool's egress hosts, for its calls in the sandbox.
func (w *Wizard) toolSecrets(s *Session, spec Spec) ([]egress.Secret, error) {
	var out []egress.Secret
	for _, e := range spec.Env {
		sealed, ok := s.secrets[e.Name]
		if !e.Secret || !ok || w.cfg.Secrets == nil {
			continue
		}
		plain, err := w.cfg.Secrets.Open(sealed, secretAD(s.ID, e.Name))
		if err != nil {
			return nil, fmt.Errorf("wizard: open secret %s of session %s: %w", e.Name, s.ID, err)
		}
		hosts, err := egress.ParseRules(spec.Egress)
		if err != nil {
			return nil, inputf("tool %s: egress: %v", spec.Name, err)
		}
		out = append(out, egress.Secret{Name: e.Name, Value: string(plain), Hosts: hosts})
	}
	return out, nil
}

// secretsKey carries a call's secrets through check to call.
type secretsKey struct{}

// withToolSecrets is ctx carrying spec's secrets from s for the sandbox
// calls made under it (sample calls, the playground).
func (w *Wizard) withToolSecrets(ctx context.Context, s *Session, spec Spec) (context.Context, error) {
	sec, err := w.toolSecrets(s, spec)
	if err != nil || len(sec) == 0 {
		return ctx, err
	}
	return context.WithValue(ctx, secretsKey{}, sec), nil
}

// callSecrets are the secrets ctx carries for a sandbox call.
func callSecrets(ctx context.Context) []egress.Secret {
	sec, _ := ctx.Value(secretsKey{}).([]egress.Secret)
	return sec
}

// declareEnv declares a deployed tool's env vars on the server, and sets
// the secrets the session has values for, sealed for the server.
func (w *Wizard) declareEnv(ctx context.Context, tx *store.Store, s *Session, serverID string, t *Tool) error {
	for _, e := range t.Env {
		decl := store.EnvVar{ServerID: serverID, Name: e.Name, Description: e.Description, Secret: e.Secret, Required: e.Required}
		if e.Secret {
			decl.Hosts = store.StringList(t.Egress)
		}
		if err := tx.PutEnvVar(ctx, &decl); err != nil {
			return err
		}
		sealed, ok := s.secrets[e.Name]
		if !e.Secret || !ok {
			continue
		}
		if w.cfg.Secrets == nil {
			return errors.New("wizard: a session secret without a master key")
		}
		plain, err := w.cfg.Secrets.Open(sealed, secretAD(s.ID, e.Name))
		if err != nil {
			return fmt.Errorf("wizard: open secret %s of session %s: %w", e.Name, s.ID, err)
		}
		resealed, err := w.cfg.Secrets.Seal(plain, secrets.EnvValueAssociatedData(serverID, e.Name))
		if err != nil {
			return fmt.Errorf("wizard: seal secret %s for server %s: %w", e.Name, serverID, err)
		}
		if err := tx.SetEnvValue(ctx, serverID, e.Name, resealed); err != nil {
			return err
		}
	}
	return nil
}
