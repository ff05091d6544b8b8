package desk

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/tlog"
	"github.com/good-offices/goodoffices/venue"
	"github.com/good-offices/goodoffices/venue/client"
)

func init() { scryptLogN = 10 } // cheap key derivation in tests

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// testVenue is a real venue (SQLite in a temporary directory) behind a
// proxy that tests can make hostile.
type testVenue struct {
	t     testing.TB
	v     *venue.Venue
	dir   string
	srv   *httptest.Server // the real venue
	proxy *httptest.Server // what desks talk to
	admin *client.Client

	mu     sync.Mutex
	tamper func(path string, body []byte) []byte // rewrites responses, nil: none
}

func startVenue(t testing.TB) *testVenue {
	t.Helper()
	return startVenueIn(t, t.TempDir())
}

func startVenueIn(t testing.TB, dir string, mutate ...func(*venue.Config)) *testVenue {
	t.Helper()
	cfg := venue.Config{DataDir: dir, Name: "venue.test", Logger: quiet, Rate: -1}
	for _, m := range mutate {
		m(&cfg)
	}
	v, err := venue.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	tv := &testVenue{t: t, v: v, dir: dir}
	tv.srv = httptest.NewServer(v.Handler())
	tv.proxy = httptest.NewServer(http.HandlerFunc(tv.serve))
	t.Cleanup(func() {
		tv.proxy.Close()
		tv.srv.CloseClientConnections()
		tv.srv.Close()
		v.Close()
	})
	tok, err := os.ReadFile(v.AdminFile())
	if err != nil {
		t.Fatal(err)
	}
	tv.admin, err = client.New(tv.srv.URL, client.WithAdmin(strings.TrimSpace(string(tok))))
	if err != nil {
		t.Fatal(err)
	}
	return tv
}

func (tv *testVenue) setTamper(f func(path string, body []byte) []byte) {
	tv.mu.Lock()
	tv.tamper = f
	tv.mu.Unlock()
}

func (tv *testVenue) serve(w http.ResponseWriter, r *http.Request) {
	tv.mu.Lock()
	tamper := tv.tamper
	target := tv.srv.URL
	tv.mu.Unlock()
	u, _ := url.Parse(target)
	u.Path, u.RawQuery = r.URL.Path, r.URL.RawQuery
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, u.String(), r.Body)
	req.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	if tamper == nil || resp.StatusCode != 200 || !(strings.HasPrefix(r.URL.Path, "/logs/") || strings.HasSuffix(r.URL.Path, "/keypackage")) {
		w.WriteHeader(resp.StatusCode)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		buf := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(buf)
			if n > 0 {
				w.Write(buf[:n])
				if f, ok := w.(http.Flusher); ok {
					f.Flush()
				}
			}
			if err != nil {
				return
			}
		}
	}
	body, _ := io.ReadAll(resp.Body)
	body = tamper(r.URL.Path, body)
	w.Header().Del("Content-Length")
	w.WriteHeader(resp.StatusCode)
	w.Write(body)
}

// party is a delegation with its root key.
type party struct {
	name string
	root *delegation.RootKey
}

func (tv *testVenue) accredit(name string) *party {
	tv.t.Helper()
	root, err := delegation.GenerateRoot(name)
	if err != nil {
		tv.t.Fatal(err)
	}
	if _, err := tv.admin.Accredit(tv.t.Context(), name, root.VerifierKey()); err != nil {
		tv.t.Fatal(err)
	}
	return &party{name: name, root: root}
}

// newDesk initialises and enrols a desk for a delegate of p.
func (tv *testVenue) newDesk(p *party, person string) *Desk {
	tv.t.Helper()
	return tv.newDeskAs(p, person, "expert")
}

// newDeskAs creates and enrolls a desk of role role; an interpreter is
// certified for English and Russian.
func (tv *testVenue) newDeskAs(p *party, person, role string, langs ...string) *Desk {
	tv.t.Helper()
	return tv.newDeskVia(p, person, role, nil, langs...)
}

