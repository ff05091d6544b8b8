package demo

import (
	"bytes"
	"crypto/sha256"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/good-offices/goodoffices/tlog"
)

// The desks of the demo reach the venue through a reverse proxy in front of
// it, so that the demo can show what happens when the venue cheats: Tamper
// installs a function that rewrites what the venue serves under /logs/, and
// every desk must notice (an alarm, with evidence, in its trust panel).

type proxy struct {
	rp     *httputil.ReverseProxy
	mu     sync.Mutex
	tamper func(path string, body []byte) []byte
}

func newProxy(target string, logger *slog.Logger) (*proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	p := &proxy{}
	p.rp = &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(u); r.Out.Host = r.In.Host },
		FlushInterval: -1,
		ErrorLog:      slog.NewLogLogger(logger.Handler(), slog.LevelDebug), // a desk hanging up its event stream is normal
		ModifyResponse: func(resp *http.Response) error {
			p.mu.Lock()
			f := p.tamper
			p.mu.Unlock()
			if f == nil || resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.Path, "/logs/") {
				return nil
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			body = f(resp.Request.URL.Path, body)
			resp.Body = io.NopCloser(bytes.NewReader(body))
			resp.ContentLength = int64(len(body))
			resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
			return nil
		},
	}
	return p, nil
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.rp.ServeHTTP(w, r) }

// Tamper makes the venue, as the desks see it, rewrite what it serves under
// /logs/ with f (nil: serve honestly again). It is for showing and testing
// the desks' alarms: a real venue that did this would be caught the same way.
func (d *Demo) Tamper(f func(path string, body []byte) []byte) {
	d.proxy.mu.Lock()
	d.proxy.tamper = f
	d.proxy.mu.Unlock()
}

// ForgeCheckpoint is a Tamper function: it changes the root hash of the
// checkpoints served for log, as a venue would to show one party another
// history; the signature no longer verifies under the pinned venue key.
func ForgeCheckpoint(log string) func(path string, body []byte) []byte {
	return func(path string, body []byte) []byte {
		if path != "/logs/"+log+"/checkpoint" {
			return body
		}
		lines := bytes.SplitN(body, []byte("\n"), 4)
		if len(lines) < 4 || len(lines[2]) < 4 {
			return body
		}
		h := []byte(string(lines[2]))
		if h[0] == 'A' {
			h[0] = 'B'
		} else {
			h[0] = 'A'
		}
		lines[2] = h
		return bytes.Join(lines, []byte("\n"))
	}
}

// ForkCheckpoint is a Tamper function for a venue that really cheats: it
// serves for log a checkpoint of the same size with another root hash,
// signed with the venue's own key (a split view). A desk that accepted the
// honest checkpoint raises a fork alarm and keeps both signed checkpoints as
// a proof of misbehaviour that anyone can check offline.
func (d *Demo) ForkCheckpoint(log string) func(path string, body []byte) []byte {
	return func(path string, body []byte) []byte {
		if path != "/logs/"+log+"/checkpoint" {
			return body
		}
		i := bytes.Index(body, []byte("\n\n"))
		if i < 0 {
			return body
		}
		c, err := tlog.ParseCheckpoint(body[:i+1])
		if err != nil || c.Size == 0 {
			return body
		}
		c.Hash = sha256.Sum256(c.Hash[:])
		forged, err := tlog.SignCheckpoint(c, d.signer)
		if err != nil {
			d.log.Warn("demo: failed to sign a forked checkpoint", "err", err)
			return body
		}
		return forged
	}
}
