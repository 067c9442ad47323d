package jsondoc

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestObjectsKeepOrderAndIndexLargeOnes(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range 20 {
		fmt.Fprintf(&b, `"k%d":%d,`, i, i)
	}
	b.WriteString(`"k3":"again","k19":null}`)
	v, err := Decode([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	o := v.(*Object)
	if len(o.Keys) != 20 || o.index == nil {
		t.Fatalf("%d keys, index %v", len(o.Keys), o.index != nil)
	}
	if x, _ := o.Get("k3"); x != "again" || o.Keys[3] != "k3" {
		t.Fatalf("k3 = %v (a repeated key keeps its first place, takes the last value)", x)
	}
	if x, ok := o.Get("k19"); !ok || x != nil {
		t.Fatalf("k19 = %v %v", x, ok)
	}
	if _, ok := o.Get("k20"); ok {
		t.Fatal("k20 found")
	}
}

func TestRoundTripMatchesEncodingJSON(t *testing.T) {
	for _, doc := range []string{
		`{"b":1,"a":[true,null,"x\u00e9\n"],"c":{"d":-2.5e3}}`,
		`[]`, `{}`, `"\ud83d\ude00"`, `0`,
	} {
		v, err := Decode([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		var mine, std any
		if err := json.Unmarshal(Append(nil, v), &mine); err != nil {
			t.Fatalf("%s: Append wrote invalid JSON: %v", doc, err)
		}
		json.Unmarshal([]byte(doc), &std)
		if fmt.Sprint(mine) != fmt.Sprint(std) {
			t.Errorf("%s: round trip %v, want %v", doc, mine, std)
		}
	}
	for _, bad := range []string{`{`, `{"a":}`, `[1,]`, `"\x01"`, `01`, `1 2`} {
		if _, err := Decode([]byte(bad)); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
	deep := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	if _, err := Decode([]byte(deep)); err == nil {
		t.Error("decoded a document nested past MaxDepth")
	}
}
