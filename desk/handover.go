package desk

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/mls"
	"github.com/good-offices/goodoffices/tlog"
	"github.com/good-offices/goodoffices/venue/scheduleapi"
	"golang.org/x/mod/sumdb/note"
)

// # Hand-over of a channel's history to a new device
//
// MLS gives a member who joins today no key to yesterday's messages. When a
// delegation replaces a delegate, the head of delegation's device hands the
// newcomer's device the per-message keys (the mls.Disclosure of each
// application message, as briefings use them, briefing.go) of the messages
// the delegation's policy allows: all, those since a date, or none.
//
// The hand-over is a signed bundle (the head's device key, certified by the
// delegation's root) sealed to a freshly claimed key package of the new
// device (mls.SealToKeyPackage: HPKE, RFC 9420 §5.1.3) and posted to its
// mailbox on the venue, which learns only that a blob of some size passed
// between two devices of one delegation.
//
// It carries keys, never plaintext. The new desk fetches each logged
// ciphertext itself, checks its inclusion in its verified checkpoint,
// opens it with the handed-over keys (mls.OpenDisclosed also verifies the
// sender's signature) and replays the negotiation engine. So a hand-over
// can omit messages but cannot forge or alter one: a bundle whose keys do
// not open the logged entries, or that names entries the log does not
// hold, raises an alarm and nothing of it is used.

// HandoverFormat is the format line of a hand-over bundle.
const HandoverFormat = "goodoffices handover v1"

// handoverMagic starts a sealed hand-over in a device's mailbox (a Welcome
// starts with the MLS version, 0x0001).
const handoverMagic = "GOHO\x01"

// handoverLabel is the EncryptWithLabel label of a sealed hand-over.
const handoverLabel = "goodoffices handover"

// Bounds of a hand-over bundle.
const (
	MaxHandoverEntries = 1 << 16
	MaxHandoverSize    = 1 << 20 // the venue's largest mail (venue.DefaultMaxMail)
	// handoverPadMax leaves room in the largest mail for the envelope (the
	// key package ref and an X-Wing KEM output of 1,120 bytes) and the AEAD tag.
	handoverPadMax = MaxHandoverSize - 4<<10
)

// Policy modes of a hand-over.
const (
	HandoverAll   = "all"
	HandoverSince = "since"
	HandoverNone  = "none"
)

// A HandoverPolicy is what the head of delegation allows a new device to
// read of a channel's history.
type HandoverPolicy struct {
	Mode  string    `json:"mode"`           // all, since or none
	Since time.Time `json:"since,omitzero"` // since: messages received from then on
}

// ParseHandoverPolicy returns the policy of one of --all, --none and
// --since DATE (RFC 3339, or a day YYYY-MM-DD, UTC).
func ParseHandoverPolicy(all, none bool, since string) (HandoverPolicy, error) {
	n := 0
	for _, b := range []bool{all, none, since != ""} {
		if b {
			n++
		}
	}
	if n != 1 {
		return HandoverPolicy{}, errors.New("name exactly one of --all, --since DATE and --none")
	}
	switch {
	case all:
		return HandoverPolicy{Mode: HandoverAll}, nil
	case none:
		return HandoverPolicy{Mode: HandoverNone}, nil
	}
	t, err := time.Parse(time.RFC3339, since)
	if err != nil {
		t, err = time.Parse(time.DateOnly, since)
	}
	if err != nil {
		return HandoverPolicy{}, fmt.Errorf("--since %q: not a date (2027-01-12 or 2027-01-12T10:00:00Z)", since)
	}
	return HandoverPolicy{Mode: HandoverSince, Since: t.UTC()}, nil
}

// Validate checks the policy's form.
func (p HandoverPolicy) Validate() error {
	switch p.Mode {
	case HandoverAll, HandoverNone:
		if !p.Since.IsZero() {
			return fmt.Errorf("policy %s takes no date", p.Mode)
		}
	case HandoverSince:
		if p.Since.IsZero() {
			return errors.New("policy since needs a date")
		}
	default:
		return fmt.Errorf("unknown hand-over policy %q", p.Mode)
	}
	return nil
}

