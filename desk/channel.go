package desk

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/mls"
	"github.com/good-offices/goodoffices/tlog"
	"github.com/good-offices/goodoffices/venue/client"
)

// Store keys of the MLS layer.
const (
	keyKPCount    = "mls/kp-count"      // one-time key packages in stock on the venue, as last seen
	prefKP        = "mls/kp/"           // private parts of our key packages, by hex KeyPackageRef
	prefGroup     = "mls/group/"        // serialized group state per channel
	prefJoin      = "mls/join/"         // epoch at which we joined a channel's group
	prefSent      = "mls/sent/"         // our own application messages, by channel and entry hash
	prefOutbox    = "mls/outbox/"       // Welcomes to deliver after our commit was accepted
	prefCreate    = "mls/creating/"     // the commit by which this desk starts a channel's group, until the log decides
	prefCommitAck = "mls/commit-ack/"   // the index at which the venue acknowledged this desk's pending commit
	keyMailCur    = "mls/mail-cursor"   // last mailbox ID handled
	keyIdent      = "mls/identity-cert" // the certificate the MLS identity carries
)

// Key package stock on the venue (RFC 9420 §10, §16.8).
const (
	kpLowWater       = 5
	kpBatch          = 10
	maxCommitRetries = 8
)

func jsonMarshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("failed to encode: %w", err)
	}
	return b, nil
}

func jsonUnmarshal(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("failed to decode: %w", err)
	}
	return nil
}

// groupID is the MLS group ID of a channel at a venue: it binds the group to
// the venue and the channel, so a Welcome names the channel it is for.
func groupID(venueName, channel string) []byte {
	return []byte("goodoffices channel v1\n" + venueName + "\n" + channel)
}

// groupIDGen is the group ID of a channel's group after gen upgrades
// (upgrade.go): the first group's ID, then "\n" and gen.
func groupIDGen(venueName, channel string, gen int) []byte {
	if gen == 0 {
		return groupID(venueName, channel)
	}
	return fmt.Appendf(groupID(venueName, channel), "\n%d", gen)
}

// parseGroupID returns the channel and generation a group ID of this venue
// names.
func (d *Desk) parseGroupID(gid []byte) (ch string, gen int, ok bool) {
	rest, ok := bytes.CutPrefix(gid, []byte("goodoffices channel v1\n"+d.venue.Name+"\n"))
	if !ok {
		return "", 0, false
	}
	name, g, hasGen := strings.Cut(string(rest), "\n")
	if !delegation.ValidName(name) {
		return "", 0, false
	}
	if hasGen {
		n, err := strconv.Atoi(g)
		if err != nil || n < 1 || strconv.Itoa(n) != g {
			return "", 0, false
		}
		gen = n
	}
	return name, gen, true
}

func (d *Desk) channelOfGroup(gid []byte) (string, bool) {
	ch, _, ok := d.parseGroupID(gid)
	return ch, ok
}

// A MemberInfo is who a leaf of a channel's group is, from its certificate
// (which the group's credential check verified when the leaf was accepted).
type MemberInfo struct {
	Leaf       uint32 `json:"leaf"`
	Delegation string `json:"delegation"`
	Person     string `json:"person"`
	Role       string `json:"role"`
	Level      string `json:"level"`
	Device     string `json:"device"`
	// Interpreter is set (by Members) on an interpreter's device that is
	// in the group by the parties' consent: certified as an interpreter by
	// a delegation that is not a member of the channel. An interpreter of
	// a member delegation is that delegation's device like any other.
	Interpreter bool `json:"interpreter,omitempty"`
}

// validator returns the credential check of a channel's group (RFC 9420
// §5.3.1): a basic credential holding a device certificate that verifies
// under the root key of a delegation that is in the verified register, that
// this delegate confirmed out of band, and that is a member of the channel;
// and the leaf's signature key must be the certified device key.
func (d *Desk) validator(parties map[string]Party, members, interpreters []string) mls.CredentialValidator {
	return func(c mls.Credential, sigKey []byte) error {
		_, err := d.verifyCredential(parties, members, interpreters, c, sigKey)
		return err
	}
}

