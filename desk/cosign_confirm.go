package desk

// Confirmation: what makes a fork visible.
//
// After the desk has verified a log's checkpoint (the venue's signature,
// consistency with the checkpoint it accepted before, inclusion of every
// entry it processed), it hands its cosignature of the checkpoint (cosign.go:
// c2sp.org/tlog-cosignature with the certified device key, cosigner name
// api.CosignerName) to the venue. It then fetches the cosigned
// checkpoints the venue holds and checks each one itself:
//
//   - the venue's signature, and each cosignature against the device
//     certificate served with it, which must chain to a delegation root that
//     this delegate confirmed out of band (the venue cannot make up a
//     cosigner);
//   - consistency with the desk's own accepted checkpoint, in whichever
//     direction the sizes go. Two venue-signed checkpoints that are not
//     consistent are a fork: the desk raises AlarmFork, halts the log and
//     exports a proof (package proof) that anyone can verify offline with
//     'goodoffices verify'.
//
// An entry is confirmed when every member delegation of the channel (for
// the public logs: every delegation this delegate confirmed) has cosigned a checkpoint that
// covers it and is consistent with this desk's view; until then it is
// pending. A pending entry older than the withholding bound raises
// AlarmWithholding (the venue hides it from someone, or hides their
// cosignature from us), and a log that other parties have cosigned beyond
// what the venue serves this desk, for longer than the bound, raises
// AlarmFreeze. These two alarms do not halt the log: nothing wrong was
// accepted, something is missing.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/proof"
	"github.com/good-offices/goodoffices/tlog"
	"github.com/good-offices/goodoffices/venue/api"
	"github.com/good-offices/goodoffices/venue/client"
)

// Alarm kinds of neutrality checks.
const (
	AlarmWithholding = "withholding" // an entry stayed pending longer than the bound
	AlarmFreeze      = "freeze"      // others cosigned a larger log than the venue serves this desk
	AlarmReplay      = "replay"      // an MLS message whose key generation was already used (a replay)
	AlarmMembership  = "membership"  // the venue's channel list omits a delegation the group holds
	AlarmKeyPackage  = "key-package" // the venue answered a claim with a key package that is not the device's
)

// DefaultWithholdingBound is how long an entry may stay pending before
// AlarmWithholding, unless configured otherwise.
const DefaultWithholdingBound = 10 * time.Minute

// ProofFile is the name of the misbehaviour proof in an alarm's evidence.
const ProofFile = "misbehaviour.proof"

const (
	keyNeutrality = "neutrality/config"
	prefConfirm   = "confirm/"
)

// NeutralityConfig tunes the neutrality checks. It is kept in the desk's
// store.
type NeutralityConfig struct {
	// WithholdingBound is how long an entry may stay pending (and a log
	// stay behind what others cosigned) before an alarm; 0 means
	// DefaultWithholdingBound, a negative value disables both alarms.
	WithholdingBound time.Duration `json:"withholding_bound"`
}

func (c NeutralityConfig) bound() time.Duration {
	if c.WithholdingBound == 0 {
		return DefaultWithholdingBound
	}
	return c.WithholdingBound
}

// refetch is how often a fully confirmed log's cosignatures are fetched
// again: often enough to see a freeze well within the bound.
func (c NeutralityConfig) refetch() time.Duration {
	if b := c.bound(); b > 0 && b/4 < 2*time.Second {
		return b / 4
	}
	return 2 * time.Second
}

// Neutrality returns the desk's neutrality configuration.
func (d *Desk) Neutrality(ctx context.Context) (NeutralityConfig, error) {
	var c NeutralityConfig
	b, err := d.store.Get(ctx, keyNeutrality)
	if errors.Is(err, ErrNotFound) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	return c, json.Unmarshal(b, &c)
}

// SetNeutrality stores the desk's neutrality configuration.
func (d *Desk) SetNeutrality(ctx context.Context, c NeutralityConfig) error {
	b, _ := json.Marshal(c)
	return d.store.Put(ctx, keyNeutrality, b)
}