// Allows reports whether the policy hands over a message received at t.
func (p HandoverPolicy) Allows(t time.Time) bool {
	switch p.Mode {
	case HandoverAll:
		return true
	case HandoverSince:
		return !t.Before(p.Since)
	}
	return false
}

func (p HandoverPolicy) String() string {
	if p.Mode == HandoverSince {
		return "since " + p.Since.Format(time.RFC3339)
	}
	return p.Mode
}

// A Handover is the signed content of a hand-over.
type Handover struct {
	Format      string          `json:"format"`
	Venue       string          `json:"venue"`
	Channel     string          `json:"channel"`
	From        string          `json:"from"`        // the handing-over device
	To          string          `json:"to"`          // the new device
	Certificate string          `json:"certificate"` // From's certificate (head of delegation)
	Policy      HandoverPolicy  `json:"policy"`
	Created     time.Time       `json:"created"`
	Entries     []HandoverEntry `json:"entries"`
}

// A HandoverEntry is the disclosure of one logged application message.
type HandoverEntry struct {
	Index      int64  `json:"index"`
	Disclosure []byte `json:"disclosure"` // mls.Disclosure
}

// check validates a hand-over's form: strictly ascending indexes, bounded,
// each disclosure decodable.
func (h *Handover) check() error {
	switch {
	case h.Format != HandoverFormat:
		return errors.New("not a hand-over")
	case !delegation.ValidName(h.Channel):
		return errors.New("invalid channel")
	case h.From == "" || h.To == "" || h.From == h.To:
		return errors.New("invalid devices")
	case len(h.Entries) > MaxHandoverEntries:
		return errors.New("too many entries")
	}
	if err := h.Policy.Validate(); err != nil {
		return err
	}
	if h.Policy.Mode == HandoverNone && len(h.Entries) > 0 {
		return errors.New("policy none with entries")
	}
	for i, e := range h.Entries {
		if e.Index < 0 || i > 0 && e.Index <= h.Entries[i-1].Index {
			return errors.New("entries out of order")
		}
		if _, err := mls.ParseDisclosure(e.Disclosure); err != nil {
			return fmt.Errorf("entry %d: %w", e.Index, err)
		}
	}
	return nil
}

func handoverSigned(body []byte) []byte {
	return append([]byte(HandoverFormat+"\n"), body...)
}

// EncodeHandover signs h with key: the body (JSON), its Ed25519 signature
// and zero padding, each with a 4-byte length.
func EncodeHandover(h *Handover, key ed25519.PrivateKey) ([]byte, error) {
	if err := h.check(); err != nil {
		return nil, fmt.Errorf("failed to encode hand-over: %w", err)
	}
	body, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	sig := ed25519.Sign(key, handoverSigned(body))
	out := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	out = append(out, body...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(sig)))
	out = append(out, sig...)
	// Zero padding to a power of two (at least 1 KiB), so that the blob's
	// size says little of how many messages it carries.
	padded := 1 << 10
	for padded < len(out)+4 {
		padded *= 2
	}
	pad := max(0, min(padded, handoverPadMax)-len(out)-4)
	out = binary.BigEndian.AppendUint32(out, uint32(pad))
	out = append(out, make([]byte, pad)...)
	if len(out) > handoverPadMax {
		return nil, fmt.Errorf("failed to encode hand-over: %d bytes, more than %d: hand over a shorter period", len(out), handoverPadMax)
	}
	return out, nil
}

