package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/good-offices/goodoffices/venue/client"
)

// HTTP/1.1 writers.
//
// By default a writer makes its appends itself, as HTTP load generators
// such as wrk and h2load do: one kept-alive HTTP/1.1 connection per venue
// node, a request written in one system call and the answer read from a
// buffered reader on the same goroutine. Go's net/http client costs about
// 40 µs of CPU per request on the two cores of BENCHMARKS.md (two
// goroutines per connection, a request and a response object per call),
// against about 15 µs this way; on a machine where the benchmark and the
// venue share the CPUs, that difference is the venue's. The venue sees the
// same requests either way (VenueTarget.GoClient measures with the venue's
// Go client, as desks use it).

// maxResponse bounds the body of an answer the writers read.
const maxResponse = 1 << 20

// requestTimeout bounds one request of an HTTP/1.1 writer.
const requestTimeout = 60 * time.Second

// An http1Conn is a writer's connection to one venue node.
type http1Conn struct {
	addr  string // host:port to dial
	host  string // the Host header
	await bool   // send Goodoffices-Await: checkpoint
	// token returns the device's bearer token; fresh asks for a new one
	// (after a 401).
	token func(ctx context.Context, fresh bool) (string, error)

	conn net.Conn
	br   *bufio.Reader
	req  []byte // the request being written, reused
	resp []byte // the body of the last answer, reused
}

func newHTTP1Conn(venueURL string, c *client.Client, await bool) (*http1Conn, error) {
	u, err := url.Parse(venueURL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("HTTP/1.1 writers need an http:// venue URL, not %q (use the Go client for https)", venueURL)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	return &http1Conn{
		addr: addr, host: u.Host, await: await,
		token: func(ctx context.Context, fresh bool) (string, error) {
			if fresh {
				if err := c.Authenticate(ctx); err != nil {
					return "", err
				}
			}
			return c.BearerToken(ctx)
		},
	}, nil
}

// post sends body to path and returns the body of a 2xx answer; any other
// answer is a *client.Error. It authenticates again once after a 401.
func (c *http1Conn) post(ctx context.Context, path, contentType string, body []byte) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		tok, err := c.token(ctx, attempt > 0)
		if err != nil {
			return nil, err
		}
		status, data, err := c.roundTrip(ctx, path, contentType, tok, body)
		if err != nil {
			return nil, err
		}
		if status/100 == 2 {
			return data, nil
		}
		if status == http.StatusUnauthorized && attempt == 0 {
			continue
		}
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = http.StatusText(status)
		}
		return nil, &client.Error{Status: status, Message: e.Error}
	}
}

