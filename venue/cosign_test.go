package venue_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/tlog"
	"github.com/good-offices/goodoffices/venue"
	"github.com/good-offices/goodoffices/venue/client"
	"github.com/good-offices/goodoffices/venue/store/postgres"
	"github.com/good-offices/goodoffices/venue/store/postgres/pgtest"
)

// cosignAs returns the checkpoint note msg with a cosignature line of the
// device priv of delegation del.
func cosignAs(t testing.TB, del string, priv ed25519.PrivateKey, msg []byte) []byte {
	t.Helper()
	name := venue.CosignerName(del, delegation.DeviceID(priv.Public().(ed25519.PublicKey)))
	cs, err := tlog.NewCosigner(name, priv)
	if err != nil {
		t.Fatal(err)
	}
	body, _, _ := bytes.Cut(msg, []byte("\n\n"))
	signed, err := note.Sign(&note.Note{Text: string(body) + "\n"}, cs)
	if err != nil {
		t.Fatal(err)
	}
	return append(bytes.Clone(msg), signed[len(body)+2:]...)
}

func devKey(c *client.Client) ed25519.PrivateKey {
	k, _ := keys.Load(c.DeviceID())
	return k.(ed25519.PrivateKey)
}

func TestCosignatures(t *testing.T) {
	tv := newTestVenue(t, func(c *venue.Config) { c.Rate = -1 })
	tv.accredit(t, "arden", "borealia")
	tv.channel(t, "plenary", "plenary", "arden", "borealia")
	tv.channel(t, "arden-internal", "delegation-internal", "arden")
	a, b := tv.device(t, "arden"), tv.device(t, "borealia")
	ctx := t.Context()
	for i := range 3 {
		if _, err := a.Append(ctx, "plenary", fmt.Appendf(nil, "e%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	cp3, err := a.Fetch(ctx, "plenary", "checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.AddCosignature(ctx, "plenary", cosignAs(t, "arden", devKey(a), cp3)); err != nil {
		t.Fatal(err)
	}
	if err := b.AddCosignature(ctx, "plenary", cosignAs(t, "borealia", devKey(b), cp3)); err != nil {
		t.Fatal(err)
	}
	cs, err := b.Cosignatures(ctx, "plenary")
	if err != nil {
		t.Fatal(err)
	}
	if len(cs.Checkpoints) != 1 || len(cs.Cosigners) != 2 {
		t.Fatalf("cosignatures %+v", cs)
	}
	// The served note verifies with the venue key and both cosigners.
	var vs []note.Verifier
	vs = append(vs, tv.vfy)
	for _, c := range cs.Cosigners {
		cert, err := delegation.VerifyCertificate([]byte(c.Certificate), tv.roots[strings.Split(c.Name, "/")[0]].VerifierKey(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		vk, _ := tlog.CosignatureVerifierKey(c.Name, cert.Device)
		v, err := tlog.NewCosignatureVerifier(vk)
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	n, err := note.Open([]byte(cs.Checkpoints[0]), note.VerifierList(vs...))
	if err != nil || len(n.Sigs) != 3 || len(n.UnverifiedSigs) != 0 {
		t.Fatalf("served note: %v %+v", err, n)
	}
	// Later cosignatures replace earlier ones per cosigner; the queue is
	// compacted and the latest is always served.
	for i := 3; i < 60; i++ {
		if _, err := a.Append(ctx, "plenary", fmt.Appendf(nil, "e%d", i)); err != nil {
			t.Fatal(err)
		}
		cp, _ := a.Fetch(ctx, "plenary", "checkpoint")
		if err := a.AddCosignature(ctx, "plenary", cosignAs(t, "arden", devKey(a), cp)); err != nil {
			t.Fatal(err)
		}
	}
	cs, _ = a.Cosignatures(ctx, "plenary")
	if len(cs.Checkpoints) != 2 || !strings.Contains(cs.Checkpoints[1], "\n60\n") || !strings.Contains(cs.Checkpoints[0], "\n3\n") {
		t.Fatalf("after many cosignatures: %+v", cs.Checkpoints)
	}
	// One checkpoint with the cosignatures the venue holds for it.
	tokB := deviceToken(t, tv.srv.URL, devKey(b))
	status, body := raw(t, "GET", tv.srv.URL+"/logs/plenary/cosignatures?size=3", tokB, "", nil)
	var one venue.Cosignatures
	if status != 200 || json.Unmarshal([]byte(body), &one) != nil || len(one.Checkpoints) != 1 ||
		!strings.Contains(one.Checkpoints[0], "\n3\n") || !strings.Contains(one.Checkpoints[0], "— borealia/") {
		t.Fatalf("?size=3: %d %s", status, body)
	}
	for _, q := range []string{"0", "-1", "03", "x"} {
		if status, _ := raw(t, "GET", tv.srv.URL+"/logs/plenary/cosignatures?size="+q, tokB, "", nil); status != 400 {
			t.Errorf("?size=%s: %d", q, status)
		}
	}
	// The register's cosignatures are public.
	reg, _ := a.Fetch(ctx, "register", "checkpoint")
	if err := a.AddCosignature(ctx, "register", cosignAs(t, "arden", devKey(a), reg)); err != nil {
		t.Fatal(err)
	}
	anon, _ := client.New(tv.srv.URL)
	if cs, err := anon.Cosignatures(ctx, "register"); err != nil || len(cs.Checkpoints) != 1 {
		t.Fatalf("register cosignatures: %+v %v", cs, err)
	}
}

func TestCosignatureBadInput(t *testing.T) {
	tv := newTestVenue(t, func(c *venue.Config) { c.Rate = -1 })
	tv.accredit(t, "arden", "borealia")
	tv.channel(t, "plenary", "plenary", "arden", "borealia")
	tv.channel(t, "arden-internal", "delegation-internal", "arden")
	a, b := tv.device(t, "arden"), tv.device(t, "borealia")
	ctx := t.Context()
	for _, log := range []string{"plenary", "arden-internal"} {
		if _, err := a.Append(ctx, log, []byte("e0")); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Append(ctx, log, []byte("e1")); err != nil {
			t.Fatal(err)
		}
	}
	cp, _ := a.Fetch(ctx, "plenary", "checkpoint")
	internal, _ := a.Fetch(ctx, "arden-internal", "checkpoint")
	tokA, tokB := deviceToken(t, tv.srv.URL, devKey(a)), deviceToken(t, tv.srv.URL, devKey(b))
	skey, _ := os.ReadFile(filepath.Join(tv.dir, venue.KeyFile))
	venueSigner, _ := note.NewSigner(strings.TrimSpace(string(skey)))
	forged, _ := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "venue.test/channels/plenary", Size: 2, Hash: xtlog.RecordHash([]byte("other"))}, venueSigner)
	unsigned, _ := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "venue.test/channels/plenary", Size: 3, Hash: xtlog.RecordHash([]byte("e0"))}, venueSigner)
	oskey, _, _ := note.GenerateKey(rand.Reader, "venue.test")
	otherSigner, _ := note.NewSigner(oskey)
	otherKey, _ := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "venue.test/channels/plenary", Size: 2, Hash: xtlog.RecordHash([]byte("x"))}, otherSigner)
	post := func(log, tok string, body []byte) (int, string) {
		return raw(t, "POST", tv.srv.URL+"/logs/"+log+"/cosignatures", tok, "text/plain", body)
	}
	for _, tc := range []struct {
		name   string
		log    string
		tok    string
		body   []byte
		status int
	}{
		{"no cosignature", "plenary", tokA, cp, 400},
		{"cosigned by another device", "plenary", tokA, cosignAs(t, "borealia", devKey(b), cp), 400},
		{"two cosignatures", "plenary", tokA, cosignAs(t, "borealia", devKey(b), cosignAs(t, "arden", devKey(a), cp)), 400},
		{"not signed by the venue", "plenary", tokA, cosignAs(t, "arden", devKey(a), otherKey), 400},
		{"checkpoint of another log", "plenary", tokA, cosignAs(t, "arden", devKey(a), internal), 400},
		{"a tree the venue never had", "plenary", tokA, cosignAs(t, "arden", devKey(a), forged), 409},
		{"a size the venue never signed", "plenary", tokA, cosignAs(t, "arden", devKey(a), unsigned), 409},
		{"non-member", "arden-internal", tokB, cosignAs(t, "borealia", devKey(b), internal), 403},
		{"no credentials", "plenary", "", cosignAs(t, "arden", devKey(a), cp), 401},
		{"garbage", "plenary", tokA, []byte("hello\n\n— x y\n"), 400},
		{"too large", "plenary", tokA, bytes.Repeat([]byte("a"), 5<<10), 413},
		{"unknown log", "nope", tokA, cosignAs(t, "arden", devKey(a), cp), 403},
	} {
		status, body := post(tc.log, tc.tok, tc.body)
		if status != tc.status || !strings.Contains(body, `"error"`) {
			t.Errorf("%s: %d %s, want %d", tc.name, status, body, tc.status)
		}
	}
	if cs, _ := a.Cosignatures(ctx, "plenary"); len(cs.Checkpoints) != 0 {
		t.Fatalf("bad input stored: %+v", cs)
	}
	if status, _ := raw(t, "GET", tv.srv.URL+"/logs/arden-internal/cosignatures", tokB, "", nil); status != 403 {
		t.Fatalf("non-member read cosignatures: %d", status)
	}
}

