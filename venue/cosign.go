package venue

// Cosignatures: the parties' desks cosign the checkpoints they verified
// (c2sp.org/tlog-cosignature) and hand the cosignatures to the venue, which
// keeps them and serves every checkpoint with the cosignatures it holds.
//
// # Who cosigns, with which key
//
// A cosigner is a party's device, with its certified device key: the
// cosigner (signed-note key) name is [CosignerName](delegation, device ID)
// and the key is the Ed25519 key of the device certificate that the
// delegation's root signed. No new key or ceremony is needed for the root
// held offline, and a verifier checks a cosignature with what it already
// trusts: the root and the certificate. cosignature/v1 signs messages that
// begin "cosignature/v1\n", which no other use of the device key produces
// (MLS signs TLS-encoded "MLS 1.0 ..." labels, venue authentication signs
// "goodoffices device auth v1\n..."), so the uses cannot be confused.
//
// # Endpoints
//
//	POST /logs/{log}/cosignatures   device (member)   body: cosigned checkpoint note -> {"log","size","cosigner"}
//	GET  /logs/{log}/cosignatures[?size=N]   member (register: public) -> {"log","checkpoints":[note...],"cosigners":[{"name","certificate"}]}
//
// The POST has the meaning of c2sp.org/tlog-witness add-checkpoint with the
// roles turned around: in tlog-witness the log asks a witness to cosign; in
// Good Offices the witness is the party's desk, which fetches and verifies
// the checkpoint itself and then pushes its cosignature. The body is the
// checkpoint note exactly as the venue served it (the venue's signature
// line) followed by one cosignature line of the calling device. The venue
// accepts it only if the venue's own signature verifies, the checkpoint is
// the one it signed for that size of that log (a desk that was shown a
// different one gets 409 Conflict: that is a fork, which the desk proves
// with package proof), and the cosignature verifies with the caller's
// certified key. Nothing else is accepted: no foreign signature lines.
//
// The GET returns, for each cosigner, the latest checkpoint it cosigned; a
// checkpoint cosigned by several cosigners is served once with all their
// lines. With ?size=N it serves the checkpoint of that size with every
// cosignature of it the venue still holds (older ones are dropped when the
// queue is compacted). The certificates let a desk check each cosignature against the
// delegation roots it confirmed out of band; the venue's say-so counts for
// nothing.
//
// # Storage
//
// Cosignature records are kept with the store's ordered per-key queue (the
// mailbox primitive, [store.Store.PutMail]) under the reserved key
// "~cosign/<log>", which is never a device ID. So every store driver (SQLite,
// PostgreSQL shared by many nodes) keeps them without a schema change. The
// queue is compacted to the latest record per cosigner when it grows. A
// lost record is harmless: desks cosign again when they do not see their own
// cosignature served.
//
// # Push
//
// Storing a cosignature wakes the event streams (events.go) of the devices
// that follow the log, which deliver a "cosign" event per record, so desks
// learn of the others' cosignatures at once instead of at their next
// resync. On several nodes the store's mail notice for the queue's key
// (package venue/fanout) wakes the streams of the other nodes. A record is
//
//	<size>\n<cosignature line>\n[<ID of the original record>\n]
//
// the last line only in records that compaction wrote again, so that a
// stream does not deliver a cosignature twice.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/good-offices/goodoffices/tlog"
	"github.com/good-offices/goodoffices/venue/api"
	"github.com/good-offices/goodoffices/venue/store"
)

// cosignQueuePrefix prefixes the store queue of a log's cosignatures.
const cosignQueuePrefix = "~cosign/"

// maxCosignBody bounds a cosigned checkpoint sent to the venue: the
// checkpoint, the venue's line and one cosignature line.
const maxCosignBody = 4 << 10

// maxCosigners bounds the cosigners served for one log.
const maxCosigners = 1024

// CosignerName is [api.CosignerName].
func CosignerName(delegationName, deviceID string) string {
	return api.CosignerName(delegationName, deviceID)
}

// Cosignatures is the answer of GET /logs/{log}/cosignatures ([api.Cosignatures]).
type Cosignatures = api.Cosignatures

// A Cosigner is a device whose cosignatures a log holds ([api.Cosigner]).
type Cosigner = api.Cosigner

// cosignRecord is one stored cosignature: the size it covers and its note
// signature line (without the trailing newline).
type cosignRecord struct {
	id   int64
	orig int64 // the first record of this cosignature, if compaction wrote it again
	size int64
	name string
	line string
}