// Confirmation is the desk's view of who has cosigned a log.
type Confirmation struct {
	Log string `json:"log"`
	// Size is the size of the checkpoint this desk accepted.
	Size int64 `json:"size"`
	// Confirmed: entries with index < Confirmed are confirmed by every
	// member delegation; the others are pending.
	Confirmed int64 `json:"confirmed"`
	// Cosigned holds, per member delegation, how many of this desk's
	// entries it has cosigned (through a consistent checkpoint).
	Cosigned map[string]int64 `json:"cosigned"`
	// Missing lists the member delegations that have not cosigned Size.
	Missing []string `json:"missing,omitempty"`
	// OwnCosigned is the largest size this device cosigned and handed over.
	OwnCosigned int64 `json:"own_cosigned"`
	// OldestPending is when the oldest pending entry was first accepted.
	OldestPending time.Time `json:"oldest_pending,omitzero"`
	// Ahead is the largest size other parties cosigned beyond Size, and
	// AheadSince when this desk first saw it (a freeze, if it lasts).
	Ahead      int64     `json:"ahead,omitempty"`
	AheadSince time.Time `json:"ahead_since,omitzero"`
	Checked    time.Time `json:"checked,omitzero"`
	// Fetched is when the venue's cosignatures were last fetched.
	Fetched time.Time `json:"fetched,omitzero"`

	Marks        []sizeMark `json:"marks,omitempty"`
	WarnedWithho int64      `json:"warned_withholding,omitempty"` // 1 + index already warned about
	WarnedFreeze int64      `json:"warned_freeze,omitempty"`      // Ahead already warned about
	// Witnessed holds, per witness of the policy, the largest size of this
	// desk's view it cosigned; WitnessSize the largest size it is known to
	// have cosigned (from its 409 answers), and WitnessAhead, since
	// WitnessAheadSince, the largest such size beyond Size (an eclipse, if
	// it lasts), reported by WitnessAheadBy.
	Witnessed         map[string]int64 `json:"witnessed,omitempty"`
	WitnessSize       map[string]int64 `json:"witness_size,omitempty"`
	WitnessAhead      int64            `json:"witness_ahead,omitempty"`
	WitnessAheadSince time.Time        `json:"witness_ahead_since,omitzero"`
	WitnessAheadBy    string           `json:"witness_ahead_by,omitempty"`
	WarnedEclipse     int64            `json:"warned_eclipse,omitempty"`
	// WarnedMembers lists the delegations of the group that the venue's
	// channel list omitted when this desk last raised a membership alarm.
	WarnedMembers string `json:"warned_members,omitempty"`
}

// sizeMark records when the desk first accepted a checkpoint of Size.
type sizeMark struct {
	Size int64     `json:"size"`
	Time time.Time `json:"time"`
}

// Pending is the number of accepted entries not yet confirmed.
func (c Confirmation) Pending() int64 { return c.Size - c.Confirmed }

// IsConfirmed reports whether the entry at index is confirmed.
func (c Confirmation) IsConfirmed(index int64) bool { return index < c.Confirmed }

// Confirmation returns the confirmation state of a log from the store.
func (d *Desk) Confirmation(ctx context.Context, log string) (Confirmation, error) {
	return d.confirmation(ctx, log)
}

func (d *Desk) confirmation(ctx context.Context, log string) (Confirmation, error) {
	c := Confirmation{Log: log, Cosigned: map[string]int64{}}
	b, err := d.store.Get(ctx, prefConfirm+log)
	if errors.Is(err, ErrNotFound) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("failed to load confirmation of %s: %w", log, err)
	}
	if c.Cosigned == nil {
		c.Cosigned = map[string]int64{}
	}
	return c, nil
}

// Confirmations returns the confirmation state of every log the desk has
// checked, register first.
func (d *Desk) Confirmations(ctx context.Context) ([]Confirmation, error) {
	kvs, err := d.store.List(ctx, prefConfirm, 0)
	if err != nil {
		return nil, err
	}
	var out []Confirmation
	for _, kv := range kvs {
		var c Confirmation
		if err := json.Unmarshal(kv.Value, &c); err != nil {
			return nil, fmt.Errorf("failed to load confirmation: %w", err)
		}
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(a, b Confirmation) int {
		switch {
		case a.Log == b.Log:
			return 0
		case a.Log == RegisterLog:
			return -1
		case b.Log == RegisterLog:
			return 1
		}
		return strings.Compare(a.Log, b.Log)
	})
	return out, nil
}

