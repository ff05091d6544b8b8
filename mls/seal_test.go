package mls

import (
	"bytes"
	"errors"
	"testing"
)

// TestSealToKeyPackage: a message sealed to a key package opens with its
// private part, under the same label and context only, in every suite.
func TestSealToKeyPackage(t *testing.T) {
	for _, cs := range CipherSuites() {
		t.Run(cs.String(), func(t *testing.T) {
			id, err := NewIdentity(cs, BasicCredential([]byte("dev")))
			if err != nil {
				t.Fatal(err)
			}
			kp, priv, err := NewKeyPackage(id, nil)
			if err != nil {
				t.Fatal(err)
			}
			msg := []byte("the keys of the history")
			enc, ct, err := SealToKeyPackage(kp, "test label", []byte("ctx"), msg)
			if err != nil {
				t.Fatal(err)
			}
			pt, err := OpenWithKeyPackage(priv, "test label", []byte("ctx"), enc, ct)
			if err != nil || !bytes.Equal(pt, msg) {
				t.Fatalf("open: %q, %v", pt, err)
			}
			if _, err := OpenWithKeyPackage(priv, "other label", []byte("ctx"), enc, ct); !errors.Is(err, ErrDecrypt) {
				t.Errorf("other label: %v", err)
			}
			if _, err := OpenWithKeyPackage(priv, "test label", []byte("other"), enc, ct); !errors.Is(err, ErrDecrypt) {
				t.Errorf("other context: %v", err)
			}
			ct[0] ^= 1
			if _, err := OpenWithKeyPackage(priv, "test label", []byte("ctx"), enc, ct); !errors.Is(err, ErrDecrypt) {
				t.Errorf("altered ciphertext: %v", err)
			}
			if _, _, err := SealToKeyPackage(kp, "", nil, msg); err == nil {
				t.Error("sealed without a label")
			}
		})
	}
}