// errRejectedMember marks a credential refused by the desk's policy.
var errRejectedMember = errors.New("member not certified by a confirmed delegation of this channel")

// verifyCredential checks a member's credential: a device certificate of an
// accredited delegation whose root this desk confirmed, of a member
// delegation of the channel (members; nil for any), or of an interpreter's
// device the venue lets use the channel (interpreters) — whether every
// party consented to that interpreter is checked against the talks
// (interpreterCheck), since the consents are messages of the channel.
func (d *Desk) verifyCredential(parties map[string]Party, members, interpreters []string, c mls.Credential, sigKey []byte) (*delegation.Certificate, error) {
	if c.Type != mls.CredentialBasic {
		return nil, fmt.Errorf("%w: not a basic credential", errRejectedMember)
	}
	peek, err := delegation.PeekCertificate(c.Identity)
	if err != nil {
		return nil, fmt.Errorf("%w: no device certificate", errRejectedMember)
	}
	p, ok := parties[peek.Delegation]
	if !ok {
		return nil, fmt.Errorf("%w: delegation %q is not accredited", errRejectedMember, peek.Delegation)
	}
	if p.Confirmed.IsZero() {
		return nil, fmt.Errorf("%w: delegation %q: %w", errRejectedMember, p.Name, ErrNotConfirmed)
	}
	interpreter := peek.Role == delegation.RoleInterpreter && slices.Contains(interpreters, peek.DeviceID())
	if members != nil && !slices.Contains(members, p.Name) && !interpreter {
		return nil, fmt.Errorf("%w: delegation %q is not a member of the channel", errRejectedMember, p.Name)
	}
	cert, err := delegation.VerifyCertificate(c.Identity, p.RootKey, time.Now())
	if err != nil {
		return nil, fmt.Errorf("%w: certificate of %q does not verify under its root", errRejectedMember, p.Name)
	}
	if !bytes.Equal(cert.Device, sigKey) {
		return nil, fmt.Errorf("%w: signature key is not the certified device key", errRejectedMember)
	}
	return cert, nil
}

func memberOf(m mls.Member) MemberInfo {
	mi := MemberInfo{Leaf: m.Index}
	if c, err := delegation.PeekCertificate(m.Credential.Identity); err == nil {
		mi.Delegation, mi.Person, mi.Role, mi.Level, mi.Device = c.Delegation, c.Person, c.Role, c.Level, c.DeviceID()
	}
	return mi
}

type getter interface {
	Get(context.Context, string) ([]byte, error)
	List(context.Context, string, int) ([]KV, error)
}

func (d *Desk) partiesIn(ctx context.Context, q getter) (map[string]Party, error) {
	kvs, err := q.List(ctx, prefParty, 0)
	if err != nil {
		return nil, err
	}
	out := map[string]Party{}
	for _, kv := range kvs {
		var p Party
		if err := json.Unmarshal(kv.Value, &p); err != nil {
			return nil, fmt.Errorf("failed to load party: %w", err)
		}
		out[p.Name] = p
	}
	return out, nil
}

func (d *Desk) channelMeta(ctx context.Context, q getter, ch string) (client.Channel, error) {
	b, err := q.Get(ctx, prefChan+ch)
	if err != nil {
		return client.Channel{}, fmt.Errorf("unknown channel %s: %w", ch, err)
	}
	var c client.Channel
	return c, jsonUnmarshal(b, &c)
}

// minPaddingBucket is the smallest size of the desk's messages: a whole
// message of 1 KiB holds a one-word position and a paragraph of some 700
// characters alike, with the desk's envelope and MLS's framing.
const minPaddingBucket = 1 << 10

// paddingBuckets are the sizes this desk pads its PrivateMessages to (RFC
// 9420 §6.3.1 padding, mls.Config.PaddingBuckets): 1 KiB to 32 KiB in
// powers of two, then the largest entry a channel's log takes
// (tlog.MaxEntrySize), so that a message that fits a log unpadded fits it
// padded.
func paddingBuckets() []int {
	b := slices.DeleteFunc(mls.StandardPaddingBuckets(), func(n int) bool { return n < minPaddingBucket || n >= tlog.MaxEntrySize })
	return append(b, tlog.MaxEntrySize)
}

