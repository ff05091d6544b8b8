package negotiation_test

import (
	"fmt"

	"github.com/good-offices/goodoffices/negotiation"
)

// A desk feeds the engine the decrypted, authenticated entries of a channel
// in log order and reads the state.
func Example() {
	s, err := negotiation.New(negotiation.Config{
		Talks: "Talks on the settlement",
		Host:  "caspia",
		Parties: []negotiation.Party{
			{ID: "arden", Name: "Federation of Arden"},
			{ID: "borealia", Name: "Republic of Borealia"},
		},
	})
	if err != nil {
		panic(err)
	}
	var index uint64
	send := func(delegation, person string, payload []byte) negotiation.Record {
		index++
		return s.Apply(negotiation.Event{LogIndex: index, Channel: "wg1", Delegation: delegation, Person: person, Payload: payload})
	}

	send("arden", "Tomas Reig", negotiation.NewTableText(negotiation.TableText{
		ID: "js", Title: "Joint Statement", Level: negotiation.LevelExpert, Language: "en",
		Paragraphs: []string{"The Parties agree to a [complete] [partial]{borealia} cessation of hostilities."},
	}))
	p := s.Text("js").Paragraph("p1")
	fmt.Println(p.Text)

	// Arden proposes to keep "complete"; Borealia accepts ad referendum.
	r := send("arden", "Tomas Reig", negotiation.NewProposal("js", negotiation.Amendment{
		Op: negotiation.OpRemoveBrackets, Para: "p1", Base: 1, Path: []int{1}, Option: 0,
	}))
	send("borealia", "Iryna Holt", negotiation.NewResponse(r.Ref, negotiation.AcceptAdReferendum, ""))
	fmt.Println(p.Text)

	// The host is not a party: its position is refused and changes nothing.
	refused := send("caspia", "Dana Seitkali", negotiation.NewPosition("js", "p1", 2, negotiation.Agree, ""))
	fmt.Println(refused.Result, "-", refused.Reason)

	send("arden", "Tomas Reig", negotiation.NewPosition("js", "p1", 2, negotiation.Agree, ""))
	send("borealia", "Iryna Holt", negotiation.NewPosition("js", "p1", 2, negotiation.AgreeAdReferendum, "pending the capital"))
	fmt.Println(s.Text("js").Package.Status)
	// Output:
	// The Parties agree to a [complete]{arden} [partial]{borealia} cessation of hostilities.
	// The Parties agree to a complete cessation of hostilities.
	// rejected - only a party to the talks may do this
	// agreed_ad_referendum
}
