package store

import (
	"strings"
	"testing"
)

func TestChannelName(t *testing.T) {
	s := &Store{pgSchema: "public"}
	if got := s.channel("mcphost"); got != "kiln_mcphost_public" {
		t.Fatal(got)
	}
	s.pgSchema = strings.Repeat("s", 63)
	if got := s.channel("mcphost"); len(got) > 63 || !strings.HasPrefix(got, channelPrefix) {
		t.Fatal(got)
	}
	if a, b := s.channel("a"), s.channel("b"); a == b {
		t.Fatalf("two topics share the channel %s", a)
	}
}
