package venue

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/good-offices/goodoffices/delegation"
)

// Device revocations (package delegation, Revocation) are logged in the
// public log "revocations", origin "<venue name>/revocations"; each entry is
// a revocation note exactly as the delegation's root signed it. The venue
// derives the set of revoked devices from that log, refuses them from then
// on (registration, tokens, every request), and anyone can check which
// devices a delegation revoked, and when.

// revocationView is the venue's view of the revocations log.
type revocationView struct {
	mu      sync.Mutex
	size    int64
	revoked map[string]bool // device IDs
}

// refreshRevocationsLocked reads new entries of the revocations log.
func (v *Venue) refreshRevocationsLocked(ctx context.Context) error {
	rv := &v.revocations
	size, _, err := v.seq.size(ctx, revocationsLog)
	if err != nil {
		return err
	}
	if size <= rv.size {
		return nil
	}
	entries, err := v.store.ReadEntries(ctx, revocationsLog, rv.size, size)
	if err != nil {
		return err
	}
	if rv.revoked == nil {
		rv.revoked = map[string]bool{}
	}
	for i, e := range entries {
		r, err := delegation.PeekRevocation(e)
		if err != nil {
			return fmt.Errorf("revocations entry %d: %w", rv.size+int64(i), err)
		}
		rv.revoked[delegation.DeviceID(r.Device)] = true
	}
	rv.size = size
	return nil
}

// revoked reports whether a device was revoked.
func (v *Venue) revoked(ctx context.Context, device string) (bool, error) {
	v.revocations.mu.Lock()
	defer v.revocations.mu.Unlock()
	if err := v.refreshRevocationsLocked(ctx); err != nil {
		return false, err
	}
	return v.revocations.revoked[device], nil
}

// handleRevoke logs a revocation signed by a delegation's accredited root.
// Anyone may submit one: only the root can sign it.
func (v *Venue) handleRevoke(w http.ResponseWriter, r *http.Request, _ principal) {
	body, ok := readBody(w, r, delegation.MaxCertificateSize)
	if !ok {
		return
	}
	peek, err := delegation.PeekRevocation(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "malformed device revocation")
		return
	}
	rec, ok, err := v.delegationRecord(r.Context(), peek.Delegation)
	if err != nil {
		v.writeErr(w, &errStore{err})
		return
	}
	if !ok {
		writeError(w, http.StatusForbidden, "delegation "+peek.Delegation+" is not accredited")
		return
	}
	rev, err := delegation.VerifyRevocation(body, rec.RootKey)
	if err != nil {
		writeError(w, http.StatusForbidden, "revocation not signed by the accredited root of "+peek.Delegation)
		return
	}
	id := delegation.DeviceID(rev.Device)
	ctx := r.Context()
	v.revocations.mu.Lock()
	defer v.revocations.mu.Unlock()
	if err := v.refreshRevocationsLocked(ctx); err != nil {
		v.writeErr(w, &errStore{err})
		return
	}
	if v.revocations.revoked[id] {
		writeError(w, http.StatusConflict, "this device is already revoked")
		return
	}
	if d, err := v.store.Device(ctx, id); err == nil && d.Delegation != rev.Delegation {
		writeError(w, http.StatusForbidden, "this device belongs to another delegation")
		return
	}
	idx, _, err := v.seq.append(ctx, revocationsLog, body, -1)
	if err != nil {
		v.writeErr(w, err)
		return
	}
	if err := v.refreshRevocationsLocked(ctx); err != nil && !errors.Is(err, context.Canceled) {
		v.log.Warn("failed to read back the revocations log", "err", err)
	}
	v.forgetDevice(id)
	v.log.Info("revoked device", "device", id, "delegation", rev.Delegation, "index", idx)
	writeJSON(w, http.StatusCreated, map[string]any{"index": idx, "device": id, "delegation": rev.Delegation})
}
