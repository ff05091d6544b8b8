package witness

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxResponse bounds a witness's answer that a client reads.
const maxResponse = 64 << 10

// A ConflictError is a 409 answer: the witness's latest cosigned
// checkpoint of the log has Size (which may equal the submitted size, with
// another root hash: the witness saw another history).
type ConflictError struct{ Size int64 }

func (e *ConflictError) Error() string {
	return fmt.Sprintf("witness conflict: latest cosigned size %d", e.Size)
}

// A StatusError is any other refusal (400, 403, 404, 422, 5xx).
type StatusError struct {
	Status int
	Msg    string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("witness answered %d: %s", e.Status, e.Msg)
}

// Add submits req to the witness whose submission prefix is prefix and
// returns its cosignature lines. A 409 is a *ConflictError, other
// refusals a *StatusError; anything else is a failure to reach it.
func Add(ctx context.Context, hc *http.Client, prefix string, req Request) ([]byte, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(prefix, "/")+"/add-checkpoint", bytes.NewReader(req.Marshal()))
	if err != nil {
		return nil, fmt.Errorf("failed to reach witness: %w", err)
	}
	resp, err := hc.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("failed to reach witness: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("failed to read the witness's answer: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		return body, nil
	case resp.StatusCode == http.StatusConflict:
		n, err := ParseSize(body)
		if err != nil {
			// A 409 for a hash mismatch need not carry a size.
			return nil, &ConflictError{Size: -1}
		}
		return nil, &ConflictError{Size: n}
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return nil, &StatusError{Status: resp.StatusCode, Msg: msg}
}
