package api_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/signing"
	"github.com/kilnhq/kiln/pkg/testmodules"
)

type libraryJSON struct {
	Name, Version, Description, Signer string
	ModuleHash                         string `json:"module_hash"`
	MinTier                            string `json:"min_tier"`
	Deprecated                         bool
	Tools                              []struct{ Name string }
}

func TestLibraryUpload(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		module := echoWasm(t)
		fields := map[string]string{"name": "echo", "version": "1.0.0", "min_tier": "free"}
		var lib libraryJSON
		h.upload(fields, module, h.sign(module)).want(t, 201).decode(t, &lib)
		if lib.Name != "echo" || lib.Signer != h.libKey.Public().ID() || len(lib.Tools) != 1 || lib.Tools[0].Name != "echo" ||
			!strings.HasPrefix(lib.Description, "Returns its arguments") {
			t.Fatalf("library module %+v", lib)
		}
		stored, err := h.store.ModuleData(t.Context(), lib.ModuleHash)
		if err != nil || !bytes.Equal(stored, module) {
			t.Fatalf("stored module: %v", err)
		}
		// Versions are immutable.
		h.upload(fields, module, h.sign(module)).want(t, 409)

		var versions struct{ Items []libraryJSON }
		h.upload(map[string]string{"name": "echo", "version": "1.1.0", "min_tier": "pro", "description": "newer"},
			echoVariant(t, "1.1"), h.sign(echoVariant(t, "1.1"))).want(t, 201)
		h.admin("GET", "/library/echo", nil).want(t, 200).decode(t, &versions)
		if len(versions.Items) != 2 || versions.Items[0].Version != "1.1.0" || versions.Items[0].Description != "newer" {
			t.Fatalf("versions %+v", versions)
		}
		h.admin("GET", "/library/nothing", nil).want(t, 404)
		h.admin("GET", "/library/Bad_Name", nil).want(t, 400)

		// Deprecate and restore; change the minimum tier.
		var changed libraryJSON
		h.admin("PATCH", "/library/echo/1.0.0", map[string]any{"deprecated": true, "min_tier": "enterprise"}).want(t, 200).decode(t, &changed)
		if !changed.Deprecated || changed.MinTier != "enterprise" {
			t.Fatalf("after PATCH %+v", changed)
		}
		h.admin("PATCH", "/library/echo/1.0.0", map[string]any{}).want(t, 400)
		h.admin("PATCH", "/library/echo/1.0.0", map[string]any{"min_tier": "gold"}).want(t, 422)
		h.admin("PATCH", "/library/echo/9.9.9", map[string]any{"deprecated": true}).want(t, 404)
		var all struct{ Items []libraryJSON }
		h.admin("GET", "/library", nil).want(t, 200).decode(t, &all)
		if len(all.Items) != 2 {
			t.Fatalf("the operator's list leaves out deprecated versions: %+v", all)
		}

		var log struct {
			Items []struct{ Action, Target string }
		}
		h.admin("GET", "/audit?actor=operator", nil).want(t, 200).decode(t, &log)
		var got []string
		for _, e := range log.Items {
			got = append(got, e.Action+" "+e.Target)
		}
		want := "library.tier echo@1.0.0,library.deprecate echo@1.0.0,library.upload echo@1.1.0,library.upload echo@1.0.0"
		if strings.Join(got, ",") != want {
			t.Fatalf("audit %v", got)
		}
	})
}

// TestLibraryUploadRefusesUnsignedAndTampered: signature verification is
// required, and an upload that fails it stores nothing.
func TestLibraryUploadRefusesUnsignedAndTampered(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		module := echoWasm(t)
		sig := h.sign(module)
		tampered := bytes.Clone(module)
		tampered[len(tampered)-1] ^= 0x01
		stranger, err := signing.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		strangerSig, err := signing.Sign(stranger, module)
		if err != nil {
			t.Fatal(err)
		}
		fields := map[string]string{"name": "echo", "version": "1.0.0", "min_tier": "free"}
		for _, tc := range []struct {
			name   string
			module []byte
			sig    []byte
			status int
			want   string
		}{
			{"unsigned", module, nil, 400, "unsigned"},
			{"tampered module", tampered, sig, 422, "not the one that was signed"},
			{"manifest swapped", echoVariant(t, "evil"), sig, 422, "not the one that was signed"},
			{"untrusted key", module, strangerSig.Marshal(), 422, "not trusted"},
			{"garbage signature", module, []byte(`{"format":"x"}`), 422, "malformed signature"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				msg := h.upload(fields, tc.module, tc.sig).want(t, tc.status).errorMessage(t)
				if !strings.Contains(msg, tc.want) {
					t.Fatalf("message %q does not say %q", msg, tc.want)
				}
			})
		}
		var all struct{ Items []libraryJSON }
		h.admin("GET", "/library", nil).want(t, 200).decode(t, &all)
		if len(all.Items) != 0 {
			t.Fatalf("a refused upload was stored: %+v", all)
		}
	})
}

