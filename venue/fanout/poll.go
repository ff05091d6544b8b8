package fanout

import (
	"context"
	"log/slog"
	"time"

	"github.com/good-offices/goodoffices/venue"
)

// Heads is a snapshot of a store: the size of every log, the last mail ID
// of every mailbox, and a digest of every channel's members.
type Heads struct {
	Logs     map[string]int64
	Mail     map[string]int64
	Channels map[string]string
}

// Poll reads heads every interval and applies what changed since the last
// read, until ctx ends. The first read applies a full catch-up
// (PeerChange.All), as nothing tells what changed before it. When active is
// not nil, rounds in which it returns false are skipped (NATS is up) and the
// next active round starts afresh.
func Poll(ctx context.Context, interval time.Duration, heads func(context.Context) (Heads, error), apply func(venue.PeerChange), active func() bool, log *slog.Logger) {
	var last *Heads
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if active != nil && !active() {
			last = nil
			continue
		}
		h, err := heads(ctx)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("failed to poll the store for other nodes' changes", "err", err)
			}
			continue
		}
		if last == nil {
			// Whatever changed before this first read (while the node
			// started, or while NATS was up) is not in any difference:
			// catch up on everything once.
			apply(venue.PeerChange{All: true})
			last = &h
			continue
		}
		if c, ok := diff(*last, h); ok {
			log.Debug("other nodes changed the store", "logs", len(c.Logs), "mailboxes", len(c.Mail), "channels", len(c.Channels))
			apply(c)
		}
		last = &h
	}
}

// diff returns what changed from a to b.
func diff(a, b Heads) (venue.PeerChange, bool) {
	var c venue.PeerChange
	for l, n := range b.Logs {
		if a.Logs[l] != n {
			if c.Logs == nil {
				c.Logs = map[string]int64{}
			}
			c.Logs[l] = n
		}
	}
	for d, id := range b.Mail {
		if a.Mail[d] != id {
			c.Mail = append(c.Mail, d)
		}
	}
	for id, m := range b.Channels {
		if am, ok := a.Channels[id]; !ok || am != m {
			c.Channels = append(c.Channels, id)
		}
	}
	return c, len(c.Logs) > 0 || len(c.Mail) > 0 || len(c.Channels) > 0
}
