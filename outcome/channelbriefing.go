package outcome

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/good-offices/goodoffices/mls"
	"github.com/good-offices/goodoffices/negotiation"
)

// # Channel briefings
//
// A ChannelBriefing shows a third party chosen messages of a closed
// channel, say one paragraph's history and the statements around it, and
// nothing else. For each message it carries the log entry (the MLS
// PrivateMessage as the venue logged it), its RFC 6962 inclusion proof in
// the channel's checkpoint (signed by the venue, cosigned by the parties'
// desks), and an mls.Disclosure: the per-message sender-data and content
// keys that open exactly that ciphertext (RFC 9420 §6.3.2, §9.1), the
// epoch's GroupContext and the sender's signature key. The device
// certificates tie each signature key to a person of a delegation, under
// the delegation's root key, which the verifier pins.
//
// Verification decrypts every message, checks the sender's signature over
// FramedContentTBS (§6.1), that the message belongs to this channel's group
// (the group ID the desks derive from the venue and channel names), and
// each entry's inclusion in the checkpoint.

// ChannelBriefingFormat is the format of channel briefings.
const ChannelBriefingFormat = "goodoffices-channel-briefing-v1"

// MaxBriefedMessages bounds the messages of one channel briefing.
const MaxBriefedMessages = 1024

// A ChannelBriefing discloses chosen messages of a channel.
type ChannelBriefing struct {
	Format       string           `json:"format"`
	Channel      string           `json:"channel"`
	Parties      []Party          `json:"parties"` // delegations of the certificates, sorted by ID
	VenueKey     string           `json:"venue_key"`
	Checkpoint   string           `json:"checkpoint"`
	Certificates []string         `json:"certificates"` // sorted
	Messages     []BriefedMessage `json:"messages"`     // sorted by index
}

// A BriefedMessage is one disclosed message of a channel.
type BriefedMessage struct {
	Index      int64    `json:"index"`
	Device     string   `json:"device"`     // sender's device ID
	Data       []byte   `json:"data"`       // the log entry
	Proof      [][]byte `json:"proof"`      // inclusion proof in the checkpoint
	Disclosure []byte   `json:"disclosure"` // mls.Disclosure, encoded
}

// ChannelGroupID is the MLS group ID of a channel, as desks derive it.
func ChannelGroupID(venueName, channel string) []byte {
	return []byte("goodoffices channel v1\n" + venueName + "\n" + channel)
}

// Marshal returns the canonical encoding of cb.
func (cb *ChannelBriefing) Marshal() []byte { return canonical(cb) }

// ParseChannelBriefing reads a channel briefing in canonical form. It does
// not verify it.
func ParseChannelBriefing(data []byte) (*ChannelBriefing, error) {
	var cb ChannelBriefing
	if err := strictDecode(data, &cb); err != nil {
		return nil, fmt.Errorf("failed to parse channel briefing: %w", err)
	}
	if cb.Format != ChannelBriefingFormat {
		return nil, errors.New("failed to parse channel briefing: unknown format")
	}
	return &cb, nil
}

// A DisclosedMessage is a message a channel briefing proves.
type DisclosedMessage struct {
	Index  int64  `json:"index"`
	Epoch  uint64 `json:"epoch"`
	Party  string `json:"party"`
	Person string `json:"person"`
	Device string `json:"device"`
	Data   string `json:"data"` // the message as sent (a negotiation event, JSON)
}

