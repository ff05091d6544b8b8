// Package lane serves the most frequent requests of an HTTP/1.1 server
// itself and hands every other connection to net/http.
//
// A connection starts in the lane. While each request on it is one the
// server routes to the lane (Server.Serves) and its head falls within a
// strict subset of HTTP/1.1 (head.go: one Content-Length body, no transfer
// coding, no Expect, no Connection or Upgrade, a small head), the lane
// reads it, calls the server's handler with an ordinary *http.Request and
// writes the answer in one system call. At the first request outside that
// — another route, HTTP/2's preface, anything unusual or malformed — the
// connection, with the bytes already read, goes to net/http for the rest of
// its life. The lane never answers a request on its own: every answer is
// the handler's, and every error net/http's.
//
// What it saves is net/http's machinery around a small request on a
// kept-alive connection: a goroutine reading in the background while the
// handler runs, a header parser for any input, a response writer that
// can stream. On two cores serving tens of thousands of appends a second
// that was the largest cost left outside the handler (BENCHMARKS.md,
// seventh pass of issue 16).
//
// What the lane does not do: stream answers (it sends what the handler
// wrote when the handler returns, at most maxAnswer bytes), informational
// (1xx) answers, trailers, or noticing a client that hung up while the
// handler runs (the request's context ends when the handler returns).
// Routes that need any of these must not be given to it.
package lane

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// A Server serves connections in the lane and hands them over to HTTP.
type Server struct {
	// HTTP serves the connections handed over. Its Handler serves the
	// lane's requests too, and its ConnContext, ReadHeaderTimeout,
	// ReadTimeout, WriteTimeout, IdleTimeout and ErrorLog apply in the
	// lane as they do in net/http.
	HTTP *http.Server
	// Serves reports whether a request for this method and target (as
	// sent: "POST", "/logs/x/entries") is served in the lane.
	Serves func(method, target string) bool

	shutdown   atomic.Bool
	served     atomic.Int64
	handedOver atomic.Int64
	mu         sync.Mutex
	conns      map[*conn]struct{}
	handoff    *handoffListener
}

// Serve accepts connections on ln until Shutdown or Close, serving them in
// the lane and handing them over to s.HTTP. It returns
// http.ErrServerClosed after Shutdown or Close.
func (s *Server) Serve(ln net.Listener) error {
	hl := &handoffListener{Listener: ln, conns: make(chan net.Conn), done: make(chan struct{})}
	s.mu.Lock()
	if s.shutdown.Load() {
		s.mu.Unlock()
		return http.ErrServerClosed
	}
	s.handoff = hl
	if s.conns == nil {
		s.conns = map[*conn]struct{}{}
	}
	s.mu.Unlock()
	httpDone := make(chan error, 1)
	go func() { httpDone <- s.HTTP.Serve(hl) }()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.shutdown.Load() || errors.Is(err, net.ErrClosed) {
				hl.Close()
				if herr := <-httpDone; !errors.Is(herr, http.ErrServerClosed) && !s.shutdown.Load() {
					return herr
				}
				if s.shutdown.Load() {
					return http.ErrServerClosed
				}
				return err
			}
			// Out of file descriptors and the like: wait and go on, as
			// net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.logf("lane: accept error: %v; retrying in %v", err, delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		c := &conn{s: s, nc: nc}
		if !s.track(c) {
			nc.Close()
			continue
		}
		go c.serve()
	}
}

// Shutdown stops accepting, lets net/http shut down its connections
// (http.Server.Shutdown), closes the lane's idle connections and waits for
// the lane's active ones to finish their request, until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdown.Store(true)
	err := s.HTTP.Shutdown(ctx) // closes the handoff listener, and with it ln
	s.mu.Lock()
	if s.handoff != nil {
		s.handoff.Close()
	}
	s.mu.Unlock()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.closeIdle() == 0 {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-tick.C:
		}
	}
}

// Served returns how many requests the lane has served.
func (s *Server) Served() int64 { return s.served.Load() }

// HandedOver returns how many connections the lane has handed to net/http.
func (s *Server) HandedOver() int64 { return s.handedOver.Load() }

// Close closes the listener and every connection at once.
func (s *Server) Close() error {
	s.shutdown.Store(true)
	err := s.HTTP.Close()
	s.mu.Lock()
	if s.handoff != nil {
		s.handoff.Close()
	}
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	return err
}

