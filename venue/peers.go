package venue

// This file is the hook through which several venue nodes on one shared
// store (PostgreSQL) learn of each other's changes; see package
// venue/fanout, which carries the notices (over NATS, or by polling the
// store).

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
		return
	}
	if len(c.Logs) > 0 {
		var grown []string
		v.seq.mu.Lock()
		for l, size := range c.Logs {
			if st := v.seq.states[l]; st != nil && st.size >= size {
				continue // already known here
			}
			delete(v.seq.states, l)
			grown = append(grown, l)
		}
		v.seq.mu.Unlock()
		if len(grown) > 0 {
			v.hub.logsChanged(grown)
		}
	}
	for _, d := range c.Devices {
		v.forgetDevice(d)
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