// groupConfig is the MLS policy of the channel ch: credentials certified
// by the parties of its members, handshakes in the clear for the venue's
// checks, and application messages padded to size buckets so that their
// sizes say little to the venue (docs/metadata.md).
func (d *Desk) groupConfig(ctx context.Context, q getter, ch string) (*mls.Config, error) {
	parties, err := d.partiesIn(ctx, q)
	if err != nil {
		return nil, err
	}
	meta, err := d.channelMeta(ctx, q, ch)
	if err != nil {
		return nil, err
	}
	return &mls.Config{ValidateCredential: d.validator(parties, meta.Members, meta.Interpreters), PublicHandshake: true, PaddingBuckets: paddingBuckets()}, nil
}

// loadGroup returns the channel's group, or nil if this desk has none.
func (d *Desk) loadGroup(ctx context.Context, q getter, ch string) (*mls.Group, error) {
	if t, ok := q.(*Tx); ok {
		// Saved or loaded earlier in this transaction (a batch of entries):
		// the transaction holds exactly that state (Put and Delete of the
		// key forget it).
		if cg, ok := t.groups[ch]; ok {
			if !t.dirty[ch] {
				delete(t.groups, ch)
			}
			return cg.g, nil
		}
	}
	b, err := q.Get(ctx, prefGroup+ch)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if g := d.groups.take(ch, b); g != nil {
		return g, nil
	}
	cfg, err := d.groupConfig(ctx, q, ch)
	if err != nil {
		return nil, err
	}
	g, err := mls.UnmarshalGroup(b, cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to load the group state of %s: %w", ch, err)
	}
	return g, nil
}

func saveGroup(ctx context.Context, tx *Tx, ch string, g *mls.Group) error {
	if tx.deferGroups {
		// A batch of entries: the state is written once, before the
		// transaction commits (flushGroups), not after every entry.
		tx.keepGroup(ch, g, nil)
		if tx.dirty == nil {
			tx.dirty = map[string]bool{}
		}
		tx.dirty[ch] = true
		return nil
	}
	b, err := g.MarshalBinary()
	if err != nil {
		return fmt.Errorf("failed to save the group state of %s: %w", ch, err)
	}
	if err := tx.Put(ctx, prefGroup+ch, b); err != nil {
		return err
	}
	if d := tx.s.desk; d != nil {
		tx.OnCommit(func() { d.groups.put(ch, g, b) })
	}
	tx.keepGroup(ch, g, b)
	return nil
}

// keepGroup lets a later loadGroup in the same transaction take g, whose
// state the transaction holds.
func (t *Tx) keepGroup(ch string, g *mls.Group, state []byte) {
	if t.groups == nil {
		t.groups = map[string]cachedGroup{}
	}
	t.groups[ch] = cachedGroup{g, state}
}

// forgetGroup drops the group kept for a key written in the transaction.
func (t *Tx) forgetGroup(key string) {
	if len(t.groups) > 0 && strings.HasPrefix(key, prefGroup) {
		ch := strings.TrimPrefix(key, prefGroup)
		delete(t.groups, ch)
		delete(t.dirty, ch)
	}
}

// flushGroups writes the group states saved in a batch (saveGroup with
// deferGroups), before the transaction commits.
func (t *Tx) flushGroups(ctx context.Context) error {
	chans := make([]string, 0, len(t.dirty))
	for ch := range t.dirty {
		chans = append(chans, ch)
	}
	slices.Sort(chans)
	t.deferGroups = false
	for _, ch := range chans {
		cg, ok := t.groups[ch]
		if !ok || !t.dirty[ch] {
			continue
		}
		delete(t.dirty, ch)
		if err := saveGroup(ctx, t, ch, cg.g); err != nil {
			return err
		}
	}
	return nil
}