// members returns the delegations whose cosignatures confirm entries of log:
// a channel's member delegations, or for the public logs (register,
// revocations) every delegation this delegate confirmed.
func (d *Desk) members(ctx context.Context, log string) ([]string, error) {
	if log == RegisterLog || log == "revocations" {
		// The public logs (the register, the revocations) are confirmed by every delegation whose root this
		// delegate confirmed out of band: only their cosignatures can count.
		ps, err := d.Parties(ctx)
		if err != nil {
			return nil, err
		}
		var out []string
		for _, p := range ps {
			if !p.Confirmed.IsZero() {
				out = append(out, p.Name)
			}
		}
		return out, nil
	}
	c, err := d.channelMeta(ctx, d.store, log)
	if err != nil {
		return nil, err
	}
	set, _ := d.confirmationSet(ctx, log, c.Members)
	return set, nil
}

// confirmationSet returns the delegations whose cosignatures confirm the
// entries of channel ch: every delegation in the channel's MLS group as this
// desk sees it (the membership the parties agreed by their commits), and
// every delegation the venue lists for the channel (so that an entry is not
// confirmed before a listed delegation has joined and cosigned). The host
// cannot shrink the set by editing its channel list; unlisted names the
// delegations in the group that the venue's list omits, which is an alarm.
func (d *Desk) confirmationSet(ctx context.Context, ch string, listed []string) (set, unlisted []string) {
	set = slices.Clone(listed)
	ms, _, err := d.Members(ctx, ch)
	if err != nil {
		// Not in the group yet: only the venue's list is known.
		return set, nil
	}
	for _, m := range ms {
		if m.Delegation == "" || slices.Contains(set, m.Delegation) || m.Role == delegation.RoleInterpreter {
			// An interpreter reads and interprets; it does not confirm.
			continue
		}
		set = append(set, m.Delegation)
		if !slices.Contains(unlisted, m.Delegation) {
			unlisted = append(unlisted, m.Delegation)
		}
	}
	slices.Sort(set)
	slices.Sort(unlisted)
	return set, unlisted
}

// cosigned is a verified cosigned checkpoint.
type cosigned struct {
	cp      tlog.Checkpoint
	note    []byte
	signers map[string]bool // delegations with a valid cosignature on it
	names   []string        // cosigner names
}

// verifyCosignatures checks what the venue served: certificates against
// confirmed roots, the venue's signature, each cosignature.
func (d *Desk) verifyCosignatures(ctx context.Context, log string, vv note.Verifier, cs *client.Cosignatures) []cosigned {
	now := time.Now()
	ps, err := d.Parties(ctx)
	if err != nil {
		return nil
	}
	parties := map[string]Party{}
	for _, p := range ps {
		parties[p.Name] = p
	}
	type key struct {
		delegation string
		vkey       string
		v          *tlog.CosignatureVerifier
	}
	keys := map[string]key{}
	for _, c := range cs.Cosigners {
		del, id, ok := api.ParseCosignerName(c.Name)
		if !ok {
			continue
		}
		cert, err := verifyCertCached(parties[del], []byte(c.Certificate), now)
		if errors.Is(err, ErrNotConfirmed) {
			// Expected until this delegate confirms that party out of
			// band; its cosignatures cannot count before (describeMissing
			// says so), and that is no warning.
			continue
		}
		if err != nil || cert.Delegation != del || delegation.DeviceID(cert.Device) != id {
			d.log.Warn("ignoring a cosigner whose certificate does not verify", "log", log, "cosigner", c.Name, "err", err)
			continue
		}
		vk, err := tlog.CosignatureVerifierKey(c.Name, cert.Device)
		if err != nil {
			continue
		}
		v, err := tlog.NewCosignatureVerifier(vk)
		if err != nil {
			continue
		}
		keys[c.Name] = key{del, vk, v}
	}
	var out []cosigned
	for _, msg := range cs.Checkpoints {
		head := bodyAndVenueLine([]byte(msg), d.venue.Name)
		ck := cacheKey("checkpoint", []byte(d.venue.VerifierKey), []byte(d.origin(log)), head)
		var cp tlog.Checkpoint
		if v, ok := cacheGet(ck); ok {
			cp = v.(tlog.Checkpoint)
		} else {
			cp, _, err = tlog.OpenCheckpoint(head, d.origin(log), vv)
			if err != nil {
				d.log.Warn("ignoring a cosigned checkpoint that does not verify", "log", log, "err", err)
				continue
			}
			cachePut(ck, cp)
		}
		text := checkpointBody(head)
		c := cosigned{cp: cp, signers: map[string]bool{}}
		var lines []string
		_, sigs, _ := strings.Cut(msg, "\n\n")
		for _, l := range strings.Split(sigs, "\n") {
			rest, ok := strings.CutPrefix(l, "— ")
			name, b64, ok2 := strings.Cut(rest, " ")
			k, known := keys[name]
			if !ok || !ok2 || !known || slices.Contains(c.names, name) {
				continue
			}
			vk := cacheKey("cosignature", []byte(k.vkey), text, []byte(b64))
			if _, ok := cacheGet(vk); !ok {
				raw, err := base64.StdEncoding.DecodeString(b64)
				if err != nil || len(raw) < 4 || binary.BigEndian.Uint32(raw) != k.v.KeyHash() || !k.v.Verify(text, raw[4:]) {
					d.log.Warn("ignoring a cosignature that does not verify", "log", log, "cosigner", name)
					continue
				}
				cachePut(vk, true)
			}
			c.signers[k.delegation] = true
			c.names = append(c.names, name)
			lines = append(lines, l+"\n")
		}
		if len(c.signers) == 0 {
			continue
		}
		// Keep the note with the venue's line and the verified cosignatures only.
		c.note = append(head, strings.Join(lines, "")...)
		out = append(out, c)
	}
	return out
}

