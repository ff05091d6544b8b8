package lane

import (
	"bytes"
	"net/http"
	"net/textproto"
	"strings"
)

// The subset of HTTP/1.1 (RFC 9112) a request head must fall in to be
// served in the lane. Everything outside it, well-formed or not, goes to
// net/http with the connection: the lane never answers an error of its
// own, so it need not agree with net/http on what is malformed, only on
// what it accepts. FuzzHead checks that whatever parseHead accepts,
// http.ReadRequest reads the same way: the same method, target, host,
// header fields and body length, and the same end of the request.
//
//	request-line = "POST" SP target SP "HTTP/1.1" CRLF
//	target       = "/" *( ALPHA / DIGIT / "-" / "." / "_" / "~" / "/" )
//	field-line   = name ":" *( SP / HTAB ) value *( SP / HTAB ) CRLF
//	name         = 1*( ALPHA / DIGIT / "-" )
//	value        = *( %x21-7E / SP / HTAB ), neither starting nor ending with SP or HTAB
//
// with exactly one Host (a host name, IPv4 or bracketed IPv6 address and
// an optional port) and exactly one Content-Length (a decimal without
// leading zeros, at most maxBody), no field that changes how net/http
// frames or answers a request (handOverFields), at most maxFields fields,
// and the whole head within maxHead bytes.
const (
	maxHead   = 4096
	maxFields = 32
	maxBody   = 1 << 24
)

// handOverFields are the header fields after which the connection goes to
// net/http: they change the framing of the body (Transfer-Encoding,
// Trailer), ask for an interim answer (Expect), end or upgrade the
// connection (Connection, Upgrade, HTTP2-Settings, Keep-Alive,
// Proxy-Connection, TE), or are rewritten by net/http's parser (Pragma:
// no-cache adds Cache-Control).
var handOverFields = map[string]bool{
	"Transfer-Encoding": true,
	"Trailer":           true,
	"Expect":            true,
	"Connection":        true,
	"Upgrade":           true,
	"Http2-Settings":    true,
	"Keep-Alive":        true,
	"Proxy-Connection":  true,
	"Te":                true,
	"Pragma":            true,
}

// A head is a request head parsed in the lane's subset.
type head struct {
	method, target, host string
	header               http.Header // without Host, as net/http's server gives it
	contentLength        int64
}

// A verdict is what parseHead made of the bytes it was given.
type verdict int

const (
	served   verdict = iota // a complete head in the subset
	more                    // no end of head yet, and room for it: read more
	handOver                // outside the subset: net/http takes the connection
)

// parseHead parses the request head at the start of b. It returns served
// with the head and its length in bytes, more if b holds no complete head
// yet and fewer than maxHead bytes, or handOver.
func parseHead(b []byte) (h head, n int, v verdict) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		if len(b) < maxHead && !bareLF(b) {
			return head{}, 0, more
		}
		return head{}, 0, handOver // too long, or lines that net/http reads and the lane does not
	}
	n = end + 4
	if n > maxHead {
		return head{}, 0, handOver
	}
	rest := b[:end+2] // every line, each with its CRLF
	line, rest, _ := bytes.Cut(rest, []byte("\r\n"))
	method, line, ok1 := bytes.Cut(line, []byte(" "))
	target, proto, ok2 := bytes.Cut(line, []byte(" "))
	if !ok1 || !ok2 || string(method) != "POST" || string(proto) != "HTTP/1.1" || !validTarget(target) {
		return head{}, 0, handOver
	}
	h = head{method: "POST", target: string(target), header: make(http.Header, 8), contentLength: -1}
	fields := 0
	for len(rest) > 0 {
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		if fields++; fields > maxFields {
			return head{}, 0, handOver
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !validName(name) {
			return head{}, 0, handOver
		}
		value = bytes.Trim(value, " \t")
		if !validValue(value) {
			return head{}, 0, handOver
		}
		key := canonicalKey(name)
		switch {
		case handOverFields[key]:
			return head{}, 0, handOver
		case key == "Host":
			if h.host != "" || !validHost(value) {
				return head{}, 0, handOver
			}
			h.host = string(value)
			continue
		case key == "Content-Length":
			if h.contentLength >= 0 {
				return head{}, 0, handOver
			}
			if h.contentLength = decimal(value); h.contentLength < 0 {
				return head{}, 0, handOver
			}
		}
		h.header[key] = append(h.header[key], string(value))
	}
	if h.host == "" || h.contentLength < 0 {
		return head{}, 0, handOver
	}
	return h, n, served
}

// bareLF reports whether b holds a line feed not preceded by a carriage
// return.
func bareLF(b []byte) bool {
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			return true
		}
	}
	return false
}

func validTarget(t []byte) bool {
	return len(t) > 0 && t[0] == '/' && only(t, "-._~/")
}

func validName(n []byte) bool { return len(n) > 0 && only(n, "-") }

// validValue accepts visible ASCII, SP and HTAB (the caller trimmed the
// ends).
func validValue(v []byte) bool {
	for _, c := range v {
		if (c < 0x20 && c != '\t') || c > 0x7e {
			return false
		}
	}
	return true
}

// validHost accepts a host name or address with an optional port: letters,
// digits, '-', '.', ':', '[' and ']', and nothing else.
func validHost(v []byte) bool { return len(v) > 0 && only(v, "-.:[]") }

// decimal parses a Content-Length: digits, no leading zero (but "0"), at
// most maxBody; -1 otherwise.
func decimal(v []byte) int64 {
	if len(v) == 0 || len(v) > 8 || (v[0] == '0' && len(v) > 1) {
		return -1
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int64(c-'0')
	}
	if n > maxBody {
		return -1
	}
	return n
}

// only reports whether b holds only ASCII letters, digits and the bytes of
// also.
func only(b []byte, also string) bool {
	for _, c := range b {
		if !isAlnum(c) && strings.IndexByte(also, c) < 0 {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// commonKeys are the canonical names of the fields the venue's clients
// send, looked up without an allocation.
var commonKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"Host", "Content-Length", "Content-Type", "Authorization", "User-Agent",
		"Accept-Encoding", "Goodoffices-Await", "Goodoffices-Handshake", "Goodoffices-Epoch", "Goodoffices-Epoch-Base"} {
		m[k] = k
	}
	return m
}()

// canonicalKey is textproto.CanonicalMIMEHeaderKey of name, which
// validName has checked.
func canonicalKey(name []byte) string {
	if k, ok := commonKeys[string(name)]; ok {
		return k
	}
	return textproto.CanonicalMIMEHeaderKey(string(name))
}
