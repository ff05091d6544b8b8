package desk

import (
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	hv "github.com/good-offices/goodoffices/internal/hostile"
	"github.com/good-offices/goodoffices/tlog"
	"github.com/good-offices/goodoffices/witness"
)

// startWitness runs a witness of the arena's venue and adds it to the
// policy of every desk of the arena.
func (ar *arena) startWitness(name string) witness.Store {
	t := ar.t.(*testing.T)
	v, err := note.NewVerifier(ar.v.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	c, err := tlog.NewCosigner(name, k)
	if err != nil {
		t.Fatal(err)
	}
	st := witness.FileStore{Dir: t.TempDir()}
	srv := httptest.NewServer(witness.New(c, []note.Verifier{v}, st).Handler(slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(srv.Close)
	vkey, _ := tlog.CosignatureVerifierKey(name, k.Public().(ed25519.PublicKey))
	for _, d := range ar.desks {
		if _, err := d.AddWitness(t.Context(), srv.URL, vkey); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// TestHostileEclipseOwnAppend: the venue isolates Borealia (frozen view,
// stale cosignatures replayed, no mail, no events); Borealia appends and
// the venue acknowledges an index beyond the checkpoint it keeps serving.
// Without any witness, Borealia's desk raises a stale-view alarm once the
// bound has passed.
func TestHostileEclipseOwnAppend(t *testing.T) {
	ar := newArena(t, bound)
	ar.honest("e0", "e1", "e2")
	ar.px.Set("borealia", hv.Eclipse("plenary", 3))
	appendRaw(t, nil, ar.a, "plenary", "e3")
	syncAll(t, ar.a)
	t.Log("attack: eclipse borealia, which appends an entry itself")
	appendRaw(t, nil, ar.b, "plenary", "b4")
	a := expect(t, ar.b, "plenary", AlarmStaleView)
	if a.Index != 4 {
		t.Errorf("alarm index %d, want 4", a.Index)
	}
}

// TestHostileEclipseWitness: the same eclipse, Borealia appending nothing;
// Arden's desk submits the checkpoints it verifies to the witness both
// desks rely on, which Borealia's desk asks directly: eclipse alarm.
func TestHostileEclipseWitness(t *testing.T) {
	ar := newArena(t, bound)
	ar.startWitness("witness.borealia.test")
	ar.honest("e0", "e1", "e2")
	ar.px.Set("borealia", hv.Eclipse("plenary", 3))
	appendRaw(t, nil, ar.a, "plenary", "e3", "e4")
	syncAll(t, ar.a) // arden verifies size 5 and submits it to the witness
	t.Log("attack: eclipse borealia, which appends nothing")
	expect(t, ar.b, "plenary", AlarmEclipse)
}

// TestWitnessHonest: with an honest venue and a witness in both desks'
// policies, every entry ends confirmed by both parties and the witness,
// and no alarm is raised, across appends by both sides and pauses longer
// than the bound.
func TestWitnessHonest(t *testing.T) {
	ar := newArena(t, bound)
	ar.startWitness("witness.neutral.test")
	for i := range 3 {
		appendRaw(t, nil, ar.a, "plenary", "a"+strconv.Itoa(i))
		appendRaw(t, nil, ar.b, "plenary", "b"+strconv.Itoa(i))
		syncAll(t, ar.a, ar.b)
		time.Sleep(bound + 50*time.Millisecond)
		syncAll(t, ar.a, ar.b)
	}
	for _, d := range ar.desks {
		c, err := d.Confirmation(t.Context(), "plenary")
		if err != nil || c.Size == 0 || c.Confirmed != c.Size || c.Cosigned[WitnessMember("witness.neutral.test")] != c.Size {
			t.Errorf("%s: not confirmed by the witness: %+v %v", d.Profile().Delegation, c, err)
		}
		as, _ := d.Alarms(t.Context())
		for _, a := range as {
			t.Errorf("%s: false alarm: %s %s", d.Profile().Delegation, a.Kind, a.Detail)
		}
	}
}
