package store

import (
	"context"
	"time"
)

// Roles of a user within its customer.
const (
	RoleOwner  = "owner"
	RoleMember = "member"
)

// User is a person who signs in and acts for a customer. Operator marks the
// platform's operators, who may use the admin API.
type User struct {
	ID          string    `db:"id"`
	CustomerID  string    `db:"customer_id"`
	Email       string    `db:"email"`
	DisplayName string    `db:"display_name"`
	Role        string    `db:"role"`
	Operator    bool      `db:"operator"`
	CreatedAt   time.Time `db:"created_at"`
	UpdatedAt   time.Time `db:"updated_at"`
}

// Identity links a user to a login at an identity provider: the provider
// (an OIDC issuer or a name) and the subject it gives the person.
type Identity struct {
	Provider    string     `db:"provider"`
	Subject     string     `db:"subject"`
	UserID      string     `db:"user_id"`
	Email       string     `db:"email"`
	CreatedAt   time.Time  `db:"created_at"`
	LastLoginAt *time.Time `db:"last_login_at"`
}

const userColumns = `id, customer_id, email, display_name, role, operator, created_at, updated_at`

// CreateUser inserts u, setting its ID and times.
func (s *Store) CreateUser(ctx context.Context, u *User) error {
	u.ID = newID("usr")
	u.CreatedAt = s.now()
	u.UpdatedAt = u.CreatedAt
	_, err := exec(ctx, s.db, `INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.CustomerID, u.Email, u.DisplayName, u.Role, u.Operator, u.CreatedAt, u.UpdatedAt)
	return wrap(err, "create user")
}

// User returns the user with the given id.
func (s *Store) User(ctx context.Context, id string) (User, error) {
	var u User
	err := get(ctx, s.db, &u, `SELECT `+userColumns+` FROM users WHERE id = ?`, id)
	return u, wrap(err, "get user %s", id)
}

// ListUsers returns a customer's users, oldest first.
func (s *Store) ListUsers(ctx context.Context, customerID string) ([]User, error) {
	out := []User{}
	err := selectAll(ctx, s.db, &out,
		`SELECT `+userColumns+` FROM users WHERE customer_id = ? ORDER BY created_at, id`, customerID)
	return out, wrap(err, "list users of customer %s", customerID)
}

// HasUsers says whether any user exists: an instance without one is new,
// and its web front end offers to create the first account.
func (s *Store) HasUsers(ctx context.Context) (bool, error) {
	var n int
	err := get(ctx, s.db, &n, `SELECT COUNT(*) FROM (SELECT 1 FROM users LIMIT 1) AS one`)
	return n > 0, wrap(err, "count users")
}

// UpdateUser saves u's email, display name, role and operator flag.
func (s *Store) UpdateUser(ctx context.Context, u *User) error {
	u.UpdatedAt = s.now()
	err := execOne(ctx, s.db, `
		UPDATE users SET email = ?, display_name = ?, role = ?, operator = ?, updated_at = ?
		WHERE id = ?`,
		u.Email, u.DisplayName, u.Role, u.Operator, u.UpdatedAt, u.ID)
	return wrap(err, "update user %s", u.ID)
}

// DeleteUser deletes a user and its identities. Keys it created stay with
// the customer.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	return wrap(execOne(ctx, s.db, `DELETE FROM users WHERE id = ?`, id), "delete user %s", id)
}

// LinkIdentity records that a provider's subject signs in as id.UserID.
// ErrConflict if that login is linked already (to anyone).
func (s *Store) LinkIdentity(ctx context.Context, id *Identity) error {
	id.CreatedAt = s.now()
	_, err := exec(ctx, s.db, `
		INSERT INTO user_identities (provider, subject, user_id, email, created_at, last_login_at)
		VALUES (?, ?, ?, ?, ?, ?)`,
		id.Provider, id.Subject, id.UserID, id.Email, id.CreatedAt, id.LastLoginAt)
	return wrap(err, "link identity at %q to user %s", id.Provider, id.UserID)
}

// UserByIdentity returns the user a provider's subject signs in as.
func (s *Store) UserByIdentity(ctx context.Context, provider, subject string) (User, error) {
	var u User
	err := get(ctx, s.db, &u, `
		SELECT u.id, u.customer_id, u.email, u.display_name, u.role, u.operator, u.created_at, u.updated_at
		FROM users u JOIN user_identities i ON i.user_id = u.id
		WHERE i.provider = ? AND i.subject = ?`, provider, subject)
	return u, wrap(err, "get user by identity at %q", provider)
}

// UsersByEmail returns the users with an email address, compared without
// regard to case.
func (s *Store) UsersByEmail(ctx context.Context, email string) ([]User, error) {
	out := []User{}
	err := selectAll(ctx, s.db, &out, `SELECT `+userColumns+` FROM users WHERE lower(email) = lower(?) ORDER BY created_at, id`, email)
	return out, wrap(err, "list users by email")
}

// ListIdentities returns the logins linked to a user.
func (s *Store) ListIdentities(ctx context.Context, userID string) ([]Identity, error) {
	out := []Identity{}
	err := selectAll(ctx, s.db, &out, `
		SELECT provider, subject, user_id, email, created_at, last_login_at
		FROM user_identities WHERE user_id = ? ORDER BY created_at, provider, subject`, userID)
	return out, wrap(err, "list identities of user %s", userID)
}

// TouchIdentity records a successful login through an identity.
func (s *Store) TouchIdentity(ctx context.Context, provider, subject string, at time.Time) error {
	err := execOne(ctx, s.db, `UPDATE user_identities SET last_login_at = ? WHERE provider = ? AND subject = ?`,
		utc(at), provider, subject)
	return wrap(err, "touch identity at %q", provider)
}

// UnlinkIdentity removes one of a user's logins.
func (s *Store) UnlinkIdentity(ctx context.Context, userID, provider, subject string) error {
	err := execOne(ctx, s.db, `DELETE FROM user_identities WHERE user_id = ? AND provider = ? AND subject = ?`,
		userID, provider, subject)
	return wrap(err, "unlink identity at %q from user %s", provider, userID)
}
