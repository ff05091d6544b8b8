package negotiation

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseNotation(t *testing.T) {
	segs, err := ParseNotation("agree to a [complete] [partial] cessation")
	if err != nil {
		t.Fatal(err)
	}
	want := []Segment{
		{Text: "agree to a "},
		{Options: []Option{{Segments: []Segment{{Text: "complete"}}}, {Segments: []Segment{{Text: "partial"}}}}},
		{Text: " cessation"},
	}
	if !reflect.DeepEqual(segs, want) {
		t.Fatalf("got %+v", segs)
	}

	segs, err = ParseNotation("[withdraw [15]{borealia} [30]{arden} km]{borealia} and \\[sic\\]")
	if err != nil {
		t.Fatal(err)
	}
	outer := segs[0].Options
	if len(outer) != 1 || outer[0].Party != "borealia" {
		t.Fatalf("outer %+v", outer)
	}
	inner := outer[0].Segments[1].Options
	if len(inner) != 2 || inner[0].Party != "borealia" || inner[1].Party != "arden" {
		t.Fatalf("inner %+v", inner)
	}
	if segs[1].Text != " and [sic]" {
		t.Fatalf("escaped text %q", segs[1].Text)
	}

	// Two spaces keep two brackets apart.
	segs, _ = ParseNotation("[a]  [b]")
	if len(segs) != 3 {
		t.Fatalf("[a]  [b]: %+v", segs)
	}
}

func TestParseNotationRefuses(t *testing.T) {
	for _, s := range []string{
		"", " lead", "trail ", "[]", "[ a]", "[a ]", "[a", "a]", "[a]{", "[a]{Arden}", "[a]{}", "x {y}",
		"a\\", "a\\n", "tab\there", "new\nline", "[a]{-x}", "\xff",
		strings.Repeat("[", MaxBracketDepth+1) + "x" + strings.Repeat("]", MaxBracketDepth+1),
		"[a]" + strings.Repeat(" [a]", MaxAlternatives),
		strings.Repeat("x", MaxParagraphBytes+1),
	} {
		if segs, err := ParseNotation(s); err == nil {
			t.Errorf("ParseNotation(%q) = %+v, want error", s, segs)
		}
	}
	ok := strings.Repeat("[", MaxBracketDepth) + "x" + strings.Repeat("]", MaxBracketDepth)
	if _, err := ParseNotation(ok); err != nil {
		t.Errorf("depth %d: %v", MaxBracketDepth, err)
	}
}

var notationSeeds = []string{
	"The Parties agree to a [complete] [partial] cessation of hostilities from [00:00 on 1 December] [the date of signature].",
	"[The Parties agree to withdraw heavy weapons [15] [30] km from the line of contact.]",
	"[a]{arden} [b]{borealia}  [c] \\{\\}\\\\",
	"Стороны [договариваются]{borealia} об отводе",
}

// FuzzNotation checks that the parser never panics and that whatever it
// accepts renders back to exactly the same string.
func FuzzNotation(f *testing.F) {
	for _, s := range notationSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		segs, err := ParseNotation(s)
		if err != nil {
			return
		}
		r := RenderNotation(segs)
		if r != s {
			t.Fatalf("render(parse(%q)) = %q", s, r)
		}
		again, err := ParseNotation(r)
		if err != nil || !reflect.DeepEqual(again, segs) {
			t.Fatalf("reparse of %q: %v", r, err)
		}
		if plain, ok := PlainText(segs); ok == HasBrackets(segs) || (ok && strings.ContainsAny(r, "[]") && !strings.Contains(r, "\\")) {
			t.Fatalf("PlainText(%q) = %q, %v", s, plain, ok)
		}
	})
}

func TestCheckLang(t *testing.T) {
	for _, ok := range []string{"en", "fr", "ru", "sr-Latn", "pt-BR", "zh-Hant-TW", "kk"} {
		if err := checkLang(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "e", "EN", "engl", "en-", "-en", "en--x", "en_GB", "en-toolongsubtag", "fr-ç"} {
		if checkLang(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
