package desk

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"testing"

	"github.com/good-offices/goodoffices/negotiation"
	"github.com/good-offices/goodoffices/venue/client"
)

// historyDesk is a desk with a real encrypted store and no venue: enough to
// write processed entries (as sync does) and compute the talks over them.
func historyDesk(t testing.TB, dir string) *Desk {
	t.Helper()
	ctx := context.Background()
	st, err := OpenStore(ctx, dir, []byte("pass"))
	if err == ErrNoStore {
		st, err = CreateStore(ctx, dir, []byte("pass"))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d := &Desk{home: dir, store: st, log: slog.New(slog.DiscardHandler), venue: &VenueInfo{Name: "venue.test"}}
	st.desk = d
	meta, _ := jsonMarshal(client.Channel{ID: "wg1", Members: []string{"arden", "borealia", "caspia"}})
	if err := st.Put(ctx, prefChan+"wg1", meta); err != nil {
		t.Fatal(err)
	}
	return d
}

var historySenders = []MemberInfo{
	{Delegation: "arden", Person: "tomas-reig", Device: "dev-a"},
	{Delegation: "borealia", Person: "iryna-holt", Device: "dev-b"},
	{Delegation: "caspia", Person: "dana-seitkali", Device: "dev-c"},
	{Delegation: "", Person: "", Device: ""}, // no verified sender: not an event
}

// randomEntry returns a processed entry: mostly negotiation events of every
// kind (some refused by the engine), some commits and skipped entries.
func randomEntry(rng *rand.Rand, idx int64) Message {
	m := Message{Channel: "wg1", Index: idx, Kind: "application", Sender: historySenders[rng.IntN(len(historySenders))]}
	para := fmt.Sprintf("p%d", 1+rng.IntN(3))
	switch rng.IntN(10) {
	case 0:
		m.Kind, m.Note, m.Data = "commit", "update", nil
	case 1:
		m.Kind, m.Note, m.Data = "skipped", "sent before this desk joined", nil
	case 2:
		m.Data = negotiation.NewTableText(negotiation.TableText{ID: fmt.Sprintf("t%d", rng.IntN(2)), Title: "Joint statement", Level: negotiation.LevelExpert,
			Language: "en", Paragraphs: []string{"The Parties [shall] [may] withdraw.", "A [15] [30] km line.", "Prisoners are exchanged."}})
	case 3:
		m.Data = negotiation.NewProposal("t0", negotiation.Amendment{Op: negotiation.OpReplace, Para: para, Base: 1 + rng.IntN(3), Notation: "[Option A] [Option B] text"})
	case 4:
		m.Data = negotiation.NewResponse(fmt.Sprintf("A%d", 1+rng.IntN(5)), []negotiation.Response{negotiation.Accept, negotiation.AcceptAdReferendum, negotiation.Decline}[rng.IntN(3)], "")
	case 5:
		m.Data = negotiation.NewPosition("t0", para, 1+rng.IntN(2), []negotiation.Stance{negotiation.Agree, negotiation.Reserve, negotiation.Object}[rng.IntN(3)], "")
	case 6:
		m.Data = []byte(`{"v":1,"type":"nonsense"}`)
	default:
		m.Data = negotiation.NewStatement(fmt.Sprintf("statement %d about the 30 km line", idx), "", "t0", para)
	}
	return m
}

func appendHistory(t testing.TB, d *Desk, ms []Message) {
	t.Helper()
	ctx := context.Background()
	if err := d.store.Update(ctx, func(tx *Tx) error {
		for _, m := range ms {
			if err := putMessage(ctx, tx, m); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestTalksSnapshotEqualsReplay: over random event sequences arriving in
// random batches, the state the desk advances from its snapshot (in memory,
// and reloaded from the encrypted store as after a restart) is byte for byte
// the state of a full replay; a state handed out is never modified later;
// and a snapshot that does not fit the history is dropped, not trusted.
func TestTalksSnapshotEqualsReplay(t *testing.T) {
	ctx := context.Background()
	for seed := range uint64(6) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 42))
			defer func(v, g int64) { snapshotEvery, snapshotGrowth = v, g }(snapshotEvery, snapshotGrowth)
			snapshotEvery, snapshotGrowth = 1+rng.Int64N(300), 1<<40 // snapshots written (and reloaded) often
			dir := t.TempDir()
			d := historyDesk(t, dir)
			var next int64
			var held []*negotiation.State
			var heldBytes [][]byte
			total := 300 + rng.IntN(2500)
			for next < int64(total) {
				n := 1 + rng.IntN(400)
				var batch []Message
				for range n {
					batch = append(batch, randomEntry(rng, next))
					next++
				}
				appendHistory(t, d, batch)
				switch rng.IntN(4) {
				case 0: // a restart: only the snapshot in the store remains
					d.store.Close()
					d = historyDesk(t, dir)
				case 1:
					if err := d.RebuildTalks(ctx, ""); err != nil {
						t.Fatal(err)
					}
				}
				got, err := d.Talks(ctx, "wg1", "caspia")
				if err != nil {
					t.Fatal(err)
				}
				want, err := d.ReplayTalks(ctx, "wg1", "caspia")
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Canonical(), want.Canonical()) {
					t.Fatalf("after %d entries, the snapshot-advanced state differs from the replay", next)
				}
				if len(want.Log) == 0 {
					t.Fatal("no event reached the engine: the test tests nothing")
				}
				held = append(held, got)
				heldBytes = append(heldBytes, got.Canonical())
			}
			for i, st := range held {
				if !bytes.Equal(st.Canonical(), heldBytes[i]) {
					t.Fatalf("state %d was modified after it was handed out", i)
				}
			}
			if _, err := d.store.Get(ctx, prefTalks+"wg1"); err != nil {
				t.Fatalf("no snapshot in the store after %d entries: %v", total, err)
			}
		})
	}
}

