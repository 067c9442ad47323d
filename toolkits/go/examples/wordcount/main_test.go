package main

import (
	"context"
	"reflect"
	"testing"
)

func TestStats(t *testing.T) {
	got, err := stats(context.Background(), statsIn{Text: "The cat saw the other cat.\nThe end", Top: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := statsOut{Words: 8, Lines: 2, Characters: 34, TopWords: []wordCount{{"the", 3}, {"cat", 2}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestConvertCase(t *testing.T) {
	for to, want := range map[string]string{"upper": "HELLO WORLD", "lower": "hello world", "title": "Hello World"} {
		got, err := convertCase(context.Background(), caseIn{Text: "hELLO   world", To: to})
		if to != "title" {
			got, err = convertCase(context.Background(), caseIn{Text: "hELLO world", To: to})
		}
		if err != nil || got != want {
			t.Errorf("%s: got %q, %v; want %q", to, got, err, want)
		}
	}
}
