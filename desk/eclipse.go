package desk

// Eclipse: what a desk sees when the venue isolates it.
//
// A venue that freezes one party's view of a log and replays it the stale
// cosignatures it already saw leaves that party nothing to compare within
// the venue. Two checks look past it.
//
//   - Its own appends. The venue answers every append with the entry's
//     index. The desk records (log, index, time acknowledged); an
//     acknowledged entry must be covered by a checkpoint the venue serves
//     within the neutrality bound (the venue may acknowledge before it signs
//     a checkpoint, but must integrate within the bound). If the venue keeps
//     serving a checkpoint of size <= index longer than that, the desk
//     raises AlarmStaleView: the venue's own answer is proof that the view
//     it serves this desk is stale. The evidence holds the acknowledgement
//     and the stale checkpoint.
//   - Witnesses (c2sp.org/tlog-witness), which the desk asks directly, not
//     through the venue. Every checkpoint the desk verifies is submitted to
//     each witness of its policy ('desk witness add'); an entry counts as
//     confirmed only once every witness of the policy has cosigned a
//     checkpoint of this desk's view covering it. A witness's 409 answer
//     tells the size of the latest checkpoint it cosigned (other parties
//     submit theirs): if it stays larger than what the venue serves this
//     desk for longer than the bound, the desk raises AlarmEclipse; if the
//     witness cosigned another history (a 409 at the same size, a 422 on
//     the venue's own consistency proof), AlarmWitnessConflict.

import (
	"bytes"
	"context"
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

	"github.com/good-offices/goodoffices/tlog"
	"github.com/good-offices/goodoffices/witness"
)

// Alarm kinds of the eclipse checks.
const (
	// AlarmStaleView: the venue acknowledged this desk's append at an
	// index that no checkpoint it served covered within the bound.
	AlarmStaleView = "stale-view"
	// AlarmEclipse: a witness of this desk's policy cosigned a larger
	// checkpoint than the venue served this desk, for longer than the bound.
	AlarmEclipse = "eclipse"
	// AlarmWitnessConflict: a witness cosigned a checkpoint that is not
	// consistent with this desk's view.
	AlarmWitnessConflict = "witness-conflict"
)

const (
	prefAck     = "acks/"
	prefWitness = "witness/"
	// maxAcks bounds the acknowledgements kept per log (the oldest
	// uncovered ones are the ones that matter).
	maxAcks = 64
)

// An Ack is the venue's acknowledgement of one of this desk's appends.
type Ack struct {
	Log   string    `json:"log"`
	Index int64     `json:"index"`
	Time  time.Time `json:"time"`
	// Venue is the URL the desk appended through.
	Venue string `json:"venue"`
}

// ackBuffer holds the acknowledgements of appends not yet stored: they are
// merged into the store by the next check of their log (checkAcks), or
// when the desk closes, so that an append costs no extra durable write
// when a checkpoint covering it is served at once.
type ackBuffer struct {
	mu sync.Mutex
	m  map[string][]Ack
}

func (b *ackBuffer) add(a Ack) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string][]Ack{}
	}
	if len(b.m[a.Log]) < maxAcks {
		b.m[a.Log] = append(b.m[a.Log], a)
	}
}

func (b *ackBuffer) take(log string) []Ack {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.m[log]
	delete(b.m, log)
	return out
}

func (b *ackBuffer) logs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for l := range b.m {
		out = append(out, l)
	}
	return out
}

// recordAck keeps the venue's acknowledgement of an append until a served
// checkpoint covers it.
func (d *Desk) recordAck(_ context.Context, log string, index int64) {
	d.acks.add(Ack{Log: log, Index: index, Time: time.Now().UTC(), Venue: d.api.url})
}

// flushAcks stores the acknowledgements not yet checked (Close).
func (d *Desk) flushAcks(ctx context.Context) {
	for _, log := range d.acks.logs() {
		d.mergeAcks(ctx, log, d.acks.take(log), func(acks []Ack) ([]Ack, *Ack) { return acks, nil })
	}
}

