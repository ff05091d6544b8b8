package desk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/good-offices/goodoffices/tlog"
	"github.com/good-offices/goodoffices/venue/api"
	"github.com/good-offices/goodoffices/venue/client"
)

// Alarm kinds.
const (
	AlarmBadSignature = "bad-signature"   // a checkpoint not signed by the pinned venue key, or malformed
	AlarmRollback     = "rollback"        // a checkpoint smaller than one already accepted
	AlarmFork         = "fork"            // a checkpoint of the same size with another root hash
	AlarmInconsistent = "inconsistent"    // a larger checkpoint that does not extend the accepted one
	AlarmInclusion    = "inclusion"       // an entry that is not the one the checkpoint commits to
	AlarmMalformed    = "malformed-entry" // a verified entry that is not what the log may hold
	AlarmMember       = "member"          // a member whose credential does not chain to a confirmed root
	AlarmVenueKey     = "venue-key"       // the venue's identity changed
	AlarmHandover     = "handover"        // a hand-over whose keys do not open the logged entries, or that names entries not in the log
)

// AlarmKinds lists every kind of alarm a desk raises (the constants above
// and in cosign_confirm.go, eclipse.go, interpreters.go and recover.go), for
// interfaces that must name and explain each.
var AlarmKinds = []string{
	AlarmBadSignature, AlarmRollback, AlarmFork, AlarmInconsistent, AlarmInclusion, AlarmMalformed, AlarmMember, AlarmVenueKey, AlarmHandover,
	AlarmWithholding, AlarmFreeze, AlarmReplay, AlarmMembership, AlarmKeyPackage,
	AlarmStaleView, AlarmEclipse, AlarmWitnessConflict,
	AlarmInterpreter, AlarmRecovery,
}

// An Alarm is a verification failure: the venue (or someone it let in) may
// be cheating. Processing of the log stops until the delegate clears it; the
// evidence is kept as files in Evidence.
type Alarm struct {
	Log      string    `json:"log"`
	Kind     string    `json:"kind"`
	Detail   string    `json:"detail"`
	Index    int64     `json:"index,omitempty"` // the entry concerned, if any
	Time     time.Time `json:"time"`
	Evidence string    `json:"evidence,omitempty"` // directory with the evidence
	// Cleared, if set, says who cleared the alarm, when and why.
	Cleared *Clearance `json:"cleared,omitempty"`
}

func (a *Alarm) Error() string {
	s := fmt.Sprintf("log %s: %s: %s", a.Log, a.Kind, a.Detail)
	if a.Evidence != "" {
		s += " (evidence in " + a.Evidence + ")"
	}
	return s
}

// LogState is the desk's verified view of one log.
type LogState struct {
	Log        string    `json:"log"`
	Checkpoint []byte    `json:"checkpoint,omitempty"` // last accepted checkpoint note, as served
	Size       int64     `json:"size"`                 // its tree size
	Next       int64     `json:"next"`                 // index of the next entry to process
	Verified   time.Time `json:"verified,omitzero"`    // when Checkpoint was accepted
	Alarm      *Alarm    `json:"alarm,omitempty"`
	// Blocked says why entries are waiting (e.g. MLS unavailable); not an alarm.
	Blocked string `json:"blocked,omitempty"`
}

// Pending is the number of verified entries not yet processed.
func (s LogState) Pending() int64 { return s.Size - s.Next }

func (d *Desk) logState(ctx context.Context, q interface {
	Get(context.Context, string) ([]byte, error)
}, log string) (LogState, error) {
	b, err := q.Get(ctx, prefLog+log)
	if errors.Is(err, ErrNotFound) {
		return LogState{Log: log}, nil
	}
	if err != nil {
		return LogState{}, err
	}
	var st LogState
	if err := json.Unmarshal(b, &st); err != nil {
		return LogState{}, fmt.Errorf("failed to load state of log %s: %w", log, err)
	}
	return st, nil
}

func putLogState(ctx context.Context, tx *Tx, st LogState) error {
	b, _ := json.Marshal(st)
	return tx.Put(ctx, prefLog+st.Log, b)
}

