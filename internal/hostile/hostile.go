// Package hostile is a hostile venue for tests: a reverse proxy in front of
// a real venue, holding the venue's signing key as the host does, that
// serves each audience (one listener per party) either the honest venue or
// a doctored view of one log, one attack at a time.
//
// It exists to show that the desks catch a cheating host: every attack of
// the neutrality issue is an Attack value (see the constructors), and the
// adversarial suite (desk tests named TestHostile...) asserts which alarm
// each one raises. It is a test tool, never linked into the binary.
//
// A doctored view is a complete, self-consistent log: the proxy takes the
// real entries, transforms them (alter a byte, drop, reorder, fork, replay,
// freeze at a size), recomputes the Merkle tree with x/mod's tlog and signs
// a fresh checkpoint with the venue key (or another key), then serves the
// tlog-tiles endpoints from it. A desk that has seen nothing before cannot
// tell it from the truth on its own; the alarms come from its own history,
// or from the other parties' cosignatures.
package hostile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/note"
	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/tlog"
)

// An Attack is what the proxy does to one log for one audience.
type Attack struct {
	Name string // for the test output
	Log  string // the log attacked ("register" or a channel ID)
	// View, if set, turns the log's real entries into the entries served,
	// with a checkpoint signed by Signer (nil: the venue's key).
	View   func(real [][]byte) [][]byte
	Signer note.Signer
	// Checkpoint, if set, is served as the log's checkpoint (a rollback:
	// an old, validly signed checkpoint).
	Checkpoint []byte
	// Bundle, if set, rewrites entry bundles as served (no re-signing).
	Bundle func(b []byte) []byte
	// HideCosignatures serves no cosignatures of the log.
	HideCosignatures bool
	// ReplayCosignatures serves, as the log's cosignatures, the last
	// answer the proxy forwarded to this audience before the attack: the
	// stale cosignatures it saw, nothing of what the others cosigned since.
	ReplayCosignatures bool
	// DropMail serves this audience an empty mailbox.
	DropMail bool
	// DropEvents holds this audience's event stream open without
	// delivering any event (the others' cosignatures, new entries).
	DropEvents bool
}

// Eclipse isolates one party: its view of log is frozen at size, it is
// replayed the stale cosignatures it saw before, and it gets no mail and
// no events. Nothing it is served contradicts anything else it is served.
func Eclipse(log string, size int) *Attack {
	a := Withhold(log, size, false)
	a.Name = "eclipse one party (frozen view, stale cosignatures, no mail, no events)"
	a.ReplayCosignatures, a.DropMail, a.DropEvents = true, true, true
	return a
}

// AlterByte flips one bit of the entry at index.
func AlterByte(log string, index int) *Attack {
	return &Attack{Name: "alter one byte of an entry", Log: log, View: func(es [][]byte) [][]byte {
		if index < len(es) {
			e := bytes.Clone(es[index])
			e[len(e)/2] ^= 0x01
			es[index] = e
		}
		return es
	}}
}

// Drop removes the entry at index from the log.
func Drop(log string, index int) *Attack {
	return &Attack{Name: "drop an entry", Log: log, View: func(es [][]byte) [][]byte {
		if index < len(es) {
			es = append(es[:index:index], es[index+1:]...)
		}
		return es
	}}
}

// Reorder swaps the entries at i and j.
func Reorder(log string, i, j int) *Attack {
	return &Attack{Name: "reorder two entries", Log: log, View: func(es [][]byte) [][]byte {
		if i < len(es) && j < len(es) {
			es[i], es[j] = es[j], es[i]
		}
		return es
	}}
}

// Fork serves from index on another history: the real entries from index
// are replaced by others.
func Fork(log string, index int, others ...[]byte) *Attack {
	return &Attack{Name: "show two parties different histories (fork)", Log: log, View: func(es [][]byte) [][]byte {
		if index < len(es) {
			es = es[:index:index]
		}
		return append(es, others...)
	}}
}

// Withhold serves the log frozen at size: the entries after it never reach
// this audience, and neither do the cosignatures of the others if hide.
func Withhold(log string, size int, hide bool) *Attack {
	return &Attack{Name: "withhold new entries from one party", Log: log, HideCosignatures: hide, View: func(es [][]byte) [][]byte {
		return es[:min(size, len(es))]
	}}
}

// ForgetRevocations serves the public revocations log without its entries
// from index on: the host "forgets" the revocations logged since (a stolen
// laptop it keeps serving) towards this audience. A view consistent with
// what the audience saw before, signed with the venue key.
func ForgetRevocations(index int) *Attack {
	a := Withhold("revocations", index, false)
	a.Name = "forget the device revocations logged since"
	return a
}

