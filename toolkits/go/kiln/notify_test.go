package kiln

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestAnnotationsInTheManifest: a tool's title and annotations go into the
// manifest as MCP spells them; a hint left nil keeps MCP's default (it is
// absent), one set to false is written.
func TestAnnotationsInTheManifest(t *testing.T) {
	m := Module{Tools: []Tool{
		NewTool("greet", "Greets someone", greet).WithTitle("Greeter").
			WithAnnotations(Annotations{ReadOnlyHint: true, OpenWorldHint: Bool(false)}),
		NewTool("plain", "", greet),
	}}
	doc, err := m.manifest()
	if err != nil {
		t.Fatal(err)
	}
	var man struct {
		ABI   int `json:"abi"`
		Tools []struct {
			Title       string         `json:"title"`
			Annotations map[string]any `json:"annotations"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(doc, &man); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"readOnlyHint": true, "openWorldHint": false}
	if man.ABI != 2 || man.Tools[0].Title != "Greeter" || !reflect.DeepEqual(man.Tools[0].Annotations, want) ||
		man.Tools[1].Title != "" || man.Tools[1].Annotations != nil {
		t.Fatalf("manifest %s", doc)
	}
}

// TestLogAndProgressReachTheCallsHost: inside a handler, Log and Progress
// go to the host of the call (the context carries it) in the ABI's form.
func TestLogAndProgressReachTheCallsHost(t *testing.T) {
	handler := func(ctx context.Context, _ struct{}) (string, error) {
		Progress(ctx, 1, 3, "first")
		Progress(ctx, 2, 0, "")
		Log(ctx, LevelInfo, "plain")
		Log(ctx, LevelWarning, "with attrs", "page", 3, "ok", true, 7)
		Logger{Name: "cache"}.Log(ctx, LevelDebug, `a "quoted" miss`)
		Log(ctx, Level(99), "clamped")
		return "done", nil
	}
	var rec recorder
	m := Module{Tools: []Tool{NewTool("t", "", handler)}}
	if status := serve(m, []string{"t"}, strings.NewReader("{}"), &rec); status != 0 {
		t.Fatalf("status %d", status)
	}
	wantProgress := []string{"1/3 first", "2/0 "}
	wantLogs := []string{
		`info {"logger":"","data":"plain"}`,
		`warning {"logger":"","data":{"msg":"with attrs","page":3,"ok":true,"!BADKEY":7}}`,
		`debug {"logger":"cache","data":"a \"quoted\" miss"}`,
		`emergency {"logger":"","data":"clamped"}`,
	}
	if !reflect.DeepEqual(rec.reports, wantProgress) || !reflect.DeepEqual(rec.logs, wantLogs) {
		t.Fatalf("progress %q\nlogs %q", rec.reports, rec.logs)
	}
}

// TestLogShortensLargeMessages: a message too large for the host is
// shortened to fit rather than dropped by it.
func TestLogShortensLargeMessages(t *testing.T) {
	doc := logDocument("x", strings.Repeat("\x01", 10_000), []any{"k", "v"})
	if len(doc) > maxLogMessage || !strings.Contains(string(doc), "[shortened]") || !json.Valid(doc) {
		t.Fatalf("%d bytes: %.100s", len(doc), doc)
	}
}
