package kiln

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
)

// callDoc is one call as a reactor receives it (toolkits/ABI.md section
// 3.1): the tool name, the arguments and the call's environment.
type callDoc struct {
	tool string
	args []byte
	env  [][2]string
}

var errCallDoc = errors.New("kiln: malformed call document")

// decodeCall reads the call document: u32 tool length, tool, u32 args
// length, args, u32 env count, then per variable u32 name length, name,
// u32 value length, value; integers little-endian.
func decodeCall(b []byte) (callDoc, error) {
	var d callDoc
	next := func() ([]byte, bool) {
		if len(b) < 4 {
			return nil, false
		}
		n := binary.LittleEndian.Uint32(b)
		if uint64(n) > uint64(len(b)-4) {
			return nil, false
		}
		v := b[4 : 4+n]
		b = b[4+n:]
		return v, true
	}
	tool, ok1 := next()
	args, ok2 := next()
	if !ok1 || !ok2 || len(b) < 4 {
		return d, errCallDoc
	}
	d.tool, d.args = string(tool), args
	count := binary.LittleEndian.Uint32(b)
	b = b[4:]
	for range count {
		name, ok1 := next()
		value, ok2 := next()
		if !ok1 || !ok2 {
			return d, errCallDoc
		}
		d.env = append(d.env, [2]string{string(name), string(value)})
	}
	if len(b) != 0 {
		return d, errCallDoc
	}
	return d, nil
}

// serveDoc serves one reactor call, with the host of ctx (hostContext),
// and returns the exit status. The call's environment goes into the
// process environment, where Env and os.Getenv find it: the host restores
// the instance after the call, so no variable outlives it.
func serveDoc(ctx context.Context, m Module, doc []byte) int {
	d, err := decodeCall(doc)
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 2
	}
	for _, kv := range d.env {
		if err := os.Setenv(kv[0], kv[1]); err != nil {
			os.Stderr.WriteString("kiln: setting " + kv[0] + ": " + err.Error() + "\n")
			return 2
		}
	}
	return m.answer(ctx, d.tool, func() ([]byte, error) { return d.args, nil })
}
