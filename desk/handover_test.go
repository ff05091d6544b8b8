package desk

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/good-offices/goodoffices/mls"
)

func TestParseHandoverPolicy(t *testing.T) {
	day := time.Date(2027, 1, 12, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		all, none bool
		since     string
		want      HandoverPolicy
		err       string
	}{
		{all: true, want: HandoverPolicy{Mode: HandoverAll}},
		{none: true, want: HandoverPolicy{Mode: HandoverNone}},
		{since: "2027-01-12", want: HandoverPolicy{Mode: HandoverSince, Since: day}},
		{since: "2027-01-12T10:00:00+02:00", want: HandoverPolicy{Mode: HandoverSince, Since: day.Add(8 * time.Hour)}},
		{err: "exactly one"},
		{all: true, none: true, err: "exactly one"},
		{all: true, since: "2027-01-12", err: "exactly one"},
		{since: "12/01/2027", err: "not a date"},
	} {
		got, err := ParseHandoverPolicy(c.all, c.none, c.since)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%+v: err %v, want %q", c, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%+v: %+v, %v; want %+v", c, got, err, c.want)
		}
		if err := got.Validate(); err != nil {
			t.Errorf("%+v: parsed policy does not validate: %v", c, err)
		}
	}
}

func TestHandoverPolicyAllows(t *testing.T) {
	since := time.Date(2027, 1, 12, 10, 0, 0, 0, time.UTC)
	p := HandoverPolicy{Mode: HandoverSince, Since: since}
	if p.Allows(since.Add(-time.Nanosecond)) || !p.Allows(since) || !p.Allows(since.Add(time.Hour)) {
		t.Error("since: wrong boundary")
	}
	if !(HandoverPolicy{Mode: HandoverAll}).Allows(time.Time{}) || (HandoverPolicy{Mode: HandoverNone}).Allows(since) {
		t.Error("all/none")
	}
	for _, bad := range []HandoverPolicy{{}, {Mode: "some"}, {Mode: HandoverSince}, {Mode: HandoverAll, Since: since}} {
		if bad.Validate() == nil {
			t.Errorf("%+v validates", bad)
		}
	}
}

