package bench

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func read(t *testing.T, s string, max int) (int, string, bool, error) {
	t.Helper()
	br := bufio.NewReaderSize(strings.NewReader(s), 64)
	status, body, keep, err := readResponse(br, nil, max)
	return status, string(body), keep, err
}

func TestReadResponse(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		status   int
		body     string
		keep     bool
	}{
		{"length", "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"index\":42}\n", 201, "{\"index\":42}\n", true},
		{"lower-case names", "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok", 200, "ok", true},
		{"no reason phrase", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", 200, "", true},
		{"close", "HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Length: 4\r\n\r\nslow", 429, "slow", false},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", 200, "x", false},
		{"chunked", "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n, world!!!\r\n0\r\nTrailer: x\r\n\r\n", 201, "hello, world!!!", true},
		{"no content", "HTTP/1.1 204 No Content\r\n\r\n", 204, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, keep, err := read(t, tc.in+"HTTP/1.1 500 next response\r\n", 1<<10)
			if err != nil || status != tc.status || body != tc.body || keep != tc.keep {
				t.Fatalf("got %d %q keep %v, %v; want %d %q keep %v", status, body, keep, err, tc.status, tc.body, tc.keep)
			}
		})
	}
}

func TestReadResponseRefuses(t *testing.T) {
	long := "HTTP/1.1 200 OK\r\nX-Long: " + strings.Repeat("a", 100) + "\r\nContent-Length: 0\r\n\r\n"
	many := "HTTP/1.1 200 OK\r\n" + strings.Repeat("X: y\r\n", maxHeaders) + "Content-Length: 0\r\n\r\n"
	for _, tc := range []struct {
		name, in string
		want     error
	}{
		{"empty", "", io.ErrUnexpectedEOF},
		{"not HTTP", "SSH-2.0-OpenSSH\r\n\r\n", errMalformed},
		{"HTTP/2 status line", "HTTP/2 200 OK\r\n\r\n", errMalformed},
		{"bare LF", "HTTP/1.1 200 OK\nContent-Length: 0\n\n", errMalformed},
		{"status not digits", "HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n", errMalformed},
		{"status run into reason", "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n", errMalformed},
		{"informational", "HTTP/1.1 100 Continue\r\n\r\n", errMalformed},
		{"no length", "HTTP/1.1 200 OK\r\n\r\nbody until close", errMalformed},
		{"negative length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", errMalformed},
		{"two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy", errMalformed},
		{"length and chunked", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n", errMalformed},
		{"other coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", errMalformed},
		{"header without colon", "HTTP/1.1 200 OK\r\nnonsense\r\n\r\n", errMalformed},
		{"line too long", long, errTooLarge},
		{"too many headers", many, errTooLarge},
		{"body too large", "HTTP/1.1 200 OK\r\nContent-Length: 1025\r\n\r\n", errTooLarge},
		{"chunks too large", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n200\r\n" + strings.Repeat("a", 512) + "\r\n201\r\n", errTooLarge},
		{"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", errMalformed},
		{"chunk without CRLF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n0\r\n\r\n", errMalformed},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _, err := read(t, tc.in, 1<<10)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %d %q, %v; want %v", status, body, err, tc.want)
			}
		})
	}
}

// FuzzReadResponse checks that no input makes readResponse panic or return
// more than it may, and that what it accepts net/http accepts alike.
func FuzzReadResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 201 Created\r\nContent-Length: 13\r\n\r\n{\"index\":42}\n"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}"))
	f.Fuzz(func(t *testing.T, in []byte) {
		const max = 256
		status, body, _, err := readResponse(bufio.NewReaderSize(bytes.NewReader(in), 128), nil, max)
		if err != nil {
			return
		}
		if status < 200 || status > 999 || len(body) > max {
			t.Fatalf("accepted status %d with %d bytes", status, len(body))
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(in)), nil)
		if err != nil {
			t.Fatalf("accepted what net/http refuses (%v): %q", err, in)
		}
		want, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("accepted what net/http refuses (%v): %q", err, in)
		}
		if resp.StatusCode != status || !bytes.Equal(want, body) {
			t.Fatalf("got %d %q, net/http %d %q", status, body, resp.StatusCode, want)
		}
	})
}

// TestRawFloorRefuses checks that the raw floor closes a connection whose
// request it cannot frame, instead of waiting for a body it cannot size,
// and that Close ends the connections it still holds.
func TestRawFloorRefuses(t *testing.T) {
	f, err := StartRawFloor()
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(f.URL, "http://")
	for _, req := range []string{
		"POST /logs/a/entries HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /logs/a/entries HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
		"POST /logs/a/entries HTTP/1.1\r\n" + strings.Repeat("X-A: b\r\n", maxRawHeaderLines+1) + "Content-Length: 0\r\n\r\n",
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		if b, err := io.ReadAll(c); err != nil || len(b) > 0 {
			t.Errorf("%q: read %q, %v; want the connection closed without an answer", req[:40], b, err)
		}
		c.Close()
	}
	// A good request is answered; the connection then stays open until Close.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "POST /logs/a/entries HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("good request: %v, %v", resp, err)
	}
	if body, _ := io.ReadAll(resp.Body); string(body) != "{\"index\":0}\n" {
		t.Fatalf("body %q", body)
	}
	f.Close()
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("connection still open after Close")
	}
}

// TestCloseWriters checks that writers hang up when closed, so that one
// run's connections do not stay open on the server through the next.
func TestCloseWriters(t *testing.T) {
	f, err := StartRawFloor()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ws, err := f.Writers(3, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	r := Load(t.Context(), ws, 2, 64, 0, 100*time.Millisecond)
	if r.Appends == 0 || r.Errors != 0 {
		t.Fatalf("load: %d appends, %d errors", r.Appends, r.Errors)
	}
	open := func() int {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.conns)
	}
	if n := open(); n != 3 {
		t.Fatalf("%d connections open during the run, want 3", n)
	}
	CloseWriters(ws)
	for deadline := time.Now().Add(10 * time.Second); open() > 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still open after CloseWriters", open())
		}
	}
}
