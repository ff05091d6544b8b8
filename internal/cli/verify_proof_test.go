package cli

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/proof"
	"github.com/good-offices/goodoffices/tlog"
)

// TestVerifyProof: 'goodoffices verify' recognises a misbehaviour proof,
// says what it proves, and fails (exit 3) on a changed byte or another
// pinned venue key.
func TestVerifyProof(t *testing.T) {
	skey, vkey, err := note.GenerateKey(rand.Reader, "venue.test")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	sign := func(e string) []byte {
		msg, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "venue.test/channels/plenary", Size: 1, Hash: xtlog.RecordHash([]byte(e))}, s)
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}
	p, err := proof.NewSplitView(vkey, sign("shown to arden"), sign("shown to borealia"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "misbehaviour.proof")
	os.WriteFile(file, p.Marshal(), 0o600)
	run := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := Main(t.Context(), append([]string{"verify"}, args...), &out, &errOut)
		return code, out.String() + errOut.String()
	}
	code, out := run("--venue-key", vkey, file)
	if code != 0 || !strings.Contains(out, "PROOF OF MISBEHAVIOUR") || !strings.Contains(out, "same size 1") || !strings.Contains(out, "PINNED") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	t.Log(out)
	if code, out = run(file); code != 0 || !strings.Contains(out, "NOT pinned") {
		t.Fatalf("unpinned: exit %d:\n%s", code, out)
	}
	_, other, _ := note.GenerateKey(rand.Reader, "venue.test")
	if code, out = run("--venue-key", other, file); code != 3 {
		t.Fatalf("another venue key: exit %d:\n%s", code, out)
	}
	bad := p.Marshal()
	bad[len(bad)-10] ^= 1
	os.WriteFile(file, bad, 0o600)
	if code, out = run("--venue-key", vkey, file); code != 3 {
		t.Fatalf("changed byte: exit %d:\n%s", code, out)
	}
}
