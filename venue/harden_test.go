package venue_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/good-offices/goodoffices/bench"
	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/venue"
	"github.com/good-offices/goodoffices/venue/client"
)

// The hardening suite (issue "Hardening: the venue and the local UIs under
// abuse"): each test attacks the real binary on loopback from outside.

// sharedBinary builds the goodoffices binary once for the hardening tests.
var sharedBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "goodoffices-harden-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "goodoffices")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/good-offices/goodoffices/cmd/goodoffices").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// hardVenue is a real venue process with delegations, a channel and
// helpers to make devices.
type hardVenue struct {
	bin   string
	data  string
	p     *venueProc
	admin *client.Client
	roots map[string]*delegation.RootKey
}

func startHardVenue(t *testing.T, extra ...string) *hardVenue {
	t.Helper()
	if testing.Short() {
		t.Skip("starts the real binary")
	}
	bin, err := sharedBinary()
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(t.TempDir(), "venue-data")
	p := startVenueProc(t, bin, data, extra...)
	cred, err := os.ReadFile(filepath.Join(data, venue.AdminFile))
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := client.New(p.url, client.WithAdmin(string(cred)))
	hv := &hardVenue{bin: bin, data: data, p: p, admin: admin, roots: map[string]*delegation.RootKey{}}
	for _, n := range []string{"arden", "borealia"} {
		root, err := delegation.GenerateRoot(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := admin.Accredit(t.Context(), n, root.VerifierKey()); err != nil {
			t.Fatal(err)
		}
		hv.roots[n] = root
	}
	if _, err := admin.CreateChannel(t.Context(), client.ChannelSpec{ID: "plenary", Kind: "plenary", Level: "expert", Members: []string{"arden", "borealia"}}); err != nil {
		t.Fatal(err)
	}
	return hv
}

// device registers a device of del whose certificate is valid until
// notAfter and returns its client and key.
func (hv *hardVenue) device(t *testing.T, del string, notAfter time.Time) (*client.Client, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	cert := certFor(t, hv.roots[del], pub, time.Now().Add(-time.Hour).Truncate(time.Second), notAfter.Truncate(time.Second))
	c, _ := client.New(hv.p.url, client.WithDevice(priv))
	if _, err := c.RegisterDevice(t.Context(), cert); err != nil {
		t.Fatal(err)
	}
	if err := c.Authenticate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return c, priv
}

// token authenticates a device by hand against the venue "venue.e2e".
func (hv *hardVenue) token(t *testing.T, priv ed25519.PrivateKey) string {
	t.Helper()
	_, body := raw(t, "POST", hv.p.url+"/v1/auth/challenge", "", "", nil)
	var ch struct{ Challenge string }
	json.Unmarshal([]byte(body), &ch)
	req, _ := json.Marshal(map[string]any{"device": delegation.DeviceID(priv.Public().(ed25519.PublicKey)),
		"challenge": ch.Challenge, "signature": ed25519.Sign(priv, venue.AuthMessage("venue.e2e", ch.Challenge))})
	status, body := raw(t, "POST", hv.p.url+"/v1/auth/token", "", "application/json", req)
	if status != 200 {
		t.Fatalf("token: %d %s", status, body)
	}
	var tok struct{ Token string }
	json.Unmarshal([]byte(body), &tok)
	return tok.Token
}

// sseEvent is one server-sent event as read off the wire.
type sseEvent struct {
	typ  string
	data string
	at   time.Time
}

// openStream opens GET /v1/events by hand and returns a channel of its
// events, closed when the venue ends the stream.
func openStream(t *testing.T, url, token string) <-chan sseEvent {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", url+"/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("events: %d %s", resp.StatusCode, b)
	}
	out := make(chan sseEvent, 1024)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.typ != "" {
					ev.at = time.Now()
					out <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.typ = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	if ev := <-out; ev.typ != "ready" {
		t.Fatalf("first event %q, want ready", ev.typ)
	}
	return out
}

// TestStreamCarriesRevocations: every device's event stream follows the
// public revocations log, whichever its channels, so that a desk learns of
// a revocation as soon as it is logged: another delegation's device gets
// the revocation, byte for byte, as an entry event.
func TestStreamCarriesRevocations(t *testing.T) {
	hv := startHardVenue(t)
	ctx := t.Context()
	_, apriv := hv.device(t, "arden", time.Now().Add(time.Hour))
	_, bpriv := hv.device(t, "borealia", time.Now().Add(time.Hour))
	events := openStream(t, hv.p.url, hv.token(t, bpriv)) // "ready" read
	rev, err := hv.roots["arden"].Revoke(apriv.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	anon, _ := client.New(hv.p.url)
	idx, err := anon.Revoke(ctx, rev)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("borealia's stream ended")
			}
			var e venue.EntryEvent
			if ev.typ != "entry" || json.Unmarshal([]byte(ev.data), &e) != nil || e.Log != "revocations" {
				continue
			}
			if e.Index != idx || !bytes.Equal(e.Entry, rev) {
				t.Fatalf("revocations entry %d (%q), want %d (%q)", e.Index, e.Entry, idx, rev)
			}
			return
		case <-deadline:
			t.Fatal("no revocations entry on another delegation's stream 5 s after the revocation")
		}
	}
}