// track adds c to the lane's connections, unless the server is shutting
// down.
func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown.Load() {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// closeIdle closes the lane's idle connections and returns how many
// connections the lane still has.
func (s *Server) closeIdle() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.state.CompareAndSwap(stateIdle, stateClosed) {
			c.nc.Close()
		}
	}
	return len(s.conns)
}

func (s *Server) logf(format string, args ...any) {
	if s.HTTP.ErrorLog != nil {
		s.HTTP.ErrorLog.Printf(format, args...)
	} else {
		log.Printf(format, args...)
	}
}

// The states of a lane connection.
const (
	stateIdle   int32 = iota // waiting for a request
	stateActive              // reading or serving one
	stateClosed              // closed by Shutdown while idle
)

// A conn is a connection in the lane.
type conn struct {
	s     *Server
	nc    net.Conn
	br    *bufio.Reader
	state atomic.Int32
	w     response
	// pending is what readWholeHead read past the buffer, for the
	// hand-over.
	pending []byte
}

// serve serves c's requests until it closes or is handed over.
func (c *conn) serve() {
	s := c.s
	handedOver := false
	defer func() {
		if v := recover(); v != nil && v != http.ErrAbortHandler { // as net/http: an aborted handler is not logged
			buf := make([]byte, 64<<10)
			buf = buf[:runtime.Stack(buf, false)]
			s.logf("lane: panic serving %v: %v\n%s", c.nc.RemoteAddr(), v, buf)
		}
		if !handedOver {
			c.nc.Close()
		}
		s.untrack(c)
	}()
	ctx := context.WithValue(context.Background(), http.ServerContextKey, s.HTTP)
	ctx = context.WithValue(ctx, http.LocalAddrContextKey, c.nc.LocalAddr())
	if cc := s.HTTP.ConnContext; cc != nil {
		ctx = cc(ctx, c.nc)
	}
	c.br = bufio.NewReaderSize(c.nc, maxHead)
	remote := c.nc.RemoteAddr().String()
	for first := true; ; first = false {
		// A new connection has the header's time for its first request,
		// a kept-alive one the idle time between requests, as in
		// net/http.
		wait := s.idleTimeout()
		if first {
			wait = s.headerTimeout()
		}
		if wait > 0 {
			c.nc.SetReadDeadline(time.Now().Add(wait))
		} else {
			c.nc.SetReadDeadline(time.Time{})
		}
		// Between requests net/http waits for 4 bytes and closes
		// without an answer if they do not come; so does the lane.
		peek := 1
		if !first {
			peek = 4
		}
		b, err := c.br.Peek(peek)
		if err != nil {
			return
		}
		if !first {
			// After a POST (every request the lane serves), net/http
			// skips up to 4 CR and LF bytes, RFC 9112 section 2.2's
			// tolerance for clients that end a body with a line
			// break; so does the lane.
			n := 0
			for n < len(b) && (b[n] == '\r' || b[n] == '\n') {
				n++
			}
			c.br.Discard(n)
		}
		if !c.state.CompareAndSwap(stateIdle, stateActive) {
			return // closed by Shutdown
		}
		if d := s.headerTimeout(); d > 0 {
			c.nc.SetReadDeadline(time.Now().Add(d))
		} else {
			c.nc.SetReadDeadline(time.Time{})
		}
		h, n, ok := c.readHead()
		if !ok {
			return
		}
		if n == 0 || !s.Serves(h.method, h.target) {
			s.handedOver.Add(1)
			handedOver = c.handOver()
			return
		}
		s.served.Add(1)
		if !c.serveRequest(ctx, h, n, remote) {
			return
		}
		if s.shutdown.Load() || !c.state.CompareAndSwap(stateActive, stateIdle) {
			return
		}
	}
}

func (s *Server) idleTimeout() time.Duration {
	if s.HTTP.IdleTimeout > 0 {
		return s.HTTP.IdleTimeout
	}
	return s.HTTP.ReadTimeout
}

func (s *Server) headerTimeout() time.Duration {
	if s.HTTP.ReadHeaderTimeout > 0 {
		return s.HTTP.ReadHeaderTimeout
	}
	return s.HTTP.ReadTimeout
}

