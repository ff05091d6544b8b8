package outcome

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/mod/sumdb/note"
	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/mls"
	"github.com/good-offices/goodoffices/negotiation"
	"github.com/good-offices/goodoffices/tlog"
)

// Limits of the venue evidence of a bundle.
const (
	MaxEvidenceEntries      = 4 * MaxParties
	MaxEvidenceCertificates = 4 * MaxParties
)

// Kinds of evidence entries.
const (
	EntryAdopt = "adopt" // the adoption event of the text
	EntrySign  = "sign"  // a party's signature event
)

// Evidence is what the venue's transparency log says about an outcome: the
// channel's checkpoint, signed by the venue and cosigned by the parties'
// desks (C2SP tlog-checkpoint, tlog-cosignature), the log entries that carry
// the adoption and the signatures with their RFC 6962 inclusion proofs
// (§2.1.1) in that checkpoint, and the device certificates of the senders
// and cosigners, each signed by its delegation's root key.
//
// The entries are MLS ciphertexts (RFC 9420 §6.3): the evidence proves that
// the venue logged them, in this order, from these certified devices as
// senders (as the exporting desk read them after decrypting and verifying
// them), and that every cosigning party saw the same log; it does not
// disclose their plaintext.
type Evidence struct {
	Channel      string   `json:"channel"`
	VenueKey     string   `json:"venue_key"`    // the venue's signed-note verifier key
	Checkpoint   string   `json:"checkpoint"`   // signed note: venue's signature and cosignatures
	Certificates []string `json:"certificates"` // device certificates (signed notes), sorted
	Entries      []Entry  `json:"entries"`      // sorted by index
}

// An Entry is one log entry of the evidence.
type Entry struct {
	Index  int64    `json:"index"`
	Kind   string   `json:"kind"`   // EntryAdopt or EntrySign
	Device string   `json:"device"` // sender's device ID; its certificate is in the evidence
	Data   []byte   `json:"data"`   // the entry as logged (an MLS message)
	Proof  [][]byte `json:"proof"`  // inclusion proof in the checkpoint
	// Disclosure opens the entry (an mls.Disclosure, encoded; see
	// ChannelBriefing): with it the verifier decrypts the entry and checks
	// that it is the adoption of this digest, or this party's signature.
	Disclosure []byte `json:"disclosure,omitempty"`
}

// EvidenceReport says what the evidence of a bundle proves.
type EvidenceReport struct {
	Channel        string         `json:"channel"`
	Venue          string         `json:"venue"`
	VenuePinned    bool           `json:"venue_pinned"`
	CheckpointSize int64          `json:"checkpoint_size"`
	CosignedBy     []string       `json:"cosigned_by"` // parties whose desks cosigned the checkpoint
	Entries        []EntryReport  `json:"entries"`
	Devices        []DeviceReport `json:"devices"`
}

// An EntryReport is one verified entry.
type EntryReport struct {
	Index  int64  `json:"index"`
	Kind   string `json:"kind"`
	Party  string `json:"party"`
	Person string `json:"person"`
	Device string `json:"device"`
	// Opened: the entry was decrypted with its disclosure and is the
	// adoption of this text's digest, or this party's signature of it.
	Opened bool `json:"opened"`
}

// A DeviceReport is one verified device certificate.
type DeviceReport struct {
	Party  string `json:"party"`
	Person string `json:"person"`
	Role   string `json:"role"`
	Level  string `json:"level"`
	Device string `json:"device"`
}

// channelOrigin is the checkpoint origin of a channel's log, as the venue
// names it (venue/client.ChannelOrigin).
func channelOrigin(venue, channel string) string { return venue + "/channels/" + channel }

// logCheck is what verifyLog established.
type logCheck struct {
	cp      tlog.Checkpoint
	devices map[string]*delegation.Certificate // by device ID
	report  *EvidenceReport
}

