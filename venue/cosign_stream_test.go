package venue

import (
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestDeliverCosignaturesAcrossCompaction: whatever compaction did to a
// log's cosignature queue before a stream reads it, each cosignature is
// delivered exactly once.
func TestDeliverCosignaturesAcrossCompaction(t *testing.T) {
	ctx := t.Context()
	v, err := New(ctx, Config{DataDir: t.TempDir(), Name: "venue.test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	const q = cosignQueuePrefix + "plenary"
	put := func(rec string) int64 {
		t.Helper()
		id, err := v.store.PutMail(ctx, q, []byte(rec))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	rec := func(name string, size int64) string { return fmt.Sprintf("%d\n— %s c2lnbmF0dXJl\n", size, name) }
	copyOf := func(name string, size, orig int64) string {
		return fmt.Sprintf("%d\n— %s c2lnbmF0dXJl\n%d\n", size, name, orig)
	}
	sub := &subscriber{logs: map[string]bool{"plenary": true}, cosigned: map[string]bool{}}
	cur := cursor{logs: map[string]int64{"plenary": 0}, cosign: map[string]int64{}}
	got := map[string]int{}
	deliver := func() {
		t.Helper()
		sub.markCosigned()
		w := httptest.NewRecorder()
		if err := v.deliverCosignatures(ctx, w, sub, &cur); err != nil {
			t.Fatal(err)
		}
		for _, ev := range strings.Split(w.Body.String(), "\n\n") {
			if _, data, ok := strings.Cut(ev, "event: cosign\ndata: "); ok {
				got[data]++
			}
		}
	}
	// b and x cosign; compaction copies both and deletes the originals
	// before the stream reads anything.
	b1 := put(rec("b", 1))
	x1 := put(rec("x", 1))
	put(copyOf("b", 1, b1))
	last := put(copyOf("x", 1, x1))
	if err := v.store.DeleteMail(ctx, q, x1); err != nil {
		t.Fatal(err)
	}
	deliver()
	// The stream has read the copies; y cosigns and compaction runs again:
	// copies of copies keep the first original's ID.
	y2 := put(rec("y", 2))
	put(copyOf("b", 1, b1))
	put(copyOf("x", 1, x1))
	put(copyOf("y", 2, y2))
	if err := v.store.DeleteMail(ctx, q, last); err != nil {
		t.Fatal(err)
	}
	deliver()
	// A stream that read the originals does not get the copies.
	z3 := put(rec("z", 3))
	deliver()
	put(copyOf("z", 3, z3))
	deliver()
	want := map[string]int{
		`{"log":"plenary","size":1,"cosigner":"b"}`: 1,
		`{"log":"plenary","size":1,"cosigner":"x"}`: 1,
		`{"log":"plenary","size":2,"cosigner":"y"}`: 1,
		`{"log":"plenary","size":3,"cosigner":"z"}`: 1,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("delivered %v, want each once: %v", got, want)
	}
}
