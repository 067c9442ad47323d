package store

import (
	"context"
	"slices"
	"time"
)

// EnvVar declares an environment variable a server's tools read. Only
// declared names are accepted from requests or stored. A secret's value is
// substituted by the host into requests to Hosts only, and never enters a
// module's memory. HasValue says whether a value is stored (read-only).
type EnvVar struct {
	ServerID    string     `db:"server_id"`
	Name        string     `db:"name"`
	Description string     `db:"description"`
	Secret      bool       `db:"secret"`
	Required    bool       `db:"required"`
	Hosts       StringList `db:"hosts"`
	HasValue    bool       `db:"has_value"`
	CreatedAt   time.Time  `db:"created_at"`
	UpdatedAt   time.Time  `db:"updated_at"`
}

const envVarSelect = `
	SELECT d.server_id, d.name, d.description, d.secret, d.required, d.hosts,
		(v.name IS NOT NULL) AS has_value, d.created_at, d.updated_at
	FROM server_env_vars d
	LEFT JOIN server_env_values v ON v.server_id = d.server_id AND v.name = d.name`

// PutEnvVar is DeclareEnvVar for callers that need no account of the change.
func (s *Store) PutEnvVar(ctx context.Context, e *EnvVar) error {
	_, err := s.DeclareEnvVar(ctx, e)
	return err
}

// EnvVarChange is what DeclareEnvVar did: the declaration it replaced (nil
// for a new one) and whether it deleted the stored value.
type EnvVarChange struct {
	Before       *EnvVar
	ValueCleared bool
}

// DeclareEnvVar declares e on its server or updates the declaration, and
// sets e to what is stored. A stored value is kept only while it keeps its
// meaning: a change of secrecy, or of a secret's hosts, deletes it in the
// same transaction, so a value stored as a secret for some hosts is never
// handed to a module in clear, nor sent to other hosts. The declaration is
// read under a row lock (the value's foreign key makes a concurrent
// SetEnvValue wait for it), so the decision holds until the commit.
func (s *Store) DeclareEnvVar(ctx context.Context, e *EnvVar) (EnvVarChange, error) {
	var change EnvVarChange
	err := s.InTx(ctx, func(tx *Store) error {
		var locked []string
		err := selectAll(ctx, tx.db, &locked, `SELECT name FROM server_env_vars WHERE server_id = ? AND name = ?`+tx.forUpdate(),
			e.ServerID, e.Name)
		if err != nil {
			return wrap(err, "lock env var %s of server %s", e.Name, e.ServerID)
		}
		if len(locked) == 1 {
			before, err := tx.EnvVar(ctx, e.ServerID, e.Name)
			if err != nil {
				return err
			}
			change.Before = &before
			if before.HasValue && rebinds(before, *e) {
				if err := tx.DeleteEnvValue(ctx, e.ServerID, e.Name); err != nil {
					return err
				}
				change.ValueCleared = true
			}
		}
		t := tx.now()
		_, err = exec(ctx, tx.db, `
			INSERT INTO server_env_vars (server_id, name, description, secret, required, hosts, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (server_id, name) DO UPDATE SET
				description = excluded.description,
				secret = excluded.secret,
				required = excluded.required,
				hosts = excluded.hosts,
				updated_at = excluded.updated_at`,
			e.ServerID, e.Name, e.Description, e.Secret, e.Required, e.Hosts, t, t)
		if err != nil {
			return wrap(err, "declare env var %s on server %s", e.Name, e.ServerID)
		}
		stored, err := tx.EnvVar(ctx, e.ServerID, e.Name)
		*e = stored
		return err
	})
	return change, err
}

// rebinds says whether a declaration changes what a stored value is for:
// its secrecy, or, for a secret, the set of hosts it may be sent to.
func rebinds(before, after EnvVar) bool {
	if before.Secret != after.Secret {
		return true
	}
	return after.Secret && !sameSet(before.Hosts, after.Hosts)
}

func sameSet(a, b []string) bool { return slices.Equal(sortedSet(a), sortedSet(b)) }

func sortedSet(l []string) []string {
	c := slices.Clone(l)
	slices.Sort(c)
	return slices.Compact(c)
}

// EnvVar returns one declaration of a server.
func (s *Store) EnvVar(ctx context.Context, serverID, name string) (EnvVar, error) {
	var e EnvVar
	err := get(ctx, s.db, &e, envVarSelect+` WHERE d.server_id = ? AND d.name = ?`, serverID, name)
	return e, wrap(err, "get env var %s of server %s", name, serverID)
}

// ListEnvVars returns a server's declarations by name.
func (s *Store) ListEnvVars(ctx context.Context, serverID string) ([]EnvVar, error) {
	out := []EnvVar{}
	err := selectAll(ctx, s.db, &out, envVarSelect+` WHERE d.server_id = ? ORDER BY d.name`, serverID)
	return out, wrap(err, "list env vars of server %s", serverID)
}

// DeleteEnvVar removes a declaration and its value.
func (s *Store) DeleteEnvVar(ctx context.Context, serverID, name string) error {
	err := execOne(ctx, s.db, `DELETE FROM server_env_vars WHERE server_id = ? AND name = ?`, serverID, name)
	return wrap(err, "delete env var %s of server %s", name, serverID)
}

// SetEnvValue stores the value of a declared variable, replacing any other.
// ciphertext must come from pkg/secrets (sealed with the server and name as
// associated data): the store never sees plaintext. ErrNotFound if the
// variable is not declared.
func (s *Store) SetEnvValue(ctx context.Context, serverID, name string, ciphertext []byte) error {
	_, err := exec(ctx, s.db, `
		INSERT INTO server_env_values (server_id, name, ciphertext, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (server_id, name) DO UPDATE SET ciphertext = excluded.ciphertext, updated_at = excluded.updated_at`,
		serverID, name, ciphertext, s.now())
	return wrap(err, "set value of env var %s of server %s", name, serverID)
}

// EnvValue returns the sealed value of one variable.
func (s *Store) EnvValue(ctx context.Context, serverID, name string) ([]byte, error) {
	var ciphertext []byte
	err := get(ctx, s.db, &ciphertext, `SELECT ciphertext FROM server_env_values WHERE server_id = ? AND name = ?`, serverID, name)
	return ciphertext, wrap(err, "get value of env var %s of server %s", name, serverID)
}

// EnvValues returns every stored value of a server by name, still sealed.
func (s *Store) EnvValues(ctx context.Context, serverID string) (map[string][]byte, error) {
	var rows []struct {
		Name       string `db:"name"`
		Ciphertext []byte `db:"ciphertext"`
	}
	if err := selectAll(ctx, s.db, &rows, `SELECT name, ciphertext FROM server_env_values WHERE server_id = ?`, serverID); err != nil {
		return nil, wrap(err, "get env values of server %s", serverID)
	}
	out := make(map[string][]byte, len(rows))
	for _, r := range rows {
		out[r.Name] = r.Ciphertext
	}
	return out, nil
}

// DeleteEnvValue removes a variable's value, keeping its declaration.
func (s *Store) DeleteEnvValue(ctx context.Context, serverID, name string) error {
	err := execOne(ctx, s.db, `DELETE FROM server_env_values WHERE server_id = ? AND name = ?`, serverID, name)
	return wrap(err, "delete value of env var %s of server %s", name, serverID)
}
