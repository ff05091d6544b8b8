package desk

import (
	"encoding/json"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/good-offices/goodoffices/tlog"
	"github.com/good-offices/goodoffices/venue/client"
)

// FuzzVerifyCosignatures feeds the desk's check of what a venue serves at
// /logs/<log>/cosignatures with arbitrary answers, seeded with a real one:
// it never panics, and whatever it accepts carries the venue's signature
// and at least one cosignature of a confirmed party's certified device.
func FuzzVerifyCosignatures(f *testing.F) {
	ar := newArena(f, -1)
	ctx := f.Context()
	appendRawTB(f, ar.a, "plenary", "e0", "e1")
	for range 2 {
		for _, d := range ar.desks {
			if _, err := d.Sync(ctx); err != nil {
				f.Fatal(err)
			}
		}
	}
	cs, err := ar.a.api.cl().Cosignatures(ctx, "plenary")
	if err != nil || len(cs.Checkpoints) == 0 {
		f.Fatalf("no cosignatures to seed with: %v", err)
	}
	seed, _ := json.Marshal(cs)
	f.Add(seed)
	f.Add([]byte(`{"log":"plenary","checkpoints":["x"],"cosigners":[{"name":"arden/x","certificate":"y"}]}`))
	vv, _ := note.NewVerifier(ar.v.VerifierKey())
	f.Fuzz(func(t *testing.T, data []byte) {
		var cs client.Cosignatures
		if json.Unmarshal(data, &cs) != nil {
			return
		}
		for _, c := range ar.a.verifyCosignatures(ctx, "plenary", vv, &cs) {
			if len(c.signers) == 0 || len(c.names) == 0 {
				t.Fatal("accepted a checkpoint without a cosignature")
			}
			if _, _, err := tlog.OpenCheckpoint(c.note, ar.a.origin("plenary"), vv); err != nil {
				t.Fatalf("accepted a checkpoint the venue did not sign: %v", err)
			}
		}
	})
}

// appendRawTB appends entries to a channel as d's device, bypassing MLS.
func appendRawTB(tb testing.TB, d *Desk, ch string, entries ...string) {
	tb.Helper()
	for _, e := range entries {
		if _, err := d.api.appendEntry(tb.Context(), ch, mlsFramed([]byte("raw"), 0, []byte(e)), -1); err != nil {
			tb.Fatal(err)
		}
	}
}