// Logs returns the state of every log the desk has seen, register first.
func (d *Desk) Logs(ctx context.Context) ([]LogState, error) {
	kvs, err := d.store.List(ctx, prefLog, 0)
	if err != nil {
		return nil, err
	}
	var out []LogState
	for _, kv := range kvs {
		var st LogState
		if err := json.Unmarshal(kv.Value, &st); err != nil {
			return nil, fmt.Errorf("failed to load log state: %w", err)
		}
		if st.Log == RegisterLog {
			out = append([]LogState{st}, out...)
		} else {
			out = append(out, st)
		}
	}
	return out, nil
}

// recorder keeps what the venue served during one verification, as evidence.
type recorder struct {
	mu     sync.Mutex
	served map[string][]byte
	fetch  tlog.FetchFunc
}

func (r *recorder) Fetch(ctx context.Context, path string) ([]byte, error) {
	b, err := r.fetch(ctx, path)
	if err == nil {
		r.mu.Lock()
		if len(r.served) < 4096 {
			r.served[path] = b
		}
		r.mu.Unlock()
	}
	return b, err
}

func isTransient(err error) bool {
	var te *transientError
	return errors.As(err, &te) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// raise records an alarm for a log, halting it, and writes the evidence.
func (d *Desk) raise(ctx context.Context, a *Alarm, accepted []byte, rec *recorder, extra map[string][]byte) *Alarm {
	a.Time = time.Now().UTC()
	dir := filepath.Join(d.home, "evidence", fmt.Sprintf("%s-%s-%s", a.Log, a.Time.Format("20060102T150405.000000000Z"), a.Kind))
	files := map[string][]byte{}
	if accepted != nil {
		files["accepted.checkpoint"] = accepted
	}
	if rec != nil {
		rec.mu.Lock()
		for p, b := range rec.served {
			if p == "checkpoint" {
				files["served.checkpoint"] = b
			} else {
				files[filepath.Join("served", filepath.FromSlash(p))] = b
			}
		}
		rec.mu.Unlock()
	}
	for k, v := range extra {
		files[k] = v
	}
	d.addProof(a, files) // misbehaviour proof, when the evidence allows one (proof.go)
	if err := writeEvidence(dir, a, files); err != nil {
		d.log.Error("failed to write alarm evidence", "log", a.Log, "err", err)
	} else {
		a.Evidence = dir
	}
	d.log.Error("ALARM", "log", a.Log, "kind", a.Kind, "detail", a.Detail, "evidence", a.Evidence)
	err := d.store.Update(ctx, func(tx *Tx) error {
		st, err := d.logState(ctx, tx, a.Log)
		if err != nil {
			return err
		}
		if st.Alarm == nil {
			st.Alarm = a
		}
		if err := putLogState(ctx, tx, st); err != nil {
			return err
		}
		ab, _ := json.Marshal(a)
		return tx.Put(ctx, prefAlarm+a.Time.Format("20060102T150405.000000000Z")+"/"+a.Log, ab)
	})
	if err != nil {
		d.log.Error("failed to record alarm", "log", a.Log, "err", err)
	}
	return a
}

func writeEvidence(dir string, a *Alarm, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	aj, _ := json.MarshalIndent(a, "", "  ")
	files["alarm.json"] = append(aj, '\n')
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		if err := writeFileAtomic(p, b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// Alarms returns every alarm raised, oldest first.
func (d *Desk) Alarms(ctx context.Context) ([]Alarm, error) {
	kvs, err := d.store.List(ctx, prefAlarm, 0)
	if err != nil {
		return nil, err
	}
	out := make([]Alarm, 0, len(kvs))
	for _, kv := range kvs {
		var a Alarm
		if err := json.Unmarshal(kv.Value, &a); err != nil {
			return nil, fmt.Errorf("failed to load alarm: %w", err)
		}
		out = append(out, a)
	}
	return out, nil
}

func (d *Desk) origin(log string) string {
	switch log {
	case RegisterLog:
		return client.RegisterOrigin(d.venue.Name)
	case RevocationsLog:
		return client.RevocationsOrigin(d.venue.Name)
	}
	return client.ChannelOrigin(d.venue.Name, log)
}

// processFunc handles one verified entry inside the transaction that
// advances the log's cursor past it. Returning an *Alarm halts the log (the
// transaction is discarded and the alarm recorded); any other error leaves
// the entry pending.
type processFunc func(ctx context.Context, tx *Tx, index int64, entry []byte) error

// syncLogLocked verifies the log's latest checkpoint against the accepted
// one and processes every new entry in order after checking its inclusion,
// then updates the log's confirmation (cosign_confirm.go). d.mu must be
// held.
func (d *Desk) syncLogLocked(ctx context.Context, log string) error {
	return d.syncLogOpt(ctx, log, true)
}

// syncLogOpt is syncLogLocked; without confirm, it leaves the log's
// confirmation (handing over this desk's cosignature, fetching the
// others') to a later sync: Send does so before it encrypts, where only the
// log's entries matter, and while Run is live, which does it on the event
// of the entry sent. The checkpoint and its cosignature are stored all the
// same.
func (d *Desk) syncLogOpt(ctx context.Context, log string, confirm bool) error {
	if d.venue == nil {
		return ErrNotEnrolled
	}
	st, err := d.logState(ctx, d.store, log)
	if err != nil {
		return err
	}
	if st.Alarm != nil {
		return fmt.Errorf("%w: %w", ErrHalted, st.Alarm)
	}
	v, err := note.NewVerifier(d.venue.VerifierKey)
	if err != nil {
		return fmt.Errorf("failed to load venue key: %w", err)
	}
	rec := &recorder{served: map[string][]byte{}, fetch: d.api.fetcher(log)}
	client := tlog.NewClient(d.origin(log), v, rec.Fetch)

	cp, msg, err := client.Checkpoint(ctx)
	if err != nil {
		if isTransient(err) {
			return err
		}
		return d.raise(ctx, &Alarm{Log: log, Kind: AlarmBadSignature, Detail: "the checkpoint served does not verify with the venue's key"}, st.Checkpoint, rec, nil)
	}
	if st.Checkpoint != nil {
		old, err := tlog.ParseCheckpoint(checkpointBody(st.Checkpoint))
		if err != nil {
			return fmt.Errorf("failed to load accepted checkpoint of %s: %w", log, err)
		}
		switch {
		case cp.Size < old.Size:
			return d.raise(ctx, &Alarm{Log: log, Kind: AlarmRollback,
				Detail: fmt.Sprintf("the venue served a checkpoint of size %d after one of size %d was accepted", cp.Size, old.Size)}, st.Checkpoint, rec, nil)
		case cp.Size == old.Size && cp.Hash != old.Hash:
			return d.raise(ctx, &Alarm{Log: log, Kind: AlarmFork,
				Detail: fmt.Sprintf("two signed checkpoints of size %d with different root hashes", cp.Size)}, st.Checkpoint, rec, nil)
		}
		if err := client.VerifyConsistency(ctx, old, cp); err != nil {
			if isTransient(err) {
				return err
			}
			return d.raise(ctx, &Alarm{Log: log, Kind: AlarmInconsistent,
				Detail: fmt.Sprintf("the checkpoint of size %d does not extend the accepted one of size %d", cp.Size, old.Size)}, st.Checkpoint, rec, nil)
		}
	}
	// accept records cp as accepted, with this desk's cosignature of it.
	// When there are new entries, it is done in the transaction that
	// processes the first of them (one durable write less per entry
	// received); that entry's inclusion in cp is checked before.
	accept := func(tx *Tx) error {
		cur, err := d.logState(ctx, tx, log)
		if err != nil {
			return err
		}
		cur.Checkpoint, cur.Size, cur.Verified = msg, cp.Size, time.Now().UTC()
		if err := putLogState(ctx, tx, cur); err != nil {
			return err
		}
		cs, err := d.cosign(msg)
		if err != nil {
			return err
		}
		return tx.Put(ctx, prefCosig+log, cs)
	}
	pendingAccept := cp.Size > st.Size || st.Checkpoint == nil
	if pendingAccept && st.Next >= cp.Size {
		if err := d.store.Update(ctx, accept); err != nil {
			return err
		}
		pendingAccept = false
		if st, err = d.logState(ctx, d.store, log); err != nil {
			return err
		}
	}
	proc := d.processor(log)
	d.progress.begin(log, cp.Size-st.Next)
	defer d.progress.end()
	for st.Next < cp.Size {
		end := min(cp.Size, (st.Next/tlog.TileWidth+1)*tlog.TileWidth)
		entries, err := client.Entries(ctx, cp, st.Next, end)
		if err != nil && pendingAccept {
			// cp itself verified: accept it as when it is accepted first.
			if aerr := d.store.Update(ctx, accept); aerr != nil {
				return aerr
			}
			pendingAccept = false
			var aerr error
			if st, aerr = d.logState(ctx, d.store, log); aerr != nil {
				return aerr
			}
		}
		if err != nil {
			if isTransient(err) {
				return err
			}
			return d.raise(ctx, &Alarm{Log: log, Kind: AlarmInclusion, Index: st.Next,
				Detail: fmt.Sprintf("entries from %d are not the ones the checkpoint of size %d commits to", st.Next, cp.Size)}, st.Checkpoint, rec, nil)
		}
		// The entries of a tile are processed in one transaction (one
		// durable write for up to 256 entries). If one of them fails, the
		// whole batch is discarded and processed again one entry per
		// transaction below, which keeps the entries before the failing one
		// and halts or blocks at it exactly as it always did.
		if len(entries) > 1 {
			batched := st
			accepting := pendingAccept
			err := d.store.Update(ctx, func(tx *Tx) error {
				tx.deferGroups = true // written once for the batch
				if accepting {
					if err := accept(tx); err != nil {
						return err
					}
				}
				cur, err := d.logState(ctx, tx, log)
				if err != nil {
					return err
				}
				if cur.Next != st.Next {
					return fmt.Errorf("failed to process %s: cursor moved", log)
				}
				for _, e := range entries {
					if err := proc(ctx, tx, cur.Next, e); err != nil {
						return err
					}
					cur.Next, cur.Blocked = cur.Next+1, ""
				}
				batched = cur
				return putLogState(ctx, tx, cur)
			})
			if err == nil {
				st, pendingAccept = batched, false
				d.progress.add(log, int64(len(entries)))
				continue
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		for i, e := range entries {
			idx := st.Next
			var alarm *Alarm
			accepting := pendingAccept
			var first func(*Tx) error
			if accepting {
				first = accept
			}
			err := d.processEntry(ctx, log, idx, e, proc, first, &st)
			if errors.As(err, &alarm) {
				alarm.Log, alarm.Index = log, idx
				if accepting {
					// The entry is halted, not its checkpoint, which
					// verified: accept it as before.
					d.store.Update(ctx, accept)
					st, _ = d.logState(ctx, d.store, log)
				}
				return d.raise(ctx, alarm, st.Checkpoint, nil, map[string][]byte{
					fmt.Sprintf("entry-%d", idx): e,
					"checkpoint":                 msg,
				})
			}
			if err != nil {
				if accepting {
					if aerr := d.store.Update(ctx, accept); aerr != nil {
						return aerr
					}
				}
				d.setBlocked(ctx, log, err)
				return fmt.Errorf("entry %d of %s: %w", idx, log, err)
			}
			pendingAccept = false
			d.progress.add(log, 1)
			_ = i
		}
	}
	if !confirm {
		return nil
	}
	return d.afterCheckpointLocked(ctx, log, cp, msg, client, rec.Fetch) // confirmation (cosign_confirm.go)
}

// processEntry processes entry idx of log (proc) in one transaction that
// advances the log's cursor past it, after first if not nil; on success,
// *st is the log's state after it.
func (d *Desk) processEntry(ctx context.Context, log string, idx int64, e []byte, proc processFunc, first func(*Tx) error, st *LogState) error {
	return d.store.Update(ctx, func(tx *Tx) error {
		if first != nil {
			if err := first(tx); err != nil {
				return err
			}
		}
		cur, err := d.logState(ctx, tx, log)
		if err != nil {
			return err
		}
		if cur.Next != idx {
			return fmt.Errorf("failed to process %s: cursor moved", log)
		}
		if err := proc(ctx, tx, idx, e); err != nil {
			return err
		}
		cur.Next, cur.Blocked = idx+1, ""
		*st = cur
		return putLogState(ctx, tx, cur)
	})
}

func (d *Desk) setBlocked(ctx context.Context, log string, cause error) {
	d.store.Update(ctx, func(tx *Tx) error {
		cur, err := d.logState(ctx, tx, log)
		if err != nil {
			return err
		}
		cur.Blocked = cause.Error()
		return putLogState(ctx, tx, cur)
	})
}

// checkpointBody returns the text of a signed note (everything up to the
// blank line before the signatures).
func checkpointBody(msg []byte) []byte {
	s := string(msg)
	if i := strings.Index(s, "\n\n"); i >= 0 {
		return []byte(s[:i+1])
	}
	return msg
}

// processor returns the processing function for a log.
func (d *Desk) processor(log string) processFunc {
	switch log {
	case RegisterLog:
		return d.processRegister
	case RevocationsLog:
		return d.processRevocation
	}
	return d.channelProcessor(log)
}

// processRegister records an accreditation. The first record for a name
// wins, as the venue itself reads the register.
func (d *Desk) processRegister(ctx context.Context, tx *Tx, index int64, entry []byte) error {
	rec, err := api.ParseRegisterRecord(entry)
	if err != nil {
		return &Alarm{Kind: AlarmMalformed, Detail: "the register holds an entry that is not an accreditation record"}
	}
	if _, err := tx.Get(ctx, prefParty+rec.Delegation); err == nil {
		return nil
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	p := Party{Name: rec.Delegation, DisplayName: rec.DisplayName, RootKey: rec.RootKey, Fingerprint: rec.Fingerprint(), RegisterIndex: index, Accredited: rec.Time}
	pj, _ := json.Marshal(p)
	return tx.Put(ctx, prefParty+p.Name, pj)
}

// ClearAlarm is ClearAlarmBecause without a reason.
func (d *Desk) ClearAlarm(ctx context.Context, log string) error {
	return d.ClearAlarmBecause(ctx, log, "")
}

// A Clearance records that a delegate cleared an alarm: who, when and why.
// The alarm and its evidence are kept.
type Clearance struct {
	Person     string    `json:"person"`
	Delegation string    `json:"delegation"`
	Device     string    `json:"device"`
	Time       time.Time `json:"time"`
	Reason     string    `json:"reason,omitempty"`
}

// ClearAlarmBecause lifts the halt on a log after the delegate has dealt
// with the alarm, and marks every alarm of the log not cleared yet as
// cleared by this desk's delegate, now, for reason. The alarms and their
// evidence are kept. The accepted checkpoint is kept too, so a venue that
// keeps serving the same bad data raises the alarm again: the way forward
// from a fork is a fresh channel (Recover).
func (d *Desk) ClearAlarmBecause(ctx context.Context, log, reason string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	kvs, err := d.store.List(ctx, prefAlarm, 0)
	if err != nil {
		return err
	}
	c := &Clearance{Person: d.profile.Person, Delegation: d.profile.Delegation, Device: d.DeviceID(), Time: time.Now().UTC(), Reason: reason}
	return d.store.Update(ctx, func(tx *Tx) error {
		for _, kv := range kvs {
			var a Alarm
			if err := json.Unmarshal(kv.Value, &a); err != nil {
				return fmt.Errorf("failed to load alarm: %w", err)
			}
			if a.Log != log || a.Cleared != nil {
				continue
			}
			a.Cleared = c
			b, _ := json.Marshal(a)
			if err := tx.Put(ctx, kv.Key, b); err != nil {
				return err
			}
		}
		st, err := d.logState(ctx, tx, log)
		if err != nil {
			return err
		}
		st.Alarm = nil
		return putLogState(ctx, tx, st)
	})
}