// verifyCertCached checks a cosigner's certificate like checkDevice (a
// delegation in the verified register, confirmed out of band, certificate
// signed by its root and valid at t), remembering the signature check.
func verifyCertCached(p Party, cert []byte, t time.Time) (*delegation.Certificate, error) {
	if p.Name == "" {
		return nil, ErrUnknownParty
	}
	if p.Confirmed.IsZero() {
		return nil, ErrNotConfirmed
	}
	k := cacheKey("certificate", []byte(p.RootKey), cert)
	if v, ok := cacheGet(k); ok {
		c := v.(*delegation.Certificate)
		if t.Before(c.NotBefore) || t.After(c.NotAfter) {
			return nil, delegation.ErrCertificate
		}
		return c, nil
	}
	c, err := delegation.VerifyCertificate(cert, p.RootKey, t)
	if err != nil {
		return nil, err
	}
	cachePut(k, c)
	return c, nil
}

// checks is a bounded cache of verifications that succeeded, keyed by a
// hash of everything each one depended on (keys, signed text, signature),
// so a hit means exactly the same check passed before.
var checks = struct {
	sync.Mutex
	m map[[32]byte]any
}{m: map[[32]byte]any{}}

const maxChecks = 1 << 14

func cacheKey(kind string, parts ...[]byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(kind))
	for _, p := range parts {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write(p)
	}
	return [32]byte(h.Sum(nil))
}

func cacheGet(k [32]byte) (any, bool) {
	checks.Lock()
	defer checks.Unlock()
	v, ok := checks.m[k]
	return v, ok
}

func cachePut(k [32]byte, v any) {
	checks.Lock()
	defer checks.Unlock()
	if len(checks.m) >= maxChecks {
		clear(checks.m)
	}
	checks.m[k] = v
}

// bodyAndVenueLine returns a note's text, the blank line and the venue's
// signature lines.
func bodyAndVenueLine(msg []byte, venueName string) []byte {
	s := string(msg)
	i := strings.Index(s, "\n\n")
	if i < 0 {
		return msg
	}
	out := s[:i+2]
	for _, l := range strings.SplitAfter(s[i+2:], "\n") {
		if strings.HasPrefix(l, "— "+venueName+" ") {
			out += l
		}
	}
	return []byte(out)
}

