package oauth

import (
	"context"
	"errors"
	"fmt"

	"github.com/kilnhq/kiln/pkg/store"
)

// CreateLocalAccount creates a user of a customer who signs in with a
// username and password (argon2id-hashed). It needs no Server: `kiln admin
// create-user` calls it on a store directly.
func CreateLocalAccount(ctx context.Context, st *store.Store, customerID, username, email, password, role string) (store.User, error) {
	if username == "" {
		return store.User{}, errors.New("oauth: a username is required")
	}
	if role == "" {
		role = store.RoleMember
	}
	hash, err := HashPassword(password)
	if err != nil {
		return store.User{}, err
	}
	u := store.User{CustomerID: customerID, Email: email, DisplayName: username, Role: role}
	if err := st.CreateUser(ctx, &u); err != nil {
		return store.User{}, fmt.Errorf("oauth: creating user: %w", err)
	}
	if err := st.CreateLocalAccount(ctx, &store.LocalAccount{UserID: u.ID, Username: username, PasswordHash: hash}); err != nil {
		return store.User{}, errors.Join(fmt.Errorf("oauth: creating local account: %w", err), st.DeleteUser(ctx, u.ID))
	}
	return u, nil
}
