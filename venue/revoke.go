package venue

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

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
	revoked map[string]bool // revocationKey(delegation, device ID)
}

// revocationKey keys revocations by (delegation, device): a delegation's
// root revokes only its own registration of a device key, never another
// delegation's.
func revocationKey(delegation, device string) string { return delegation + "\n" + device }

// refreshRevocationsLocked reads new entries of the revocations log.
func (v *Venue) refreshRevocationsLocked(ctx context.Context) error {
	_, err := v.readRevocationsLocked(ctx)
	return err
}

// readRevocationsLocked reads new entries of the revocations log and
// returns the devices they revoke.
func (v *Venue) readRevocationsLocked(ctx context.Context) ([]string, error) {
	rv := &v.revocations
	size, _, err := v.seq.size(ctx, revocationsLog)
	if err != nil {
		return nil, err
	}
	if size <= rv.size {
		return nil, nil
	}
	entries, err := v.store.ReadEntries(ctx, revocationsLog, rv.size, size)
	if err != nil {
		return nil, err
	}
	var ids []string
	if rv.revoked == nil {
		rv.revoked = map[string]bool{}
	}
	for i, e := range entries {
		r, err := delegation.PeekRevocation(e)
		if err != nil {
			return nil, fmt.Errorf("revocations entry %d: %w", rv.size+int64(i), err)
		}
		id := delegation.DeviceID(r.Device)
		rv.revoked[revocationKey(r.Delegation, id)] = true
		ids = append(ids, id)
	}
	rv.size = size
	return ids, nil
}

// peerRevoked applies revocations another node logged: it forgets the
// revoked devices' cached certificates and wakes every event stream, which
// ends if its device is revoked.
func (v *Venue) peerRevoked() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v.revocations.mu.Lock()
	ids, err := v.readRevocationsLocked(ctx)
	v.revocations.mu.Unlock()
	if err != nil {
		v.log.Warn("failed to read the revocations log", "err", err)
	}
	for _, id := range ids {
		v.forgetDevice(id)
	}
	v.hub.revocationsChanged()
}

// revoked reports whether a delegation revoked a device.
func (v *Venue) revoked(ctx context.Context, del, device string) (bool, error) {
	v.revocations.mu.Lock()
	defer v.revocations.mu.Unlock()
	if err := v.refreshRevocationsLocked(ctx); err != nil {
		return false, err
	}
	return v.revocations.revoked[revocationKey(del, device)], nil
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
	if v.revocations.revoked[revocationKey(rev.Delegation, id)] {
		writeError(w, http.StatusConflict, "this device is already revoked")
		return
	}
	if d, err := v.store.Device(ctx, id); err == nil && d.Delegation != rev.Delegation {
		writeError(w, http.StatusForbidden, "this device belongs to another delegation")
		return
	}
	idx, _, err := v.seq.append(ctx, revocationsLog, body, -1, true)
	if err != nil {
		v.writeErr(w, err)
		return
	}
	if err := v.refreshRevocationsLocked(ctx); err != nil && !errors.Is(err, context.Canceled) {
		v.log.Warn("failed to read back the revocations log", "err", err)
	}
	v.forgetDevice(id)
	v.hub.revocationsChanged() // open streams of the device end now
	v.log.Info("revoked device", "device", id, "delegation", rev.Delegation, "index", idx)
	writeJSON(w, http.StatusCreated, map[string]any{"index": idx, "device": id, "delegation": rev.Delegation})
}
