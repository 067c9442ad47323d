package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/websession"
)

// signedIn creates an owner of the customer and a browser session for
// them, returning the session cookie's value.
func (h *harness) signedIn(customerID string, expires time.Time) (userID, cookie string) {
	h.t.Helper()
	return h.signedInAs(customerID, store.RoleOwner, expires)
}

// signedInAs is signedIn for a user with the given role.
func (h *harness) signedInAs(customerID, role string, expires time.Time) (userID, cookie string) {
	h.t.Helper()
	u := store.User{CustomerID: customerID, Email: role + "@example.com", DisplayName: "Wiz", Role: role}
	if err := h.store.CreateUser(h.t.Context(), &u); err != nil {
		h.t.Fatal(err)
	}
	cookie = "session-" + u.ID
	if err := h.store.CreateUserSession(h.t.Context(), store.HashOAuthSecret(cookie), u.ID, expires); err != nil {
		h.t.Fatal(err)
	}
	return u.ID, cookie
}

// TestBrowserSession: the wizard's signed-in session authenticates the user
// API like an API key of its customer; requests that change something need
// the session's CSRF token; expired or unknown sessions are refused.
func TestBrowserSession(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		custID, key := h.customer("free")
		h.server(key, "existing")
		userID, cookie := h.signedIn(custID, time.Now().Add(time.Hour))
		withCookie := []string{"Cookie", websession.CookieName + "=" + cookie}

		var sess struct {
			User       struct{ ID, Email string }
			CustomerID string `json:"customer_id"`
			CSRFToken  string `json:"csrf_token"`
		}
		h.do("GET", "/api/v1/session", "", nil, withCookie...).want(t, 200).decode(t, &sess)
		if sess.User.ID != userID || sess.CustomerID != custID || len(sess.CSRFToken) < 40 || strings.Contains(sess.CSRFToken, cookie) {
			t.Fatalf("session: %+v", sess)
		}
		// Reads need no token.
		var servers struct{ Items []serverJSON }
		h.do("GET", "/api/v1/servers", "", nil, withCookie...).want(t, 200).decode(t, &servers)
		if len(servers.Items) != 1 {
			t.Fatalf("the session sees %d servers of its customer, want 1", len(servers.Items))
		}
		// A change without the token, or with a wrong one, is refused.
		msg := h.do("POST", "/api/v1/servers", "", map[string]string{"name": "new"}, withCookie...).want(t, 403).errorMessage(t)
		if !strings.Contains(msg, websession.CSRFHeader) {
			t.Fatalf("no-token message: %q", msg)
		}
		h.do("POST", "/api/v1/servers", "", map[string]string{"name": "new"},
			append(withCookie, websession.CSRFHeader, sess.CSRFToken+"x")...).want(t, 403)
		// With it, the change is made and audited as the user.
		h.do("POST", "/api/v1/servers", "", map[string]string{"name": "new"},
			append(withCookie, websession.CSRFHeader, sess.CSRFToken)...).want(t, 201)
		entries, err := h.store.ListAudit(t.Context(), store.AuditFilter{CustomerID: custID})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) == 0 || entries[0].Actor != "user:"+userID {
			t.Fatalf("audit actor: %+v", entries)
		}
		// An API key describes no session.
		h.do("GET", "/api/v1/session", key, nil).want(t, 400)
		// An API key wins over a cookie (non-browser clients never need the token).
		h.do("POST", "/api/v1/servers", key, map[string]string{"name": "by-key"}, withCookie...).want(t, 201)

		// Unknown and expired sessions are 401 with a way forward.
		for _, c := range []string{"not-a-session", expiredSession(t, h, custID)} {
			msg := h.do("GET", "/api/v1/servers", "", nil, "Cookie", websession.CookieName+"="+c).want(t, 401).errorMessage(t)
			if !strings.Contains(msg, "sign in again") {
				t.Fatalf("stale session message: %q", msg)
			}
		}
		// Another customer's session sees only its own servers.
		other, _ := h.customer("free")
		_, otherCookie := h.signedIn(other, time.Now().Add(time.Hour))
		h.do("GET", "/api/v1/servers/"+servers.Items[0].ID, "", nil, "Cookie", websession.CookieName+"="+otherCookie).want(t, 404)
	})
}

func expiredSession(t *testing.T, h *harness, custID string) string {
	t.Helper()
	_, c := h.signedIn(custID, time.Now().Add(-time.Second))
	return c
}
