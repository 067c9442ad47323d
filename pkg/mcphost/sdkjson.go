package mcphost

import (
	"encoding/json"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	segjson "github.com/segmentio/encoding/json"

	"github.com/kilnhq/kiln/sandbox"
)

// The go-sdk decodes JSON with a streaming decoder (segmentio/encoding's)
// that allocates a fresh 32 KiB read buffer for every value it decodes.
// For the small documents of a tool call that buffer costs far more than
// the decoding: about 18 µs of a call's CPU per decode on the benchmark
// machine, against 1 µs for the same decoder reading the bytes in place.
// Kiln decodes with the SDK wherever the SDK's exact reading matters, so
// the few decodes on every call's path have a fast path here: the same
// library with the SDK's options (case-sensitive keys), reading the bytes
// in place, for the common shape of a document only, and unknown fields
// refused so that anything else falls back to the SDK itself. The fuzz
// tests in sdkjson_test.go hold each fast path to the SDK's answers; the
// flags, depth limit and field sets below are go-sdk v1.8.0's, so a go-sdk
// upgrade needs those fuzz tests run for a while, not only their seeds.

// sdkParseFlags are the SDK decoder's options (go-sdk internal/json's
// NewDecoder), plus refusing unknown fields: a fast path gives up on a
// field it does not know, rather than ignoring one the SDK would read.
const sdkParseFlags = segjson.DontMatchCaseInsensitiveStructFields | segjson.DisallowUnknownFields

// sdkMaxDepth is the SDK decoder's nesting limit (go-sdk internal/json's
// defaultMaxDepth): the SDK refuses a deeper document.
const sdkMaxDepth = 1000

// sdkParse decodes doc into v as the SDK's decoder would, reporting false
// where a fast path must leave doc to the SDK: a field v does not have,
// nesting past the SDK's limit, bytes after the value, or any error.
func sdkParse(doc []byte, v any) bool {
	if tooDeep(doc, sdkMaxDepth) {
		return false
	}
	rest, err := segjson.Parse(doc, v, sdkParseFlags)
	return err == nil && len(rest) == 0
}

// tooDeep reports whether doc nests objects and arrays deeper than limit,
// counted as the SDK counts them (brackets outside strings).
func tooDeep(doc []byte, limit int) bool {
	depth, inString, escaped := 0, false, false
	for _, b := range doc {
		if inString {
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
			}
			continue
		}
		switch b {
		case '"':
			inString = true
		case '{', '[':
			if depth++; depth > limit {
				return true
			}
		case '}', ']':
			depth = max(depth-1, 0)
		}
	}
	return false
}

// textDocument is a result document made of text items only, the shape
// most tools answer with; every other field makes sdkParse refuse it.
type textDocument struct {
	// Content holds pointers, as the SDK's wire form does: a null item is
	// then nil (the SDK refuses it) rather than a reused earlier item when
	// "content" repeats.
	Content []*struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	// StructuredContent is decoded as the SDK decodes it, only so that a
	// value the SDK cannot read (a number beyond float64) is refused here
	// too; toMCPResult passes on the module's bytes.
	StructuredContent any  `json:"structuredContent"`
	IsError           bool `json:"isError"`
}

// decodeResult decodes an answer's result document as the SDK's type does
// (with encoding/json, which also refuses trailing bytes): from the text
// items the sandbox read, or a document of text items here, anything else
// by the SDK.
func decodeResult(a sandbox.Answer) (*mcp.CallToolResult, error) {
	if out, ok := itemsResult(a); ok {
		return out, nil
	}
	if out, ok := textResult(a.Document); ok {
		return out, nil
	}
	out := new(mcp.CallToolResult)
	if err := json.Unmarshal(a.Document, out); err != nil {
		return nil, err
	}
	return out, nil
}

// itemsResult is textResult for an answer whose text items the sandbox
// has read (Answer.TextItems), without reading its document again. Only
// the structured content is decoded, as textResult decodes it, so that
// what the SDK cannot read (a number beyond float64, nesting past its
// limit once inside the document) is refused here too; its value is left
// out, as toMCPResult passes on the module's bytes.
func itemsResult(a sandbox.Answer) (*mcp.CallToolResult, bool) {
	if a.TextItems == nil {
		return nil, false
	}
	if a.Structured != nil {
		// One level shallower than sdkParse's limit: in the document, the
		// structured content sits inside its object.
		var v any
		if tooDeep(a.Structured, sdkMaxDepth-1) {
			return nil, false
		}
		if rest, err := segjson.Parse(a.Structured, &v, sdkParseFlags); err != nil || len(rest) != 0 {
			return nil, false
		}
	}
	out := &mcp.CallToolResult{Content: make([]mcp.Content, len(a.TextItems)), IsError: a.IsError}
	for i, text := range a.TextItems {
		out.Content[i] = &mcp.TextContent{Text: text}
	}
	return out, true
}

// textResult is the SDK's decoding of a result document whose content
// items are all text; false for any other document.
func textResult(doc []byte) (*mcp.CallToolResult, bool) {
	var d textDocument
	if !sdkParse(doc, &d) {
		return nil, false
	}
	out := &mcp.CallToolResult{Content: make([]mcp.Content, 0, len(d.Content)), StructuredContent: d.StructuredContent, IsError: d.IsError}
	for _, c := range d.Content {
		if c == nil || c.Type != "text" {
			return nil, false
		}
		out.Content = append(out.Content, &mcp.TextContent{Text: c.Text})
	}
	return out, true
}

// requestWire is a JSON-RPC request as the SDK's jsonrpc2.DecodeMessage
// reads one (its wireDecode), without the fields of a response.
type requestWire struct {
	VersionTag string          `json:"jsonrpc"`
	ID         any             `json:"id"`
	Method     json.RawMessage `json:"method"`
	Params     json.RawMessage `json:"params"`
}

// decodeMessage is jsonrpc.DecodeMessage: a request of the usual shape
// decoded here, anything else by the SDK.
func decodeMessage(data []byte) (jsonrpc.Message, error) {
	if req, ok := fastRequest(data); ok {
		return req, nil
	}
	return jsonrpc.DecodeMessage(data)
}

// fastRequest is the SDK's decoding of a request whose method is a string
// and whose version tag is right; false for any other message.
func fastRequest(data []byte) (*jsonrpc.Request, bool) {
	var w requestWire
	var method string
	if !sdkParse(data, &w) || w.VersionTag != "2.0" || len(w.Method) == 0 || w.Method[0] != '"' || !sdkParse(w.Method, &method) {
		return nil, false
	}
	id, err := jsonrpc.MakeID(w.ID)
	if err != nil {
		return nil, false
	}
	return &jsonrpc.Request{ID: id, Method: method, Params: w.Params}, true
}