// afterCheckpointLocked runs after syncLogLocked has verified and processed
// the log up to cp (served as msg): it cosigns cp, fetches the others'
// cosignatures, checks them against this desk's view, and updates the
// log's confirmation state. It returns a halting *Alarm for a fork, a
// non-halting *Alarm for withholding or a freeze the first time it is seen,
// and nil when the venue cannot be reached (confirmation waits).
func (d *Desk) afterCheckpointLocked(ctx context.Context, log string, cp tlog.Checkpoint, msg []byte, c *tlog.Client, fetch tlog.FetchFunc) error {
	cl := d.api.cl()
	conf, err := d.confirmation(ctx, log)
	if err != nil {
		return err
	}
	cfg, _ := d.Neutrality(ctx)
	now := time.Now().UTC()
	// The venue's acknowledgements of this desk's own appends must be
	// covered by what it serves within the bound (eclipse.go).
	if a := d.checkAcks(ctx, log, cp, msg, cfg.bound()); a != nil {
		return a
	}
	// Everything confirmed and nothing new: look at the others'
	// cosignatures again only every refetch (a freeze shows there). A
	// witness that has seen more than the venue serves, not alarmed yet,
	// is asked again at every sync instead, so that the eclipse alarm
	// comes as soon as the bound has passed, not up to a refetch later.
	eclipsePending := conf.WitnessAhead > 0 && conf.WarnedEclipse != conf.WitnessAhead
	if conf.Size == cp.Size && conf.Confirmed == cp.Size && conf.OwnCosigned >= cp.Size && conf.Ahead == 0 && !eclipsePending &&
		now.Sub(conf.Fetched) < cfg.refetch() {
		return nil
	}
	conf.Size, conf.Checked = cp.Size, now
	if n := len(conf.Marks); n == 0 || conf.Marks[n-1].Size < cp.Size {
		conf.Marks = append(conf.Marks, sizeMark{cp.Size, now})
	}
	own := d.profile.Delegation
	if cp.Size > 0 && conf.OwnCosigned < cp.Size {
		// The checkpoint was cosigned when it was accepted (cosign.go);
		// hand the cosignature over.
		signed, err := d.Cosigned(ctx, log)
		if err != nil || !bytes.HasPrefix(signed, checkpointBody(msg)) {
			// Accepted before cosignatures were kept: cosign it now.
			if signed, err = d.cosign(msg); err != nil {
				return err
			}
		}
		err = cl.AddCosignature(ctx, log, signed)
		var ce *client.Error
		switch {
		case err == nil:
			conf.OwnCosigned = cp.Size
		case errors.As(err, &ce) && ce.Status == http.StatusConflict:
			// The venue disowns the checkpoint it served us: it keeps
			// another history for others. The cosignatures below show it.
			d.log.Error("the venue refuses our cosignature of a checkpoint it served", "log", log, "size", cp.Size, "err", err)
		default:
			d.log.Warn("failed to hand over cosignature; will retry", "log", log, "err", err)
		}
	}
	cs, err := cl.Cosignatures(ctx, log)
	if err != nil {
		d.log.Warn("failed to fetch cosignatures; confirmation waits", "log", log, "err", err)
		return d.putConfirmation(ctx, conf)
	}
	conf.Fetched = now
	vv, err := note.NewVerifier(d.venue.VerifierKey)
	if err != nil {
		return err
	}
	cover := map[string]int64{}
	if conf.OwnCosigned > 0 {
		cover[own] = min(conf.OwnCosigned, cp.Size)
	}
	servedOwn := false
	ahead := int64(0)
	for _, o := range d.verifyCosignatures(ctx, log, vv, cs) {
		if slices.Contains(o.names, d.CosignerName()) && o.cp.Size >= conf.OwnCosigned {
			servedOwn = true
		}
		ok, alarm := d.checkCosigned(ctx, log, cp, msg, o, c, fetch)
		if alarm != nil {
			return alarm
		}
		if !ok {
			if o.cp.Size > cp.Size {
				ahead = max(ahead, o.cp.Size)
			}
			continue
		}
		for del := range o.signers {
			cover[del] = max(cover[del], min(o.cp.Size, cp.Size))
		}
		if o.cp.Size > cp.Size && !(len(o.signers) == 1 && o.signers[own]) {
			ahead = max(ahead, o.cp.Size)
		}
	}
	if !servedOwn && conf.OwnCosigned > 0 && conf.OwnCosigned == cp.Size {
		conf.OwnCosigned = 0 // not served back: hand it over again next time
	}
	// The witnesses of this desk's policy, asked directly (eclipse.go).
	if alarm := d.checkWitnesses(ctx, &conf, cp, msg, fetch, cfg.bound()); alarm != nil {
		d.putConfirmation(ctx, conf)
		return alarm
	}
	members, err := d.members(ctx, log)
	if err != nil {
		d.log.Warn("unknown members; confirmation waits", "log", log, "err", err)
		return d.putConfirmation(ctx, conf)
	}
	conf.Cosigned, conf.Missing = map[string]int64{}, nil
	confirmed := cp.Size
	for _, m := range members {
		conf.Cosigned[m] = cover[m]
		confirmed = min(confirmed, cover[m])
		if cover[m] < cp.Size {
			conf.Missing = append(conf.Missing, m)
		}
	}
	if ws, err := d.Witnesses(ctx); err == nil {
		for _, w := range ws {
			m, n := WitnessMember(w.Name), conf.Witnessed[w.Name]
			conf.Cosigned[m] = n
			confirmed = min(confirmed, n)
			if n < cp.Size {
				conf.Missing = append(conf.Missing, m)
			}
		}
	}
	if len(members) == 0 {
		confirmed = 0
	}
	conf.Confirmed = confirmed
	// Drop marks of confirmed sizes, keeping the one that covers the oldest
	// pending entry.
	for len(conf.Marks) > 1 && conf.Marks[0].Size <= confirmed {
		conf.Marks = conf.Marks[1:]
	}
	conf.OldestPending = time.Time{}
	if confirmed < cp.Size {
		for _, m := range conf.Marks {
			if m.Size > confirmed {
				conf.OldestPending = m.Time
				break
			}
		}
	}
	if ahead > cp.Size {
		if conf.Ahead < ahead || conf.AheadSince.IsZero() {
			if conf.AheadSince.IsZero() {
				conf.AheadSince = now
			}
			conf.Ahead = ahead
		}
	} else {
		conf.Ahead, conf.AheadSince = 0, time.Time{}
	}
	var alarm *Alarm
	if log != RegisterLog && log != "revocations" {
		// The venue's channel list must not omit a delegation that is in
		// the group: the host does not decide who must confirm.
		if c, err := d.channelMeta(ctx, d.store, log); err == nil {
			if _, unlisted := d.confirmationSet(ctx, log, c.Members); len(unlisted) > 0 {
				key := strings.Join(unlisted, ",")
				if conf.WarnedMembers != key {
					conf.WarnedMembers = key
					alarm = &Alarm{Log: log, Kind: AlarmMembership, Index: cp.Size,
						Detail: fmt.Sprintf("the venue's member list of this channel (%s) omits %s, which the channel's encrypted group holds: the parties, not the host, decide who is in; entries still need %s's cosignature to be confirmed",
							strings.Join(c.Members, ", "), key, key)}
				}
			} else {
				conf.WarnedMembers = ""
			}
		}
	}
	if bound := cfg.bound(); bound > 0 && alarm == nil {
		switch {
		case conf.Ahead > cp.Size && now.Sub(conf.AheadSince) > bound && conf.WarnedFreeze != conf.Ahead:
			conf.WarnedFreeze = conf.Ahead
			alarm = &Alarm{Log: log, Kind: AlarmFreeze, Index: cp.Size,
				Detail: fmt.Sprintf("other parties cosigned this log at size %d since %s, but the venue still serves this desk size %d", conf.Ahead, conf.AheadSince.Format(time.RFC3339), cp.Size)}
		case confirmed < cp.Size && !conf.OldestPending.IsZero() && now.Sub(conf.OldestPending) > bound && conf.WarnedWithho != confirmed+1:
			conf.WarnedWithho = confirmed + 1
			alarm = &Alarm{Log: log, Kind: AlarmWithholding, Index: confirmed,
				Detail: fmt.Sprintf("entry %d has been pending since %s (bound %s): not cosigned by %s; the venue may be withholding it from them, or their cosignatures from this desk",
					confirmed, conf.OldestPending.Format(time.RFC3339), bound, d.describeMissing(ctx, conf.Missing))}
		}
	}
	if err := d.putConfirmation(ctx, conf); err != nil {
		return err
	}
	if alarm != nil {
		return d.warn(ctx, alarm, map[string][]byte{"checkpoint": msg})
	}
	return nil
}

