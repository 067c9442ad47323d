package build

import (
	"strings"
	"testing"
)

func TestArtifactCacheEvictsLeastRecentlyUsed(t *testing.T) {
	c := newArtifactCache(10)
	art := func(n int) Artifact { return Artifact{Wasm: []byte(strings.Repeat("x", n))} }
	c.add("a", art(4))
	c.add("b", art(4))
	if _, ok := c.get("a"); !ok { // a is now the most recently used
		t.Fatal("a missing")
	}
	c.add("c", art(4)) // 12 bytes > 10: evicts b, the least recently used
	if _, ok := c.get("b"); ok {
		t.Error("b survived")
	}
	for _, k := range []string{"a", "c"} {
		if _, ok := c.get(k); !ok {
			t.Errorf("%s was evicted", k)
		}
	}
	if c.bytes != 8 || len(c.entries) != 2 || c.order.Len() != 2 {
		t.Errorf("bytes=%d entries=%d order=%d", c.bytes, len(c.entries), c.order.Len())
	}
	c.add("big", art(11)) // larger than the whole budget: not kept, evicts nothing
	if _, ok := c.get("big"); ok || len(c.entries) != 2 {
		t.Error("an artifact larger than the budget was kept")
	}

	off := newArtifactCache(0)
	off.add("a", art(1))
	if _, ok := off.get("a"); ok {
		t.Error("a disabled cache kept an artifact")
	}
}

func TestSourceKeyIsUnambiguous(t *testing.T) {
	p := &Pool{builder: &GoBuilder{}, toolkitHash: hashToolkit(), toolchain: "go1.test"}
	key := func(files map[string][]byte) string {
		k, err := p.sourceKey(t.Context(), files)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	a := key(map[string][]byte{"a.go": []byte("xy"), "b.go": []byte("z")})
	if a != key(map[string][]byte{"b.go": []byte("z"), "a.go": []byte("xy")}) {
		t.Error("the key depends on map order")
	}
	if a == key(map[string][]byte{"a.go": []byte("x"), "b.go": []byte("yz")}) {
		t.Error("moving bytes between files kept the key")
	}
	if a == key(map[string][]byte{"a.go": []byte("xy"), "c.go": []byte("z")}) {
		t.Error("renaming a file kept the key")
	}
	p.toolchain = "go1.other"
	if a == key(map[string][]byte{"a.go": []byte("xy"), "b.go": []byte("z")}) {
		t.Error("the toolchain is not part of the key")
	}
}