func testDisclosure(t testing.TB, b byte) []byte {
	d := &mls.Disclosure{CipherSuite: 1, GroupContext: []byte{b, 1, 2}, SenderDataKey: bytes.Repeat([]byte{b}, 16),
		SenderDataNonce: bytes.Repeat([]byte{b}, 12), Key: bytes.Repeat([]byte{b}, 16), Nonce: bytes.Repeat([]byte{b}, 12), SignatureKey: bytes.Repeat([]byte{b}, 32)}
	out, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func testHandover(t testing.TB) *Handover {
	return &Handover{Format: HandoverFormat, Venue: "caspia", Channel: "wg1", From: "dev-a", To: "dev-b", Certificate: "cert",
		Policy: HandoverPolicy{Mode: HandoverSince, Since: time.Date(2027, 1, 12, 0, 0, 0, 0, time.UTC)}, Created: time.Date(2027, 1, 13, 9, 0, 0, 0, time.UTC),
		Entries: []HandoverEntry{{Index: 3, Disclosure: testDisclosure(t, 3)}, {Index: 7, Disclosure: testDisclosure(t, 7)}}}
}

func TestHandoverRoundTrip(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	h := testHandover(t)
	b, err := EncodeHandover(h, priv)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 1<<10 {
		t.Errorf("encoded size %d, want padded to 1024", len(b))
	}
	got, body, sig, err := ParseHandover(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, h) {
		t.Fatalf("round trip:\n%+v\n%+v", got, h)
	}
	if !ed25519.Verify(pub, handoverSigned(body), sig) {
		t.Fatal("signature does not verify")
	}
	// Flip every bit: the result is refused, or its signature fails.
	for i := range len(b) * 8 {
		m := bytes.Clone(b)
		m[i/8] ^= 1 << (i % 8)
		if _, body, sig, err := ParseHandover(m); err == nil && ed25519.Verify(pub, handoverSigned(body), sig) {
			t.Fatalf("bit %d flipped: still accepted", i)
		}
	}
}

func TestHandoverRefused(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	for name, change := range map[string]func(h *Handover){
		"out of order":      func(h *Handover) { h.Entries[1].Index = 3 },
		"negative index":    func(h *Handover) { h.Entries[0].Index = -1 },
		"none with entries": func(h *Handover) { h.Policy = HandoverPolicy{Mode: HandoverNone} },
		"bad disclosure":    func(h *Handover) { h.Entries[0].Disclosure = []byte{1} },
		"bad format":        func(h *Handover) { h.Format = "other" },
		"same devices":      func(h *Handover) { h.To = h.From },
		"bad channel":       func(h *Handover) { h.Channel = "../x" },
	} {
		h := testHandover(t)
		change(h)
		if _, err := EncodeHandover(h, priv); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
	// Strict JSON: an unknown field, trailing data; non-zero padding.
	h := testHandover(t)
	body, _ := json.Marshal(h)
	frame := func(body []byte, pad []byte) []byte {
		sig := ed25519.Sign(priv, handoverSigned(body))
		var out []byte
		for _, p := range [][]byte{body, sig, pad} {
			out = append(out, byte(len(p)>>24), byte(len(p)>>16), byte(len(p)>>8), byte(len(p)))
			out = append(out, p...)
		}
		return out
	}
	if _, _, _, err := ParseHandover(frame(body, nil)); err != nil {
		t.Fatalf("a well-formed frame is refused: %v", err)
	}
	for name, b := range map[string][]byte{
		"unknown field":   frame(append(bytes.TrimSuffix(body, []byte("}")), []byte(`,"extra":1}`)...), nil),
		"trailing JSON":   frame(append(bytes.Clone(body), []byte(" {}")...), nil),
		"non-zero pad":    frame(body, []byte{0, 1}),
		"trailing frame":  append(frame(body, nil), 0),
		"short signature": frame(body, nil)[:len(body)+4+3],
	} {
		if _, _, _, err := ParseHandover(b); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

func TestHandoverEnvelope(t *testing.T) {
	ref, enc, ct := []byte("ref"), []byte("kem output"), []byte("ciphertext")
	b := sealHandover(ref, enc, ct)
	if !isHandoverMail(b) {
		t.Fatal("not recognised as a hand-over")
	}
	r2, e2, c2, err := openHandoverEnvelope(b)
	if err != nil || !bytes.Equal(r2, ref) || !bytes.Equal(e2, enc) || !bytes.Equal(c2, ct) {
		t.Fatalf("round trip: %q %q %q %v", r2, e2, c2, err)
	}
	for i := range len(b) - 1 {
		if _, _, _, err := openHandoverEnvelope(b[:i]); err == nil && i < len(handoverMagic)+4+len(ref)+len(enc)+1 {
			t.Errorf("truncated to %d: opened", i)
		}
	}
	if isHandoverMail([]byte{0, 1, 0, 3}) {
		t.Error("a Welcome taken for a hand-over")
	}
}

// FuzzParseHandover: the decoder never panics, and what it accepts is
// well-formed and decodes again to the same hand-over.
func FuzzParseHandover(f *testing.F) {
	_, priv, _ := ed25519.GenerateKey(nil)
	b, err := EncodeHandover(testHandover(f), priv)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{})
	f.Add(b[:100])
	f.Fuzz(func(t *testing.T, data []byte) {
		h, body, sig, err := ParseHandover(data)
		if err != nil {
			return
		}
		if len(sig) != ed25519.SignatureSize || !bytes.Contains(data, body) {
			t.Fatal("accepted a malformed frame")
		}
		if err := h.check(); err != nil {
			t.Fatalf("accepted an invalid hand-over: %v", err)
		}
		again, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		var h2 Handover
		if err := json.Unmarshal(again, &h2); err != nil || !reflect.DeepEqual(&h2, h) {
			t.Fatalf("does not round-trip: %v", err)
		}
	})
}

// FuzzOpenHandoverEnvelope: what opens is exactly what seals again.
func FuzzOpenHandoverEnvelope(f *testing.F) {
	f.Add(sealHandover([]byte("ref"), []byte("enc"), []byte("ct")))
	f.Add([]byte(handoverMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		ref, enc, ct, err := openHandoverEnvelope(data)
		if err != nil {
			return
		}
		if !bytes.Equal(sealHandover(ref, enc, ct), data) {
			t.Fatal("does not round-trip")
		}
	})
}
