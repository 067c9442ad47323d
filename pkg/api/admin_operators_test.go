package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/websession"
)

// TestOperatorAccount: a user's browser session is refused by the operator
// API until an operator makes the user an operator account (by email);
// then it reads, changes with its CSRF token only, and the audit log names
// the user; revoked, it is refused again.
func TestOperatorAccount(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		custID, _ := h.customer("free")
		userID, cookie := h.signedIn(custID, time.Now().Add(time.Hour))
		withCookie := []string{"Cookie", websession.CookieName + "=" + cookie}
		var sess struct {
			CSRFToken string `json:"csrf_token"`
		}
		h.do("GET", "/api/v1/session", "", nil, withCookie...).want(t, 200).decode(t, &sess)
		withCSRF := append(withCookie, websession.CSRFHeader, sess.CSRFToken)

		if msg := h.do("GET", "/api/v1/admin/customers", "", nil, withCookie...).want(t, 403).errorMessage(t); !strings.Contains(msg, "not an operator") {
			t.Fatalf("a plain user's answer: %q", msg)
		}
		h.do("PUT", "/api/v1/admin/operators/nobody@example.com", operatorToken, nil).want(t, 404)
		var u struct {
			ID       string
			Operator bool
		}
		h.do("PUT", "/api/v1/admin/operators/owner@example.com", operatorToken, nil).want(t, 200).decode(t, &u)
		if u.ID != userID || !u.Operator {
			t.Fatalf("granted %+v", u)
		}

		h.do("GET", "/api/v1/admin/customers", "", nil, withCookie...).want(t, 200)
		h.do("POST", "/api/v1/admin/customers", "", map[string]string{"name": "Initech", "tier": "free"}, withCookie...).want(t, 403)
		h.do("POST", "/api/v1/admin/customers", "", map[string]string{"name": "Initech", "tier": "free"}, withCSRF...).want(t, 201)
		entries, err := h.store.ListAudit(t.Context(), store.AuditFilter{Action: "customer.create"})
		if err != nil || len(entries) == 0 || entries[0].Actor != "user:"+userID {
			t.Fatalf("audit %+v %v, want the customer created by user:%s", entries, err, userID)
		}
		grants, err := h.store.ListAudit(t.Context(), store.AuditFilter{Action: "user.operator"})
		if err != nil || len(grants) != 1 || grants[0].Actor != "operator" || grants[0].Target != userID {
			t.Fatalf("grant audit %+v %v", grants, err)
		}

		h.do("DELETE", "/api/v1/admin/operators/"+userID, "", nil, withCSRF...).want(t, 200)
		h.do("GET", "/api/v1/admin/customers", "", nil, withCookie...).want(t, 403)
	})
}