// TestRevocationEndsOpenStream: a device's open event stream ends within a
// second of its revocation being logged, while another device appends
// without pause, and carries no entry appended after the revocation.
func TestRevocationEndsOpenStream(t *testing.T) {
	hv := startHardVenue(t)
	ctx := t.Context()
	_, apriv := hv.device(t, "arden", time.Now().Add(time.Hour))
	b, _ := hv.device(t, "borealia", time.Now().Add(time.Hour))
	events := openStream(t, hv.p.url, hv.token(t, apriv))
	if _, err := b.Append(ctx, "plenary", bench.Frame([]byte("before"))); err != nil {
		t.Fatal(err)
	}
	if ev := <-events; ev.typ != "entry" {
		t.Fatalf("event %q, want the entry appended before the revocation", ev.typ)
	}

	// Borealia appends without pause; firstAfter is the index of its first
	// append begun after the revocation was acknowledged.
	var mu sync.Mutex
	var revokedAt time.Time
	firstAfter := int64(-1)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			mu.Lock()
			after := !revokedAt.IsZero()
			mu.Unlock()
			idx, err := b.Append(ctx, "plenary", bench.Frame([]byte("during")))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			if after && firstAfter < 0 {
				firstAfter = idx
			}
			mu.Unlock()
		}
	}()
	time.Sleep(200 * time.Millisecond)
	rev, err := hv.roots["arden"].Revoke(apriv.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	anon, _ := client.New(hv.p.url)
	if _, err := anon.Revoke(ctx, rev); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	revokedAt = time.Now()
	mu.Unlock()
	var got []int64
	deadline := time.After(5 * time.Second)
	var endedAt time.Time
wait:
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				endedAt = time.Now()
				break wait
			}
			if ev.typ == "entry" {
				var e venue.EntryEvent
				json.Unmarshal([]byte(ev.data), &e)
				got = append(got, e.Index)
			}
		case <-deadline:
			t.Fatal("the revoked device's event stream is still open 5 s after the revocation")
		}
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	<-done
	if d := endedAt.Sub(revokedAt); d > time.Second {
		t.Errorf("stream ended %v after the revocation was acknowledged, want within 1 s", d)
	}
	mu.Lock()
	defer mu.Unlock()
	if firstAfter < 0 {
		t.Fatal("no append after the revocation")
	}
	for _, idx := range got {
		if idx >= firstAfter {
			t.Errorf("entry %d, appended after the revocation (from %d on), reached the revoked device", idx, firstAfter)
		}
	}
	t.Logf("stream ended %v after the revocation; %d entries delivered during it, none from index %d", endedAt.Sub(revokedAt), len(got), firstAfter)
}