// mergeAcks merges pending into the stored acknowledgements of log and
// stores what keep returns, in one transaction if anything changes.
func (d *Desk) mergeAcks(ctx context.Context, log string, pending []Ack, keep func([]Ack) ([]Ack, *Ack)) (*Ack, error) {
	var stale *Ack
	err := d.store.Update(ctx, func(tx *Tx) error {
		var acks []Ack
		b, err := tx.Get(ctx, prefAck+log)
		if err == nil {
			json.Unmarshal(b, &acks)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		n := len(acks)
		acks = append(acks, pending[:min(len(pending), max(0, maxAcks-len(acks)))]...)
		kept, s := keep(acks)
		stale = s
		if len(kept) == n && len(pending) == 0 && s == nil {
			return nil
		}
		if len(kept) == 0 {
			if n == 0 {
				return nil
			}
			return tx.Delete(ctx, prefAck+log)
		}
		b, _ = json.Marshal(kept)
		return tx.Put(ctx, prefAck+log, b)
	})
	return stale, err
}

// checkAcks drops the acknowledgements that the served checkpoint cp (note
// msg) covers and returns AlarmStaleView if one older than bound is not
// covered (once per index).
func (d *Desk) checkAcks(ctx context.Context, log string, cp tlog.Checkpoint, msg []byte, bound time.Duration) *Alarm {
	var pending []Ack
	for _, a := range d.acks.take(log) {
		if a.Index >= cp.Size {
			pending = append(pending, a)
		}
	}
	if len(pending) == 0 {
		// Nothing new: look at the stored ones without a write if none.
		if _, err := d.store.Get(ctx, prefAck+log); errors.Is(err, ErrNotFound) {
			return nil
		}
	}
	now := time.Now().UTC()
	stale, err := d.mergeAcks(ctx, log, pending, func(acks []Ack) ([]Ack, *Ack) {
		var keep []Ack
		for _, a := range acks {
			if a.Index >= cp.Size {
				keep = append(keep, a)
			}
		}
		if len(keep) > 0 && bound > 0 && now.Sub(keep[0].Time) > bound {
			a := keep[0]
			return keep[1:], &a // raised once
		}
		return keep, nil
	})
	if err != nil {
		d.log.Warn("failed to check the venue's acknowledgements", "log", log, "err", err)
		return nil
	}
	if stale == nil {
		return nil
	}
	ack, _ := json.MarshalIndent(stale, "", "  ")
	return d.warn(ctx, &Alarm{Log: log, Kind: AlarmStaleView, Index: stale.Index,
		Detail: fmt.Sprintf("the venue acknowledged this desk's entry at index %d at %s, but %s later still serves a checkpoint of size %d (bound %s): either the venue never integrated the entry it acknowledged, or the view it serves this desk is stale (frozen, isolated)",
			stale.Index, stale.Time.Format(time.RFC3339), now.Sub(stale.Time).Round(time.Millisecond), cp.Size, bound)},
		map[string][]byte{"acknowledgement.json": ack, "checkpoint": msg})
}

// A Witness is a witness of this desk's policy: it must cosign a
// checkpoint covering an entry before the desk counts it confirmed, and the
// desk asks it directly for the latest size of each log.
type Witness struct {
	Name        string `json:"name"`         // cosigner name
	URL         string `json:"url"`          // submission prefix (POST <URL>/add-checkpoint)
	VerifierKey string `json:"verifier_key"` // cosignature/v1 vkey
}

// AddWitness adds a witness to the desk's policy. vkey is its cosigner
// verifier key (as 'goodoffices witness' prints it).
func (d *Desk) AddWitness(ctx context.Context, url, vkey string) (Witness, error) {
	v, err := tlog.NewCosignatureVerifier(vkey)
	if err != nil {
		return Witness{}, fmt.Errorf("invalid witness key: %w", err)
	}
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return Witness{}, errors.New("invalid witness URL: want http:// or https://")
	}
	w := Witness{Name: v.Name(), URL: strings.TrimSuffix(url, "/"), VerifierKey: vkey}
	b, _ := json.Marshal(w)
	return w, d.store.Put(ctx, prefWitness+w.Name, b)
}

