// Package proof holds Good Offices' proofs of misbehaviour: self-contained
// files that show, to anyone holding only the venue's public key, that the
// venue signed two checkpoints of one log that cannot both be true. That is
// what a fork (two parties shown different histories), a rewritten, dropped
// or reordered entry, or a key swapped in the accreditation register looks
// like once two views meet.
//
// It imports nothing of the project but package tlog. Merkle proofs are
// x/mod's sumdb/tlog (RFC 6962 §2.1.2 consistency, as tree proofs), signed
// checkpoints are C2SP tlog-checkpoint notes verified with sumdb/note.
//
// # Kinds
//
//   - split-view: two checkpoints of the same origin and the same tree size
//     with different root hashes, both signed by the venue key.
//   - inconsistent: checkpoints A (size n) and B (size m > n), both signed by
//     the venue key, and a tree proof that the first n entries of B's tree
//     have root hash P ≠ A's root hash. The proof is checked with
//     tlog.CheckTree(proof, m, B.hash, n, P): under SHA-256's collision
//     resistance, B commits to a prefix of size n that is not A, so no
//     append-only log can have produced both.
//
// A proof does not need the log's entries or tiles: the verifier checks two
// signatures and at most ~2·log2(m) hashes.
//
// # File format
//
// A proof is UTF-8 text, at most [MaxSize] bytes, lines ending in "\n":
//
//	goodoffices misbehaviour proof v1
//	kind <split-view | inconsistent>
//	venue <signed-note verifier key of the venue>
//	checkpoint <standard base64 of the smaller (or first) signed note>
//	checkpoint <standard base64 of the larger (or second) signed note>
//	[prefix <base64 of the 32-byte hash P>]          inconsistent only
//	[proof <base64 of a 32-byte hash>] ...           inconsistent only, in order
//
// The signed notes are stored as served, so any cosignatures they carry
// (c2sp.org/tlog-cosignature) travel with them and are reported, unverified,
// by [Verify]: they say which parties were shown which checkpoint.
package proof

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/note"
	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/tlog"
)

// Header is the first line of a proof file.
const Header = "goodoffices misbehaviour proof v1"

// MaxSize bounds a proof file.
const MaxSize = 64 << 10

// maxProofHashes bounds the tree proof: 2·63 hashes suffice for any int64 size.
const maxProofHashes = 128

// Kinds of proof.
const (
	SplitView    = "split-view"
	Inconsistent = "inconsistent"
)

// A Proof is evidence that the venue signed two incompatible checkpoints.
type Proof struct {
	Kind      string
	VenueKey  string          // the venue's signed-note verifier key
	A, B      []byte          // signed checkpoint notes; for Inconsistent, A is the smaller
	Prefix    xtlog.Hash      // Inconsistent: root of B's first A.size entries
	TreeProof xtlog.TreeProof // Inconsistent: proves Prefix from B's root
}

// ErrInvalid reports a proof that does not prove misbehaviour: malformed,
// not signed by the venue key, or describing compatible checkpoints.
var ErrInvalid = errors.New("invalid misbehaviour proof")

// Marshal returns the proof file.
func (p *Proof) Marshal() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nkind %s\nvenue %s\n", Header, p.Kind, p.VenueKey)
	fmt.Fprintf(&b, "checkpoint %s\n", base64.StdEncoding.EncodeToString(p.A))
	fmt.Fprintf(&b, "checkpoint %s\n", base64.StdEncoding.EncodeToString(p.B))
	if p.Kind == Inconsistent {
		fmt.Fprintf(&b, "prefix %s\n", base64.StdEncoding.EncodeToString(p.Prefix[:]))
		for _, h := range p.TreeProof {
			fmt.Fprintf(&b, "proof %s\n", base64.StdEncoding.EncodeToString(h[:]))
		}
	}
	return b.Bytes()
}

// IsProof reports whether data looks like a proof file (it starts with
// Header), so that a caller can choose a parser.
func IsProof(data []byte) bool {
	return bytes.HasPrefix(data, []byte(Header+"\n"))
}

