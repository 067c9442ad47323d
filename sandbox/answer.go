package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// resultDoc is the part of a result document (toolkits/ABI.md, section 3)
// the host checks. Everything else in the document passes through as the
// module wrote it.
type resultDoc struct {
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text,omitempty"`
	} `json:"content"`
	StructuredContent json.RawMessage `json:"structuredContent,omitempty"`
	IsError           bool            `json:"isError,omitempty"`
}

var contentTypes = map[string]bool{"text": true, "image": true, "audio": true, "resource_link": true, "resource": true}

// parseAnswer checks an ABI module's result document and reads the fields
// the front ends need. An error is the module's fault (OutcomeTrap).
func parseAnswer(data []byte) (Answer, error) {
	if !utf8.Valid(data) {
		// Invalid bytes can only sit inside strings of valid JSON, so this
		// keeps the document valid, and storable as JSON everywhere.
		data = bytes.ToValidUTF8(data, []byte("\uFFFD"))
	}
	trimmed := bytes.TrimSpace(data)
	if a, ok := fastAnswer(trimmed); ok {
		return a, nil
	}
	return decodeAnswer(trimmed)
}

// decodeAnswer is parseAnswer for any document, with encoding/json.
func decodeAnswer(trimmed []byte) (Answer, error) {
	var doc resultDoc
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return Answer{}, errors.New("the module's result document is not a JSON object")
	}
	if err := json.Unmarshal(trimmed, &doc); err != nil {
		return Answer{}, fmt.Errorf("the module returned an invalid result document: %v", err)
	}
	texts := make([]string, 0, len(doc.Content))
	for i, c := range doc.Content {
		if !contentTypes[c.Type] {
			return Answer{}, fmt.Errorf("the module's result content[%d] has unknown type %q", i, c.Type)
		}
		if c.Type == "text" {
			texts = append(texts, c.Text)
		}
	}
	a := Answer{Document: json.RawMessage(trimmed), IsError: doc.IsError, Text: strings.Join(texts, "\n")}
	switch s := bytes.TrimSpace(doc.StructuredContent); {
	case len(s) == 0 || string(s) == "null":
	case s[0] != '{':
		return Answer{}, errors.New("the module's structuredContent is not a JSON object")
	default:
		a.Structured = json.RawMessage(s)
	}
	return a, nil
}

// plainAnswer is the result document of a plain WASI program (ABI section
// 6): its stdout as a text item, and as structured content too when it is a
// JSON object; after a non-zero exit, a tool error whose text is msg.
func plainAnswer(stdout []byte, failed bool, msg string) (Answer, error) {
	a := Answer{Text: validUTF8(stdout), IsError: failed}
	if failed {
		a.Text = msg
	} else if s := bytes.TrimSpace([]byte(a.Text)); len(s) > 0 && s[0] == '{' && json.Valid(s) {
		a.Structured = json.RawMessage(s)
	}
	type item struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	doc, err := json.Marshal(struct {
		Content           []item          `json:"content"`
		StructuredContent json.RawMessage `json:"structuredContent,omitempty"`
		IsError           bool            `json:"isError,omitempty"`
	}{[]item{{"text", a.Text}}, a.Structured, a.IsError})
	if err != nil {
		return Answer{}, fmt.Errorf("encoding the program's result document: %v", err)
	}
	a.Document = doc
	return a, nil
}