var cosignCompact sync.Mutex

func (v *Venue) mountCosignatures() {
	v.Mount("POST /logs/{log}/cosignatures", v.authorize(deviceOnly, v.handleAddCosignature))
	v.Mount("GET /logs/{log}/cosignatures", v.authorize(public, v.handleCosignatures))
}

func (v *Venue) handleAddCosignature(w http.ResponseWriter, r *http.Request, p principal) {
	log := r.PathValue("log")
	if !v.canAccessLog(w, r, p, log) {
		return
	}
	if !v.limiter.allow(p.device, time.Now()) {
		writeError(w, http.StatusTooManyRequests, "rate limit exceeded")
		return
	}
	body, ok := readBody(w, r, maxCosignBody)
	if !ok {
		return
	}
	name := CosignerName(p.delegation, p.device)
	ckey, err := tlog.CosignatureVerifierKey(name, p.key)
	if err != nil {
		writeError(w, http.StatusBadRequest, "this device cannot cosign: "+err.Error())
		return
	}
	cv, err := tlog.NewCosignatureVerifier(ckey)
	if err != nil {
		v.writeErr(w, err)
		return
	}
	vv, err := note.NewVerifier(v.key.vkey)
	if err != nil {
		v.writeErr(w, err)
		return
	}
	n, err := note.Open(body, note.VerifierList(vv, cv))
	if err != nil {
		writeError(w, http.StatusBadRequest, "want a checkpoint note signed by this venue and cosigned (cosignature/v1) by the calling device "+name)
		return
	}
	var line string
	venueSigned := false
	for _, s := range n.Sigs {
		switch s.Name {
		case v.key.name:
			venueSigned = true
		case name:
			line = "— " + s.Name + " " + s.Base64
		}
	}
	if !venueSigned || line == "" || len(n.UnverifiedSigs) > 0 {
		writeError(w, http.StatusBadRequest, "want exactly the venue's signature and the calling device's cosignature")
		return
	}
	cp, err := tlog.ParseCheckpoint([]byte(n.Text))
	if err != nil || cp.Origin != v.origin(log) || cp.Size < 1 {
		writeError(w, http.StatusBadRequest, "not a non-empty checkpoint of log "+log)
		return
	}
	ctx := r.Context()
	stored, err := v.store.CheckpointAt(ctx, log, cp.Size)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusConflict, fmt.Sprintf("this venue signed no checkpoint of size %d of %s", cp.Size, log))
		return
	} else if err != nil {
		v.writeErr(w, &errStore{err})
		return
	}
	if sn, err := note.Open(stored, note.VerifierList(vv)); err != nil || sn.Text != n.Text {
		writeError(w, http.StatusConflict, fmt.Sprintf("this is not the checkpoint of size %d this venue signed for %s", cp.Size, log))
		return
	}
	// A served checkpoint may not be durable yet (integrate.go, "Lazy
	// checkpoints"): make it so before a cosignature of it is kept, or a
	// crash could leave a cosignature whose checkpoint is gone.
	if err := v.store.AddCheckpoints(ctx, []store.SignedCheckpoint{{Log: log, Size: cp.Size, Note: stored}}); err != nil {
		v.writeErr(w, &errStore{err})
		return
	}
	rec := fmt.Appendf(nil, "%d\n%s\n", cp.Size, line)
	if _, err := v.store.PutMail(ctx, cosignQueuePrefix+log, rec); err != nil {
		v.writeErr(w, &errStore{err})
		return
	}
	v.hub.cosignedLog(log)
	v.compactCosignatures(ctx, log)
	writeJSON(w, http.StatusOK, map[string]any{"log": log, "size": cp.Size, "cosigner": name})
}

// readCosignatures returns the latest record of each cosigner of log (of
// size only, if size > 0), and how many records the queue holds.
func (v *Venue) readCosignatures(ctx context.Context, log string, size int64) (map[string]cosignRecord, int, int64, error) {
	latest := map[string]cosignRecord{}
	n, after := 0, int64(0)
	for {
		ms, err := v.store.Mail(ctx, cosignQueuePrefix+log, after, 1000)
		if err != nil {
			return nil, 0, 0, err
		}
		for _, m := range ms {
			after = m.ID
			n++
			rec, ok := parseCosignRecord(m.Data)
			if !ok {
				continue
			}
			rec.id = m.ID
			if size > 0 && rec.size != size {
				continue
			}
			if old, ok := latest[rec.name]; !ok || rec.size >= old.size {
				latest[rec.name] = rec
			}
		}
		if len(ms) < 1000 {
			return latest, n, after, nil
		}
	}
}