// Rollback serves an old checkpoint note.
func Rollback(log string, old []byte) *Attack {
	return &Attack{Name: "serve an old checkpoint (rollback)", Log: log, Checkpoint: old}
}

// Replay appends a copy of the entry at index to the log as served.
func Replay(log string, index int) *Attack {
	return &Attack{Name: "replay an old application message", Log: log, View: func(es [][]byte) [][]byte {
		if index < len(es) {
			es = append(es, es[index])
		}
		return es
	}}
}

// Resign serves the real log with checkpoints signed by another key of the
// same name.
func Resign(log string, s note.Signer) *Attack {
	return &Attack{Name: "re-sign a checkpoint with a different venue key", Log: log, Signer: s, View: func(es [][]byte) [][]byte { return es }}
}

// SwapRoot replaces, in the register, the root key of one delegation by
// another (both are signed-note verifier keys, as in accreditation records).
func SwapRoot(oldKey, newKey string) *Attack {
	return &Attack{Name: "swap a delegation's root key in the register", Log: "register", View: func(es [][]byte) [][]byte {
		for i, e := range es {
			es[i] = bytes.Replace(e, []byte("root "+oldKey+"\n"), []byte("root "+newKey+"\n"), 1)
		}
		return es
	}}
}

// A Proxy is the hostile venue.
type Proxy struct {
	target string
	signer note.Signer
	hc     *http.Client

	mu      sync.Mutex
	attacks map[string]*Attack // by audience
	seen    map[string][]byte  // last cosignatures answer forwarded, by audience and path
}

// New returns a proxy in front of the venue at target whose signing key is
// signer (the venue key: the host has it).
func New(target string, signer note.Signer) *Proxy {
	return &Proxy{target: strings.TrimSuffix(target, "/"), signer: signer, hc: &http.Client{}, attacks: map[string]*Attack{}, seen: map[string][]byte{}}
}

// SetTransport makes the proxy reach the venue through rt rather than
// the network (the simulation's in-memory network, desk/simulation_test.go).
// Call it before serving.
func (p *Proxy) SetTransport(rt http.RoundTripper) { p.hc = &http.Client{Transport: rt} }

// Set starts attack a against audience; nil makes the proxy honest again.
func (p *Proxy) Set(audience string, a *Attack) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a == nil {
		delete(p.attacks, audience)
	} else {
		p.attacks[audience] = a
	}
}

// Handler returns the venue as audience sees it.
func (p *Proxy) Handler(audience string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		a := p.attacks[audience]
		p.mu.Unlock()
		if a != nil && r.Method == http.MethodGet {
			if rest, ok := strings.CutPrefix(r.URL.Path, "/logs/"+a.Log+"/"); ok {
				if rest == "cosignatures" && a.ReplayCosignatures {
					p.mu.Lock()
					b := p.seen[audience+" "+r.URL.Path]
					p.mu.Unlock()
					if b != nil {
						w.Header().Set("Content-Type", "application/json")
						w.Write(b)
						return
					}
				}
				if p.serveAttack(w, r, a, rest) {
					return
				}
			}
			switch {
			case r.URL.Path == "/v1/mail" && a.DropMail:
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte("[]"))
				return
			case r.URL.Path == "/v1/events" && a.DropEvents:
				w.Header().Set("Content-Type", "text/event-stream")
				w.WriteHeader(http.StatusOK)
				if f, ok := w.(http.Flusher); ok {
					f.Flush()
				}
				<-r.Context().Done()
				return
			}
		}
		p.forward(w, r, a, audience)
	})
}

func (p *Proxy) transport() http.RoundTripper {
	if p.hc.Transport != nil {
		return p.hc.Transport
	}
	return http.DefaultTransport
}

