package demo

import (
	"os"
	"strings"
	"testing"
)

// The help of 'goodoffices demo' says how many desks the demo starts, and
// whose: it must say what the cast is (the host's desk, its interpreter's, and an
// expert and the head of each party).
func TestHelpCountsTheDesks(t *testing.T) {
	src, err := os.ReadFile("../../internal/cli/demo.go")
	if err != nil {
		t.Fatal(err)
	}
	words := []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}
	want := "start a venue and " + words[len(cast)] + " desks (the host, its interpreter and two per party)"
	if !strings.Contains(string(src), want) {
		t.Errorf("the demo's help does not say %q", want)
	}
	per := map[string]int{}
	for _, c := range cast {
		per[c.Delegation]++
	}
	if per["caspia"] != 2 || per["arden"] != 2 || per["borealia"] != 2 {
		t.Errorf("cast %v: not the host, its interpreter and two per party", per)
	}
}
