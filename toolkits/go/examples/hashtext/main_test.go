package main

import (
	"context"
	"testing"
)

func TestDigest(t *testing.T) {
	got, err := digest(context.Background(), digestIn{Text: "abc", Algorithm: "sha256"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Hex != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" || got.Base64 != "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=" {
		t.Fatalf("got %+v", got)
	}
}

func TestDecodeBase64(t *testing.T) {
	for in, want := range map[string]string{"aGk=": "hi", "aGk": "hi", "-_8": "\xfb\xff"} {
		if got, err := decodeBase64(context.Background(), decodeIn{in}); err != nil || got != want {
			t.Errorf("%q: got %q, %v", in, got, err)
		}
	}
	if _, err := decodeBase64(context.Background(), decodeIn{"!!"}); err == nil {
		t.Error("decoded !!")
	}
}
