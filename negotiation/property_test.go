package negotiation

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// TestReplayDeterministic: two replays of one log give identical bytes,
// whether built event by event, in one go, or with the config in another
// order; and a shuffled log is never taken for the same state.
func TestReplayDeterministic(t *testing.T) {
	_, l := playScenario(t)
	ref, _ := Replay(scenarioConfig(), l.events)

	s, _ := New(scenarioConfig())
	for _, e := range l.events {
		s.Apply(e)
	}
	if !bytes.Equal(s.Canonical(), ref.Canonical()) || s.Digest() != ref.Digest() {
		t.Fatal("event-by-event replay differs")
	}

	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 50; i++ {
		cfg := scenarioConfig()
		rng.Shuffle(len(cfg.Parties), func(i, j int) { cfg.Parties[i], cfg.Parties[j] = cfg.Parties[j], cfg.Parties[i] })
		r, _ := Replay(cfg, l.events)
		if !bytes.Equal(r.Canonical(), ref.Canonical()) {
			t.Fatal("replay with shuffled config differs")
		}

		ev := append([]Event(nil), l.events...)
		rng.Shuffle(len(ev), func(i, j int) { ev[i], ev[j] = ev[j], ev[i] })
		sh, _ := Replay(scenarioConfig(), ev)
		if bytes.Equal(sh.Canonical(), ref.Canonical()) {
			t.Fatal("a shuffled log gave the same state")
		}

		// Renumbering the log (same order, same content) is also detected:
		// the log indexes are part of the state.
		ev = append([]Event(nil), l.events...)
		for k := range ev {
			ev[k].LogIndex += 10
		}
		sh, _ = Replay(scenarioConfig(), ev)
		if bytes.Equal(sh.Canonical(), ref.Canonical()) {
			t.Fatal("a renumbered log gave the same state")
		}
	}
}

// TestRefusedEventsChangeNothing replays the scenario and, before every
// event, tries a few invalid ones; none may change the substance.
func TestRefusedEventsChangeNothing(t *testing.T) {
	_, l := playScenario(t)
	s, _ := New(scenarioConfig())
	var idx uint64 = 1000000
	junk := [][]byte{
		nil, []byte("{}"), []byte(`{"v":2,"type":"propose"}`), []byte(`{"v":1,"type":"nope"}`),
		[]byte(`{"v":1,"type":"position","text":"joint-statement","para":"p1","version":1,"stance":"agree","extra":1}`),
		[]byte(`{"v":1,"type":"propose","text":"joint-statement","amendment":{"op":"delete","para":"p1","base":1,"path":[0]}}`),
		NewWithdrawal("A1"),
	}
	for _, e := range l.events {
		for _, j := range junk {
			for _, from := range []string{"oleh-varta", "dana-seitkali", "stranger"} {
				before := substance(s)
				idx++
				r := s.Apply(Event{LogIndex: idx, Channel: "other", Delegation: persons[from], Person: from, Payload: j})
				if r.Result == ResultApplied {
					continue
				}
				if !bytes.Equal(before, substance(s)) {
					t.Fatalf("refused %s (%s) changed the state", j, r.Reason)
				}
			}
		}
		s.Apply(e)
	}
}

// FuzzApply feeds arbitrary events to the scenario's state at several
// points: Apply never panics, and an event that is not applied changes
// nothing but the log and the cursor.
func FuzzApply(f *testing.F) {
	_, l := playScenario(f)
	for _, e := range l.events {
		f.Add(uint8(0), e.Payload, uint8(1))
	}
	f.Add(uint8(3), []byte(`{"v":1,"type":"propose","text":"joint-statement","amendment":{"op":"insert","para":"p2","base":1,"path":[1,0,0],"notation":"x"}}`), uint8(0))
	states := map[int][]byte{}
	f.Fuzz(func(t *testing.T, at uint8, payload []byte, who uint8) {
		n := int(at) % (len(l.events) + 1)
		if states[n] == nil {
			s, _ := Replay(scenarioConfig(), l.events[:n])
			states[n] = s.Canonical()
		}
		s, err := Decode(states[n])
		if err != nil {
			t.Fatal(err)
		}
		people := []string{"ilse-marven", "tomas-reig", "oleh-varta", "iryna-holt", "dana-seitkali", "stranger"}
		p := people[int(who)%len(people)]
		before := substance(s)
		idx := uint64(n) + 1 + uint64(binary.LittleEndian.Uint16(append(payload, 0, 0)))%3
		r := s.Apply(Event{LogIndex: idx, Channel: "wg1", Delegation: persons[p], Person: p, Payload: payload})
		if r.Result != ResultApplied && !bytes.Equal(before, substance(s)) {
			t.Fatalf("%s event changed the state: %s", r.Result, r.Reason)
		}
		if r.Result == ResultApplied {
			// Whatever was applied must replay identically.
			s2, _ := Decode(states[n])
			s2.Apply(Event{LogIndex: idx, Channel: "wg1", Delegation: persons[p], Person: p, Payload: payload})
			if !bytes.Equal(s.Canonical(), s2.Canonical()) {
				t.Fatal("applying the same event twice from the same state differs")
			}
		}
		if _, err := Decode(s.Canonical()); err != nil {
			t.Fatalf("state does not decode: %v", err)
		}
	})
}

