package fuel_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/kilnhq/kiln/sandbox/fuel"
)

// dataModule builds a module with one page of memory, exported as "mem",
// and the given active data segments (offset, bytes); withDataCount adds a
// data count section.
func dataModule(withDataCount bool, segs ...struct {
	off  int32
	data string
}) []byte {
	uleb := func(b []byte, v uint64) []byte {
		for {
			c := byte(v & 0x7f)
			v >>= 7
			if v == 0 {
				return append(b, c)
			}
			b = append(b, c|0x80)
		}
	}
	sleb := func(b []byte, v int64) []byte {
		for {
			c := byte(v & 0x7f)
			v >>= 7
			if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
				return append(b, c)
			}
			b = append(b, c|0x80)
		}
	}
	section := func(out []byte, id byte, payload []byte) []byte {
		return append(uleb(append(out, id), uint64(len(payload))), payload...)
	}
	out := []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}
	out = section(out, 5, []byte{0x01, 0x00, 0x01})                      // memory: 1 page
	out = section(out, 7, []byte{0x01, 0x03, 'm', 'e', 'm', 0x02, 0x00}) // export "mem"
	if withDataCount {
		out = section(out, 12, uleb(nil, uint64(len(segs))))
	}
	data := uleb(nil, uint64(len(segs)))
	for _, s := range segs {
		data = append(data, 0x00, 0x41)
		data = sleb(data, int64(s.off))
		data = append(data, 0x0b)
		data = uleb(data, uint64(len(s.data)))
		data = append(data, s.data...)
	}
	return section(out, 11, data)
}

type seg = struct {
	off  int32
	data string
}

// memoryOf instantiates a module and returns its memory, or the
// instantiation error.
func memoryOf(t *testing.T, wasm []byte) ([]byte, error) {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	instantiateRefuel(t, rt)
	mod, err := rt.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithStartFunctions())
	if err != nil {
		return nil, err
	}
	mem, _ := mod.Memory().Read(0, mod.Memory().Size())
	return bytes.Clone(mem), nil
}

// dataSegments reads the count of the module's data section.
func dataSegments(t *testing.T, wasm []byte) int {
	t.Helper()
	p := 8
	uleb := func() int {
		v := 0
		for shift := 0; ; shift += 7 {
			b := wasm[p]
			p++
			v |= int(b&0x7f) << shift
			if b < 0x80 {
				return v
			}
		}
	}
	for p < len(wasm) {
		id := wasm[p]
		p++
		size := uleb()
		if id == 11 {
			return uleb()
		}
		p += size
	}
	t.Fatal("no data section")
	return 0
}

// TestDataCoalescing: neighbouring data segments become one, in any order
// they were listed, and the memory a module starts with is unchanged; where
// merging could change behaviour (overlap, a data count section) the
// segments stay as they are, and out-of-bounds data still fails.
func TestDataCoalescing(t *testing.T) {
	for _, tc := range []struct {
		name          string
		wasm          []byte
		wantSegments  int
		wantInstError bool
	}{
		{"neighbours, out of order", dataModule(false, seg{300, "ccc"}, seg{0, "aa"}, seg{10, "b"}, seg{5000, "far"}), 2, false},
		{"gap wider than the limit", dataModule(false, seg{0, "a"}, seg{60000, "z"}), 2, false},
		{"overlap: later wins", dataModule(false, seg{0, "xxxx"}, seg{2, "yy"}), 2, false},
		{"data count section", dataModule(true, seg{0, "a"}, seg{4, "b"}), 2, false},
		{"out of bounds", dataModule(false, seg{65530, "a"}, seg{65535, "zz"}), 1, true},
		{"negative offset (huge unsigned)", dataModule(false, seg{-4, "a"}, seg{0, "b"}), 2, true},
		// Gaps may not add more zeros than there are data bytes (plus one
		// gap): here 4 bytes of data, gaps of 3000, so only two merge.
		{"zero fill is bounded", dataModule(false, seg{0, "a"}, seg{3001, "b"}, seg{6002, "c"}, seg{9003, "d"}), 3, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := fuel.Instrument(tc.wasm, fuel.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := dataSegments(t, out); got != tc.wantSegments {
				t.Errorf("%d data segments after the rewrite, want %d", got, tc.wantSegments)
			}
			want, wantErr := memoryOf(t, tc.wasm)
			got, gotErr := memoryOf(t, out)
			if (wantErr != nil) != tc.wantInstError || (gotErr != nil) != tc.wantInstError {
				t.Fatalf("instantiation: original %v, rewritten %v; want failure %v", wantErr, gotErr, tc.wantInstError)
			}
			if !bytes.Equal(got, want) {
				t.Fatal("the rewritten module starts with different memory")
			}
		})
	}
}
