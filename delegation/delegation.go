// Package delegation holds a delegation's keys and the certificates with
// which its root key vouches for its delegates' devices.
//
// # Root key
//
// A delegation (a party to the talks) has one Ed25519 root key, held offline
// by its head ([RootKey]). The venue's host accredits the delegation by name
// and root public key; the public key travels as a C2SP signed-note verifier
// key, "<name>+<key hash>+<base64(0x01 || key)>" ([RootKey.VerifierKey]).
// Each party compares the other parties' root keys out of band once, by
// their [Fingerprint]: six groups of four base32 characters, e.g.
// "K7QF-2M4X-Y3ZA-PL6D-W2HN-Q5TR" (120 bits of SHA-256 over the verifier
// key, domain-separated).
//
// On disk ([MarshalRoot], [ParseRoot]) the key is a small text file, written
// 0600 by [SaveRoot]:
//
//	goodoffices delegation root key v1
//	name <delegation name>
//	encryption none | scrypt-chacha20poly1305 <base64 salt> <base64 nonce>
//	key <base64 seed or sealed seed>
//
// With a passphrase the 32-byte seed is sealed with ChaCha20-Poly1305 (RFC
// 8439) under a key derived with scrypt (N=2^15, r=8, p=1, 16-byte random
// salt); the first three lines are the additional data, so no header field
// can be changed undetected. A wrong passphrase yields [ErrPassphrase].
//
// # Device certificates
//
// A delegate's device has its own Ed25519 key. The root key certifies it
// with a certificate that is a C2SP signed note whose key name is the
// delegation's name and whose body is exactly:
//
//	goodoffices device certificate v1
//	delegation <name>
//	person <display name of the delegate>
//	role <role token: head, expert, adviser, interpreter, ...>
//	level <expert | senior-officials | ministerial | leaders>
//	device <base64url, unpadded, of the 32-byte device public key>
//	not-before <RFC 3339 UTC, seconds>
//	not-after <RFC 3339 UTC, seconds>
//
// [ParseCertificate] accepts only this canonical form (fields in this order,
// each once, bounded). [VerifyCertificate] checks the root's signature, that
// the note is signed by the delegation it names, and the validity window.
// [PeekCertificate] reads the delegation name without verifying, to find the
// root key to verify with.
//
// A device is named by its [DeviceID]: the unpadded base64url of its public
// key.
//
// # Revocations
//
// A lost or compromised device is revoked by a [Revocation], another signed
// note of the root ([RootKey.Revoke], [VerifyRevocation]); the venue logs it
// in a public log and refuses the device from then on.
package delegation

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/scrypt"
	"golang.org/x/mod/sumdb/note"
)

// Levels of a negotiation, lowest first.
var Levels = []string{"expert", "senior-officials", "ministerial", "leaders"}

// ValidLevel reports whether l is one of Levels.
func ValidLevel(l string) bool {
	for _, x := range Levels {
		if x == l {
			return true
		}
	}
	return false
}

// ValidName reports whether name may name a delegation: 1 to 64 of
// a-z, 0-9, "-" and ".", starting with a letter or digit.
func ValidName(name string) bool {
	if len(name) == 0 || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '-' || c == '.') && i > 0:
		default:
			return false
		}
	}
	return true
}

// validToken reports whether s is a role-like token: 1 to 32 of a-z and "-".
func validToken(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < 'a' || s[i] > 'z') && s[i] != '-' {
			return false
		}
	}
	return true
}

