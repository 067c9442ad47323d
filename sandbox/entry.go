package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/kilnhq/kiln/sandbox/manifest"
)

// A module's dynamic prompts and resources (toolkits/ABI.md section 2.1)
// run through the module's call entry under a reserved name,
// manifest.PromptEntry or manifest.ResourceEntry, exactly as a tool call
// does: same instance rules, limits, notifications and outcomes. Only the
// request check and the answer differ, here.

// entryRequest is the reserved entry req names, if any; it checks that the
// module declares something that entry serves.
func entryRequest(m *Module, req Request) (isEntry bool, err error) {
	switch req.Tool {
	case manifest.PromptEntry:
		if !m.Manifest.HasDynamicPrompts() {
			return true, &RequestError{Reason: "the module declares no dynamic prompt"}
		}
	case manifest.ResourceEntry:
		if !m.Manifest.HasDynamicResources() {
			return true, &RequestError{Reason: "the module declares no dynamic resource or resource template"}
		}
	default:
		return false, nil
	}
	var v map[string]any
	if err := json.Unmarshal(req.Args, &v); err != nil || v == nil {
		return true, &RequestError{Reason: "the input of " + req.Tool + " must be a JSON object"}
	}
	return true, nil
}

// entryDoc is what the host checks of a prompt's or resource's answer:
// either an error the module reports, or the MCP result.
type entryDoc struct {
	Error    *string `json:"error"`
	Messages []struct {
		Role    string `json:"role"`
		Content struct {
			Type string `json:"type"`
		} `json:"content"`
	} `json:"messages"`
	Contents []struct {
		URI  string  `json:"uri"`
		Text *string `json:"text"`
		Blob *string `json:"blob"`
	} `json:"contents"`
}

var promptContentTypes = map[string]bool{"text": true, "image": true, "audio": true, "resource": true, "resource_link": true}

// parseEntryAnswer checks the answer of a dynamic prompt (a GetPromptResult)
// or resource (a ReadResourceResult), or {"error": "..."}, which is the
// entry's tool error. An error is the module's fault (OutcomeTrap).
func parseEntryAnswer(entry string, data []byte) (Answer, error) {
	trimmed := bytes.TrimSpace(bytes.ToValidUTF8(data, []byte("\uFFFD")))
	var doc entryDoc
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return Answer{}, fmt.Errorf("the module's %s answer is not a JSON object", entry)
	}
	if err := json.Unmarshal(trimmed, &doc); err != nil {
		return Answer{}, fmt.Errorf("the module returned an invalid %s answer: %v", entry, err)
	}
	a := Answer{Document: json.RawMessage(trimmed)}
	if doc.Error != nil {
		a.IsError, a.Text = true, *doc.Error
		return a, nil
	}
	if entry == manifest.PromptEntry {
		return a, checkPromptAnswer(doc)
	}
	return a, checkResourceAnswer(doc)
}

func checkPromptAnswer(doc entryDoc) error {
	if len(doc.Messages) == 0 {
		return errors.New("the module's prompt has no messages")
	}
	for i, m := range doc.Messages {
		if m.Role != "user" && m.Role != "assistant" {
			return fmt.Errorf("the module's prompt messages[%d] has role %q (user or assistant)", i, m.Role)
		}
		if !promptContentTypes[m.Content.Type] {
			return fmt.Errorf("the module's prompt messages[%d] has content type %q", i, m.Content.Type)
		}
	}
	return nil
}

func checkResourceAnswer(doc entryDoc) error {
	if len(doc.Contents) == 0 {
		return errors.New("the module's resource answer has no contents")
	}
	for i, c := range doc.Contents {
		if c.URI == "" || (c.Text == nil) == (c.Blob == nil) {
			return fmt.Errorf("the module's resource contents[%d] needs a uri and exactly one of text or blob", i)
		}
	}
	return nil
}