// roundTrip writes one request and reads its answer, dialling first if the
// connection is not open. A failed exchange closes the connection: the next
// request opens a new one.
func (c *http1Conn) roundTrip(ctx context.Context, path, contentType, token string, body []byte) (int, []byte, error) {
	if c.conn == nil {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", c.addr)
		if err != nil {
			return 0, nil, fmt.Errorf("failed to reach venue: %w", err)
		}
		c.conn = conn
		if c.br == nil {
			c.br = bufio.NewReaderSize(conn, 4096)
		} else {
			c.br.Reset(conn)
		}
	}
	deadline := time.Now().Add(requestTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.conn.SetDeadline(deadline)

	r := append(c.req[:0], "POST "...)
	r = append(r, path...)
	r = append(r, " HTTP/1.1\r\nHost: "...)
	r = append(r, c.host...)
	r = append(r, "\r\nAuthorization: Bearer "...)
	r = append(r, token...)
	r = append(r, "\r\nContent-Type: "...)
	r = append(r, contentType...)
	if c.await {
		r = append(r, "\r\nGoodoffices-Await: checkpoint"...)
	}
	r = append(r, "\r\nContent-Length: "...)
	r = strconv.AppendInt(r, int64(len(body)), 10)
	r = append(r, "\r\n\r\n"...)
	r = append(r, body...)
	c.req = r
	if _, err := c.conn.Write(r); err != nil {
		c.close()
		return 0, nil, fmt.Errorf("failed to send request: %w", err)
	}
	status, data, keep, err := readResponse(c.br, c.resp[:0], maxResponse)
	if err != nil {
		c.close()
		return 0, nil, fmt.Errorf("failed to read the venue's answer: %w", err)
	}
	c.resp = data
	if !keep {
		c.close()
	}
	return status, data, nil
}

func (c *http1Conn) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

var (
	errMalformed = errors.New("malformed HTTP/1.1 response")
	errTooLarge  = errors.New("HTTP response too large")
)

// maxHeaders bounds the header lines of one response.
const maxHeaders = 64

// readResponse reads one HTTP/1.1 response from br: its status code, its
// body (appended to buf, at most max bytes, with Content-Length or chunked
// transfer coding) and whether the connection stays open. Header lines
// longer than br's buffer, more than maxHeaders of them, and bodies without
// a length are errors; trailers are read and dropped.
func readResponse(br *bufio.Reader, buf []byte, max int) (status int, body []byte, keep bool, err error) {
	line, err := readLine(br)
	if err != nil {
		return 0, nil, false, err
	}
	// "HTTP/1.1 201 Created": the version, a space, three digits, and a
	// space before the reason phrase (which may be empty).
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || (line[7] != '0' && line[7] != '1') || line[8] != ' ' ||
		(len(line) > 12 && line[12] != ' ') {
		return 0, nil, false, errMalformed
	}
	for _, d := range line[9:12] {
		if d < '0' || d > '9' {
			return 0, nil, false, errMalformed
		}
		status = status*10 + int(d-'0')
	}
	if status < 100 {
		return 0, nil, false, errMalformed
	}
	keep = line[7] == '1'
	length, chunked := int64(-1), false
	for n := 0; ; n++ {
		if n == maxHeaders {
			return 0, nil, false, errTooLarge
		}
		line, err := readLine(br)
		if err != nil {
			return 0, nil, false, err
		}
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !validField(name, value) {
			return 0, nil, false, errMalformed
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "Content-Length"):
			v, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || v < 0 || (length >= 0 && v != length) {
				return 0, nil, false, errMalformed
			}
			length = v
		case asciiEqualFold(name, "Transfer-Encoding"):
			if !asciiEqualFold(value, "chunked") {
				return 0, nil, false, fmt.Errorf("%w: transfer coding %q", errMalformed, value)
			}
			chunked = true
		case asciiEqualFold(name, "Connection"):
			if asciiEqualFold(value, "close") {
				keep = false
			}
		}
	}
	switch {
	case status < 200 || status == http.StatusNoContent || status == http.StatusNotModified:
		if status < 200 {
			return 0, nil, false, fmt.Errorf("%w: informational status %d", errMalformed, status)
		}
		return status, buf, keep, nil
	case chunked && length >= 0:
		return 0, nil, false, fmt.Errorf("%w: both Content-Length and chunked", errMalformed)
	case chunked && line[7] == '0':
		return 0, nil, false, fmt.Errorf("%w: chunked in HTTP/1.0", errMalformed)
	case chunked:
		body, err = readChunked(br, buf, max)
		return status, body, keep, err
	case length < 0:
		return 0, nil, false, fmt.Errorf("%w: no length", errMalformed)
	case length > int64(max):
		return 0, nil, false, errTooLarge
	}
	body = grow(buf, int(length))
	if _, err := io.ReadFull(br, body[len(buf):]); err != nil {
		return 0, nil, false, err
	}
	return status, body, keep, nil
}

// readChunked reads a chunked body (RFC 9112 §7.1) and its trailers.
func readChunked(br *bufio.Reader, buf []byte, max int) ([]byte, error) {
	for {
		line, err := readLine(br)
		if err != nil {
			return nil, err
		}
		digits, ext, _ := bytes.Cut(line, []byte(";")) // chunk extensions are ignored
		if len(digits) == 0 || len(digits) > 15 || !validField([]byte("x"), ext) || bytes.IndexByte(ext, '\t') >= 0 {
			return nil, errMalformed
		}
		var size int64
		for _, c := range digits {
			switch {
			case '0' <= c && c <= '9':
				c -= '0'
			case 'a' <= c && c <= 'f':
				c -= 'a' - 10
			case 'A' <= c && c <= 'F':
				c -= 'A' - 10
			default:
				return nil, errMalformed
			}
			size = size<<4 | int64(c)
		}
		if size == 0 {
			break
		}
		if size > int64(max-len(buf)) {
			return nil, errTooLarge
		}
		n := len(buf)
		buf = grow(buf, int(size))
		if _, err := io.ReadFull(br, buf[n:]); err != nil {
			return nil, err
		}
		if line, err := readLine(br); err != nil || len(line) != 0 {
			return nil, errMalformed
		}
	}
	for n := 0; ; n++ {
		if n == maxHeaders {
			return nil, errTooLarge
		}
		line, err := readLine(br)
		if err != nil {
			return nil, err
		}
		if len(line) == 0 {
			return buf, nil
		}
		if name, value, ok := bytes.Cut(line, []byte(":")); !ok || !validField(name, value) {
			return nil, errMalformed
		}
	}
}

