package tlog

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// cosignatureAlg is the signed-note signature type of cosignature/v1 with
// Ed25519 (c2sp.org/signed-note, c2sp.org/tlog-cosignature).
const cosignatureAlg = 0x04

// CosignatureSize is the size of a cosignature's signature bytes: a
// big-endian uint64 timestamp and an Ed25519 signature.
const CosignatureSize = 8 + ed25519.SignatureSize

// CosignatureKeyID returns the key ID of an Ed25519 cosigner:
// SHA-256(name || "\n" || 0x04 || key)[:4] as a big-endian uint32.
func CosignatureKeyID(name string, key ed25519.PublicKey) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n', cosignatureAlg})
	h.Write(key)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// validKeyName reports whether name may name a signed-note key: non-empty
// UTF-8 with no spaces, control characters or "+".
func validKeyName(name string) bool {
	if name == "" || len(name) > 256 || !utf8.ValidString(name) || strings.Contains(name, "+") {
		return false
	}
	for _, r := range name {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// CosignatureVerifierKey returns the signed-note verifier key of an Ed25519
// cosigner: "<name>+<8 hex digits key ID>+<base64(0x04 || key)>".
func CosignatureVerifierKey(name string, key ed25519.PublicKey) (string, error) {
	if !validKeyName(name) || len(key) != ed25519.PublicKeySize {
		return "", errors.New("invalid cosigner name or key")
	}
	return fmt.Sprintf("%s+%08x+%s", name, CosignatureKeyID(name, key),
		base64.StdEncoding.EncodeToString(append([]byte{cosignatureAlg}, key...))), nil
}

// cosignedMessage returns the message a cosignature/v1 signs.
func cosignedMessage(timestamp uint64, body []byte) []byte {
	m := make([]byte, 0, 40+len(body))
	m = append(m, "cosignature/v1\ntime "...)
	m = strconv.AppendUint(m, timestamp, 10)
	m = append(m, '\n')
	return append(m, body...)
}

// A Cosigner produces cosignature/v1 signatures. It implements note.Signer,
// so note.Sign(&note.Note{Text: checkpointBody}, cosigner) yields a
// cosigned checkpoint.
type Cosigner struct {
	name string
	id   uint32
	key  ed25519.PrivateKey
	now  func() time.Time // tests fix the clock
}

// NewCosigner returns a Cosigner named name signing with key.
func NewCosigner(name string, key ed25519.PrivateKey) (*Cosigner, error) {
	if !validKeyName(name) || len(key) != ed25519.PrivateKeySize {
		return nil, errors.New("invalid cosigner name or key")
	}
	return &Cosigner{name: name, id: CosignatureKeyID(name, key.Public().(ed25519.PublicKey)), key: key, now: time.Now}, nil
}

// Name returns the cosigner's name.
func (s *Cosigner) Name() string { return s.name }

// KeyHash returns the cosigner's key ID.
func (s *Cosigner) KeyHash() uint32 { return s.id }

// Sign returns timestamp || Ed25519(cosignature/v1 message) for the
// checkpoint body msg, with the current time.
func (s *Cosigner) Sign(msg []byte) ([]byte, error) {
	ts := s.now().Unix()
	if ts < 0 {
		return nil, errors.New("clock before 1970")
	}
	sig := binary.BigEndian.AppendUint64(make([]byte, 0, CosignatureSize), uint64(ts))
	return append(sig, ed25519.Sign(s.key, cosignedMessage(uint64(ts), msg))...), nil
}

// A CosignatureVerifier verifies cosignature/v1 signatures of one cosigner.
// It implements note.Verifier.
type CosignatureVerifier struct {
	name string
	id   uint32
	key  ed25519.PublicKey
}

// NewCosignatureVerifier parses a cosigner verifier key as produced by
// CosignatureVerifierKey, checking that the key ID matches.
func NewCosignatureVerifier(vkey string) (*CosignatureVerifier, error) {
	name, rest, ok1 := strings.Cut(vkey, "+")
	hexID, b64, ok2 := strings.Cut(rest, "+")
	if !ok1 || !ok2 || !validKeyName(name) || len(hexID) != 8 || len(vkey) > 512 {
		return nil, errors.New("malformed cosigner verifier key")
	}
	id, err := strconv.ParseUint(hexID, 16, 32)
	if err != nil || fmt.Sprintf("%08x", id) != hexID {
		return nil, errors.New("malformed cosigner verifier key")
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || len(raw) != 1+ed25519.PublicKeySize || raw[0] != cosignatureAlg {
		return nil, errors.New("malformed cosigner verifier key")
	}
	key := ed25519.PublicKey(raw[1:])
	if uint32(id) != CosignatureKeyID(name, key) {
		return nil, errors.New("cosigner verifier key ID mismatch")
	}
	return &CosignatureVerifier{name: name, id: uint32(id), key: key}, nil
}

// Name returns the cosigner's name.
func (v *CosignatureVerifier) Name() string { return v.name }

// KeyHash returns the cosigner's key ID.
func (v *CosignatureVerifier) KeyHash() uint32 { return v.id }

// Verify reports whether sig is a valid cosignature/v1 of the checkpoint
// body msg.
func (v *CosignatureVerifier) Verify(msg, sig []byte) bool {
	ts, ok := CosignatureTime(sig)
	if !ok {
		return false
	}
	return ed25519.Verify(v.key, cosignedMessage(uint64(ts.Unix()), msg), sig[8:])
}

// CosignatureTime returns the timestamp in a cosignature's signature bytes
// (timestamp || Ed25519 signature, without the note's 4-byte key ID).
func CosignatureTime(sig []byte) (time.Time, bool) {
	if len(sig) != CosignatureSize {
		return time.Time{}, false
	}
	ts := binary.BigEndian.Uint64(sig)
	if ts > math.MaxInt64 {
		return time.Time{}, false
	}
	return time.Unix(int64(ts), 0), true
}

// NoteSignatureTime decodes the timestamp of a cosignature from a
// note.Signature's base64 field (key ID || timestamp || signature).
func NoteSignatureTime(b64 string) (time.Time, bool) {
	raw, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || len(raw) != 4+CosignatureSize {
		return time.Time{}, false
	}
	return CosignatureTime(raw[4:])
}
