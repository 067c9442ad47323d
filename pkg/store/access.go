package store

import (
	"context"
	"strings"
)

// Access changes: what nodes caching API keys and plans must hear. Every
// store method that revokes or deletes a key, moves a customer to another
// plan, changes or deletes a plan, or deletes a server or customer (their
// keys go with them) sends one on AccessTopic, in the same transaction as
// the change, so no path that changes access through the store can forget
// to. A change made behind the store's back (SQL by hand) is not announced:
// caches must also expire their entries (pkg/mcphost bounds it by its
// resync interval).

// AccessTopic is the notification topic of access changes.
const AccessTopic = "access"

// AccessKind says what an AccessChange is about.
type AccessKind string

// The kinds of access changes; the ID is of the thing named.
const (
	AccessKey      AccessKind = "key"      // an API key revoked or deleted (key ID)
	AccessCustomer AccessKind = "customer" // a customer's plan changed, or the customer deleted
	AccessPlan     AccessKind = "plan"     // a plan's limits changed, or the plan deleted (plan name)
	AccessServer   AccessKind = "server"   // a server deleted, its keys with it
)

// AccessChange is one access notification.
type AccessChange struct {
	Kind AccessKind
	ID   string
}

// ParseAccessChange reads a notification's payload. ok is false for a
// payload this version does not know, which a cache should treat as
// "anything may have changed".
func ParseAccessChange(payload string) (c AccessChange, ok bool) {
	kind, id, ok := strings.Cut(payload, " ")
	switch AccessKind(kind) {
	case AccessKey, AccessCustomer, AccessPlan, AccessServer:
		return AccessChange{Kind: AccessKind(kind), ID: id}, ok && id != ""
	}
	return AccessChange{}, false
}

// changeAccess runs write and announces change in one transaction: the
// notification leaves only if the change commits.
func (s *Store) changeAccess(ctx context.Context, kind AccessKind, id string, write func(tx *Store) error) error {
	return s.InTx(ctx, func(tx *Store) error {
		if err := write(tx); err != nil {
			return err
		}
		return tx.Notify(ctx, AccessTopic, string(kind)+" "+id)
	})
}