// TestTalksSnapshotNotTrusted: a snapshot for another configuration, or
// covering entries the store does not hold, is replaced by a replay.
func TestTalksSnapshotNotTrusted(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d := historyDesk(t, dir)
	rng := rand.New(rand.NewPCG(7, 7))
	var ms []Message
	for i := range int64(snapshotEvery + 10) {
		ms = append(ms, randomEntry(rng, i))
	}
	appendHistory(t, d, ms)
	if _, err := d.Talks(ctx, "wg1", "caspia"); err != nil {
		t.Fatal(err)
	}
	b, err := d.store.Get(ctx, prefTalks+"wg1")
	if err != nil {
		t.Fatal(err)
	}
	// A snapshot claiming more history than the store holds.
	var snap talksSnapshot
	if err := jsonUnmarshal(b, &snap); err != nil {
		t.Fatal(err)
	}
	snap.Next += 1000
	b, _ = jsonMarshal(snap)
	if err := d.store.Put(ctx, prefTalks+"wg1", b); err != nil {
		t.Fatal(err)
	}
	d.talks.forget("")
	got, err := d.Talks(ctx, "wg1", "caspia")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := d.ReplayTalks(ctx, "wg1", "caspia")
	if !bytes.Equal(got.Canonical(), want.Canonical()) {
		t.Fatal("a snapshot ahead of the history was trusted")
	}
	// Another host: another configuration, another state.
	other, err := d.Talks(ctx, "wg1", "")
	if err != nil {
		t.Fatal(err)
	}
	want, _ = d.ReplayTalks(ctx, "wg1", "")
	if !bytes.Equal(other.Canonical(), want.Canonical()) || bytes.Equal(other.Canonical(), got.Canonical()) {
		t.Fatal("the snapshot of one configuration was used for another")
	}
}

// TestStoreMigratesWithoutRowid: a store made with the former WITHOUT ROWID
// value table opens with its values readable, in the rowid table.
func TestStoreMigratesWithoutRowid(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := CreateStore(ctx, dir, []byte("pass"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, "hist/wg1/0000000000000001", []byte("a value")); err != nil {
		t.Fatal(err)
	}
	// Back to the former layout, as a desk made before would have it.
	for _, q := range []string{
		`ALTER TABLE kv RENAME TO kv_new`,
		`CREATE TABLE kv (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID`,
		`INSERT INTO kv SELECT key, value FROM kv_new`,
		`DROP TABLE kv_new`,
	} {
		if _, err := st.db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	st, err = OpenStore(ctx, dir, []byte("pass"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var ddl string
	if err := st.db.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE name = 'kv'`).Scan(&ddl); err != nil || bytes.Contains([]byte(ddl), []byte("WITHOUT ROWID")) {
		t.Fatalf("not migrated: %q %v", ddl, err)
	}
	if v, err := st.Get(ctx, "hist/wg1/0000000000000001"); err != nil || string(v) != "a value" {
		t.Fatalf("value after migration: %q %v", v, err)
	}
}
