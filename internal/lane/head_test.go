package lane

import (
	"bufio"
	"bytes"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// A request the venue's clients send, with a body.
const appendRequest = "POST /logs/c1/entries HTTP/1.1\r\nHost: 127.0.0.1:8470\r\nAuthorization: Bearer abc\r\n" +
	"Content-Type: application/mls\r\nContent-Length: 5\r\n\r\nhello"

func TestParseHead(t *testing.T) {
	h, n, v := parseHead([]byte(appendRequest))
	if v != served || n != len(appendRequest)-5 {
		t.Fatalf("parseHead = %v, %d; want served, %d", v, n, len(appendRequest)-5)
	}
	if h.method != "POST" || h.target != "/logs/c1/entries" || h.host != "127.0.0.1:8470" || h.contentLength != 5 {
		t.Errorf("head = %+v", h)
	}
	want := http.Header{"Authorization": {"Bearer abc"}, "Content-Type": {"application/mls"}, "Content-Length": {"5"}}
	if !maps.EqualFunc(h.header, want, slices.Equal) {
		t.Errorf("header = %v, want %v", h.header, want)
	}

	// Every prefix short of the whole head asks for more.
	for i := range n {
		if _, _, v := parseHead([]byte(appendRequest[:i])); v != more {
			t.Fatalf("parseHead(%q) = %v, want more", appendRequest[:i], v)
		}
	}

	// What the lane hands over, each a change of the request above.
	for _, c := range []struct{ name, from, to string }{
		{"GET", "POST", "GET"},
		{"HTTP/1.0", "HTTP/1.1", "HTTP/1.0"},
		{"query", "/entries", "/entries?x=1"},
		{"escape", "/logs/c1", "/logs/c%31"},
		{"absolute form", "/logs", "http://venue/logs"},
		{"chunked", "Content-Length: 5", "Transfer-Encoding: chunked"},
		{"length and chunked", "Content-Length: 5\r\n", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"},
		{"two lengths", "Content-Length: 5\r\n", "Content-Length: 5\r\nContent-Length: 5\r\n"},
		{"length with a sign", "Length: 5", "Length: +5"},
		{"length with a leading zero", "Length: 5", "Length: 05"},
		{"no length", "Content-Length: 5\r\n", ""},
		{"no host", "Host: 127.0.0.1:8470\r\n", ""},
		{"two hosts", "Host: 127.0.0.1:8470\r\n", "Host: a\r\nHost: b\r\n"},
		{"host with a slash", "Host: 127.0.0.1:8470", "Host: a/b"},
		{"expect", "Content-Length: 5\r\n", "Content-Length: 5\r\nExpect: 100-continue\r\n"},
		{"connection", "Content-Length: 5\r\n", "Content-Length: 5\r\nConnection: close\r\n"},
		{"upgrade", "Content-Length: 5\r\n", "Content-Length: 5\r\nUpgrade: websocket\r\n"},
		{"pragma", "Content-Length: 5\r\n", "Content-Length: 5\r\nPragma: no-cache\r\n"},
		{"folded line", "Bearer abc\r\n", "Bearer\r\n abc\r\n"},
		{"space before colon", "Authorization:", "Authorization :"},
		{"underscore in a name", "Authorization:", "Author_ization:"},
		{"control byte in a value", "Bearer abc", "Bearer a\x01bc"},
		{"non-ASCII value", "Bearer abc", "Bearer \xc3\xa9"},
		{"bare line feed", "Bearer abc\r\n", "Bearer abc\n"},
		{"HTTP/2 preface", appendRequest, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"},
		{"huge head", "Bearer abc", "Bearer " + strings.Repeat("a", maxHead)},
	} {
		req := strings.Replace(appendRequest, c.from, c.to, 1)
		if req == appendRequest {
			t.Fatalf("%s: the change does not apply", c.name)
		}
		if _, _, v := parseHead([]byte(req)); v != handOver {
			t.Errorf("%s: parseHead(%q) = %v, want handOver", c.name, req, v)
		}
	}
}

// FuzzHead checks the lane against net/http's own request parser: whatever
// parseHead serves, http.ReadRequest reads as the same request, with the
// same body length and the same end, so that a request the lane serves
// cannot be read differently by anything in front of the venue that
// parses as Go does. (It does not check the converse: the lane hands over
// much that net/http accepts.)
func FuzzHead(f *testing.F) {
	f.Add([]byte(appendRequest))
	f.Add([]byte(appendRequest + appendRequest))
	f.Add([]byte("POST /logs/x/entries HTTP/1.1\r\nHost: [::1]:80\r\nContent-Length: 0\r\nX:\r\n\r\n"))
	f.Add([]byte("POST /a HTTP/1.1\r\nhost: a\r\ncontent-length: 3\r\nuser-agent:  Go-http-client/1.1 \r\n\r\nabc"))
	f.Add([]byte("POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"))
	f.Add([]byte("POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nCookie: a\r\nCookie: b\r\n\r\nx"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, v := parseHead(b)
		if v != served {
			return
		}
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b)))
		if err != nil {
			t.Fatalf("the lane serves a head net/http refuses (%v): %q", err, b[:n])
		}
		switch {
		case req.Method != h.method, req.RequestURI != h.target, req.URL.Path != h.target,
			req.URL.RawQuery != "", req.URL.Host != "", req.URL.Scheme != "":
			t.Fatalf("request line: lane %q %q, net/http %q %q (%#v)", h.method, h.target, req.Method, req.RequestURI, req.URL)
		case req.Proto != "HTTP/1.1" || req.Close:
			t.Fatalf("net/http reads %s, close %v", req.Proto, req.Close)
		case req.Host != h.host:
			t.Fatalf("host: lane %q, net/http %q", h.host, req.Host)
		case req.ContentLength != h.contentLength || len(req.TransferEncoding) > 0:
			t.Fatalf("length: lane %d, net/http %d %q", h.contentLength, req.ContentLength, req.TransferEncoding)
		case !maps.EqualFunc(req.Header, h.header, slices.Equal): // net/http moves Host out of the map too
			t.Fatalf("header: lane %q, net/http %q", h.header, req.Header)
		}
		// The same end: net/http's body is as long as the lane's, and
		// what follows is the same bytes.
		rest := b[n:]
		got, err := io.ReadAll(req.Body)
		if int64(len(rest)) >= h.contentLength {
			if err != nil || !bytes.Equal(got, rest[:h.contentLength]) {
				t.Fatalf("body: net/http read %q (%v), the lane %q", got, err, rest[:h.contentLength])
			}
		} else if err == nil {
			t.Fatalf("net/http read a whole body of %d bytes from %d", h.contentLength, len(rest))
		}
	})
}