// FuzzAddCosignature posts arbitrary bodies to a real venue: never a 5xx,
// always a JSON answer, and nothing stored unless it is a valid cosignature.
func FuzzAddCosignature(f *testing.F) {
	dir := f.TempDir()
	v, err := venue.New(f.Context(), venue.Config{DataDir: dir, Name: "venue.test", Rate: -1, OpaqueEntries: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	srv := httptest.NewServer(v.Handler())
	defer func() { srv.Close(); v.Close() }()
	cred, _ := os.ReadFile(filepath.Join(dir, venue.AdminFile))
	admin, _ := client.New(srv.URL, client.WithAdmin(string(cred)))
	root, _ := delegation.GenerateRoot("arden")
	if _, err := admin.Accredit(f.Context(), "arden", root.VerifierKey()); err != nil {
		f.Fatal(err)
	}
	if _, err := admin.CreateChannel(f.Context(), client.ChannelSpec{ID: "plenary", Kind: "plenary", Level: "expert", Members: []string{"arden"}}); err != nil {
		f.Fatal(err)
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	cert, _ := root.Certify(&delegation.Certificate{Delegation: "arden", Person: "P", Role: "expert", Level: "expert", Device: pub,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)})
	reg, _ := client.New(srv.URL, client.WithDevice(priv))
	if _, err := reg.RegisterDevice(f.Context(), cert); err != nil {
		f.Fatal(err)
	}
	dev, _ := client.New(srv.URL, client.WithDevice(priv))
	dev.Append(f.Context(), "plenary", []byte("e0"))
	cp, _ := dev.Fetch(f.Context(), "plenary", "checkpoint")
	if err := dev.Authenticate(f.Context()); err != nil {
		f.Fatal(err)
	}
	f.Add(cosignAs(f, "arden", priv, cp))
	f.Add(cp)
	f.Add([]byte("venue.test/channels/plenary\n1\nAAAA\n\n— x AAAA\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		err := dev.AddCosignature(t.Context(), "plenary", body)
		var ce *client.Error
		if err != nil {
			if !errors.As(err, &ce) || ce.Status >= 500 {
				t.Fatalf("AddCosignature: %v", err)
			}
			return
		}
		// Accepted: it must be a valid cosignature of the venue's checkpoint.
		cs, err := dev.Cosignatures(t.Context(), "plenary")
		if err != nil || len(cs.Checkpoints) != 1 {
			t.Fatalf("accepted but not served: %+v %v", cs, err)
		}
		vk, _ := tlog.CosignatureVerifierKey(venue.CosignerName("arden", dev.DeviceID()), pub)
		cv, _ := tlog.NewCosignatureVerifier(vk)
		vv, _ := note.NewVerifier(v.VerifierKey())
		if _, err := note.Open(body, note.VerifierList(vv, cv)); err != nil {
			t.Fatalf("accepted a body that does not verify: %q", body)
		}
	})
}

// TestCosignaturesSharedAcrossNodes: two venue nodes on one PostgreSQL
// database and one key: a cosignature handed to one node is served by the
// other (the store's queue is shared).
func TestCosignaturesSharedAcrossNodes(t *testing.T) {
	db := pgtest.Schema(t, pgtest.URL(t))
	ctx := t.Context()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var urls []string
	dir1 := t.TempDir()
	for i, dir := range []string{dir1, t.TempDir()} {
		if i > 0 {
			for _, f := range []string{venue.KeyFile, venue.AdminFile} {
				b, err := os.ReadFile(filepath.Join(dir1, f))
				if err != nil {
					t.Fatal(err)
				}
				os.WriteFile(filepath.Join(dir, f), b, 0o600)
			}
		}
		st, err := postgres.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		v, err := venue.New(ctx, venue.Config{DataDir: dir, Name: "venue.test", Store: st, Rate: -1, OpaqueEntries: true, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(v.Handler())
		t.Cleanup(func() { srv.Close(); v.Close(); st.Close() })
		urls = append(urls, srv.URL)
	}
	priv, cert := ardenPlenary(t, ctx, urls[0], dir1)
	reg, _ := client.New(urls[0], client.WithDevice(priv))
	if _, err := reg.RegisterDevice(ctx, cert); err != nil {
		t.Fatal(err)
	}
	d1, _ := client.New(urls[0], client.WithDevice(priv))
	d2, _ := client.New(urls[1], client.WithDevice(priv))
	if _, err := d1.Append(ctx, "plenary", []byte("e0")); err != nil {
		t.Fatal(err)
	}
	cp, err := d1.Fetch(ctx, "plenary", "checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	if err := d1.AddCosignature(ctx, "plenary", cosignAs(t, "arden", priv, cp)); err != nil {
		t.Fatal(err)
	}
	cs, err := d2.Cosignatures(ctx, "plenary")
	if err != nil || len(cs.Checkpoints) != 1 || len(cs.Cosigners) != 1 {
		t.Fatalf("node 2 serves %+v, %v", cs, err)
	}
}
