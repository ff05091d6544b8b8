package lane

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// startLane serves h on a loopback port through a lane that serves every
// POST to /lane. Each answer says who served it: "Served-By: lane" or
// "Served-By: net/http".
func startLane(t testing.TB, h http.HandlerFunc, tune ...func(*http.Server)) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		by := "net/http"
		if _, ok := w.(*response); ok {
			by = "lane"
		}
		w.Header().Set("Served-By", by)
		h(w, r)
	}), ReadHeaderTimeout: 10 * time.Second}
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	for _, f := range tune {
		f(srv)
	}
	s := &Server{HTTP: srv, Serves: func(method, target string) bool { return method == "POST" && target == "/lane" }}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return s, ln.Addr().String()
}

// echo answers 201 with the method, path and body it read.
func echo(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, "%s %s %s host=%s", r.Method, r.URL.Path, b, r.Host)
}

// dial connects to addr, with a deadline for the whole test.
func dial(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

func post(path, body string) string {
	return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: venue\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", path, len(body), body)
}

// roundTrips writes raw to a new connection and reads n answers.
func roundTrips(t *testing.T, addr, raw string, n int) []*http.Response {
	t.Helper()
	c, br := dial(t, addr)
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	return readAnswers(t, br, n)
}

func readAnswers(t *testing.T, br *bufio.Reader, n int) []*http.Response {
	t.Helper()
	var out []*http.Response
	for i := range n {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("answer %d: body: %v", i, err)
		}
		resp.Body = io.NopCloser(strings.NewReader(string(b)))
		resp.Status = string(b) // the body, for the checks below
		out = append(out, resp)
	}
	return out
}

func TestLaneServesThenHandsOver(t *testing.T) {
	_, addr := startLane(t, echo)
	// Three requests on one connection, written at once: two the lane
	// serves, then one it does not (another path), then one it would
	// (but the connection is net/http's by then).
	raw := post("/lane", "one") + post("/lane", "two") + post("/other", "three") + post("/lane", "four")
	answers := roundTrips(t, addr, raw, 4)
	want := []struct{ by, body string }{
		{"lane", "POST /lane one host=venue"},
		{"lane", "POST /lane two host=venue"},
		{"net/http", "POST /other three host=venue"},
		{"net/http", "POST /lane four host=venue"},
	}
	for i, a := range answers {
		if a.StatusCode != http.StatusCreated || a.Header.Get("Served-By") != want[i].by || a.Status != want[i].body {
			t.Errorf("answer %d: %d by %s: %q; want 201 by %s: %q", i, a.StatusCode, a.Header.Get("Served-By"), a.Status, want[i].by, want[i].body)
		}
		if a.Header.Get("Date") == "" || a.Header.Get("Content-Type") != "text/plain" || a.ContentLength != int64(len(want[i].body)) {
			t.Errorf("answer %d: header %v, length %d", i, a.Header, a.ContentLength)
		}
	}
}

