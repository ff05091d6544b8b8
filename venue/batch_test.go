package venue_test

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/good-offices/goodoffices/bench"
	"github.com/good-offices/goodoffices/venue"
	"github.com/good-offices/goodoffices/venue/client"
)

// TestAppendBatch appends several framed entries in one request: every
// index comes back, each entry is in the log at its index under a signed
// checkpoint; one badly framed entry makes the venue refuse the whole batch
// and append nothing; more than MaxBatchEntries, handshake commits and the
// rate limit (counted per entry) are refused too.
func TestAppendBatch(t *testing.T) {
	tv := newTestVenue(t, func(c *venue.Config) { c.OpaqueEntries = false; c.Rate = 0.001; c.Burst = 12 })
	tv.accredit(t, "arden")
	tv.channel(t, "plenary", "plenary", "arden")
	c := tv.device(t, "arden")
	ctx := t.Context()

	if _, err := c.Append(ctx, "plenary", bench.Frame([]byte("single"))); err != nil {
		t.Fatal(err)
	}
	batch := [][]byte{bench.Frame([]byte("one")), bench.Frame([]byte("two, longer")), bench.Frame([]byte("three"))}
	idx, err := c.AppendBatch(ctx, "plenary", batch)
	if err != nil {
		t.Fatal(err)
	}
	lc := c.Log("plenary", client.ChannelOrigin("venue.test", "plenary"), tv.vfy)
	cp, _, err := lc.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Size != 4 {
		t.Fatalf("checkpoint size %d after 1 + 3 appends, want 4", cp.Size)
	}
	entries, err := lc.Entries(ctx, cp, 0, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for i, x := range idx {
		if x < 1 || x >= cp.Size || seen[x] {
			t.Fatalf("batch indexes %v", idx)
		}
		seen[x] = true
		if !bytes.Equal(entries[x], batch[i]) {
			t.Fatalf("entry %d of the batch is not at its index %d", i, x)
		}
	}

	// One unframed entry: the whole batch is refused, nothing appended.
	bad := [][]byte{bench.Frame([]byte("fine")), []byte("not an MLS message"), bench.Frame([]byte("fine too"))}
	if _, err := c.AppendBatch(ctx, "plenary", bad); statusOf(err) != 400 {
		t.Fatalf("batch with an unframed entry: %v, want 400", err)
	}
	if n := tv.verifiedSize(t, c, "plenary"); n != 4 {
		t.Fatalf("log size %d after a refused batch, want 4", n)
	}
	tooMany := make([][]byte, venue.MaxBatchEntries+1)
	for i := range tooMany {
		tooMany[i] = bench.Frame([]byte("x"))
	}
	if _, err := c.AppendBatch(ctx, "plenary", tooMany); statusOf(err) != 400 {
		t.Fatalf("batch of %d: %v, want 400", len(tooMany), err)
	}

	// Raw bodies: a truncated length, an empty entry, the wrong type.
	tok := deviceToken(t, tv.srv.URL, nil2(t, c))
	url := tv.srv.URL + "/logs/plenary/batch"
	e := bench.Frame([]byte("raw"))
	good := binary.BigEndian.AppendUint32(nil, uint32(len(e)))
	good = append(good, e...)
	for name, tc := range map[string]struct {
		ct   string
		body []byte
		want int
	}{
		"truncated":  {venue.BatchContentType, good[:len(good)-1], 400},
		"short len":  {venue.BatchContentType, []byte{0, 0}, 400},
		"empty":      {venue.BatchContentType, []byte{0, 0, 0, 0}, 400},
		"no entries": {venue.BatchContentType, nil, 400},
		"wrong type": {"message/mls", good, 415},
	} {
		if code, body := raw(t, "POST", url, tok, tc.ct, tc.body); code != tc.want {
			t.Errorf("%s: %d %s, want %d", name, code, body, tc.want)
		}
	}
	if code, body := raw(t, "POST", url, tok, venue.BatchContentType, good, "Goodoffices-Handshake", "commit"); code != 400 {
		t.Errorf("commit in a batch: %d %s, want 400", code, body)
	}
	if n := tv.verifiedSize(t, c, "plenary"); n != 4 {
		t.Fatalf("log size %d after refused raw batches, want 4", n)
	}

	// The rate limit counts entries, not requests: of the burst of 12,
	// 1 + 3 + 3 (the refused batch was counted once parsed) are spent, so
	// a batch of 6 is refused although it is one request.
	six := append(append([][]byte{}, batch...), batch...)
	if _, err := c.AppendBatch(ctx, "plenary", six); statusOf(err) != 429 {
		t.Fatalf("batch of 6 past the rate limit: %v, want 429", err)
	}
}

// TestFullBatchesOneLog: full batches to one log, several in flight, so
// that a group commit holds more entries of one log than the sequencer
// keeps in memory for event streams (a group commit of 512 entries of one
// log once crashed the venue).
func TestFullBatchesOneLog(t *testing.T) {
	tv := newTestVenue(t, func(c *venue.Config) { c.Rate = -1 })
	tv.accredit(t, "arden")
	tv.channel(t, "wg", "working-group", "arden")
	c := tv.device(t, "arden")
	const requests = 8
	errs := make(chan error, requests)
	for r := range requests {
		go func() {
			batch := make([][]byte, venue.MaxBatchEntries)
			for i := range batch {
				batch[i] = binary.BigEndian.AppendUint32([]byte("e"), uint32(r*venue.MaxBatchEntries+i))
			}
			_, err := c.AppendBatch(t.Context(), "wg", batch)
			errs <- err
		}()
	}
	for range requests {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := tv.verifiedSize(t, c, "wg"); n != requests*venue.MaxBatchEntries {
		t.Fatalf("log size %d, want %d", n, requests*venue.MaxBatchEntries)
	}
}
