package kiln

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"testing"
)

func encodeCall(tool, args string, env ...[2]string) []byte {
	put := func(b []byte, s string) []byte {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
		return append(b, s...)
	}
	b := put(put(nil, tool), args)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(env)))
	for _, kv := range env {
		b = put(put(b, kv[0]), kv[1])
	}
	return b
}

func TestServeDocPassesArgsAndEnv(t *testing.T) {
	m := Module{Tools: []Tool{NewTool("env", "env", func(_ context.Context, in struct{}) (string, error) {
		return Env("KILN_TEST_REACTOR"), nil
	})}}
	var rec recorder
	doc := encodeCall("env", `{}`, [2]string{"KILN_TEST_REACTOR", "per-call"})
	if status := serveDoc(hostContext(&rec), m, doc); status != 0 || len(rec.results) != 1 {
		t.Fatalf("status %d, %d results", status, len(rec.results))
	}
	defer os.Unsetenv("KILN_TEST_REACTOR")
	var r Result
	if err := json.Unmarshal(rec.results[0], &r); err != nil || r.Content[0].Text != "per-call" {
		t.Fatalf("%s %v", rec.results[0], err)
	}
}

func TestDecodeCallRefusesMalformed(t *testing.T) {
	good := encodeCall("greet", `{"name":"a"}`, [2]string{"A", "b"})
	if _, err := decodeCall(good); err != nil {
		t.Fatal(err)
	}
	for i := range len(good) {
		if _, err := decodeCall(good[:i]); err == nil {
			t.Fatalf("a document cut at %d bytes was accepted", i)
		}
	}
	if _, err := decodeCall(append(good, 0)); err == nil {
		t.Fatal("trailing bytes were accepted")
	}
}

// TestReactorLeavesArgumentCheckToHost: a reactor's host has checked the
// arguments against the tool's input schema before the call (ABI section
// 3.1), so a reactor does not check them again, while a command, or a
// native run, does. Arguments the schema refuses but the input type
// decodes (an undeclared property) show which one ran.
func TestReactorLeavesArgumentCheckToHost(t *testing.T) {
	type in struct {
		Name string `json:"name"`
	}
	m := Module{Tools: []Tool{NewTool("greet", "greet", func(_ context.Context, in in) (string, error) {
		return "hi " + in.Name, nil
	})}}
	defer func() { reactor = false }()
	for _, asReactor := range []bool{false, true} {
		reactor = asReactor
		var rec recorder
		if status := serveDoc(hostContext(&rec), m, encodeCall("greet", `{"name":"a","extra":1}`)); status != 0 {
			t.Fatalf("status %d", status)
		}
		var r Result
		if err := json.Unmarshal(rec.results[0], &r); err != nil {
			t.Fatal(err)
		}
		if r.IsError == asReactor {
			t.Fatalf("reactor %v: %s", asReactor, rec.results[0])
		}
	}
}
