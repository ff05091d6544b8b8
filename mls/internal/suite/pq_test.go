package suite

import (
	"bytes"
	"crypto/hpke"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

var xwingSuites = []uint16{0x0053, 0x0054, 0xF001, 0xF002}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestXWingSizes checks the sizes X-Wing fixes: a 32-byte private key (the
// seed), a 1216-byte public key and a 1120-byte KEM output.
func TestXWingSizes(t *testing.T) {
	for _, id := range xwingSuites {
		s, err := Lookup(id)
		if err != nil {
			t.Fatal(err)
		}
		if !s.PostQuantum() || s.KEM().ID() != 0x647a || s.sig != sigEd25519 {
			t.Fatalf("suite %04x: not X-Wing with Ed25519", id)
		}
		priv, pub, err := s.DeriveKeyPair(bytes.Repeat([]byte{1}, 32))
		if err != nil {
			t.Fatal(err)
		}
		if len(priv) != 32 || len(pub) != 1216 {
			t.Fatalf("suite %04x: private key %d bytes, public key %d bytes", id, len(priv), len(pub))
		}
		priv2, pub2, _ := s.DeriveKeyPair(bytes.Repeat([]byte{1}, 32))
		if !bytes.Equal(priv, priv2) || !bytes.Equal(pub, pub2) {
			t.Fatalf("suite %04x: DeriveKeyPair is not deterministic", id)
		}
		if got, err := s.HPKEPublicKey(priv); err != nil || !bytes.Equal(got, pub) {
			t.Fatalf("suite %04x: HPKEPublicKey: %v", id, err)
		}
		kem, ct, err := s.EncryptWithLabel(pub, "Welcome", []byte("ctx"), []byte("joiner"))
		if err != nil {
			t.Fatal(err)
		}
		if len(kem) != 1120 {
			t.Fatalf("suite %04x: KEM output %d bytes", id, len(kem))
		}
		if pt, err := s.DecryptWithLabel(priv, "Welcome", []byte("ctx"), kem, ct); err != nil || string(pt) != "joiner" {
			t.Fatalf("suite %04x: round trip: %q, %v", id, pt, err)
		}
	}
	for _, id := range []uint16{1, 2, 3, 5, 7} {
		if s, _ := Lookup(id); s.PostQuantum() {
			t.Errorf("classical suite %04x reports post-quantum", id)
		}
	}
}

// TestXWingHPKEVector is a known-answer test of HPKE with X-Wing through
// crypto/hpke, on the HPKE working group's vector (testdata/README.md): the
// draft suites derive the vector's key pair from its ikmR, and the
// vector's ciphertexts open and its exports match under that key.
func TestXWingHPKEVector(t *testing.T) {
	data, err := os.ReadFile("testdata/hpke-pq-xwing.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []struct {
		KEM         uint16 `json:"kem_id"`
		KDF         uint16 `json:"kdf_id"`
		AEAD        uint16 `json:"aead_id"`
		Info        string `json:"info"`
		IkmR        string `json:"ikmR"`
		SkRm        string `json:"skRm"`
		PkRm        string `json:"pkRm"`
		Enc         string `json:"enc"`
		Encryptions []struct {
			Aad, Ct, Nonce, Pt string
		} `json:"encryptions"`
		Exports []struct {
			Context string `json:"exporter_context"`
			L       int    `json:"L"`
			Value   string `json:"exported_value"`
		} `json:"exports"`
	}
	if err := json.Unmarshal(data, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) == 0 {
		t.Fatal("no vector")
	}
	for _, v := range vs {
		for _, id := range []uint16{0xF001, 0xF002} {
			s, _ := Lookup(id)
			if s.KEM().ID() != v.KEM {
				t.Fatalf("suite %04x has KEM %04x, the vector %04x", id, s.KEM().ID(), v.KEM)
			}
			priv, pub, err := s.DeriveKeyPair(unhex(t, v.IkmR))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(priv, unhex(t, v.SkRm)) || !bytes.Equal(pub, unhex(t, v.PkRm)) {
				t.Fatalf("suite %04x: DeriveKeyPair(ikmR) is not the vector's key pair", id)
			}
		}
		s, _ := Lookup(0xF001)
		k, err := s.KEM().NewPrivateKey(unhex(t, v.SkRm))
		if err != nil {
			t.Fatal(err)
		}
		kdf, err := hpke.NewKDF(v.KDF)
		if err != nil {
			t.Fatal(err)
		}
		aead, err := hpke.NewAEAD(v.AEAD)
		if err != nil {
			t.Fatal(err)
		}
		r, err := hpke.NewRecipient(unhex(t, v.Enc), k, kdf, aead, unhex(t, v.Info))
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range v.Encryptions {
			pt, err := r.Open(unhex(t, e.Aad), unhex(t, e.Ct))
			if err != nil || !bytes.Equal(pt, unhex(t, e.Pt)) {
				t.Fatalf("encryption %d does not open to the vector's plaintext: %v", i, err)
			}
		}
		for i, x := range v.Exports {
			got, err := r.Export(string(unhex(t, x.Context)), x.L)
			if err != nil || !bytes.Equal(got, unhex(t, x.Value)) {
				t.Fatalf("export %d differs: %v", i, err)
			}
		}
	}
}

// TestXWingTSMLSVectors checks the ts-mls suites against the implementation
// ts-mls runs (testdata/README.md), generated with Node by:
//
//	const kp = await new XWing().deriveKeyPair(ikm)
//	const sealed = await new CipherSuite({kem, kdf: new HkdfSha512(), aead}).seal(
//		{recipientPublicKey: kp.publicKey, info: EncryptContext(label, context)}, plaintext)
//
// Our DeriveKeyPair gives the same key pair from the same ikm, and opens its
// EncryptWithLabel. The draft suites, whose DeriveKeyPair is labelled,
// derive another key pair from the same ikm.
func TestXWingTSMLSVectors(t *testing.T) {
	data, err := os.ReadFile("testdata/xwing-ts-mls.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []struct {
		Suite      uint16 `json:"cipher_suite"`
		IKM        string `json:"ikm"`
		Priv       string `json:"private_key"`
		Pub        string `json:"public_key"`
		Label      string `json:"label"`
		Context    string `json:"context"`
		Plaintext  string `json:"plaintext"`
		KEMOutput  string `json:"kem_output"`
		Ciphertext string `json:"ciphertext"`
	}
	if err := json.Unmarshal(data, &vs); err != nil {
		t.Fatal(err)
	}
	seen := map[uint16]bool{}
	for _, v := range vs {
		seen[v.Suite] = true
		s, err := Lookup(v.Suite)
		if err != nil {
			t.Fatal(err)
		}
		priv, pub, err := s.DeriveKeyPair(unhex(t, v.IKM))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(priv, unhex(t, v.Priv)) || !bytes.Equal(pub, unhex(t, v.Pub)) {
			t.Fatalf("suite %04x: DeriveKeyPair differs from ts-mls's", v.Suite)
		}
		pt, err := s.DecryptWithLabel(priv, v.Label, unhex(t, v.Context), unhex(t, v.KEMOutput), unhex(t, v.Ciphertext))
		if err != nil || !bytes.Equal(pt, unhex(t, v.Plaintext)) {
			t.Fatalf("suite %04x: ts-mls's EncryptWithLabel does not open: %v", v.Suite, err)
		}
		ct := unhex(t, v.Ciphertext)
		ct[0] ^= 1
		if _, err := s.DecryptWithLabel(priv, v.Label, unhex(t, v.Context), unhex(t, v.KEMOutput), ct); err == nil {
			t.Fatalf("suite %04x: tampered ciphertext opened", v.Suite)
		}
		draft, _ := Lookup(0xF001)
		if dpriv, _, err := draft.DeriveKeyPair(unhex(t, v.IKM)); err != nil || bytes.Equal(dpriv, priv) {
			t.Fatalf("the draft suite derives ts-mls's key pair (%v): the derivations should differ", err)
		}
	}
	if !seen[0x0053] || !seen[0x0054] {
		t.Fatalf("vectors cover %v, want 0x0053 and 0x0054", seen)
	}
}