// Parse reads a proof file strictly: fields in order, canonical base64, no
// unknown lines. It does not verify anything; see Verify.
func Parse(data []byte) (*Proof, error) {
	if len(data) > MaxSize || !IsProof(data) || data[len(data)-1] != '\n' {
		return nil, ErrInvalid
	}
	lines := strings.Split(string(data[:len(data)-1]), "\n")[1:]
	field := func(name string) (string, bool) {
		if len(lines) == 0 {
			return "", false
		}
		v, ok := strings.CutPrefix(lines[0], name+" ")
		if ok {
			lines = lines[1:]
		}
		return v, ok && v != ""
	}
	b64 := func(s string) ([]byte, bool) {
		raw, err := base64.StdEncoding.Strict().DecodeString(s)
		return raw, err == nil && base64.StdEncoding.EncodeToString(raw) == s
	}
	p := &Proof{}
	var ok bool
	if p.Kind, ok = field("kind"); !ok || (p.Kind != SplitView && p.Kind != Inconsistent) {
		return nil, ErrInvalid
	}
	if p.VenueKey, ok = field("venue"); !ok {
		return nil, ErrInvalid
	}
	for _, dst := range []*[]byte{&p.A, &p.B} {
		s, ok := field("checkpoint")
		if !ok {
			return nil, ErrInvalid
		}
		if *dst, ok = b64(s); !ok || len(*dst) > tlog.MaxCheckpointSize {
			return nil, ErrInvalid
		}
	}
	if p.Kind == Inconsistent {
		s, ok := field("prefix")
		if !ok {
			return nil, ErrInvalid
		}
		h, ok := b64(s)
		if !ok || len(h) != xtlog.HashSize {
			return nil, ErrInvalid
		}
		copy(p.Prefix[:], h)
		for len(lines) > 0 {
			s, ok := field("proof")
			if !ok || len(p.TreeProof) == maxProofHashes {
				return nil, ErrInvalid
			}
			h, ok := b64(s)
			if !ok || len(h) != xtlog.HashSize {
				return nil, ErrInvalid
			}
			p.TreeProof = append(p.TreeProof, xtlog.Hash(h))
		}
	}
	if len(lines) != 0 {
		return nil, ErrInvalid
	}
	return p, nil
}

// A Result says what a verified proof proves.
type Result struct {
	Kind     string          `json:"kind"`
	Origin   string          `json:"origin"`    // the log
	VenueKey string          `json:"venue_key"` // the key that signed both checkpoints
	A        tlog.Checkpoint `json:"a"`
	B        tlog.Checkpoint `json:"b"`
	// Prefix is, for Inconsistent, the root hash that B gives to A's size.
	Prefix *xtlog.Hash `json:"prefix,omitempty"`
	// CosignersA and CosignersB name the further signatures each note
	// carries (normally the parties' cosignatures). They are not verified
	// here: they are who says they saw that checkpoint.
	CosignersA []string `json:"cosigners_a,omitempty"`
	CosignersB []string `json:"cosigners_b,omitempty"`
}

// String explains the result in words.
func (r *Result) String() string {
	var b strings.Builder
	name, _, _ := strings.Cut(r.VenueKey, "+")
	fmt.Fprintf(&b, "PROOF OF MISBEHAVIOUR by the venue %q (key %s)\n", name, r.VenueKey)
	fmt.Fprintf(&b, "log: %s\n", r.Origin)
	switch r.Kind {
	case SplitView:
		fmt.Fprintf(&b, "The venue signed two checkpoints of this log with the same size %d and different root hashes:\n", r.A.Size)
		fmt.Fprintf(&b, "  %s\n  %s\n", hashString(r.A.Hash), hashString(r.B.Hash))
		b.WriteString("An append-only log has one history per size: the venue showed (at least) two different histories (a fork).\n")
	case Inconsistent:
		fmt.Fprintf(&b, "The venue signed a checkpoint of size %d (root %s)\n", r.A.Size, hashString(r.A.Hash))
		fmt.Fprintf(&b, "and a checkpoint of size %d (root %s) whose first %d entries have root %s.\n", r.B.Size, hashString(r.B.Hash), r.A.Size, hashString(*r.Prefix))
		b.WriteString("The larger does not extend the smaller: entries were altered, dropped, reordered or inserted,\n")
		b.WriteString("or two parties were shown different histories (a fork).\n")
	}
	if len(r.CosignersA) > 0 {
		fmt.Fprintf(&b, "size %d was cosigned by (not verified here): %s\n", r.A.Size, strings.Join(r.CosignersA, ", "))
	}
	if len(r.CosignersB) > 0 {
		fmt.Fprintf(&b, "size %d was cosigned by (not verified here): %s\n", r.B.Size, strings.Join(r.CosignersB, ", "))
	}
	return b.String()
}

