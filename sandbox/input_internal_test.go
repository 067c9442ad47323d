package sandbox

import (
	"strings"
	"testing"
)

// TestInputRequestFieldCase: a top-level field spelled as a known one but
// for case is refused, so that the check (encoding/json structs, case
// insensitive) and the reading of key and defer (exact) cannot disagree:
// {"DEFER":true,"KEY":"k2"} would pass as deferred under k2 and be asked
// as elicit-1, not deferred.
func TestInputRequestFieldCase(t *testing.T) {
	schema := `"requestedSchema":{"type":"object","properties":{}}`
	for _, c := range []struct {
		kind InputKind
		doc  string
		want string // "" when accepted
	}{
		{InputElicit, `{"defer":true,"key":"k2","message":"m",` + schema + `}`, ""},
		{InputElicit, `{"DEFER":true,"KEY":"k2","message":"m",` + schema + `}`, "must be spelled"},
		{InputElicit, `{"Key":"k2","message":"m",` + schema + `}`, `"Key" must be spelled "key"`},
		{InputElicit, `{"\u212aey":"k2","message":"m",` + schema + `}`, "must be spelled"}, // KELVIN SIGN folds to k
		{InputElicit, `{"MESSAGE":"m",` + schema + `}`, `must be spelled "message"`},
		{InputSample, `{"messages":[{}],"MaxTokens":5}`, `must be spelled "maxTokens"`},
		{InputRoots, `{"Defer":true}`, `must be spelled "defer"`},
		{InputRoots, `{"defer":true}`, ""},
	} {
		err := checkInputRequest(c.kind, []byte(c.doc))
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s %s: got %v, want %q", c.kind, c.doc, err, c.want)
		}
	}
	q := newInputRequest(InputElicit, []byte(`{"defer":true,"key":"k2","message":"m"}`), 0)
	if !q.Deferred || q.Key != "k2" {
		t.Fatalf("the exact spelling is read: %+v", q)
	}
}
