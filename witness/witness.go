// Package witness is a transparency-log witness: it cosigns the checkpoints
// of the logs it is told about, after checking that each one is consistent
// with the last checkpoint of that log it cosigned, and never cosigns two
// inconsistent checkpoints of one log.
//
// It imports nothing of the project but package tlog. The HTTP server of
// 'goodoffices witness' is [Witness.Handler]; the state lives in a [Store]
// ([FileStore] writes one file per log, atomically, before any answer).
//
// # Protocol (c2sp.org/tlog-witness)
//
// A client POSTs to <prefix>/add-checkpoint a body of
//
//	old <size>\n
//	<base64 hash>\n            (zero to 63 consistency proof lines)
//	\n
//	<signed checkpoint note>
//
// [ParseRequest] reads it strictly (canonical decimal, canonical base64 of
// 32 bytes, at most [MaxProofLines] lines, at most [MaxRequestSize] bytes).
// The witness answers, in the spec's order:
//
//   - 404 if no configured log key covers the checkpoint's origin;
//   - 403 if no signature of a trusted key for that origin verifies
//     (signatures of unknown keys are ignored);
//   - 400 if the old size exceeds the checkpoint's size, or the request is
//     malformed;
//   - 409 with the size of the latest cosigned checkpoint ("<size>\n",
//     Content-Type text/x.tlog.size) if the old size is not that size;
//   - 409 if the old size equals the checkpoint's size but the root hash
//     differs from the one cosigned;
//   - 422 if the consistency proof from the old size does not verify
//     (RFC 6962 §2.1.2; it must be empty for an old size of zero);
//   - 200 with one cosignature line ("— <name> <base64>\n",
//     c2sp.org/tlog-cosignature, Ed25519 cosignature/v1, timestamped)
//     once the new checkpoint is durably stored.
//
// The check of the old size and the store of the new checkpoint happen
// under one lock, so two concurrent requests cannot roll a log back (the
// race the spec describes). A refused request that carries a valid log
// signature (409 on a different hash, 422) may be proof of the log's
// misbehaviour: it is kept through [Store.Keep].
//
// # Which logs
//
// A witness is configured with log verifier keys (signed-note vkeys). A
// checkpoint's origin is known when it equals a key's name or starts with
// the key's name and "/": one Good Offices venue key signs the register
// (<venue>/register), the revocations (<venue>/revocations) and every
// channel (<venue>/channels/<id>), so a witness told the venue's key
// witnesses all of them.
//
// # Learning the latest size
//
// The spec's 409 is also how a client learns what the witness has seen: a
// request with an old size of zero (or any stale one) is answered with the
// size of the latest cosigned checkpoint, without changing anything. A desk
// uses it to learn, without going through the venue, that the log is larger
// than the venue shows it.
package witness

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/note"
	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/tlog"
)

// MaxProofLines is the most consistency proof lines a request may carry.
const MaxProofLines = 63

// MaxRequestSize bounds an add-checkpoint body: the old size line, the
// proof lines and a checkpoint note.
const MaxRequestSize = 32 + MaxProofLines*45 + 1 + tlog.MaxCheckpointSize

// SizeContentType is the media type of a 409 answer's body.
const SizeContentType = "text/x.tlog.size"

// A Request is a parsed add-checkpoint body.
type Request struct {
	OldSize    int64
	Proof      []xtlog.Hash
	Checkpoint []byte // the signed note, as sent
}

var errMalformed = errors.New("malformed add-checkpoint request")

// ParseRequest parses an add-checkpoint body strictly.
func ParseRequest(body []byte) (Request, error) {
	var r Request
	if len(body) > MaxRequestSize {
		return r, errMalformed
	}
	line, rest, ok := bytes.Cut(body, []byte("\n"))
	s, found := strings.CutPrefix(string(line), "old ")
	if !ok || !found {
		return r, errMalformed
	}
	n, err := parseSize(s)
	if err != nil {
		return r, errMalformed
	}
	r.OldSize = n
	for {
		line, rest, ok = bytes.Cut(rest, []byte("\n"))
		if !ok {
			return r, errMalformed
		}
		if len(line) == 0 {
			break
		}
		if len(r.Proof) == MaxProofLines {
			return r, errMalformed
		}
		h, err := base64.StdEncoding.Strict().DecodeString(string(line))
		if err != nil || len(h) != xtlog.HashSize || base64.StdEncoding.EncodeToString(h) != string(line) {
			return r, errMalformed
		}
		r.Proof = append(r.Proof, xtlog.Hash(h))
	}
	if len(rest) == 0 || len(rest) > tlog.MaxCheckpointSize {
		return r, errMalformed
	}
	r.Checkpoint = rest
	return r, nil
}

// Marshal returns the request body.
func (r Request) Marshal() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", r.OldSize)
	for _, h := range r.Proof {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.Write(r.Checkpoint)
	return b.Bytes()
}

