package venue

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"time"
)

// Limits of every request, whatever its route (see SECURITY.md).
const (
	// MaxHeaderBytes bounds a request's header (request line and header
	// fields); past it the venue answers 431. An http.Server serving the
	// venue should set a larger MaxHeaderBytes so that this JSON answer,
	// not the server's own, is what clients see.
	MaxHeaderBytes = 64 << 10
	// BodyTimeoutBase and BodyRate bound the time to read a request body:
	// BodyTimeoutBase plus the route's size limit at BodyRate bytes per
	// second. A client slower than that gets 408 and the connection is
	// closed.
	BodyTimeoutBase = 5 * time.Second
	BodyRate        = 32 << 10
)

// bodyTimeout is the time allowed to read a body of at most limit bytes.
func bodyTimeout(limit int) time.Duration {
	return BodyTimeoutBase + time.Duration(limit)*time.Second/BodyRate
}

// setBodyDeadline bounds the time left to read r's body by the size limit.
func setBodyDeadline(w http.ResponseWriter, limit int) {
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(bodyTimeout(limit)))
}

// guard wraps the venue's routes with what every request gets: a deadline
// for reading its body, JSON answers for oversized headers and for paths
// that are not canonical, and 405 (not 404) for a known path with the wrong
// method.
func (v *Venue) guard(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			// The largest body any route reads; readBody tightens it.
			setBodyDeadline(w, max(v.cfg.MaxMail, maxJSON, v.cfg.MaxEntry))
		}
		if headerBytes(r) > MaxHeaderBytes {
			w.Header().Set("Connection", "close")
			writeError(w, http.StatusRequestHeaderFieldsTooLarge, fmt.Sprintf("request header larger than %d bytes", MaxHeaderBytes))
			return
		}
		if r.Method != http.MethodConnect {
			if p := cleanPath(r.URL.Path); p != r.URL.Path {
				u := *r.URL
				u.Path, u.RawPath = p, ""
				w.Header().Set("Location", u.RequestURI())
				writeError(w, http.StatusTemporaryRedirect, "path is not canonical; use "+p)
				return
			}
		}
		if v.refuseIfDiskLow(w, r) {
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// notFound answers a request no route matched: 405 with Allow if the path
// exists for other methods, else 404.
func notFound(mux *http.ServeMux) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
			r2 := *r
			r2.Method = m
			if _, pat := mux.Handler(&r2); pat != "" && pat != "/" {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header()["Allow"] = allow
			writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed on "+r.URL.Path)
			return
		}
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	}
}

func headerBytes(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// cleanPath is p without dot segments and double slashes, keeping a
// trailing slash (as http.ServeMux cleans it).
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

// serverErrorHeaders are the header fields net/http's server puts on the
// errors it answers itself, before any handler runs (malformed requests,
// headers past http.Server.MaxHeaderBytes).
const serverErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// rewriteServerError turns an error response written by net/http's server
// itself ("HTTP/1.1 431 Request Header Fields Too Large" + plain text) into
// the venue's JSON error; any other write is returned unchanged.
func rewriteServerError(p []byte) []byte {
	rest, ok := bytes.CutPrefix(p, []byte("HTTP/1.1 "))
	if !ok {
		return p
	}
	status, body, ok := bytes.Cut(rest, []byte(serverErrorHeaders))
	if !ok || len(status) < 4 || status[3] != ' ' {
		return p
	}
	code, err := strconv.Atoi(string(status[:3]))
	if err != nil || code < 400 || code > 599 {
		return p
	}
	msg, _ := json.Marshal(map[string]string{"error": string(body)})
	msg = append(msg, '\n')
	return fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		code, http.StatusText(code), len(msg), msg)
}