// readHead reads until the buffer holds a request head the lane serves
// (n > 0) or one it hands over (n == 0). ok is false if the client was too
// slow: the connection is then closed, as net/http closes one that times
// out before a whole head.
func (c *conn) readHead() (h head, n int, ok bool) {
	for {
		b, _ := c.br.Peek(c.br.Buffered())
		h, n, v := parseHead(b)
		switch v {
		case served:
			return h, n, true
		case handOver:
			return head{}, 0, c.readWholeHead()
		}
		if _, err := c.br.Peek(len(b) + 1); err != nil {
			// Too slow: closed, as net/http closes. Anything else
			// (the client half-closed mid-head, say): net/http
			// reads the same bytes and the same error, and answers
			// as it does.
			return head{}, 0, !errors.Is(err, os.ErrDeadlineExceeded)
		}
	}
}

// readWholeHead reads on, within the lane's deadline for the head, until
// what was read holds a whole head as net/http reads it (up to an empty
// line, with CRLF or bare LF line ends) or more than net/http takes, and
// keeps it for the hand-over. net/http's own header timeout starts again
// when it gets the connection; with the head already there, it waits for
// nothing, and a client trickling a head has the time the venue promises
// for one, not twice that.
func (c *conn) readWholeHead() bool {
	data, _ := c.br.Peek(c.br.Buffered())
	if headEnd(data, 0) {
		return true
	}
	data = slices.Clone(data)
	c.br.Discard(len(data))
	limit := c.s.HTTP.MaxHeaderBytes
	if limit <= 0 {
		limit = http.DefaultMaxHeaderBytes
	}
	limit += maxHead // net/http's slack past its own limit
	buf := make([]byte, maxHead)
	for len(data) <= limit {
		n, err := c.br.Read(buf)
		from := len(data)
		data = append(data, buf[:n]...)
		if headEnd(data, from) {
			break
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return false
			}
			break // net/http meets the same error after these bytes
		}
	}
	c.pending = data
	return true
}

// headEnd reports whether b holds an empty line (LF LF, or LF CR LF)
// ending after from.
func headEnd(b []byte, from int) bool {
	from = max(0, from-2)
	return bytes.Contains(b[from:], []byte("\n\n")) || bytes.Contains(b[from:], []byte("\n\r\n"))
}

// handOver gives the connection, with what was read and not consumed, to
// net/http. It reports whether net/http took it.
func (c *conn) handOver() bool {
	c.nc.SetReadDeadline(time.Time{})
	rc := &replayConn{Conn: c.nc, pending: c.pending}
	if n := c.br.Buffered(); n > 0 {
		b, _ := c.br.Peek(n)
		rc.pending = append(rc.pending, b...)
	}
	return c.s.handoff.give(rc)
}

// serveRequest serves one request whose head (n bytes) is in the buffer,
// and reports whether the connection stays open for the next.
func (c *conn) serveRequest(ctx context.Context, h head, n int, remote string) bool {
	c.br.Discard(n)
	s := c.s
	if s.HTTP.WriteTimeout > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(s.HTTP.WriteTimeout))
	}
	body := &body{r: c.br, n: h.contentLength}
	r := &http.Request{
		Method:        h.method,
		URL:           &url.URL{Path: h.target},
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h.header,
		Body:          body,
		ContentLength: h.contentLength,
		Host:          h.host,
		RemoteAddr:    remote,
		RequestURI:    h.target,
	}
	if h.contentLength == 0 {
		r.Body = http.NoBody
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r = r.WithContext(rctx)
	c.w.reset(c)
	s.HTTP.Handler.ServeHTTP(&c.w, r)
	keep := body.n == 0 && !s.shutdown.Load()
	return c.w.finish(keep) && keep
}

// A body is a request body of a known length, read from the connection's
// buffer.
type body struct {
	r *bufio.Reader
	n int64 // bytes left
}

func (b *body) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	k, err := b.r.Read(p)
	b.n -= int64(k)
	if err == io.EOF && b.n > 0 {
		err = io.ErrUnexpectedEOF
	}
	return k, err
}

func (b *body) Close() error { return nil }

// maxAnswer bounds what a handler may write in the lane.
const maxAnswer = 64 << 10

// errAnswerTooLarge is returned to a handler that writes past maxAnswer.
var errAnswerTooLarge = errors.New("lane: answer larger than the lane allows")

// A response is the lane's http.ResponseWriter: it keeps the status and
// header fields as they are at WriteHeader and the body as written, and
// sends them together when the handler returns.
type response struct {
	c      *conn
	header http.Header
	status int
	out    []byte // status line and header fields, from WriteHeader
	body   []byte
	close  bool // the handler asked for Connection: close
}

