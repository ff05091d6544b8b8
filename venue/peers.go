package venue

import "time"

// This file is the hook through which several venue nodes on one shared
// store (PostgreSQL) learn of each other's changes; see package
// venue/fanout, which carries the notices (over NATS, or by polling the
// store).

// peerRecheck is how long after a notice PeerChanged checks again that no
// older state of the log was cached meanwhile.
const peerRecheck = 250 * time.Millisecond

// forgetStale drops the cached state of every log whose cached size is below
// the size in sizes, and returns those logs. With missingToo, logs not cached
// at all are returned as well (their streams must still be woken).
func (v *Venue) forgetStale(sizes map[string]int64, missingToo bool) []string {
	var out []string
	v.seq.mu.Lock()
	defer v.seq.mu.Unlock()
	for l, size := range sizes {
		st := v.seq.states[l]
		switch {
		case st == nil && missingToo:
			out = append(out, l)
		case st != nil && st.size < size:
			delete(v.seq.states, l)
			out = append(out, l)
		}
	}
	return out
}

// A PeerChange is what another venue node changed in the shared store.
type PeerChange struct {
	Logs     map[string]int64 // logs that grew, and their new size
	Mail     []string         // devices whose mailbox got mail
	Devices  []string         // devices registered or renewed
	Channels []string         // channels created or whose members changed
	All      bool             // anything may have changed (notices were lost)
}

// PeerChanged applies a change that another node made: it drops what this
// node cached of it and wakes the event streams it concerns, which then
// read what is new from the store. It must not be called for this node's
// own changes (they are applied already).
func (v *Venue) PeerChanged(c PeerChange) {
	if c.All {
		v.seq.mu.Lock()
		clear(v.seq.states)
		v.seq.mu.Unlock()
		v.cacheMu.Lock()
		clear(v.devices)
		clear(v.channels)
		v.cacheMu.Unlock()
		v.hub.mu.Lock()
		for s := range v.hub.subs {
			s.refresh.Store(true)
			s.poke()
		}
		v.hub.mu.Unlock()
		go v.peerRevoked()
		return
	}
	if len(c.Logs) > 0 {
		if grown := v.forgetStale(c.Logs, true); len(grown) > 0 {
			v.hub.logsChanged(grown)
			// A load of a log's state that began before this notice may
			// still put an older state in the cache after it: look again
			// once such a load is over.
			time.AfterFunc(peerRecheck, func() {
				if again := v.forgetStale(c.Logs, false); len(again) > 0 {
					v.hub.logsChanged(again)
				}
			})
		}
	}
	for _, d := range c.Devices {
		v.forgetDevice(d)
	}
	if _, ok := c.Logs[revocationsLog]; ok {
		// Synchronously: a stream of a revoked device must end within a
		// second of another node logging the revocation.
		v.peerRevoked()
	}
	for _, d := range c.Mail {
		v.hub.mailArrived(d)
	}
	if len(c.Channels) > 0 {
		for _, id := range c.Channels {
			v.forgetChannel(id)
		}
		v.hub.channelsChanged()
	}
}