// returnGroup puts back in the cache a group that was loaded in tx and not
// changed, once tx commits.
func (d *Desk) returnGroup(ctx context.Context, tx *Tx, ch string, g *mls.Group) {
	if tx.dirty[ch] {
		return // kept, and written before the transaction commits
	}
	if b, err := tx.Get(ctx, prefGroup+ch); err == nil {
		tx.OnCommit(func() { d.groups.put(ch, g, b) })
		tx.keepGroup(ch, g, b)
	}
}

// groupCache keeps the last saved group of each channel in memory, so that
// processing an entry does not decode and re-check the whole group state
// (RFC 9420 trees of many members). A cached group is handed out only while
// the store holds exactly the state it was saved as, and only once: the
// taker owns it, and it returns to the cache when saved again.
type groupCache struct {
	mu sync.Mutex
	m  map[string]cachedGroup
}

type cachedGroup struct {
	g     *mls.Group
	state []byte
}

func (c *groupCache) take(ch string, state []byte) *mls.Group {
	c.mu.Lock()
	defer c.mu.Unlock()
	cg, ok := c.m[ch]
	if !ok {
		return nil
	}
	delete(c.m, ch)
	if !bytes.Equal(cg.state, state) {
		return nil
	}
	return cg.g
}

func (c *groupCache) put(ch string, g *mls.Group, state []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]cachedGroup{}
	}
	c.m[ch] = cachedGroup{g, state}
}

// peekEpoch reads the group ID and epoch from the clear header of an
// MLSMessage carrying a PublicMessage or PrivateMessage (RFC 9420 §6:
// version, wire_format, group_id<V>, epoch), to place a message before it is
// processed. Nothing it returns is authenticated.
func peekEpoch(msg []byte) (gid []byte, epoch uint64, ok bool) {
	if len(msg) < 4 || binary.BigEndian.Uint16(msg) != 1 {
		return nil, 0, false
	}
	wf := binary.BigEndian.Uint16(msg[2:])
	if wf != 1 && wf != 2 { // mls_public_message, mls_private_message
		return nil, 0, false
	}
	b := msg[4:]
	n, l, ok := readVarint(b)
	if !ok || uint64(len(b)-l) < n+8 || n > 255 {
		return nil, 0, false
	}
	gid = b[l : l+int(n)]
	return gid, binary.BigEndian.Uint64(b[l+int(n):]), true
}

// readVarint reads an RFC 9420 §2.1.2 variable-length integer.
func readVarint(b []byte) (uint64, int, bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	l := 1 << (b[0] >> 6)
	if l == 8 || len(b) < l {
		return 0, 0, false
	}
	v := uint64(b[0] & 0x3f)
	for i := 1; i < l; i++ {
		v = v<<8 | uint64(b[i])
	}
	if l > 1 && v < 1<<(8*(l/2)-2) { // minimal encoding
		return 0, 0, false
	}
	return v, l, true
}

// A Message is one processed entry of a channel's log, as the desk keeps it.
type Message struct {
	Channel string     `json:"channel"`
	Index   int64      `json:"index"`
	Epoch   uint64     `json:"epoch"`
	Kind    string     `json:"kind"` // application, commit, proposal, skipped, rejected
	Sender  MemberInfo `json:"sender,omitzero"`
	Data    []byte     `json:"data,omitempty"` // plaintext of an application message
	Note    string     `json:"note,omitempty"` // what a commit did, why an entry was skipped
	// Added and Removed are the members a commit added and removed (a
	// proposal: the member it proposes to add), for words without
	// device IDs; Upgrade is set on the commit that closes the group for
	// an upgrade of its suite.
	Added   []MemberInfo `json:"added,omitempty"`
	Removed []MemberInfo `json:"removed,omitempty"`
	Upgrade bool         `json:"upgrade,omitempty"`
	Own     bool         `json:"own,omitempty"` // sent by this desk
	// HandedOver names who handed over the keys of a message sent before
	// this desk joined (handover.go): "person (device)".
	HandedOver string    `json:"handed_over,omitempty"`
	Received   time.Time `json:"received"`
}

func histKey(ch string, idx int64) string { return fmt.Sprintf("%s%s/%016d", prefHist, ch, idx) }