// ParseHandover decodes a signed hand-over strictly (known fields only, no
// trailing data, bounded) and returns it with its body and signature. It
// does not check the signature: the caller verifies it with the
// certificate's device key after verifying the certificate.
func ParseHandover(data []byte) (h *Handover, body, sig []byte, err error) {
	fail := func(msg string) (*Handover, []byte, []byte, error) {
		return nil, nil, nil, fmt.Errorf("malformed hand-over: %s", msg)
	}
	if len(data) > MaxHandoverSize {
		return fail("too long")
	}
	next := func() ([]byte, bool) {
		if len(data) < 4 {
			return nil, false
		}
		n := binary.BigEndian.Uint32(data)
		if uint64(n) > uint64(len(data)-4) {
			return nil, false
		}
		b := data[4 : 4+n]
		data = data[4+n:]
		return b, true
	}
	body, ok1 := next()
	sig, ok2 := next()
	pad, ok3 := next()
	if !ok1 || !ok2 || !ok3 || len(data) != 0 || len(sig) != ed25519.SignatureSize {
		return fail("framing")
	}
	if !bytes.Equal(pad, make([]byte, len(pad))) {
		return fail("padding")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var hv Handover
	if err := dec.Decode(&hv); err != nil {
		return fail("body")
	}
	if dec.More() {
		return fail("trailing data")
	}
	if err := hv.check(); err != nil {
		return fail(err.Error())
	}
	return &hv, body, sig, nil
}

// sealHandover is the mailbox form: magic, the key package ref, the KEM
// output, the ciphertext (the first three with a 2-byte length).
func sealHandover(ref, kemOutput, ct []byte) []byte {
	out := []byte(handoverMagic)
	for _, b := range [][]byte{ref, kemOutput} {
		out = binary.BigEndian.AppendUint16(out, uint16(len(b)))
		out = append(out, b...)
	}
	return append(out, ct...)
}

func isHandoverMail(b []byte) bool { return bytes.HasPrefix(b, []byte(handoverMagic)) }

// openHandoverEnvelope splits the mailbox form.
func openHandoverEnvelope(b []byte) (ref, kemOutput, ct []byte, err error) {
	rest, ok := bytes.CutPrefix(b, []byte(handoverMagic))
	if !ok {
		return nil, nil, nil, errors.New("not a hand-over")
	}
	var parts [2][]byte
	for i := range parts {
		if len(rest) < 2 {
			return nil, nil, nil, errors.New("malformed hand-over envelope")
		}
		n := int(binary.BigEndian.Uint16(rest))
		if n == 0 || len(rest) < 2+n {
			return nil, nil, nil, errors.New("malformed hand-over envelope")
		}
		parts[i], rest = rest[2:2+n], rest[2+n:]
	}
	if len(rest) == 0 {
		return nil, nil, nil, errors.New("malformed hand-over envelope")
	}
	return parts[0], parts[1], rest, nil
}

// handoverTamper, set by tests only, changes a hand-over before it is
// signed: the lying device of the tests.
var handoverTamper func(*Handover)

// ErrNotHeadHandover: only the head of delegation decides a hand-over.
var ErrNotHeadHandover = errors.New("only the head of delegation hands history over, and this device's certificate does not name its holder head of delegation")

// A HandoverReport says what a hand-over carried.
type HandoverReport struct {
	Channel  string         `json:"channel"`
	To       string         `json:"to"`
	Policy   HandoverPolicy `json:"policy"`
	Messages int            `json:"messages"` // messages whose keys were handed over
	Withheld int            `json:"withheld"` // messages the policy leaves out
	NoKeys   int            `json:"no_keys"`  // messages this desk kept no keys for
	Bytes    int            `json:"bytes"`    // the size of the blob the venue passed on
}

// Handover hands the history of channel ch that pol allows to device to,
// another device of this delegation. Only the head of delegation's device
// may do it; the recipient must be a certified device of this delegation
// on the venue. Everything is checked before anything is sent.
func (d *Desk) Handover(ctx context.Context, ch, to string, pol HandoverPolicy) (*HandoverReport, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fail := func(err error) (*HandoverReport, error) {
		return nil, fmt.Errorf("failed to hand over %s: %w", ch, err)
	}
	if err := pol.Validate(); err != nil {
		return fail(err)
	}
	head, err := d.HeadCertificate(ctx)
	if errors.Is(err, ErrNotHead) {
		return fail(ErrNotHeadHandover)
	}
	if err != nil {
		return fail(err)
	}
	if to == d.DeviceID() {
		return fail(errors.New("the recipient is this device"))
	}
	if _, err := d.channelMeta(ctx, d.store, ch); err != nil {
		return fail(err)
	}
	g, err := d.loadGroup(ctx, d.store, ch)
	if err != nil {
		return fail(err)
	}
	if g == nil {
		return fail(fmt.Errorf("this desk is not in %s's group: it has no history to hand over", ch))
	}
	cs := g.CipherSuite()
	// The recipient: a device of this delegation, certified by its root.
	devs, err := d.api.devices(ctx, head.Delegation)
	if err != nil {
		return fail(err)
	}
	found := false
	for _, dv := range devs {
		if dv.ID != to {
			continue
		}
		if dv.Revoked {
			return fail(fmt.Errorf("device %s is revoked", to))
		}
		c, err := d.checkDevice(ctx, []byte(dv.Certificate), time.Now())
		if err != nil || c.Delegation != head.Delegation || delegation.DeviceID(c.Device) != to {
			return fail(fmt.Errorf("device %s: its certificate does not verify under %s's root key", to, head.Delegation))
		}
		found = true
	}
	if !found {
		return fail(fmt.Errorf("no device %s of %s on the venue (it must enroll first)", to, head.Delegation))
	}
	rep := &HandoverReport{Channel: ch, To: to, Policy: pol}
	h := &Handover{Format: HandoverFormat, Venue: d.venue.Name, Channel: ch, From: d.DeviceID(), To: to,
		Certificate: string(d.cert), Policy: pol, Created: time.Now().UTC().Truncate(time.Second)}
	if _, err := d.forHistory(ctx, ch, 0, func(m Message) {
		if m.Kind != "application" && m.Kind != "recovery" {
			return // a recovery notice too: the newcomer's talks continue the old channel's
		}
		if !pol.Allows(m.Received) {
			rep.Withheld++
			return
		}
		rep.Messages++
		if len(h.Entries) >= MaxHandoverEntries {
			return
		}
		h.Entries = append(h.Entries, HandoverEntry{Index: m.Index})
	}); err != nil {
		return fail(err)
	}
	if rep.Messages > MaxHandoverEntries {
		return fail(fmt.Errorf("%d messages: more than %d; hand over a shorter period (--since)", rep.Messages, MaxHandoverEntries))
	}
	// The keys, from the entries as logged (fetched and checked against
	// the accepted checkpoint).
	entries, err := d.loggedEntries(ctx, ch, h.Entries)
	if err != nil {
		return fail(err)
	}
	kept := h.Entries[:0]
	for _, e := range h.Entries {
		b, err := d.store.Get(ctx, disclosureKey(ch, entries[e.Index]))
		if err != nil {
			rep.NoKeys++
			rep.Messages--
			continue
		}
		e.Disclosure = b
		kept = append(kept, e)
	}
	h.Entries = kept
	if handoverTamper != nil {
		handoverTamper(h) // tests: a lying device
	}
	signed, err := EncodeHandover(h, d.key)
	if err != nil {
		return fail(err)
	}
	kp, err := d.claimKeyPackage(ctx, to, cs)
	if err != nil {
		return fail(fmt.Errorf("no key package of device %s to seal the hand-over to: %w", to, err))
	}
	if delegation.DeviceID(ed25519.PublicKey(kp.SignatureKey())) != to {
		return fail(fmt.Errorf("the venue served a key package of another device than %s", to))
	}
	ref, err := kp.Ref()
	if err != nil {
		return fail(err)
	}
	enc, ct, err := mls.SealToKeyPackage(kp, handoverLabel, []byte(d.venue.Name+"\n"+to), signed)
	if err != nil {
		return fail(err)
	}
	blob := sealHandover(ref, enc, ct)
	if err := d.api.sendMail(ctx, to, blob); err != nil {
		return fail(err)
	}
	rep.Bytes = len(blob)
	// The head's record of the policy it applied (the new desk keeps its
	// own, from the signed bundle).
	rec := HandoverRecord{Channel: ch, From: h.From, To: to, Person: head.Person, Policy: pol, Created: h.Created,
		Applied: time.Now().UTC(), Messages: len(h.Entries)}
	if rb, err := jsonMarshal(rec); err == nil {
		if err := d.store.Put(ctx, prefHandoverLog+ch+"/"+rec.Applied.Format("20060102T150405.000000000Z"), rb); err != nil {
			d.log.Warn("failed to record the hand-over", "channel", ch, "err", err)
		}
	}
	return rep, nil
}

// loggedEntries returns the logged entries at the indexes of es, each
// checked against this desk's accepted checkpoint of ch.
func (d *Desk) loggedEntries(ctx context.Context, ch string, es []HandoverEntry) (map[int64][]byte, error) {
	out := map[int64][]byte{}
	if len(es) == 0 {
		return out, nil
	}
	st, err := d.logState(ctx, d.store, ch)
	if err != nil {
		return nil, err
	}
	if st.Checkpoint == nil {
		return nil, fmt.Errorf("no verified checkpoint of %s", ch)
	}
	v, err := note.NewVerifier(d.venue.VerifierKey)
	if err != nil {
		return nil, err
	}
	cp, _, err := tlog.OpenCheckpoint(st.Checkpoint, d.origin(ch), v)
	if err != nil {
		return nil, err
	}
	cl := tlog.NewClient(d.origin(ch), v, d.api.fetcher(ch))
	for i := 0; i < len(es); {
		idx := es[i].Index
		if idx >= cp.Size {
			return nil, &errNotLogged{idx, cp.Size}
		}
		start := idx / tlog.TileWidth * tlog.TileWidth
		end := min(cp.Size, start+tlog.TileWidth)
		got, err := cl.Entries(ctx, cp, start, end)
		if err != nil {
			return nil, fmt.Errorf("entries %d to %d of %s: %w", start, end, ch, err)
		}
		for ; i < len(es) && es[i].Index < end; i++ {
			out[es[i].Index] = got[es[i].Index-start]
		}
	}
	return out, nil
}

type errNotLogged struct{ index, size int64 }

func (e *errNotLogged) Error() string {
	return fmt.Sprintf("entry %d is not in the log (verified size %d)", e.index, e.size)
}

const (
	prefHandoverIn  = "handover/in/"     // sealed hand-overs waiting to be applied, by mail ID
	prefHandoverLog = "handover/record/" // the hand-overs applied, by channel and time
	handoverAlarm   = "handover"         // the log name of hand-over alarms
)

// A HandoverRecord is a hand-over this desk made (To set) or applied: who
// handed over, under which policy, and how many messages it carried or
// opened.
type HandoverRecord struct {
	Channel  string         `json:"channel"`
	From     string         `json:"from"`         // the handing-over device
	To       string         `json:"to,omitempty"` // on the head's desk: the new device
	Person   string         `json:"person"`       // the head who handed over
	Policy   HandoverPolicy `json:"policy"`
	Created  time.Time      `json:"created"`
	Applied  time.Time      `json:"applied"`
	Messages int            `json:"messages"`
}

// Handovers returns the hand-overs applied to channel ch ("" for all).
func (d *Desk) Handovers(ctx context.Context, ch string) ([]HandoverRecord, error) {
	p := prefHandoverLog
	if ch != "" {
		p += ch + "/"
	}
	kvs, err := d.store.List(ctx, p, 0)
	if err != nil {
		return nil, err
	}
	var out []HandoverRecord
	for _, kv := range kvs {
		var r HandoverRecord
		if err := jsonUnmarshal(kv.Value, &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// A Range is a closed range of log indexes.
type Range struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
}

func (r Range) String() string {
	if r.From == r.To {
		return fmt.Sprint(r.From)
	}
	return fmt.Sprintf("%d-%d", r.From, r.To)
}

// noteUnreadBeforeJoin marks an application message sent before this desk
// joined, which no hand-over has opened.
const noteUnreadBeforeJoin = "a message sent before this desk joined: not handed over"

// Unreadable returns the ranges of the channel's application messages this
// desk cannot read: sent before it joined and not handed over.
func (d *Desk) Unreadable(ctx context.Context, ch string) ([]Range, error) {
	var out []Range
	_, err := d.forHistory(ctx, ch, 0, func(m Message) {
		if m.Kind != "skipped" || m.Note != noteUnreadBeforeJoin {
			return
		}
		if n := len(out); n > 0 && out[n-1].To == m.Index-1 {
			out[n-1].To = m.Index
			return
		}
		out = append(out, Range{m.Index, m.Index})
	})
	return out, err
}

// keepHandoverMail keeps a sealed hand-over from the mailbox until it is
// applied.
func (d *Desk) keepHandoverMail(ctx context.Context, id int64, data []byte) error {
	return d.store.Put(ctx, fmt.Sprintf("%s%016d", prefHandoverIn, id), data)
}

// applyHandovers applies the hand-overs waiting in the store. A hand-over
// that cannot be opened or authenticated is dropped (anyone may post to a
// mailbox); one that is authentic but lies raises an alarm and nothing of
// it is used; one for a channel this desk has not processed far enough
// waits for the next sync.
func (d *Desk) applyHandovers(ctx context.Context) error {
	kvs, err := d.store.List(ctx, prefHandoverIn, 0)
	if err != nil {
		return err
	}
	var errs []error
	for _, kv := range kvs {
		err := d.applyHandover(ctx, kv.Value)
		if errors.Is(err, errHandoverWait) {
			continue
		}
		var a *Alarm
		if err != nil && !errors.As(err, &a) {
			d.log.Warn("dropped a hand-over", "err", err)
		}
		if err != nil {
			errs = append(errs, err)
		}
		if derr := d.store.Update(ctx, func(tx *Tx) error { return tx.Delete(ctx, kv.Key) }); derr != nil {
			return derr
		}
	}
	for _, e := range errs {
		var a *Alarm
		if errors.As(e, &a) {
			return a
		}
	}
	return nil
}

var errHandoverWait = errors.New("hand-over waits for the channel")

func (d *Desk) applyHandover(ctx context.Context, blob []byte) error {
	ref, enc, ct, err := openHandoverEnvelope(blob)
	if err != nil {
		return err
	}
	kpKey := prefKP + hex.EncodeToString(ref)
	priv, err := d.store.Get(ctx, kpKey)
	if err != nil {
		return errors.New("hand-over sealed to a key package this desk does not hold")
	}
	signed, err := mls.OpenWithKeyPackage(priv, handoverLabel, []byte(d.venue.Name+"\n"+d.DeviceID()), enc, ct)
	if err != nil {
		return errors.New("hand-over does not decrypt")
	}
	h, body, sig, err := ParseHandover(signed)
	if err != nil {
		return err
	}
	// The sender: the head of this delegation, certified by its root.
	cert, err := d.checkDevice(ctx, []byte(h.Certificate), time.Now())
	if err != nil || cert.Delegation != d.profile.Delegation || cert.Role != scheduleapi.HeadRole ||
		delegation.DeviceID(cert.Device) != h.From || !ed25519.Verify(cert.Device, handoverSigned(body), sig) {
		return errors.New("hand-over not signed by the head of this delegation")
	}
	if h.To != d.DeviceID() || h.Venue != d.venue.Name {
		return errors.New("hand-over for another device or venue")
	}
	ch := h.Channel
	lie := func(idx int64, detail string) error {
		a := d.raise(ctx, &Alarm{Log: handoverAlarm, Kind: AlarmHandover, Index: idx,
			Detail: fmt.Sprintf("the hand-over of %s from %s (%s) %s; nothing of it was used", ch, cert.Person, h.From, detail)}, nil, nil,
			map[string][]byte{"handover": signed})
		return a
	}
	st, err := d.logState(ctx, d.store, ch)
	if err != nil {
		return err
	}
	if g, err := d.loadGroup(ctx, d.store, ch); err != nil || g == nil {
		// Not in the channel yet, unless it never will be: its talks
		// continue in another since a recovery (processChannelEntry).
		if to, err := d.ContinuedIn(ctx, ch); err != nil || to == "" {
			return errHandoverWait
		}
	}
	if n := len(h.Entries); n > 0 && h.Entries[n-1].Index >= st.Size {
		// The log may have grown since this sync fetched its checkpoint.
		if err := d.syncLogLocked(ctx, ch); err != nil {
			return errHandoverWait
		}
		if st, err = d.logState(ctx, d.store, ch); err != nil {
			return err
		}
	}
	for _, e := range h.Entries {
		if e.Index >= st.Size {
			return lie(e.Index, fmt.Sprintf("claims entry %d, which is not in the log (verified size %d)", e.Index, st.Size))
		}
	}
	if n := len(h.Entries); n > 0 && h.Entries[n-1].Index >= st.Next {
		return errHandoverWait // not processed that far yet
	}
	logged, err := d.loggedEntries(ctx, ch, h.Entries)
	if err != nil {
		var nl *errNotLogged
		if errors.As(err, &nl) {
			return lie(nl.index, err.Error())
		}
		return errHandoverWait
	}
	parties, err := d.partiesIn(ctx, d.store)
	if err != nil {
		return err
	}
	var devCerts map[string]string // device ID -> certificate, from the venue
	certOf := func(dev string) string {
		if devCerts == nil {
			devCerts = map[string]string{}
			for del := range parties {
				devs, err := d.api.devices(ctx, del)
				if err != nil {
					continue
				}
				for _, dv := range devs {
					devCerts[dv.ID] = dv.Certificate
				}
			}
		}
		return devCerts[dev]
	}
	var opened []Message
	for _, e := range h.Entries {
		disc, err := mls.ParseDisclosure(e.Disclosure)
		if err != nil {
			return lie(e.Index, fmt.Sprintf("carries a malformed key for entry %d", e.Index))
		}
		dm, err := mls.OpenDisclosed(logged[e.Index], disc)
		if err != nil {
			return lie(e.Index, fmt.Sprintf("carries keys that do not open logged entry %d", e.Index))
		}
		if gch, _, ok := d.parseGroupID(dm.GroupID); !ok || gch != ch {
			return lie(e.Index, fmt.Sprintf("opens entry %d as a message of another group", e.Index))
		}
		dev := delegation.DeviceID(ed25519.PublicKey(dm.SignatureKey))
		// The sender, from its certificate on the venue.
		c := certOf(dev)
		if _, err := d.verifyCredential(parties, nil, nil, mls.BasicCredential([]byte(c)), dm.SignatureKey); c == "" || err != nil {
			d.log.Warn("a handed-over message's sender has no verifiable certificate; left unread", "channel", ch, "index", e.Index)
			continue
		}
		opened = append(opened, Message{Channel: ch, Index: e.Index, Epoch: dm.Epoch, Kind: "application", Data: dm.Data,
			Sender:     memberOf(mls.Member{Index: dm.Sender, Credential: mls.BasicCredential([]byte(c))}),
			HandedOver: cert.Person + " (" + h.From + ")"})
	}
	applied := 0
	err = d.store.Update(ctx, func(tx *Tx) error {
		for _, m := range opened {
			b, err := tx.Get(ctx, histKey(ch, m.Index))
			if err != nil {
				continue
			}
			var cur Message
			if err := jsonUnmarshal(b, &cur); err != nil {
				return err
			}
			if cur.Kind != "skipped" || cur.Note != noteUnreadBeforeJoin {
				continue // read already
			}
			if err := recoveryReceived(ctx, tx, &m); err != nil { // verified after the hand-overs (sync.go)
				return err
			}
			if err := putMessage(ctx, tx, m); err != nil {
				return err
			}
			if err := tx.Put(ctx, disclosureKey(ch, logged[m.Index]), entryDisclosure(h, m.Index)); err != nil {
				return err
			}
			applied++
		}
		rec := HandoverRecord{Channel: ch, From: h.From, Person: cert.Person, Policy: h.Policy, Created: h.Created,
			Applied: time.Now().UTC(), Messages: applied}
		rb, err := jsonMarshal(rec)
		if err != nil {
			return err
		}
		if err := tx.Put(ctx, prefHandoverLog+ch+"/"+rec.Applied.Format("20060102T150405.000000000Z"), rb); err != nil {
			return err
		}
		// The key package served once; the last-resort one stays.
		if lr, _ := tx.Get(ctx, keyLastResort); string(lr) != hex.EncodeToString(ref) {
			return tx.Delete(ctx, kpKey)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// The talks of ch change, and so do those of the channels that
	// continue them after a recovery (recover.go).
	affected, err := d.continuing(ctx, ch)
	if err != nil {
		return err
	}
	for _, c := range append(affected, ch) {
		if err := d.RebuildTalks(ctx, c); err != nil {
			return err
		}
	}
	d.log.Info("applied a hand-over", "channel", ch, "from", h.From, "policy", h.Policy.String(), "messages", applied)
	return nil
}

func entryDisclosure(h *Handover, idx int64) []byte {
	i, ok := slices.BinarySearchFunc(h.Entries, idx, func(e HandoverEntry, t int64) int {
		switch {
		case e.Index < t:
			return -1
		case e.Index > t:
			return 1
		}
		return 0
	})
	if !ok {
		return nil
	}
	return h.Entries[i].Disclosure
}
