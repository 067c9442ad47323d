package mcphost

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/kilnhq/kiln/sandbox"
)

// resultSeeds are result documents at the edges of textResult's fast
// path: what it takes, and what it must leave to the SDK.
var resultSeeds = []string{
	`{"content":[{"type":"text","text":"hi"}]}`,
	`{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}],"structuredContent":{"n":1},"isError":true}`,
	`{"content":[]}`, `{"content":null}`, `{}`, `{"isError":false}`,
	`{"content":[{"type":"text","text":"a"}],"content":[null]}`,
	`{"content":[{"type":"text"},{"type":"text"}],"content":[{"type":"text"},null]}`,
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

// FuzzTextResult: a document textResult decodes, decodeResult's fallback
// (json.Unmarshal, which also refuses trailing bytes, into the SDK's type)
// decodes to the same result; it takes the common documents.
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
		if err := json.Unmarshal(doc, &sdk); err != nil {
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

// messageSeeds are JSON-RPC messages at the edges of fastRequest.
var messageSeeds = []string{
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}`,
	`{"jsonrpc":"2.0","id":"a","method":"tools/list"}`, `{"jsonrpc":"2.0","method":"notifications/initialized"}`,
	`{"jsonrpc":"2.0","id":null,"method":"ping","params":null}`, `{"jsonrpc":"2.0","id":1.5,"method":"ping"}`,
	`{"jsonrpc":"2.0","id":true,"method":"ping"}`, `{"jsonrpc":"2.0","id":[1],"method":"ping"}`,
	`{"jsonrpc":"2.0","id":1e30,"method":"ping"}`, `{"jsonrpc":"2.0","id":-0,"method":"ping"}`,
	`{"jsonrpc":"1.0","id":1,"method":"ping"}`, `{"id":1,"method":"ping"}`, `{"jsonrpc":"2.0","id":1}`,
	`{"jsonrpc":"2.0","id":1,"method":null}`, `{"jsonrpc":"2.0","id":1,"method":""}`, `{"jsonrpc":"2.0","id":1,"method":7}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools\/call"}`, `{"jsonrpc":"2.0","id":1,"method":"\u0074ools/call"}`,
	`{"jsonrpc":"2.0","id":1,"Method":"tools/call"}`, `{"JSONRPC":"2.0","id":1,"method":"ping"}`,
	`{"jsonrpc":"2.0","id":1,"method":"a","method":"tools/call"}`, `{"jsonrpc":"2.0","id":1,"result":{}}`,
	`{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"m"}}`, `{"jsonrpc":"2.0","id":1,"method":"ping","extra":1}`,
	`{"jsonrpc":"2.0","id":1,"method":"ping"} {"jsonrpc":"2.0","id":2,"method":"tools/call"}`,
	`{"jsonrpc":"2.0","id":1,"method":"ping"}x`, ` {"jsonrpc":"2.0","id":1,"method":"ping"} `,
	`{"jsonrpc":"2.0","id":1,"method":"ping","params":` + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + `}`,
	`[{"jsonrpc":"2.0","id":1,"method":"ping"}]`, `null`, `{}`, ``,
}

// FuzzDecodeMessage: a message fastRequest decodes, the SDK decodes to
// the same request (what the rate limits count is what the SDK runs).
func FuzzDecodeMessage(f *testing.F) {
	for _, s := range messageSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := fastRequest(data)
		if !ok {
			return
		}
		sdk, err := jsonrpc.DecodeMessage(data)
		if err != nil {
			t.Fatalf("fastRequest took %s, which the SDK refuses: %v", data, err)
		}
		if !reflect.DeepEqual(jsonrpc.Message(fast), sdk) {
			t.Fatalf("%s: fastRequest %#v, the SDK %#v", data, fast, sdk)
		}
	})
}

// TestFastRequestTakesRequests: the fast path is taken for the requests
// clients send, and left for everything else.
func TestFastRequestTakesRequests(t *testing.T) {
	for _, data := range messageSeeds[:3] {
		if _, ok := fastRequest([]byte(data)); !ok {
			t.Errorf("%s was left to the SDK", data)
		}
	}
	for _, data := range []string{`{"jsonrpc":"2.0","id":1,"result":{}}`, `{"jsonrpc":"2.0","id":1,"method":null}`,
		`{"jsonrpc":"1.0","id":1,"method":"ping"}`, `{"jsonrpc":"2.0","id":true,"method":"ping"}`,
		`{"jsonrpc":"2.0","id":1,"Method":"tools/call"}`, `{"jsonrpc":"2.0","id":1,"method":"ping"}x`} {
		if _, ok := fastRequest([]byte(data)); ok {
			t.Errorf("%s was taken", data)
		}
	}
}

