package desk

import (
	"bytes"
	"crypto/ed25519"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// TestRootKeyOf: the Ed25519 key of a verifier key is found even when its
// base64 contains '+', the separator of the verifier key's fields; anything
// that is not exactly a canonical Ed25519 verifier key yields nil.
func TestRootKeyOf(t *testing.T) {
	withPlus := 0
	for i := 0; i < 200; i++ {
		pub, _, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		vkey, err := note.NewEd25519VerifierKey("arden", pub)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(vkey, "+") > 2 {
			withPlus++
		}
		if got := rootKeyOf(vkey); !bytes.Equal(got, pub) {
			t.Fatalf("rootKeyOf(%q) = %x, want %x", vkey, got, pub)
		}
		if rootKeyOf(vkey+"A") != nil || rootKeyOf("borealia"+vkey[len("arden"):]) != nil {
			t.Fatalf("rootKeyOf accepted an altered verifier key %q", vkey)
		}
	}
	if withPlus == 0 {
		t.Fatal("no key with '+' in its base64 was tried")
	}
	for _, bad := range []string{"", "arden", "arden+00000000+", "arden+zzzz+AAAA"} {
		if rootKeyOf(bad) != nil {
			t.Errorf("rootKeyOf(%q) != nil", bad)
		}
	}
}
