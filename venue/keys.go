package venue

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/good-offices/goodoffices/delegation"
)

// File names inside the data directory.
const (
	KeyFile   = "venue.key"   // the venue's signing key, a signed-note private key
	AdminFile = "admin.token" // the host admin credential
	DBFile    = "venue.db"    // the embedded SQLite database
)

// adminPrefix starts every admin credential, so that a credential pasted in
// the wrong place is recognisable.
const adminPrefix = "goadmin-"

// venueKey is the venue's Ed25519 signing key and its note forms.
type venueKey struct {
	name   string
	priv   ed25519.PrivateKey
	signer note.Signer
	vkey   string
}

// loadOrCreateKey reads dir/venue.key, creating it with a new key named
// name on first start. An existing key keeps its own name.
func loadOrCreateKey(dir, name string) (*venueKey, bool, error) {
	path := filepath.Join(dir, KeyFile)
	data, err := os.ReadFile(path)
	created := false
	if errors.Is(err, os.ErrNotExist) {
		skey, _, err := note.GenerateKey(rand.Reader, name)
		if err != nil {
			return nil, false, fmt.Errorf("failed to generate venue key: %w", err)
		}
		if err := writeSecret(path, []byte(skey+"\n")); err != nil {
			return nil, false, err
		}
		data, created = []byte(skey+"\n"), true
	} else if err != nil {
		return nil, false, fmt.Errorf("failed to read venue key: %w", err)
	}
	skey := strings.TrimSuffix(string(data), "\n")
	// PRIVATE+KEY+<name>+<hash>+<base64(0x01 || seed)>
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return nil, false, errors.New("malformed venue key file")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return nil, false, errors.New("malformed venue key file")
	}
	priv := ed25519.NewKeyFromSeed(raw[1:])
	signer, err := delegation.NoteSigner(parts[2], priv)
	if err != nil {
		return nil, false, fmt.Errorf("failed to load venue key: %w", err)
	}
	vkey, err := note.NewEd25519VerifierKey(parts[2], priv.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, false, fmt.Errorf("failed to load venue key: %w", err)
	}
	return &venueKey{name: parts[2], priv: priv, signer: signer, vkey: vkey}, created, nil
}

// loadOrCreateAdmin reads dir/admin.token, creating it on first start.
func loadOrCreateAdmin(dir string) ([]byte, bool, error) {
	path := filepath.Join(dir, AdminFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		b := make([]byte, 32)
		rand.Read(b)
		tok := adminPrefix + base64.RawURLEncoding.EncodeToString(b)
		if err := writeSecret(path, []byte(tok+"\n")); err != nil {
			return nil, false, err
		}
		return []byte(tok), true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("failed to read admin credential: %w", err)
	}
	tok := bytes.TrimSpace(data)
	if !bytes.HasPrefix(tok, []byte(adminPrefix)) || len(tok) < len(adminPrefix)+32 {
		return nil, false, errors.New("malformed admin credential file")
	}
	return tok, false, nil
}

// writeSecret creates path exclusively, mode 0600, and syncs it.
func writeSecret(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("failed to create %s: %w", filepath.Base(path), err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("failed to write %s: %w", filepath.Base(path), err)
	}
	return nil
}

// isAdmin compares a presented credential with the admin's in constant time.
func (v *Venue) isAdmin(presented string) bool {
	return subtle.ConstantTimeCompare([]byte(presented), v.admin) == 1
}
