package negotiation

import (
	"strings"
	"testing"
)

// Every event type reads as words: none falls back to the unknown-event
// sentence or to raw JSON.
func TestDescribeEveryType(t *testing.T) {
	cases := map[string][]byte{
		TypeAddItem:            NewAddItem("i1", "Ceasefire", ""),
		TypeItemStatus:         NewItemStatus("i1", ItemClosed),
		TypeTableText:          NewTableText(TableText{ID: "js", Title: "Joint Statement", Level: "expert", Language: "en", Paragraphs: []string{"A."}}),
		TypePropose:            NewProposal("js", Amendment{Op: OpReplace, Para: "p2", Base: 1, Path: []int{1}, Notation: "complete"}),
		TypeRespond:            NewResponse("A1", AcceptAdReferendum, "capital"),
		TypeWithdraw:           NewWithdrawal("A1"),
		TypePosition:           NewPosition("js", "p2", 2, AgreeAdReferendum, ""),
		TypeReady:              NewReadiness(ScopeText, "js", "ministerial", ""),
		TypeStatement:          NewStatement("Good morning.", "", "", ""),
		TypeAdopt:              NewAdoption("js", 2, []Language{{Lang: "en"}, {Lang: "fr"}}, nil, nil),
		TypeSign:               NewSignature("js", nil, nil),
		TypeTranslate:          NewTranslation("js", "fr", "Déclaration", nil),
		TypeConcord:            NewConcordance("js", "fr", nil),
		TypeAdoptPackage:       NewPackageAdoption("caspia", "Caspia package", []PackageText{{Text: "protocol"}, {Text: "annex"}}, nil, nil),
		TypeRefer:              NewReferral(ReferredText{Text: "js", Title: "Joint Statement", From: "expert", To: "ministerial", Version: 3}),
		TypeTakeUp:             NewTakeUp("js", nil),
		TypeReopen:             NewReopening("js", "p2", "new facts"),
		TypeConsentInterpreter: NewInterpreterConsent("dev", "caspia", "Aru", []string{"en", "ru"}),
		TypeRemoveInterpreter:  NewInterpreterRemoval("dev", ""),
		TypeInterpret:          NewInterpretation(7, "ru", "Доброе утро."),
	}
	want := map[string]string{
		TypePropose:            "proposes to replace segment 1 of js p2 (drafted on version 1) with “complete”",
		TypePosition:           "agrees ad referendum to js p2, version 2",
		TypeAdopt:              "adopts text js version 2 in en, fr",
		TypeStatement:          "Good morning.",
		TypeConsentInterpreter: "consents to Aru (caspia) interpreting, in en, ru",
	}
	for typ, p := range cases {
		got := Describe(p)
		if strings.Contains(got, "does not know") || strings.Contains(got, `"type"`) || got == "" {
			t.Errorf("%s: %q", typ, got)
		}
		if w, ok := want[typ]; ok && got != w {
			t.Errorf("%s: got %q, want %q", typ, got, w)
		}
	}
	if got := Describe([]byte("not json")); got != `"not json"` {
		t.Errorf("not JSON: %q", got)
	}
	if got := Describe([]byte(`{"v":1,"type":"teleport"}`)); !strings.Contains(got, `"teleport" event this version does not know`) {
		t.Errorf("unknown type: %q", got)
	}
}

func FuzzDescribe(f *testing.F) {
	f.Add([]byte(`{"v":1,"type":"propose","text":"js","amendment":{"op":"replace"}}`))
	f.Add([]byte(`{"type":"adopt","languages":[{"lang":"en"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if s := Describe(b); len(s) > 4*len(b)+2000 {
			t.Fatalf("description of %d bytes is %d bytes", len(b), len(s))
		}
	})
}