// RemoveWitness removes a witness from the desk's policy.
func (d *Desk) RemoveWitness(ctx context.Context, name string) error {
	if _, err := d.store.Get(ctx, prefWitness+name); err != nil {
		return fmt.Errorf("no witness %q: %w", name, err)
	}
	return d.store.Update(ctx, func(tx *Tx) error { return tx.Delete(ctx, prefWitness+name) })
}

// Witnesses returns the witnesses of the desk's policy.
func (d *Desk) Witnesses(ctx context.Context) ([]Witness, error) {
	kvs, err := d.store.List(ctx, prefWitness, 0)
	if err != nil {
		return nil, err
	}
	var out []Witness
	for _, kv := range kvs {
		var w Witness
		if err := json.Unmarshal(kv.Value, &w); err != nil {
			return nil, fmt.Errorf("failed to load witness: %w", err)
		}
		out = append(out, w)
	}
	return out, nil
}

// witnessTimeout bounds one exchange with a witness.
const witnessTimeout = 10 * time.Second

// witnessClient is the HTTP client of witness requests.
var witnessClient = &http.Client{Timeout: witnessTimeout}

// witnessHTTP returns the client for witness requests: Options.HTTPClient
// if set, else witnessClient.
func (d *Desk) witnessHTTP() *http.Client {
	if d.hc != nil {
		return d.hc
	}
	return witnessClient
}

// httpClient returns the client for the desk's own requests to the venue:
// Options.HTTPClient if set, else http.DefaultClient.
func (d *Desk) httpClient() *http.Client {
	if d.hc != nil {
		return d.hc
	}
	return http.DefaultClient
}

// WitnessMember is how a witness is named among the confirmers of a log.
func WitnessMember(name string) string { return "witness " + name }

// checkWitnesses submits cp (note msg) to every witness of the policy,
// learns how far each has seen the log, and updates conf: Witnessed (sizes
// of this desk's view each witness cosigned) and the eclipse state. It
// returns an alarm for a witness that saw another history, or one that saw
// more than the venue serves for longer than bound.
func (d *Desk) checkWitnesses(ctx context.Context, conf *Confirmation, cp tlog.Checkpoint, msg []byte, fetch tlog.FetchFunc, bound time.Duration) *Alarm {
	ws, err := d.Witnesses(ctx)
	if err != nil || len(ws) == 0 {
		conf.Witnessed, conf.WitnessSize = nil, nil
		conf.WitnessAhead, conf.WitnessAheadSince, conf.WitnessAheadBy = 0, time.Time{}, ""
		return nil
	}
	if conf.Witnessed == nil {
		conf.Witnessed = map[string]int64{}
	}
	if conf.WitnessSize == nil {
		conf.WitnessSize = map[string]int64{}
	}
	now := time.Now().UTC()
	ahead, by := int64(0), ""
	for _, w := range ws {
		size, alarm := d.submitWitness(ctx, conf, w, cp, msg, fetch)
		if alarm != nil {
			return alarm
		}
		if size > cp.Size && size > ahead {
			ahead, by = size, w.Name
		}
	}
	for name := range conf.Witnessed {
		if !slices.ContainsFunc(ws, func(w Witness) bool { return w.Name == name }) {
			delete(conf.Witnessed, name)
			delete(conf.WitnessSize, name)
		}
	}
	if ahead == 0 {
		conf.WitnessAhead, conf.WitnessAheadSince, conf.WitnessAheadBy = 0, time.Time{}, ""
		return nil
	}
	if conf.WitnessAheadSince.IsZero() {
		conf.WitnessAheadSince = now
	}
	conf.WitnessAhead, conf.WitnessAheadBy = max(conf.WitnessAhead, ahead), by
	if bound > 0 && now.Sub(conf.WitnessAheadSince) > bound && conf.WarnedEclipse != conf.WitnessAhead {
		conf.WarnedEclipse = conf.WitnessAhead
		return d.warn(ctx, &Alarm{Log: conf.Log, Kind: AlarmEclipse, Index: cp.Size,
			Detail: fmt.Sprintf("witness %s has cosigned this log at size %d (seen since %s), but the venue still serves this desk size %d (bound %s): the venue is isolating this desk from the others",
				by, conf.WitnessAhead, conf.WitnessAheadSince.Format(time.RFC3339), cp.Size, bound)},
			map[string][]byte{"checkpoint": msg, "witness-size.txt": fmt.Appendf(nil, "witness %s\nurl %s\nlatest cosigned size %d\nfirst seen %s\n",
				by, d.witnessURL(ws, by), conf.WitnessAhead, conf.WitnessAheadSince.Format(time.RFC3339))})
	}
	return nil
}