func (w *response) reset(c *conn) {
	w.c = c
	if w.header == nil {
		w.header = make(http.Header, 4)
	} else {
		clear(w.header)
	}
	w.status, w.out, w.body, w.close = 0, w.out[:0], w.body[:0], false
}

func (w *response) Header() http.Header { return w.header }

// WriteHeader records the status and the header fields as they are now
// (later changes to the map are ignored, as net/http ignores them).
// Informational statuses are not sent.
func (w *response) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code)) // as net/http
	}
	if w.status != 0 || code < 200 {
		return
	}
	w.status = code
	out := append(w.out[:0], "HTTP/1.1 "...)
	out = strconv.AppendInt(out, int64(code), 10)
	out = append(out, ' ')
	out = append(out, http.StatusText(code)...)
	out = append(out, "\r\n"...)
	var keys [16]string
	ks := keys[:0]
	for k := range w.header {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	for _, k := range ks {
		switch k {
		case "Content-Length", "Transfer-Encoding", "Trailer":
			continue // the lane frames the answer itself
		case "Connection":
			w.close = slices.Contains(w.header[k], "close")
			continue
		}
		if !validName([]byte(k)) {
			continue
		}
		for _, v := range w.header[k] {
			out = append(out, k...)
			out = append(out, ": "...)
			out = appendValue(out, v)
			out = append(out, "\r\n"...)
		}
	}
	if _, ok := w.header["Date"]; !ok {
		out = append(out, "Date: "...)
		out = append(out, httpDate()...)
		out = append(out, "\r\n"...)
	}
	w.out = out
}

// appendValue appends v with line breaks turned into spaces and the ends
// trimmed, as net/http writes header values.
func appendValue(out []byte, v string) []byte {
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		out = append(out, c)
	}
	return out
}

func (w *response) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if len(w.body)+len(p) > maxAnswer {
		return 0, errAnswerTooLarge
	}
	w.body = append(w.body, p...)
	return len(p), nil
}

// SetReadDeadline and SetWriteDeadline serve http.ResponseController.
func (w *response) SetReadDeadline(t time.Time) error  { return w.c.nc.SetReadDeadline(t) }
func (w *response) SetWriteDeadline(t time.Time) error { return w.c.nc.SetWriteDeadline(t) }

func bodyAllowed(status int) bool {
	return status != http.StatusNoContent && status != http.StatusNotModified
}

// finish sends the answer and reports whether it was sent and the
// connection may stay open (keep, and the handler did not ask to close).
func (w *response) finish(keep bool) bool {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	out := w.out
	if len(w.body) > 0 && len(w.header["Content-Type"]) == 0 {
		out = append(out, "Content-Type: "...)
		out = append(out, http.DetectContentType(w.body)...)
		out = append(out, "\r\n"...)
	}
	keep = keep && !w.close
	if !keep {
		out = append(out, "Connection: close\r\n"...)
	}
	if bodyAllowed(w.status) {
		out = append(out, "Content-Length: "...)
		out = strconv.AppendInt(out, int64(len(w.body)), 10)
		out = append(out, "\r\n"...)
	}
	out = append(out, "\r\n"...)
	out = append(out, w.body...)
	w.out = out
	_, err := w.c.nc.Write(out)
	return err == nil && keep
}

// The Date header field, formatted once a second.
var date struct {
	mu   sync.Mutex
	unix int64
	text string
}

func httpDate() string {
	now := time.Now()
	date.mu.Lock()
	defer date.mu.Unlock()
	if now.Unix() != date.unix {
		date.unix, date.text = now.Unix(), now.UTC().Format(http.TimeFormat)
	}
	return date.text
}

// A handoffListener is what net/http serves: the connections the lane
// hands over. Closing it closes the lane's listener too.
type handoffListener struct {
	net.Listener
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	var err error
	l.once.Do(func() {
		close(l.done)
		err = l.Listener.Close()
	})
	return err
}

// give hands c to net/http; false if the listener is closed (c is then
// closed).
func (l *handoffListener) give(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.done:
		c.Close()
		return true
	}
}

// A replayConn is a connection handed over: it returns the bytes the lane
// had read first.
type replayConn struct {
	net.Conn
	pending []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// NetConn returns the connection accepted from the listener, as
// tls.Conn.NetConn does (a ConnContext hook may look for its own type).
func (c *replayConn) NetConn() net.Conn { return c.Conn }
