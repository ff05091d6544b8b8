package venue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/good-offices/goodoffices/venue/api"
)

// BatchContentType is the media type of POST /logs/{log}/batch: entries one
// after the other, each a 4-byte big-endian length and that many bytes
// (api.AppendBatch makes one).
const BatchContentType = api.BatchContentType

// MaxBatchEntries bounds the entries of one batch request.
const MaxBatchEntries = 256

// batchBodyLimit is the largest batch body: MaxBatchEntries entries, but
// at most 1 MiB (or one largest entry) so that the time allowed to send it
// stays that of a mail (SECURITY.md, "Limits and quotas").
func batchBodyLimit(maxEntry int) int {
	return max(min(MaxBatchEntries*(maxEntry+4), 1<<20), maxEntry+4)
}

// parseBatch splits a batch body into its entries (sub-slices of body). Every
// entry is non-empty and at most maxEntry bytes; there are at most
// MaxBatchEntries of them and no trailing bytes.
func parseBatch(body []byte, maxEntry int) ([][]byte, error) {
	var entries [][]byte
	for len(body) > 0 {
		if len(entries) == MaxBatchEntries {
			return nil, fmt.Errorf("more than %d entries in one batch", MaxBatchEntries)
		}
		if len(body) < 4 {
			return nil, errors.New("truncated entry length")
		}
		n := binary.BigEndian.Uint32(body)
		body = body[4:]
		switch {
		case n == 0:
			return nil, fmt.Errorf("entry %d is empty", len(entries))
		case uint64(n) > uint64(maxEntry):
			return nil, fmt.Errorf("entry %d is larger than %d bytes", len(entries), maxEntry)
		case uint64(n) > uint64(len(body)):
			return nil, fmt.Errorf("entry %d is truncated", len(entries))
		}
		entries = append(entries, body[:n:n])
		body = body[n:]
	}
	if len(entries) == 0 {
		return nil, errors.New("empty batch")
	}
	return entries, nil
}

// handleAppendBatch appends several entries to one log in one request: each
// is checked as a single append is (framing, size); if any fails, none is
// appended. Handshake commits are not taken here (they need their own
// Goodoffices-Handshake headers and may get a 409). The answer, 201
// {"indexes":[...],"size":n}, is sent only once every entry is durable (and
// with Goodoffices-Await: checkpoint, once a served checkpoint covers them); the
// entries are sequenced together but another writer's entries may fall
// between them. If the store fails part-way, the answer is the error with
// "indexes" holding the index of each entry made durable, -1 for the others.
func (v *Venue) handleAppendBatch(w http.ResponseWriter, r *http.Request, p principal) {
	log := r.PathValue("log")
	if publicLog(log) {
		writeError(w, http.StatusForbidden, "the register and the revocations log are written by accreditation and revocation only")
		return
	}
	if !v.canAccessLog(w, r, p, log) {
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != BatchContentType {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be "+BatchContentType)
		return
	}
	if r.Header.Get("Goodoffices-Handshake") != "" {
		writeError(w, http.StatusBadRequest, "handshake commits are appended one at a time (POST /logs/{log}/entries)")
		return
	}
	await, ok := awaitHeader(w, r)
	if !ok {
		return
	}
	body, ok := readBody(w, r, batchBodyLimit(v.cfg.MaxEntry))
	if !ok {
		return
	}
	entries, err := parseBatch(body, v.cfg.MaxEntry)
	if err != nil {
		writeError(w, http.StatusBadRequest, "batch: "+err.Error())
		return
	}
	// The rate limit counts entries, not requests.
	now := time.Now()
	for range entries {
		if !v.limiter.allow(p.device, now) {
			writeError(w, http.StatusTooManyRequests, "rate limit exceeded")
			return
		}
	}
	if !v.cfg.OpaqueEntries {
		for i, e := range entries {
			if err := checkFraming(e, -1, 0); err != nil {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("batch entry %d: %v", i, err))
				return
			}
		}
	}
	idx, size, err := v.seq.appendMany(r.Context(), log, entries, await)
	if err != nil {
		status, msg := errorStatus(err)
		if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		writeJSON(w, status, struct {
			Error   string  `json:"error"`
			Indexes []int64 `json:"indexes"`
		}{msg, idx})
		return
	}
	out := make([]byte, 0, 32+12*len(idx))
	out = append(out, `{"indexes":[`...)
	for i, x := range idx {
		if i > 0 {
			out = append(out, ',')
		}
		out = strconv.AppendInt(out, x, 10)
	}
	out = append(out, `],"size":`...)
	out = strconv.AppendInt(out, size, 10)
	out = append(out, "}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	w.Write(out)
}