func (d *Desk) witnessURL(ws []Witness, name string) string {
	for _, w := range ws {
		if w.Name == name {
			return w.URL
		}
	}
	return ""
}

// submitWitness brings witness w up to cp and returns the latest size it
// is known to have cosigned. It returns an alarm if w saw another history.
// A witness that cannot be reached is logged and left for the next sync.
func (d *Desk) submitWitness(ctx context.Context, conf *Confirmation, w Witness, cp tlog.Checkpoint, msg []byte, fetch tlog.FetchFunc) (int64, *Alarm) {
	ctx, cancel := context.WithTimeout(ctx, witnessTimeout)
	defer cancel()
	v, err := tlog.NewCosignatureVerifier(w.VerifierKey)
	if err != nil {
		return 0, nil
	}
	head := bodyAndVenueLine(msg, d.venue.Name)
	old := conf.WitnessSize[w.Name]
	if conf.Witnessed[w.Name] >= cp.Size {
		old = 0 // cosigned already: only ask how far it has seen (a 409)
	}
	for range 3 {
		if old > cp.Size {
			return old, nil
		}
		var proof []xtlog.Hash
		if old > 0 && old < cp.Size {
			if proof, err = xtlog.ProveTree(cp.Size, old, tileHashReader(ctx, cp, fetch)); err != nil {
				d.log.Warn("no consistency proof for the witness", "log", conf.Log, "witness", w.Name, "err", err)
				return old, nil
			}
		}
		lines, err := witness.Add(ctx, d.witnessHTTP(), w.URL, witness.Request{OldSize: old, Proof: proof, Checkpoint: head})
		var ce *witness.ConflictError
		var se *witness.StatusError
		switch {
		case err == nil:
			signed := append(bytes.Clone(head), lines...)
			if _, err := note.Open(signed, note.VerifierList(v)); err != nil {
				d.log.Warn("the witness's cosignature does not verify", "log", conf.Log, "witness", w.Name)
				return old, nil
			}
			conf.Witnessed[w.Name], conf.WitnessSize[w.Name] = cp.Size, cp.Size
			return cp.Size, nil
		case errors.As(err, &ce) && ce.Size >= 0 && ce.Size != old:
			conf.WitnessSize[w.Name] = ce.Size
			if ce.Size == cp.Size && conf.Witnessed[w.Name] >= cp.Size {
				return cp.Size, nil // probed: nothing newer
			}
			old = ce.Size
		case errors.As(err, &ce) && ce.Size == old && old > 0, errors.As(err, &se) && se.Status == http.StatusUnprocessableEntity:
			detail := fmt.Sprintf("witness %s cosigned a checkpoint of size %d of this log that is not consistent with the one of size %d the venue serves this desk: the venue shows different histories",
				w.Name, old, cp.Size)
			return old, d.warn(ctx, &Alarm{Log: conf.Log, Kind: AlarmWitnessConflict, Index: cp.Size, Detail: detail},
				map[string][]byte{"checkpoint": msg, "witness-request": witness.Request{OldSize: old, Proof: proof, Checkpoint: head}.Marshal()})
		default:
			d.log.Warn("witness not reached; will retry", "log", conf.Log, "witness", w.Name, "err", err)
			return conf.WitnessSize[w.Name], nil
		}
	}
	return old, nil
}
