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
	if status := serveDoc(m, doc, &rec); status != 0 || len(rec.results) != 1 {
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
