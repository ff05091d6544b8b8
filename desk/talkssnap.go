package desk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/good-offices/goodoffices/negotiation"
)

// Snapshots of the negotiation engine's state.
//
// Replaying a channel's whole history through the engine costs time in
// proportion to the history; a channel of a months-long negotiation holds
// 100,000 messages. So the desk keeps, per channel, the engine's state after
// the entries it has applied (in memory for the channels used last, and in
// the encrypted store, key "talks/<channel>"), and advances it with the new
// entries only. (A recovery's fresh channel starts from the old channel's
// state, talksStart: the snapshot records that start too.)
//
// A snapshot is an optimisation, never a source of truth. It records the
// configuration it was computed for (a digest) and the log position it
// covers; a snapshot for another configuration, one that does not decode,
// or one that covers entries the store does not hold is dropped and the
// state replayed from the first entry. Desk.ReplayTalks computes the state
// without any snapshot; the engine is deterministic, so both are the same
// bytes (State.Canonical), which TestTalksSnapshotEqualsReplay checks over
// random event sequences.

const (
	prefTalks = "talks/" // engine state snapshot per channel

	// talksCached is how many channels' states stay in memory.
	talksCached = 2
)

// The snapshot in the store is written again once the state has advanced
// by snapshotEvery entries and by a snapshotGrowth-th of the entries it
// covered: writing it costs in proportion to the history, so a long
// channel is written less often, and the cost per entry stays bounded
// (variables for the tests).
var (
	snapshotEvery  int64 = 1024
	snapshotGrowth int64 = 4
)

type talksSnapshot struct {
	Config string          `json:"config"` // hex SHA-256 of the engine configuration (JSON), and of the start (talksStart.key)
	Next   int64           `json:"next"`   // index after the last processed entry applied
	State  json.RawMessage `json:"state"`  // State.Canonical
}

// talksCache holds the engine states of the channels used last.
type talksCache struct {
	mu    sync.Mutex
	m     map[string]*talksEntry
	clock uint64
}

type talksEntry struct {
	config string
	st     *negotiation.State
	next   int64  // index after the last processed entry applied
	saved  int64  // next when the snapshot was last written
	shared bool   // st was handed out: advance a copy
	used   uint64 // for eviction
}

// configDigest is the hex SHA-256 of v in JSON.
func configDigest(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

// advance returns the state of channel ch under cfg after every entry the
// desk has processed.
func (c *talksCache) advance(ctx context.Context, d *Desk, ch string, start talksStart) (*negotiation.State, error) {
	key, err := start.key()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*talksEntry{}
	}
	e := c.m[ch]
	if e == nil || e.config != key {
		if e, err = d.loadTalks(ctx, ch, start, key); err != nil {
			return nil, err
		}
		c.m[ch] = e
	}
	c.clock++
	e.used = c.clock
	var applyErr error
	next, err := d.eventsFrom(ctx, ch, e.next, func(ev negotiation.Event) {
		if e.shared && applyErr == nil {
			// Copy on write: whoever holds the state handed out keeps it
			// as it was.
			cp, err := d.decodeEngine(e.st.Canonical())
			if err != nil {
				applyErr = err
				return
			}
			e.st, e.shared = cp, false
		}
		if applyErr == nil {
			e.st.Apply(ev)
		}
	})
	if err == nil {
		err = applyErr
	}
	if err != nil {
		delete(c.m, ch) // partly advanced: start again next time
		return nil, err
	}
	e.next = next
	if n := e.next - e.saved; n >= snapshotEvery && n >= e.saved/snapshotGrowth {
		if err := d.saveTalks(ctx, ch, e); err != nil {
			d.log.Warn("failed to write the snapshot of the talks", "channel", ch, "err", err)
		}
	}
	// Build the state's lookup tables now, under c.mu: the state is shared
	// from here on and readers must not build them concurrently.
	e.st.Text("")
	e.shared = true
	for len(c.m) > talksCached {
		var old string
		for k, x := range c.m {
			if old == "" || x.used < c.m[old].used {
				old = k
			}
		}
		delete(c.m, old)
	}
	return e.st, nil
}

// forget drops the states in memory (all channels if ch is "").
func (c *talksCache) forget(ch string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch == "" {
		c.m = nil
		return
	}
	delete(c.m, ch)
}

// loadTalks starts a channel's state from its snapshot in the store, or
// from the empty state if there is no usable snapshot.
func (d *Desk) loadTalks(ctx context.Context, ch string, start talksStart, key string) (*talksEntry, error) {
	if e := d.snapshotTalks(ctx, ch, key); e != nil {
		return e, nil
	}
	st, err := start.state(ctx, d)
	if err != nil {
		return nil, err
	}
	return &talksEntry{config: key, st: st}, nil
}

func (d *Desk) snapshotTalks(ctx context.Context, ch, key string) *talksEntry {
	b, err := d.store.Get(ctx, prefTalks+ch)
	if err != nil {
		return nil
	}
	var snap talksSnapshot
	if err := json.Unmarshal(b, &snap); err != nil || snap.Config != key || snap.Next < 0 {
		d.log.Debug("snapshot of the talks not usable; replaying", "channel", ch)
		return nil
	}
	if snap.Next > 0 {
		// The snapshot must cover entries the store holds.
		if _, err := d.store.Get(ctx, histKey(ch, snap.Next-1)); err != nil {
			d.log.Debug("snapshot of the talks ahead of the history; replaying", "channel", ch)
			return nil
		}
	}
	st, err := d.decodeEngine(snap.State)
	if err != nil {
		d.log.Debug("snapshot of the talks does not decode; replaying", "channel", ch, "err", err)
		return nil
	}
	return &talksEntry{config: key, st: st, next: snap.Next, saved: snap.Next}
}

func (d *Desk) saveTalks(ctx context.Context, ch string, e *talksEntry) error {
	// talksSnapshot in JSON, written around the state without copying it
	// again: states of long channels are tens of megabytes.
	st := e.st.Canonical()
	b := make([]byte, 0, len(st)+128)
	b = fmt.Appendf(b, `{"config":%q,"next":%d,"state":`, e.config, e.next)
	b = append(b, st...)
	b = append(b, '}')
	if err := d.store.Put(ctx, prefTalks+ch, b); err != nil {
		return err
	}
	e.saved = e.next
	return nil
}

// RebuildTalks drops the snapshots of the talks (of channel ch, or of every
// channel if ch is ""); the next Talks replays the history.
func (d *Desk) RebuildTalks(ctx context.Context, ch string) error {
	d.talks.forget(ch)
	return d.store.Update(ctx, func(tx *Tx) error {
		if ch != "" {
			return tx.Delete(ctx, prefTalks+ch)
		}
		kvs, err := tx.List(ctx, prefTalks, 0)
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			if err := tx.Delete(ctx, kv.Key); err != nil {
				return err
			}
		}
		return nil
	})
}
