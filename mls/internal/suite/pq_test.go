package suite

import (
	"bytes"
	"crypto/hpke"
	"crypto/sha256"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

// TestHybridKEMReady shows that the Suite machinery runs unchanged over a
// post-quantum hybrid KEM (X-Wing, MLKEM768-X25519 in crypto/hpke). No MLS
// code point is registered for it yet, so it is not in the suite table.
func TestHybridKEMReady(t *testing.T) {
	s := &Suite{id: 0xF000, name: "test-only MLKEM768X25519", newHash: sha256.New, kem: hpke.MLKEM768X25519(),
		kdf: hpke.HKDFSHA256(), hpkeAEAD: hpke.ChaCha20Poly1305(), newAEAD: chacha20poly1305.New, nk: 32, nn: 12, sig: sigEd25519, nh: 32}
	priv, pub, err := s.DeriveKeyPair(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	priv2, pub2, _ := s.DeriveKeyPair(bytes.Repeat([]byte{1}, 32))
	if !bytes.Equal(priv, priv2) || !bytes.Equal(pub, pub2) {
		t.Fatal("DeriveKeyPair is not deterministic")
	}
	kem, ct, err := s.EncryptWithLabel(pub, "Welcome", []byte("ctx"), []byte("joiner"))
	if err != nil {
		t.Fatal(err)
	}
	pt, err := s.DecryptWithLabel(priv, "Welcome", []byte("ctx"), kem, ct)
	if err != nil || string(pt) != "joiner" {
		t.Fatalf("hybrid round trip: %q, %v", pt, err)
	}
	if got, err := s.HPKEPublicKey(priv); err != nil || !bytes.Equal(got, pub) {
		t.Fatalf("HPKEPublicKey: %v", err)
	}
}
