package desk

import (
	"bytes"
	"testing"
)

// FuzzRecoveryNotice: a recovery notice comes from another member, through
// the venue; it is parsed strictly and without panics, only with its
// header, and what is accepted marshals back to an equivalent notice.
func FuzzRecoveryNotice(f *testing.F) {
	ok := &RecoveryNotice{From: "wg1", To: "wg1b", Checkpoint: []byte("venue.test/wg1\n2\nAAAA\n\n— venue.test x\n"), Alarm: "fork", Reason: "forked"}
	f.Add(ok.marshal())
	f.Add([]byte(recoveryHeader + `{"from":"wg1","to":"wg1b","checkpoint":"AA=="}`))
	f.Add([]byte(recoveryHeader + `{"from":"wg1","to":"wg1b","checkpoint":"AA==","extra":1}`))
	f.Add([]byte(recoveryHeader + `{"from":"wg1"} {}`))
	f.Add([]byte("Good morning."))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, isNotice, err := parseRecoveryNotice(data)
		if isNotice != bytes.HasPrefix(data, []byte(recoveryHeader)) {
			t.Fatalf("notice %v for %q", isNotice, data)
		}
		if err != nil || !isNotice {
			if n != nil {
				t.Fatal("a notice returned with an error")
			}
			return
		}
		if n.From == "" || n.To == "" || len(n.Checkpoint) == 0 {
			t.Fatalf("accepted an incomplete notice: %+v", n)
		}
		again, _, err := parseRecoveryNotice(n.marshal())
		if err != nil || again.From != n.From || again.To != n.To || !bytes.Equal(again.Checkpoint, n.Checkpoint) {
			t.Fatalf("round trip: %+v, %v", again, err)
		}
	})
}
