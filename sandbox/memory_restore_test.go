package sandbox

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// trackedMemory is a tracked memory of pages host pages, made equal to a
// random snapshot by its first restore; the test skips where the kernel
// cannot track written pages.
func trackedMemory(t *testing.T, pages int) (*limitedMemory, []byte) {
	t.Helper()
	tracker := newDirtyTracker()
	if tracker == nil {
		t.Skip("this kernel or process cannot report written pages (Linux 6.7+ and userfaultfd needed)")
	}
	size := uint64(pages) * hostPage
	m := &limitedMemory{limit: size, tracker: tracker}
	t.Cleanup(func() { m.Free(); _ = tracker.close() })
	m.Reallocate(size)
	if m.region == nil {
		t.Fatal("the memory is not tracked")
	}
	snap := make([]byte, size)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < len(snap); i += 8 { // a word at a time: the fuzzer calls this per input
		binary.LittleEndian.PutUint64(snap[i:], r.Uint64())
	}
	if err := m.restoreFrom(snap); err != nil {
		t.Fatal(err)
	}
	if m.restored != size || m.hot != 0 || !bytes.Equal(m.buf, snap) {
		t.Fatalf("first restore: copied %d of %d bytes, %d hot", m.restored, size, m.hot)
	}
	return m, snap
}

// TestRestoreKeepsHotPagesWritable: pages a restore copied stay writable
// for the next call and are copied by every restore after it, whether the
// call wrote them or not; a page outside them is still reported once
// written; past the bound (an eighth of the memory) everything written is
// protected again. Memory equals the snapshot after each restore.
func TestRestoreKeepsHotPagesWritable(t *testing.T) {
	const pages = 512 // 2 MiB, above dirtyTrackingMinBytes
	m, snap := trackedMemory(t, pages)
	round := func(write []int, copied, hot int) {
		t.Helper()
		for _, p := range write {
			m.buf[p*hostPage+p%hostPage] ^= 0xff
		}
		if err := m.restoreFrom(snap); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(m.buf, snap) {
			t.Fatalf("after writing pages %v, memory differs from the snapshot", write)
		}
		if m.restored != uint64(copied)*hostPage || m.hot != uint64(hot)*hostPage {
			t.Fatalf("after writing pages %v: copied %d pages (want %d), %d hot (want %d)",
				write, m.restored/hostPage, copied, m.hot/hostPage, hot)
		}
	}
	round([]int{3, 100}, 2, 2)
	// Page 3 is writable now: the write takes no fault and the kernel
	// cannot see it, yet the restore must copy it (and 100, unwritten).
	round([]int{3}, 2, 2)
	round(nil, 2, 2)
	round([]int{7}, 3, 3) // outside the hot set: reported
	many := make([]int, 0, pages/8+1)
	for p := 200; len(many) < pages/8+1; p++ {
		many = append(many, p)
	}
	round(many, 3+len(many), 0) // past the bound: all protected again
	round(nil, 0, 0)
	round([]int{3}, 1, 1)
	round([]int{200, 3}, 2, 2)
}

// FuzzRestoreHotPages: random writes over several restores, with the hot
// set growing, staying and passing its bound, never leave the memory
// different from the snapshot.
func FuzzRestoreHotPages(f *testing.F) {
	f.Add([]byte{1, 2, 0, 1, 0, 2, 3, 0, 0, 5})
	f.Fuzz(func(t *testing.T, ops []byte) {
		const pages = 256
		m, snap := trackedMemory(t, pages)
		for len(ops) >= 2 {
			n, at := int(ops[0]%48), int(ops[1])
			ops = ops[2:]
			for i := range n {
				m.buf[(at+i*7)%pages*hostPage+i] ^= byte(n + 1)
			}
			if err := m.restoreFrom(snap); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(m.buf, snap) {
				t.Fatal("memory differs from the snapshot after restore")
			}
			if m.hot > pages*hostPage/hotFraction {
				t.Fatalf("%d bytes hot, past the bound", m.hot)
			}
		}
	})
}