// parseSize parses a canonical ASCII decimal: "0", or digits without a
// leading zero, fitting an int64.
func parseSize(s string) (int64, error) {
	if s == "" || len(s) > 19 || (len(s) > 1 && s[0] == '0') {
		return 0, errMalformed
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errMalformed
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

// ParseSize parses the body of a 409 answer ("<size>\n").
func ParseSize(body []byte) (int64, error) {
	s, ok := strings.CutSuffix(string(body), "\n")
	if !ok {
		return 0, errMalformed
	}
	return parseSize(s)
}

// A Store keeps a witness's state: per log origin, the latest checkpoint
// note it cosigned.
type Store interface {
	// Latest returns the latest checkpoint note cosigned for origin, or
	// nil if none.
	Latest(ctx context.Context, origin string) ([]byte, error)
	// Put records msg as the latest cosigned checkpoint of origin; it
	// returns only once that is durable.
	Put(ctx context.Context, origin string, msg []byte) error
	// Keep keeps a refused request that may prove a log's misbehaviour.
	Keep(ctx context.Context, origin string, request []byte) error
}

// A Witness cosigns checkpoints (see the package documentation).
type Witness struct {
	cosigner *tlog.Cosigner
	logs     []note.Verifier
	store    Store

	mu sync.Mutex // serialises check-and-store
}

// New returns a witness that cosigns with cosigner the checkpoints of the
// logs whose keys are logs, keeping its state in store.
func New(cosigner *tlog.Cosigner, logs []note.Verifier, store Store) *Witness {
	return &Witness{cosigner: cosigner, logs: logs, store: store}
}

// A Response is the witness's answer to an add-checkpoint request.
type Response struct {
	Status      int
	ContentType string
	Body        []byte
}

func plain(status int, msg string) Response {
	return Response{Status: status, ContentType: "text/plain; charset=utf-8", Body: []byte(msg + "\n")}
}

func conflict(size int64) Response {
	return Response{Status: 409, ContentType: SizeContentType, Body: []byte(strconv.FormatInt(size, 10) + "\n")}
}

// verifiers returns the configured log keys that cover origin.
func (w *Witness) verifiers(origin string) []note.Verifier {
	var out []note.Verifier
	for _, v := range w.logs {
		if origin == v.Name() || strings.HasPrefix(origin, v.Name()+"/") {
			out = append(out, v)
		}
	}
	return out
}

// AddCheckpoint handles an add-checkpoint request body. An error means the
// witness could not read or store its state (500); every answer the
// protocol defines is a Response.
func (w *Witness) AddCheckpoint(ctx context.Context, body []byte) (Response, error) {
	req, err := ParseRequest(body)
	if err != nil {
		return plain(400, "malformed request"), nil
	}
	text, _, ok := bytes.Cut(req.Checkpoint, []byte("\n\n"))
	if !ok {
		return plain(400, "malformed checkpoint"), nil
	}
	cp, err := tlog.ParseCheckpoint(append(text, '\n'))
	if err != nil {
		return plain(400, "malformed checkpoint"), nil
	}
	vs := w.verifiers(cp.Origin)
	if len(vs) == 0 {
		return plain(404, "unknown log"), nil
	}
	if _, err := note.Open(req.Checkpoint, note.VerifierList(vs...)); err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		if errors.As(err, &unverified) || errors.As(err, &invalid) {
			return plain(403, "no valid signature of the log"), nil
		}
		return plain(400, "malformed checkpoint"), nil
	}
	if req.OldSize > cp.Size {
		return plain(400, "old size larger than the checkpoint"), nil
	}
	if cp.Size == 0 && cp.Hash != tlog.EmptyHash {
		return plain(422, "invalid consistency proof"), nil
	}
	if req.OldSize == 0 && len(req.Proof) > 0 {
		return plain(400, "a consistency proof from size zero must be empty"), nil
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	latest, err := w.store.Latest(ctx, cp.Origin)
	if err != nil {
		return Response{}, fmt.Errorf("failed to read the witness state: %w", err)
	}
	var prev tlog.Checkpoint
	if latest != nil {
		t, _, _ := bytes.Cut(latest, []byte("\n\n"))
		if prev, err = tlog.ParseCheckpoint(append(t, '\n')); err != nil {
			return Response{}, fmt.Errorf("failed to read the witness state of %s: %w", cp.Origin, err)
		}
	}
	if req.OldSize != prev.Size {
		return conflict(prev.Size), nil
	}
	switch {
	case req.OldSize == cp.Size && req.OldSize > 0:
		if cp.Hash != prev.Hash {
			w.keep(ctx, cp.Origin, body)
			return conflict(prev.Size), nil
		}
		if len(req.Proof) > 0 {
			return plain(422, "invalid consistency proof"), nil
		}
	case req.OldSize > 0:
		if xtlog.CheckTree(req.Proof, cp.Size, cp.Hash, prev.Size, prev.Hash) != nil {
			w.keep(ctx, cp.Origin, body)
			return plain(422, "invalid consistency proof"), nil
		}
	}
	sig, err := note.Sign(&note.Note{Text: string(text) + "\n"}, w.cosigner)
	if err != nil {
		return Response{}, fmt.Errorf("failed to cosign: %w", err)
	}
	_, line, _ := bytes.Cut(sig, []byte("\n\n"))
	stored := append(bytes.Clone(req.Checkpoint), line...)
	if err := w.store.Put(ctx, cp.Origin, stored); err != nil {
		return Response{}, fmt.Errorf("failed to store the witness state: %w", err)
	}
	return Response{Status: 200, ContentType: "text/plain; charset=utf-8", Body: line}, nil
}

func (w *Witness) keep(ctx context.Context, origin string, body []byte) {
	_ = w.store.Keep(ctx, origin, body) // best effort: the refusal stands
}
