package delegation

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// A Revocation is a root key's statement that a device no longer belongs to
// the delegation (a lost or compromised laptop). It is a signed note, key
// name = delegation name, whose body is exactly:
//
//	goodoffices device revocation v1
//	delegation <name>
//	device <device ID>
//	time <RFC 3339 UTC, seconds>
//
// The venue logs revocations in a public log and refuses the device from
// then on; desks can read the same log.
type Revocation struct {
	Delegation string
	Device     ed25519.PublicKey
	Time       time.Time
}

const revocationHeader = "goodoffices device revocation v1"

// Marshal returns the revocation body (the signed text).
func (r *Revocation) Marshal() ([]byte, error) {
	if !ValidName(r.Delegation) || len(r.Device) != ed25519.PublicKeySize || r.Time.Unix() < 0 || r.Time.Year() > 9999 {
		return nil, errors.New("invalid revocation")
	}
	return fmt.Appendf(nil, "%s\ndelegation %s\ndevice %s\ntime %s\n", revocationHeader, r.Delegation, DeviceID(r.Device),
		r.Time.UTC().Format(time.RFC3339)), nil
}

var errBadRevocation = errors.New("malformed device revocation")

// ParseRevocation parses a revocation body strictly.
func ParseRevocation(text []byte) (*Revocation, error) {
	if len(text) > 512 {
		return nil, errBadRevocation
	}
	lines := strings.Split(string(text), "\n")
	if len(lines) != 5 || lines[0] != revocationHeader || lines[4] != "" {
		return nil, errBadRevocation
	}
	name, ok1 := strings.CutPrefix(lines[1], "delegation ")
	dev, ok2 := strings.CutPrefix(lines[2], "device ")
	ts, ok3 := strings.CutPrefix(lines[3], "time ")
	if !ok1 || !ok2 || !ok3 {
		return nil, errBadRevocation
	}
	pub, err := ParseDeviceID(dev)
	if err != nil {
		return nil, errBadRevocation
	}
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		return nil, errBadRevocation
	}
	r := &Revocation{Delegation: name, Device: pub, Time: t}
	again, err := r.Marshal()
	if err != nil || !bytes.Equal(again, text) {
		return nil, errBadRevocation
	}
	return r, nil
}

// Revoke signs a revocation of device by the root key, dated now.
func (k *RootKey) Revoke(device ed25519.PublicKey) ([]byte, error) {
	r := &Revocation{Delegation: k.Name, Device: device, Time: time.Now().UTC().Truncate(time.Second)}
	body, err := r.Marshal()
	if err != nil {
		return nil, err
	}
	msg, err := note.Sign(&note.Note{Text: string(body)}, k.Signer())
	if err != nil {
		return nil, fmt.Errorf("failed to sign revocation: %w", err)
	}
	return msg, nil
}

// PeekRevocation parses a revocation note's body without verifying it, to
// find the root key to verify it with. Nothing it returns may be trusted.
func PeekRevocation(msg []byte) (*Revocation, error) {
	if len(msg) > MaxCertificateSize {
		return nil, errBadRevocation
	}
	body, _, ok := bytes.Cut(msg, []byte("\n\n"))
	if !ok {
		return nil, errBadRevocation
	}
	return ParseRevocation(append(body, '\n'))
}

// ErrRevocation reports a revocation that does not verify.
var ErrRevocation = errors.New("device revocation does not verify")

// VerifyRevocation checks that msg is a revocation signed by the root whose
// verifier key is rootVKey, for that root's delegation.
func VerifyRevocation(msg []byte, rootVKey string) (*Revocation, error) {
	if len(msg) > MaxCertificateSize {
		return nil, errBadRevocation
	}
	v, err := note.NewVerifier(rootVKey)
	if err != nil {
		return nil, fmt.Errorf("failed to parse root key: %w", err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return nil, ErrRevocation
	}
	r, err := ParseRevocation([]byte(n.Text))
	if err != nil {
		return nil, err
	}
	if r.Delegation != v.Name() {
		return nil, ErrRevocation
	}
	return r, nil
}
