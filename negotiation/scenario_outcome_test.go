package negotiation_test

import (
	"bytes"
	"testing"

	"github.com/good-offices/goodoffices/negotiation"
	"github.com/good-offices/goodoffices/outcome"
)

// TestScenarioOutcome plays the scenario to its end with real outcome
// commitments: step 6, the Joint Statement adopted in English, French and
// Russian and signed by both root keys, gives a bundle that verifies
// offline against the pinned fingerprints, and step 7, a briefing on
// paragraph 3 only.
func TestScenarioOutcome(t *testing.T) {
	s, send := negotiation.PlayScenario(t)
	payload, unsigned, err := outcome.PrepareAdoption(s, "joint-statement", negotiation.ScenarioLanguages)
	if err != nil {
		t.Fatal(err)
	}
	if r := send("pieter-ost", payload); r.Result != negotiation.ResultApplied {
		t.Fatalf("adopt: %s", r.Reason)
	}
	digest, _ := unsigned.DigestBytes()
	for _, p := range []struct{ person, party string }{{"ilse-marven", "arden"}, {"oleh-varta", "borealia"}} {
		sig := outcome.Sign(negotiation.TestRootKey(p.party), digest)
		if r := send(p.person, negotiation.NewSignature("joint-statement", digest, sig)); r.Result != negotiation.ResultApplied {
			t.Fatalf("sign: %s", r.Reason)
		}
	}
	if st := s.Text("joint-statement").Status; st != negotiation.TextAdopted {
		t.Fatalf("status %s", st)
	}
	b, err := outcome.FromState(s, "joint-statement")
	if err != nil {
		t.Fatal(err)
	}
	pins := outcome.Options{Pins: outcome.Pins{}}
	for _, p := range s.Config.Parties {
		pins.Pins[p.ID] = outcome.Fingerprint(p.ID, p.RootKey)
	}
	data := b.Marshal()
	r, err := outcome.Verify(data, pins)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Signers) != 2 || len(r.Languages) != 3 || r.Paragraphs != 4 {
		t.Fatalf("report %+v", r)
	}
	// Any single changed byte fails.
	for i := range data {
		bad := bytes.Clone(data)
		bad[i] ^= 0x01
		if _, err := outcome.Verify(bad, pins); err == nil {
			t.Fatalf("verified with byte %d changed", i)
		}
	}
	// Step 7: Arden briefs a third capital on paragraph 3 only.
	br, err := b.Brief([]outcome.Ref{{Lang: "en", Number: 3}})
	if err != nil {
		t.Fatal(err)
	}
	r, err = outcome.Verify(br.Marshal(), pins)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Disclosed) != 1 || r.Disclosed[0].Text != "The Parties agree to withdraw heavy weapons 20 km from the line of contact." {
		t.Fatalf("briefing %+v", r.Disclosed)
	}
	if bytes.Contains(br.Marshal(), []byte("cessation")) {
		t.Fatal("the briefing reveals paragraph 2")
	}
}
