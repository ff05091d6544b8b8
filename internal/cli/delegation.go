package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/venue/client"
)

func init() {
	register(&command{name: "delegation init", summary: "create a delegation's root key", run: runDelegationInit})
	register(&command{name: "delegation certify", summary: "certify a delegate's device with the root key", run: runDelegationCertify})
	register(&command{name: "delegation show", summary: "print a root key's verifier key and fingerprint", run: runDelegationShow})
	register(&command{name: "delegation revoke", summary: "revoke a lost or compromised device with the root key", run: runDelegationRevoke})
}

// passphraseEnv names the environment variable holding the root key's
// passphrase.
const passphraseEnv = "GOODOFFICES_PASSPHRASE"

func runDelegationInit(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "delegation init", "--name NAME [--key FILE]", `
Creates the root key of a delegation (a party to the talks). The head of
delegation keeps it offline; it certifies the delegates' devices and signs
outcomes. The file is written with mode 0600 and is encrypted with the
passphrase from --passphrase-file or $GOODOFFICES_PASSPHRASE (scrypt +
ChaCha20-Poly1305), or else one asked twice on the terminal (without echo);
with none of them (no terminal) the key is stored unencrypted and a warning
is printed. Every command that uses the root key reads its passphrase the
same way.

It prints the verifier key, which the host accredits, and the fingerprint,
which the other parties compare with you out of band (in person, on a call).

Example:
  GOODOFFICES_PASSPHRASE='…' goodoffices delegation init --name arden`)
	name := fs.String("name", "", "delegation `name`: 1-64 of a-z, 0-9, '-', '.' (e.g. arden)")
	keyPath := fs.String("key", "", "root key `file` to create (default <name>.root)")
	passFile := rootPassFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *name == "" || fs.NArg() > 0 {
		fs.Usage()
		return &UsageError{Msg: "--name is required"}
	}
	if *keyPath == "" {
		*keyPath = *name + ".root"
	}
	k, err := delegation.GenerateRoot(*name)
	if err != nil {
		return &UsageError{Msg: err.Error()}
	}
	pass, err := rootPassphrase(env, *passFile)
	if err != nil {
		return err
	}
	if len(pass) == 0 {
		p, err := readPassphrase(env, "Passphrase for the root key: ", true)
		switch {
		case errors.Is(err, errNoTerminal):
			fmt.Fprintf(env.Stderr, "warning: $%s is not set; the root key is stored unencrypted\n", passphraseEnv)
		case err != nil:
			return err
		}
		pass = p
	}
	if err := delegation.SaveRoot(*keyPath, k, pass); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "root key: %s\nverifier key: %s\nfingerprint: %s\n", *keyPath, k.VerifierKey(), delegation.Fingerprint(k.VerifierKey()))
	return nil
}

// rootPassFlag adds --passphrase-file to a command that uses the root key.
func rootPassFlag(fs *flag.FlagSet) *string {
	return fs.String("passphrase-file", "", "read the root key's passphrase from `file` (default $"+passphraseEnv+", or else a prompt on the terminal)")
}

// rootPassphrase is the root key's passphrase from file, or else from the
// environment; nil if neither gives one. A passphrase is never an argument
// (other users of the machine see those).
func rootPassphrase(env *Env, file string) ([]byte, error) {
	if file != "" {
		return passphraseFile(file)
	}
	return []byte(env.Getenv(passphraseEnv)), nil
}