// validPerson reports whether s may be a person's display name: 1 to 128
// bytes of printable UTF-8 with no leading or trailing space.
func validPerson(s string) bool {
	if len(s) == 0 || len(s) > 128 || !utf8.ValidString(s) || strings.TrimSpace(s) != s {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// A RootKey is a delegation's root signing key.
type RootKey struct {
	Name string
	key  ed25519.PrivateKey
}

// GenerateRoot creates a new root key for the delegation name.
func GenerateRoot(name string) (*RootKey, error) {
	if !ValidName(name) {
		return nil, fmt.Errorf("invalid delegation name %q: use 1-64 of a-z, 0-9, '-', '.'", name)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("failed to generate key: %w", err)
	}
	return &RootKey{Name: name, key: priv}, nil
}

// Public returns the root public key.
func (k *RootKey) Public() ed25519.PublicKey { return k.key.Public().(ed25519.PublicKey) }

// VerifierKey returns the root's signed-note verifier key.
func (k *RootKey) VerifierKey() string {
	vkey, err := note.NewEd25519VerifierKey(k.Name, k.Public())
	if err != nil {
		panic("delegation: internal error: " + err.Error())
	}
	return vkey
}

// Signer returns a note.Signer for the root key, named after the delegation.
func (k *RootKey) Signer() note.Signer {
	s, err := noteSigner(k.Name, k.key)
	if err != nil {
		panic("delegation: internal error: " + err.Error())
	}
	return s
}

// noteSigner builds a note.Signer from an Ed25519 key through the
// signed-note private key encoding.
func noteSigner(name string, key ed25519.PrivateKey) (note.Signer, error) {
	vkey, err := note.NewEd25519VerifierKey(name, key.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, err
	}
	skey := fmt.Sprintf("PRIVATE+KEY+%s+%08x+%s", name, v.KeyHash(),
		base64.StdEncoding.EncodeToString(append([]byte{1}, key.Seed()...)))
	return note.NewSigner(skey)
}

// NoteSigner returns a note.Signer named name for an Ed25519 private key.
// The venue uses it for its checkpoint key.
func NoteSigner(name string, key ed25519.PrivateKey) (note.Signer, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, errors.New("invalid Ed25519 private key")
	}
	s, err := noteSigner(name, key)
	if err != nil {
		return nil, fmt.Errorf("failed to make note signer: %w", err)
	}
	return s, nil
}

// Fingerprint returns a short, human-comparable fingerprint of a verifier
// key: SHA-256("goodoffices fingerprint v1\n" || vkey), first 15 bytes, in
// base32, in six dash-separated groups of four.
func Fingerprint(vkey string) string {
	h := sha256.Sum256([]byte("goodoffices fingerprint v1\n" + vkey))
	s := base32.StdEncoding.EncodeToString(h[:15])
	var groups []string
	for i := 0; i < len(s); i += 4 {
		groups = append(groups, s[i:i+4])
	}
	return strings.Join(groups, "-")
}

// ErrPassphrase reports a wrong passphrase (or a corrupted key file).
var ErrPassphrase = errors.New("wrong passphrase or corrupted key file")

const rootHeader = "goodoffices delegation root key v1"

// scrypt parameters for root key files.
const scryptN, scryptR, scryptP = 1 << 15, 8, 1

// MarshalRoot encodes k for storage, sealed under passphrase when it is not
// empty.
func MarshalRoot(k *RootKey, passphrase []byte) ([]byte, error) {
	seed := k.key.Seed()
	var enc, payload string
	if len(passphrase) == 0 {
		enc = "none"
		payload = base64.StdEncoding.EncodeToString(seed)
	} else {
		salt := make([]byte, 16)
		nonce := make([]byte, chacha20poly1305.NonceSize)
		rand.Read(salt)
		rand.Read(nonce)
		enc = "scrypt-chacha20poly1305 " + base64.StdEncoding.EncodeToString(salt) + " " + base64.StdEncoding.EncodeToString(nonce)
		aead, err := rootAEAD(passphrase, salt)
		if err != nil {
			return nil, err
		}
		ad := rootHeader + "\nname " + k.Name + "\nencryption " + enc + "\n"
		payload = base64.StdEncoding.EncodeToString(aead.Seal(nil, nonce, seed, []byte(ad)))
	}
	return []byte(rootHeader + "\nname " + k.Name + "\nencryption " + enc + "\nkey " + payload + "\n"), nil
}

func rootAEAD(passphrase, salt []byte) (interface {
	Seal(dst, nonce, plaintext, ad []byte) []byte
	Open(dst, nonce, ciphertext, ad []byte) ([]byte, error)
}, error) {
	key, err := scrypt.Key(passphrase, salt, scryptN, scryptR, scryptP, chacha20poly1305.KeySize)
	if err != nil {
		return nil, fmt.Errorf("failed to derive key: %w", err)
	}
	return chacha20poly1305.New(key)
}

var errBadRootFile = errors.New("malformed delegation root key file")

// ParseRoot decodes a root key file. passphrase is ignored for an
// unencrypted file; an encrypted one needs it.
func ParseRoot(data, passphrase []byte) (*RootKey, error) {
	if len(data) > 1024 {
		return nil, errBadRootFile
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) != 5 || lines[4] != "" || lines[0] != rootHeader {
		return nil, errBadRootFile
	}
	name, ok := strings.CutPrefix(lines[1], "name ")
	if !ok || !ValidName(name) {
		return nil, errBadRootFile
	}
	enc, ok1 := strings.CutPrefix(lines[2], "encryption ")
	payload, ok2 := strings.CutPrefix(lines[3], "key ")
	if !ok1 || !ok2 {
		return nil, errBadRootFile
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(payload)
	if err != nil {
		return nil, errBadRootFile
	}
	var seed []byte
	if enc == "none" {
		seed = raw
	} else {
		f := strings.Split(enc, " ")
		if len(f) != 3 || f[0] != "scrypt-chacha20poly1305" {
			return nil, errBadRootFile
		}
		salt, err1 := base64.StdEncoding.Strict().DecodeString(f[1])
		nonce, err2 := base64.StdEncoding.Strict().DecodeString(f[2])
		if err1 != nil || err2 != nil || len(salt) != 16 || len(nonce) != chacha20poly1305.NonceSize {
			return nil, errBadRootFile
		}
		if len(passphrase) == 0 {
			return nil, errors.New("the delegation root key is encrypted: a passphrase is needed")
		}
		aead, err := rootAEAD(passphrase, salt)
		if err != nil {
			return nil, err
		}
		ad := strings.Join(lines[:3], "\n") + "\n"
		seed, err = aead.Open(nil, nonce, raw, []byte(ad))
		if err != nil {
			return nil, ErrPassphrase
		}
	}
	if len(seed) != ed25519.SeedSize {
		return nil, errBadRootFile
	}
	return &RootKey{Name: name, key: ed25519.NewKeyFromSeed(seed)}, nil
}

// SaveRoot writes k to a new file at path with mode 0600; it refuses to
// overwrite an existing file.
func SaveRoot(path string, k *RootKey, passphrase []byte) error {
	data, err := MarshalRoot(k, passphrase)
	if err != nil {
		return err
	}
	return writeNewFile(path, data)
}

// writeNewFile creates path exclusively with mode 0600 and syncs it.
func writeNewFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("failed to create directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("failed to create key file: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("failed to write key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("failed to sync key file: %w", err)
	}
	return f.Close()
}

// LoadRoot reads a root key file written by SaveRoot.
func LoadRoot(path string, passphrase []byte) (*RootKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read key file: %w", err)
	}
	return ParseRoot(data, passphrase)
}

// DeviceID returns the identifier of a device key: unpadded base64url of the
// 32-byte public key.
func DeviceID(pub ed25519.PublicKey) string { return base64.RawURLEncoding.EncodeToString(pub) }

// ParseDeviceID returns the public key a DeviceID names.
func ParseDeviceID(id string) (ed25519.PublicKey, error) {
	if len(id) != 43 {
		return nil, errors.New("malformed device ID")
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(id)
	if err != nil || len(b) != ed25519.PublicKeySize || DeviceID(b) != id {
		return nil, errors.New("malformed device ID")
	}
	return ed25519.PublicKey(b), nil
}

// A Certificate is a root key's statement that a device belongs to a
// delegate of the delegation.
type Certificate struct {
	Delegation string
	Person     string
	Role       string
	Level      string
	// Languages are an interpreter's working languages (BCP 47 primary
	// tags such as "en", "ru", "kk"): only for role RoleInterpreter, which
	// a root certifies only with them (a desk's certificate request has
	// none). They follow the level as one line, "languages en,ru", in the
	// signed text.
	Languages []string
	Device    ed25519.PublicKey
	NotBefore time.Time
	NotAfter  time.Time
}

// DeviceID returns the certified device's ID.
func (c *Certificate) DeviceID() string { return DeviceID(c.Device) }

const certHeader = "goodoffices device certificate v1"

// RoleInterpreter is the role of an interpreter's device: it carries
// languages, and the parties' desks admit it to a channel only with every
// party's consent.
const RoleInterpreter = "interpreter"

// MaxLanguages bounds an interpreter's languages.
const MaxLanguages = 12

func validLanguages(role string, langs []string) bool {
	if role != RoleInterpreter {
		return len(langs) == 0
	}
	if len(langs) > MaxLanguages {
		return false
	}
	for i, l := range langs {
		if len(l) < 2 || len(l) > 3 || strings.Trim(l, "abcdefghijklmnopqrstuvwxyz") != "" || slices.Contains(langs[:i], l) {
			return false
		}
	}
	return true
}

// MaxCertificateSize bounds a signed certificate note.
const MaxCertificateSize = 2048

func (c *Certificate) check() error {
	switch {
	case !ValidName(c.Delegation):
		return errors.New("invalid delegation name")
	case !validPerson(c.Person):
		return errors.New("invalid person name: 1-128 printable characters")
	case !validToken(c.Role):
		return errors.New("invalid role: 1-32 of a-z and '-'")
	case !ValidLevel(c.Level):
		return fmt.Errorf("invalid level: one of %s", strings.Join(Levels, ", "))
	case !validLanguages(c.Role, c.Languages):
		return errors.New("invalid languages: an interpreter has up to 12 distinct language codes of 2-3 letters a-z; other roles none")
	case len(c.Device) != ed25519.PublicKeySize:
		return errors.New("invalid device key")
	case !c.NotAfter.After(c.NotBefore):
		return errors.New("not-after must be after not-before")
	case c.NotBefore.Unix() < 0 || c.NotAfter.Year() > 9999:
		return errors.New("validity out of range")
	}
	return nil
}

// Marshal returns the certificate body (the signed text).
func (c *Certificate) Marshal() ([]byte, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\ndelegation %s\nperson %s\nrole %s\nlevel %s\n", certHeader, c.Delegation, c.Person, c.Role, c.Level)
	if len(c.Languages) > 0 {
		fmt.Fprintf(&b, "languages %s\n", strings.Join(c.Languages, ","))
	}
	fmt.Fprintf(&b, "device %s\nnot-before %s\nnot-after %s\n", DeviceID(c.Device),
		c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))
	return b.Bytes(), nil
}

var errBadCert = errors.New("malformed device certificate")

// ParseCertificate parses a certificate body strictly.
func ParseCertificate(text []byte) (*Certificate, error) {
	if len(text) > MaxCertificateSize || !utf8.Valid(text) {
		return nil, errBadCert
	}
	lines := strings.Split(string(text), "\n")
	var langs []string
	if len(lines) > 5 {
		if v, ok := strings.CutPrefix(lines[5], "languages "); ok {
			langs = strings.Split(v, ",")
			lines = slices.Delete(lines, 5, 6)
		}
	}
	keys := []string{"delegation", "person", "role", "level", "device", "not-before", "not-after"}
	if len(lines) != len(keys)+2 || lines[0] != certHeader || lines[len(lines)-1] != "" {
		return nil, errBadCert
	}
	vals := make([]string, len(keys))
	for i, k := range keys {
		v, ok := strings.CutPrefix(lines[i+1], k+" ")
		if !ok {
			return nil, errBadCert
		}
		vals[i] = v
	}
	c := &Certificate{Delegation: vals[0], Person: vals[1], Role: vals[2], Level: vals[3], Languages: langs}
	var err error
	if c.Device, err = ParseDeviceID(vals[4]); err != nil {
		return nil, errBadCert
	}
	if c.NotBefore, err = time.Parse(time.RFC3339, vals[5]); err != nil {
		return nil, errBadCert
	}
	if c.NotAfter, err = time.Parse(time.RFC3339, vals[6]); err != nil {
		return nil, errBadCert
	}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("malformed device certificate: %w", err)
	}
	if again, _ := c.Marshal(); !bytes.Equal(again, text) {
		return nil, errBadCert
	}
	return c, nil
}

