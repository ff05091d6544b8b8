package negotiation

import "testing"

// TestBidiControlsInTitles: single-line strings (titles) refuse
// bidirectional controls; multiline text keeps them (right-to-left scripts
// need them).
func TestBidiControlsInTitles(t *testing.T) {
	for _, s := range []string{"Joint \u202estatement", "\u2066x\u2069", "a\u200fb", "a\u061cb"} {
		if err := checkString("title", s, 100, false, true); err == nil {
			t.Errorf("title %q accepted", s)
		}
		if err := checkString("text", s, 100, true, true); err != nil {
			t.Errorf("multiline text %q refused: %v", s, err)
		}
	}
	if err := checkString("title", "Déclaration commune — العربية", 100, false, true); err != nil {
		t.Errorf("a plain title refused: %v", err)
	}
}
