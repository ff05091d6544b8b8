package suite

import (
	"bytes"
	"errors"
	"testing"
)

func TestLookup(t *testing.T) {
	for _, id := range []uint16{1, 2, 3, 5, 7, 0x53, 0x54, 0xF001, 0xF002} {
		s, err := Lookup(id)
		if err != nil || uint16(s.ID()) != id {
			t.Errorf("Lookup(%d) = %v, %v", id, s, err)
		}
	}
	for _, id := range []uint16{0, 4, 6, 8, 0x4d, 0x52, 0x55, 0xF000, 0xF003, 0xffff} {
		if _, err := Lookup(id); !errors.Is(err, ErrUnsupported) {
			t.Errorf("Lookup(%d): got %v, want ErrUnsupported", id, err)
		}
	}
}

func TestRoundTripsAndTampering(t *testing.T) {
	for _, id := range []uint16{1, 2, 3, 5, 7, 0x53, 0x54, 0xF001, 0xF002} {
		s, _ := Lookup(id)
		sk, priv, err := s.GenerateSigningKey()
		if err != nil {
			t.Fatal(err)
		}
		sk2, err := s.NewSigningKey(priv)
		if err != nil || !bytes.Equal(sk.Public(), sk2.Public()) {
			t.Fatalf("suite %d: reparsed signing key differs: %v", id, err)
		}
		sig, err := sk.SignWithLabel("L", []byte("msg"))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.VerifyWithLabel(sk.Public(), "L", []byte("msg"), sig); err != nil {
			t.Errorf("suite %d: own signature rejected: %v", id, err)
		}
		if err := s.VerifyWithLabel(sk.Public(), "L", []byte("msh"), sig); !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("suite %d: wrong content accepted", id)
		}
		if err := s.VerifyWithLabel([]byte{1, 2, 3}, "L", []byte("msg"), sig); !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("suite %d: malformed public key: %v", id, err)
		}

		hpriv, hpub, err := s.GenerateKeyPair()
		if err != nil {
			t.Fatal(err)
		}
		kem, ct, err := s.EncryptWithLabel(hpub, "E", []byte("ctx"), []byte("secret"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.DecryptWithLabel(hpriv, "E", []byte("ctx2"), kem, ct); !errors.Is(err, ErrDecrypt) {
			t.Errorf("suite %d: wrong context decrypted: %v", id, err)
		}
		if _, err := s.DecryptWithLabel(hpriv, "E", []byte("ctx"), kem[:1], ct); err == nil {
			t.Errorf("suite %d: truncated kem output accepted", id)
		}

		key := make([]byte, s.Nk())
		nonce := make([]byte, s.Nn())
		sealed, err := s.Seal(key, nonce, []byte("aad"), []byte("pt"))
		if err != nil {
			t.Fatal(err)
		}
		if pt, err := s.Open(key, nonce, []byte("aad"), sealed); err != nil || string(pt) != "pt" {
			t.Errorf("suite %d: AEAD round trip: %q %v", id, pt, err)
		}
		if _, err := s.Open(key, nonce, []byte("aaD"), sealed); !errors.Is(err, ErrDecrypt) {
			t.Errorf("suite %d: wrong aad accepted", id)
		}
		if _, err := s.Open(key[:1], nonce, nil, sealed); err == nil {
			t.Errorf("suite %d: short key accepted", id)
		}

		enc, secret, err := s.ExportSender(hpub, nil, "MLS 1.0 external init secret", s.Nh())
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.ExportRecipient(hpriv, enc, nil, "MLS 1.0 external init secret", s.Nh())
		if err != nil || !bytes.Equal(got, secret) {
			t.Errorf("suite %d: HPKE export mismatch: %v", id, err)
		}
	}
}

func TestExpandBounds(t *testing.T) {
	s, _ := Lookup(1)
	if _, err := s.ExpandWithLabel(make([]byte, 32), "x", nil, 255*32+1); err == nil {
		t.Error("over-long expand accepted")
	}
	if _, err := s.ExpandWithLabel(make([]byte, 32), "x", nil, -1); err == nil {
		t.Error("negative length accepted")
	}
}
