package negotiation

import "testing"

// TestInterpreterConsent: an interpreter of the host posts interpretations
// only once every party has consented, only into its languages, and
// nothing else; any party removes it, and it needs every party's consent
// again to come back.
func TestInterpreterConsent(t *testing.T) {
	s, l, _ := newTalks(t)
	const dev = "aigul-nur-laptop" // the device of the host's interpreter in these tests
	langs := []string{"en", "ru"}
	rec := play(t, s, l, "nora-vass", NewStatement("Arden proposes to meet monthly.", "", "", ""))
	s1, e1 := rec.Ref, rec.LogIndex

	refuse(t, s, l, "aigul-nur", NewInterpretation(e1, "ru", "Арден предлагает встречаться ежемесячно."), "every party has admitted")
	refuse(t, s, l, "nora-vass", NewInterpreterConsent("maks-dorn-laptop", "borealia", "Maks Dorn", langs), "is a party")
	refuse(t, s, l, "dana-seitkali", NewInterpreterConsent(dev, "caspia", "Aigul Nur", langs), "only a party")
	play(t, s, l, "nora-vass", NewInterpreterConsent(dev, "caspia", "Aigul Nur", langs))
	refuse(t, s, l, "nora-vass", NewInterpreterConsent(dev, "caspia", "Aigul Nur", langs), "already consented")
	refuse(t, s, l, "maks-dorn", NewInterpreterConsent(dev, "caspia", "Aigul Nur", []string{"en", "fr"}), "described otherwise")
	refuse(t, s, l, "aigul-nur", NewInterpretation(e1, "ru", "Арден предлагает встречаться ежемесячно."), "every party has admitted")
	play(t, s, l, "maks-dorn", NewInterpreterConsent(dev, "caspia", "Aigul Nur", langs))
	if got := s.AdmittedInterpreters(); len(got) != 1 || got[0] != dev {
		t.Fatalf("admitted: %v", got)
	}

	r := play(t, s, l, "aigul-nur", NewInterpretation(e1, "ru", "Арден предлагает встречаться ежемесячно."))
	st := s.index().statements[r.Ref]
	if st.Interprets != s1 || st.Lang != "ru" || st.Delegation != "caspia" {
		t.Fatalf("interpretation: %+v", st)
	}
	if src := s.index().statements[s1]; len(src.Interpretations) != 1 || src.Interpretations[0] != r.Ref {
		t.Fatalf("source statement: %+v", src)
	}
	refuse(t, s, l, "aigul-nur", NewInterpretation(e1, "fr", "Arden propose…"), "does not interpret into")
	refuse(t, s, l, "aigul-nur", NewInterpretation(999, "ru", "…"), "no statement at entry 999")
	// Nothing but interpretations: no statement, no position, no proposal.
	refuse(t, s, l, "aigul-nur", NewStatement("My own view.", "", "", ""), "only post interpretations")
	refuse(t, s, l, "aigul-nur", NewPosition("exchange", "p2", 1, Agree, ""), "only post interpretations")
	refuse(t, s, l, "aigul-nur", NewProposal("exchange", Amendment{Op: OpReplace, Para: "p2", Base: 1, Notation: "x"}), "only post interpretations")

	play(t, s, l, "maks-dorn", NewInterpreterRemoval(dev, "the meeting is over"))
	if len(s.AdmittedInterpreters()) != 0 || s.Interpreter(dev).RemovedBy != "borealia" {
		t.Fatalf("after removal: %+v", s.Interpreter(dev))
	}
	refuse(t, s, l, "aigul-nur", NewInterpretation(e1, "ru", "…"), "every party has admitted")
	refuse(t, s, l, "nora-vass", NewInterpreterRemoval(dev, ""), "no interpreter")
	play(t, s, l, "nora-vass", NewInterpreterConsent(dev, "caspia", "Aigul Nur", langs))
	if in := s.Interpreter(dev); in.Admitted || len(in.Consents) != 1 {
		t.Fatalf("one consent after a removal admitted it again: %+v", in)
	}
}
