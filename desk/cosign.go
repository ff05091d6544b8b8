package desk

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/good-offices/goodoffices/tlog"
)

// Cosigning (c2sp.org/tlog-cosignature): once the desk has verified a
// checkpoint (venue signature, consistency with the last one accepted), it
// cosigns it with its device key, which the delegation's root certified.
// The cosigned checkpoint is kept for the venue's cosignature endpoint
// (issue "Neutrality you can prove"), which does not exist yet.

const prefCosig = "cosig/"

// CosignerName is the desk's cosigner name: "<delegation>/<device ID>".
func (d *Desk) CosignerName() string { return d.profile.Delegation + "/" + d.DeviceID() }

// CosignerKey returns the desk's cosigner verifier key, for
// tlog.NewCosignatureVerifier.
func (d *Desk) CosignerKey() (string, error) {
	return tlog.CosignatureVerifierKey(d.CosignerName(), d.key.Public().(ed25519.PublicKey))
}

// cosign returns the checkpoint note msg with this desk's cosignature line
// appended. msg must have been verified.
func (d *Desk) cosign(msg []byte) ([]byte, error) {
	s, err := tlog.NewCosigner(d.CosignerName(), d.key)
	if err != nil {
		return nil, fmt.Errorf("failed to cosign: %w", err)
	}
	signed, err := note.Sign(&note.Note{Text: string(checkpointBody(msg))}, s)
	if err != nil {
		return nil, fmt.Errorf("failed to cosign: %w", err)
	}
	_, line, ok := strings.Cut(string(signed), "\n\n")
	if !ok {
		return nil, fmt.Errorf("failed to cosign: malformed note")
	}
	return append(append([]byte{}, msg...), line...), nil
}

// Cosigned returns the last verified checkpoint of log with this desk's
// cosignature, or ErrNotFound.
func (d *Desk) Cosigned(ctx context.Context, log string) ([]byte, error) {
	return d.store.Get(ctx, prefCosig+log)
}
