package hostile_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/internal/hostile"
	"github.com/good-offices/goodoffices/venue"
	"github.com/good-offices/goodoffices/venue/client"
)

// TestDoctoredViewsVerify: what the hostile venue serves is a complete,
// validly signed log that a verifying client accepts on its own, which is
// why the desks need their history and the others' cosignatures.
func TestDoctoredViewsVerify(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	v, err := venue.New(ctx, venue.Config{DataDir: dir, Name: "venue.test", Rate: -1, OpaqueEntries: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(v.Handler())
	defer func() { srv.Close(); v.Close() }()
	skey, _ := os.ReadFile(filepath.Join(dir, venue.KeyFile))
	signer, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		t.Fatal(err)
	}
	px := hostile.New(srv.URL, signer)
	front := httptest.NewServer(px.Handler("victim"))
	defer front.Close()

	cred, _ := os.ReadFile(filepath.Join(dir, venue.AdminFile))
	admin, _ := client.New(srv.URL, client.WithAdmin(string(cred)))
	root, _ := delegation.GenerateRoot("arden")
	if _, err := admin.Accredit(ctx, "arden", root.VerifierKey()); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateChannel(ctx, client.ChannelSpec{ID: "plenary", Kind: "plenary", Level: "expert", Members: []string{"arden"}}); err != nil {
		t.Fatal(err)
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	cert, _ := root.Certify(&delegation.Certificate{Delegation: "arden", Person: "P", Role: "expert", Level: "expert", Device: pub,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)})
	reg, _ := client.New(srv.URL, client.WithDevice(priv))
	if _, err := reg.RegisterDevice(ctx, cert); err != nil {
		t.Fatal(err)
	}
	real, _ := client.New(srv.URL, client.WithDevice(priv))
	victim, _ := client.New(front.URL, client.WithDevice(priv))
	var want []string
	for i := range 300 { // more than one tile
		e := fmt.Sprintf("e%d", i)
		if _, err := real.Append(ctx, "plenary", []byte(e)); err != nil {
			t.Fatal(err)
		}
		want = append(want, e)
	}
	vv, _ := note.NewVerifier(v.VerifierKey())
	origin := client.ChannelOrigin("venue.test", "plenary")
	read := func(c *client.Client) []string {
		t.Helper()
		lc := c.Log("plenary", origin, vv)
		cp, _, err := lc.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		es, err := lc.Entries(ctx, cp, 0, cp.Size)
		if err != nil {
			t.Fatalf("entries do not verify: %v", err)
		}
		var out []string
		for _, e := range es {
			out = append(out, string(e))
		}
		return out
	}
	if got := read(victim); !slices.Equal(got, want) {
		t.Fatal("the honest proxy changed the log")
	}
	for _, tc := range []struct {
		a    *hostile.Attack
		want func([]string) []string
	}{
		{hostile.Drop("plenary", 3), func(es []string) []string { return slices.Delete(slices.Clone(es), 3, 4) }},
		{hostile.Reorder("plenary", 1, 280), func(es []string) []string {
			es = slices.Clone(es)
			es[1], es[280] = es[280], es[1]
			return es
		}},
		{hostile.Withhold("plenary", 10, false), func(es []string) []string { return es[:10] }},
		{hostile.Replay("plenary", 2), func(es []string) []string { return append(slices.Clone(es), es[2]) }},
		{hostile.Fork("plenary", 5, []byte("x5")), func(es []string) []string { return append(slices.Clone(es[:5]), "x5") }},
	} {
		px.Set("victim", tc.a)
		if got := read(victim); !slices.Equal(got, tc.want(want)) {
			t.Errorf("%s: served %d entries, not the doctored log", tc.a.Name, len(got))
		}
		if got := read(real); !slices.Equal(got, want) {
			t.Fatalf("%s: the real venue changed", tc.a.Name)
		}
	}
	px.Set("victim", nil)
	if got := read(victim); !slices.Equal(got, want) {
		t.Fatal("the proxy did not become honest again")
	}
}