func parseCosignRecord(b []byte) (cosignRecord, bool) {
	s, line, ok := strings.Cut(strings.TrimSuffix(string(b), "\n"), "\n")
	if !ok {
		return cosignRecord{}, false
	}
	var orig int64
	if l, o, ok := strings.Cut(line, "\n"); ok {
		n, err := strconv.ParseInt(o, 10, 64)
		if err != nil || n < 1 {
			return cosignRecord{}, false
		}
		line, orig = l, n
	}
	size, err := strconv.ParseInt(s, 10, 64)
	rest, ok := strings.CutPrefix(line, "— ")
	name, _, ok2 := strings.Cut(rest, " ")
	if err != nil || !ok || !ok2 {
		return cosignRecord{}, false
	}
	return cosignRecord{orig: orig, size: size, name: name, line: line}, true
}

// compactCosignatures rewrites the queue of log down to the latest record
// per cosigner once it holds many more. Latest records are written again
// before the old ones are deleted, so a crash loses nothing.
func (v *Venue) compactCosignatures(ctx context.Context, log string) {
	cosignCompact.Lock()
	defer cosignCompact.Unlock()
	latest, n, last, err := v.readCosignatures(ctx, log, 0)
	if err != nil || n <= 2*len(latest)+16 {
		return
	}
	recs := make([]cosignRecord, 0, len(latest))
	for _, r := range latest {
		recs = append(recs, r)
	}
	slices.SortFunc(recs, func(a, b cosignRecord) int { return int(a.id - b.id) })
	for _, r := range recs {
		orig := r.orig
		if orig == 0 {
			orig = r.id
		}
		if _, err := v.store.PutMail(ctx, cosignQueuePrefix+log, fmt.Appendf(nil, "%d\n%s\n%d\n", r.size, r.line, orig)); err != nil {
			return
		}
	}
	if err := v.store.DeleteMail(ctx, cosignQueuePrefix+log, last); err != nil {
		v.log.Warn("failed to compact cosignatures", "log", log, "err", err)
	}
}

func (v *Venue) handleCosignatures(w http.ResponseWriter, r *http.Request, p principal) {
	log := r.PathValue("log")
	if !v.canAccessLog(w, r, p, log) {
		return
	}
	var size int64
	if q := r.URL.Query().Get("size"); q != "" {
		n, err := strconv.ParseInt(q, 10, 64)
		if err != nil || n < 1 || strconv.FormatInt(n, 10) != q {
			writeError(w, http.StatusBadRequest, "size: a canonical positive decimal tree size")
			return
		}
		size = n
	}
	ctx := r.Context()
	latest, _, _, err := v.readCosignatures(ctx, log, size)
	if err != nil {
		v.writeErr(w, &errStore{err})
		return
	}
	bySize := map[int64][]cosignRecord{}
	out := Cosignatures{Log: log, Checkpoints: []string{}, Cosigners: []Cosigner{}}
	names := make([]string, 0, len(latest))
	for name := range latest {
		names = append(names, name)
	}
	slices.Sort(names)
	if len(names) > maxCosigners {
		names = names[:maxCosigners]
	}
	for _, name := range names {
		rec := latest[name]
		_, id, ok := api.ParseCosignerName(name)
		if !ok {
			continue
		}
		d, err := v.store.Device(ctx, id)
		if err != nil {
			continue
		}
		bySize[rec.size] = append(bySize[rec.size], rec)
		out.Cosigners = append(out.Cosigners, Cosigner{Name: name, Certificate: string(d.Certificate)})
	}
	sizes := make([]int64, 0, len(bySize))
	for s := range bySize {
		sizes = append(sizes, s)
	}
	slices.Sort(sizes)
	for _, s := range sizes {
		cp, err := v.store.CheckpointAt(ctx, log, s)
		if err != nil {
			continue
		}
		var b strings.Builder
		b.Write(cp)
		for _, rec := range bySize[s] {
			b.WriteString(rec.line)
			b.WriteByte('\n')
		}
		out.Checkpoints = append(out.Checkpoints, b.String())
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}
