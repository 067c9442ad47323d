package mcphost

import (
	"reflect"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// resultSeeds are result documents at the edges of textResult's fast
// path: what it takes, and what it must leave to the SDK.
var resultSeeds = []string{
	`{"content":[{"type":"text","text":"hi"}]}`,
	`{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}],"structuredContent":{"n":1},"isError":true}`,
	`{"content":[]}`, `{"content":null}`, `{}`, `{"isError":false}`,
	`{"content":[{"type":"text","text":null}]}`, `{"content":[{"type":"text"}]}`,
	`{"content":[null]}`, `{"content":[{"type":"image","data":"aGk=","mimeType":"image/png"}]}`,
	`{"content":[{"type":"text","text":"hi","annotations":{"priority":1}}]}`,
	`{"content":[{"type":"text","text":"hi","_meta":{"a":1}}]}`,
	`{"Content":[{"type":"text","text":"hi"}]}`, `{"content":[{"Type":"text","text":"hi"}]}`,
	`{"content":[{"type":"text","Text":"hi"}]}`, `{"isError":"yes"}`, `{"isError":1}`,
	`{"content":[{"type":"text","text":"a"}],"content":[{"type":"text","text":"b"}]}`,
	`{"structuredContent":{"big":1e400}}`, `{"structuredContent":{"n":9007199254740993}}`,
	`{"structuredContent":[1,2]}`, `{"structuredContent":null}`, `{"structuredContent":"s"}`,
	`{"resultType":"input_required"}`, `{"requestState":"x"}`, `{"_meta":{"k":"v"}}`,
	`{"content":[{"type":"text","text":"\u00e9\"\\"}]} `, `{"content":[]} {"content":[]}`, `{"content":[]}x`,
	nested(sdkMaxDepth - 1), nested(sdkMaxDepth),
	`{"content":[{"type":"text","text":"` + strings.Repeat("[", 1001) + `"}]}`,
	`[]`, `null`, `"text"`, ``, `{`,
}

// nested is a result document whose structured content nests depth arrays.
func nested(depth int) string {
	return `{"structuredContent":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}`
}

// FuzzTextResult: a document textResult decodes, the SDK decodes to the
// same result; it takes the common documents.
func FuzzTextResult(f *testing.F) {
	for _, s := range resultSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		fast, ok := textResult(doc)
		if !ok {
			return
		}
		var sdk mcp.CallToolResult
		if err := sdk.UnmarshalJSON(doc); err != nil {
			t.Fatalf("textResult took %s, which the SDK refuses: %v", doc, err)
		}
		if !reflect.DeepEqual(fast, &sdk) {
			t.Fatalf("%s: textResult %#v, the SDK %#v", doc, fast, &sdk)
		}
	})
}

// TestTextResultTakesTextDocuments: the fast path is taken for what tools
// commonly answer, and left for everything the SDK reads differently.
func TestTextResultTakesTextDocuments(t *testing.T) {
	for _, doc := range []string{
		`{"content":[{"type":"text","text":"hi"}]}`, `{"content":[]}`, `{}`,
		`{"content":[{"type":"text","text":"{\"n\":1}"}],"structuredContent":{"n":1},"isError":false}`,
		nested(sdkMaxDepth - 1), // with the document's own object, at the limit
	} {
		if _, ok := textResult([]byte(doc)); !ok {
			t.Errorf("%.80s was left to the SDK", doc)
		}
	}
	// The depth limit is the SDK's.
	var sdk mcp.CallToolResult
	if sdk.UnmarshalJSON([]byte(nested(sdkMaxDepth))) == nil {
		t.Error("the SDK reads a document nested past sdkMaxDepth")
	}
	for _, doc := range []string{
		`{"content":[{"type":"image","data":"aGk=","mimeType":"image/png"}]}`,
		`{"content":[{"type":"text","text":"hi","annotations":{"priority":1}}]}`,
		`{"Content":[]}`, `{"_meta":{}}`, `{"resultType":"complete"}`, `{"structuredContent":{"big":1e400}}`,
		nested(sdkMaxDepth), `{"content":[]}x`, `{"content":[null]}`,
	} {
		if _, ok := textResult([]byte(doc)); ok {
			t.Errorf("%.80s was taken", doc)
		}
	}
}
