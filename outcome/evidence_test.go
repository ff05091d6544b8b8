package outcome

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/tlog"
)

// A synthetic channel log for the venue evidence of the Joint Statement:
// entries 0-5, the adoption at 3 (sent by Arden's device), the signatures
// at 4 (Borealia) and 5 (Arden); a checkpoint of size 7 signed by the venue
// and cosigned by both parties' devices. The desk's scenario test makes
// the same from a real venue.

func seedKey(s string) ed25519.PrivateKey {
	h := sha256.Sum256([]byte(s))
	return ed25519.NewKeyFromSeed(h[:])
}

const testVenueName = "venue.test"

func venueVKey() string {
	vk, err := note.NewEd25519VerifierKey(testVenueName, seedKey("venue").Public().(ed25519.PublicKey))
	if err != nil {
		panic(err)
	}
	return vk
}

func deviceCert(t testing.TB, party, person string) (string, ed25519.PrivateKey) {
	dev := seedKey("device " + person)
	c := &delegation.Certificate{Delegation: party, Person: person, Role: "expert", Level: "expert",
		Device:    dev.Public().(ed25519.PublicKey),
		NotBefore: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	body, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	s, err := delegation.NoteSigner(party, testKey(party))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := note.Sign(&note.Note{Text: string(body)}, s)
	if err != nil {
		t.Fatal(err)
	}
	return string(msg), dev
}

type evidenceOpts struct {
	cosigners []string // parties whose devices cosign
	size      int64
}

func makeEvidence(t testing.TB, o evidenceOpts) *Evidence {
	var entries [][]byte
	for i := range 6 {
		entries = append(entries, fmt.Appendf(nil, "mls message %d", i))
	}
	for int64(len(entries)) < o.size {
		entries = append(entries, []byte("later message"))
	}
	var m memTree
	for i, e := range entries {
		hs, err := xtlog.StoredHashes(int64(i), e, m)
		if err != nil {
			t.Fatal(err)
		}
		m = append(m, hs...)
	}
	size := int64(len(entries))
	root, err := xtlog.TreeHash(size, m)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := delegation.NoteSigner(testVenueName, seedKey("venue"))
	if err != nil {
		t.Fatal(err)
	}
	cp := tlog.Checkpoint{Origin: channelOrigin(testVenueName, "wg1"), Size: size, Hash: root}
	msg, err := tlog.SignCheckpoint(cp, vs)
	if err != nil {
		t.Fatal(err)
	}
	ca, da := deviceCert(t, "arden", "Tomas Reig")
	cb, db := deviceCert(t, "borealia", "Iryna Holt")
	devs := map[string]ed25519.PrivateKey{"arden": da, "borealia": db}
	for _, p := range o.cosigners {
		dev := devs[p]
		cs, err := tlog.NewCosigner(p+"/"+delegation.DeviceID(dev.Public().(ed25519.PublicKey)), dev)
		if err != nil {
			t.Fatal(err)
		}
		vv, _ := note.NewVerifier(venueVKey())
		n, err := note.Open(msg, note.VerifierList(vv))
		if err != nil {
			t.Fatal(err)
		}
		signed, err := note.Sign(&note.Note{Text: n.Text}, cs)
		if err != nil {
			t.Fatal(err)
		}
		_, line, _ := strings.Cut(string(signed), "\n\n")
		msg = append(msg, line...)
	}
	ev := &Evidence{Channel: "wg1", VenueKey: venueVKey(), Checkpoint: string(msg), Certificates: []string{ca, cb}}
	slices.Sort(ev.Certificates)
	for _, x := range []struct {
		i    int64
		kind string
		dev  ed25519.PrivateKey
	}{{3, EntryAdopt, da}, {4, EntrySign, db}, {5, EntrySign, da}} {
		p, err := xtlog.ProveRecord(size, x.i, m)
		if err != nil {
			t.Fatal(err)
		}
		e := Entry{Index: x.i, Kind: x.kind, Device: delegation.DeviceID(x.dev.Public().(ed25519.PublicKey)), Data: entries[x.i]}
		for _, h := range p {
			e.Proof = append(e.Proof, bytes.Clone(h[:]))
		}
		ev.Entries = append(ev.Entries, e)
	}
	return ev
}

var (
	evidenceOnce   sync.Once
	evidenceBundle []byte
)

// bundleWithEvidence is the signed Joint Statement with evidence cosigned
// by both parties, made once per process (cosignatures carry the time).
func bundleWithEvidence(t testing.TB) []byte {
	evidenceOnce.Do(func() {
		b := signedBundle(t)
		b.Evidence = makeEvidence(t, evidenceOpts{cosigners: []string{"arden", "borealia"}, size: 7})
		evidenceBundle = b.Marshal()
	})
	return evidenceBundle
}

func TestEvidence(t *testing.T) {
	data := bundleWithEvidence(t)
	o := pins()
	o.VenueKey = venueVKey()
	r, err := Verify(data, o)
	if err != nil {
		t.Fatal(err)
	}
	e := r.Evidence
	if e == nil || e.CheckpointSize != 7 || strings.Join(e.CosignedBy, ",") != "arden,borealia" || !e.VenuePinned || len(e.Entries) != 3 ||
		e.Entries[0].Kind != EntryAdopt || e.Entries[0].Party != "arden" || e.Entries[1].Party != "borealia" || e.Entries[1].Person != "Iryna Holt" {
		t.Fatalf("evidence report %+v", e)
	}
	s := r.String()
	for _, want := range []string{"cosigned by the desks of arden, borealia", "venue key PINNED", "entry 4 (the signature of borealia)", "Iryna Holt of borealia"} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}
	// Not pinned: said so. Another venue key pinned: refused.
	if r, err := Verify(data, pins()); err != nil || r.Evidence.VenuePinned || !strings.Contains(r.String(), "NOT pinned (use --venue-key)") {
		t.Fatalf("unpinned venue: %v", err)
	}
	o2 := pins()
	o2.VenueKey = strings.Replace(venueVKey(), testVenueName, "other.venue", 1)
	if _, err := Verify(data, o2); err == nil || !strings.Contains(err.Error(), "not the pinned one") {
		t.Fatalf("wrong venue pin: %v", err)
	}
	// A bundle without evidence verifies, says it has none, and is refused
	// when evidence is required.
	plain := signedBundle(t).Marshal()
	if r, err := Verify(plain, pins()); err != nil || !strings.Contains(r.String(), "no evidence from the venue") {
		t.Fatalf("plain bundle: %v", err)
	}
	req := pins()
	req.RequireEvidence = true
	if _, err := Verify(plain, req); err == nil {
		t.Fatal("bundle without evidence verified with RequireEvidence")
	}
	// The first format still verifies.
	v1, err := os.ReadFile(filepath.Join("testdata", "joint-statement.v1.outcome.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(v1, pins()); err != nil {
		t.Fatalf("v1 bundle: %v", err)
	}
	// Only one party cosigned: verifies, and the report says who did not.
	b := signedBundle(t)
	b.Evidence = makeEvidence(t, evidenceOpts{cosigners: []string{"arden"}, size: 6})
	if r, err := Verify(b.Marshal(), pins()); err != nil || !strings.Contains(r.String(), "Not cosigned by borealia") {
		t.Fatalf("one cosigner: %v\n%v", err, r)
	}
}

func TestEvidenceRefuses(t *testing.T) {
	for name, mutate := range map[string]func(e *Evidence){
		"entry altered":       func(e *Evidence) { e.Entries[1].Data[0] ^= 1 },
		"entry moved":         func(e *Evidence) { e.Entries[1].Index = 2 },
		"no adoption":         func(e *Evidence) { e.Entries = e.Entries[1:] },
		"a signature missing": func(e *Evidence) { e.Entries = e.Entries[:2] },
		"sender swapped":      func(e *Evidence) { e.Entries[1].Device = e.Entries[2].Device },
		"unknown kind":        func(e *Evidence) { e.Entries[0].Kind = "statement" },
		"bad disclosure":      func(e *Evidence) { e.Entries[0].Disclosure = []byte{0, 1, 0} },
		"certificate missing": func(e *Evidence) { e.Certificates = e.Certificates[:1] },
		"another channel":     func(e *Evidence) { e.Channel = "wg2" },
		"another venue key": func(e *Evidence) {
			vk, _ := note.NewEd25519VerifierKey(testVenueName, seedKey("other").Public().(ed25519.PublicKey))
			e.VenueKey = vk
		},
		"unknown signature line": func(e *Evidence) {
			e.Checkpoint += "— someone AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
		},
		"certificate of a stranger": func(e *Evidence) {
			c, _ := deviceCert(t, "caspia", "Dana Seitkali")
			e.Certificates = append(e.Certificates, c)
			slices.Sort(e.Certificates)
		},
	} {
		b := signedBundle(t)
		b.Evidence = makeEvidence(t, evidenceOpts{cosigners: []string{"arden", "borealia"}, size: 7})
		mutate(b.Evidence)
		if _, err := Verify(b.Marshal(), pins()); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
}

func TestEvidenceBitFlips(t *testing.T) { flipEveryBit(t, bundleWithEvidence(t)) }