func putMessage(ctx context.Context, tx *Tx, m Message) error {
	m.Received = time.Now().UTC()
	b, err := jsonMarshal(m)
	if err != nil {
		return err
	}
	return tx.Put(ctx, histKey(m.Channel, m.Index), b)
}

// sentRecord is an application message of ours, kept until we see it in the
// log (MLS does not let a sender decrypt its own PrivateMessage), and then
// as a marker that a later copy of it is a duplicate.
type sentRecord struct {
	Epoch uint64 `json:"epoch"`
	Data  []byte `json:"data"`
	// Logged is 1 + the index at which the message was read back from the
	// log (then Data is dropped): a later copy is a duplicate (dupNote).
	Logged int64 `json:"logged,omitempty"`
}

// dupNote is the note of a byte-identical copy of an entry already read:
// the venue logged one message twice (a request it got twice, or a retry
// after a lost answer; see package venue, "Appends and durability"). The
// copy is skipped, so it cannot change the talks; a copy that the host
// shows one party only is a split view, which the cosignatures catch.
func dupNote(first int64) string {
	if first < 0 {
		return "a copy of a message already read: the venue logged it twice"
	}
	return fmt.Sprintf("a copy of entry %d: the venue logged the same message twice", first)
}

func sentKey(ch string, entry []byte) string {
	h := sha256.Sum256(entry)
	return prefSent + ch + "/" + hex.EncodeToString(h[:])
}

var errWaitingWelcome = errors.New("waiting for a Welcome into this channel's group")

// noteEndedEpoch marks a message of this desk's that the log holds after
// a commit it had not seen when it encrypted it: the other members cannot
// read it, so it does not count in the talks (Message.Event), on this desk
// either. (Send sends it again in the new epoch when it finds out at once;
// a desk shown a stale view finds out later.)
const noteEndedEpoch = "sent in an epoch that had ended: other members cannot read it"

// Said reports whether the message is words said in the channel, read or
// not: an application message, a recovery notice, or an application
// message sent before this desk joined. A channel where nothing was said
// is fresh (Recover).
func (m Message) Said() bool {
	return m.Kind == "application" || m.Kind == "recovery" || m.Note == noteUnreadBeforeJoin
}

// Event reports whether the message counts in the talks: an application
// message whose sender is verified, that every member can read.
func (m Message) Event() bool {
	return m.Kind == "application" && m.Sender.Delegation != "" && m.Note != noteEndedEpoch
}

// creationLost reports whether entry, met by a desk whose group of ch is
// at epoch 0, is another desk's start of the group: a commit for epoch 0
// other than the one this desk made to start it (kept under prefCreate
// until the log decides). If so, it drops this desk's group, which never
// started, and its Welcomes; if the entry is this desk's own, it forgets
// the commit kept (processing merges it).
func creationLost(ctx context.Context, tx *Tx, ch string, entry []byte, epoch uint64) (bool, error) {
	own, err := tx.Get(ctx, prefCreate+ch)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if bytes.Equal(entry, own) {
		return false, tx.Delete(ctx, prefCreate+ch)
	}
	if h, err := mls.ParseHeader(entry); err != nil || h.Kind != mls.KindCommit || epoch != 0 {
		return false, nil // not a start of the group
	}
	for _, k := range []string{prefGroup + ch, prefCreate + ch, prefCommitAck + ch, outboxKey(ch, 0)} {
		if err := tx.Delete(ctx, k); err != nil {
			return false, err
		}
	}
	return true, nil
}

// beforeJoinNote is the note of an entry sent before this desk joined the
// channel's group: an application message a hand-over may open
// (handover.go), or another MLS message.
func beforeJoinNote(entry []byte) string {
	if h, err := mls.ParseHeader(entry); err == nil && h.WireFormat == mls.WireFormatPrivateMessage && h.Kind == mls.KindApplication {
		return noteUnreadBeforeJoin
	}
	return "sent before this desk joined"
}

// channelProcessor returns the processor of one channel's log.
func (d *Desk) channelProcessor(ch string) processFunc {
	return func(ctx context.Context, tx *Tx, index int64, entry []byte) error {
		return d.processChannelEntry(ctx, tx, ch, index, entry)
	}
}

