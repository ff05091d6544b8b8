// Package api holds the wire types and formats that the venue (package
// venue, the server) and its clients (package venue/client, and the desk
// built on it) share: accreditation register records, cosigner names and
// answers, and the body of a batch append.
//
// It exists so that a client never links the server: a desk imports
// venue/client and this package, never package venue. It imports nothing of
// the project but package delegation (names and device IDs).
package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"

	"github.com/good-offices/goodoffices/delegation"
)

// A RegisterRecord is one entry of the accreditation register (the log
// "register"), as logged:
//
//	goodoffices accreditation v1
//	delegation <name>
//	display <display name>            (only when the host gave one)
//	root <signed-note verifier key of the delegation's root>
//	time <RFC 3339 UTC>
//
// The display name ("Federation of Arden") is in the logged record, so the
// host cannot show one party a name and another party a different one.
type RegisterRecord struct {
	Delegation  string    `json:"name"`
	DisplayName string    `json:"display_name,omitempty"` // see CheckDisplayName
	RootKey     string    `json:"root_key"`               // signed-note verifier key
	Time        time.Time `json:"time"`
	Index       int64     `json:"index"` // position in the register log
}

// MaxDisplayName bounds a display name, in characters.
const MaxDisplayName = 80

// CheckDisplayName checks a display name of a delegation or a venue: valid
// UTF-8, 1 to MaxDisplayName characters, letters, marks, digits,
// punctuation, symbols and single spaces, no space at either end. Control
// and formatting characters (bidirectional overrides, zero-width joiners)
// are refused: they could make one name look like another.
func CheckDisplayName(s string) error {
	if !utf8.ValidString(s) || s == "" || utf8.RuneCountInString(s) > MaxDisplayName {
		return fmt.Errorf("a display name has 1 to %d characters", MaxDisplayName)
	}
	if strings.TrimSpace(s) != s || strings.Contains(s, "  ") {
		return errors.New("a display name has no space at either end and no double space")
	}
	for _, r := range s {
		if r != ' ' && !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S) {
			return fmt.Errorf("a display name may not contain %U", r)
		}
	}
	return nil
}

// Fingerprint returns the root key's human-comparable fingerprint.
func (r RegisterRecord) Fingerprint() string { return delegation.Fingerprint(r.RootKey) }

const recordHeader = "goodoffices accreditation v1"

// maxRecord bounds an accreditation record.
const maxRecord = 1024

// Marshal returns the record as logged.
func (r RegisterRecord) Marshal() []byte {
	display := ""
	if r.DisplayName != "" {
		display = "display " + r.DisplayName + "\n"
	}
	return fmt.Appendf(nil, "%s\ndelegation %s\n%sroot %s\ntime %s\n", recordHeader, r.Delegation, display, r.RootKey, r.Time.UTC().Format(time.RFC3339))
}

// ParseRegisterRecord parses a register entry strictly: only the canonical
// form [RegisterRecord.Marshal] writes is accepted. Index is left zero.
func ParseRegisterRecord(entry []byte) (RegisterRecord, error) {
	bad := errors.New("malformed accreditation record")
	if len(entry) > maxRecord {
		return RegisterRecord{}, bad
	}
	lines := strings.Split(string(entry), "\n")
	display := ""
	if len(lines) == 6 {
		d, ok := strings.CutPrefix(lines[2], "display ")
		if !ok || CheckDisplayName(d) != nil {
			return RegisterRecord{}, bad
		}
		display = d
		lines = append(lines[:2], lines[3:]...)
	}
	if len(lines) != 5 || lines[0] != recordHeader || lines[4] != "" {
		return RegisterRecord{}, bad
	}
	name, ok1 := strings.CutPrefix(lines[1], "delegation ")
	root, ok2 := strings.CutPrefix(lines[2], "root ")
	ts, ok3 := strings.CutPrefix(lines[3], "time ")
	if !ok1 || !ok2 || !ok3 || !delegation.ValidName(name) {
		return RegisterRecord{}, bad
	}
	if err := CheckRootKey(name, root); err != nil {
		return RegisterRecord{}, err
	}
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		return RegisterRecord{}, bad
	}
	r := RegisterRecord{Delegation: name, DisplayName: display, RootKey: root, Time: t}
	if !bytes.Equal(r.Marshal(), entry) {
		return RegisterRecord{}, bad
	}
	return r, nil
}

// CheckRootKey checks that vkey is an Ed25519 signed-note verifier key named
// after the delegation.
func CheckRootKey(name, vkey string) error {
	if len(vkey) > 256 {
		return errors.New("root key too long")
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return errors.New("root key is not a signed-note verifier key (name+hash+key)")
	}
	if v.Name() != name {
		return fmt.Errorf("root key is named %q, not %q", v.Name(), name)
	}
	parts := strings.SplitN(vkey, "+", 3)
	raw, err := base64.StdEncoding.DecodeString(parts[len(parts)-1])
	if len(parts) != 3 || err != nil || len(raw) != 33 || raw[0] != 1 { // 0x01: Ed25519
		return errors.New("root key is not an Ed25519 key")
	}
	return nil
}

// CosignerName returns the signed-note key name with which a device of a
// delegation cosigns checkpoints: "<delegation>/<device ID>".
func CosignerName(delegationName, deviceID string) string {
	return delegationName + "/" + deviceID
}

// ParseCosignerName splits a cosigner name into delegation and device ID.
func ParseCosignerName(name string) (delegationName, deviceID string, ok bool) {
	d, id, ok := strings.Cut(name, "/")
	if !ok || !delegation.ValidName(d) {
		return "", "", false
	}
	if _, err := delegation.ParseDeviceID(id); err != nil {
		return "", "", false
	}
	return d, id, true
}

// Cosignatures is the answer of GET /logs/{log}/cosignatures: for each
// cosigner, the latest checkpoint it cosigned, as signed notes with the
// venue's line and the cosignature lines, and the cosigners' device
// certificates. Nothing in it is trusted: a desk verifies every note and
// certificate.
type Cosignatures struct {
	Log         string     `json:"log"`
	Checkpoints []string   `json:"checkpoints"` // signed notes: the venue's line and cosignature lines
	Cosigners   []Cosigner `json:"cosigners"`
}

// A Cosigner is a device whose cosignatures a log holds.
type Cosigner struct {
	Name        string `json:"name"`        // CosignerName
	Certificate string `json:"certificate"` // its device certificate (package delegation)
}

// RegistrationProofHeader carries, on POST /v1/devices, the device key's
// signature of RegistrationMessage(certificate): proof that whoever
// registers the certificate holds the device's private key, so that no
// delegation can register (squat) another delegation's device key.
const RegistrationProofHeader = "Goodoffices-Device-Proof"

// RegistrationMessage returns the message a device signs (Ed25519) to
// register a certificate: a domain separator and the certificate's
// SHA-256.
func RegistrationMessage(certificate []byte) []byte {
	h := sha256.Sum256(certificate)
	return fmt.Appendf(nil, "goodoffices device registration v1\n%x\n", h[:])
}
