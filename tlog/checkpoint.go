package tlog

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// MaxCheckpointSize bounds the size of a checkpoint body and of a signed
// checkpoint note that this package parses.
const MaxCheckpointSize = 16 << 10

// maxExtensions bounds the number of extension lines in a checkpoint.
const maxExtensions = 16

// A Checkpoint is a log's signed tree head (c2sp.org/tlog-checkpoint).
type Checkpoint struct {
	Origin     string    // identifies the log, e.g. "venue.example/channels/plenary"
	Size       int64     // number of entries in the tree
	Hash       tlog.Hash // RFC 6962 Merkle tree hash of the first Size entries
	Extensions []string  // optional extension lines, without newlines
}

// Tree returns the checkpoint's tree for use with x/mod's tlog functions.
func (c Checkpoint) Tree() tlog.Tree { return tlog.Tree{N: c.Size, Hash: c.Hash} }

// Marshal returns the checkpoint body: the text that is signed.
func (c Checkpoint) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(c.Origin)
	b.WriteByte('\n')
	b.WriteString(strconv.FormatInt(c.Size, 10))
	b.WriteByte('\n')
	b.WriteString(base64.StdEncoding.EncodeToString(c.Hash[:]))
	b.WriteByte('\n')
	for _, e := range c.Extensions {
		b.WriteString(e)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

var errMalformedCheckpoint = errors.New("malformed checkpoint")

// validLine reports whether s may be a checkpoint line: non-empty UTF-8
// without control characters.
func validLine(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// ParseCheckpoint parses a checkpoint body strictly. It rejects anything that
// Marshal would not produce.
func ParseCheckpoint(text []byte) (Checkpoint, error) {
	if len(text) > MaxCheckpointSize || len(text) == 0 || text[len(text)-1] != '\n' {
		return Checkpoint{}, errMalformedCheckpoint
	}
	lines := bytes.Split(text[:len(text)-1], []byte("\n"))
	if len(lines) < 3 || len(lines) > 3+maxExtensions {
		return Checkpoint{}, errMalformedCheckpoint
	}
	var c Checkpoint
	c.Origin = string(lines[0])
	if !validLine(c.Origin) {
		return Checkpoint{}, errMalformedCheckpoint
	}
	size, err := parseDecimal(string(lines[1]))
	if err != nil {
		return Checkpoint{}, errMalformedCheckpoint
	}
	c.Size = size
	h, err := base64.StdEncoding.Strict().DecodeString(string(lines[2]))
	if err != nil || len(h) != tlog.HashSize || base64.StdEncoding.EncodeToString(h) != string(lines[2]) {
		return Checkpoint{}, errMalformedCheckpoint
	}
	copy(c.Hash[:], h)
	for _, l := range lines[3:] {
		if !validLine(string(l)) {
			return Checkpoint{}, errMalformedCheckpoint
		}
		c.Extensions = append(c.Extensions, string(l))
	}
	return c, nil
}

// parseDecimal parses a canonical non-negative decimal int64: no sign, no
// leading zeros, at most 19 digits.
func parseDecimal(s string) (int64, error) {
	if s == "" || len(s) > 19 || (len(s) > 1 && s[0] == '0') {
		return 0, errors.New("not a canonical decimal")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("not a canonical decimal")
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

// SignCheckpoint returns the signed note of c signed by signer, whose name
// should equal c.Origin.
func SignCheckpoint(c Checkpoint, signer note.Signer) ([]byte, error) {
	msg, err := note.Sign(&note.Note{Text: string(c.Marshal())}, signer)
	if err != nil {
		return nil, fmt.Errorf("failed to sign checkpoint: %w", err)
	}
	return msg, nil
}

// ErrBadSignature reports a signed note that does not carry a valid
// signature of the expected key.
var ErrBadSignature = errors.New("invalid signature")

// OpenCheckpoint verifies that msg is a checkpoint note signed by v and that
// its origin is origin, and returns the parsed checkpoint and the note (whose
// Sigs and UnverifiedSigs hold any further signatures, e.g. cosignatures).
func OpenCheckpoint(msg []byte, origin string, v note.Verifier) (Checkpoint, *note.Note, error) {
	if len(msg) > MaxCheckpointSize {
		return Checkpoint{}, nil, errMalformedCheckpoint
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		if errors.As(err, &unverified) {
			return Checkpoint{}, nil, ErrBadSignature
		}
		var invalid *note.InvalidSignatureError
		if errors.As(err, &invalid) {
			return Checkpoint{}, nil, ErrBadSignature
		}
		return Checkpoint{}, nil, errMalformedCheckpoint
	}
	c, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return Checkpoint{}, nil, err
	}
	if c.Origin != origin {
		return Checkpoint{}, nil, fmt.Errorf("checkpoint origin %q, want %q", c.Origin, origin)
	}
	return c, n, nil
}