// BenchmarkSDKDecoding compares the fast paths with the SDK's decoding of
// the same bytes (the reason they exist: the SDK's decoder allocates 32 KiB
// per value):
//
//	go test ./pkg/mcphost -run '^$' -bench SDKDecoding
func BenchmarkSDKDecoding(b *testing.B) {
	doc := []byte(`{"content":[{"type":"text","text":"{\"text\":\"hello\",\"length\":5}"}],"structuredContent":{"text":"hello","length":5}}`)
	msg := []byte(messageSeeds[0])
	for _, c := range []struct {
		name string
		run  func() bool
	}{
		{"result/textResult", func() bool { _, ok := textResult(doc); return ok }},
		{"result/sdk", func() bool { var out mcp.CallToolResult; return out.UnmarshalJSON(doc) == nil }},
		{"message/fastRequest", func() bool { _, ok := fastRequest(msg); return ok }},
		{"message/sdk", func() bool { _, err := jsonrpc.DecodeMessage(msg); return err == nil }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !c.run() {
					b.Fatal("not decoded")
				}
			}
		})
	}
}

// FuzzItemsResult: for a document of the shape whose text items the
// sandbox reads (Answer.TextItems), itemsResult gives what the SDK decodes
// from the document, and takes nothing the SDK refuses. The answers are
// made by textItemsAnswer, with encoding/json, not by the sandbox's own
// reader; that one reads what encoding/json reads (FuzzFastAnswer in
// sandbox), and the two decoders agree on the strings of valid UTF-8.
func FuzzItemsResult(f *testing.F) {
	for _, s := range resultSeeds {
		f.Add([]byte(s))
	}
	for s := range itemsSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		a, ok := textItemsAnswer(doc)
		if !ok {
			return
		}
		fast, ok := itemsResult(a)
		if !ok {
			return
		}
		var sdk mcp.CallToolResult
		if err := json.Unmarshal(doc, &sdk); err != nil {
			t.Fatalf("itemsResult took %s, which the SDK refuses: %v", doc, err)
		}
		sdk.StructuredContent = nil // toMCPResult passes on the module's bytes
		if !reflect.DeepEqual(fast, &sdk) {
			t.Fatalf("%s: itemsResult %#v, the SDK %#v", doc, fast, &sdk)
		}
	})
}

// itemsSeeds are documents of the Go toolkit's shape, and whether
// itemsResult takes them.
var itemsSeeds = map[string]bool{
	`{"content":[{"type":"text","text":"{\"text\":\"hi\",\"length\":2}"}],"structuredContent":{"text":"hi","length":2}}`: true,
	`{"content":[{"type":"text","text":"a"},{"type":"text","text":"b\n"}],"isError":true}`:                               true,
	`{"content":[{"type":"text","text":"x"}],"structuredContent":{"n":-0.0e-400,"m":[true,null,"é"]},"isError":false}`:   true,
	// The SDK reads no number beyond float64.
	`{"content":[{"type":"text","text":"x"}],"structuredContent":{"big":1e400}}`: false,
	// The SDK's depth limit counts the document's own object.
	`{"content":[{"type":"text","text":"x"}],"structuredContent":{"a":` + strings.Repeat("[", sdkMaxDepth-2) + strings.Repeat("]", sdkMaxDepth-2) + `}}`: true,
	`{"content":[{"type":"text","text":"x"}],"structuredContent":{"a":` + strings.Repeat("[", sdkMaxDepth-1) + strings.Repeat("]", sdkMaxDepth-1) + `}}`: false,
}

// textItemsAnswer is the Answer the sandbox makes of doc when doc has the
// shape its fast path reads (sandbox/answer_fast.go): compact, one or more
// content items that are text items with no other field, then
// structuredContent (an object) and isError, in that order. It is read
// with encoding/json and kept only if writing it back gives doc again.
func textItemsAnswer(doc []byte) (sandbox.Answer, bool) {
	var d struct {
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		StructuredContent json.RawMessage `json:"structuredContent"`
		IsError           *bool           `json:"isError"`
	}
	if json.Unmarshal(doc, &d) != nil || len(d.Content) == 0 {
		return sandbox.Answer{}, false
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	b.WriteString(`{"content":[`)
	a := sandbox.Answer{Document: doc}
	for i, c := range d.Content {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"type":"text","text":`)
		_ = enc.Encode(c.Text)
		b.Truncate(b.Len() - 1) // Encode's newline
		b.WriteByte('}')
		a.TextItems = append(a.TextItems, c.Text)
	}
	b.WriteByte(']')
	if d.StructuredContent != nil {
		if d.StructuredContent[0] != '{' {
			return sandbox.Answer{}, false
		}
		b.WriteString(`,"structuredContent":`)
		b.Write(d.StructuredContent)
		a.Structured = d.StructuredContent
	}
	if d.IsError != nil {
		fmt.Fprintf(&b, `,"isError":%v`, *d.IsError)
		a.IsError = *d.IsError
	}
	b.WriteByte('}')
	return a, bytes.Equal(b.Bytes(), doc)
}

// TestItemsResultTakesToolkitAnswers: the toolkit's answers are built
// from the sandbox's reading, and what the SDK cannot read is not.
func TestItemsResultTakesToolkitAnswers(t *testing.T) {
	for doc, want := range itemsSeeds {
		a, ok := textItemsAnswer([]byte(doc))
		if !ok {
			t.Fatalf("%.80s is not of the toolkit's shape", doc)
		}
		if _, took := itemsResult(a); took != want {
			t.Errorf("%.80s: taken %v, want %v", doc, took, want)
		}
	}
	if _, ok := itemsResult(sandbox.Answer{Document: []byte(`{"content":[]}`)}); ok {
		t.Error("an answer without text items was taken")
	}
}