func TestLaneHandsOverWhatItDoesNotServe(t *testing.T) {
	_, addr := startLane(t, echo)
	for _, c := range []struct{ name, raw, body string }{
		{"chunked", "POST /lane HTTP/1.1\r\nHost: venue\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "POST /lane abc host=venue"},
		{"GET", "GET /lane HTTP/1.1\r\nHost: venue\r\n\r\n", "GET /lane  host=venue"},
		{"expect", "POST /lane HTTP/1.1\r\nHost: venue\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nab", "POST /lane ab host=venue"},
		{"head sent in pieces", post("/lane", "pieces"), "POST /lane pieces host=venue"},
		{"head past 4 KiB", strings.Replace(post("/lane", "big"), "\r\n\r\n", "\r\nX-Big: "+strings.Repeat("b", 10000)+"\r\n\r\n", 1), "POST /lane big host=venue"},
		{"bare line feeds", "POST /lane HTTP/1.1\nHost: venue\nContent-Length: 2\n\nlf", "POST /lane lf host=venue"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, br := dial(t, addr)
			// One byte at a time: the lane must wait for the whole head.
			for i := range len(c.raw) {
				if _, err := conn.Write([]byte{c.raw[i]}); err != nil {
					t.Fatal(err)
				}
			}
			resp, err := http.ReadResponse(br, nil)
			if resp != nil && resp.StatusCode == http.StatusContinue {
				resp, err = http.ReadResponse(br, nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			by := "net/http"
			if c.name == "head sent in pieces" {
				by = "lane"
			}
			if resp.StatusCode != http.StatusCreated || string(b) != c.body || resp.Header.Get("Served-By") != by {
				t.Errorf("%d by %s: %q; want 201 by %s: %q", resp.StatusCode, resp.Header.Get("Served-By"), b, by, c.body)
			}
		})
	}
}

func TestLaneMalformedGoesToNetHTTP(t *testing.T) {
	_, addr := startLane(t, echo)
	// Two lengths that disagree: net/http refuses it; the lane must not
	// have served it first.
	raw := "POST /lane HTTP/1.1\r\nHost: venue\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"
	a := roundTrips(t, addr, raw, 1)[0]
	if a.StatusCode != http.StatusBadRequest || a.Header.Get("Served-By") != "" {
		t.Errorf("%d (served by %q), want net/http's own 400", a.StatusCode, a.Header.Get("Served-By"))
	}
}

func TestLaneH2C(t *testing.T) {
	_, addr := startLane(t, echo)
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Post("http://"+addr+"/lane", "text/plain", strings.NewReader("h2"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusCreated || string(b) != "POST /lane h2 host="+addr {
		t.Errorf("%s %d: %q", resp.Proto, resp.StatusCode, b)
	}
}

func TestLaneBodyLeftUnreadClosesTheConnection(t *testing.T) {
	_, addr := startLane(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted) // reads nothing
	})
	c, br := dial(t, addr)
	io.WriteString(c, post("/lane", "unread")+post("/lane", "never read"))
	a := readAnswers(t, br, 1)[0]
	if a.StatusCode != http.StatusAccepted || !a.Close {
		t.Errorf("%d, close %v; want 202 and Connection: close", a.StatusCode, a.Close)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("after the answer: %v, want EOF (the rest of the body must not be read as a request)", err)
	}
}

func TestLaneHandlerAsksToClose(t *testing.T) {
	_, addr := startLane(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Connection", "close")
		w.Header().Set("X-Injected", "a\r\nSet-Cookie: b")
		w.WriteHeader(http.StatusRequestTimeout)
		w.Header().Set("X-Late", "ignored")
	})
	a := roundTrips(t, addr, post("/lane", "x"), 1)[0]
	if a.StatusCode != http.StatusRequestTimeout || !a.Close || a.Header.Get("X-Late") != "" {
		t.Errorf("%d, close %v, header %v", a.StatusCode, a.Close, a.Header)
	}
	if a.Header.Get("Set-Cookie") != "" || a.Header.Get("X-Injected") != "a  Set-Cookie: b" {
		t.Errorf("a line break in a value split the header: %q", a.Header)
	}
}

func TestLaneDeadlines(t *testing.T) {
	_, addr := startLane(t, func(w http.ResponseWriter, r *http.Request) {
		// As the venue's guard bounds a body's time.
		http.NewResponseController(w).SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := io.ReadAll(r.Body); err != nil {
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusRequestTimeout)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}, func(s *http.Server) { s.ReadHeaderTimeout, s.IdleTimeout = 300*time.Millisecond, 500*time.Millisecond })

	// A body slower than the handler's deadline.
	c, br := dial(t, addr)
	io.WriteString(c, "POST /lane HTTP/1.1\r\nHost: venue\r\nContent-Length: 10\r\n\r\nabc")
	if a := readAnswers(t, br, 1)[0]; a.StatusCode != http.StatusRequestTimeout {
		t.Errorf("slow body: %d, want 408", a.StatusCode)
	}
	// A head slower than ReadHeaderTimeout, and an idle connection past
	// IdleTimeout: closed without an answer, as net/http does.
	for _, raw := range []string{"POST /lane HTTP/1.1\r\nHost: venue\r\n", ""} {
		c, br := dial(t, addr)
		io.WriteString(c, raw)
		start := time.Now()
		if _, err := br.ReadByte(); err != io.EOF {
			t.Errorf("%q: %v, want EOF", raw, err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%q: closed after %v", raw, d)
		}
	}
}

// A new connection that sends nothing has the header's time, not the idle
// time of a kept-alive one.
func TestLaneSilentConnection(t *testing.T) {
	_, addr := startLane(t, echo, func(s *http.Server) { s.ReadHeaderTimeout, s.IdleTimeout = 300*time.Millisecond, time.Minute })
	_, br := dial(t, addr)
	start := time.Now()
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("an answer to nothing")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a silent connection closed after %v; the header timeout is 300ms", d.Round(time.Millisecond))
	}
}

func TestLanePanicClosesOnlyItsConnection(t *testing.T) {
	var n atomic.Int32
	srv, addr := startLane(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			panic("boom")
		}
		echo(w, r)
	})
	srv.HTTP.ErrorLog = nil
	c, br := dial(t, addr)
	io.WriteString(c, post("/lane", "x"))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("after a panic: %v, want EOF", err)
	}
	if a := roundTrips(t, addr, post("/lane", "y"), 1)[0]; a.StatusCode != http.StatusCreated {
		t.Errorf("next connection: %d", a.StatusCode)
	}
}

