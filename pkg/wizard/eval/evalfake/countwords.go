package evalfake

import (
	"encoding/json"

	"github.com/kilnhq/kiln/pkg/llm/llmtest"
)

// The smallest whole wizard session, for tests that follow one from a
// description to a deployed server over a plain llmtest.Server: the
// proposal of one tool, count_words, and Go source for it that builds and
// passes its sample call.

// CountWordsSource is count_words' source.
const CountWordsSource = `package main

import (
	"context"
	"strings"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type in struct {
	Text string ` + "`json:\"text\" description:\"The text\"`" + `
}

type out struct {
	Words int ` + "`json:\"words\"`" + `
}

func handle(_ context.Context, i in) (out, error) {
	return out{Words: len(strings.Fields(i.Text))}, nil
}

func main() {
	kiln.Run(kiln.Module{Tools: []kiln.Tool{kiln.NewTool("count_words", "Counts the words of a text", handle)}})
}
`

// countWordsSpec is count_words as the propose step answers it.
var countWordsSpec = map[string]any{
	"name": "count_words", "description": "Counts the words of a text",
	"input_schema":  map[string]any{"type": "object", "properties": map[string]any{"text": map[string]any{"type": "string", "description": "The text"}}, "required": []string{"text"}},
	"output_schema": map[string]any{"type": "object", "properties": map[string]any{"words": map[string]any{"type": "integer"}}, "required": []string{"words"}},
	"samples":       []any{map[string]any{"text": "a b c"}},
}

// CountWordsProposal is the propose step's answer: count_words alone.
func CountWordsProposal() llmtest.Reply {
	return jsonAnswer(map[string]any{"tools": []any{countWordsSpec}})
}

// CountWordsGeneration is the generate step's answer: CountWordsSource.
func CountWordsGeneration() llmtest.Reply {
	return jsonAnswer(map[string]string{"main_go": CountWordsSource})
}

// ScriptCountWords queues the proposal and the generation on s, the
// answers of a whole session.
func ScriptCountWords(s *llmtest.Server) { s.Enqueue(CountWordsProposal(), CountWordsGeneration()) }

func jsonAnswer(v any) llmtest.Reply {
	b, _ := json.Marshal(v) // maps of strings, slices and maps: they always encode
	return llmtest.Answer(string(b))
}
