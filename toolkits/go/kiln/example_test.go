package kiln_test

import (
	"context"
	"fmt"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type importIn struct {
	URLs []string `json:"urls" description:"Pages to import"`
}

type importOut struct {
	Imported int `json:"imported"`
}

// importPages reports progress after each page and logs what it skips; the
// agent's client sees both while the call runs.
func importPages(ctx context.Context, in importIn) (importOut, error) {
	var out importOut
	for i, url := range in.URLs {
		kiln.Progress(ctx, float64(i+1), float64(len(in.URLs)), "imported "+url)
		if url == "" {
			kiln.Log(ctx, kiln.LevelWarning, "skipped an empty URL", "index", i)
			continue
		}
		out.Imported++
	}
	return out, nil
}

// A tool that tells its client how far it has come, logs as it goes, and
// declares in its annotations that it changes nothing.
func Example_progressAndLogging() {
	tool := kiln.NewTool("import_pages", "Imports pages", importPages).
		WithTitle("Import pages").
		WithAnnotations(kiln.Annotations{ReadOnlyHint: true, OpenWorldHint: kiln.Bool(true)})
	fmt.Println(tool.Name())
	// In main: kiln.Run(kiln.Module{Tools: []kiln.Tool{tool}})

	// Outside Kiln (go run, go test) progress and log messages go to stderr.
	out, _ := importPages(context.Background(), importIn{URLs: []string{"https://example.com/a", ""}})
	fmt.Println(out.Imported)
	// Output:
	// import_pages
	// 1
}

type purgeIn struct {
	Table string `json:"table"`
}

type purgeOut struct {
	Deleted int `json:"deleted"`
}

// purge asks the user to confirm before it deletes anything: the question
// comes first, the action after it, because the host runs the tool again
// from the start once the user has answered.
func purge(ctx context.Context, in purgeIn) (purgeOut, error) {
	action, answer, err := kiln.Elicit(ctx, "Delete every row of "+in.Table+"?", map[string]any{
		"type":       "object",
		"properties": map[string]any{"confirm": map[string]any{"type": "boolean", "title": "Delete"}},
		"required":   []string{"confirm"},
	})
	if err != nil {
		return purgeOut{}, err
	}
	if action != kiln.ActionAccept || answer["confirm"] != true {
		return purgeOut{}, fmt.Errorf("not confirmed (%s): nothing was deleted", action)
	}
	return purgeOut{Deleted: 42}, nil
}

// A tool that asks the user to confirm a destructive action (elicitation).
func ExampleElicit() {
	tool := kiln.NewTool("purge", "Deletes every row of a table, after the user confirms", purge).
		WithAnnotations(kiln.Annotations{DestructiveHint: kiln.Bool(true)})
	fmt.Println(tool.Name())
	// Output: purge
}

// summarise asks the client's model for a summary of a text.
func summarise(ctx context.Context, in struct {
	Text string `json:"text"`
}) (string, error) {
	res, err := kiln.Sample(ctx, kiln.SampleRequest{
		SystemPrompt: "You summarise texts in one sentence.",
		Messages:     []kiln.SamplingMessage{{Role: "user", Text: in.Text}},
		MaxTokens:    100,
	})
	return res.Text, err
}

// A tool that asks the client's model (sampling).
func ExampleSample() {
	fmt.Println(kiln.NewTool("summarise", "Summarises a text with the client's model", summarise).Name())
	// Output: summarise
}

// listRoots lists the client's roots, the folders the user opened.
func listRoots(ctx context.Context, _ struct{}) ([]kiln.Root, error) {
	return kiln.Roots(ctx)
}

// A tool that asks the client for its roots.
func ExampleRoots() {
	fmt.Println(kiln.NewTool("roots", "Lists the client's roots", listRoots).Name())
	// Output: roots
}