// serveAttack serves path of the attacked log; false means forward it.
func (p *Proxy) serveAttack(w http.ResponseWriter, r *http.Request, a *Attack, path string) bool {
	switch {
	case path == "cosignatures" && a.HideCosignatures:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"log":%q,"checkpoints":[],"cosigners":[]}`, a.Log)
		return true
	case path == "checkpoint" && a.Checkpoint != nil:
		w.Write(a.Checkpoint)
		return true
	case a.View == nil || (path != "checkpoint" && !strings.HasPrefix(path, "tile/")):
		return false
	}
	v, err := p.view(r.Context(), r.Header.Get("Authorization"), a)
	if err != nil {
		http.Error(w, `{"error":"`+err.Error()+`"}`, http.StatusBadGateway)
		return true
	}
	if path == "checkpoint" {
		w.Write(v.note)
		return true
	}
	t, err := tlog.ParseTilePath(path)
	if err != nil {
		http.Error(w, `{"error":"malformed tile path"}`, http.StatusBadRequest)
		return true
	}
	if t.L == tlog.EntriesLevel {
		start := t.N * tlog.TileWidth
		if start+int64(t.W) > v.size() {
			http.Error(w, `{"error":"past the end"}`, http.StatusNotFound)
			return true
		}
		b, _ := tlog.EncodeBundle(v.entries[start : start+int64(t.W)])
		w.Write(b)
		return true
	}
	if t.L > 7 || t.N*tlog.TileWidth+int64(t.W) > v.size()>>(8*t.L) {
		http.Error(w, `{"error":"past the end"}`, http.StatusNotFound)
		return true
	}
	data, err := xtlog.ReadTileData(t, v)
	if err != nil {
		http.Error(w, `{"error":"tile"}`, http.StatusInternalServerError)
		return true
	}
	w.Write(data)
	return true
}

// forward passes the request to the real venue, rewriting entry bundles
// of the attacked log if the attack says so.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, a *Attack, audience string) {
	u := p.target + r.URL.Path
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, u, r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := p.transport().RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	if a == nil && r.Method == http.MethodGet && resp.StatusCode == 200 && strings.HasPrefix(r.URL.Path, "/logs/") && strings.HasSuffix(r.URL.Path, "/cosignatures") {
		// Remembered for a later ReplayCosignatures.
		b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		if err != nil {
			return
		}
		p.mu.Lock()
		p.seen[audience+" "+r.URL.Path] = b
		p.mu.Unlock()
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(resp.StatusCode)
		w.Write(b)
		return
	}
	if a != nil && a.Bundle != nil && resp.StatusCode == 200 && strings.HasPrefix(r.URL.Path, "/logs/"+a.Log+"/tile/entries/") {
		b, _ := io.ReadAll(resp.Body)
		b = a.Bundle(b)
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(resp.StatusCode)
		w.Write(b)
		return
	}
	w.WriteHeader(resp.StatusCode)
	flusher, _ := w.(http.Flusher)
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			w.Write(buf[:n])
			if flusher != nil {
				flusher.Flush()
			}
		}
		if err != nil {
			return
		}
	}
}

// view is a forged log.
type view struct {
	entries [][]byte
	hashes  []xtlog.Hash
	note    []byte
}

func (v *view) size() int64 { return int64(len(v.entries)) }

func (v *view) ReadHashes(idx []int64) ([]xtlog.Hash, error) {
	out := make([]xtlog.Hash, len(idx))
	for i, x := range idx {
		if x < 0 || x >= int64(len(v.hashes)) {
			return nil, errors.New("hash index out of range")
		}
		out[i] = v.hashes[x]
	}
	return out, nil
}

// view fetches the real log with the audience's credentials and builds
// the forged one.
func (p *Proxy) view(ctx context.Context, auth string, a *Attack) (*view, error) {
	get := func(path string) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.target+"/logs/"+url.PathEscape(a.Log)+"/"+path, nil)
		if err != nil {
			return nil, err
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := p.hc.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != 200 {
			return nil, fmt.Errorf("real venue: %s %d", path, resp.StatusCode)
		}
		return b, nil
	}
	cpNote, err := get("checkpoint")
	if err != nil {
		return nil, err
	}
	body, _, _ := bytes.Cut(cpNote, []byte("\n\n"))
	real, err := tlog.ParseCheckpoint(append(body, '\n'))
	if err != nil {
		return nil, err
	}
	var entries [][]byte
	for n := int64(0); n*tlog.TileWidth < real.Size; n++ {
		w := min(real.Size-n*tlog.TileWidth, tlog.TileWidth)
		b, err := get(tlog.TilePath(xtlog.Tile{H: tlog.TileHeight, L: tlog.EntriesLevel, N: n, W: int(w)}))
		if err != nil {
			return nil, err
		}
		es, err := tlog.ParseBundle(b, int(w))
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			entries = append(entries, bytes.Clone(e))
		}
	}
	v := &view{entries: a.View(entries)}
	for i, e := range v.entries {
		hs, err := xtlog.StoredHashes(int64(i), e, v)
		if err != nil {
			return nil, err
		}
		v.hashes = append(v.hashes, hs...)
	}
	root := tlog.EmptyHash
	if len(v.entries) > 0 {
		if root, err = xtlog.TreeHash(v.size(), v); err != nil {
			return nil, err
		}
	}
	signer := a.Signer
	if signer == nil {
		signer = p.signer
	}
	v.note, err = tlog.SignCheckpoint(tlog.Checkpoint{Origin: real.Origin, Size: v.size(), Hash: root}, signer)
	return v, err
}
