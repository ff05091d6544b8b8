package mls

import "fmt"

// # Sealing to a key package
//
// A KeyPackage's init_key is an HPKE public key (RFC 9420 §10) whose
// private part only the device that made the key package holds. Besides a
// Welcome, an application may seal one message of its own to it with
// EncryptWithLabel (§5.1.3) under a label of its own, so that the message
// cannot be taken for a Welcome's group secrets. A key package claimed for
// that purpose must not be used for a Welcome as well (§16.8): claim a fresh
// one.

// SealToKeyPackage encrypts plaintext to kp's init key with
// EncryptWithLabel(init_key, label, context, plaintext) (RFC 9420 §5.1.3).
func SealToKeyPackage(kp *KeyPackage, label string, context, plaintext []byte) (kemOutput, ciphertext []byte, err error) {
	defer guard(&err)
	if label == "" {
		return nil, nil, fmt.Errorf("mls: a sealing label is required")
	}
	return kp.s.EncryptWithLabel(kp.kp.InitKey, label, context, plaintext)
}

// OpenWithKeyPackage decrypts what SealToKeyPackage sealed, with private,
// the private part of the key package as NewKeyPackage returned it. A
// ciphertext that does not decrypt gives [ErrDecrypt].
func OpenWithKeyPackage(private []byte, label string, context, kemOutput, ciphertext []byte) (pt []byte, err error) {
	defer guard(&err)
	kpp, err := parseKeyPackagePrivate(private)
	if err != nil {
		return nil, err
	}
	pt, err = kpp.kp.s.DecryptWithLabel(kpp.initPriv, label, context, kemOutput, ciphertext)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}
