package schedule

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func leadersMeeting(t testing.TB) MeetingSpec {
	return MeetingSpec{
		Title: "Leaders' meeting: political framework", Talks: "caspia-talks", Channel: "plenary",
		Level: LevelLeaders, Room: "Hall of Independence",
		Start: lt(t, "2026-12-01T10:00"), End: lt(t, "2026-12-01T13:00"),
		Languages: []string{"en", "fr", "ru"}, Delegations: []string{"Caspia", "Arden", "Borealia"}, Headcount: 60,
	}
}

func signed(t testing.TB, m Meeting, delegation string, at time.Time) (stmt, sig []byte) {
	t.Helper()
	stmt, sig, err := SignReadiness(headKey(delegation), Readiness{
		Talks: m.Talks, Meeting: m.ID, Level: m.Level, Delegation: delegation, Time: at,
	})
	if err != nil {
		t.Fatal(err)
	}
	return stmt, sig
}

func pub(name string) ed25519.PublicKey { return headKey(name).Public().(ed25519.PublicKey) }

func TestReadinessCanonicalBytes(t *testing.T) {
	r := Readiness{Talks: "caspia-talks", Meeting: "m-abc", Level: LevelLeaders, Delegation: "Arden",
		Time: time.Date(2026, 11, 22, 22, 0, 0, 0, mustZone(t, "Asia/Almaty"))}
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := "goodoffices readiness v1\ntalks caspia-talks\nmeeting m-abc\nlevel leaders\ndelegation Arden\ntime 2026-11-22T17:00:00Z\n"
	if string(b) != want {
		t.Fatalf("canonical bytes\n%q\nwant\n%q", b, want)
	}
	back, err := ParseReadiness(b)
	if err != nil || !back.Time.Equal(r.Time) || back.Delegation != "Arden" || back.Level != LevelLeaders {
		t.Fatalf("parse: %+v %v", back, err)
	}
	for _, bad := range []string{
		strings.Replace(want, "\n", "\r\n", -1),
		strings.TrimSuffix(want, "\n"),
		want + "\n",
		want + "extra line\n",
		strings.Replace(want, "goodoffices readiness v1", "goodoffices readiness v2", 1),
		strings.Replace(want, "level leaders", "level expert", 1),
		strings.Replace(want, "level leaders", "level  leaders", 1),
		strings.Replace(want, "talks caspia-talks", "talks caspia-talks ", 1),
		strings.Replace(want, "17:00:00Z", "17:00:00+00:00", 1),
		strings.Replace(want, "17:00:00Z", "17:00:00.000Z", 1),
		strings.Replace(want, "17:00:00Z", "22:00:00+05:00", 1),
		strings.Replace(want, "delegation Arden", "delegation ", 1),
		strings.Replace(want, "delegation Arden", "Delegation Arden", 1),
		strings.Replace(want, "talks caspia-talks\nmeeting m-abc", "meeting m-abc\ntalks caspia-talks", 1),
		strings.Replace(want, "Arden", "Ar\x00den", 1),
		strings.Replace(want, "Arden", "Ar\xffden", 1),
	} {
		if _, err := ParseReadiness([]byte(bad)); !errors.Is(err, ErrBadReadiness) {
			t.Errorf("ParseReadiness(%q) = %v", bad, err)
		}
	}
	if _, err := (Readiness{Talks: "t", Meeting: "m", Level: LevelExpert, Delegation: "A", Time: t0}).Marshal(); err == nil {
		t.Error("an expert-level readiness statement was encoded")
	}
}

