package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/good-offices/goodoffices/venue/api"
)

// Cosignatures is what the venue serves at /logs/<log>/cosignatures
// ([api.Cosignatures]). Nothing in it is trusted: the desk verifies every
// note and certificate.
type Cosignatures = api.Cosignatures

// A Cosigner names a cosigning device and carries its certificate.
type Cosigner = api.Cosigner

// AddCosignature gives the venue this device's cosignature of a checkpoint
// of log: note is the checkpoint as the venue served it followed by the
// device's cosignature line (c2sp.org/tlog-cosignature).
func (c *Client) AddCosignature(ctx context.Context, log string, note []byte) error {
	_, _, err := c.do(ctx, request{method: "POST", path: "/logs/" + url.PathEscape(log) + "/cosignatures",
		body: note, contentType: "text/plain; charset=utf-8", auth: authDevice})
	return err
}

// Cosignatures returns the cosigned checkpoints the venue holds for log.
func (c *Client) Cosignatures(ctx context.Context, log string) (*Cosignatures, error) {
	auth := authNone
	if log != "register" {
		auth = authDevice
	}
	data, _, err := c.do(ctx, request{method: "GET", path: "/logs/" + url.PathEscape(log) + "/cosignatures", auth: auth})
	if err != nil {
		return nil, err
	}
	if len(data) > 8<<20 {
		return nil, fmt.Errorf("cosignatures of %s: answer too large", log)
	}
	var out Cosignatures
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("failed to decode cosignatures of %s: %w", log, err)
	}
	return &out, nil
}
