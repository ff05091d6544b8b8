package venue_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/venue"
	"github.com/good-offices/goodoffices/venue/client"
)

// testVenue is a venue on a real SQLite file behind an httptest server.
type testVenue struct {
	v     *venue.Venue
	srv   *httptest.Server
	admin *client.Client
	dir   string
	roots map[string]*delegation.RootKey
	vfy   note.Verifier
}

func newTestVenue(t testing.TB, mutate ...func(*venue.Config)) *testVenue {
	t.Helper()
	dir := t.TempDir()
	// OpaqueEntries: these tests exercise the log machinery with short
	// entries; the framing check has its own tests (harden_test.go).
	cfg := venue.Config{DataDir: dir, Name: "venue.test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), OpaqueEntries: true}
	for _, m := range mutate {
		m(&cfg)
	}
	dir = cfg.DataDir
	v, err := venue.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(v.Handler())
	t.Cleanup(func() {
		v.BeginShutdown()
		srv.Close()
		v.Close()
	})
	cred, err := os.ReadFile(filepath.Join(dir, venue.AdminFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, venue.AdminFile)); fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin credential mode %v", fi.Mode())
	}
	admin, _ := client.New(srv.URL, client.WithAdmin(string(cred)))
	vfy, err := note.NewVerifier(v.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	return &testVenue{v: v, srv: srv, admin: admin, dir: dir, roots: map[string]*delegation.RootKey{}, vfy: vfy}
}

func (tv *testVenue) accredit(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		root, err := delegation.GenerateRoot(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tv.admin.Accredit(t.Context(), n, root.VerifierKey()); err != nil {
			t.Fatal(err)
		}
		tv.roots[n] = root
	}
}

func certFor(t testing.TB, root *delegation.RootKey, pub ed25519.PublicKey, notBefore, notAfter time.Time) []byte {
	t.Helper()
	msg, err := root.Certify(&delegation.Certificate{Delegation: root.Name, Person: "Delegate of " + root.Name, Role: "expert",
		Level: "expert", Device: pub, NotBefore: notBefore, NotAfter: notAfter})
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// device registers a new device of del and returns its client.
func (tv *testVenue) device(t testing.TB, del string) *client.Client {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	cert := certFor(t, tv.roots[del], pub, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	c, _ := client.New(tv.srv.URL, client.WithDevice(priv))
	if _, err := c.RegisterDevice(t.Context(), cert); err != nil {
		t.Fatal(err)
	}
	keys.Store(c.DeviceID(), priv)
	return c
}

func (tv *testVenue) channel(t testing.TB, id, kind string, members ...string) {
	t.Helper()
	if _, err := tv.admin.CreateChannel(t.Context(), client.ChannelSpec{ID: id, Kind: kind, Level: "expert", Members: members}); err != nil {
		t.Fatal(err)
	}
}

// logSize returns a log's size as its checkpoint says, verified.
func (tv *testVenue) verifiedSize(t *testing.T, c *client.Client, log string) int64 {
	t.Helper()
	origin := client.ChannelOrigin("venue.test", log)
	if log == "register" {
		origin = client.RegisterOrigin("venue.test")
	}
	cp, _, err := c.Log(log, origin, tv.vfy).Checkpoint(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return cp.Size
}

// raw makes an HTTP request and returns status and body.
func raw(t testing.TB, method, url, token, contentType string, body []byte, hdr ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// deviceToken authenticates a device by hand and returns its token.
func deviceToken(t testing.TB, url string, priv ed25519.PrivateKey) string {
	t.Helper()
	_, body := raw(t, "POST", url+"/v1/auth/challenge", "", "", nil)
	var ch struct{ Challenge string }
	json.Unmarshal([]byte(body), &ch)
	req, _ := json.Marshal(map[string]any{"device": delegation.DeviceID(priv.Public().(ed25519.PublicKey)),
		"challenge": ch.Challenge, "signature": ed25519.Sign(priv, venue.AuthMessage("venue.test", ch.Challenge))})
	status, body := raw(t, "POST", url+"/v1/auth/token", "", "application/json", req)
	if status != 200 {
		t.Fatalf("token: %d %s", status, body)
	}
	var tok struct{ Token string }
	json.Unmarshal([]byte(body), &tok)
	return tok.Token
}

func TestAuthMessageMatchesClient(t *testing.T) {
	if !bytes.Equal(venue.AuthMessage("v", "c"), client.AuthMessage("v", "c")) {
		t.Fatal("venue and client disagree on the auth message")
	}
}

func TestAppendAndVerify(t *testing.T) {
	tv := newTestVenue(t)
	tv.accredit(t, "arden", "borealia")
	tv.channel(t, "plenary", "plenary", "arden", "borealia")
	a, b := tv.device(t, "arden"), tv.device(t, "borealia")
	ctx := t.Context()
	var mu sync.Mutex
	want := map[int64]string{}
	var wg sync.WaitGroup
	errc := make(chan error, 64)
	for w := range 16 {
		c := a
		if w%2 == 1 {
			c = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				e := fmt.Sprintf("writer %d entry %d", w, i)
				idx, err := c.Append(ctx, "plenary", []byte(e))
				if err != nil {
					errc <- err
					return
				}
				mu.Lock()
				if _, dup := want[idx]; dup {
					errc <- fmt.Errorf("index %d acknowledged twice", idx)
				}
				want[idx] = e
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	lc := b.Log("plenary", client.ChannelOrigin("venue.test", "plenary"), tv.vfy)
	cp, _, err := lc.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Size != 640 {
		t.Fatalf("size %d, want 640", cp.Size)
	}
	entries, err := lc.Entries(ctx, cp, 0, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range entries {
		if string(e) != want[int64(i)] {
			t.Fatalf("entry %d = %q, want %q", i, e, want[int64(i)])
		}
		if i%37 == 0 {
			if err := lc.VerifyInclusion(ctx, cp, int64(i), e); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The register verifies for anyone.
	anon, _ := client.New(tv.srv.URL)
	reg := anon.Log("register", client.RegisterOrigin("venue.test"), tv.vfy)
	rcp, _, err := reg.Checkpoint(ctx)
	if err != nil || rcp.Size != 2 {
		t.Fatalf("register: %v size %d", err, rcp.Size)
	}
	recs, err := reg.Entries(ctx, rcp, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	r0, err := venue.ParseRegisterRecord(recs[0])
	if err != nil || r0.Delegation != "arden" || r0.RootKey != tv.roots["arden"].VerifierKey() {
		t.Fatalf("register entry 0: %+v %v", r0, err)
	}
}

func TestEpochCommits(t *testing.T) {
	tv := newTestVenue(t)
	tv.accredit(t, "arden")
	tv.channel(t, "wg", "working-group", "arden")
	a := tv.device(t, "arden")
	ctx := t.Context()
	if _, err := a.AppendCommit(ctx, "wg", []byte("commit 1 by A"), 1); err != nil {
		t.Fatal(err)
	}
	_, err := a.AppendCommit(ctx, "wg", []byte("commit 1 by B"), 1)
	var ae *client.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusConflict {
		t.Fatalf("second commit for epoch 1: %v, want 409", err)
	}
	if _, err := a.Append(ctx, "wg", []byte("application message")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AppendCommit(ctx, "wg", []byte("commit 2"), 2); err != nil {
		t.Fatal(err)
	}
	if n := tv.verifiedSize(t, a, "wg"); n != 3 {
		t.Fatalf("size %d, want 3 (the rejected commit must not be logged)", n)
	}
	// Concurrent commits for one epoch: exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := a.AppendCommit(ctx, "wg", fmt.Appendf(nil, "commit 3 #%d", i), 3); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d commits won epoch 3, want 1", wins)
	}
}

func TestAuthorization(t *testing.T) {
	tv := newTestVenue(t)
	tv.accredit(t, "arden", "borealia")
	tv.channel(t, "arden-internal", "delegation-internal", "arden")
	a, b := tv.device(t, "arden"), tv.device(t, "borealia")
	ctx := t.Context()
	if _, err := a.Append(ctx, "arden-internal", []byte("ours")); err != nil {
		t.Fatal(err)
	}
	url := tv.srv.URL
	status := func(err error) int {
		var ae *client.Error
		if errors.As(err, &ae) {
			return ae.Status
		}
		t.Fatalf("not an API error: %v", err)
		return 0
	}
	// Another delegation's device: no read, no write.
	if _, err := b.Append(ctx, "arden-internal", []byte("intruder")); status(err) != 403 {
		t.Fatalf("append by non-member: %v", err)
	}
	for _, p := range []string{"checkpoint", "tile/0/000.p/1", "tile/entries/000.p/1"} {
		if _, err := b.Fetch(ctx, "arden-internal", p); status(err) != 403 {
			t.Fatalf("non-member fetch %s: %v", p, err)
		}
	}
	// No credential; the admin (the host must not read channels).
	for _, tok := range []string{"", strings.TrimSpace(readFile(t, filepath.Join(tv.dir, venue.AdminFile)))} {
		for _, p := range []string{"checkpoint", "tile/entries/000.p/1"} {
			if st, body := raw(t, "GET", url+"/logs/arden-internal/"+p, tok, "", nil); st != 401 && st != 403 || !strings.Contains(body, `"error"`) {
				t.Fatalf("GET %s with %q: %d %s", p, tok, st, body)
			}
		}
		if st, _ := raw(t, "POST", url+"/logs/arden-internal/entries", tok, "message/mls", []byte("x")); st != 401 && st != 403 {
			t.Fatalf("append with %q: %d", tok, st)
		}
	}
	// Devices cannot accredit or convene.
	dtok := deviceToken(t, url, nil2(t, a))
	body := []byte(`{"name":"evil","root_key":"` + tv.roots["arden"].VerifierKey() + `"}`)
	if st, _ := raw(t, "POST", url+"/v1/delegations", dtok, "application/json", body); st != 403 {
		t.Fatalf("device accredit: %d", st)
	}
	if st, _ := raw(t, "POST", url+"/v1/channels", dtok, "application/json", []byte(`{"id":"x","kind":"plenary","level":"expert","members":["arden"]}`)); st != 403 {
		t.Fatalf("device convene: %d", st)
	}
	// A wrong admin credential of the right shape.
	if st, _ := raw(t, "POST", url+"/v1/channels", "goadmin-"+strings.Repeat("A", 43), "application/json", []byte(`{}`)); st != 401 {
		t.Fatalf("wrong admin credential: %d", st)
	}
	// Forged, expired, unaccredited certificates, registered by the
	// device itself (with proof of possession).
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	anon, _ := client.New(url, client.WithDevice(priv))
	rogue, _ := delegation.GenerateRoot("arden") // same name, different key
	for name, cert := range map[string][]byte{
		"forged":       certFor(t, rogue, pub, time.Now().Add(-time.Hour), time.Now().Add(time.Hour)),
		"expired":      certFor(t, tv.roots["arden"], pub, time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour)),
		"not yet":      certFor(t, tv.roots["arden"], pub, time.Now().Add(time.Hour), time.Now().Add(2*time.Hour)),
		"unaccredited": certFor(t, mustRoot(t, "caspia"), pub, time.Now().Add(-time.Hour), time.Now().Add(time.Hour)),
		"garbage":      []byte("not a certificate"),
	} {
		_, err := anon.RegisterDevice(ctx, cert)
		if st := status(err); st != 403 && st != 400 {
			t.Fatalf("%s certificate: %v", name, err)
		}
	}
	// The unregistered key cannot get a token.
	unreg, _ := client.New(url, client.WithDevice(priv))
	if err := unreg.Authenticate(ctx); status(err) != 401 {
		t.Fatalf("unregistered device authenticated: %v", err)
	}
	// Replayed challenge answer; signature by another key; garbage token.
	_, chb := raw(t, "POST", url+"/v1/auth/challenge", "", "", nil)
	var ch struct{ Challenge string }
	json.Unmarshal([]byte(chb), &ch)
	akey := nil2(t, a)
	answer, _ := json.Marshal(map[string]any{"device": a.DeviceID(), "challenge": ch.Challenge, "signature": ed25519.Sign(akey, venue.AuthMessage("venue.test", ch.Challenge))})
	if st, _ := raw(t, "POST", url+"/v1/auth/token", "", "application/json", answer); st != 200 {
		t.Fatalf("first answer: %d", st)
	}
	if st, body := raw(t, "POST", url+"/v1/auth/token", "", "application/json", answer); st != 401 || !strings.Contains(body, "already used") {
		t.Fatalf("replayed answer: %d %s", st, body)
	}
	_, chb = raw(t, "POST", url+"/v1/auth/challenge", "", "", nil)
	json.Unmarshal([]byte(chb), &ch)
	wrong, _ := json.Marshal(map[string]any{"device": a.DeviceID(), "challenge": ch.Challenge, "signature": ed25519.Sign(priv, venue.AuthMessage("venue.test", ch.Challenge))})
	if st, _ := raw(t, "POST", url+"/v1/auth/token", "", "application/json", wrong); st != 401 {
		t.Fatalf("wrong signature: %d", st)
	}
	tampered := []byte(strings.Replace(ch.Challenge, ch.Challenge[:2], "AA", 1))
	bad, _ := json.Marshal(map[string]any{"device": a.DeviceID(), "challenge": string(tampered), "signature": ed25519.Sign(akey, venue.AuthMessage("venue.test", string(tampered)))})
	if st, _ := raw(t, "POST", url+"/v1/auth/token", "", "application/json", bad); st != 401 && string(tampered) != ch.Challenge {
		t.Fatalf("forged challenge: %d", st)
	}
	if st, _ := raw(t, "GET", url+"/v1/channels", "gotok1."+strings.Repeat("A", 96), "", nil); st != 401 {
		t.Fatalf("garbage token: %d", st)
	}
	if st, _ := raw(t, "GET", url+"/v1/channels", dtok[:len(dtok)-2]+"AA", "", nil); st != 401 {
		t.Fatalf("tampered token: %d", st)
	}
	// Nothing was stored by any of this.
	if n := tv.verifiedSize(t, a, "arden-internal"); n != 1 {
		t.Fatalf("arden-internal has %d entries, want 1", n)
	}
	if n := tv.verifiedSize(t, anon, "register"); n != 2 {
		t.Fatalf("register has %d entries, want 2", n)
	}
	// The venue lists to a device only its delegation's channels.
	chs, err := b.Channels(ctx)
	if err != nil || len(chs) != 0 {
		t.Fatalf("borealia sees channels %v %v", chs, err)
	}
}

func readFile(t *testing.T, p string) string {
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func mustRoot(t *testing.T, name string) *delegation.RootKey {
	r, err := delegation.GenerateRoot(name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// keys maps device clients to their private keys for tests that need them.
var keys sync.Map

func nil2(t testing.TB, c *client.Client) ed25519.PrivateKey {
	k, ok := keys.Load(c.DeviceID())
	if !ok {
		t.Fatal("no key for device")
	}
	return k.(ed25519.PrivateKey)
}

func TestBadInput(t *testing.T) {
	tv := newTestVenue(t, func(c *venue.Config) { c.MaxEntry = 1000 })
	tv.accredit(t, "arden")
	tv.channel(t, "plenary", "plenary", "arden")
	a := tv.device(t, "arden")
	ctx := t.Context()
	if _, err := a.Append(ctx, "plenary", []byte("one")); err != nil {
		t.Fatal(err)
	}
	url := tv.srv.URL
	tok := deviceToken(t, url, nil2(t, a))
	admin := strings.TrimSpace(readFile(t, filepath.Join(tv.dir, venue.AdminFile)))
	for _, tc := range []struct {
		name, method, path, token, ctype string
		body                             []byte
		hdr                              []string
		want                             int
	}{
		{"wrong content type", "POST", "/logs/plenary/entries", tok, "application/octet-stream", []byte("x"), nil, 415},
		{"no content type", "POST", "/logs/plenary/entries", tok, "", []byte("x"), nil, 415},
		{"oversized entry", "POST", "/logs/plenary/entries", tok, "message/mls", make([]byte, 1001), nil, 413},
		{"empty entry", "POST", "/logs/plenary/entries", tok, "message/mls", nil, nil, 400},
		{"unknown channel", "POST", "/logs/nope/entries", tok, "message/mls", []byte("x"), nil, 403},
		{"bad channel id", "POST", "/logs/NOPE!/entries", tok, "message/mls", []byte("x"), nil, 404},
		{"append to register", "POST", "/logs/register/entries", tok, "message/mls", []byte("x"), nil, 403},
		{"epoch not canonical", "POST", "/logs/plenary/entries", tok, "message/mls", []byte("x"), []string{"Goodoffices-Handshake", "commit", "Goodoffices-Epoch", "01"}, 400},
		{"epoch missing", "POST", "/logs/plenary/entries", tok, "message/mls", []byte("x"), []string{"Goodoffices-Handshake", "commit"}, 400},
		{"epoch negative", "POST", "/logs/plenary/entries", tok, "message/mls", []byte("x"), []string{"Goodoffices-Handshake", "commit", "Goodoffices-Epoch", "-1"}, 400},
		{"unknown handshake", "POST", "/logs/plenary/entries", tok, "message/mls", []byte("x"), []string{"Goodoffices-Handshake", "proposal", "Goodoffices-Epoch", "1"}, 400},
		{"malformed tile path", "GET", "/logs/plenary/tile/0/1", tok, "", nil, nil, 400},
		{"tile past end", "GET", "/logs/plenary/tile/0/000.p/2", tok, "", nil, nil, 404},
		{"full tile past end", "GET", "/logs/plenary/tile/0/000", tok, "", nil, nil, 404},
		{"bundle past end", "GET", "/logs/plenary/tile/entries/001.p/1", tok, "", nil, nil, 404},
		{"level past end", "GET", "/logs/plenary/tile/1/000.p/1", tok, "", nil, nil, 404},
		{"huge level", "GET", "/logs/plenary/tile/63/000.p/1", tok, "", nil, nil, 404},
		{"malformed JSON", "POST", "/v1/channels", admin, "application/json", []byte("{"), nil, 400},
		{"unknown JSON field", "POST", "/v1/channels", admin, "application/json", []byte(`{"id":"x","kind":"plenary","level":"expert","members":["arden"],"extra":1}`), nil, 400},
		{"trailing JSON", "POST", "/v1/channels", admin, "application/json", []byte(`{"id":"x","kind":"plenary","level":"expert","members":["arden"]} {}`), nil, 400},
		{"bad kind", "POST", "/v1/channels", admin, "application/json", []byte(`{"id":"x","kind":"party","level":"expert","members":["arden"]}`), nil, 400},
		{"bad level", "POST", "/v1/channels", admin, "application/json", []byte(`{"id":"x","kind":"plenary","level":"king","members":["arden"]}`), nil, 400},
		{"unaccredited member", "POST", "/v1/channels", admin, "application/json", []byte(`{"id":"x","kind":"plenary","level":"expert","members":["ghost"]}`), nil, 400},
		{"bilateral of one", "POST", "/v1/channels", admin, "application/json", []byte(`{"id":"x","kind":"bilateral","level":"expert","members":["arden"]}`), nil, 400},
		{"channel named register", "POST", "/v1/channels", admin, "application/json", []byte(`{"id":"register","kind":"plenary","level":"expert","members":["arden"]}`), nil, 400},
		{"duplicate channel", "POST", "/v1/channels", admin, "application/json", []byte(`{"id":"plenary","kind":"plenary","level":"expert","members":["arden"]}`), nil, 409},
		{"JSON wrong type", "POST", "/v1/delegations", admin, "text/plain", []byte(`{}`), nil, 415},
		{"bad root key", "POST", "/v1/delegations", admin, "application/json", []byte(`{"name":"x","root_key":"x+1+2"}`), nil, 400},
		{"root key of another name", "POST", "/v1/delegations", admin, "application/json", []byte(`{"name":"borealia","root_key":"` + tv.roots["arden"].VerifierKey() + `"}`), nil, 400},
		{"bad mail target", "POST", "/v1/devices/xyz/mail", tok, "message/mls", []byte("w"), nil, 400},
		{"mail to unknown device", "POST", "/v1/devices/" + strings.Repeat("A", 43) + "/mail", tok, "message/mls", []byte("w"), nil, 404},
		{"bad mail cursor", "GET", "/v1/mail?after=-3", tok, "", nil, nil, 400},
		{"bad keypackage upload", "POST", "/v1/keypackages", tok, "application/json", []byte(`{"one_time":["!!"]}`), nil, 400},
		{"empty keypackage upload", "POST", "/v1/keypackages", tok, "application/json", []byte(`{"one_time":[]}`), nil, 400},
		{"bad event cursor", "GET", "/v1/events", tok, "", nil, []string{"Last-Event-ID", "v2;x"}, 400},
		{"no such endpoint", "GET", "/v2/anything", "", "", nil, nil, 404},
		{"bad auth scheme", "GET", "/v1/channels", "", "", nil, []string{"Authorization", "Basic abc"}, 401},
	} {
		st, body := raw(t, tc.method, url+tc.path, tc.token, tc.ctype, tc.body, tc.hdr...)
		var e struct{ Error string }
		if st != tc.want || json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
			t.Errorf("%s: %d %s, want %d with a JSON error", tc.name, st, body, tc.want)
		}
	}
	if n := tv.verifiedSize(t, a, "plenary"); n != 1 {
		t.Fatalf("plenary has %d entries after bad input, want 1", n)
	}
	chs, _ := tv.admin.Channels(ctx)
	if len(chs) != 1 {
		t.Fatalf("%d channels after bad input, want 1", len(chs))
	}
	if n, _ := a.KeyPackageStock(ctx); n != 0 {
		t.Fatalf("key packages stored from bad input: %d", n)
	}
}

func TestRateLimit(t *testing.T) {
	tv := newTestVenue(t, func(c *venue.Config) { c.Rate, c.Burst = 1, 3 })
	tv.accredit(t, "arden")
	tv.channel(t, "plenary", "plenary", "arden")
	a := tv.device(t, "arden")
	var limited bool
	for range 6 {
		_, err := a.Append(t.Context(), "plenary", []byte("x"))
		var ae *client.Error
		if errors.As(err, &ae) && ae.Status == 429 && ae.Retryable() {
			limited = true
		}
	}
	if !limited {
		t.Fatal("no 429 after exceeding the burst")
	}
}

func TestKeyPackagesAndMail(t *testing.T) {
	tv := newTestVenue(t)
	tv.accredit(t, "arden", "borealia")
	a, b := tv.device(t, "arden"), tv.device(t, "borealia")
	ctx := t.Context()
	n, err := b.UploadKeyPackages(ctx, [][]byte{[]byte("kp1"), []byte("kp2")}, []byte("last"))
	if err != nil || n != 2 {
		t.Fatalf("upload: %d %v", n, err)
	}
	got := map[string]bool{}
	for range 2 {
		kp, lr, err := a.ClaimKeyPackage(ctx, b.DeviceID())
		if err != nil || lr {
			t.Fatal(err)
		}
		got[string(kp)] = true
	}
	if !got["kp1"] || !got["kp2"] {
		t.Fatalf("claimed %v", got)
	}
	kp, lr, err := a.ClaimKeyPackage(ctx, b.DeviceID())
	if err != nil || !lr || string(kp) != "last" {
		t.Fatalf("last resort: %q %v %v", kp, lr, err)
	}
	if n, _ := b.KeyPackageStock(ctx); n != 0 {
		t.Fatalf("stock %d", n)
	}
	// Welcome mailbox.
	id1, err := a.SendMail(ctx, b.DeviceID(), []byte("welcome 1"))
	if err != nil {
		t.Fatal(err)
	}
	id2, _ := a.SendMail(ctx, b.DeviceID(), []byte("welcome 2"))
	ms, err := b.Mail(ctx, 0)
	if err != nil || len(ms) != 2 || string(ms[1].Data) != "welcome 2" || ms[0].ID != id1 {
		t.Fatalf("mail: %+v %v", ms, err)
	}
	if ms, _ := a.Mail(ctx, 0); len(ms) != 0 {
		t.Fatal("mail delivered to the sender")
	}
	if err := b.DeleteMail(ctx, id1); err != nil {
		t.Fatal(err)
	}
	ms, _ = b.Mail(ctx, 0)
	if len(ms) != 1 || ms[0].ID != id2 {
		t.Fatalf("after delete: %+v", ms)
	}
}

func TestEventsResume(t *testing.T) {
	tv := newTestVenue(t)
	tv.accredit(t, "arden", "borealia")
	tv.channel(t, "plenary", "plenary", "arden", "borealia")
	tv.channel(t, "arden-internal", "delegation-internal", "arden")
	tv.channel(t, "borealia-internal", "delegation-internal", "borealia")
	a, b := tv.device(t, "arden"), tv.device(t, "borealia")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	sub, err := a.Subscribe(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := sub.Next(ctx)
	if err != nil || ev.Type != "ready" {
		t.Fatalf("first event %+v %v", ev, err)
	}
	seen := map[string]int64{} // log -> next index expected
	check := func(ev client.Event) {
		t.Helper()
		if ev.Type != "entry" {
			return
		}
		if ev.Log == "borealia-internal" {
			t.Fatal("arden's device received borealia's internal channel")
		}
		if ev.Index != seen[ev.Log] {
			t.Fatalf("%s: got index %d, want %d (gap or duplicate)", ev.Log, ev.Index, seen[ev.Log])
		}
		seen[ev.Log]++
	}
	post := func(n int) {
		for i := range n {
			if _, err := b.Append(ctx, "plenary", fmt.Appendf(nil, "p%d", i)); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Append(ctx, "arden-internal", fmt.Appendf(nil, "a%d", i)); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Append(ctx, "borealia-internal", fmt.Appendf(nil, "b%d", i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	post(5)
	b.SendMail(ctx, a.DeviceID(), []byte("welcome"))
	gotMail := false
	for seen["plenary"] < 5 || seen["arden-internal"] < 5 || !gotMail {
		ev, err := sub.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		check(ev)
		gotMail = gotMail || (ev.Type == "mail" && string(ev.Mail.Data) == "welcome")
	}
	// Disconnect, append while away, resume from the cursor.
	cursor := sub.Cursor()
	sub.Close()
	post(7)
	// Drop what the venue keeps in memory, so the resumed stream reads
	// the missed entries back from the store.
	tv.v.PeerChanged(venue.PeerChange{All: true})
	sub, err = a.Subscribe(ctx, cursor)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for seen["plenary"] < 12 || seen["arden-internal"] < 12 {
		ev, err := sub.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type == "mail" {
			t.Fatal("mail delivered twice")
		}
		check(ev)
	}
	// A channel arden joins later is delivered from its start.
	if _, err := tv.admin.SetMembers(ctx, "borealia-internal", []string{"borealia"}); err != nil {
		t.Fatal(err)
	}
	tv.channel(t, "bilateral", "bilateral", "arden", "borealia")
	if _, err := b.Append(ctx, "bilateral", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	for seen["bilateral"] < 1 {
		ev, err := sub.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		check(ev)
	}
}

// TestManyChannels appends concurrently to many channels, so that group
// commits span many logs (and sign their checkpoints in parallel), then
// verifies every log.
func TestManyChannels(t *testing.T) {
	tv := newTestVenue(t)
	tv.accredit(t, "arden")
	const n = 48
	for i := range n {
		tv.channel(t, fmt.Sprintf("ch%d", i), "working-group", "arden")
	}
	a := tv.device(t, "arden")
	ctx := t.Context()
	var wg sync.WaitGroup
	errc := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 10 {
				idx, err := a.Append(ctx, fmt.Sprintf("ch%d", i), fmt.Appendf(nil, "%d/%d", i, j))
				if err != nil || idx != int64(j) {
					errc <- fmt.Errorf("ch%d entry %d: index %d, %v", i, j, idx, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	for i := range n {
		id := fmt.Sprintf("ch%d", i)
		lc := a.Log(id, client.ChannelOrigin("venue.test", id), tv.vfy)
		cp, _, err := lc.Checkpoint(ctx)
		if err != nil || cp.Size != 10 {
			t.Fatalf("%s: size %d, %v", id, cp.Size, err)
		}
		es, err := lc.Entries(ctx, cp, 0, 10)
		if err != nil || string(es[9]) != fmt.Sprintf("%d/9", i) {
			t.Fatalf("%s: %v", id, err)
		}
	}
}

// TestTwoVenuesOneStore runs two venues on one SQLite database, as two
// nodes would share one PostgreSQL: concurrent appends to the same channels
// through both conflict in the store, are sequenced again, and every
// acknowledged entry ends up exactly once at its index.
func TestTwoVenuesOneStore(t *testing.T) {
	tv := newTestVenue(t)
	tv.accredit(t, "arden")
	tv.channel(t, "plenary", "plenary", "arden")
	tv.channel(t, "wg", "working-group", "arden")
	v2, err := venue.New(t.Context(), venue.Config{DataDir: tv.dir, OpaqueEntries: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv2 := httptest.NewServer(v2.Handler())
	defer func() {
		v2.BeginShutdown()
		srv2.Close()
		v2.Close()
	}()
	a1 := tv.device(t, "arden")
	a2, _ := client.New(srv2.URL, client.WithDevice(nil2(t, a1)))
	ctx := t.Context()
	type ack struct {
		log   string
		index int64
	}
	var mu sync.Mutex
	got := map[ack]string{}
	var wg sync.WaitGroup
	errc := make(chan error, 16)
	for w := range 8 {
		c := a1
		if w%2 == 1 {
			c = a2
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				log := []string{"plenary", "wg"}[(w+i)%2]
				e := fmt.Sprintf("w%d-%d", w, i)
				var idx int64
				var err error
				for {
					idx, err = c.Append(ctx, log, []byte(e))
					var ae *client.Error
					if errors.As(err, &ae) && ae.Retryable() {
						time.Sleep(5 * time.Millisecond)
						continue
					}
					break
				}
				if err != nil {
					errc <- err
					return
				}
				mu.Lock()
				if prev, dup := got[ack{log, idx}]; dup {
					errc <- fmt.Errorf("%s index %d acknowledged for %q and %q", log, idx, prev, e)
				}
				got[ack{log, idx}] = e
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	// Without fan-out a node knows only its own appends; tell both what
	// the other did, as venue/fanout would.
	tv.v.PeerChanged(venue.PeerChange{All: true})
	v2.PeerChanged(venue.PeerChange{All: true})
	for _, log := range []string{"plenary", "wg"} {
		for _, c := range []*client.Client{a1, a2} {
			lc := c.Log(log, client.ChannelOrigin("venue.test", log), tv.vfy)
			cp, _, err := lc.Checkpoint(ctx)
			if err != nil {
				t.Fatal(err)
			}
			es, err := lc.Entries(ctx, cp, 0, cp.Size)
			if err != nil {
				t.Fatal(err)
			}
			for i, e := range es {
				if want, ok := got[ack{log, int64(i)}]; ok && want != string(e) {
					t.Fatalf("%s entry %d = %q, acknowledged %q", log, i, e, want)
				}
			}
			if cp.Size < 100 {
				t.Fatalf("%s has %d entries, want at least the 100 acknowledged", log, cp.Size)
			}
		}
	}
}

func TestRevocation(t *testing.T) {
	tv := newTestVenue(t)
	tv.accredit(t, "arden", "borealia")
	tv.channel(t, "plenary", "plenary", "arden", "borealia")
	a, b := tv.device(t, "arden"), tv.device(t, "borealia")
	ctx := t.Context()
	if _, err := a.Append(ctx, "plenary", []byte("before")); err != nil {
		t.Fatal(err)
	}
	anon, _ := client.New(tv.srv.URL)
	apub := nil2(t, a).Public().(ed25519.PublicKey)
	status := func(err error) int {
		var ae *client.Error
		if errors.As(err, &ae) {
			return ae.Status
		}
		return 0
	}
	// Another delegation's root cannot revoke arden's device.
	forged, _ := tv.roots["borealia"].Revoke(apub)
	if _, err := anon.Revoke(ctx, forged); status(err) != 403 {
		t.Fatalf("borealia revoking arden's device: %v", err)
	}
	if _, err := anon.Revoke(ctx, []byte("garbage")); status(err) != 400 {
		t.Fatalf("garbage revocation: %v", err)
	}
	if _, err := a.Append(ctx, "plenary", []byte("still fine")); err != nil {
		t.Fatal(err)
	}
	rev, _ := tv.roots["arden"].Revoke(apub)
	idx, err := anon.Revoke(ctx, rev)
	if err != nil || idx != 0 {
		t.Fatalf("revoke: %d %v", idx, err)
	}
	if _, err := anon.Revoke(ctx, rev); status(err) != 409 {
		t.Fatalf("second revocation: %v", err)
	}
	// The revoked device is refused at once, token or not.
	if _, err := a.Append(ctx, "plenary", []byte("after")); status(err) != 401 {
		t.Fatalf("append by revoked device: %v", err)
	}
	if err := a.Authenticate(ctx); status(err) != 401 || !strings.Contains(err.Error(), "this device was revoked by its delegation") {
		t.Fatalf("revoked device authenticated, or not told it was revoked: %v", err)
	}
	// Another key is told only that it is not a registered device (only the
	// holder of the revoked key, which signs the token request, is told).
	other, _ := client.New(tv.srv.URL, client.WithDevice(ed25519.NewKeyFromSeed(make([]byte, 32))))
	if err := other.Authenticate(ctx); err == nil || strings.Contains(err.Error(), "revoked") {
		t.Fatalf("a stranger's authentication: %v", err)
	}
	// The host's list marks it.
	ds, err := tv.admin.Devices(ctx, "arden")
	if err != nil || len(ds) != 1 || !ds[0].Revoked {
		t.Fatalf("host's device list after revocation: %+v %v", ds, err)
	}
	cert := certFor(t, tv.roots["arden"], apub, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if _, err := a.RegisterDevice(ctx, cert); status(err) != 403 {
		t.Fatalf("re-registering a revoked device: %v", err)
	}
	// Others are unaffected, and the revocation is public and verifiable.
	if _, err := b.Append(ctx, "plenary", []byte("borealia")); err != nil {
		t.Fatal(err)
	}
	lc := anon.Log("revocations", client.RevocationsOrigin("venue.test"), tv.vfy)
	cp, _, err := lc.Checkpoint(ctx)
	if err != nil || cp.Size != 1 {
		t.Fatalf("revocations log: %v size %d", err, cp.Size)
	}
	es, err := lc.Entries(ctx, cp, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := delegation.VerifyRevocation(es[0], tv.roots["arden"].VerifierKey()); err != nil || !r.Device.Equal(apub) {
		t.Fatalf("logged revocation: %v", err)
	}
	// Nobody appends to it directly.
	if _, err := b.Append(ctx, "revocations", []byte("x")); status(err) != 403 {
		t.Fatalf("direct append to revocations: %v", err)
	}
}