func TestVerifyReadiness(t *testing.T) {
	r := Readiness{Talks: "t", Meeting: "m-1", Level: LevelMinisterial, Delegation: "Arden", Time: t0}
	stmt, sig, err := SignReadiness(headKey("Arden"), r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyReadiness(pub("Arden"), stmt, sig); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyReadiness(pub("Borealia"), stmt, sig); err != ErrBadReadiness {
		t.Errorf("wrong key: %v", err)
	}
	// Flip every bit of the statement and of the signature.
	for i := range len(stmt) * 8 {
		s := slices.Clone(stmt)
		s[i/8] ^= 1 << (i % 8)
		if _, err := VerifyReadiness(pub("Arden"), s, sig); err != ErrBadReadiness {
			t.Fatalf("statement bit %d flipped: %v", i, err)
		}
	}
	for i := range len(sig) * 8 {
		s := slices.Clone(sig)
		s[i/8] ^= 1 << (i % 8)
		if _, err := VerifyReadiness(pub("Arden"), stmt, s); err != ErrBadReadiness {
			t.Fatalf("signature bit %d flipped: %v", i, err)
		}
	}
	if _, err := VerifyReadiness(pub("Arden")[:31], stmt, sig); err != ErrBadReadiness {
		t.Error("short key accepted")
	}
	if _, err := VerifyReadiness(pub("Arden"), stmt, sig[:63]); err != ErrBadReadiness {
		t.Error("short signature accepted")
	}
}

func TestReadinessGate(t *testing.T) {
	s := caspia(t)
	m, err := s.Propose(leadersMeeting(t), op(0))
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != StatusProvisional {
		t.Fatalf("leaders' meeting proposed as %s", m.Status)
	}
	if got, _ := s.Missing(m.ID); !slices.Equal(got, []string{"Arden", "Borealia"}) {
		t.Fatalf("missing %v", got)
	}
	// Not confirmable before any signal, whatever is overridden.
	_, err = s.Confirm(m.ID, op(1, ConflictKinds...))
	var nr *NotReadyError
	if !errors.As(err, &nr) || !slices.Equal(nr.Missing, []string{"Arden", "Borealia"}) {
		t.Fatalf("confirm without readiness: %v", err)
	}
	t.Log(err)

	// Arden signals.
	stmt, sig := signed(t, m, "Arden", t0.Add(time.Minute))
	if m, err = s.SignalReadiness(stmt, sig, pub("Arden"), op(2)); err != nil {
		t.Fatal(err)
	}
	if m.Sequence != 0 || m.Status != StatusProvisional || m.History[len(m.History)-1].Delegation != "Arden" {
		t.Fatalf("after Arden's signal: %+v", m)
	}
	if _, err := s.Confirm(m.ID, op(3)); !errors.As(err, &nr) || !slices.Equal(nr.Missing, []string{"Borealia"}) {
		t.Fatalf("confirm with one signal: %v", err)
	}

	// Refused signals change nothing.
	before, _ := s.Meeting(m.ID)
	bStmt, bSig := signed(t, m, "Borealia", t0.Add(time.Minute))
	other := m
	other.ID = "m-other"
	oStmt, oSig := signed(t, other, "Borealia", t0)
	other = m
	other.Level = LevelMinisterial
	lStmt, lSig := signed(t, other, "Borealia", t0)
	other = m
	other.Talks = "other-talks"
	tStmt, tSig := signed(t, other, "Borealia", t0)
	gStmt, gSig := signed(t, m, "Gamma", t0)
	hStmt, hSig := signed(t, m, "Caspia", t0)
	fStmt, fSig := signed(t, m, "Borealia", t0.Add(time.Hour))
	forged := bytes.Replace(bStmt, []byte("Borealia"), []byte("Arden\x00\x00\x00"), 1)
	for name, tc := range map[string]struct {
		stmt, sig []byte
		key       []byte
		want      error
	}{
		"forged by the host":   {bStmt, bSig, pub("Caspia"), ErrBadReadiness},
		"signed by non-head":   {bStmt, ed25519.Sign(headKey("Maks Dorn"), bStmt), pub("Borealia"), ErrBadReadiness},
		"altered statement":    {forged, bSig, pub("Borealia"), ErrBadReadiness},
		"other meeting":        {oStmt, oSig, pub("Borealia"), ErrUnknownMeeting},
		"other level":          {lStmt, lSig, pub("Borealia"), ErrInvalid},
		"other talks":          {tStmt, tSig, pub("Borealia"), ErrInvalid},
		"not attending":        {gStmt, gSig, pub("Gamma"), ErrNotAttending},
		"host is not a party":  {hStmt, hSig, pub("Caspia"), ErrNotAttending},
		"from the future":      {fStmt, fSig, pub("Borealia"), ErrInvalid},
		"empty":                {nil, nil, pub("Borealia"), ErrBadReadiness},
		"stale replay (older)": {func() []byte { s, _ := signed(t, m, "Arden", t0); return s }(), func() []byte { _, s := signed(t, m, "Arden", t0); return s }(), pub("Arden"), ErrInvalid},
	} {
		_, err := s.SignalReadiness(tc.stmt, tc.sig, tc.key, op(4))
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", name, err, tc.want)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	if after, _ := s.Meeting(m.ID); len(after.History) != len(before.History) || len(after.Readiness) != 1 {
		t.Fatalf("a refused signal was recorded: %+v", after.Readiness)
	}

	// Borealia signals; now the host can confirm.
	if m, err = s.SignalReadiness(bStmt, bSig, pub("Borealia"), op(5)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Missing(m.ID); len(got) != 0 {
		t.Fatalf("missing %v", got)
	}
	if m, err = s.Confirm(m.ID, op(6)); err != nil || m.Status != StatusConfirmed || m.Sequence != 1 {
		t.Fatalf("confirm: %+v %v", m, err)
	}
	// The records re-verify with the heads' keys.
	for _, r := range m.Readiness {
		if _, err := VerifyReadiness(pub(r.Delegation), r.Statement, r.Signature); err != nil {
			t.Errorf("record of %s: %v", r.Delegation, err)
		}
	}
	// Moving the confirmed meeting keeps readiness (it is not about the hour).
	if m, err = s.Move(m.ID, "", lt(t, "2026-12-02T10:00"), lt(t, "2026-12-02T13:00"), op(7)); err != nil || m.Status != StatusMoved {
		t.Fatalf("move: %+v %v", m, err)
	}
	// Adding a party to a confirmed leaders' meeting needs its readiness.
	sp := SpecOf(m, s.Location())
	sp.Delegations = append(sp.Delegations, "Gamma")
	if _, err := s.Update(m.ID, sp, op(8)); !errors.As(err, &nr) || !slices.Equal(nr.Missing, []string{"Gamma"}) {
		t.Fatalf("adding a party: %v", err)
	}
	// And the level of a confirmed meeting cannot change.
	sp = SpecOf(m, s.Location())
	sp.Level = LevelExpert
	if _, err := s.Update(m.ID, sp, op(8)); !errors.Is(err, ErrTransition) {
		t.Fatalf("lowering the level: %v", err)
	}
}

// Raising a provisional ministerial meeting to leaders' level voids the
// readiness signals given for the ministerial one.
func TestReadinessIsPerLevel(t *testing.T) {
	s := caspia(t)
	sp := leadersMeeting(t)
	sp.Level = LevelMinisterial
	m, err := s.Propose(sp, op(0))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"Arden", "Borealia"} {
		st, sig := signed(t, m, d, t0)
		if m, err = s.SignalReadiness(st, sig, pub(d), op(1)); err != nil {
			t.Fatal(err)
		}
	}
	sp.Level = LevelLeaders
	if m, err = s.Update(m.ID, sp, op(2)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Missing(m.ID); !slices.Equal(got, []string{"Arden", "Borealia"}) {
		t.Fatalf("missing after raising the level: %v", got)
	}
	// An expert meeting needs no readiness and refuses signals.
	e, _ := s.Propose(expertRound(t), op(3))
	e.Level = LevelLeaders // sign as if it were gated
	st, sig := signed(t, e, "Arden", t0)
	if _, err := s.SignalReadiness(st, sig, pub("Arden"), op(4)); !errors.Is(err, ErrTransition) {
		t.Fatalf("signal for an expert meeting: %v", err)
	}
}

func FuzzParseReadiness(f *testing.F) {
	r := Readiness{Talks: "caspia-talks", Meeting: "m-abc", Level: LevelLeaders, Delegation: "Republic of Borealia", Time: t0}
	b, _ := r.Marshal()
	f.Add(b)
	f.Add([]byte("goodoffices readiness v1\n"))
	f.Add(bytes.Replace(b, []byte("leaders"), []byte("ministerial"), 1))
	f.Add(bytes.Replace(b, []byte("Z\n"), []byte("+01:00\n"), 1))
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := ParseReadiness(in)
		if err != nil {
			if !errors.Is(err, ErrBadReadiness) {
				t.Fatalf("error not ErrBadReadiness: %v", err)
			}
			return
		}
		out, err := r.Marshal()
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("not canonical: %q -> %q, %v", in, out, err)
		}
	})
}

