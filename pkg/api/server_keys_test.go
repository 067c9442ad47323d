package api_test

import (
	"strings"
	"testing"
)

// TestServerKeys: an owner issues a key for one server (shown once),
// lists the server's keys without it, and revokes it; the key is scoped:
// the user API refuses it, and another server's keys are out of reach.
func TestServerKeys(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		_, key := h.customer("free")
		srv := h.server(key, "s")
		other := h.server(key, "other")
		path := "/api/v1/servers/" + srv.ID + "/keys"

		var created struct {
			ID, Name, Prefix, Key string
			ServerID              *string `json:"server_id"`
		}
		h.do("POST", path, key, map[string]any{"name": "laptop"}).want(t, 201).decode(t, &created)
		if !strings.HasPrefix(created.Key, created.Prefix) || created.ServerID == nil || *created.ServerID != srv.ID || created.Name != "laptop" {
			t.Fatalf("created %+v", created)
		}
		h.do("POST", "/api/v1/servers/"+other.ID+"/keys", key, map[string]any{}).want(t, 201)

		var list struct {
			Items []struct {
				ID, Key   string
				RevokedAt *string `json:"revoked_at"`
			}
		}
		h.do("GET", path, key, nil).want(t, 200).decode(t, &list)
		if len(list.Items) != 1 || list.Items[0].ID != created.ID || list.Items[0].Key != "" {
			t.Fatalf("listed %+v, want only this server's key, without the key", list)
		}
		// Scoped to MCP: the user API refuses it.
		h.do("GET", "/api/v1/servers", created.Key, nil).want(t, 403)

		h.do("DELETE", "/api/v1/servers/"+other.ID+"/keys/"+created.ID, key, nil).want(t, 404)
		h.do("DELETE", path+"/"+created.ID, key, nil).want(t, 204)
		h.do("GET", path, key, nil).want(t, 200).decode(t, &list)
		if list.Items[0].RevokedAt == nil {
			t.Fatalf("revoked key listed as %+v", list.Items[0])
		}
		h.do("GET", "/api/v1/servers", created.Key, nil).want(t, 401)

		h.do("POST", path, key, map[string]any{"name": strings.Repeat("n", 101)}).want(t, 400)
		h.do("POST", path, key, map[string]any{"nope": 1}).want(t, 400)
		h.do("POST", "/api/v1/servers/srv_nope/keys", key, map[string]any{}).want(t, 404)
		h.do("GET", "/api/v1/servers/srv_nope/keys", key, nil).want(t, 404)
		h.do("DELETE", path+"/key_nope", key, nil).want(t, 404)
	})
}

// TestServerKeyLimitedToTools: a server key may be limited to some tools
// (listed back on the key); null, an empty list, a bad name, a name twice
// or more than 256 names are refused with a 400 saying so.
func TestServerKeyLimitedToTools(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		_, key := h.customer("free")
		path := "/api/v1/servers/" + h.server(key, "s").ID + "/keys"
		var created struct{ Tools []string }
		h.do("POST", path, key, map[string]any{"name": "one", "tools": []string{"echo", "count.words"}}).want(t, 201).decode(t, &created)
		if strings.Join(created.Tools, ",") != "echo,count.words" {
			t.Fatalf("created key's tools %v", created.Tools)
		}
		var list struct{ Items []struct{ Tools []string } }
		h.do("GET", path, key, nil).want(t, 200).decode(t, &list)
		if len(list.Items) != 1 || len(list.Items[0].Tools) != 2 {
			t.Fatalf("listed %+v", list)
		}
		many := make([]string, 257)
		for i := range many {
			many[i] = "t" + strings.Repeat("x", i%60) + string(rune('a'+i%26)) + strings.Repeat("y", i/26)
		}
		for _, tools := range []any{nil, []string{}, []string{"has space"}, []string{"a", "a"}, many, []string{strings.Repeat("n", 65)}, "echo", []any{1}} {
			if r := h.do("POST", path, key, map[string]any{"tools": tools}).want(t, 400); !strings.Contains(string(r.body), "tools") {
				t.Errorf("tools %v: %s", tools, r.body)
			}
		}
	})
}
