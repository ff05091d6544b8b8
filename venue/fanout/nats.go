package fanout

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/good-offices/goodoffices/venue"
)

// NATS carries notices over a NATS server.
type NATS struct {
	nc      *nats.Conn
	subject string
	node    string
	log     *slog.Logger

	mu    sync.Mutex
	apply func(venue.PeerChange)
	sub   *nats.Subscription

	up       atomic.Bool
	dropped  atomic.Int64
	received atomic.Int64
	lastWarn atomic.Int64
}

// Subject returns the NATS subject of a venue's notices.
func Subject(venueName string) string {
	var b strings.Builder
	for _, r := range venueName {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return "goodoffices.venue." + b.String() + ".changes"
}

// DialNATS connects to the NATS server at url (nats://host:port, or several
// comma-separated). It keeps reconnecting for as long as the node runs.
// Call Start once the venue exists; notices published before are dropped.
func DialNATS(ctx context.Context, url string, log *slog.Logger) (*NATS, error) {
	var rb [8]byte
	rand.Read(rb[:])
	b := &NATS{node: hex.EncodeToString(rb[:]), log: log}
	opts := []nats.Option{
		nats.Name("goodoffices venue " + b.node),
		nats.NoEcho(), // this node's own notices are applied already
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			b.up.Store(false)
			log.Warn("NATS connection lost: other nodes' changes reach this node by polling until it is back", "err", err)
		}),
		nats.ReconnectHandler(func(*nats.Conn) {
			b.up.Store(true)
			log.Info("NATS connection back: catching up")
			b.applyChange(venue.PeerChange{All: true})
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			// A slow consumer lost notices: treat everything as changed.
			log.Warn("NATS error: catching up", "err", err)
			b.applyChange(venue.PeerChange{All: true})
		}),
	}
	done := make(chan struct{})
	var nc *nats.Conn
	var err error
	go func() {
		defer close(done)
		nc, err = nats.Connect(url, opts...)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		<-done
		if nc != nil {
			nc.Close()
		}
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("failed to connect to NATS: %w", err)
	}
	b.nc = nc
	b.up.Store(true)
	return b, nil
}

// Node returns this node's random ID, sent with its notices.
func (b *NATS) Node() string { return b.node }

// Connected reports whether the connection to NATS is up.
func (b *NATS) Connected() bool { return b.up.Load() && b.nc.IsConnected() }

// Publish implements Publisher. While NATS is unreachable the client
// buffers notices and sends them when it is back.
func (b *NATS) Publish(n *Notice) {
	b.mu.Lock()
	subject := b.subject
	b.mu.Unlock()
	if subject == "" {
		return
	}
	n.Node = b.node
	if err := b.nc.Publish(subject, n.Marshal()); err != nil {
		b.dropped.Add(1)
		if now := time.Now().Unix(); b.lastWarn.Swap(now) != now {
			b.log.Warn("failed to publish change notice; other nodes will catch up later", "err", err)
		}
	}
}

// Start subscribes to the notices of the other nodes of the venue named
// venueName and applies each with apply (the venue's PeerChanged).
func (b *NATS) Start(venueName string, apply func(venue.PeerChange)) error {
	subject := Subject(venueName)
	b.mu.Lock()
	b.apply, b.subject = apply, subject
	b.mu.Unlock()
	sub, err := b.nc.Subscribe(subject, func(m *nats.Msg) {
		n, err := ParseNotice(m.Data)
		if err != nil {
			b.log.Warn("ignoring malformed change notice", "err", err)
			return
		}
		if n.Node == b.node {
			return
		}
		b.received.Add(1)
		b.applyChange(n.Change())
	})
	if err != nil {
		return fmt.Errorf("failed to subscribe to %s: %w", subject, err)
	}
	// Generous limits: a notice is small, and losing some only costs a
	// catch-up (see ErrorHandler).
	sub.SetPendingLimits(1<<20, 256<<20)
	b.mu.Lock()
	b.sub = sub
	b.mu.Unlock()
	if err := b.nc.Flush(); err != nil {
		return fmt.Errorf("failed to subscribe to %s: %w", subject, err)
	}
	// What the venue loaded before the subscription may already be stale.
	b.applyChange(venue.PeerChange{All: true})
	return nil
}

func (b *NATS) applyChange(c venue.PeerChange) {
	b.mu.Lock()
	apply := b.apply
	b.mu.Unlock()
	if apply != nil {
		apply(c)
	}
}

// Close flushes pending notices and closes the connection.
func (b *NATS) Close() {
	b.mu.Lock()
	b.apply = nil
	b.mu.Unlock()
	if b.nc.IsConnected() {
		b.nc.FlushTimeout(2 * time.Second)
	}
	b.nc.Close()
}
