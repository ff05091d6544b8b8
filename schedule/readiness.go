package schedule

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Readiness is a head of delegation's statement that their party is ready
// for one ministerial or leaders' meeting. It carries no reasons: the host
// sees readiness, nothing else.
//
// # Canonical bytes
//
// The signed bytes are exactly six lines of UTF-8 text, each ended by a
// single LF, with a single space after each key and no other spaces around
// values:
//
//	goodoffices readiness v1
//	talks <talks id>
//	meeting <meeting id>
//	level <ministerial|leaders>
//	delegation <delegation id>
//	time <RFC 3339 UTC time to the second, e.g. 2026-11-22T17:00:00Z>
//
// Values are 1 to [MaxNameLen] bytes without control characters or
// surrounding spaces. The first line separates the statement from anything
// else the key signs. The text is also valid signed-note text (C2SP
// signed-note), so a desk may carry it as a note; the signature is plain
// Ed25519 (RFC 8032 §5.1.6) over these bytes, which is what a signed-note
// Ed25519 signature covers.
//
// A statement names one meeting, so the host cannot replay it for another
// meeting; it stays valid when the meeting is moved, since readiness is about
// the level of the talks, not the hour.
type Readiness struct {
	Talks      string
	Meeting    string
	Level      Level
	Delegation string
	Time       time.Time // when the head signed; stored in UTC, to the second
}

// ReadinessRecord is a verified readiness statement as the schedule keeps
// it: the exact bytes and signature, so that anyone holding the head's key
// can check it again later.
type ReadinessRecord struct {
	Delegation string    `json:"delegation"`
	SignedAt   time.Time `json:"signed_at"`
	Received   time.Time `json:"received"`
	Statement  []byte    `json:"statement"`
	Signature  []byte    `json:"signature"`
}

const readinessHeader = "goodoffices readiness v1"

// maxReadinessLen bounds a statement before it is parsed.
const maxReadinessLen = len(readinessHeader) + 5*(MaxNameLen+16) + 64

// ErrBadReadiness reports a statement that does not verify or does not
// parse. It deliberately says no more.
var ErrBadReadiness = errors.New("invalid readiness statement")

// Marshal returns the canonical bytes of r.
func (r Readiness) Marshal() ([]byte, error) {
	for _, f := range []struct{ what, v string }{
		{"talks", r.Talks}, {"meeting", r.Meeting}, {"delegation", r.Delegation},
	} {
		if err := checkName(f.what, f.v); err != nil {
			return nil, fmt.Errorf("failed to encode readiness statement: %w", err)
		}
	}
	if !r.Level.Gated() {
		return nil, fmt.Errorf("failed to encode readiness statement: level %q has no readiness gate", r.Level)
	}
	if r.Time.IsZero() || r.Time.Year() < 2000 || r.Time.Year() > 9999 {
		return nil, errors.New("failed to encode readiness statement: missing or out-of-range time")
	}
	var b bytes.Buffer
	b.WriteString(readinessHeader + "\n")
	b.WriteString("talks " + r.Talks + "\n")
	b.WriteString("meeting " + r.Meeting + "\n")
	b.WriteString("level " + string(r.Level) + "\n")
	b.WriteString("delegation " + r.Delegation + "\n")
	b.WriteString("time " + r.Time.UTC().Format(time.RFC3339) + "\n")
	return b.Bytes(), nil
}

