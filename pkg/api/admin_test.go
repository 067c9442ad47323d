package api_test

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestCustomersAndTiers(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		var c struct{ ID, Name, Tier string }
		h.admin("POST", "/customers", map[string]any{"name": "Acme", "tier": "free"}).want(t, 201).decode(t, &c)
		if c.Name != "Acme" || c.Tier != "free" || !strings.HasPrefix(c.ID, "cus_") {
			t.Fatalf("customer %+v", c)
		}
		var all struct{ Items []struct{ ID string } }
		h.admin("GET", "/customers", nil).want(t, 200).decode(t, &all)
		if len(all.Items) != 1 || all.Items[0].ID != c.ID {
			t.Fatalf("list %+v", all)
		}
		h.admin("GET", "/customers/"+c.ID, nil).want(t, 200)
		h.admin("GET", "/customers/cus_nope", nil).want(t, 404)

		// A tier is a plan that exists; it is never guessed.
		if msg := h.admin("POST", "/customers", map[string]any{"name": "x", "tier": "gold"}).want(t, 422).errorMessage(t); !strings.Contains(msg, `"gold"`) {
			t.Errorf("unknown plan: %q", msg)
		}
		h.admin("POST", "/customers", map[string]any{"name": "x"}).want(t, 400)
		h.admin("POST", "/customers", map[string]any{"name": " ", "tier": "free"}).want(t, 400)
		h.admin("POST", "/customers", map[string]any{"name": strings.Repeat("n", 101), "tier": "free"}).want(t, 400)

		var moved struct{ Tier string }
		h.admin("PUT", "/customers/"+c.ID+"/tier", map[string]any{"tier": "pro"}).want(t, 200).decode(t, &moved)
		if moved.Tier != "pro" {
			t.Fatalf("tier %q after the move", moved.Tier)
		}
		h.admin("PUT", "/customers/"+c.ID+"/tier", map[string]any{"tier": "platinum"}).want(t, 422)
		h.admin("PUT", "/customers/cus_nope/tier", map[string]any{"tier": "pro"}).want(t, 404)

		// The tier change is audited with the operator as actor.
		var log struct {
			Items []struct {
				Actor, Action, Target string
				CustomerID            *string `json:"customer_id"`
				Details               map[string]any
			}
		}
		h.admin("GET", "/audit?action=customer.tier", nil).want(t, 200).decode(t, &log)
		if len(log.Items) != 1 || log.Items[0].Actor != "operator" || log.Items[0].Details["from"] != "free" ||
			log.Items[0].Details["to"] != "pro" || *log.Items[0].CustomerID != c.ID {
			t.Fatalf("audit %+v", log)
		}
	})
}

func TestAPIKeys(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		custID, _ := h.customer("free")
		var k struct {
			ID, Key, Prefix string
		}
		h.admin("POST", "/customers/"+custID+"/keys", map[string]any{"name": "ci"}).want(t, 201).decode(t, &k)
		if !regexp.MustCompile(`^kiln_[a-z2-7]{26}$`).MatchString(k.Key) || !strings.HasPrefix(k.Key, k.Prefix) {
			t.Fatalf("key %+v", k)
		}
		// Shown once: listing never returns a key.
		r := h.admin("GET", "/customers/"+custID+"/keys", nil).want(t, 200)
		if strings.Contains(string(r.body), k.Key) || strings.Contains(string(r.body), `"key"`) {
			t.Fatalf("a key was listed: %s", r.body)
		}
		h.do("GET", "/api/v1/account", k.Key, nil).want(t, 200)

		h.admin("DELETE", "/customers/"+custID+"/keys/"+k.ID, nil).want(t, 204)
		h.do("GET", "/api/v1/account", k.Key, nil).want(t, 401)
		h.admin("DELETE", "/customers/"+custID+"/keys/key_nope", nil).want(t, 404)

		// Expiry, and keys for a server that is not the customer's.
		h.admin("POST", "/customers/"+custID+"/keys", map[string]any{"expires_at": time.Now().Add(-time.Hour)}).want(t, 400)
		h.admin("POST", "/customers/"+custID+"/keys", map[string]any{"server_id": "srv_nope"}).want(t, 422)
		h.admin("POST", "/customers/cus_nope/keys", map[string]any{}).want(t, 404)

		var log struct {
			Items []struct{ Action, Target string }
		}
		h.admin("GET", "/audit?customer="+custID, nil).want(t, 200).decode(t, &log)
		var actions []string
		for _, e := range log.Items {
			actions = append(actions, e.Action)
		}
		if got := strings.Join(actions, " "); got != "apikey.revoke apikey.create apikey.create customer.create" {
			t.Fatalf("audit actions, newest first: %s", got)
		}
	})
}

func TestAuditPaging(t *testing.T) {
	h := newHarness(t, sqliteStore(t))
	for range 5 {
		h.customer("free")
	}
	var page struct {
		Items      []struct{ ID int64 }
		NextBefore *int64 `json:"next_before"`
	}
	h.admin("GET", "/audit?limit=4", nil).want(t, 200).decode(t, &page)
	if len(page.Items) != 4 || page.NextBefore == nil || *page.NextBefore != page.Items[3].ID {
		t.Fatalf("first page %+v", page)
	}
	var rest struct {
		Items      []struct{ ID int64 }
		NextBefore *int64 `json:"next_before"`
	}
	h.admin("GET", "/audit?limit=100&before="+itoa(*page.NextBefore), nil).want(t, 200).decode(t, &rest)
	if len(rest.Items) != 6 || rest.NextBefore != nil || rest.Items[0].ID >= *page.NextBefore {
		t.Fatalf("second page %+v", rest)
	}
	h.admin("GET", "/audit?limit=501", nil).want(t, 400)
	h.admin("GET", "/audit?before=-1", nil).want(t, 400)
	h.admin("GET", "/audit?limit=x", nil).want(t, 400)
}