// verifyLog checks the venue key (against the pin), the device
// certificates (each under its party's root key), and the checkpoint
// (signed by the venue; every other signature line a cosignature of a
// certified device) of channel's log.
func verifyLog(channel, venueKey, checkpoint string, certs []string, parties []Party, o Options) (*logCheck, error) {
	if err := checkText("channel", channel, 64); err != nil {
		return nil, err
	}
	vv, err := note.NewVerifier(venueKey)
	parts := strings.SplitN(venueKey, "+", 3)
	if err != nil || len(parts) != 3 || parts[1] != fmt.Sprintf("%08x", vv.KeyHash()) {
		return nil, errors.New("bad venue key") // the key hash in canonical lower-case hex only
	}
	pinned := false
	if o.VenueKey != "" {
		if strings.TrimSpace(o.VenueKey) != venueKey {
			return nil, errors.New("the venue key is not the pinned one")
		}
		pinned = true
	}
	r := &EvidenceReport{Channel: channel, Venue: vv.Name(), VenuePinned: pinned}
	rootOf := map[string]string{}
	for _, p := range parties {
		vk, err := note.NewEd25519VerifierKey(p.ID, ed25519.PublicKey(p.RootKey))
		if err != nil {
			return nil, fmt.Errorf("root key of %s is not usable", p.ID)
		}
		rootOf[p.ID] = vk
	}
	// Device certificates, each under its party's root key. Validity is
	// checked at the certificate's own start: the evidence is verified long
	// after the devices' certificates have expired.
	if len(certs) == 0 || len(certs) > MaxEvidenceCertificates {
		return nil, errors.New("bad number of certificates")
	}
	devices := map[string]*delegation.Certificate{}
	verifiers := []note.Verifier{vv}
	cosignerParty := map[string]string{}
	for i, c := range certs {
		if i > 0 && c <= certs[i-1] {
			return nil, errors.New("certificates not sorted or repeated")
		}
		peek, err := delegation.PeekCertificate([]byte(c))
		if err != nil || !canonicalSigs(c) {
			return nil, errors.New("a device certificate does not parse")
		}
		vk, ok := rootOf[peek.Delegation]
		if !ok {
			return nil, fmt.Errorf("a device certificate is from %q, not a party", peek.Delegation)
		}
		cert, err := delegation.VerifyCertificate([]byte(c), vk, peek.NotBefore)
		if err != nil {
			return nil, fmt.Errorf("a device certificate of %s does not verify under its root key", peek.Delegation)
		}
		id := delegation.DeviceID(cert.Device)
		devices[id] = cert
		name := cert.Delegation + "/" + id
		cvk, err := tlog.CosignatureVerifierKey(name, cert.Device)
		if err != nil {
			return nil, err
		}
		cv, err := tlog.NewCosignatureVerifier(cvk)
		if err != nil {
			return nil, err
		}
		verifiers = append(verifiers, cv)
		cosignerParty[name] = cert.Delegation
		r.Devices = append(r.Devices, DeviceReport{Party: cert.Delegation, Person: cert.Person, Role: cert.Role, Level: cert.Level, Device: id})
	}
	// The checkpoint: every signature line must verify (venue or a
	// certified device), so that no byte of it is unchecked.
	if len(checkpoint) > tlog.MaxCheckpointSize {
		return nil, errors.New("checkpoint too long")
	}
	if !canonicalSigs(checkpoint) {
		return nil, errors.New("the checkpoint's signatures are not in canonical base64")
	}
	n, err := note.Open([]byte(checkpoint), note.VerifierList(verifiers...))
	if err != nil || len(n.UnverifiedSigs) != 0 {
		return nil, errors.New("the checkpoint's signatures do not verify")
	}
	venueSigned := false
	for _, s := range n.Sigs {
		if s.Name == vv.Name() && s.Hash == vv.KeyHash() {
			venueSigned = true
		} else if p, ok := cosignerParty[s.Name]; ok && !slices.Contains(r.CosignedBy, p) {
			r.CosignedBy = append(r.CosignedBy, p)
		}
	}
	if !venueSigned {
		return nil, errors.New("the checkpoint is not signed by the venue")
	}
	slices.Sort(r.CosignedBy)
	cp, err := tlog.ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return nil, errors.New("bad checkpoint")
	}
	if cp.Origin != channelOrigin(vv.Name(), channel) {
		return nil, errors.New("the checkpoint is not of this channel's log")
	}
	r.CheckpointSize = cp.Size
	return &logCheck{cp: cp, devices: devices, report: r}, nil
}

