package venue

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Storage quotas (see SECURITY.md for the table of limits):
//
//   - a mailbox holds at most Config.MailboxMessages messages and
//     Config.MailboxBytes bytes; mail to a full mailbox is refused with 507
//     (the sender learns it at once). Mail nobody fetched expires after
//     Config.MailTTL, oldest first.
//   - a device claims at most Config.ClaimBurst key packages per
//     Config.ClaimWindow (a token bucket refilled evenly over the window);
//     past it the claim gets 429.
//   - the venue refuses every request that stores something (POST and PUT,
//     except revocations and authentication) with 507 while the file system
//     of its data directory has less than Config.MinFree bytes available,
//     so that the disk never fills under an acknowledged append.

// Defaults of the quotas.
const (
	DefaultMailboxMessages = 1000
	DefaultMailboxBytes    = 64 << 20
	DefaultMailTTL         = 30 * 24 * time.Hour
	DefaultClaimBurst      = 100
	DefaultClaimWindow     = 10 * time.Minute
	DefaultMinFree         = 256 << 20
)

// diskCheckEvery is how long a free-space reading is reused.
const diskCheckEvery = time.Second

// diskWatch caches the free space of the data directory's file system.
type diskWatch struct {
	mu   sync.Mutex
	at   time.Time
	free int64 // -1: unknown
}

// diskLow reports whether the data directory's file system has less than
// MinFree bytes available, and how many it has.
func (v *Venue) diskLow() (bool, int64) {
	if v.cfg.MinFree < 0 {
		return false, -1
	}
	d := &v.disk
	d.mu.Lock()
	defer d.mu.Unlock()
	if now := time.Now(); now.Sub(d.at) >= diskCheckEvery {
		d.free, d.at = v.cfg.FreeSpace(v.cfg.DataDir), now
	}
	return d.free >= 0 && d.free < v.cfg.MinFree, d.free
}

// storesData reports whether a request may store something the disk
// watermark must stop: POST and PUT, except revocations (which must never
// be refused for space) and authentication (which stores a nonce).
func storesData(r *http.Request) bool {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		return false
	}
	return r.URL.Path != "/v1/revocations" && !strings.HasPrefix(r.URL.Path, "/v1/auth/")
}

// refuseIfDiskLow answers 507 and returns true if the disk is low and r
// would store something.
func (v *Venue) refuseIfDiskLow(w http.ResponseWriter, r *http.Request) bool {
	if !storesData(r) {
		return false
	}
	low, free := v.diskLow()
	if !low {
		return false
	}
	v.log.Warn("refusing a write: disk space below the watermark", "free", free, "min_free", v.cfg.MinFree)
	writeError(w, http.StatusInsufficientStorage, "the venue is low on disk space and accepts no new data for now")
	return true
}

// checkMailbox answers 507 and returns false if mail of n bytes would put
// device's mailbox over its quota.
func (v *Venue) checkMailbox(ctx context.Context, w http.ResponseWriter, device string, n int) bool {
	count, bytes, err := v.store.MailUsage(ctx, device)
	if err != nil {
		v.writeErr(w, &errStore{err})
		return false
	}
	if count+1 > v.cfg.MailboxMessages || bytes+int64(n) > v.cfg.MailboxBytes {
		writeError(w, http.StatusInsufficientStorage, fmt.Sprintf("the recipient's mailbox is full (%d messages, %d bytes; quota %d messages, %d bytes): it must fetch its mail first",
			count, bytes, v.cfg.MailboxMessages, v.cfg.MailboxBytes))
		return false
	}
	return true
}

// expireMail removes mail older than MailTTL now and then, until shutdown.
func (v *Venue) expireMail() {
	every := min(time.Hour, max(time.Second, v.cfg.MailTTL/4))
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		n, err := v.store.ExpireMail(ctx, time.Now().Add(-v.cfg.MailTTL))
		cancel()
		if err != nil {
			v.log.Warn("failed to expire old mail", "err", err)
		} else if n > 0 {
			v.log.Info("expired mail nobody fetched", "messages", n, "ttl", v.cfg.MailTTL)
		}
		select {
		case <-v.shutdown:
			return
		case <-t.C:
		}
	}
}
