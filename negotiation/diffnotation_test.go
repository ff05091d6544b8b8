package negotiation

import (
	"strings"
	"testing"
)

// show writes runs tersely: {-deleted-}{+inserted+}, brackets with their
// party as [ and ]@party.
func show(runs []DiffRun) string {
	var b strings.Builder
	for _, r := range runs {
		var t strings.Builder
		for _, k := range r.Tokens {
			switch k.Kind {
			case "open":
				t.WriteString("[")
			case "close":
				t.WriteString("]")
				if k.Party != "" {
					t.WriteString("@" + k.Party)
				}
			default:
				t.WriteString(k.Text)
			}
		}
		switch r.Op {
		case "=":
			b.WriteString(t.String())
		case "-":
			b.WriteString("{-" + t.String() + "-}")
		case "+":
			b.WriteString("{+" + t.String() + "+}")
		}
	}
	return b.String()
}

func TestDiffNotation(t *testing.T) {
	for _, c := range []struct{ a, b, want string }{
		// A resolved bracket: the brackets and the dropped alternative go,
		// the kept word stays; no raw {party}.
		{"The Parties agree to a [complete]{arden} [partial]{borealia} cessation of hostilities.",
			"The Parties agree to a complete cessation of hostilities.",
			"The Parties agree to a {-[-}complete{-]@arden [partial]@borealia-} cessation of hostilities."},
		// Whole words: "cessation" to "cessations" is one word replaced,
		// not "cessation{+s+}".
		{"a cessation of hostilities.", "a cessations of hostilities;",
			"a {-cessation-}{+cessations+} of {-hostilities.-}{+hostilities;+}"},
		// Two adjacent words replaced read as one phrase.
		{"withdraw heavy weapons now", "withdraw all armed forces now",
			"withdraw {-heavy weapons-}{+all armed forces+} now"},
		// Escapes are undone; a change of attribution is a change.
		{`a \[sic\] text [15]{borealia} km`, `a \[sic\] text [15]{arden} km`,
			"a [sic] text [15{-]@borealia-}{+]@arden+} km"},
		{"same [text]{arden}", "same [text]{arden}", "same [text]@arden"},
	} {
		if got := show(DiffNotation(c.a, c.b)); got != c.want {
			t.Errorf("DiffNotation(%q, %q)\n got %s\nwant %s", c.a, c.b, got, c.want)
		}
	}
}

func FuzzDiffNotation(f *testing.F) {
	f.Add("The Parties agree to a [complete]{arden} [partial]{borealia} cessation.", "The Parties agree to a complete cessation.")
	f.Add(`\[x\] [a [b]{c}]{d}`, "]{ [ \\")
	f.Fuzz(func(t *testing.T, a, b string) {
		if len(a) > 2000 || len(b) > 2000 {
			return
		}
		runs := DiffNotation(a, b)
		// The kept and deleted tokens make a's tokens, the kept and
		// inserted ones b's, in order.
		var fromA, fromB []DiffToken
		for _, r := range runs {
			if len(r.Tokens) == 0 {
				t.Fatal("empty run")
			}
			if r.Op != "+" {
				fromA = append(fromA, r.Tokens...)
			}
			if r.Op != "-" {
				fromB = append(fromB, r.Tokens...)
			}
		}
		if !sameTokens(fromA, notationTokens(a)) || !sameTokens(fromB, notationTokens(b)) {
			t.Fatalf("DiffNotation(%q, %q) does not rebuild both sides: %+v", a, b, runs)
		}
	})
}

// sameTokens compares token lists, opening brackets without their party
// (a kept opening bracket shows the newer side's party).
func sameTokens(x, y []DiffToken) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		a, b := x[i], y[i]
		if a.Kind == "open" {
			a.Party, b.Party = "", ""
		}
		if a != b {
			return false
		}
	}
	return true
}
