package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/good-offices/goodoffices/desk"
	"github.com/good-offices/goodoffices/negotiation"
)

func talksFixture(t *testing.T) *negotiation.State {
	t.Helper()
	st, err := negotiation.New(negotiation.Config{Talks: "t", Parties: []negotiation.Party{{ID: "arden", Name: "arden"}, {ID: "borealia", Name: "borealia"}}})
	if err != nil {
		t.Fatal(err)
	}
	ev := func(i uint64, del string, p []byte) negotiation.Record {
		return st.Apply(negotiation.Event{LogIndex: i, Channel: "wg1", Delegation: del, Person: del + " person", Payload: p})
	}
	ev(1, "arden", negotiation.NewTableText(negotiation.TableText{ID: "js", Title: "Joint Statement", Level: "expert", Language: "en",
		Paragraphs: []string{"Plain.", "A [complete] [partial] end."}}))
	ev(2, "borealia", negotiation.NewStatement("Hello.", "", "js", "p2"))
	if r := ev(3, "borealia", negotiation.NewPosition("js", "p2", 1, "agreed", "")); r.Result == negotiation.ResultApplied {
		t.Fatal("a bad stance applied")
	}
	return st
}

// The text as a terminal shows it: IDs and versions, brackets as readable
// text, no Markdown; colour only when asked for.
func TestWriteTextPlainAndColour(t *testing.T) {
	st := talksFixture(t)
	var plain bytes.Buffer
	if err := writeText(&plain, paint{}, "wg1", st, "js"); err != nil {
		t.Fatal(err)
	}
	out := plain.String()
	for _, want := range []string{"p2   v1    A [complete | partial]‹arden› end.", "stances now: reserve, object (brackets remain)",
		"goodoffices desk position wg1 --text js --para p2 --version 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	for _, bad := range []string{"**", "<sub>", `\[`, "\x1b["} {
		if strings.Contains(out, bad) {
			t.Errorf("%q in plain output:\n%s", bad, out)
		}
	}
	var col bytes.Buffer
	writeText(&col, paint{on: true}, "wg1", st, "js")
	if !strings.Contains(col.String(), "\x1b[") {
		t.Error("no colour with paint on")
	}
	if got := sgrRE.ReplaceAllString(col.String(), ""); got != out {
		t.Errorf("colour changes the text:\n%s\nvs\n%s", got, out)
	}
}

func TestColourOnlyOnATerminal(t *testing.T) {
	env := &Env{Stdout: &bytes.Buffer{}, Getenv: func(string) string { return "" }}
	if colourEnabled(env) {
		t.Error("colour into a buffer")
	}
	env.Getenv = func(k string) string {
		if k == "NO_COLOR" {
			return "1"
		}
		return ""
	}
	if colourEnabled(env) {
		t.Error("colour despite NO_COLOR")
	}
}

// read shows the statement ID and says when the rules refused a move.
func TestReadLine(t *testing.T) {
	st := talksFixture(t)
	at := time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)
	m := desk.Message{Channel: "wg1", Index: 2, Kind: "application", Sender: desk.MemberInfo{Person: "Iryna Holt", Delegation: "borealia"},
		Data: negotiation.NewStatement("Hello.", "", "js", "p2"), Received: at}
	got := readLine(paint{}, m, refOf(st, "wg1", 2), st, "")
	if !strings.Contains(got, "  S1   Iryna Holt (borealia) [about js p2]: Hello.") {
		t.Errorf("got %q", got)
	}
	m.Index, m.Data = 3, negotiation.NewPosition("js", "p2", 1, "agreed", "")
	got = readLine(paint{}, m, refOf(st, "wg1", 3), st, "")
	if !strings.Contains(got, `refused by the rules of the talks: `) || !strings.Contains(got, `takes the position "agreed" on js p2, version 1`) {
		t.Errorf("got %q", got)
	}
}