func loadRoot(env *Env, path, passFile string) (*delegation.RootKey, error) {
	pass, err := rootPassphrase(env, passFile)
	if err != nil {
		return nil, err
	}
	k, err := delegation.LoadRoot(path, pass)
	if err != nil && len(pass) == 0 {
		// Encrypted, and no passphrase in the environment: ask on a terminal.
		if p, perr := readPassphrase(env, "Passphrase for the root key "+path+": ", false); perr == nil {
			k, err = delegation.LoadRoot(path, p)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("failed to load root key %s: %w", path, err)
	}
	return k, nil
}

func runDelegationCertify(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "delegation certify", "--key FILE --device ID --person NAME --role ROLE --level LEVEL [--out FILE]", `
Signs a device certificate with the delegation's root key: "this device key
belongs to this delegate of ours, at this level, until this date". The venue
registers a device only with such a certificate, and every desk checks it
before it lets the device into a channel.

The device ID is what the delegate's desk prints: the unpadded base64url of
its Ed25519 public key. The certificate (a signed note, plain text) goes to
--out or to standard output.

Example:
  goodoffices delegation certify --key arden.root --device 0Zr… \
      --person "Tomas Reig" --role expert --level expert --out tomas.cert`)
	keyPath := fs.String("key", "", "root key `file`")
	passFile := rootPassFlag(fs)
	device := fs.String("device", "", "device `ID` (base64url of the device public key)")
	person := fs.String("person", "", "the delegate's `name` as colleagues know it")
	role := fs.String("role", "", "`role`: e.g. head, expert, adviser, interpreter, logistics")
	level := fs.String("level", "expert", "`level`: "+strings.Join(delegation.Levels, ", "))
	langs := fs.String("languages", "", "an interpreter's working `languages`, e.g. en,ru,kk (role interpreter only, and required there)")
	valid := fs.Duration("valid-for", 90*24*time.Hour, "validity from now")
	out := fs.String("out", "", "write the certificate to `file` instead of standard output")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *keyPath == "" || *device == "" || *person == "" || *role == "" || fs.NArg() > 0 {
		fs.Usage()
		return &UsageError{Msg: "--key, --device, --person and --role are required"}
	}
	pub, err := delegation.ParseDeviceID(*device)
	if err != nil {
		return &UsageError{Msg: "--device: " + err.Error()}
	}
	if *valid <= 0 {
		return &UsageError{Msg: "--valid-for must be positive"}
	}
	k, err := loadRoot(env, *keyPath, *passFile)
	if err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Second)
	var languages []string
	if *langs != "" {
		languages = strings.Split(*langs, ",")
	}
	c := &delegation.Certificate{Delegation: k.Name, Person: *person, Role: *role, Level: *level, Languages: languages, Device: pub,
		NotBefore: now.Add(-5 * time.Minute), NotAfter: now.Add(*valid)}
	msg, err := k.Certify(c)
	if err != nil {
		return &UsageError{Msg: err.Error()}
	}
	if *out == "" {
		_, err := env.Stdout.Write(msg)
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return fmt.Errorf("failed to create directory: %w", err)
	}
	if err := os.WriteFile(*out, msg, 0o644); err != nil {
		return fmt.Errorf("failed to write certificate: %w", err)
	}
	fmt.Fprintf(env.Stdout, "certificate for %s (%s, %s) written to %s, valid until %s\n", *person, *role, *level, *out, c.NotAfter.Format(time.RFC3339))
	return nil
}

func runDelegationShow(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "delegation show", "--key FILE | VERIFIER-KEY", `
Prints the name, verifier key and fingerprint of a root key file, or the
fingerprint of a verifier key given as argument (to compare with what another
party reads out to you).`)
	keyPath := fs.String("key", "", "root key `file`")
	passFile := rootPassFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var vkey string
	switch {
	case *keyPath != "" && fs.NArg() == 0:
		k, err := loadRoot(env, *keyPath, *passFile)
		if err != nil {
			return err
		}
		vkey = k.VerifierKey()
	case *keyPath == "" && fs.NArg() == 1:
		vkey = fs.Arg(0)
		if parts := strings.SplitN(vkey, "+", 3); len(parts) != 3 {
			return &UsageError{Msg: "not a verifier key (name+hash+key)"}
		}
	default:
		fs.Usage()
		return &UsageError{Msg: "give --key FILE or one verifier key"}
	}
	fmt.Fprintf(env.Stdout, "delegation: %s\nverifier key: %s\nfingerprint: %s\n", vkey[:strings.Index(vkey, "+")], vkey, delegation.Fingerprint(vkey))
	return nil
}

func runDelegationRevoke(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "delegation revoke", "--key FILE --device ID [--venue URL] [--out FILE]", `
Revokes a delegate's device (a lost or compromised laptop): the root key
signs "this device no longer belongs to us". With --venue the revocation is
sent to the venue, which logs it in its public revocations log
(/logs/revocations/) and refuses the device from then on; with --out (or on
standard output) you get the signed revocation to send later.

Example:
  goodoffices delegation revoke --key arden.root --device 0Zr… --venue http://127.0.0.1:8470`)
	keyPath := fs.String("key", "", "root key `file`")
	passFile := rootPassFlag(fs)
	device := fs.String("device", "", "device `ID` to revoke")
	venueURL := fs.String("venue", "", "send the revocation to the venue at this `URL`")
	out := fs.String("out", "", "write the revocation to `file`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *keyPath == "" || *device == "" || fs.NArg() > 0 {
		fs.Usage()
		return &UsageError{Msg: "--key and --device are required"}
	}
	pub, err := delegation.ParseDeviceID(*device)
	if err != nil {
		return &UsageError{Msg: "--device: " + err.Error()}
	}
	k, err := loadRoot(env, *keyPath, *passFile)
	if err != nil {
		return err
	}
	msg, err := k.Revoke(pub)
	if err != nil {
		return err
	}
	if *out != "" {
		if err := os.WriteFile(*out, msg, 0o644); err != nil {
			return fmt.Errorf("failed to write revocation: %w", err)
		}
	}
	if *venueURL == "" {
		if *out == "" {
			_, err := env.Stdout.Write(msg)
			return err
		}
		fmt.Fprintf(env.Stdout, "revocation of %s written to %s\n", *device, *out)
		return nil
	}
	c, err := client.New(*venueURL)
	if err != nil {
		return &UsageError{Msg: err.Error()}
	}
	idx, err := c.Revoke(ctx, msg)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "device %s revoked (revocations log entry %d)\n", *device, idx)
	return nil
}
