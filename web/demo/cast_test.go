package demo

import (
	"os"
	"strings"
	"testing"
)

// The help of 'goodoffices demo' says how many desks the demo starts, and
// whose: it must say what the cast is (the host's desk, its interpreter's, an
// expert and the head of each party, and the adviser who joins Arden later).
func TestHelpCountsTheDesks(t *testing.T) {
	src, err := os.ReadFile("../../internal/cli/demo.go")
	if err != nil {
		t.Fatal(err)
	}
	words := []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}
	want := "start a venue and " + words[len(cast)+1] + " desks (the host, its interpreter, two per party and Arden's new adviser)"
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
	if newcomer.Delegation != "arden" || newcomer.Role == "head" {
		t.Errorf("the newcomer %+v is not a delegate of Arden", newcomer)
	}
}