// processChannelEntry handles one verified entry of a channel's log: an MLS
// message (RFC 9420 §6) processed against the channel's group in log order.
func (d *Desk) processChannelEntry(ctx context.Context, tx *Tx, ch string, index int64, entry []byte) error {
	g, err := d.loadGroup(ctx, tx, ch)
	if err != nil {
		return err
	}
	gid, epoch, ok := peekEpoch(entry)
	var gch string
	var gen int
	if ok {
		gch, gen, ok = d.parseGroupID(gid)
	}
	if !ok || gch != ch {
		return putMessage(ctx, tx, Message{Channel: ch, Index: index, Kind: "rejected", Note: "not an MLS message of this channel's group"})
	}
	if g == nil {
		// Not (yet) a member: wait for a Welcome, which tells from which
		// epoch on this desk can read. None comes into a channel whose
		// talks continue in another since a recovery (no commit is made
		// there any more): what was said there can only be handed over.
		if to, err := continuedIn(ctx, tx, ch); err != nil {
			return err
		} else if to != "" {
			return putMessage(ctx, tx, Message{Channel: ch, Index: index, Epoch: epoch, Kind: "skipped", Note: beforeJoinNote(entry)})
		}
		return errWaitingWelcome
	}
	if g.Epoch() == 0 {
		if lost, err := creationLost(ctx, tx, ch, entry, epoch); err != nil {
			return err
		} else if lost {
			// Another desk's start of the group won epoch 0 (ours reached
			// the venue after it, or never): this desk's group never
			// started, and the other's Welcome brings it in.
			return putMessage(ctx, tx, Message{Channel: ch, Index: index, Epoch: epoch, Kind: "skipped", Note: "another desk started the channel's group first: its Welcome brings this desk in"})
		}
	}
	if !bytes.Equal(gid, g.GroupID()) {
		// A message of another generation of the channel's group: an
		// earlier one, sent before the upgrade this desk has processed, or
		// the successor this desk waits to be welcomed into (upgrade.go).
		_, cur, _ := d.parseGroupID(g.GroupID())
		next, _, _, closed := g.ReInitInfo()
		d.returnGroup(ctx, tx, ch, g)
		switch {
		case gen < cur:
			return putMessage(ctx, tx, Message{Channel: ch, Index: index, Epoch: epoch, Kind: "skipped", Note: "sent in the channel's group before its upgrade"})
		case closed && bytes.Equal(gid, next):
			return errWaitingWelcome
		}
		return putMessage(ctx, tx, Message{Channel: ch, Index: index, Epoch: epoch, Kind: "rejected", Note: "a message of a group of this channel that this desk does not know"})
	}
	if sb, err := tx.Get(ctx, sentKey(ch, entry)); err == nil {
		var s sentRecord
		if err := jsonUnmarshal(sb, &s); err != nil {
			return err
		}
		if s.Logged > 0 {
			d.returnGroup(ctx, tx, ch, g)
			return putMessage(ctx, tx, Message{Channel: ch, Index: index, Epoch: s.Epoch, Kind: "skipped", Own: true, Note: dupNote(s.Logged - 1)})
		}
		kept, _ := json.Marshal(sentRecord{Epoch: s.Epoch, Logged: index + 1})
		if err := tx.Put(ctx, sentKey(ch, entry), kept); err != nil {
			return err
		}
		m := Message{Channel: ch, Index: index, Epoch: s.Epoch, Kind: "application", Data: s.Data, Own: true,
			Sender: memberOf(mls.Member{Index: g.OwnIndex(), Credential: mls.BasicCredential(d.cert)})}
		if s.Epoch != g.Epoch() {
			m.Note = noteEndedEpoch
		} else if err := recoveryReceived(ctx, tx, &m); err != nil { // recover.go
			return err
		}
		d.returnGroup(ctx, tx, ch, g)
		return putMessage(ctx, tx, m)
	}
	joined := uint64(0)
	if jb, err := tx.Get(ctx, prefJoin+ch); err == nil {
		fmt.Sscan(string(jb), &joined)
	}
	if epoch < joined {
		d.returnGroup(ctx, tx, ch, g)
		return putMessage(ctx, tx, Message{Channel: ch, Index: index, Epoch: epoch, Kind: "skipped", Note: beforeJoinNote(entry)})
	}
	if !g.Active() {
		d.returnGroup(ctx, tx, ch, g)
		note := "this desk is no longer a member"
		if _, _, _, closed := g.ReInitInfo(); closed {
			note = "sent after the channel's group was closed for an upgrade"
		}
		return putMessage(ctx, tx, Message{Channel: ch, Index: index, Epoch: epoch, Kind: "skipped", Note: note})
	}
	disc := discloseReceived(g, entry) // before Process erases the key (briefing.go)
	rcv, err := g.Process(entry)
	discarded := false
	if errors.Is(err, mls.ErrPendingCommit) {
		// Another member's commit won the epoch over our pending one.
		g.DiscardCommit()
		discarded = true
		rcv, err = g.Process(entry)
	}
	if err != nil && !errors.Is(err, mls.ErrCredentialRejected) && !errors.Is(err, mls.ErrGenerationReused) {
		// The group is unchanged by a failed Process (package mls).
		if discarded {
			if err := saveGroup(ctx, tx, ch, g); err != nil {
				return err
			}
		} else {
			d.returnGroup(ctx, tx, ch, g)
		}
	}
	switch {
	case errors.Is(err, mls.ErrCredentialRejected):
		return &Alarm{Kind: AlarmMember, Detail: fmt.Sprintf("entry %d brings in a member this desk does not accept: %v", index, err)}
	case errors.Is(err, mls.ErrWrongEpoch) && epoch < g.Epoch():
		return putMessage(ctx, tx, Message{Channel: ch, Index: index, Epoch: epoch, Kind: "skipped", Note: "sent in an epoch that had already ended"})
	case errors.Is(err, mls.ErrGenerationReused):
		if _, derr := tx.Get(ctx, disclosureKey(ch, entry)); derr == nil {
			// The very bytes of a message this desk read before.
			d.returnGroup(ctx, tx, ch, g)
			return putMessage(ctx, tx, Message{Channel: ch, Index: index, Epoch: epoch, Kind: "skipped", Note: dupNote(-1)})
		}
		// Another message under a used key generation: a replay.
		return &Alarm{Kind: AlarmReplay, Detail: fmt.Sprintf("entry %d replays a message whose key generation was already used (RFC 9420 §9.2)", index)}
	case err != nil:
		d.log.Warn("rejected a channel entry", "channel", ch, "index", index, "err", err)
		return putMessage(ctx, tx, Message{Channel: ch, Index: index, Epoch: epoch, Kind: "rejected", Note: err.Error()})
	}
	m := Message{Channel: ch, Index: index, Epoch: rcv.Epoch}
	refused := ""
	if rcv.Sender.Type == mls.SenderMember {
		m.Sender = memberOf(mls.Member{Index: rcv.Sender.Index, Credential: rcv.Sender.Credential})
		m.Own = bytes.Equal(rcv.Sender.SignatureKey, d.key.Public().(ed25519.PublicKey))
		if why, ok := revokedSender(ctx, tx, ch, index, delegation.DeviceID(ed25519.PublicKey(rcv.Sender.SignatureKey))); ok {
			// The venue let a revoked device append: its entry is refused
			// (an application message is not shown). A commit or proposal
			// has been applied to the group all the same, so that the
			// desks stay in one group, and the removal of the device
			// (removeRevoked) follows.
			if rcv.Kind == mls.KindApplication {
				if err := saveGroup(ctx, tx, ch, g); err != nil {
					return err
				}
				return putMessage(ctx, tx, Message{Channel: ch, Index: index, Epoch: rcv.Epoch, Kind: "rejected", Sender: m.Sender, Note: why})
			}
			refused = why
		}
	}
	switch rcv.Kind {
	case mls.KindApplication:
		m.Kind, m.Data = "application", rcv.Data
		if err := putDisclosure(ctx, tx, ch, entry, disc); err != nil {
			return err
		}
		if err := recoveryReceived(ctx, tx, &m); err != nil { // recover.go
			return err
		}
	case mls.KindProposal:
		m.Kind, m.Note = "proposal", describeProposal(rcv.Proposal)
		if p := rcv.Proposal; p != nil && p.Type == mls.ProposalAdd && p.KeyPackage != nil {
			m.Added = []MemberInfo{memberOf(mls.Member{Credential: p.KeyPackage.Credential()})}
		}
		if rcv.Proposal != nil && rcv.Proposal.Type == mls.ProposalRemove {
			old, _ := tx.Get(ctx, prefProposal+ch)
			if err := tx.Put(ctx, prefProposal+ch, fmt.Appendf(old, " %d", rcv.Proposal.Removed)); err != nil {
				return err
			}
		}
	case mls.KindCommit:
		m.Kind, m.Note = "commit", describeCommit(rcv.Commit)
		if c := rcv.Commit; c != nil {
			for _, a := range c.Added {
				m.Added = append(m.Added, memberOf(a))
			}
			for _, r := range c.Removed {
				m.Removed = append(m.Removed, memberOf(r))
			}
		}
		if _, cs, _, closed := g.ReInitInfo(); closed && rcv.Commit != nil {
			m.Upgrade = true
			m.Note = fmt.Sprintf("epoch %d: the group is closed for an upgrade to %s (0x%04x); its successor continues the channel", rcv.Commit.NewEpoch, cs, uint16(cs))
			if m.Own {
				// Our ReInit won the epoch: this desk makes the successor
				// (Upgrade, upgrade.go), even after a restart.
				if err := tx.Put(ctx, prefUpgrading+ch, []byte("1")); err != nil {
					return err
				}
			}
		}
		if err := tx.Delete(ctx, prefProposal+ch); err != nil {
			return err
		}
		if m.Own {
			if err := tx.Delete(ctx, prefCommitAck+ch); err != nil {
				return err
			}
			// Our commit was accepted: its Welcome may go out.
			if b, err := tx.Get(ctx, outboxKey(ch, rcv.Epoch)); err == nil {
				var w welcomeOut
				if err := jsonUnmarshal(b, &w); err != nil {
					return err
				}
				w.Accepted = true
				if b, err = jsonMarshal(w); err != nil {
					return err
				}
				if err := tx.Put(ctx, outboxKey(ch, rcv.Epoch), b); err != nil {
					return err
				}
			}
		}
		if rcv.Commit != nil {
			for _, r := range rcv.Commit.Removed {
				if err := tx.Put(ctx, prefRemoved+ch+"/"+delegation.DeviceID(ed25519.PublicKey(r.SignatureKey)), []byte("1")); err != nil {
					return err
				}
			}
		}
	}
	if err := saveGroup(ctx, tx, ch, g); err != nil {
		return err
	}
	if refused != "" {
		m.Note = refused + " (applied to the group: " + m.Note + ")"
	}
	return putMessage(ctx, tx, m)
}

func describeProposal(p *mls.Proposal) string {
	if p == nil {
		return ""
	}
	switch p.Type {
	case mls.ProposalAdd:
		if p.KeyPackage != nil {
			return "proposes to add " + describeCred(p.KeyPackage.Credential())
		}
	case mls.ProposalRemove:
		return fmt.Sprintf("proposes to remove leaf %d", p.Removed)
	}
	return "proposal: " + p.Type.String()
}

func describeCred(c mls.Credential) string {
	mi := memberOf(mls.Member{Credential: c})
	if mi.Device == "" {
		return "an unidentified device"
	}
	return fmt.Sprintf("%s (%s, %s)", mi.Person, mi.Delegation, mi.Device)
}

func describeCommit(c *mls.CommitInfo) string {
	if c == nil {
		return ""
	}
	var parts []string
	for _, m := range c.Added {
		parts = append(parts, "added "+describeCred(m.Credential))
	}
	for _, m := range c.Removed {
		parts = append(parts, "removed "+describeCred(m.Credential))
	}
	if len(parts) == 0 {
		parts = append(parts, "rotated keys")
	}
	return fmt.Sprintf("epoch %d: %s", c.NewEpoch, strings.Join(parts, "; "))
}
