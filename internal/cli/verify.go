package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/good-offices/goodoffices/outcome"
)

func init() {
	register(&command{name: "verify", summary: "check a signed outcome bundle or a briefing, offline", run: runVerify})
}

// pinFlag collects repeated --pin party=FINGERPRINT flags.
type pinFlag outcome.Pins

func (p pinFlag) String() string { return "" }

func (p pinFlag) Set(v string) error {
	party, fp, ok := strings.Cut(v, "=")
	if !ok || party == "" || fp == "" {
		return fmt.Errorf("want PARTY=FINGERPRINT, e.g. arden=K7QF-2M4X-Y3ZA-PL6D-W2HN-Q5TR")
	}
	if _, dup := p[party]; dup {
		return fmt.Errorf("party %q pinned twice", party)
	}
	p[party] = fp
	return nil
}

func runVerify(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "verify", "[--pin PARTY=FINGERPRINT]... [--json] FILE", `
Checks, offline, a signed outcome bundle (an adopted text in its authentic
languages, signed by every party's root key) or a briefing (some paragraphs of
such an outcome, disclosed with proof and nothing else), and says in words what
it proves: which text, which languages or paragraphs, signed by whom.

A channel briefing (exported by 'goodoffices desk brief') shows chosen
messages of a closed channel: verify decrypts each with the keys the
briefing carries for that message alone, checks its sender's signature and
certificate and its inclusion in the channel's cosigned checkpoint, and
lists what it proves.

An outcome bundle exported by a desk also carries the venue's evidence: the
channel's checkpoint, signed by the venue and cosigned by the parties' desks,
and the log entries of the adoption and of each signature with their
inclusion proofs and their senders' device certificates (each checked under
its party's root key). Pin the venue's key with --venue-key.

It also checks a proof of misbehaviour (misbehaviour.proof, exported by a desk
with a fork alarm): two checkpoints signed by the venue that no honest
append-only log can have produced. Pin the venue's key with --venue-key.

Pin each party's root key with the fingerprint you compared in person (the one
'goodoffices delegation show' prints): a file signed by any other key fails.
Without pins the command refuses, unless --trust-embedded-keys says to accept
the keys in the file, which proves only that the file is consistent.

Exit status: 0 if the file verifies, 3 if it does not (one changed byte is
enough), 2 for bad arguments.

Example:
  goodoffices verify --pin arden=K7QF-2M4X-Y3ZA-PL6D-W2HN-Q5TR \
      --pin borealia=Q2LM-... joint-statement.outcome.json`)
	pins := pinFlag{}
	fs.Var(pins, "pin", "pin a party's root key: `PARTY=FINGERPRINT` (repeat for every party)")
	trust := fs.Bool("trust-embedded-keys", false, "accept the root keys in the file without pins (proves consistency only)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	venueKey := fs.String("venue-key", "", "pin the venue's verifier `KEY` (as printed by 'goodoffices venue') for a misbehaviour proof or a bundle's venue evidence")
	needEvidence := fs.Bool("require-evidence", false, "refuse an outcome bundle without the venue's evidence")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return &UsageError{Msg: "want exactly one FILE (an outcome bundle, a briefing or a channel briefing); see --help"}
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("cannot verify: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, outcome.MaxFileBytes+1))
	if err != nil {
		return fmt.Errorf("failed to read %s: %w", fs.Arg(0), err)
	}
	if isProofFile(data) {
		return verifyProof(env, fs.Arg(0), data, *venueKey, *asJSON) // verify_proof.go
	}
	if len(pins) == 0 && !*trust {
		return &UsageError{Msg: "no --pin given: pin every party's root key fingerprint, or pass --trust-embedded-keys"}
	}
	r, err := outcome.Verify(data, outcome.Options{Pins: outcome.Pins(pins), TrustEmbeddedKeys: *trust, VenueKey: *venueKey, RequireEvidence: *needEvidence})
	if err != nil {
		return &AlarmError{Err: fmt.Errorf("%s does not verify: %w", fs.Arg(0), err)}
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	_, err = fmt.Fprint(env.Stdout, r.String())
	return err
}
