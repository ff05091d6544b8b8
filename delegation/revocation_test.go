package delegation

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
)

func TestRevocation(t *testing.T) {
	root, _ := GenerateRoot("arden")
	other, _ := GenerateRoot("borealia")
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	msg, err := root.Revoke(pub)
	if err != nil {
		t.Fatal(err)
	}
	r, err := VerifyRevocation(msg, root.VerifierKey())
	if err != nil || !r.Device.Equal(pub) || r.Delegation != "arden" {
		t.Fatalf("%+v %v", r, err)
	}
	if p, err := PeekRevocation(msg); err != nil || p.Delegation != "arden" {
		t.Fatalf("peek: %v", err)
	}
	if _, err := VerifyRevocation(msg, other.VerifierKey()); err == nil {
		t.Fatal("verified with another root")
	}
	forger := &RootKey{Name: "arden", key: other.key}
	forged, _ := forger.Revoke(pub)
	if _, err := VerifyRevocation(forged, root.VerifierKey()); err == nil {
		t.Fatal("forged revocation accepted")
	}
	// A certificate is not a revocation.
	cert, _ := root.Certify(&Certificate{Delegation: "arden", Person: "P", Role: "expert", Level: "expert", Device: pub,
		NotBefore: r.Time, NotAfter: r.Time.AddDate(1, 0, 0)})
	if _, err := VerifyRevocation(cert, root.VerifierKey()); err == nil {
		t.Fatal("certificate accepted as revocation")
	}
}

func FuzzParseRevocation(f *testing.F) {
	root, _ := GenerateRoot("arden")
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	msg, _ := root.Revoke(pub)
	body, _, _ := bytes.Cut(msg, []byte("\n\n"))
	f.Add(append(body, '\n'))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRevocation(data)
		if err != nil {
			return
		}
		again, err := r.Marshal()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatal("non-canonical revocation accepted")
		}
	})
}
