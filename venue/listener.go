package venue

import (
	"bytes"
	"container/list"
	"context"
	"net"
	"sync"
)

// LimitListener returns a listener that holds at most n simultaneous
// connections, of which at most pending have not yet carried an
// authenticated request (see ConnContext; pending <= 0: n/4, at least 1).
//
// A connection is pending until a request on it authenticates as the host
// admin or a registered device; it is then trusted. When a new client
// arrives and all n slots are taken, or pending connections are at their
// budget, the oldest pending connection is closed to make room: clients
// that never authenticate (a slow-body or idle flood) cannot hold the slots
// of authenticated desks, nor keep a new client (a health check, a desk
// about to authenticate) out for longer than it takes to be accepted. Only
// when all n are trusted does a new client wait in the kernel's backlog.
func LimitListener(l net.Listener, n, pending int) net.Listener {
	if n <= 0 {
		return l
	}
	if pending <= 0 {
		pending = max(1, n/4)
	}
	ll := &limitListener{Listener: l, n: n, pendingMax: min(pending, n)}
	ll.cond = sync.NewCond(&ll.mu)
	return ll
}

type limitListener struct {
	net.Listener
	n, pendingMax int

	mu      sync.Mutex
	cond    *sync.Cond // signalled when a slot is released or the listener closed
	total   int
	pending list.List // of *limitConn, oldest first
	closed  bool
}

func (l *limitListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	for l.total >= l.n && l.pending.Len() == 0 && !l.closed {
		l.cond.Wait()
	}
	closed := l.closed
	l.mu.Unlock()
	if closed {
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	lc := &limitConn{Conn: c, l: l}
	var evict []*limitConn
	l.mu.Lock()
	for (l.total >= l.n || l.pending.Len() >= l.pendingMax) && l.pending.Len() > 0 {
		old := l.pending.Remove(l.pending.Front()).(*limitConn)
		old.elem, old.released = nil, true
		l.total--
		evict = append(evict, old)
	}
	l.total++
	lc.elem = l.pending.PushBack(lc)
	l.mu.Unlock()
	for _, o := range evict {
		o.Conn.Close()
	}
	return lc, nil
}

func (l *limitListener) Close() error {
	l.mu.Lock()
	l.closed = true
	l.cond.Broadcast()
	l.mu.Unlock()
	return l.Listener.Close()
}

type limitConn struct {
	net.Conn
	l        *limitListener
	elem     *list.Element // in l.pending while pending; guarded by l.mu
	released bool          // guarded by l.mu
}

// Write sends p, turning an error that net/http's server answers on its
// own (before any handler) into the venue's JSON error.
func (c *limitConn) Write(p []byte) (int, error) {
	if len(p) < 1024 && bytes.HasPrefix(p, []byte("HTTP/1.1 ")) && bytes.Contains(p, []byte(serverErrorHeaders)) {
		if _, err := c.Conn.Write(rewriteServerError(p)); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// CloseWrite half-closes the connection, as net/http's server does before
// closing after an error it answered itself.
func (c *limitConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// trust moves c out of the pending budget.
func (c *limitConn) trust() {
	c.l.mu.Lock()
	if c.elem != nil {
		c.l.pending.Remove(c.elem)
		c.elem = nil
	}
	c.l.mu.Unlock()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.l.mu.Lock()
	if !c.released {
		c.released = true
		c.l.total--
		if c.elem != nil {
			c.l.pending.Remove(c.elem)
			c.elem = nil
		}
		c.l.cond.Signal()
	}
	c.l.mu.Unlock()
	return err
}

type connKey struct{}

// ConnContext is an http.Server ConnContext hook for a server serving a
// LimitListener: it lets the venue's handler mark a connection trusted once
// a request on it authenticated. It looks through connections that wrap the
// one accepted and say so with a NetConn method.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	for {
		switch cc := c.(type) {
		case *limitConn:
			return context.WithValue(ctx, connKey{}, cc)
		case interface{ NetConn() net.Conn }: // a connection a lane handed over (internal/lane)
			c = cc.NetConn()
		default:
			return ctx
		}
	}
}

// trustConn marks the connection of a request trusted (see LimitListener).
func trustConn(ctx context.Context) {
	if lc, ok := ctx.Value(connKey{}).(*limitConn); ok {
		lc.trust()
	}
}
