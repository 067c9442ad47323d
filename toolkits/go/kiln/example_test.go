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