// ParseReadiness parses canonical statement bytes. It accepts exactly the
// bytes Marshal produces and nothing else: parsing and marshalling again
// yields the input.
func ParseReadiness(b []byte) (Readiness, error) {
	if len(b) > maxReadinessLen {
		return Readiness{}, fmt.Errorf("%w: longer than %d bytes", ErrBadReadiness, maxReadinessLen)
	}
	s := string(b)
	if !strings.HasSuffix(s, "\n") {
		return Readiness{}, fmt.Errorf("%w: must end with a newline", ErrBadReadiness)
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	keys := []string{"talks", "meeting", "level", "delegation", "time"}
	if len(lines) != 1+len(keys) || lines[0] != readinessHeader {
		return Readiness{}, fmt.Errorf("%w: want the %q header and %d lines", ErrBadReadiness, readinessHeader, len(keys))
	}
	vals := make([]string, len(keys))
	for i, k := range keys {
		v, ok := strings.CutPrefix(lines[i+1], k+" ")
		if !ok {
			return Readiness{}, fmt.Errorf("%w: line %d must start with %q", ErrBadReadiness, i+2, k+" ")
		}
		if err := checkName(k, v); err != nil {
			return Readiness{}, fmt.Errorf("%w: %v", ErrBadReadiness, err)
		}
		vals[i] = v
	}
	level, err := ParseLevel(vals[2])
	if err != nil || !level.Gated() {
		return Readiness{}, fmt.Errorf("%w: level must be ministerial or leaders", ErrBadReadiness)
	}
	t, err := time.Parse(time.RFC3339, vals[4])
	if err != nil || t.Format(time.RFC3339) != vals[4] || !strings.HasSuffix(vals[4], "Z") {
		return Readiness{}, fmt.Errorf("%w: time must be RFC 3339 UTC to the second, like 2026-11-22T17:00:00Z", ErrBadReadiness)
	}
	r := Readiness{Talks: vals[0], Meeting: vals[1], Level: level, Delegation: vals[3], Time: t.UTC()}
	// Belt and braces: the encoding is canonical.
	if again, err := r.Marshal(); err != nil || !bytes.Equal(again, b) {
		return Readiness{}, fmt.Errorf("%w: not in canonical form", ErrBadReadiness)
	}
	return r, nil
}

// SignReadiness returns the canonical bytes of r and an Ed25519 signature
// over them with the head's device key. The desk calls it.
func SignReadiness(key ed25519.PrivateKey, r Readiness) (statement, sig []byte, err error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, nil, errors.New("failed to sign readiness statement: bad key size")
	}
	r.Time = r.Time.UTC().Truncate(time.Second)
	statement, err = r.Marshal()
	if err != nil {
		return nil, nil, err
	}
	return statement, ed25519.Sign(key, statement), nil
}

// VerifyReadiness checks sig over statement with the head's Ed25519 public
// key and parses the statement. Any failure returns [ErrBadReadiness] with no
// detail about the signature.
func VerifyReadiness(pub ed25519.PublicKey, statement, sig []byte) (Readiness, error) {
	if len(pub) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize || len(statement) > maxReadinessLen {
		return Readiness{}, ErrBadReadiness
	}
	if !ed25519.Verify(pub, statement, sig) {
		return Readiness{}, ErrBadReadiness
	}
	r, err := ParseReadiness(statement)
	if err != nil {
		return Readiness{}, err
	}
	return r, nil
}

// ActionReadiness is the [Change.Action] of a readiness signal.
const ActionReadiness = "readiness"

// ForDelegation returns m as delegation d may see it. Only the host sees
// every party's readiness; a delegation sees its own signal and nothing of
// the other parties', neither directly nor through a side effect:
//
//   - Readiness keeps d's own record only;
//   - History drops the readiness entries of other delegations (they name
//     the party and its head) and the host's overrides of every entry;
//   - Overrides (the host's accepted conflicts) is emptied;
//   - Updated is recomputed from what is left: the time of the latest
//     entry d may see (or Created), so that another party's signal does
//     not move it.
//
// Sequence needs no change: a readiness signal never increments it. What a
// delegation learns of the gate is its own signal and the meeting's status:
// provisional until the host confirms, which it can do only once every party
// is ready. The result is a deep copy; ForDelegation of its own result
// returns the same.
func (m Meeting) ForDelegation(d string) Meeting {
	m = m.Clone()
	m.Overrides = nil
	m.Readiness = slices.DeleteFunc(m.Readiness, func(r ReadinessRecord) bool { return r.Delegation != d })
	if len(m.Readiness) == 0 {
		m.Readiness = nil
	}
	m.History = slices.DeleteFunc(m.History, func(h Change) bool {
		return h.Action == ActionReadiness && h.Delegation != d
	})
	updated := m.Created
	for i := range m.History {
		m.History[i].Overrides = nil
		if m.History[i].At.After(updated) {
			updated = m.History[i].At
		}
	}
	m.Updated = updated
	return m
}
