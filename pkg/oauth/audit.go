package oauth

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/kilnhq/kiln/pkg/store"
)

// Audit actions of the authorization server. Every entry's details hold
// the client's address (client_address) and an outcome where there is one;
// never a password, code or token.
const (
	// ActionSignIn is a sign-in, local (details.method "local") or through
	// the upstream provider ("upstream"), that succeeded or failed
	// (details.outcome, and details.reason for a failure). Actor is
	// "user:ID" on success, "anonymous" otherwise; Target is "user:ID"
	// when the account is known. The username tried is not recorded:
	// people type passwords into it.
	ActionSignIn = "oauth.signin"
	// ActionConsent is a user's answer on the consent page
	// (details.outcome "granted" or "denied"), or a refusal because the
	// account cannot grant access to the server ("refused"). Target is the
	// client ID.
	ActionConsent = "oauth.consent"
	// ActionClientRegister is a dynamic client registration (RFC 7591).
	// Target is the new client ID. (Operators' registrations are recorded
	// by the operator API as "oauthclient.create".)
	ActionClientRegister = "oauthclient.register"
	// ActionFamilyRevoke is the revocation of a grant's tokens because a
	// rotated refresh token or a used code was presented again
	// (details.reason). Actor is "client:ID" (the presenter); Target is the
	// token family.
	ActionFamilyRevoke = "oauth.token_family_revoke"
)

// Audit outcomes and actors.
const (
	outcomeSuccess = "success"
	outcomeFailure = "failure"
	actorAnonymous = "anonymous"
)

// auditEvent is one audit log entry of the authorization server.
type auditEvent struct {
	action, actor, target string
	customerID            string // "" when there is none
	details               map[string]any
}

// recordAudit records e in st (the server's store, or a transaction's),
// adding the client's address to its details. The caller decides whether a
// failure stops what it records (successful sign-ins, consents and
// registrations do: none happens unrecorded) or is only logged.
func recordAudit(ctx context.Context, st *store.Store, e auditEvent) error {
	details := map[string]any{}
	for k, v := range e.details {
		details[k] = v
	}
	if addr := requestInfoFrom(ctx).addr; addr != "" {
		details["client_address"] = addr
	}
	doc, err := json.Marshal(details)
	if err != nil {
		return fmt.Errorf("oauth: encoding the audit record of %s: %w", e.action, err)
	}
	entry := store.AuditEntry{Actor: e.actor, Action: e.action, Target: e.target, Details: doc}
	if e.customerID != "" {
		entry.CustomerID = &e.customerID
	}
	if err := st.RecordAudit(ctx, &entry); err != nil {
		return fmt.Errorf("oauth: audit record of %s: %w", e.action, err)
	}
	return nil
}

// userActor is the actor (and target) naming a user.
func userActor(userID string) string { return "user:" + userID }

// customerOf returns the customer of a user, or "" when it cannot be read
// (the entry is still worth recording without it).
func (s *Server) customerOf(ctx context.Context, userID string) string {
	if userID == "" {
		return ""
	}
	u, err := s.store.User(ctx, userID)
	if err != nil {
		s.log.WarnContext(ctx, "reading a user for the audit log", "user", userID, "error", err)
		return ""
	}
	return u.CustomerID
}