// BenchmarkReplay replays a long negotiation: 100,000 events of proposals,
// answers, positions and statements on a 40-paragraph text.
func BenchmarkReplay(b *testing.B) {
	events := longNegotiation(b, 100000)
	b.ResetTimer()
	for range b.N {
		s, _ := Replay(scenarioConfig(), events)
		if len(s.Log) != len(events) {
			b.Fatal("short log")
		}
	}
}

// BenchmarkApplyOne measures one more event on top of a long negotiation: a
// position, which recomputes the package views.
func BenchmarkApplyOne(b *testing.B) {
	events := longNegotiation(b, 100000)
	s, _ := Replay(scenarioConfig(), events)
	snap := s.Canonical()
	last := events[len(events)-1].LogIndex
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		if i%1000 == 0 {
			s, _ = Decode(snap)
		}
		p := s.Text("long").Paragraphs[2]
		stance := []Stance{Reserve, Object}[i%2]
		b.StartTimer()
		r := s.Apply(Event{LogIndex: last + 1 + uint64(i), Channel: "wg1", Delegation: "arden", Person: "tomas-reig",
			Payload: NewPosition("long", p.ID, p.Version, stance, "one more position")})
		if r.Result != ResultApplied {
			b.Fatal(r.Reason)
		}
	}
}

func longNegotiation(tb testing.TB, n int) []Event {
	l := &log{t: tb, channel: "wg1"}
	paras := make([]string, 40)
	for i := range paras {
		paras[i] = "The Parties [shall] [may] take the measures set out in annex " + string(rune('A'+i%26)) + "."
	}
	s, _ := New(scenarioConfig())
	add := func(person string, p []byte) Record {
		e := l.add(person, p)
		return s.Apply(e)
	}
	add("tomas-reig", NewTableText(TableText{ID: "long", Title: "Long text", Level: LevelExpert, Language: "en", Paragraphs: paras}))
	t := s.Text("long")
	for i := 0; len(l.events) < n; i++ {
		p := t.Paragraphs[i%len(t.Paragraphs)]
		switch i % 4 {
		case 0:
			r := add("tomas-reig", NewProposal("long", Amendment{Op: OpAddAlternative, Para: p.ID, Base: p.Version, Path: []int{1}, Notation: "must"}))
			_ = r
		case 1:
			r := add("iryna-holt", NewProposal("long", Amendment{Op: OpRemoveBrackets, Para: p.ID, Base: p.Version, Path: []int{1}, Option: i % 2}))
			add("tomas-reig", NewResponse(r.Ref, Accept, ""))
		case 2:
			add("iryna-holt", NewPosition("long", p.ID, p.Version, Reserve, "consulting"))
			add("tomas-reig", NewStatement("On this paragraph, we have a concern.", "", "long", p.ID))
		case 3:
			r := add("iryna-holt", NewProposal("long", Amendment{Op: OpReplace, Para: p.ID, Base: p.Version,
				Notation: "The Parties [shall] [may] take the measures set out in annex " + string(rune('A'+i%26)) + "."}))
			add("tomas-reig", NewResponse(r.Ref, AcceptAdReferendum, ""))
		}
	}
	return l.events[:n]
}