// readLine reads one CRLF-terminated line without its CRLF; it must fit in
// br's buffer.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, errTooLarge
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, errMalformed
	}
	return line[:len(line)-2], nil
}

// validField reports whether name is a token and value holds no control
// characters but tabs (RFC 9110 §5.1, §5.5).
func validField(name, value []byte) bool {
	if len(name) == 0 {
		return false
	}
	for _, c := range name {
		if c >= 0x80 || c <= ' ' || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 || c == 0x7f {
			return false
		}
	}
	for _, c := range value {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// grow extends b by n bytes, reallocating if needed.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), len(b)+n)
		copy(nb, b)
		b = nb
	}
	return b[:len(b)+n]
}

// asciiEqualFold reports whether b equals s, ignoring ASCII case.
func asciiEqualFold[T []byte | string](b T, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(s) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// A FloorServer answers appends as a venue does (201 and an index, for one
// entry or a batch) without checking, storing or signing anything. The same
// writers against it measure what HTTP/1.1 alone costs on the machine:
// the ceiling of any venue behind Go's net/http there.
type FloorServer struct {
	URL  string
	srv  *http.Server
	next atomic.Int64 // the next index
	reqs atomic.Int64 // requests answered
}

// Requests returns the number of requests answered so far.
func (f *FloorServer) Requests() int64 { return f.reqs.Load() }

// StartFloor starts a FloorServer on a loopback port in this process.
func StartFloor() (*FloorServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &FloorServer{URL: "http://" + ln.Addr().String()}
	f.srv = &http.Server{Handler: http.HandlerFunc(f.serve), ReadHeaderTimeout: 10 * time.Second}
	go f.srv.Serve(ln)
	return f, nil
}

func (f *FloorServer) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxResponse))
	if err != nil || r.Method != http.MethodPost || r.Header.Get("Authorization") == "" {
		http.Error(w, `{"error":"not an append"}`, http.StatusBadRequest)
		return
	}
	out := append(make([]byte, 0, 64), `{"index":`...)
	if strings.HasSuffix(r.URL.Path, "/batch") {
		n := 0
		for len(body) >= 4 {
			l := int(body[0])<<24 | int(body[1])<<16 | int(body[2])<<8 | int(body[3])
			if l > len(body)-4 {
				break
			}
			body = body[4+l:]
			n++
		}
		first := f.next.Add(int64(n)) - int64(n)
		out = append(out[:0], `{"indexes":[`...)
		for i := range n {
			if i > 0 {
				out = append(out, ',')
			}
			out = strconv.AppendInt(out, first+int64(i), 10)
		}
		out = append(out, "]}\n"...)
	} else {
		out = strconv.AppendInt(out, f.next.Add(1)-1, 10)
		out = append(out, "}\n"...)
	}
	w.Header()["Content-Type"] = []string{"application/json"}
	w.WriteHeader(http.StatusCreated)
	w.Write(out)
	f.reqs.Add(1)
}

// Close stops the server.
func (f *FloorServer) Close() { f.srv.Close() }

// Writers returns n writers that append to f as to a venue with
// channels channels, batch entries per request.
func (f *FloorServer) Writers(n, channels, batch int) ([]Writer, error) {
	t := &VenueTarget{Batch: batch}
	for i := range channels {
		t.Channels = append(t.Channels, fmt.Sprintf("floor-%d", i))
	}
	out := make([]Writer, n)
	paths := t.paths()
	for i := range out {
		c, err := newHTTP1Conn(f.URL, nil, false)
		if err != nil {
			return nil, err
		}
		c.token = func(context.Context, bool) (string, error) { return "floor", nil }
		out[i] = &venueWriter{batch: batch, http1: []*http1Conn{c}, home: 0, channels: t.Channels, paths: paths}
	}
	return out, nil
}