func TestLaneShutdown(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	srv, addr := startLane(t, func(w http.ResponseWriter, r *http.Request) {
		if b, _ := io.ReadAll(r.Body); string(b) == "slow" {
			started <- struct{}{}
			<-release
		}
		w.WriteHeader(http.StatusCreated)
	})
	// An idle connection in the lane, and one with a request in the
	// handler.
	idle, ibr := dial(t, addr)
	io.WriteString(idle, post("/lane", "fast"))
	readAnswers(t, ibr, 1)
	busy, bbr := dial(t, addr)
	io.WriteString(busy, post("/lane", "slow"))
	<-started

	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(context.Background()) }()
	if _, err := ibr.ReadByte(); err != io.EOF {
		t.Errorf("idle connection: %v, want EOF", err)
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v with a request in the handler", err)
	case <-time.After(100 * time.Millisecond):
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("still accepting after Shutdown")
	}
	close(release)
	a := readAnswers(t, bbr, 1)[0]
	if a.StatusCode != http.StatusCreated || !a.Close {
		t.Errorf("the request in the handler: %d, close %v; want 201 and Connection: close", a.StatusCode, a.Close)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// A head trickled past the lane's 4 KiB goes to net/http whole or not at
// all: a client cannot have the lane's header timeout and then net/http's.
func TestLaneTrickledHeadHasOneTimeout(t *testing.T) {
	_, addr := startLane(t, echo, func(s *http.Server) { s.ReadHeaderTimeout = 2 * time.Second })
	c, br := dial(t, addr)
	start := time.Now()
	io.WriteString(c, "POST /lane HTTP/1.1\r\nHost: venue\r\n")
	go func() {
		line := "X-Padding: " + strings.Repeat("a", 87) + "\r\n" // 100 bytes
		for range 60 {                                           // 6 KB over 1.8 s
			if _, err := io.WriteString(c, line); err != nil {
				return
			}
			time.Sleep(30 * time.Millisecond)
		}
	}()
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("an answer to a head that never ended")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("closed %v after the head began; the header timeout is 2s", d.Round(time.Millisecond))
	}
}

// FuzzLaneAgainstNetHTTP sends the same bytes, as one client would on one
// connection, to a server with the lane and to net/http alone, both with
// the same handler, and checks that the answers are the same: status, body
// and framing, request by request. It covers what FuzzHead cannot: the
// hand-over mid-connection with the bytes read replayed, pipelined
// requests, bodies cut short.
func FuzzLaneAgainstNetHTTP(f *testing.F) {
	f.Add([]byte(post("/lane", "one") + post("/lane", "two")))
	f.Add([]byte(post("/lane", "one") + "GET /lane HTTP/1.1\r\nHost: venue\r\n\r\n" + post("/lane", "three")))
	f.Add([]byte(post("/lane", "one") + "POST /lane HTTP/1.1\r\nHost: venue\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"))
	f.Add([]byte("POST /lane HTTP/1.1\r\nHost: venue\r\nContent-Length: 10\r\n\r\nshort"))
	f.Add([]byte("POST /lane HTTP/1.1\r\nHost: venue\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"))
	f.Add([]byte(post("/lane", "x") + "garbage\r\n\r\n"))
	f.Add([]byte("POST /lane HTTP/1.1\nHost: venue\nContent-Length: 2\n\nlf" + post("/lane", "after")))

	_, laneAddr := startLane(f, echo)
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(echo), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(plain)
	f.Cleanup(func() { srv.Close() })

	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 64<<10 {
			return
		}
		got, want := exchange(t, laneAddr, in), exchange(t, plain.Addr().String(), in)
		if got != want {
			t.Fatalf("for %q\nthe lane's server answered\n%s\nnet/http alone\n%s", in, got, want)
		}
	})
}

// exchange writes in to a new connection to addr, half-closes it and
// returns the answers read until the server closes, each as status,
// protocol, type, length and body.
func exchange(t *testing.T, addr string, in []byte) string {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	go func() {
		c.Write(in)
		c.(*net.TCPConn).CloseWrite()
	}()
	br := bufio.NewReader(c)
	var out strings.Builder
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return out.String() // closed, or reset
		}
		// Not compared: Connection: close. The lane says it when it
		// will close (a body not read to its end); net/http may close
		// without saying so. Whether more answers follow is compared.
		// Nor the body of an answer without a length (net/http's own
		// errors, read until the close): a server that closes with
		// bytes unread resets the connection, sooner or later, and
		// may cut it short.
		b, err := io.ReadAll(resp.Body)
		if resp.ContentLength < 0 {
			b = nil
		} else if err != nil {
			b = []byte("(cut short)")
		}
		fmt.Fprintf(&out, "%d %q type %q length %d: %q\n", resp.StatusCode, resp.Proto,
			resp.Header.Get("Content-Type"), resp.ContentLength, b)
	}
}
