package venue

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/good-offices/goodoffices/delegation"
)

// A RegisterRecord is one entry of the accreditation register.
type RegisterRecord struct {
	Delegation string    `json:"name"`
	RootKey    string    `json:"root_key"` // signed-note verifier key
	Time       time.Time `json:"time"`
	Index      int64     `json:"index"` // position in the register log
}

// Fingerprint returns the root key's human-comparable fingerprint.
func (r RegisterRecord) Fingerprint() string { return delegation.Fingerprint(r.RootKey) }

const recordHeader = "goodoffices accreditation v1"

// Marshal returns the record as logged.
func (r RegisterRecord) Marshal() []byte {
	return fmt.Appendf(nil, "%s\ndelegation %s\nroot %s\ntime %s\n", recordHeader, r.Delegation, r.RootKey, r.Time.UTC().Format(time.RFC3339))
}

// ParseRegisterRecord parses a register entry strictly. Index is left zero.
func ParseRegisterRecord(entry []byte) (RegisterRecord, error) {
	bad := errors.New("malformed accreditation record")
	if len(entry) > 1024 {
		return RegisterRecord{}, bad
	}
	lines := strings.Split(string(entry), "\n")
	if len(lines) != 5 || lines[0] != recordHeader || lines[4] != "" {
		return RegisterRecord{}, bad
	}
	name, ok1 := strings.CutPrefix(lines[1], "delegation ")
	root, ok2 := strings.CutPrefix(lines[2], "root ")
	ts, ok3 := strings.CutPrefix(lines[3], "time ")
	if !ok1 || !ok2 || !ok3 || !delegation.ValidName(name) {
		return RegisterRecord{}, bad
	}
	if err := checkRootKey(name, root); err != nil {
		return RegisterRecord{}, err
	}
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		return RegisterRecord{}, bad
	}
	r := RegisterRecord{Delegation: name, RootKey: root, Time: t}
	if !bytes.Equal(r.Marshal(), entry) {
		return RegisterRecord{}, bad
	}
	return r, nil
}

// checkRootKey checks that vkey is an Ed25519 signed-note verifier key named
// after the delegation.
func checkRootKey(name, vkey string) error {
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

// registerView is the venue's view of the register, derived from its log.
type registerView struct {
	size   int64
	byName map[string]RegisterRecord
	list   []RegisterRecord
}

// refreshRegister reads new register entries. Caller holds regMu.
func (v *Venue) refreshRegisterLocked(ctx context.Context) error {
	size, _, err := v.seq.size(ctx, registerLog)
	if err != nil {
		return err
	}
	if size <= v.register.size {
		return nil
	}
	entries, err := v.store.ReadEntries(ctx, registerLog, v.register.size, size)
	if err != nil {
		return err
	}
	for i, e := range entries {
		r, err := ParseRegisterRecord(e)
		if err != nil {
			return fmt.Errorf("register entry %d: %w", v.register.size+int64(i), err)
		}
		r.Index = v.register.size + int64(i)
		if _, dup := v.register.byName[r.Delegation]; dup {
			continue // the first record for a name wins
		}
		v.register.byName[r.Delegation] = r
		v.register.list = append(v.register.list, r)
	}
	v.register.size = size
	return nil
}

// delegationRecord returns the accreditation of a delegation.
func (v *Venue) delegationRecord(ctx context.Context, name string) (RegisterRecord, bool, error) {
	v.regMu.Lock()
	defer v.regMu.Unlock()
	r, ok := v.register.byName[name]
	if ok {
		return r, true, nil
	}
	if err := v.refreshRegisterLocked(ctx); err != nil {
		return RegisterRecord{}, false, err
	}
	r, ok = v.register.byName[name]
	return r, ok, nil
}

// delegations returns every accredited delegation in register order.
func (v *Venue) delegations(ctx context.Context) ([]RegisterRecord, error) {
	v.regMu.Lock()
	defer v.regMu.Unlock()
	if err := v.refreshRegisterLocked(ctx); err != nil {
		return nil, err
	}
	return append([]RegisterRecord(nil), v.register.list...), nil
}

var errAccredited = errors.New("delegation already accredited")

// accredit appends an accreditation record to the register.
func (v *Venue) accredit(ctx context.Context, name, rootKey string) (RegisterRecord, error) {
	v.regMu.Lock()
	defer v.regMu.Unlock()
	if err := v.refreshRegisterLocked(ctx); err != nil {
		return RegisterRecord{}, err
	}
	if _, ok := v.register.byName[name]; ok {
		return RegisterRecord{}, errAccredited
	}
	r := RegisterRecord{Delegation: name, RootKey: rootKey, Time: time.Now().UTC().Truncate(time.Second)}
	idx, _, err := v.seq.append(ctx, registerLog, r.Marshal(), -1)
	if err != nil {
		return RegisterRecord{}, err
	}
	r.Index = idx
	if err := v.refreshRegisterLocked(ctx); err != nil {
		return RegisterRecord{}, err
	}
	return v.register.byName[name], nil
}