// TestForDelegation: a delegation's view of a gated meeting shows its own
// readiness signal and nothing of another party's (records, history,
// updated time), nor the host's overrides; the host's record is untouched.
func TestForDelegation(t *testing.T) {
	s := caspia(t)
	spec := leadersMeeting(t)
	spec.Headcount = 200 // over capacity, overridden by the host
	m, err := s.Propose(spec, op(0, ConflictCapacity))
	if err != nil {
		t.Fatal(err)
	}
	stmt, sig := signed(t, m, "Arden", t0.Add(time.Minute))
	ardenOp := Op{Actor: "Ilse Marven (Arden)", At: t0.Add(2 * time.Minute)}
	if m, err = s.SignalReadiness(stmt, sig, pub("Arden"), ardenOp); err != nil {
		t.Fatal(err)
	}
	ardenView := m.ForDelegation("Arden")
	stmt, sig = signed(t, m, "Borealia", t0.Add(3*time.Minute))
	if m, err = s.SignalReadiness(stmt, sig, pub("Borealia"), Op{Actor: "Oleh Varta (Borealia)", At: t0.Add(4 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	host := m.Clone()
	if len(m.Readiness) != 2 || len(m.History) != 3 || !m.Updated.Equal(t0.Add(4*time.Minute)) {
		t.Fatalf("host's record: %+v", m)
	}

	a := m.ForDelegation("Arden")
	if len(a.Readiness) != 1 || a.Readiness[0].Delegation != "Arden" {
		t.Errorf("Arden sees readiness %+v", a.Readiness)
	}
	if len(a.History) != 2 || a.History[0].Action != "proposed" || a.History[1].Delegation != "Arden" {
		t.Errorf("Arden sees history %+v", a.History)
	}
	if !a.Updated.Equal(ardenOp.At) {
		t.Errorf("Arden sees updated %v, want its own signal's %v", a.Updated, ardenOp.At)
	}
	if a.Overrides != nil || slices.ContainsFunc(a.History, func(h Change) bool { return h.Overrides != nil }) {
		t.Errorf("Arden sees the host's overrides: %+v", a)
	}
	if a.Sequence != m.Sequence || a.Status != m.Status || !a.Start.Equal(m.Start) || a.Room != m.Room {
		t.Errorf("Arden's view changed the meeting itself: %+v", a)
	}
	// Borealia's signal left Arden's view exactly as it was.
	if !viewEqual(t, a, ardenView) {
		t.Errorf("Borealia's signal changed Arden's view:\nbefore %+v\nafter  %+v", ardenView, a)
	}
	if !viewEqual(t, a.ForDelegation("Arden"), a) {
		t.Error("ForDelegation is not idempotent")
	}
	// Symmetric for Borealia; a delegation that does not attend sees no
	// signal at all.
	b := m.ForDelegation("Borealia")
	if len(b.Readiness) != 1 || b.Readiness[0].Delegation != "Borealia" || len(b.History) != 2 || !b.Updated.Equal(t0.Add(4*time.Minute)) {
		t.Errorf("Borealia's view: %+v", b)
	}
	c := m.ForDelegation("Caspia")
	if len(c.Readiness) != 0 || len(c.History) != 1 || !c.Updated.Equal(m.Created) {
		t.Errorf("Caspia's view: %+v", c)
	}
	// The host's record is untouched (ForDelegation copies).
	a.History[0].Note = "x"
	if !viewEqual(t, m, host) || len(m.Overrides) != 1 {
		t.Errorf("ForDelegation changed the meeting it was called on: %+v", m)
	}
	// A later change of the meeting itself is seen, with its time.
	if m, err = s.Confirm(m.ID, op(5)); err != nil {
		t.Fatal(err)
	}
	a = m.ForDelegation("Arden")
	if a.Status != StatusConfirmed || a.Sequence != 1 || !a.Updated.Equal(t0.Add(5*time.Minute)) || len(a.History) != 3 {
		t.Errorf("Arden's view after confirmation: %+v", a)
	}
}

func viewEqual(t *testing.T, a, b Meeting) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(ja, jb)
}