// checkInclusion checks that data is entry index of the checkpoint.
func (lc *logCheck) checkInclusion(index int64, data []byte, proof [][]byte) error {
	if index < 0 || index >= lc.cp.Size || len(data) == 0 || len(data) > tlog.MaxEntrySize {
		return fmt.Errorf("entry %d is not in the checkpoint", index)
	}
	p, err := toProof(proof)
	if err != nil {
		return err
	}
	if err := xtlog.CheckRecord(p, lc.cp.Size, lc.cp.Hash, index, xtlog.RecordHash(data)); err != nil {
		return fmt.Errorf("entry %d is not in the checkpoint", index)
	}
	return nil
}

// verifyEvidence checks e against the bundle's parties and pins.
func verifyEvidence(b *Bundle, digest []byte, o Options) (*EvidenceReport, error) {
	e, parties := b.Evidence, b.Parties
	lc, err := verifyLog(e.Channel, e.VenueKey, e.Checkpoint, e.Certificates, parties, o)
	if err != nil {
		return nil, err
	}
	r, devices := lc.report, lc.devices
	// The entries.
	if len(e.Entries) == 0 || len(e.Entries) > MaxEvidenceEntries {
		return nil, errors.New("bad number of entries")
	}
	adopted := false
	signed := map[string]bool{}
	for i, x := range e.Entries {
		if i > 0 && x.Index <= e.Entries[i-1].Index {
			return nil, errors.New("entries not sorted or repeated")
		}
		cert, ok := devices[x.Device]
		if !ok {
			return nil, fmt.Errorf("entry %d: no certificate of its sender", x.Index)
		}
		if err := lc.checkInclusion(x.Index, x.Data, x.Proof); err != nil {
			return nil, err
		}
		switch x.Kind {
		case EntryAdopt:
			if adopted {
				return nil, errors.New("two adoption entries")
			}
			adopted = true
		case EntrySign:
			if signed[cert.Delegation] || i == 0 {
				return nil, fmt.Errorf("entry %d: a second signature of %s, or a signature before the adoption", x.Index, cert.Delegation)
			}
			signed[cert.Delegation] = true
		default:
			return nil, fmt.Errorf("entry %d: unknown kind", x.Index)
		}
		opened := false
		if x.Disclosure != nil {
			if err := openEntry(b, digest, lc, cert, x); err != nil {
				return nil, err
			}
			opened = true
		}
		r.Entries = append(r.Entries, EntryReport{Index: x.Index, Kind: x.Kind, Party: cert.Delegation, Person: cert.Person, Device: x.Device, Opened: opened})
	}
	if !adopted || e.Entries[0].Kind != EntryAdopt {
		return nil, errors.New("no adoption entry first")
	}
	for _, p := range parties {
		if !signed[p.ID] {
			return nil, fmt.Errorf("no signature entry of %s", p.ID)
		}
	}
	return r, nil
}

