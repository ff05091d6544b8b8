package mls

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/good-offices/goodoffices/mls/internal/codec"
)

// deserialization.json: variable-length vector headers (RFC 9420 §2.1.2).
func runDeserialization(t *testing.T, data []byte) vectorCounts {
	type tc struct {
		Header hexBytes `json:"vlbytes_header"`
		Length int      `json:"length"`
	}
	return runCases(t, data, nil, func(t *testing.T, c *tc) error {
		n, size, err := codec.ParseVarint(c.Header)
		if err != nil {
			return fmt.Errorf("failed to parse header %x: %w", c.Header, err)
		}
		if n != c.Length || size != len(c.Header) {
			return fmt.Errorf("header %x: got length %d (size %d), want %d", c.Header, n, size, c.Length)
		}
		enc, err := codec.AppendVarint(nil, c.Length)
		if err != nil || !bytes.Equal(enc, c.Header) {
			return fmt.Errorf("encoding %d: got %x (%v), want %x", c.Length, enc, err, c.Header)
		}
		// Flipping the prefix to 11 must be rejected.
		bad := append([]byte{}, c.Header...)
		bad[0] |= 0xc0
		if _, _, err := codec.ParseVarint(bad); err == nil {
			return fmt.Errorf("header %x with prefix 11 accepted", bad)
		}
		return nil
	})
}
