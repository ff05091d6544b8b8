package bench

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
)

// A RawFloorServer answers appends as FloorServer does, but without Go's
// net/http: one goroutine per connection reads each request with a
// buffered reader (request line, headers up to the blank line, a body of
// the Content-Length given) and writes a fixed 201 with the next index, in
// one system call. It checks nothing beyond the framing and is not a
// server to expose: it measures what a request and its answer cost on the
// machine below any HTTP library (system calls, Go's network poller, the
// scheduler), so that the two floors together say how much of the
// venue's cost per append is net/http's.
type RawFloorServer struct {
	FloorServer
	ln    net.Listener
	mu    sync.Mutex
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

// maxRawHeaderLines bounds the header lines of one request.
const maxRawHeaderLines = 100

// StartRawFloor starts a RawFloorServer on a loopback port in this
// process.
func StartRawFloor() (*RawFloorServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &RawFloorServer{ln: ln, conns: map[net.Conn]bool{}}
	f.URL = "http://" + ln.Addr().String()
	f.wg.Add(1)
	go f.accept()
	return f, nil
}

func (f *RawFloorServer) accept() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		f.conns[c] = true
		f.mu.Unlock()
		f.wg.Add(1)
		go f.serveConn(c)
	}
}

// serveConn answers the requests of one connection until it fails.
func (f *RawFloorServer) serveConn(c net.Conn) {
	defer f.wg.Done()
	defer func() {
		c.Close()
		f.mu.Lock()
		delete(f.conns, c)
		f.mu.Unlock()
	}()
	br := bufio.NewReaderSize(c, 16<<10)
	body := make([]byte, 0, 4096)
	out := make([]byte, 0, 256)
	for {
		length := -1
		for lines := 0; ; lines++ {
			line, err := br.ReadSlice('\n')
			if err != nil || lines > maxRawHeaderLines {
				return
			}
			line = bytes.TrimRight(line, "\r\n")
			if len(line) == 0 {
				break
			}
			if lines == 0 {
				continue // the request line
			}
			name, value, ok := bytes.Cut(line, []byte(":"))
			if ok && bytes.EqualFold(name, []byte("Content-Length")) {
				n, err := strconv.Atoi(string(bytes.TrimSpace(value)))
				if err != nil || n < 0 || n > maxResponse {
					return
				}
				length = n
			}
		}
		if length < 0 {
			return // the writers always send a Content-Length
		}
		body = slices.Grow(body[:0], length)[:length] // entries up to --size, larger than the first buffer
		if _, err := io.ReadFull(br, body); err != nil {
			return
		}
		idx := f.next.Add(1) - 1
		out = append(out[:0], "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: "...)
		n := len(`{"index":}`) + 1 + len(strconv.FormatInt(idx, 10))
		out = strconv.AppendInt(out, int64(n), 10)
		out = append(out, "\r\n\r\n{\"index\":"...)
		out = strconv.AppendInt(out, idx, 10)
		out = append(out, "}\n"...)
		if _, err := c.Write(out); err != nil {
			return
		}
		f.reqs.Add(1)
	}
}

// Close stops the server and closes its connections.
func (f *RawFloorServer) Close() {
	f.ln.Close()
	f.mu.Lock()
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}
