package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/negotiation"
	"github.com/good-offices/goodoffices/outcome"
)

// TestSignOutcome: the head signs a signing request offline; the signature
// file verifies under the root key; a request for another key, a changed
// request and a dry run sign nothing.
func TestSignOutcome(t *testing.T) {
	t.Setenv(passphraseEnv, "head's passphrase")
	dir := t.TempDir()
	roots := map[string]*delegation.RootKey{}
	var parties []outcome.Party
	for _, name := range []string{"arden", "borealia", "caspia"} {
		k, err := delegation.GenerateRoot(name)
		if err != nil {
			t.Fatal(err)
		}
		roots[name] = k
		if err := delegation.SaveRoot(filepath.Join(dir, name+".root"), k, []byte("head's passphrase")); err != nil {
			t.Fatal(err)
		}
		if name != "caspia" {
			parties = append(parties, outcome.Party{ID: name, Name: name, RootKey: k.Public()})
		}
	}
	seed, _ := outcome.NewSeed()
	b, err := outcome.New(outcome.Draft{Talks: "Talks", Text: "joint-statement", Version: 3, Parties: parties, Seed: seed,
		Languages: []negotiation.Language{
			{Lang: "en", Title: "Joint Statement", Paragraphs: []string{"The Parties agree."}},
			{Lang: "ru", Title: "Совместное заявление", Paragraphs: []string{"Стороны согласны."}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	req, err := outcome.NewSigningRequest(b, "wg1")
	if err != nil {
		t.Fatal(err)
	}
	reqFile := filepath.Join(dir, "request.json")
	os.WriteFile(reqFile, req.Marshal(), 0o644)
	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := Main(t.Context(), args, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}

	code, out, errOut := run("delegation", "sign-outcome", "--dry-run", reqFile)
	if code != 0 || !strings.Contains(out, "Стороны согласны.") || !strings.Contains(out, b.Digest) || !strings.Contains(out, "nothing signed") {
		t.Fatalf("dry run: %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "joint-statement.arden.signature.json")); err == nil {
		t.Fatal("a dry run wrote a signature")
	}
	code, out, errOut = run("delegation", "sign-outcome", "--key", filepath.Join(dir, "arden.root"), reqFile)
	if code != 0 || !strings.Contains(out, "Signed for arden") {
		t.Fatalf("sign: %d\n%s%s", code, out, errOut)
	}
	data, err := os.ReadFile(filepath.Join(dir, "joint-statement.arden.signature.json"))
	if err != nil {
		t.Fatal(err)
	}
	sf, err := outcome.ParseSignatureFile(data)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := b.DigestBytes()
	if err := sf.Check(roots["arden"].Public(), d); err != nil || sf.Party != "arden" || sf.Channel != "wg1" {
		t.Fatalf("signature file: %v %+v", err, sf)
	}
	if err := b.AddSignature("arden", sf.Signature); err != nil {
		t.Fatal(err)
	}
	// The host's root key is not a party's.
	if code, _, errOut := run("delegation", "sign-outcome", "--key", filepath.Join(dir, "caspia.root"), reqFile); code != ExitUsage || !strings.Contains(errOut, "not a party") {
		t.Fatalf("host's key: %d %s", code, errOut)
	}
	// A request naming another key for arden: refused, loudly.
	other, _ := delegation.GenerateRoot("arden")
	delegation.SaveRoot(filepath.Join(dir, "other.root"), other, []byte("head's passphrase"))
	if code, _, errOut := run("delegation", "sign-outcome", "--key", filepath.Join(dir, "other.root"), "--out", filepath.Join(dir, "x.json"), reqFile); code != ExitAlarm || !strings.Contains(errOut, "do not sign") {
		t.Fatalf("other key: %d %s", code, errOut)
	}
	// A request whose text was changed after the digest: refused.
	bad := bytes.Replace(req.Marshal(), []byte("The Parties agree."), []byte("The Parties disagree."), 1)
	os.WriteFile(reqFile, bad, 0o644)
	if code, _, errOut := run("delegation", "sign-outcome", "--key", filepath.Join(dir, "arden.root"), "--out", filepath.Join(dir, "y.json"), reqFile); code != ExitAlarm || !strings.Contains(errOut, "differs") {
		t.Fatalf("changed request: %d %s", code, errOut)
	}
	if code, _, _ := run("delegation", "sign-outcome", "--help"); code != 0 {
		t.Fatalf("--help: %d", code)
	}
}