// FuzzSequence drives the engine with event sequences built from the fuzz
// input: proposals of every kind on random paths, answers, withdrawals,
// positions, readiness and adoption attempts from random senders. Apply
// never panics; every refused event leaves the substance unchanged; and the
// log replays to the same bytes in one go and from a snapshot taken half-way.
func FuzzSequence(f *testing.F) {
	f.Add([]byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"))
	f.Add([]byte("\x10\x21\x32\x43\x54\x65\x76\x87\x98\xa9\xba\xcb\xdc\xed\xfe\x0f\x11\x22\x33"))
	people := []string{"ilse-marven", "tomas-reig", "oleh-varta", "iryna-holt", "dana-seitkali", "stranger"}
	ops := []Op{OpReplace, OpInsert, OpDelete, OpAddAlternative, OpRemoveBrackets, OpAddParagraph, OpMoveParagraph, OpDeleteParagraph}
	words := []string{"[complete]", "partial", " [x] [y]", "[[a] [b] c]", "the date", "[15] [30] km", "\\[sic\\]"}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 400 {
			return
		}
		s, _ := New(scenarioConfig())
		l := &log{t: t, channel: "wg1"}
		s.Apply(l.add("dana-seitkali", NewAddItem("ceasefire", "Ceasefire", "")))
		s.Apply(l.add("tomas-reig", NewTableText(jointStatement)))
		next := func() int {
			if len(in) == 0 {
				return 0
			}
			b := int(in[0])
			in = in[1:]
			return b
		}
		for len(in) > 0 {
			who := people[next()%len(people)]
			txt := s.Text("joint-statement")
			para := txt.Paragraphs[next()%len(txt.Paragraphs)]
			var payload []byte
			switch next() % 6 {
			case 0, 1:
				a := Amendment{Op: ops[next()%len(ops)], Para: para.ID, Base: para.Version - next()%2,
					Notation: words[next()%len(words)], Option: next() % 3}
				for n := next() % 4; n > 0; n-- {
					a.Path = append(a.Path, next()%4)
				}
				if a.Op == OpAddParagraph || a.Op == OpMoveParagraph {
					a.After, a.Base, a.Path, a.Option = para.ID, 0, nil, 0
					if a.Op == OpAddParagraph {
						a.Para = ""
					} else {
						a.Notation = ""
						a.Para = txt.Paragraphs[next()%len(txt.Paragraphs)].ID
					}
				}
				payload = NewProposal(txt.ID, a)
			case 2:
				id := "A" + string(rune('1'+next()%9))
				if next()%4 == 0 {
					payload = NewWithdrawal(id)
				} else {
					payload = NewResponse(id, []Response{Accept, AcceptAdReferendum, Decline}[next()%3], "")
				}
			case 3:
				payload = NewPosition(txt.ID, para.ID, para.Version, []Stance{Agree, AgreeAdReferendum, Reserve, Object}[next()%4], "")
			case 4:
				payload = NewReadiness(ScopeText, txt.ID, s.Config.Levels[next()%4], "")
			case 5:
				langs := []Language{{Lang: "en", Title: "Joint Statement", Paragraphs: make([]string, len(txt.Paragraphs))}}
				for i, p := range txt.Paragraphs {
					langs[0].Paragraphs[i], _ = PlainText(p.Segments)
				}
				payload = NewAdoption(txt.ID, txt.Version, langs, make([]byte, 32), make([]byte, 32))
			}
			before := substance(s)
			if r := s.Apply(l.add(who, payload)); r.Result != ResultApplied && !bytes.Equal(before, substance(s)) {
				t.Fatalf("refused %s changed the state: %s", r.Type, r.Reason)
			}
			for _, p := range txt.Paragraphs {
				if _, err := ParseNotation(p.Text); err != nil || RenderNotation(p.Segments) != p.Text {
					t.Fatalf("paragraph %s is not canonical: %q", p.ID, p.Text)
				}
			}
		}
		r, _ := Replay(scenarioConfig(), l.events)
		if !bytes.Equal(r.Canonical(), s.Canonical()) {
			t.Fatal("replay differs")
		}
		half, _ := Replay(scenarioConfig(), l.events[:len(l.events)/2])
		resumed, err := Decode(half.Canonical())
		if err != nil {
			t.Fatal(err)
		}
		resumed.ApplyAll(l.events[len(l.events)/2:])
		if !bytes.Equal(resumed.Canonical(), s.Canonical()) {
			t.Fatal("replay from a snapshot differs")
		}
	})
}