// RefreshConfirmation fetches the others' cosignatures of log and updates
// its confirmation state against the checkpoint this desk accepted, without
// fetching a new checkpoint (Run calls it when the venue's event stream
// says that a party cosigned). If the log has entries not yet processed, it
// syncs the log instead.
func (d *Desk) RefreshConfirmation(ctx context.Context, log string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.refreshConfirmationLocked(ctx, log)
}

func (d *Desk) refreshConfirmationLocked(ctx context.Context, log string) error {
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
	if st.Checkpoint == nil || st.Next < st.Size {
		return d.syncLogLocked(ctx, log)
	}
	cp, err := tlog.ParseCheckpoint(checkpointBody(st.Checkpoint))
	if err != nil {
		return fmt.Errorf("failed to load accepted checkpoint of %s: %w", log, err)
	}
	v, err := note.NewVerifier(d.venue.VerifierKey)
	if err != nil {
		return fmt.Errorf("failed to load venue key: %w", err)
	}
	rec := &recorder{served: map[string][]byte{}, fetch: d.api.fetcher(log)}
	c := tlog.NewClient(d.origin(log), v, rec.Fetch)
	return d.afterCheckpointLocked(ctx, log, cp, st.Checkpoint, c, rec.Fetch)
}

// confirmLaterTimeout bounds a confirmation started by confirmLater.
const confirmLaterTimeout = 30 * time.Second

