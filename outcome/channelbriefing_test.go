package outcome

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/note"
	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/mls"
	"github.com/good-offices/goodoffices/tlog"
)

// A synthetic channel: an MLS group of Tomas Reig (Arden) and Iryna Holt
// (Borealia) whose signature keys are their certified device keys, its log
// (the commit that added Iryna, then five messages) and a checkpoint
// cosigned by both parties. The desk's scenario test makes the same from
// real desks and a real venue.

type channelLog struct {
	entries   [][]byte
	disc      map[int][]byte // entry index -> disclosure
	device    map[int]string
	certs     []string
	cp        string
	tree      memTree
	plaintext map[int]string
}

func makeChannel(t testing.TB) *channelLog {
	ca, da := deviceCert(t, "arden", "Tomas Reig")
	cb, db := deviceCert(t, "borealia", "Iryna Holt")
	cfg := &mls.Config{ValidateCredential: func(mls.Credential, []byte) error { return nil }}
	ia, err := mls.NewIdentityFromKey(mls.DefaultCipherSuite, mls.BasicCredential([]byte(ca)), da.Seed())
	if err != nil {
		t.Fatal(err)
	}
	ib, err := mls.NewIdentityFromKey(mls.DefaultCipherSuite, mls.BasicCredential([]byte(cb)), db.Seed())
	if err != nil {
		t.Fatal(err)
	}
	kp, priv, err := mls.NewKeyPackage(ib, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := mls.Create(ia, ChannelGroupID(testVenueName, "wg1"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	commit, err := a.Commit(&mls.CommitOptions{Proposals: []mls.Proposal{mls.AddProposal(kp)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Process(commit.Commit); err != nil {
		t.Fatal(err)
	}
	b, err := mls.Join(ib, priv, commit.Welcome, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &channelLog{entries: [][]byte{commit.Commit}, disc: map[int][]byte{}, device: map[int]string{}, plaintext: map[int]string{}}
	for i, x := range []struct {
		g    *mls.Group
		dev  ed25519.PrivateKey
		body string
	}{
		{a, da, "Arden opens the round."},
		{b, db, "Borealia tables paragraph 3."},
		{a, da, "Arden reserves on paragraph 3."},
		{b, db, "Borealia proposes 20 km."},
		{a, da, "Arden agrees to 20 km."},
	} {
		data := fmt.Appendf(nil, `{"v":1,"type":"statement","body":%q}`, x.body)
		m, d, err := x.g.EncryptDisclosed(data, nil)
		if err != nil {
			t.Fatal(err)
		}
		other := b
		if x.g == b {
			other = a
		}
		if _, err := other.Process(m); err != nil {
			t.Fatal(err)
		}
		db, _ := d.MarshalBinary()
		c.entries = append(c.entries, m)
		c.disc[i+1], c.device[i+1], c.plaintext[i+1] = db, delegation.DeviceID(x.dev.Public().(ed25519.PublicKey)), x.body
	}
	for i, e := range c.entries {
		hs, err := xtlog.StoredHashes(int64(i), e, c.tree)
		if err != nil {
			t.Fatal(err)
		}
		c.tree = append(c.tree, hs...)
	}
	size := int64(len(c.entries))
	root, _ := xtlog.TreeHash(size, c.tree)
	vs, _ := delegation.NoteSigner(testVenueName, seedKey("venue"))
	msg, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: channelOrigin(testVenueName, "wg1"), Size: size, Hash: root}, vs)
	if err != nil {
		t.Fatal(err)
	}
	for p, dev := range map[string]ed25519.PrivateKey{"arden": da, "borealia": db} {
		cs, _ := tlog.NewCosigner(p+"/"+delegation.DeviceID(dev.Public().(ed25519.PublicKey)), dev)
		body, _, _ := strings.Cut(string(msg), "\n\n")
		signed, err := note.Sign(&note.Note{Text: body + "\n"}, cs)
		if err != nil {
			t.Fatal(err)
		}
		_, line, _ := strings.Cut(string(signed), "\n\n")
		msg = append(msg, line...)
	}
	c.cp, c.certs = string(msg), []string{ca, cb}
	slices.Sort(c.certs)
	return c
}

func (c *channelLog) brief(t testing.TB, idx ...int) *ChannelBriefing {
	cb := &ChannelBriefing{Format: ChannelBriefingFormat, Channel: "wg1", VenueKey: venueVKey(), Checkpoint: c.cp, Certificates: c.certs,
		Parties: []Party{{ID: "arden", Name: "arden", RootKey: pub("arden")}, {ID: "borealia", Name: "borealia", RootKey: pub("borealia")}}}
	for _, i := range idx {
		p, err := xtlog.ProveRecord(int64(len(c.entries)), int64(i), c.tree)
		if err != nil {
			t.Fatal(err)
		}
		m := BriefedMessage{Index: int64(i), Device: c.device[i], Data: c.entries[i], Disclosure: c.disc[i]}
		for _, h := range p {
			m.Proof = append(m.Proof, bytes.Clone(h[:]))
		}
		cb.Messages = append(cb.Messages, m)
	}
	return cb
}

var (
	channelOnce sync.Once
	channelTest *channelLog
	channelFile []byte
)

func testChannel(t testing.TB) (*channelLog, []byte) {
	channelOnce.Do(func() {
		channelTest = makeChannel(t)
		channelFile = channelTest.brief(t, 2, 4).Marshal()
	})
	return channelTest, channelFile
}

func TestChannelBriefing(t *testing.T) {
	c, data := testChannel(t)
	o := pins()
	o.VenueKey = venueVKey()
	r, err := Verify(data, o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != "channel-briefing" || len(r.Messages) != 2 || r.Messages[0].Person != "Iryna Holt" || r.Messages[1].Party != "borealia" ||
		!strings.Contains(r.Messages[1].Data, "20 km") || strings.Join(r.Evidence.CosignedBy, ",") != "arden,borealia" {
		t.Fatalf("report %+v", r)
	}
	s := r.String()
	for _, want := range []string{"VALID channel briefing: 2 messages", "Iryna Holt of borealia: statement: \"Borealia tables paragraph 3.\"", "PINNED"} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}
	// Nothing else: the other messages' texts are not in the file, and its
	// keys open no other entry of the log.
	for i, p := range c.plaintext {
		if i != 2 && i != 4 && bytes.Contains(data, []byte(p)) {
			t.Fatalf("briefing shows message %d", i)
		}
	}
	cb, _ := ParseChannelBriefing(data)
	for _, m := range cb.Messages {
		d, _ := mls.ParseDisclosure(m.Disclosure)
		for i, e := range c.entries {
			if _, err := mls.OpenDisclosed(e, d); (err == nil) != (int64(i) == m.Index) {
				t.Fatalf("disclosure of %d on entry %d: %v", m.Index, i, err)
			}
		}
	}
	for name, mutate := range map[string]func(cb *ChannelBriefing){
		"another disclosure":  func(cb *ChannelBriefing) { cb.Messages[0].Disclosure = c.disc[1] },
		"another sender":      func(cb *ChannelBriefing) { cb.Messages[0].Device = c.device[1] },
		"another index":       func(cb *ChannelBriefing) { cb.Messages[0].Index = 3 },
		"another channel":     func(cb *ChannelBriefing) { cb.Channel = "wg2" },
		"party misnamed":      func(cb *ChannelBriefing) { cb.Parties[0].Name = "Federation of Arden" },
		"a party left out":    func(cb *ChannelBriefing) { cb.Parties = cb.Parties[1:] },
		"no messages":         func(cb *ChannelBriefing) { cb.Messages = nil },
		"a commit as message": func(cb *ChannelBriefing) { cb.Messages[0].Data = c.entries[0] },
	} {
		cb := c.brief(t, 2, 4)
		mutate(cb)
		if _, err := Verify(cb.Marshal(), o); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
}

// TestExampleFiles writes (with -update) and checks the example files with
// evidence and of a channel.
func TestExampleFiles(t *testing.T) {
	_, ch := testChannel(t)
	for name, data := range map[string][]byte{"joint-statement.evidence.outcome.json": bundleWithEvidence(t), "wg1.channel-briefing.json": ch} {
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test -update makes it)", err)
		}
		o := pins()
		o.VenueKey = venueVKey()
		if _, err := Verify(b, o); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

func TestChannelBriefingBitFlips(t *testing.T) {
	_, data := testChannel(t)
	flipEveryBit(t, data)
}
