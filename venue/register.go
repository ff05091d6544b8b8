package venue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/good-offices/goodoffices/venue/api"
)

// RegisterRecord is the accreditation record ([api.RegisterRecord]).
type RegisterRecord = api.RegisterRecord

// ParseRegisterRecord parses a register entry strictly ([api.ParseRegisterRecord]).
func ParseRegisterRecord(entry []byte) (RegisterRecord, error) { return api.ParseRegisterRecord(entry) }

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
func (v *Venue) accredit(ctx context.Context, name, displayName, rootKey string) (RegisterRecord, error) {
	v.regMu.Lock()
	defer v.regMu.Unlock()
	if err := v.refreshRegisterLocked(ctx); err != nil {
		return RegisterRecord{}, err
	}
	if _, ok := v.register.byName[name]; ok {
		return RegisterRecord{}, errAccredited
	}
	r := RegisterRecord{Delegation: name, DisplayName: displayName, RootKey: rootKey, Time: time.Now().UTC().Truncate(time.Second)}
	idx, _, err := v.seq.append(ctx, registerLog, r.Marshal(), -1, true)
	if err != nil {
		return RegisterRecord{}, err
	}
	r.Index = idx
	if err := v.refreshRegisterLocked(ctx); err != nil {
		return RegisterRecord{}, err
	}
	return v.register.byName[name], nil
}