// confirmLater brings the confirmation of log up to date in the background,
// once the caller has released d.mu. Close waits for it.
func (d *Desk) confirmLater(ctx context.Context, log string) {
	d.bg.Add(1)
	go func() {
		defer d.bg.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), confirmLaterTimeout)
		defer cancel()
		d.mu.Lock()
		defer d.mu.Unlock()
		if err := d.refreshConfirmationLocked(ctx, log); err != nil {
			d.log.Warn("confirmation not brought up to date", "log", log, "err", err)
		}
	}()
}

// describeMissing names the delegations that have not cosigned, saying
// which of them this delegate has not confirmed (their cosignatures cannot
// count until it does).
func (d *Desk) describeMissing(ctx context.Context, missing []string) string {
	out := make([]string, 0, len(missing))
	for _, m := range missing {
		if p, err := d.party(ctx, m); err == nil && p.Confirmed.IsZero() {
			m += " (root key not confirmed here: run 'goodoffices desk verify-party " + m + "')"
		}
		out = append(out, m)
	}
	return strings.Join(out, ", ")
}

func (d *Desk) putConfirmation(ctx context.Context, c Confirmation) error {
	b, _ := json.Marshal(c)
	return d.store.Put(ctx, prefConfirm+c.Log, b)
}

// checkCosigned checks another party's cosigned checkpoint o against this
// desk's accepted cp. It reports whether o is consistent with cp (so its
// cosigners vouch for cp's entries up to o's size), or returns a halting
// fork alarm with a proof. ok is false without alarm when the consistency
// cannot be checked now (the venue cannot or will not serve the tiles of o).
func (d *Desk) checkCosigned(ctx context.Context, log string, cp tlog.Checkpoint, msg []byte, o cosigned, c *tlog.Client, fetch tlog.FetchFunc) (bool, *Alarm) {
	var err error
	var p *proof.Proof
	// Our own cosignature travels in the proof too: it shows which party
	// was shown which history.
	if own, err := d.Cosigned(ctx, log); err == nil && bytes.Equal(checkpointBody(own), checkpointBody(msg)) {
		msg = own
	}
	switch {
	case o.cp.Size == cp.Size:
		if o.cp.Hash == cp.Hash {
			return true, nil
		}
		p, err = proof.NewSplitView(d.venue.VerifierKey, msg, o.note)
	case o.cp.Size < cp.Size:
		// This desk's accepted trees only grow consistently, so a checkpoint
		// once found consistent with one stays consistent with the next.
		ck := cacheKey("consistent", []byte(d.home), []byte(log), fmt.Appendf(nil, "%d", o.cp.Size), o.cp.Hash[:])
		if _, ok := cacheGet(ck); ok {
			return true, nil
		}
		err = c.VerifyConsistency(ctx, o.cp, cp)
		if err == nil {
			cachePut(ck, true)
			return true, nil
		}
		if isTransient(err) {
			return false, nil
		}
		p, err = proof.NewInconsistent(d.venue.VerifierKey, o.note, msg, tileHashReader(ctx, cp, fetch))
	default:
		ck := cacheKey("extends", []byte(d.home), []byte(log), fmt.Appendf(nil, "%d", cp.Size), cp.Hash[:], fmt.Appendf(nil, "%d", o.cp.Size), o.cp.Hash[:])
		if _, ok := cacheGet(ck); ok {
			return true, nil
		}
		err = c.VerifyConsistency(ctx, cp, o.cp)
		if err == nil {
			cachePut(ck, true)
			return true, nil
		}
		if isTransient(err) {
			return false, nil
		}
		p, err = proof.NewInconsistent(d.venue.VerifierKey, msg, o.note, tileHashReader(ctx, o.cp, fetch))
		if err != nil {
			// The venue does not prove a checkpoint it signed: it may be
			// keeping this desk on another branch. Freeze detection covers it.
			return false, nil
		}
	}
	detail := fmt.Sprintf("%s cosigned a checkpoint of size %d that is not consistent with the one of size %d this desk accepted: the venue shows different histories",
		strings.Join(o.names, ", "), o.cp.Size, cp.Size)
	extra := map[string][]byte{"cosigned.checkpoint": o.note}
	if err == nil {
		extra[ProofFile] = p.Marshal()
		detail += "; proof of misbehaviour exported as " + ProofFile
	} else {
		detail += "; the venue's tiles did not allow a proof: " + err.Error()
	}
	a := &Alarm{Log: log, Kind: AlarmFork, Detail: detail}
	return false, d.raise(ctx, a, msg, nil, extra)
}