func TestLibraryUploadValidates(t *testing.T) {
	h := newHarness(t, sqliteStore(t))
	module := echoWasm(t)
	sig := h.sign(module)
	ok := map[string]string{"name": "echo", "version": "1.0.0", "min_tier": "free"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for key, val := range ok {
			m[key] = val
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	h.upload(ok, nil, sig).want(t, 400)
	h.upload(with("name", ""), module, sig).want(t, 400)
	h.upload(with("name", "Echo!"), module, sig).want(t, 400)
	h.upload(with("version", "1 0"), module, sig).want(t, 400)
	h.upload(with("min_tier", ""), module, sig).want(t, 400)
	h.upload(with("min_tier", "gold"), module, sig).want(t, 422)
	h.upload(with("color", "blue"), module, sig).want(t, 400)
	h.raw("POST", "/api/v1/admin/library", operatorToken, "application/json", strings.NewReader(`{}`)).want(t, 415)
	h.raw("POST", "/api/v1/admin/library", operatorToken, "multipart/form-data; boundary=x", strings.NewReader("garbage")).want(t, 400)

	// A module the sandbox refuses is a 422 with its reason, even signed.
	bad := testmodules.WAT(t, "sandbox/testdata/wat/badimport.wasm")
	msg := h.upload(with("name", "bad"), bad, h.sign(bad)).want(t, 422).errorMessage(t)
	if !strings.Contains(msg, "the module was refused") || !strings.Contains(msg, "imports") {
		t.Fatalf("bad module: %q", msg)
	}
	notWasm := []byte("definitely not wasm")
	h.upload(with("name", "junk"), notWasm, sig).want(t, 422)
}

// TestLibraryTierGate: a free customer cannot add a pro-only library
// module; a pro customer can, and so can the free customer once moved to
// pro.
func TestLibraryTierGate(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.publish("fetch", "1.0.0", "pro", echoVariant(t, "fetch"))
		h.publish("echo", "1.0.0", "free", echoWasm(t))

		freeID, freeKey := h.customer("free")
		_, proKey := h.customer("pro")

		var avail struct {
			Items []struct {
				Name      string
				Available bool
			}
		}
		h.do("GET", "/api/v1/library", freeKey, nil).want(t, 200).decode(t, &avail)
		if len(avail.Items) != 2 || avail.Items[0].Name != "echo" || !avail.Items[0].Available || avail.Items[1].Available {
			t.Fatalf("free customer's library %+v", avail)
		}

		add := map[string]any{"library": map[string]any{"name": "fetch"}}
		freeSrv := h.server(freeKey, "mine")
		r := h.do("POST", "/api/v1/servers/"+freeSrv.ID+"/tools", freeKey, add).want(t, 403)
		var refusal struct {
			Error, Limit, Plan string
			RequiredTier       string `json:"required_tier"`
		}
		r.decode(t, &refusal)
		if refusal.Limit != "library_tier" || refusal.Plan != "free" || refusal.RequiredTier != "pro" ||
			!strings.Contains(refusal.Error, "needs the pro plan") {
			t.Fatalf("refusal %+v", refusal)
		}
		h.do("POST", "/api/v1/servers/"+freeSrv.ID+"/tools", freeKey, map[string]any{"library": map[string]any{"name": "echo"}}).want(t, 201)

		proSrv := h.server(proKey, "mine")
		var tool struct {
			Name    string
			Current struct {
				Source         string
				LibraryName    *string `json:"library_name"`
				LibraryVersion *string `json:"library_version"`
			}
		}
		h.do("POST", "/api/v1/servers/"+proSrv.ID+"/tools", proKey, add).want(t, 201).decode(t, &tool)
		if tool.Name != "echo" || tool.Current.Source != "library" || *tool.Current.LibraryName != "fetch" || *tool.Current.LibraryVersion != "1.0.0" {
			t.Fatalf("tool %+v", tool)
		}

		h.admin("PUT", "/customers/"+freeID+"/tier", map[string]any{"tier": "pro"}).want(t, 200)
		h.do("POST", "/api/v1/servers/"+freeSrv.ID+"/tools", freeKey, map[string]any{"library": map[string]any{"name": "fetch"}, "name": "fetch"}).want(t, 201)
	})
}

func TestLibraryVersionsForNewTools(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.publish("echo", "1.0.0", "free", echoVariant(t, "one"))
		h.publish("echo", "2.0.0", "free", echoVariant(t, "two"))
		_, key := h.customer("free")
		srv := h.server(key, "s")
		add := func(name, version string, status int) resp {
			lib := map[string]any{"name": "echo"}
			if version != "" {
				lib["version"] = version
			}
			return h.do("POST", "/api/v1/servers/"+srv.ID+"/tools", key, map[string]any{"name": name, "library": lib}).want(t, status)
		}
		var tool struct {
			Current struct {
				LibraryVersion string `json:"library_version"`
			}
		}
		add("latest", "", 201).decode(t, &tool)
		if tool.Current.LibraryVersion != "2.0.0" {
			t.Fatalf("latest picked %s", tool.Current.LibraryVersion)
		}
		h.admin("PATCH", "/library/echo/2.0.0", map[string]any{"deprecated": true}).want(t, 200)
		add("after-deprecation", "", 201).decode(t, &tool)
		if tool.Current.LibraryVersion != "1.0.0" {
			t.Fatalf("a deprecated version was picked: %s", tool.Current.LibraryVersion)
		}
		add("pinned-deprecated", "2.0.0", 409)
		add("missing", "3.0.0", 404)
		h.do("POST", "/api/v1/servers/"+srv.ID+"/tools", key, map[string]any{"library": map[string]any{"name": "nothing"}}).want(t, 404)
		h.admin("PATCH", "/library/echo/1.0.0", map[string]any{"deprecated": true}).want(t, 200)
		add("all-deprecated", "", 409)
		var avail struct{ Items []any }
		h.do("GET", "/api/v1/library", key, nil).want(t, 200).decode(t, &avail)
		if len(avail.Items) != 0 {
			t.Fatalf("deprecated versions offered: %+v", avail)
		}
	})
}