// Verify checks cb completely and returns what it proves.
func (cb *ChannelBriefing) Verify(o Options) (*Report, error) {
	fail := func(err error) (*Report, error) {
		return nil, fmt.Errorf("invalid channel briefing: %w", err)
	}
	if cb.Format != ChannelBriefingFormat {
		return fail(errors.New("unknown format"))
	}
	if len(cb.Parties) == 0 || len(cb.Parties) > MaxParties {
		return fail(errors.New("bad number of parties"))
	}
	for i, p := range cb.Parties {
		if err := checkText("party", p.ID, 64); err != nil {
			return fail(err)
		}
		if p.Name != p.ID || i > 0 && p.ID <= cb.Parties[i-1].ID {
			return fail(errors.New("parties not sorted, repeated or misnamed"))
		}
	}
	lc, err := verifyLog(cb.Channel, cb.VenueKey, cb.Checkpoint, cb.Certificates, cb.Parties, o)
	if err != nil {
		return fail(err)
	}
	signers, err := checkPins(cb.Parties, o)
	if err != nil {
		return fail(err)
	}
	if len(cb.Messages) == 0 || len(cb.Messages) > MaxBriefedMessages {
		return fail(errors.New("bad number of messages"))
	}
	gid := ChannelGroupID(lc.report.Venue, cb.Channel)
	r := &Report{Kind: "channel-briefing", Talks: cb.Channel, Signers: signers, Evidence: lc.report}
	for i, m := range cb.Messages {
		if i > 0 && m.Index <= cb.Messages[i-1].Index {
			return fail(errors.New("messages not sorted or repeated"))
		}
		cert, ok := lc.devices[m.Device]
		if !ok {
			return fail(fmt.Errorf("entry %d: no certificate of its sender", m.Index))
		}
		if err := lc.checkInclusion(m.Index, m.Data, m.Proof); err != nil {
			return fail(err)
		}
		d, err := mls.ParseDisclosure(m.Disclosure)
		if err != nil {
			return fail(fmt.Errorf("entry %d: bad disclosure", m.Index))
		}
		dm, err := mls.OpenDisclosed(m.Data, d)
		if err != nil {
			return fail(fmt.Errorf("entry %d does not open with its disclosure, or its signature does not verify", m.Index))
		}
		if !bytes.Equal(dm.GroupID, gid) {
			return fail(fmt.Errorf("entry %d is of another group", m.Index))
		}
		if !bytes.Equal(dm.SignatureKey, cert.Device) {
			return fail(fmt.Errorf("entry %d is not signed by the device of its certificate", m.Index))
		}
		r.Messages = append(r.Messages, DisclosedMessage{Index: m.Index, Epoch: dm.Epoch, Party: cert.Delegation, Person: cert.Person,
			Device: m.Device, Data: string(dm.Data)})
	}
	return r, nil
}

// summary renders a disclosed negotiation event in one line, in words
// (negotiation.Describe): a statement as its quoted body, any other event
// as what it asks for, never as raw JSON.
func summary(data string) string {
	var p struct {
		Type string `json:"type"`
		Body string `json:"body"`
	}
	if json.Unmarshal([]byte(data), &p) != nil || p.Type == "" {
		return fmt.Sprintf("%q", data)
	}
	if p.Type == negotiation.TypeStatement {
		return fmt.Sprintf("statement: %q", p.Body)
	}
	return negotiation.Describe([]byte(data))
}

func (r *Report) writeChannelBriefing(b *strings.Builder) {
	e := r.Evidence
	fmt.Fprintf(b, "VALID channel briefing: %d messages of channel %q at venue %s.\n", len(r.Messages), e.Channel, e.Venue)
	b.WriteString("Each was decrypted with keys that open that message alone, is signed by the device named, and is in the channel's log at the index shown:\n")
	for _, m := range r.Messages {
		fmt.Fprintf(b, "  entry %d (epoch %d), %s of %s: %s\n", m.Index, m.Epoch, m.Person, m.Party, summary(m.Data))
	}
	pin := "venue key PINNED by you"
	if !e.VenuePinned {
		pin = "venue key NOT pinned (use --venue-key)"
	}
	fmt.Fprintf(b, "The log's checkpoint of size %d is signed by the venue (%s)", e.CheckpointSize, pin)
	if len(e.CosignedBy) > 0 {
		fmt.Fprintf(b, " and cosigned by the desks of %s, who saw this same log", strings.Join(e.CosignedBy, ", "))
	}
	b.WriteString(".\nThe briefing shows nothing else of the channel: other entries are not in it, and its keys open no other message.\nThe senders' devices are certified by these root keys:\n")
}