// warn records a non-halting alarm with its evidence.
func (d *Desk) warn(ctx context.Context, a *Alarm, files map[string][]byte) *Alarm {
	a.Time = time.Now().UTC()
	dir := evidenceDir(d.home, a)
	if err := writeEvidence(dir, a, files); err != nil {
		d.log.Error("failed to write alarm evidence", "log", a.Log, "err", err)
	} else {
		a.Evidence = dir
	}
	d.log.Error("ALARM", "log", a.Log, "kind", a.Kind, "detail", a.Detail, "evidence", a.Evidence)
	ab, _ := json.Marshal(a)
	if err := d.store.Put(ctx, prefAlarm+a.Time.Format("20060102T150405.000000000Z")+"/"+a.Log, ab); err != nil {
		d.log.Error("failed to record alarm", "log", a.Log, "err", err)
	}
	return a
}

func evidenceDir(home string, a *Alarm) string {
	return home + "/evidence/" + fmt.Sprintf("%s-%s-%s", a.Log, a.Time.Format("20060102T150405.000000000Z"), a.Kind)
}

// tileHashReader reads the stored hashes of cp's tree from the tiles served
// through fetch, each tile authenticated against cp's root (x/mod
// TileHashReader).
func tileHashReader(ctx context.Context, cp tlog.Checkpoint, fetch tlog.FetchFunc) xtlog.HashReader {
	return xtlog.TileHashReader(cp.Tree(), &fetchTiles{ctx: ctx, fetch: fetch})
}

type fetchTiles struct {
	ctx   context.Context
	fetch tlog.FetchFunc
}

func (f *fetchTiles) Height() int { return tlog.TileHeight }

func (f *fetchTiles) ReadTiles(tiles []xtlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		b, err := f.fetch(f.ctx, tlog.TilePath(t))
		if err != nil {
			return nil, err
		}
		if len(b) != t.W*xtlog.HashSize {
			return nil, errors.New("tile of the wrong size")
		}
		out[i] = b
	}
	return out, nil
}

func (f *fetchTiles) SaveTiles([]xtlog.Tile, [][]byte) {}
