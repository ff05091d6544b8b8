package cli

import (
	"encoding/json"
	"fmt"

	"github.com/good-offices/goodoffices/proof"
)

// isProofFile reports whether data is a misbehaviour proof (package proof).
func isProofFile(data []byte) bool { return proof.IsProof(data) }

// verifyProof checks a misbehaviour proof offline and says what it proves.
// With venueKey the proof must be signed by that key; without it the report
// says which key signed, to be compared with the venue's.
func verifyProof(env *Env, name string, data []byte, venueKey string, asJSON bool) error {
	p, err := proof.Parse(data)
	if err != nil {
		return &AlarmError{Err: fmt.Errorf("%s is not a well-formed misbehaviour proof: %w", name, err)}
	}
	r, err := proof.Verify(p, venueKey)
	if err != nil {
		return &AlarmError{Err: fmt.Errorf("%s does not verify: %w", name, err)}
	}
	if asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			*proof.Result
			Pinned bool `json:"venue_key_pinned"`
		}{r, venueKey != ""})
	}
	fmt.Fprint(env.Stdout, r.String())
	if venueKey != "" {
		fmt.Fprintln(env.Stdout, "The venue key is PINNED (--venue-key): the venue you enrolled with signed both checkpoints.")
	} else {
		fmt.Fprintln(env.Stdout, "The venue key was NOT pinned: compare the key above with the one your desk pinned at enrolment (--venue-key).")
	}
	return nil
}