// TestExpiryEndsOpenStream: a device's stream ends when its certificate
// expires, and carries nothing appended after that.
func TestExpiryEndsOpenStream(t *testing.T) {
	hv := startHardVenue(t)
	ctx := t.Context()
	notAfter := time.Now().Add(3 * time.Second).Truncate(time.Second)
	_, apriv := hv.device(t, "arden", notAfter)
	b, _ := hv.device(t, "borealia", time.Now().Add(time.Hour))
	events := openStream(t, hv.p.url, hv.token(t, apriv))
	// Borealia appends without pause; firstAfter is the index of its first
	// append begun after the expiry.
	firstAfter := make(chan int64, 1)
	go func() {
		for ctx.Err() == nil {
			after := !time.Now().Before(notAfter)
			idx, err := b.Append(ctx, "plenary", bench.Frame([]byte("x")))
			if err != nil {
				return
			}
			if after {
				firstAfter <- idx
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	var got []int64
	for ev := range events {
		if ev.typ == "entry" {
			var e venue.EntryEvent
			json.Unmarshal([]byte(ev.data), &e)
			got = append(got, e.Index)
		}
		if time.Now().After(notAfter.Add(5 * time.Second)) {
			t.Fatal("stream still open 5 s after the certificate expired")
		}
	}
	ended := time.Now()
	if ended.Before(notAfter) {
		t.Fatalf("stream ended %v before the certificate expired", notAfter.Sub(ended))
	}
	if d := ended.Sub(notAfter); d > time.Second {
		t.Errorf("stream ended %v after the certificate expired, want within 1 s", d)
	}
	first := <-firstAfter
	for _, idx := range got {
		if idx >= first {
			t.Errorf("entry %d, appended after the expiry, reached the expired device", idx)
		}
	}
	t.Logf("stream ended %v after expiry, %d entries delivered before", ended.Sub(notAfter), len(got))
}

// TestSlowBodiesDoNotLockOut: unauthenticated clients trickling request
// bodies into every connection slot neither keep /healthz unanswered nor an
// authenticated desk out, and each is cut off within the body deadline.
func TestSlowBodiesDoNotLockOut(t *testing.T) {
	const slots = 16
	hv := startHardVenue(t, "--max-conns", fmt.Sprint(slots))
	ctx := t.Context()
	a, _ := hv.device(t, "arden", time.Now().Add(time.Hour))
	addr := strings.TrimPrefix(hv.p.url, "http://")
	var wg sync.WaitGroup
	closedAfter := make(chan time.Duration, slots)
	for range slots {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST /v1/devices HTTP/1.1\r\nHost: %s\r\nContent-Length: 2000\r\n\r\n", addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			for range 100 { // up to 200 s
				if _, err := c.Write([]byte("x")); err != nil {
					closedAfter <- time.Since(start)
					return
				}
				// A closed connection shows up on read.
				c.SetReadDeadline(time.Now().Add(2 * time.Second))
				if _, err := c.Read(make([]byte, 512)); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
					closedAfter <- time.Since(start)
					return
				}
			}
			closedAfter <- time.Hour
		}()
	}
	time.Sleep(500 * time.Millisecond) // all of them in the venue's slots
	hc := &http.Client{Timeout: 2 * time.Second}
	start := time.Now()
	resp, err := hc.Get(hv.p.url + "/healthz")
	if err != nil {
		t.Fatalf("/healthz with %d slow-body clients holding the slots: %v", slots, err)
	}
	resp.Body.Close()
	t.Logf("/healthz answered in %v", time.Since(start))
	actx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := a.Append(actx, "plenary", bench.Frame([]byte("desk still served"))); err != nil {
		t.Fatalf("an authenticated desk was locked out: %v", err)
	}
	wg.Wait()
	close(closedAfter)
	for d := range closedAfter {
		// 2000-byte limit: 5 s + 2048 B at 32 KiB/s, plus one 2 s write
		// pause to notice.
		if d > 9*time.Second {
			t.Errorf("a slow-body connection stayed open %v", d)
		}
	}
}

