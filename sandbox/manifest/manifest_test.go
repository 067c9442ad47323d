package manifest

import (
	"bytes"
	"strings"
	"testing"
)

// minimal is the smallest valid module: the header and nothing else.
var minimal = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

func TestEmbedAndExtract(t *testing.T) {
	first := []byte(`{"abi":1,"tools":[{"name":"a","inputSchema":{"type":"object"}}]}`)
	second := []byte(`{"abi":1,"tools":[{"name":"b","inputSchema":{"type":"object"}}]}`)
	wasm, err := Embed(minimal, first)
	if err != nil {
		t.Fatal(err)
	}
	wasm, err = Embed(wasm, second) // replaces, never duplicates
	if err != nil {
		t.Fatal(err)
	}
	got, found, err := Extract(wasm)
	if err != nil || !found || !bytes.Equal(got, second) {
		t.Fatalf("Extract = %s, %v, %v", got, found, err)
	}
	if _, found, _ := Extract(minimal); found {
		t.Fatal("found a manifest in an empty module")
	}
}

func TestTwoManifestSectionsAreAnError(t *testing.T) {
	one, _ := Embed(minimal, []byte(`{}`))
	two := append(append([]byte(nil), one...), one[8:]...)
	if _, _, err := Extract(two); err == nil || !strings.Contains(err.Error(), "more than one") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseRejects(t *testing.T) {
	obj := `"inputSchema":{"type":"object"}`
	for doc, want := range map[string]string{
		`{"abi":1,"tools":[]}`:                         "no tools",
		`{"abi":0,"tools":[{"name":"a",` + obj + `}]}`: "abi version 0",
		`{"abi":3,"tools":[{"name":"a",` + obj + `}]}`: "abi version 3",
		// Annotations are an abi 2 field: a version 1 manifest refuses them.
		`{"abi":1,"tools":[{"name":"a",` + obj + `,"annotations":{"readOnlyHint":true}}]}`:                               "annotations need abi 2",
		`{"abi":2,"tools":[{"name":"a",` + obj + `,"annotations":{"readOnly":true}}]}`:                                   `unknown field "readOnly"`,
		`{"abi":2,"tools":[{"name":"a",` + obj + `,"annotations":{"readOnlyHint":1}}]}`:                                  "not a valid manifest",
		`{"abi":2,"tools":[{"name":"a",` + obj + `,"title":"` + strings.Repeat("t", MaxTitle+1) + `"}]}`:                 "title is 257 bytes",
		`{"abi":2,"tools":[{"name":"a",` + obj + `,"annotations":{"title":"` + strings.Repeat("t", MaxTitle+1) + `"}}]}`: "annotations.title is 257 bytes",
		`{"abi":2,"tools":[{"name":"a",` + obj + `,"title":"two\nlines"}]}`:                                              "control character",
		`{"abi":2,"tools":[{"name":"a",` + obj + `}],"prompt":[]}`:                                                       `unknown field "prompt"`,
		`{"abi":1,"tools":[{"name":"a b",` + obj + `}]}`:                                                                 `name "a b"`,
		`{"abi":1,"tools":[{"name":"a:b",` + obj + `}]}`:                                                                 `name "a:b"`,
		`{"abi":1,"tools":[{"name":"a"}]}`:                                                                               "inputSchema is missing",
		`{"abi":1,"tools":[{"name":"a","inputSchema":[]}]}`:                                                              "must be a JSON object",
		`{"abi":1,"tools":[{"name":"a",` + obj + `},{"name":"a",` + obj + `}]}`:                                          "declared twice",
		`{"abi":1,"tools":[{"name":"a",` + obj + `,"outputSchema":{"type":"array"}}]}`:                                   "outputSchema",
		`{"abi":1,"tools":[{"name":"a",` + obj + `}],"env":[{"name":"lower"}]}`:                                          `name "lower"`,
		`{"abi":1,"tools":[{"name":"a",` + obj + `}],"env":[{"name":"KILN_X"}]}`:                                         "reserved",
		`{"abi":1,"tools":[{"name":"a",` + obj + `}],"env":[{"name":"A"},{"name":"A"}]}`:                                 "declared twice",
		`{"abi":1,"tools":[{"name":"a",` + obj + `}],"egress":["http://"]}`:                                              "host name pattern",
		`{"abi":1,"tools":[{"name":"a",` + obj + `}],"egress":["a.com/path"]}`:                                           "host name pattern",
		`{"abi":1,"tools":[{"name":"a",` + obj + `}]} {}`:                                                                "trailing data",
		`{"abi":1,"tools":[{"name":"a",` + obj + `}],"preopens":["/"]}`:                                                  `unknown field "preopens"`,
		strings.Repeat(" ", MaxSize+1):                                                                                   "bytes, more than",
	} {
		_, err := Parse([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%.80s): err = %v, want %q", doc, err, want)
		}
	}
}

func TestParseAccepts(t *testing.T) {
	m, err := Parse([]byte(`{"abi":1,"tools":[{"name":"get.weather_v2","inputSchema":{"type":"object"}}],
		"env":[{"name":"API_KEY","secret":true}],"egress":["api.weather.gov","*.example.com","https://x.io:8443"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Tool("get.weather_v2"); !ok {
		t.Error("tool not found")
	}
	if e, ok := m.EnvVar("API_KEY"); !ok || !e.Secret {
		t.Error("env var not found")
	}
}

// TestParseAcceptsVersion2: annotations arrive as MCP defines them, an
// absent hint staying absent (nil) so that its MCP default applies; a
// version 1 manifest still parses as before.
func TestParseAcceptsVersion2(t *testing.T) {
	m, err := Parse([]byte(`{"abi":2,"tools":[{"name":"delete_row","title":"Delete a row","inputSchema":{"type":"object"},
		"annotations":{"title":"Delete","destructiveHint":true,"idempotentHint":true,"openWorldHint":false}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	tool, _ := m.Tool("delete_row")
	a := tool.Annotations
	if m.ABI != 2 || tool.Title != "Delete a row" || a == nil || a.Title != "Delete" || a.ReadOnlyHint || !a.IdempotentHint ||
		a.DestructiveHint == nil || !*a.DestructiveHint || a.OpenWorldHint == nil || *a.OpenWorldHint {
		t.Fatalf("parsed %+v, annotations %+v", tool, a)
	}
	v1, err := Parse([]byte(`{"abi":1,"tools":[{"name":"a","title":"` + strings.Repeat("t", MaxTitle+1) + `","inputSchema":{"type":"object"}}]}`))
	if err != nil || v1.ABI != 1 {
		t.Fatalf("a version 1 manifest with a long title no longer parses: %v", err)
	}
}

func TestSectionsRejectsGarbage(t *testing.T) {
	for name, wasm := range map[string][]byte{
		"empty":           nil,
		"wrong magic":     []byte("\x00asn\x01\x00\x00\x00"),
		"version 2":       []byte("\x00asm\x02\x00\x00\x00"),
		"size past end":   append(append([]byte(nil), minimal...), 1, 10, 0),
		"truncated LEB":   append(append([]byte(nil), minimal...), 1, 0x80),
		"overlong LEB":    append(append([]byte(nil), minimal...), 1, 0xff, 0xff, 0xff, 0xff, 0x7f),
		"bad custom name": append(append([]byte(nil), minimal...), 0, 2, 5, 'a'),
	} {
		if _, err := Sections(wasm); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestMemoryMinPages(t *testing.T) {
	// memory section: id 5, size 4, one memory, flags 1 (has max), min 3, max 16
	wasm := append(append([]byte(nil), minimal...), 5, 4, 1, 1, 3, 16)
	if pages, err := MemoryMinPages(wasm); err != nil || pages != 3 {
		t.Fatalf("pages = %d, %v", pages, err)
	}
	if _, err := MemoryMinPages(append(append([]byte(nil), minimal...), 5, 1, 1)); err == nil {
		t.Fatal("accepted a truncated memory section")
	}
}

// FuzzSections: arbitrary bytes never panic, and embedding a manifest into
// anything Sections accepts yields a binary whose manifest reads back.
func FuzzSections(f *testing.F) {
	f.Add(minimal)
	one, _ := Embed(minimal, []byte(`{"abi":1}`))
	f.Add(one)
	f.Fuzz(func(t *testing.T, wasm []byte) {
		if _, err := Sections(wasm); err != nil {
			return
		}
		_, _ = MemoryMinPages(wasm)
		out, err := Embed(wasm, []byte("payload"))
		if err != nil {
			t.Fatalf("Embed failed on a binary Sections accepted: %v", err)
		}
		got, found, err := Extract(out)
		if err != nil || !found || string(got) != "payload" {
			t.Fatalf("Extract after Embed = %q, %v, %v", got, found, err)
		}
	})
}
