package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/good-offices/goodoffices/outcome"
)

func init() {
	register(&command{name: "delegation sign-outcome", summary: "sign an adopted text's digest with the root key (offline)", run: runDelegationSignOutcome})
}

func runDelegationSignOutcome(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "delegation sign-outcome", "--key FILE [--out FILE] [--dry-run] [--json] REQUEST", `
Signs an adopted text for your delegation with its ROOT key: the step that
makes a Joint Statement (or any outcome) binding for your side. It is meant
for the head of delegation, on the air-gapped machine that holds the root
key; nothing here touches the network.

REQUEST is the signing request a desk of your delegation exported
('goodoffices desk signing-request'), carried over on a USB stick. It holds
the adopted text in every authentic language and the digest that commits to
all of them. This command recomputes the digest from the text, prints the
text in every language so that you can read what you sign, and writes a
signature file (default <text>.<delegation>.signature.json next to REQUEST).
Carry that file back; 'goodoffices desk post-signature' posts it into the
channel, where every party's desk checks it against your root key.

On a terminal it asks before signing what it showed; --yes signs without
asking. The root key's passphrase comes from $GOODOFFICES_PASSPHRASE (or,
on a terminal, a prompt). With --dry-run the text is shown and nothing is
signed.

Example:
  GOODOFFICES_PASSPHRASE='…' goodoffices delegation sign-outcome \
      --key arden.root joint-statement.signing-request.json`)
	keyPath := fs.String("key", "", "the delegation's root key `file`")
	passFile := rootPassFlag(fs)
	out := fs.String("out", "", "signature `file` to write")
	dry := fs.Bool("dry-run", false, "show what would be signed; sign nothing")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	yes := fs.Bool("yes", false, "sign without asking (on a terminal it asks)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || (*keyPath == "" && !*dry) {
		fs.Usage()
		return &UsageError{Msg: "want --key FILE and exactly one REQUEST file"}
	}
	data, err := readLimited(fs.Arg(0), outcome.MaxFileBytes)
	if err != nil {
		return err
	}
	req, err := outcome.ParseSigningRequest(data)
	if err != nil {
		return &AlarmError{Err: fmt.Errorf("%s: %w", fs.Arg(0), err)}
	}
	b := req.Bundle
	w := env.Stdout
	if *asJSON {
		w = env.Stderr
	}
	if b.Package != "" {
		fmt.Fprintf(w, "Outcome of %q, channel %s: package %q (%s) of %d documents, adopted together\nParties: ", b.Talks, req.Channel, b.Title, b.Package, len(b.Documents))
	} else {
		fmt.Fprintf(w, "Outcome of %q, channel %s: text %q, version %d\nParties: ", b.Talks, req.Channel, b.Text, b.Version)
	}
	for i, p := range b.Parties {
		if i > 0 {
			fmt.Fprint(w, ", ")
		}
		fmt.Fprintf(w, "%s (%s, root key %s)", p.Name, p.ID, outcome.Fingerprint(p.ID, p.RootKey))
	}
	fmt.Fprintln(w)
	for _, doc := range b.AllDocuments() {
		if b.Package != "" {
			fmt.Fprintf(w, "\n== text %q, version %d\n", doc.Text, doc.Version)
		}
		for _, l := range doc.Languages {
			fmt.Fprintf(w, "\n[%s] %s\n", l.Lang, l.Title.Text)
			for k, p := range l.Paragraphs {
				fmt.Fprintf(w, "  %d. %s\n", k+1, p.Text)
			}
		}
	}
	fmt.Fprintf(w, "\nDigest (commits to every language above): %s\n", b.Digest)
	if *dry {
		fmt.Fprintln(w, "Dry run: nothing signed.")
		return nil
	}
	if !*yes {
		ok, err := confirm(env, fmt.Sprintf("Sign %q (digest %s…) with the root key %s? [y/N] ", b.Text, b.Digest[:16], *keyPath))
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("not signed")
		}
	}
	root, err := loadRoot(env, *keyPath, *passFile)
	if err != nil {
		return err
	}
	var party *outcome.Party
	for i, p := range b.Parties {
		if p.ID == root.Name {
			party = &b.Parties[i]
		}
	}
	if party == nil {
		return &UsageError{Msg: fmt.Sprintf("the root key is %s's, which is not a party to this outcome", root.Name)}
	}
	if !bytes.Equal(root.Public(), party.RootKey) {
		return &AlarmError{Err: fmt.Errorf("the request names another root key for %s (%s) than this one (%s): do not sign",
			root.Name, outcome.Fingerprint(root.Name, party.RootKey), outcome.Fingerprint(root.Name, root.Public()))}
	}
	sf, err := outcome.SignRequest(req, root.Name, root.Signer().Sign)
	if err != nil {
		return err
	}
	d, _ := req.DigestBytes()
	if err := sf.Check(root.Public(), d); err != nil {
		return fmt.Errorf("failed to sign: %w", err)
	}
	if *out == "" {
		name := b.Text
		if b.Package != "" {
			name = b.Package
		}
		*out = filepath.Join(filepath.Dir(fs.Arg(0)), name+"."+root.Name+".signature.json")
	}
	if err := os.WriteFile(*out, sf.Marshal(), 0o644); err != nil {
		return fmt.Errorf("failed to write signature: %w", err)
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"signature_file": *out, "party": root.Name, "text": b.Text, "digest": b.Digest})
	}
	fmt.Fprintf(w, "Signed for %s with root key %s.\nSignature written to %s: post it with\n  goodoffices desk post-signature %s\n",
		root.Name, outcome.Fingerprint(root.Name, root.Public()), *out, *out)
	return nil
}

// readLimited reads at most max bytes of a file, refusing a longer one.
func readLimited(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read the file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("failed to read %s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, &UsageError{Msg: fmt.Sprintf("%s is longer than %d bytes", path, max)}
	}
	return data, nil
}
