package mcphost

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/kilnhq/kiln/pkg/secrets"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/sandbox"
	"github.com/kilnhq/kiln/sandbox/egress"
)

// Recording calls for replay (ARCHITECTURE.md, "Replaying a call").
//
// A server that records payloads also keeps, with each execution, what
// its call received from the host: the tool and limits it ran under, the
// env it saw, and the sandbox's recording of the clocks, random bytes and
// HTTP responses it read (sandbox/record.go). Secret env vars never enter
// a module (the host substitutes them into requests, whose responses are
// recorded), so a recording names them and keeps no value. The plain env
// values the module did see are kept sealed with the node's secrets box,
// as the server's own env values are, under associated data of their own.
// So is the tape: HTTP responses and input answers carry what egress
// cannot redact, credentials obtained with a secret (an OAuth token
// endpoint's access_token, a Set-Cookie), so the row keeps none of it in
// clear, and the tape's associated data binds it to its server and tool.

// DefaultRecordingBytes bounds one call's recording (Config.RecordingBytes).
const DefaultRecordingBytes = 1 << 20

// recordingVersion is the version of callRecording's layout. Version 1
// kept the tape in clear; this version reads only its own.
const recordingVersion = 2

// callRecording is the document stored in an execution's recording column.
type callRecording struct {
	Version int `json:"version"`
	// Tool is the tool's name inside the module (the execution names the
	// MCP tool).
	Tool string `json:"tool"`
	// Args are the arguments as the module got them, byte for byte (the
	// execution's copy may be re-encoded by the database).
	Args   []byte         `json:"args"`
	Limits sandbox.Limits `json:"limits"`
	// Env lists the env vars the call had, by name.
	Env []recordedEnv `json:"env"`
	// SealedTape is the sandbox.Recording in JSON, sealed (recordedTapeData).
	SealedTape []byte `json:"sealed_tape"`
}

// recordedEnv is one env var of a recorded call.
type recordedEnv struct {
	Name string `json:"name"`
	// Secret: the host substituted the value into requests; not kept.
	Secret bool `json:"secret,omitempty"`
	// Sealed is the value the module saw, sealed (recordedEnvData).
	Sealed []byte `json:"sealed,omitempty"`
}

// recordedEnvData is the associated data of a recorded env value: its own,
// so that a recorded value cannot be passed off as a stored one.
func recordedEnvData(serverID, name string) []byte {
	return []byte("kiln recorded env value\x00" + serverID + "\x00" + name)
}

// recordedTapeData is the associated data of a recorded tape: its own, and
// bound to the server and the tool, so that a sealed tape cannot be moved
// to another server's (or tool's) execution.
func recordedTapeData(serverID, tool string) []byte {
	return []byte("kiln recorded tape\x00" + serverID + "\x00" + tool)
}

// startRecording makes the call record what it reads, for servers that
// record payloads; it costs nothing otherwise.
func (h *Host) startRecording(d *deployment, req *sandbox.Request) {
	if d.recordPayloads {
		req.Record = sandbox.NewRecording(h.cfg.RecordingBytes)
	}
}

// recordingJSON is the execution's recording document for a recorded call.
func (h *Host) recordingJSON(serverID string, req sandbox.Request, secretVars []egress.Secret) (store.JSON, error) {
	if req.Record == nil {
		return nil, nil
	}
	tape, err := json.Marshal(req.Record)
	if err != nil {
		return nil, fmt.Errorf("mcphost: encoding the recorded tape: %w", err)
	}
	sealedTape, err := h.cfg.Secrets.Seal(tape, recordedTapeData(serverID, req.Tool))
	if err != nil {
		return nil, fmt.Errorf("mcphost: sealing the recorded tape: %w", err)
	}
	doc := callRecording{Version: recordingVersion, Tool: req.Tool, Args: req.Args, Limits: req.Limits, SealedTape: sealedTape}
	for name, value := range req.Env {
		sealed, err := h.cfg.Secrets.Seal([]byte(value), recordedEnvData(serverID, name))
		if err != nil {
			return nil, fmt.Errorf("mcphost: sealing recorded env var %s: %w", name, err)
		}
		doc.Env = append(doc.Env, recordedEnv{Name: name, Sealed: sealed})
	}
	for _, s := range secretVars {
		doc.Env = append(doc.Env, recordedEnv{Name: s.Name, Secret: true})
	}
	slices.SortFunc(doc.Env, func(a, b recordedEnv) int { return strings.Compare(a.Name, b.Name) })
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("mcphost: encoding the recording: %w", err)
	}
	return store.JSON(b), nil
}

// openRecordedEnv returns the env values a recording kept.
func openRecordedEnv(box *secrets.Box, serverID string, env []recordedEnv) (map[string]string, error) {
	out := map[string]string{}
	for _, e := range env {
		if e.Secret {
			continue
		}
		plain, err := box.Open(e.Sealed, recordedEnvData(serverID, e.Name))
		if err != nil {
			return nil, fmt.Errorf("opening the recorded value of env var %s (sealed with another master key?): %w", e.Name, err)
		}
		out[e.Name] = string(plain)
	}
	return out, nil
}

// openRecording decodes an execution's recording document and opens its
// tape; it refuses a layout of another version with a sentence saying so.
func openRecording(box *secrets.Box, serverID string, raw []byte) (callRecording, sandbox.Recording, error) {
	var doc callRecording
	var tape sandbox.Recording
	if err := json.Unmarshal(raw, &doc); err != nil {
		return doc, tape, fmt.Errorf("the recording is not a JSON document Kiln wrote: %w", err)
	}
	if doc.Version != recordingVersion {
		return doc, tape, fmt.Errorf("the recording has layout version %d, and this version of Kiln reads only version %d", doc.Version, recordingVersion)
	}
	plain, err := box.Open(doc.SealedTape, recordedTapeData(serverID, doc.Tool))
	if err != nil {
		return doc, tape, fmt.Errorf("opening the recorded tape (sealed with another master key, or for another server or tool?): %w", err)
	}
	if err := json.Unmarshal(plain, &tape); err != nil {
		return doc, tape, fmt.Errorf("decoding the recorded tape: %w", err)
	}
	return doc, tape, nil
}