// TestQuotas: the mailbox quota (count and bytes), mail expiry, the key
// package claim quota and the disk watermark.
func TestQuotas(t *testing.T) {
	t.Run("mailbox", func(t *testing.T) {
		hv := startHardVenue(t, "--mailbox-messages", "3", "--mailbox-bytes", "100000")
		ctx := t.Context()
		a, _ := hv.device(t, "arden", time.Now().Add(time.Hour))
		b, _ := hv.device(t, "borealia", time.Now().Add(time.Hour))
		for i := range 3 {
			if _, err := a.SendMail(ctx, b.DeviceID(), []byte{byte(i)}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := a.SendMail(ctx, b.DeviceID(), []byte("4th")); statusOf(err) != http.StatusInsufficientStorage {
			t.Fatalf("4th mail to a mailbox of 3: %v, want 507", err)
		}
		ms, err := b.Mail(ctx, 0)
		if err != nil || len(ms) != 3 {
			t.Fatalf("mailbox: %d %v", len(ms), err)
		}
		if err := b.DeleteMail(ctx, ms[2].ID); err != nil {
			t.Fatal(err)
		}
		if _, err := a.SendMail(ctx, b.DeviceID(), make([]byte, 60000)); err != nil {
			t.Fatalf("mail after the recipient fetched its mail: %v", err)
		}
		if _, err := a.SendMail(ctx, b.DeviceID(), make([]byte, 60000)); statusOf(err) != http.StatusInsufficientStorage {
			t.Fatalf("mail past the byte quota: %v, want 507", err)
		}
	})
	t.Run("mail-ttl", func(t *testing.T) {
		hv := startHardVenue(t, "--mail-ttl", "2s")
		ctx := t.Context()
		a, _ := hv.device(t, "arden", time.Now().Add(time.Hour))
		b, _ := hv.device(t, "borealia", time.Now().Add(time.Hour))
		if _, err := a.SendMail(ctx, b.DeviceID(), []byte("old")); err != nil {
			t.Fatal(err)
		}
		if ms, _ := b.Mail(ctx, 0); len(ms) != 1 {
			t.Fatal("mail not there")
		}
		deadline := time.Now().Add(6 * time.Second)
		for {
			ms, err := b.Mail(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("mail nobody fetched did not expire")
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
	t.Run("claims", func(t *testing.T) {
		hv := startHardVenue(t, "--claims", "3", "--claim-window", "1h")
		ctx := t.Context()
		a, _ := hv.device(t, "arden", time.Now().Add(time.Hour))
		b, _ := hv.device(t, "borealia", time.Now().Add(time.Hour))
		if _, err := b.UploadKeyPackages(ctx, [][]byte{{1}, {2}}, []byte{9}); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if _, _, err := a.ClaimKeyPackage(ctx, b.DeviceID()); err != nil {
				t.Fatalf("claim %d: %v", i, err)
			}
		}
		if _, lr, err := a.ClaimKeyPackage(ctx, b.DeviceID()); statusOf(err) != http.StatusTooManyRequests {
			t.Fatalf("4th claim within the window: last resort %v, %v; want 429", lr, err)
		}
		// The quota is per claiming device.
		c, _ := hv.device(t, "arden", time.Now().Add(time.Hour))
		if _, _, err := c.ClaimKeyPackage(ctx, b.DeviceID()); err != nil {
			t.Fatalf("another device's claim: %v", err)
		}
	})
	t.Run("disk-watermark", func(t *testing.T) {
		// A watermark above the free space of any disk: every write is
		// refused before it is stored; reads and revocations still work.
		hv := startHardVenue(t)
		_, apriv := hv.device(t, "arden", time.Now().Add(time.Hour))
		hv.p.stop(t)
		hv.p = startVenueProc(t, hv.bin, hv.data, "--min-free", fmt.Sprint(int64(1)<<60))
		hv.admin, _ = client.New(hv.p.url, client.WithAdmin(readFile(t, filepath.Join(hv.data, venue.AdminFile))))
		ctx := t.Context()
		cp0 := readCheckpoint(t, hv, "register")
		anon, _ := client.New(hv.p.url)
		root, _ := delegation.GenerateRoot("caspia")
		if _, err := hv.admin.Accredit(ctx, "caspia", root.VerifierKey()); statusOf(err) != http.StatusInsufficientStorage {
			t.Fatalf("accreditation below the watermark: %v, want 507", err)
		}
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		reg, _ := client.New(hv.p.url, client.WithDevice(priv))
		if _, err := reg.RegisterDevice(ctx, certFor(t, hv.roots["arden"], pub, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))); statusOf(err) != http.StatusInsufficientStorage {
			t.Fatalf("device registration below the watermark: %v, want 507", err)
		}
		a, _ := client.New(hv.p.url, client.WithDevice(apriv))
		if _, err := a.Append(ctx, "plenary", bench.Frame([]byte("x"))); statusOf(err) != http.StatusInsufficientStorage {
			t.Fatalf("append below the watermark: %v, want 507", err)
		}
		if cp := readCheckpoint(t, hv, "register"); cp != cp0 {
			t.Fatal("the register grew below the watermark")
		}
		rev, _ := hv.roots["arden"].Revoke(pub)
		if _, err := anon.Revoke(ctx, rev); err != nil {
			t.Fatalf("a revocation must not be refused for space: %v", err)
		}
		if _, err := hv.admin.Channels(ctx); err != nil {
			t.Fatalf("reads below the watermark: %v", err)
		}
	})
}

func readCheckpoint(t *testing.T, hv *hardVenue, log string) string {
	t.Helper()
	status, body := raw(t, "GET", hv.p.url+"/logs/"+log+"/checkpoint", "", "", nil)
	if status != 200 {
		t.Fatalf("checkpoint: %d %s", status, body)
	}
	return body
}

func statusOf(err error) int {
	var ae *client.Error
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// TestJSONErrorsEverywhere: every error the venue answers, including those
// net/http's server answers before any handler, is the promised JSON.
func TestJSONErrorsEverywhere(t *testing.T) {
	hv := startHardVenue(t)
	a, apriv := hv.device(t, "arden", time.Now().Add(time.Hour))
	_ = a
	tok := hv.token(t, apriv)
	admin := strings.TrimSpace(readFile(t, filepath.Join(hv.data, venue.AdminFile)))
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path, token, ctype string, body []byte, hdr http.Header) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, hv.p.url+path, strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		for k, v := range hdr {
			req.Header[k] = v
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	isJSONError := func(name string, resp *http.Response, body string, status int) {
		t.Helper()
		var e struct{ Error string }
		if resp.StatusCode != status || resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
			t.Errorf("%s: %d %q %q, want %d with a JSON error", name, resp.StatusCode, resp.Header.Get("Content-Type"), body, status)
		}
	}
	big := http.Header{"X-Padding": {strings.Repeat("a", 100<<10)}}
	resp, body := do("GET", "/v1/venue", "", "", nil, big)
	isJSONError("header of 100 KiB", resp, body, 431)

	resp, body = do("GET", "/v1/../v1/venue", "", "", nil, nil)
	isJSONError("dot-segment", resp, body, 307)
	if resp.Header.Get("Location") != "/v1/venue" {
		t.Errorf("dot-segment redirect to %q", resp.Header.Get("Location"))
	}
	resp, body = do("GET", "/logs//register/checkpoint", "", "", nil, nil)
	isJSONError("double slash", resp, body, 307)

	for _, m := range []struct{ method, path string }{
		{"PUT", "/v1/venue"}, {"DELETE", "/v1/venue"}, {"DELETE", "/logs/plenary/checkpoint"},
		{"PUT", "/v1/events"}, {"GET", "/v1/revocations"}, {"DELETE", "/v1/schedule/meetings"},
	} {
		resp, body = do(m.method, m.path, tok, "", nil, nil)
		isJSONError(m.method+" "+m.path, resp, body, 405)
		if resp.Header.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", m.method, m.path)
		}
	}
	resp, body = do("GET", "/nowhere", "", "", nil, nil)
	isJSONError("unknown path", resp, body, 404)

	room := []byte(`{"name":"Room A","capacity":10}`)
	resp, body = do("POST", "/v1/schedule/rooms", admin, "text/plain", room, nil)
	isJSONError("schedule API with text/plain", resp, body, 415)
	huge := []byte(`{"name":"` + strings.Repeat("a", 70<<10) + `"}`)
	resp, body = do("POST", "/v1/schedule/rooms", admin, "application/json", huge, nil)
	isJSONError("schedule API past its size limit", resp, body, 413)
	resp, body = do("POST", "/logs/plenary/entries", tok, "message/mls", make([]byte, 70000), nil)
	isJSONError("entry past the size limit", resp, body, 413)

	// Past http.Server.MaxHeaderBytes net/http answers by itself, before
	// any handler: the venue rewrites it to JSON too.
	c, err := net.Dial("tcp", strings.TrimPrefix(hv.p.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go fmt.Fprintf(c, "GET /v1/venue HTTP/1.1\r\nHost: x\r\nX-Padding: %s\r\n\r\n", strings.Repeat("a", 400<<10))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	r, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	isJSONError("header past the server's limit", r, string(b), 431)
}

// TestBidiNamesRefused: a name a human reads (a room, a meeting title) may
// not carry bidirectional controls such as U+202E (RIGHT-TO-LEFT OVERRIDE),
// which make it read as something else.
func TestBidiNamesRefused(t *testing.T) {
	hv := startHardVenue(t)
	admin := strings.TrimSpace(readFile(t, filepath.Join(hv.data, venue.AdminFile)))
	for _, name := range []string{"Room \u202eA", "Room \u2066A\u2069", "\u200fRoom"} {
		body, _ := json.Marshal(map[string]any{"name": name, "capacity": 10})
		status, resp := raw(t, "POST", hv.p.url+"/v1/schedule/rooms", admin, "application/json", body)
		if status != http.StatusBadRequest || !strings.Contains(resp, "bidirectional") {
			t.Errorf("room %q: %d %s, want 400", name, status, resp)
		}
	}
	body, _ := json.Marshal(map[string]any{"name": "Room A", "capacity": 10})
	if status, resp := raw(t, "POST", hv.p.url+"/v1/schedule/rooms", admin, "application/json", body); status/100 != 2 {
		t.Fatalf("a plain room name: %d %s", status, resp)
	}
}

// TestChannelExistenceHidden: to a device whose delegation is not a member,
// a channel that exists and one that does not answer alike (403, same
// message but for the name), on every channel route; anonymous callers get
// 401 for both (docs/metadata.md).
func TestChannelExistenceHidden(t *testing.T) {
	hv := startHardVenue(t)
	if _, err := hv.admin.CreateChannel(t.Context(), client.ChannelSpec{ID: "arden-only", Kind: "delegation-internal", Level: "expert", Members: []string{"arden"}}); err != nil {
		t.Fatal(err)
	}
	_, bpriv := hv.device(t, "borealia", time.Now().Add(time.Hour))
	tok := hv.token(t, bpriv)
	for _, route := range []struct{ method, path, ctype string }{
		{"GET", "/checkpoint", ""}, {"GET", "/tile/0/000.p/1", ""}, {"GET", "/tile/entries/000.p/1", ""},
		{"POST", "/entries", "message/mls"}, {"GET", "/cosignatures", ""},
	} {
		for _, who := range []string{tok, ""} {
			s1, b1 := raw(t, route.method, hv.p.url+"/logs/arden-only"+route.path, who, route.ctype, []byte{0, 1})
			s2, b2 := raw(t, route.method, hv.p.url+"/logs/no-such-one"+route.path, who, route.ctype, []byte{0, 1})
			want := http.StatusForbidden
			if who == "" {
				want = http.StatusUnauthorized
			}
			if s1 != want || s2 != want || strings.ReplaceAll(b1, "arden-only", "X") != strings.ReplaceAll(b2, "no-such-one", "X") {
				t.Errorf("%s %s (token %v): existing %d %s, missing %d %s; want both %d and alike", route.method, route.path, who != "", s1, b1, s2, b2, want)
			}
		}
	}
}

// TestJunkEntriesRefused: the venue refuses a channel entry that is not the
// framing of an MLS PublicMessage or PrivateMessage (a member jamming a new
// channel with junk), and a commit whose framing contradicts the epoch it
// is announced for; it accepts a well-formed one.
func TestJunkEntriesRefused(t *testing.T) {
	hv := startHardVenue(t)
	_, apriv := hv.device(t, "arden", time.Now().Add(time.Hour))
	tok := hv.token(t, apriv)
	post := func(entry []byte, hdr ...string) (int, string) {
		return raw(t, "POST", hv.p.url+"/logs/plenary/entries", tok, "message/mls", entry, hdr...)
	}
	welcome := bench.Frame([]byte("x"))
	welcome[3] = 3 // wire format mls_welcome
	trailing := append(bench.Frame([]byte("x")), 0)
	for name, junk := range map[string][]byte{
		"one byte": {0x42}, "text": []byte("hello"), "wrong version": append([]byte{0, 2}, bench.Frame(nil)[2:]...),
		"a Welcome": welcome, "trailing byte": trailing, "truncated": bench.Frame([]byte("abc"))[:20],
	} {
		if status, body := post(junk); status != http.StatusBadRequest || !strings.Contains(body, "not an MLS message") {
			t.Errorf("%s: %d %s, want 400", name, status, body)
		}
	}
	// An application message announced as the commit for epoch 0.
	if status, body := post(bench.Frame([]byte("x")), "Goodoffices-Handshake", "commit", "Goodoffices-Epoch", "0"); status != http.StatusBadRequest {
		t.Errorf("a non-commit announced as a commit: %d %s", status, body)
	}
	// After an upgrade (a new MLS group), a commit of group epoch 1 is
	// announced as epoch base+1: the framing must say base+1-base.
	if status, body := post(bench.FrameCommit(1, []byte("x")), "Goodoffices-Handshake", "commit", "Goodoffices-Epoch", "5", "Goodoffices-Epoch-Base", "3"); status != http.StatusBadRequest {
		t.Errorf("a commit of epoch 1 announced for 5 with base 3: %d %s", status, body)
	}
	if status, body := post(bench.Frame([]byte("x")), "Goodoffices-Epoch-Base", "3"); status != http.StatusBadRequest {
		t.Errorf("an epoch base without a commit: %d %s", status, body)
	}
	if status, body := post(bench.FrameCommit(1, []byte("x")), "Goodoffices-Handshake", "commit", "Goodoffices-Epoch", "5", "Goodoffices-Epoch-Base", "6"); status != http.StatusBadRequest {
		t.Errorf("an epoch base above the epoch: %d %s", status, body)
	}
	if status, body := post(bench.Frame([]byte("x"))); status != http.StatusCreated {
		t.Fatalf("a well-formed PrivateMessage: %d %s", status, body)
	}
	if status, body := post(bench.FrameCommit(1, []byte("x")), "Goodoffices-Handshake", "commit", "Goodoffices-Epoch", "5", "Goodoffices-Epoch-Base", "4", "Goodoffices-Await", "checkpoint"); status != http.StatusCreated {
		t.Fatalf("a commit of group epoch 1 announced for 5 with base 4: %d %s", status, body)
	}
	if status, body := raw(t, "GET", hv.p.url+"/logs/plenary/checkpoint", tok, "", nil); status != 200 || !strings.Contains(body, "\n2\n") {
		t.Fatalf("the log holds more than the two well-formed entries: %s", body)
	}
}

// TestDeviceKeySquatting: a delegation can neither register nor revoke
// another delegation's device key. Registration needs the device key's
// signature (proof of possession), and revocations are keyed by
// (delegation, device): Arden's root certifying or revoking Borealia's
// not-yet-registered key changes nothing for Borealia.
func TestDeviceKeySquatting(t *testing.T) {
	hv := startHardVenue(t)
	ctx := t.Context()
	kpub, kpriv, _ := ed25519.GenerateKey(rand.Reader) // Borealia's new device
	squat := certFor(t, hv.roots["arden"], kpub, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	anon, _ := client.New(hv.p.url)
	if _, err := anon.RegisterDevice(ctx, squat); statusOf(err) != http.StatusForbidden {
		t.Fatalf("Arden registering Borealia's key without it: %v, want 403", err)
	}
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	wrong, _ := client.New(hv.p.url, client.WithDevice(other))
	if _, err := wrong.RegisterDevice(ctx, squat); statusOf(err) != http.StatusForbidden {
		t.Fatalf("registration proved with another key: %v, want 403", err)
	}
	// A pre-emptive revocation by Arden's root is Arden's business only.
	rev, _ := hv.roots["arden"].Revoke(kpub)
	if _, err := anon.Revoke(ctx, rev); err != nil {
		t.Fatalf("Arden revoking a key it might have certified: %v", err)
	}
	own := certFor(t, hv.roots["borealia"], kpub, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	b, _ := client.New(hv.p.url, client.WithDevice(kpriv))
	if _, err := b.RegisterDevice(ctx, own); err != nil {
		t.Fatalf("Borealia registering its own device after Arden's squatting attempts: %v", err)
	}
	if _, err := b.Append(ctx, "plenary", bench.Frame([]byte("borealia's device works"))); err != nil {
		t.Fatal(err)
	}
	// Arden still cannot revoke it now that it is Borealia's.
	if _, err := anon.Revoke(ctx, rev); statusOf(err) == http.StatusCreated || err == nil {
		t.Fatalf("Arden revoking Borealia's registered device: %v", err)
	}
	if _, err := b.Append(ctx, "plenary", bench.Frame([]byte("still works"))); err != nil {
		t.Fatalf("Borealia's device after Arden's revocations: %v", err)
	}
	// Borealia's own root revokes it.
	brev, _ := hv.roots["borealia"].Revoke(kpub)
	if _, err := anon.Revoke(ctx, brev); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Append(ctx, "plenary", bench.Frame([]byte("x"))); statusOf(err) != http.StatusUnauthorized {
		t.Fatalf("revoked by its own delegation: %v, want 401", err)
	}
}