// Certify signs c with the root key and returns the certificate note.
// c.Delegation must be the root's delegation.
func (k *RootKey) Certify(c *Certificate) ([]byte, error) {
	if c.Delegation != k.Name {
		return nil, fmt.Errorf("certificate for delegation %q cannot be signed by %q's root", c.Delegation, k.Name)
	}
	if c.Role == RoleInterpreter && len(c.Languages) == 0 {
		return nil, errors.New("an interpreter is certified with its working languages (--languages)")
	}
	body, err := c.Marshal()
	if err != nil {
		return nil, err
	}
	msg, err := note.Sign(&note.Note{Text: string(body)}, k.Signer())
	if err != nil {
		return nil, fmt.Errorf("failed to sign certificate: %w", err)
	}
	return msg, nil
}

// PeekCertificate parses a certificate note's body without verifying any
// signature, so that the caller can find the root key to verify it with.
// Nothing it returns may be trusted.
func PeekCertificate(msg []byte) (*Certificate, error) {
	if len(msg) > MaxCertificateSize {
		return nil, errBadCert
	}
	body, _, ok := bytes.Cut(msg, []byte("\n\n"))
	if !ok {
		return nil, errBadCert
	}
	return ParseCertificate(append(body, '\n'))
}

// ErrCertificate reports a certificate that does not verify: bad signature,
// another delegation's key, or outside its validity window.
var ErrCertificate = errors.New("device certificate does not verify")

// VerifyCertificate checks that msg is a certificate signed by the root
// whose verifier key is rootVKey, for that root's delegation, valid at now.
func VerifyCertificate(msg []byte, rootVKey string, now time.Time) (*Certificate, error) {
	if len(msg) > MaxCertificateSize {
		return nil, errBadCert
	}
	v, err := note.NewVerifier(rootVKey)
	if err != nil {
		return nil, fmt.Errorf("failed to parse root key: %w", err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return nil, ErrCertificate
	}
	c, err := ParseCertificate([]byte(n.Text))
	if err != nil {
		return nil, err
	}
	if c.Delegation != v.Name() {
		return nil, ErrCertificate
	}
	if now.Before(c.NotBefore) || !now.Before(c.NotAfter) {
		return nil, fmt.Errorf("%w: outside its validity (%s to %s)", ErrCertificate,
			c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))
	}
	return c, nil
}