func hashString(h xtlog.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

// Verify checks the proof. If venueKey is not empty the proof must name
// that key (the one the verifier pinned); otherwise the key in the file is
// used, which proves misbehaviour by whoever holds that key. Any failure
// returns ErrInvalid.
func Verify(p *Proof, venueKey string) (*Result, error) {
	if venueKey != "" && venueKey != p.VenueKey {
		return nil, fmt.Errorf("%w: signed by another venue key than the one pinned", ErrInvalid)
	}
	v, err := note.NewVerifier(p.VenueKey)
	if err != nil {
		return nil, ErrInvalid
	}
	open := func(msg []byte) (tlog.Checkpoint, []string, error) {
		n, err := note.Open(msg, note.VerifierList(v))
		if err != nil {
			return tlog.Checkpoint{}, nil, ErrInvalid
		}
		cp, err := tlog.ParseCheckpoint([]byte(n.Text))
		if err != nil {
			return tlog.Checkpoint{}, nil, ErrInvalid
		}
		var others []string
		for _, s := range n.UnverifiedSigs {
			others = append(others, s.Name)
		}
		return cp, others, nil
	}
	a, ca, err := open(p.A)
	if err != nil {
		return nil, err
	}
	b, cb, err := open(p.B)
	if err != nil {
		return nil, err
	}
	if a.Origin != b.Origin {
		return nil, fmt.Errorf("%w: the checkpoints are of different logs", ErrInvalid)
	}
	r := &Result{Kind: p.Kind, Origin: a.Origin, VenueKey: p.VenueKey, A: a, B: b, CosignersA: ca, CosignersB: cb}
	switch p.Kind {
	case SplitView:
		if a.Size != b.Size || a.Hash == b.Hash {
			return nil, fmt.Errorf("%w: not two different checkpoints of one size", ErrInvalid)
		}
	case Inconsistent:
		if a.Size >= b.Size || p.Prefix == a.Hash {
			return nil, fmt.Errorf("%w: the checkpoints are not shown to disagree", ErrInvalid)
		}
		if a.Size == 0 {
			// Every tree extends the empty tree.
			return nil, ErrInvalid
		}
		if err := xtlog.CheckTree(p.TreeProof, b.Size, b.Hash, a.Size, p.Prefix); err != nil {
			return nil, fmt.Errorf("%w: the tree proof does not verify", ErrInvalid)
		}
		pre := p.Prefix
		r.Prefix = &pre
	default:
		return nil, ErrInvalid
	}
	return r, nil
}

// NewSplitView returns the proof that a and b, signed notes of checkpoints
// of the same origin and size, differ. It checks that the proof verifies.
func NewSplitView(venueKey string, a, b []byte) (*Proof, error) {
	p := &Proof{Kind: SplitView, VenueKey: venueKey, A: a, B: b}
	if _, err := Verify(p, venueKey); err != nil {
		return nil, err
	}
	return p, nil
}

// NewInconsistent returns the proof that small, a signed checkpoint, is not
// a prefix of large, a larger signed checkpoint of the same log. hr must
// read the stored hashes of large's tree (for example x/mod's
// TileHashReader over tiles that authenticate against large's root). It
// returns ErrInvalid if the two are in fact consistent or hr fails.
func NewInconsistent(venueKey string, small, large []byte, hr xtlog.HashReader) (*Proof, error) {
	s, err := tlog.ParseCheckpoint(body(small))
	if err != nil {
		return nil, ErrInvalid
	}
	l, err := tlog.ParseCheckpoint(body(large))
	if err != nil || s.Size >= l.Size || s.Size == 0 {
		return nil, ErrInvalid
	}
	prefix, err := xtlog.TreeHash(s.Size, hr)
	if err != nil {
		return nil, fmt.Errorf("%w: failed to read the larger tree: %v", ErrInvalid, err)
	}
	tp, err := xtlog.ProveTree(l.Size, s.Size, hr)
	if err != nil {
		return nil, fmt.Errorf("%w: failed to read the larger tree: %v", ErrInvalid, err)
	}
	p := &Proof{Kind: Inconsistent, VenueKey: venueKey, A: small, B: large, Prefix: prefix, TreeProof: tp}
	if _, err := Verify(p, venueKey); err != nil {
		return nil, err
	}
	return p, nil
}

// body returns the text of a signed note, up to the blank line.
func body(msg []byte) []byte {
	if i := bytes.Index(msg, []byte("\n\n")); i >= 0 {
		return msg[:i+1]
	}
	return msg
}