// write says in words what e proves.
func (e *EvidenceReport) write(b *strings.Builder, signers []Signer) {
	if e == nil {
		b.WriteString("The bundle carries no evidence from the venue's log: it does not show where or when the text was adopted and signed.\n")
		return
	}
	pin := "venue key PINNED by you"
	if !e.VenuePinned {
		pin = "venue key NOT pinned (use --venue-key)"
	}
	fmt.Fprintf(b, "Venue evidence: checkpoint of size %d of channel %q, signed by venue %s (%s)", e.CheckpointSize, e.Channel, e.Venue, pin)
	if len(e.CosignedBy) > 0 {
		fmt.Fprintf(b, ", cosigned by the desks of %s: these parties saw this same log", strings.Join(e.CosignedBy, ", "))
	}
	b.WriteString(".\n")
	var missing []string
	for _, s := range signers {
		if !slices.Contains(e.CosignedBy, s.Party) {
			missing = append(missing, s.Party)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(b, "  Not cosigned by %s: the checkpoint alone does not show that they saw the same log.\n", strings.Join(missing, ", "))
	}
	for _, x := range e.Entries {
		what := "the adoption"
		if x.Kind == EntrySign {
			what = "the signature of " + x.Party
		}
		how := "not opened: that it carries this is what the exporting desk read"
		if x.Opened {
			how = "decrypted with its message keys and signed by that device: it is exactly this"
		}
		fmt.Fprintf(b, "  entry %d (%s) is in that log, sent by %s of %s (device %s, certified by %s's root key); %s\n", x.Index, what, x.Person, x.Party, x.Device, x.Party, how)
	}
}

// canonicalSigs reports whether every signature line of a signed note is
// in canonical base64 (note.Open ignores non-zero padding bits, which
// would let a byte of the file change undetected).
func canonicalSigs(msg string) bool {
	_, sigs, ok := strings.Cut(msg, "\n\n")
	if !ok {
		return false
	}
	for _, l := range strings.Split(strings.TrimSuffix(sigs, "\n"), "\n") {
		i := strings.LastIndexByte(l, ' ')
		if i < 0 {
			return false
		}
		b64 := l[i+1:]
		raw, err := base64.StdEncoding.Strict().DecodeString(b64)
		if err != nil || base64.StdEncoding.EncodeToString(raw) != b64 {
			return false
		}
	}
	return true
}

// openEntry decrypts an evidence entry with its disclosure and checks that
// it is what its kind says: the adoption of b's text, version and digest,
// or the signature of the sender's party that b holds.
func openEntry(b *Bundle, digest []byte, lc *logCheck, cert *delegation.Certificate, x Entry) error {
	fail := fmt.Errorf("entry %d does not open to the %s it is said to be", x.Index, x.Kind)
	d, err := mls.ParseDisclosure(x.Disclosure)
	if err != nil {
		return fail
	}
	dm, err := mls.OpenDisclosed(x.Data, d)
	if err != nil || !bytes.Equal(dm.GroupID, ChannelGroupID(lc.report.Venue, b.Evidence.Channel)) || !bytes.Equal(dm.SignatureKey, cert.Device) {
		return fail
	}
	var p struct {
		V         int    `json:"v"`
		Type      string `json:"type"`
		Text      string `json:"text"`
		Package   string `json:"package"`
		Version   int    `json:"version"`
		Digest    []byte `json:"digest"`
		Signature []byte `json:"signature"`
	}
	if json.Unmarshal(dm.Data, &p) != nil || p.V != negotiation.PayloadVersion || !bytes.Equal(p.Digest, digest) {
		return fail
	}
	if b.Package != "" {
		// A package is adopted by one adopt_package event; a signature
		// names any of its texts.
		switch {
		case x.Kind == EntryAdopt && (p.Type != negotiation.TypeAdoptPackage || p.Package != b.Package):
			return fail
		case x.Kind == EntrySign && (p.Type != x.Kind || !b.hasDocument(p.Text)):
			return fail
		}
	} else if p.Type != x.Kind || p.Text != b.Text {
		return fail
	}
	switch x.Kind {
	case EntryAdopt:
		if p.Version != b.Version {
			return fail
		}
	case EntrySign:
		var sig []byte
		for _, s := range b.Signatures {
			if s.Party == cert.Delegation {
				sig = s.Signature
			}
		}
		if !bytes.Equal(p.Signature, sig) {
			return fail
		}
	}
	return nil
}