// newDeskVia is newDeskAs with the desk's requests going through rt (nil:
// straight to the venue).
func (tv *testVenue) newDeskVia(p *party, person, role string, rt http.RoundTripper, langs ...string) *Desk {
	t := tv.t
	t.Helper()
	ctx := t.Context()
	home := t.TempDir()
	var hc *http.Client
	if rt != nil {
		hc = &http.Client{Transport: rt}
	}
	d, err := Init(ctx, home, []byte("pass "+person), Profile{Delegation: p.name, Person: person, Role: role, Level: "expert"}, Options{Logger: quiet, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	req, err := d.CertificateRequest()
	if err != nil {
		t.Fatal(err)
	}
	c, err := delegation.ParseCertificate(req)
	if err != nil {
		t.Fatal(err)
	}
	c.Languages = langs
	cert, err := p.root.Certify(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Enroll(ctx, tv.proxy.URL, tv.v.VerifierKey(), cert); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestStoreEncryptedAtRest(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s, err := CreateStore(ctx, dir, []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("the Parties agree to a complete cessation of hostilities")
	if err := s.Put(ctx, "hist/plenary/1", secret); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "hist/plenary/2", []byte("other")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := CreateStore(ctx, dir, []byte("x")); !errors.Is(err, ErrStoreExists) {
		t.Fatalf("CreateStore over an existing store: %v", err)
	}
	if _, err := OpenStore(ctx, dir, []byte("wrong")); !errors.Is(err, ErrPassphrase) {
		t.Fatalf("wrong passphrase: got %v, want ErrPassphrase", err)
	}
	if _, err := OpenStore(ctx, t.TempDir(), []byte("x")); !errors.Is(err, ErrNoStore) {
		t.Fatalf("empty dir: got %v, want ErrNoStore", err)
	}
	// No plaintext anywhere in the directory.
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			b, _ := os.ReadFile(p)
			if bytes.Contains(b, []byte("cessation")) {
				t.Errorf("plaintext found in %s", p)
			}
		}
		return nil
	})
	s, err = OpenStore(ctx, dir, []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Get(ctx, "hist/plenary/1")
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Get = %q, %v", got, err)
	}
	// A value moved to another key does not decrypt.
	if _, err := s.db.ExecContext(ctx, `UPDATE kv SET value = (SELECT value FROM kv WHERE key = 'hist/plenary/1') WHERE key = 'hist/plenary/2'`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "hist/plenary/2"); err == nil {
		t.Fatal("a value swapped between keys decrypted")
	}
	// A rolled-back transaction changes nothing.
	boom := errors.New("boom")
	err = s.Update(ctx, func(tx *Tx) error {
		if err := tx.Put(ctx, "hist/plenary/1", []byte("changed")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, "hist/plenary/1"); !bytes.Equal(got, secret) {
		t.Fatal("failed transaction left a change")
	}
}

func TestEnrollAndVerifyParty(t *testing.T) {
	tv := startVenue(t)
	arden, borealia := tv.accredit("arden"), tv.accredit("borealia")
	a := tv.newDesk(arden, "Tomas Reig")
	ctx := t.Context()
	ps, err := a.Parties(ctx)
	if err != nil || len(ps) != 2 {
		t.Fatalf("parties = %v, %v", ps, err)
	}
	var bor Party
	for _, p := range ps {
		switch p.Name {
		case "arden":
			if p.Confirmed.IsZero() {
				t.Error("own delegation not confirmed at enrolment")
			}
		case "borealia":
			bor = p
			if !p.Confirmed.IsZero() {
				t.Error("other delegation confirmed without verify-party")
			}
		}
	}
	if bor.Fingerprint != delegation.Fingerprint(borealia.root.VerifierKey()) {
		t.Fatalf("fingerprint %s, want the one of borealia's root", bor.Fingerprint)
	}
	if _, err := a.VerifyParty(ctx, "borealia", delegation.Fingerprint(arden.root.VerifierKey())); !errors.Is(err, ErrFingerprint) {
		t.Fatalf("wrong fingerprint: %v", err)
	}
	if _, err := a.VerifyParty(ctx, "nobody", bor.Fingerprint); !errors.Is(err, ErrUnknownParty) {
		t.Fatalf("unknown party: %v", err)
	}
	p, err := a.VerifyParty(ctx, "borealia", strings.ToLower(strings.ReplaceAll(bor.Fingerprint, "-", " ")))
	if err != nil || p.Confirmed.IsZero() {
		t.Fatalf("VerifyParty = %+v, %v", p, err)
	}
	// Reopen: everything survived, and a wrong passphrase does not open it.
	home := a.Home()
	a.Close()
	if _, err := Open(ctx, home, []byte("nope"), Options{}); !errors.Is(err, ErrPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	a2, err := Open(ctx, home, []byte("pass Tomas Reig"), Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer a2.Close()
	if a2.Certificate() == nil || a2.Venue() == nil {
		t.Fatal("enrolment lost on reopen")
	}
	// A certificate of another delegation's root is refused.
	other, _ := Init(ctx, t.TempDir(), []byte("x"), Profile{Delegation: "arden", Person: "Eve", Role: "expert"}, Options{Logger: quiet})
	defer other.Close()
	req, _ := other.CertificateRequest()
	c, _ := delegation.ParseCertificate(req)
	c.Delegation = "borealia"
	cert, _ := borealia.root.Certify(c)
	if _, err := other.Enroll(ctx, tv.proxy.URL, tv.v.VerifierKey(), cert); err == nil {
		t.Fatal("enrolled with another delegation's certificate")
	}
	// A venue key that does not match raises an alarm.
	if _, err := other.Enroll(ctx, tv.proxy.URL, "venue.test+00000000+AeKmQt3dbMNu5ixC9RVSodnVFoMaz8lLVwkdQBGxgtQS", cert); err == nil {
		t.Fatal("enrolled with the wrong venue key")
	}
}

// appendRaw appends entries to a channel as d's device, bypassing MLS.
func appendRaw(t *testing.T, tv *testVenue, d *Desk, ch string, entries ...string) {
	t.Helper()
	appendRawTB(t, d, ch, entries...)
}

// mlsFramed wraps data as the ciphertext of a well-formed PrivateMessage
// (RFC 9420 §6.3.1) of group gid and epoch: the venue accepts its framing
// without keys (it refuses anything else), and no desk can decrypt it.
func mlsFramed(gid []byte, epoch uint64, data []byte) []byte {
	vec := func(b []byte, v []byte) []byte { // opaque<V>, §2.1.2 variable-length prefix
		switch n := len(v); {
		case n < 1<<6:
			b = append(b, byte(n))
		case n < 1<<14:
			b = append(b, byte(0x40|n>>8), byte(n))
		default:
			b = append(b, byte(0x80|n>>24), byte(n>>16), byte(n>>8), byte(n))
		}
		return append(b, v...)
	}
	b := []byte{0, 1, 0, 2} // mls10, mls_private_message
	b = vec(b, gid)
	b = binary.BigEndian.AppendUint64(b, epoch)
	b = append(b, 1)                  // content_type application
	b = vec(b, nil)                   // authenticated_data
	b = vec(b, make([]byte, 16))      // encrypted_sender_data
	return vec(b, append(data, 0, 0)) // ciphertext
}

func TestLogVerification(t *testing.T) {
	tv := startVenue(t)
	arden := tv.accredit("arden")
	tv.accredit("borealia")
	a := tv.newDesk(arden, "Tomas Reig")
	ctx := t.Context()
	if _, err := tv.admin.CreateChannel(ctx, client.ChannelSpec{ID: "plenary", Kind: "plenary", Level: "expert", Members: []string{"arden", "borealia"}}); err != nil {
		t.Fatal(err)
	}
	appendRaw(t, tv, a, "plenary", "e0", "e1", "e2")
	res, err := a.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Err() != nil {
		t.Fatalf("alarm on an honest venue: %v", res.Err())
	}
	st, _ := a.logState(ctx, a.store, "plenary")
	if st.Size != 3 || st.Checkpoint == nil {
		t.Fatalf("plenary state %+v", st)
	}
	appendRaw(t, tv, a, "plenary", "e3")
	if _, err := a.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	st, _ = a.logState(ctx, a.store, "plenary")
	if st.Size != 4 || st.Alarm != nil {
		t.Fatalf("plenary state %+v", st)
	}
	// The verified checkpoint is cosigned by the desk (c2sp.org/tlog-cosignature).
	cs, err := a.Cosigned(ctx, "plenary")
	if err != nil {
		t.Fatal(err)
	}
	vkey, _ := a.CosignerKey()
	cv, err := tlog.NewCosignatureVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	vv, _ := note.NewVerifier(tv.v.VerifierKey())
	n, err := note.Open(cs, note.VerifierList(vv, cv))
	if err != nil || len(n.Sigs) != 2 || !strings.Contains(n.Text, "\n4\n") {
		t.Fatalf("cosigned checkpoint: %v, %+v", err, n)
	}
}

// hostile runs one attack against a desk that has synced "plenary" with
// some entries, and checks that the right alarm is raised, processing
// halts and the evidence is kept.
func hostile(t *testing.T, wantKind string, attack func(tv *testVenue, a *Desk, p *party)) {
	tv := startVenue(t)
	arden := tv.accredit("arden")
	a := tv.newDesk(arden, "Tomas Reig")
	ctx := t.Context()
	if _, err := tv.admin.CreateChannel(ctx, client.ChannelSpec{ID: "plenary", Kind: "plenary", Level: "expert", Members: []string{"arden"}}); err != nil {
		t.Fatal(err)
	}
	appendRaw(t, tv, a, "plenary", "e0", "e1", "e2")
	if res, err := a.Sync(ctx); err != nil || res.Err() != nil {
		t.Fatalf("honest sync: %v %v", err, res.Err())
	}
	attack(tv, a, arden)
	res, err := a.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var alarm *Alarm
	if len(res.Alarms) == 0 {
		t.Fatalf("attack %s undetected (errors %v)", wantKind, res.Errors)
	}
	for _, a := range res.Alarms {
		if a.Log == "plenary" {
			alarm = a
		}
	}
	if alarm == nil || alarm.Kind != wantKind {
		t.Fatalf("alarms %+v, want %s on plenary", res.Alarms, wantKind)
	}
	if _, err := os.Stat(filepath.Join(alarm.Evidence, "alarm.json")); err != nil {
		t.Fatalf("no evidence: %v", err)
	}
	if _, err := os.Stat(filepath.Join(alarm.Evidence, "accepted.checkpoint")); err != nil {
		t.Fatalf("accepted checkpoint not kept as evidence: %v", err)
	}
	// Halted: a further sync, even with an honest venue, does not process.
	tv.setTamper(nil)
	err = a.SyncLog(ctx, "plenary")
	if !errors.Is(err, ErrHalted) {
		t.Fatalf("sync after alarm: %v, want ErrHalted", err)
	}
	s, _ := a.Status(ctx)
	if len(s.Halted()) < 1 || len(s.Alarms) < 1 {
		t.Fatalf("status does not show the alarm: %+v", s)
	}
	t.Logf("detected: %s", alarm)
}

func TestHostileAlteredCheckpoint(t *testing.T) {
	hostile(t, AlarmBadSignature, func(tv *testVenue, a *Desk, _ *party) {
		appendRaw(t, tv, a, "plenary", "e3")
		tv.setTamper(func(p string, b []byte) []byte {
			if strings.HasSuffix(p, "/checkpoint") {
				b = bytes.Replace(b, []byte("\n4\n"), []byte("\n5\n"), 1)
			}
			return b
		})
	})
}

func TestHostileAlteredEntry(t *testing.T) {
	hostile(t, AlarmInclusion, func(tv *testVenue, a *Desk, _ *party) {
		appendRaw(t, tv, a, "plenary", "e3")
		tv.setTamper(func(p string, b []byte) []byte {
			if strings.Contains(p, "/tile/entries/") {
				b = bytes.Replace(b, []byte("e3"), []byte("E3"), 1)
			}
			return b
		})
	})
}

func TestHostileRollback(t *testing.T) {
	var old []byte
	hostile(t, AlarmRollback, func(tv *testVenue, a *Desk, _ *party) {
		// The venue's earliest signed checkpoint was of size 1; the desk
		// accepted size 3. Replaying a real, validly signed older checkpoint:
		st, _ := a.logState(t.Context(), a.store, "plenary")
		old = st.Checkpoint
		appendRaw(t, tv, a, "plenary", "e3")
		a.SyncLog(t.Context(), "plenary")
		tv.setTamper(func(p string, b []byte) []byte {
			if strings.HasSuffix(p, "/checkpoint") {
				return old
			}
			return b
		})
	})
}

func TestHostileFork(t *testing.T) {
	hostile(t, AlarmInconsistent, func(tv *testVenue, a *Desk, arden *party) {
		// A second venue with the same signing key and a different history
		// of the same channel: the host shows this desk another world.
		dir2 := t.TempDir()
		key, _ := os.ReadFile(filepath.Join(tv.dir, venue.KeyFile))
		os.WriteFile(filepath.Join(dir2, venue.KeyFile), key, 0o600)
		admin, _ := os.ReadFile(filepath.Join(tv.dir, venue.AdminFile))
		os.WriteFile(filepath.Join(dir2, venue.AdminFile), admin, 0o600)
		tv2 := startVenueIn(t, dir2)
		if _, err := tv2.admin.Accredit(t.Context(), "arden", arden.root.VerifierKey()); err != nil {
			t.Fatal(err)
		}
		reg, _ := client.New(tv2.srv.URL, client.WithDevice(a.key))
		if _, err := reg.RegisterDevice(t.Context(), a.Certificate()); err != nil {
			t.Fatal(err)
		}
		if _, err := tv2.admin.CreateChannel(t.Context(), client.ChannelSpec{ID: "plenary", Kind: "plenary", Level: "expert", Members: []string{"arden"}}); err != nil {
			t.Fatal(err)
		}
		d2 := tv2.newDesk(arden, "Mallory")
		appendRaw(t, tv2, d2, "plenary", "x0", "x1", "x2", "x3", "x4")
		tv.mu.Lock()
		tv.srv, tv2.srv = tv2.srv, tv.srv
		tv.mu.Unlock()
		t.Cleanup(func() {
			tv.mu.Lock()
			tv.srv, tv2.srv = tv2.srv, tv.srv
			tv.mu.Unlock()
		})
	})
}

func TestTransientFailureIsNotAnAlarm(t *testing.T) {
	tv := startVenue(t)
	arden := tv.accredit("arden")
	a := tv.newDesk(arden, "Tomas Reig")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	tv.proxy.Close()
	if _, err := a.Sync(ctx); err == nil {
		t.Fatal("sync with the venue down succeeded")
	}
	s, _ := a.Status(ctx)
	if len(s.Alarms) != 0 {
		t.Fatalf("venue down raised an alarm: %+v", s.Alarms)
	}
}

// confirmAll has d confirm every party in its register.
func confirmAll(t testing.TB, d *Desk) {
	t.Helper()
	ctx := t.Context()
	if _, err := d.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	ps, _ := d.Parties(ctx)
	for _, p := range ps {
		if _, err := d.VerifyParty(ctx, p.Name, p.Fingerprint); err != nil {
			t.Fatal(err)
		}
	}
}

func syncAll(t testing.TB, ds ...*Desk) {
	t.Helper()
	for range 2 {
		for _, d := range ds {
			res, err := d.Sync(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if res.Err() != nil {
				t.Fatalf("alarm: %v", res.Err())
			}
		}
	}
}

func texts(t *testing.T, d *Desk, ch string) []string {
	t.Helper()
	ms, err := d.Read(t.Context(), ch, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		if m.Kind == "application" {
			out = append(out, m.Sender.Person+": "+string(m.Data))
		}
	}
	return out
}

func TestChannelEndToEnd(t *testing.T) {
	tv := startVenue(t)
	arden, borealia := tv.accredit("arden"), tv.accredit("borealia")
	a1 := tv.newDesk(arden, "Tomas Reig")
	a2 := tv.newDesk(arden, "Nora Vass")
	b1 := tv.newDesk(borealia, "Iryna Holt")
	ctx := t.Context()
	for _, spec := range []client.ChannelSpec{
		{ID: "plenary", Kind: "plenary", Level: "expert", Members: []string{"arden", "borealia"}},
		{ID: "arden-internal", Kind: "delegation-internal", Level: "expert", Members: []string{"arden"}},
	} {
		if _, err := tv.admin.CreateChannel(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []*Desk{a1, a2, b1} {
		confirmAll(t, d)
	}
	if _, err := a1.Send(ctx, "plenary", []byte("Good morning from Arden")); err != nil {
		t.Fatal(err)
	}
	if _, err := a1.Send(ctx, "arden-internal", []byte("Hold firm on paragraph 3")); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a1, a2, b1)
	if _, err := b1.Send(ctx, "plenary", []byte("Borealia agrees ad referendum")); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a1, a2, b1)
	want := "Tomas Reig: Good morning from Arden,Iryna Holt: Borealia agrees ad referendum"
	for _, d := range []*Desk{a1, a2, b1} {
		if got := strings.Join(texts(t, d, "plenary"), ","); got != want {
			t.Errorf("%s reads plenary %q, want %q", d.Profile().Person, got, want)
		}
	}
	if got := strings.Join(texts(t, a2, "arden-internal"), ","); got != "Tomas Reig: Hold firm on paragraph 3" {
		t.Errorf("a2 reads arden-internal %q", got)
	}
	if _, err := b1.Read(ctx, "arden-internal", 0, 0); err != nil {
		t.Fatal(err)
	}
	if got := texts(t, b1, "arden-internal"); len(got) != 0 {
		t.Errorf("borealia reads arden's internal channel: %q", got)
	}
	// And the venue refuses to serve arden's internal log to borealia.
	if _, err := b1.api.fetcher("arden-internal")(ctx, "checkpoint"); err == nil {
		t.Error("the venue served arden-internal's checkpoint to a borealia device")
	}
	if _, err := a2.api.fetcher("arden-internal")(ctx, "checkpoint"); err != nil {
		t.Errorf("the venue refused arden-internal to an arden device: %v", err)
	}
	t.Logf("b1 plenary: %q", texts(t, b1, "plenary"))
	// Remove a2 from the plenary: it cannot read what follows.
	if err := a1.Remove(ctx, "plenary", a2.DeviceID()); err != nil {
		t.Fatal(err)
	}
	if _, err := b1.Send(ctx, "plenary", []byte("after the removal")); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a1, a2, b1)
	if got := texts(t, a2, "plenary"); len(got) != 2 {
		t.Errorf("removed desk reads %q", got)
	}
	if got := texts(t, a1, "plenary"); len(got) != 3 {
		t.Errorf("a1 reads %q", got)
	}
	// Unread counts follow the read mark.
	if n, _ := a1.Unread(ctx, "plenary"); n != 2 {
		t.Errorf("a1 has %d unread, want 2 (b1's messages)", n)
	}
	ms, _ := a1.Read(ctx, "plenary", 0, 0)
	if err := a1.MarkRead(ctx, "plenary", ms[len(ms)-1].Index); err != nil {
		t.Fatal(err)
	}
	if n, _ := a1.Unread(ctx, "plenary"); n != 0 {
		t.Errorf("a1 has %d unread after marking, want 0", n)
	}
	// Rotate keys, and everyone still talks.
	if err := b1.Rotate(ctx, "plenary"); err != nil {
		t.Fatal(err)
	}
	if _, err := a1.Send(ctx, "plenary", []byte("after rotation")); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a1, b1)
	if got := texts(t, b1, "plenary"); len(got) != 4 {
		t.Errorf("b1 reads %q", got)
	}
	// b1 leaves: its Remove proposal is committed by the member desk with
	// the lowest leaf (a1) at its next sync; b1 reads nothing after.
	if err := b1.Leave(ctx, "plenary"); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a1, b1)
	if ms, _, _ := a1.Members(ctx, "plenary"); len(ms) != 1 {
		t.Errorf("after b1 left, a1 sees %d members: %+v", len(ms), ms)
	}
	if _, err := a1.Send(ctx, "plenary", []byte("after b1 left")); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a1, b1)
	if got := texts(t, b1, "plenary"); len(got) != 4 {
		t.Errorf("b1 reads after leaving: %q", got)
	}
	// No plaintext at the venue.
	filepath.Walk(tv.dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			b, _ := os.ReadFile(p)
			for _, s := range []string{"Good morning", "paragraph 3", "ad referendum", "after the removal", "after rotation"} {
				if bytes.Contains(b, []byte(s)) {
					t.Errorf("plaintext %q in the venue's %s", s, p)
				}
			}
		}
		return nil
	})
}

// TestInjectedMemberRejected: a commit that adds a device whose certificate
// does not chain to an accredited root confirmed by the delegate (here one
// from a root the host made up, and one from a delegation the host accredited
// but nobody confirmed) is rejected by every other desk, with an alarm.
func TestInjectedMemberRejected(t *testing.T) {
	for _, tc := range []struct {
		name       string
		accredited bool
	}{{"unaccredited-root", false}, {"unconfirmed-delegation", true}} {
		t.Run(tc.name, func(t *testing.T) {
			tv := startVenue(t)
			arden, borealia := tv.accredit("arden"), tv.accredit("borealia")
			a1 := tv.newDesk(arden, "Tomas Reig")
			b1 := tv.newDesk(borealia, "Iryna Holt")
			ctx := t.Context()
			if _, err := tv.admin.CreateChannel(ctx, client.ChannelSpec{ID: "plenary", Kind: "plenary", Level: "expert", Members: []string{"arden", "borealia"}}); err != nil {
				t.Fatal(err)
			}
			confirmAll(t, a1)
			confirmAll(t, b1)
			if _, err := a1.Send(ctx, "plenary", []byte("hello")); err != nil {
				t.Fatal(err)
			}
			syncAll(t, a1, b1)

			// The rogue device's certificate.
			var rogueRoot *delegation.RootKey
			if tc.accredited {
				rogueRoot = tv.accredit("caspia-shadow").root
			} else {
				rogueRoot, _ = delegation.GenerateRoot("arden") // same name, not the accredited key
			}
			_, rogueKey, _ := ed25519GenerateKey()
			now := time.Now()
			cert, err := rogueRoot.Certify(&delegation.Certificate{Delegation: rogueRoot.Name, Person: "Mole", Role: "expert", Level: "expert",
				Device: rogueKey.Public().(ed25519PublicKey), NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			id, err := mlsNewIdentity(cert, rogueKey.Seed())
			if err != nil {
				t.Fatal(err)
			}
			kp, _, err := mlsNewKeyPackage(id)
			if err != nil {
				t.Fatal(err)
			}
			// a1's device, compromised or buggy, commits the Add with a
			// validator that accepts anything.
			if _, err := a1.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			commit, epoch := rogueAdd(t, a1, "plenary", kp)
			if _, err := a1.api.appendEntry(ctx, "plenary", commit, int64(epoch)); err != nil {
				t.Fatal(err)
			}
			res, err := b1.Sync(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var alarm *Alarm
			for _, a := range res.Alarms {
				if a.Log == "plenary" {
					alarm = a
				}
			}
			if alarm == nil || alarm.Kind != AlarmMember {
				t.Fatalf("injected member not rejected: alarms %v errors %v", res.Alarms, res.Errors)
			}
			t.Logf("rejected: %v", alarm)
			ms, _, _ := b1.Members(ctx, "plenary")
			for _, m := range ms {
				if m.Person == "Mole" {
					t.Fatal("the injected member is in b1's group")
				}
			}
		})
	}
}

// TestUnaskedWelcome: a Welcome into the group of a channel this
// delegation is not a member of is refused; the desk keeps working.
func TestUnaskedWelcome(t *testing.T) {
	tv := startVenue(t)
	arden, borealia := tv.accredit("arden"), tv.accredit("borealia")
	a1 := tv.newDesk(arden, "Tomas Reig")
	b1 := tv.newDesk(borealia, "Iryna Holt")
	ctx := t.Context()
	if _, err := tv.admin.CreateChannel(ctx, client.ChannelSpec{ID: "borealia-internal", Kind: "delegation-internal", Level: "expert", Members: []string{"borealia"}}); err != nil {
		t.Fatal(err)
	}
	confirmAll(t, a1)
	confirmAll(t, b1)
	if _, err := b1.Send(ctx, "borealia-internal", []byte("internal")); err != nil {
		t.Fatal(err)
	}
	// b1's device (buggy or compromised) adds arden's device to its
	// internal channel's group and mails it the Welcome.
	raw, _, err := b1.api.claimKeyPackage(ctx, a1.DeviceID())
	if err != nil {
		t.Fatal(err)
	}
	kp, err := mlsParseKeyPackage(raw)
	if err != nil {
		t.Fatal(err)
	}
	welcome := rogueWelcome(t, b1, "borealia-internal", kp)
	if err := b1.api.sendMail(ctx, a1.DeviceID(), welcome); err != nil {
		t.Fatal(err)
	}
	res, err := a1.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Err() != nil {
		t.Fatalf("alarm: %v", res.Err())
	}
	if g, _ := a1.loadGroup(ctx, a1.store, "borealia-internal"); g != nil {
		t.Fatal("arden joined borealia's internal group")
	}
	if got := texts(t, a1, "borealia-internal"); len(got) != 0 {
		t.Fatalf("arden reads %q", got)
	}
	// The mailbox was consumed and the desk still works.
	if _, err := a1.Sync(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestWelcomeWaitsForConfirmation: a desk does not join a group holding
// devices of a delegation it has not confirmed out of band; once the
// delegate confirms the fingerprint, the next sync joins and reads.
func TestWelcomeWaitsForConfirmation(t *testing.T) {
	tv := startVenue(t)
	arden, borealia := tv.accredit("arden"), tv.accredit("borealia")
	a1 := tv.newDesk(arden, "Tomas Reig")
	b1 := tv.newDesk(borealia, "Iryna Holt")
	ctx := t.Context()
	if _, err := tv.admin.CreateChannel(ctx, client.ChannelSpec{ID: "plenary", Kind: "plenary", Level: "expert", Members: []string{"arden", "borealia"}}); err != nil {
		t.Fatal(err)
	}
	confirmAll(t, a1) // arden has confirmed borealia; borealia not yet arden
	if _, err := b1.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a1.Send(ctx, "plenary", []byte("before confirmation")); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if res, err := b1.Sync(ctx); err != nil || res.Err() != nil {
			t.Fatalf("sync: %v %v", err, res.Err())
		}
	}
	if g, _ := b1.loadGroup(ctx, b1.store, "plenary"); g != nil {
		t.Fatal("joined a group with a device of an unconfirmed delegation")
	}
	if got := texts(t, b1, "plenary"); len(got) != 0 {
		t.Fatalf("read %q before confirming", got)
	}
	ps, _ := b1.Parties(ctx)
	for _, p := range ps {
		if p.Name == "arden" {
			if _, err := b1.VerifyParty(ctx, "arden", p.Fingerprint); err != nil {
				t.Fatal(err)
			}
		}
	}
	syncAll(t, b1)
	if got := strings.Join(texts(t, b1, "plenary"), "|"); got != "Tomas Reig: before confirmation" {
		t.Fatalf("after confirming, b1 reads %q", got)
	}
}

// TestConcurrentCommitsRebase: two desks commit in the same epoch at the
// same time; the venue logs the first, answers 409 to the second, which
// re-bases on the log and commits in the next epoch. Both end in the same
// epoch and keep talking.
func TestConcurrentCommitsRebase(t *testing.T) {
	tv := startVenue(t)
	arden, borealia := tv.accredit("arden"), tv.accredit("borealia")
	a1 := tv.newDesk(arden, "Tomas Reig")
	b1 := tv.newDesk(borealia, "Iryna Holt")
	ctx := t.Context()
	if _, err := tv.admin.CreateChannel(ctx, client.ChannelSpec{ID: "plenary", Kind: "plenary", Level: "expert", Members: []string{"arden", "borealia"}}); err != nil {
		t.Fatal(err)
	}
	confirmAll(t, a1)
	confirmAll(t, b1)
	if _, err := a1.Send(ctx, "plenary", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a1, b1)
	for round := range 5 {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, d := range []*Desk{a1, b1} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = d.Rotate(ctx, "plenary")
			}()
		}
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("round %d: %v / %v", round, errs[0], errs[1])
		}
	}
	syncAll(t, a1, b1)
	_, ea, _ := a1.Members(ctx, "plenary")
	_, eb, _ := b1.Members(ctx, "plenary")
	if ea != eb || ea != 11 {
		t.Fatalf("epochs %d and %d after 10 commits from epoch 1", ea, eb)
	}
	if _, err := b1.Send(ctx, "plenary", []byte("still here")); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a1, b1)
	if got := texts(t, a1, "plenary"); len(got) != 2 || got[1] != "Iryna Holt: still here" {
		t.Fatalf("a1 reads %q", got)
	}
}

// TestGarbageEntryRejected: an entry that verifies in the log (a member's
// device appended it) but is not a valid MLS message of the group is
// recorded as rejected; the channel goes on. The venue refuses such entries
// (it checks their framing); this one accepts them, as a careless or
// hostile venue could.
func TestGarbageEntryRejected(t *testing.T) {
	tv := startVenueIn(t, t.TempDir(), func(c *venue.Config) { c.OpaqueEntries = true })
	arden := tv.accredit("arden")
	a1 := tv.newDesk(arden, "Tomas Reig")
	a2 := tv.newDesk(arden, "Nora Vass")
	ctx := t.Context()
	if _, err := tv.admin.CreateChannel(ctx, client.ChannelSpec{ID: "wg1", Kind: "working-group", Level: "expert", Members: []string{"arden"}}); err != nil {
		t.Fatal(err)
	}
	confirmAll(t, a1)
	confirmAll(t, a2)
	if _, err := a1.Send(ctx, "wg1", []byte("one")); err != nil {
		t.Fatal(err)
	}
	// A message of this group and epoch whose ciphertext is garbage, and a
	// truncated framing (which an honest venue refuses, see
	// venue/harden_test.go, but this one logs): the desks reject both.
	gid := groupID(tv.v.Name(), "wg1")
	junk := mlsFramed(gid, 1, []byte{0xde, 0xad, 0xbe, 0xef})
	for _, e := range [][]byte{junk, junk[:7]} {
		if _, err := a1.api.appendEntry(ctx, "wg1", e, -1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a1.Send(ctx, "wg1", []byte("two")); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a1, a2)
	if got := strings.Join(texts(t, a2, "wg1"), "|"); got != "Tomas Reig: one|Tomas Reig: two" {
		t.Fatalf("a2 reads %q", got)
	}
	ms, _ := a2.Read(ctx, "wg1", 0, 0)
	rejected := 0
	for _, m := range ms {
		if m.Kind == "rejected" {
			rejected++
		}
	}
	if rejected != 2 {
		t.Fatalf("%d entries rejected, want 2: %+v", rejected, ms)
	}
}

// TestRunReconnects: the live loop survives a broken event stream and
// delivers what was sent meanwhile, verified, without a duplicate.
func TestRunReconnects(t *testing.T) {
	tv := startVenue(t)
	arden := tv.accredit("arden")
	a1 := tv.newDesk(arden, "Tomas Reig")
	a2 := tv.newDesk(arden, "Nora Vass")
	ctx := t.Context()
	if _, err := tv.admin.CreateChannel(ctx, client.ChannelSpec{ID: "wg1", Kind: "working-group", Level: "expert", Members: []string{"arden"}}); err != nil {
		t.Fatal(err)
	}
	confirmAll(t, a1)
	confirmAll(t, a2)
	if _, err := a1.Send(ctx, "wg1", []byte("one")); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a2.Run(rctx, time.Hour, nil) }()
	defer func() { cancel(); <-done }()
	wait := func(want string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for strings.Join(texts(t, a2, "wg1"), "|") != want {
			if time.Now().After(deadline) {
				t.Fatalf("a2 reads %q, want %q", texts(t, a2, "wg1"), want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	wait("Tomas Reig: one")
	tv.proxy.CloseClientConnections() // the event stream breaks
	if _, err := a1.Send(ctx, "wg1", []byte("two")); err != nil {
		t.Fatal(err)
	}
	wait("Tomas Reig: one|Tomas Reig: two")
	if _, err := a1.Send(ctx, "wg1", []byte("three")); err != nil {
		t.Fatal(err)
	}
	wait("Tomas Reig: one|Tomas Reig: two|Tomas Reig: three")
}

// TestJunkFirstEntryDoesNotBlockGroup: a member device jams a new channel
// with a first entry that is well-formed MLS framing of the channel's group
// (the venue cannot tell it from a real message) but not its creation; a
// desk still starts the group, the others join it, and the junk is recorded
// as rejected.
func TestJunkFirstEntryDoesNotBlockGroup(t *testing.T) {
	tv := startVenue(t)
	arden := tv.accredit("arden")
	a1 := tv.newDesk(arden, "Tomas Reig")
	a2 := tv.newDesk(arden, "Nora Vass")
	ctx := t.Context()
	if _, err := tv.admin.CreateChannel(ctx, client.ChannelSpec{ID: "wg1", Kind: "working-group", Level: "expert", Members: []string{"arden"}}); err != nil {
		t.Fatal(err)
	}
	confirmAll(t, a1)
	confirmAll(t, a2)
	// A PrivateMessage framing of this channel's group, epoch 0, with
	// garbage inside: desks without the group wait on it for a Welcome.
	junk := mlsFramed(groupID(tv.v.Name(), "wg1"), 0, []byte{0xde, 0xad, 0xbe, 0xef})
	if _, err := a2.api.appendEntry(ctx, "wg1", junk, -1); err != nil {
		t.Fatal(err)
	}
	// Plain junk does not even get in.
	if _, err := a2.api.appendEntry(ctx, "wg1", []byte("junk"), -1); err == nil {
		t.Fatal("the venue logged an entry that is not MLS framing")
	}
	// 'desk open' (or a send that starts the group) is not stopped by the
	// junk: the venue's one commit per epoch decides.
	if _, err := a1.Send(ctx, "wg1", []byte("one")); errors.Is(err, ErrNoGroup) {
		if err := a1.Open(ctx, "wg1"); err != nil {
			t.Fatalf("starting the group after a junk first entry: %v", err)
		}
		if _, err := a1.Send(ctx, "wg1", []byte("one")); err != nil {
			t.Fatal(err)
		}
	} else if err != nil {
		t.Fatal(err)
	}
	syncAll(t, a1, a2)
	if got := strings.Join(texts(t, a2, "wg1"), "|"); got != "Tomas Reig: one" {
		t.Fatalf("a2 reads %q", got)
	}
	// Another desk asked to start the group now learns it is started.
	a3 := tv.newDesk(arden, "Ilse Marr")
	confirmAll(t, a3)
	if err := a3.Open(ctx, "wg1"); !errors.Is(err, ErrNoGroup) {
		t.Fatalf("open of a started group by a desk not in it: %v, want ErrNoGroup", err)
	}
	for _, d := range []*Desk{a1, a2} {
		ms, _ := d.Read(ctx, "wg1", 0, 0)
		if len(ms) == 0 || (ms[0].Kind != "rejected" && ms[0].Kind != "skipped") {
			t.Fatalf("%s: the junk entry is not recorded as rejected or skipped: %+v", d.Profile().Person, ms)
		}
	}
}
