package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/desk"
	"github.com/good-offices/goodoffices/internal/dirlock"
)

func init() {
	register(&command{name: "desk init", summary: "create a delegate's desk: device key and certificate request", run: runDeskInit})
	register(&command{name: "desk enroll", summary: "pin the venue, check the device certificate and register the device", run: runDeskEnroll})
	register(&command{name: "desk parties", summary: "list accredited delegations and their root-key fingerprints", run: runDeskParties})
	register(&command{name: "desk verify-party", summary: "compare a delegation's fingerprint out of band and record it", run: runDeskVerifyParty})
	register(&command{name: "desk sync", summary: "fetch, verify and process every log once", run: runDeskSync})
	register(&command{name: "desk status", summary: "per log: verified checkpoint, pending entries, alarms", run: runDeskStatus})
	register(&command{name: "desk channels", summary: "list the channels of this delegation", run: runDeskChannels})
	register(&command{name: "desk clear-alarm", summary: "resume a log halted by an alarm (after dealing with it)", run: runDeskClearAlarm})
	register(&command{name: "desk recover", summary: "continue a channel's talks in a fresh channel after an alarm", run: runDeskRecover})
	register(&command{name: "desk run", summary: "stay in sync: live delivery, verification, processing", run: runDeskRun})
}

// Environment variables of the desk commands.
const (
	deskHomeEnv       = "GOODOFFICES_DESK_HOME"
	deskPassphraseEnv = "GOODOFFICES_DESK_PASSPHRASE"
	deskDefaultHome   = "goodoffices-desk"
)

// deskFlags are the flags every desk command shares.
type deskFlags struct {
	home, passFile *string
	json           *bool
}

func addDeskFlags(fs *flag.FlagSet, withJSON bool) deskFlags {
	f := deskFlags{
		home:     fs.String("home", "", "desk home `directory` (default $"+deskHomeEnv+" or ./"+deskDefaultHome+")"),
		passFile: fs.String("passphrase-file", "", "read the desk passphrase from `file` (default $"+deskPassphraseEnv+")"),
	}
	if withJSON {
		f.json = fs.Bool("json", false, "print JSON for scripts")
	}
	return f
}

const deskPassphraseHelp = `
The desk keeps its keys, group states and decrypted history in its home
directory, encrypted under a key derived (scrypt) from a passphrase. The
passphrase comes from --passphrase-file, from $GOODOFFICES_DESK_PASSPHRASE
for unattended use, or else from a prompt on the terminal.`

func (f deskFlags) homeDir(env *Env) string {
	if *f.home != "" {
		return *f.home
	}
	if h := env.Getenv(deskHomeEnv); h != "" {
		return h
	}
	return deskDefaultHome
}

func (f deskFlags) passphrase(env *Env) ([]byte, error) { return f.passphraseFor(env, false) }

// passphraseFor is passphrase; on a terminal, without a file or the
// environment variable, it prompts (twice when creating the desk).
func (f deskFlags) passphraseFor(env *Env, creating bool) ([]byte, error) {
	if *f.passFile != "" {
		return passphraseFile(*f.passFile)
	}
	if p := env.Getenv(deskPassphraseEnv); p != "" {
		return []byte(p), nil
	}
	if p, err := readPassphrase(env, "Desk passphrase: ", creating); !errors.Is(err, errNoTerminal) {
		return p, err
	}
	return nil, &UsageError{Msg: "no passphrase: set $" + deskPassphraseEnv + ", use --passphrase-file, or run on a terminal to be asked"}
}

func deskLogger(env *Env) *slog.Logger {
	return slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// parseAndOpen parses a desk command that takes no arguments and opens its
// desk; the caller closes it.
func (f deskFlags) parseAndOpen(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) (*desk.Desk, error) {
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if err := noArgs(fs); err != nil {
		return nil, err
	}
	return f.open(ctx, env)
}

// deskRunLock is the file in a desk's home that the long-running desk
// process ('desk run', 'desk web') holds an exclusive lock on. Commands
// that do one thing and exit share the home with it (desk.LockFile).
const deskRunLock = "desk.run.lock"

// lockHome takes the exclusive lock of a long-running desk process on the
// desk's home, before the desk is opened: a second one refuses without
// touching the home. It returns nil if the home does not exist (open then
// says so).
func (f deskFlags) lockHome(env *Env, cmd string) (*dirlock.Lock, error) {
	home := f.homeDir(env)
	if _, err := os.Stat(home); err != nil {
		return nil, nil
	}
	l, err := dirlock.Acquire(home, deskRunLock)
	if err != nil {
		return nil, fmt.Errorf("another 'desk run' or 'desk web' uses this desk: %w; stop it first ('goodoffices %s' needs the desk to itself)", err, cmd)
	}
	return l, nil
}

func (f deskFlags) open(ctx context.Context, env *Env) (*desk.Desk, error) {
	if env.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(desk.MemoryLimit)
	}
	pass, err := f.passphrase(env)
	if err != nil {
		return nil, err
	}
	d, err := desk.Open(ctx, f.homeDir(env), pass, desk.Options{Logger: deskLogger(env)})
	if err != nil {
		return nil, fmt.Errorf("failed to open the desk in %s: %w", f.homeDir(env), err)
	}
	return d, nil
}

// offlineFlag adds --offline to a command that shows the desk's state.
func offlineFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("offline", false, "do not sync first: show the state of the desk's last sync (and say when it was)")
}

// syncFirst brings the desk up to date from the venue before a command shows
// its state. With offline, or when the venue cannot be reached, it says on
// standard error that what follows is the state of the last sync, and when
// that was.
func syncFirst(ctx context.Context, env *Env, d *desk.Desk, offline bool) {
	last := func() string {
		var t time.Time
		for _, l := range must(d.Logs(ctx)) {
			if l.Verified.After(t) {
				t = l.Verified
			}
		}
		if t.IsZero() {
			return "never synced: run without --offline, or 'goodoffices desk sync'"
		}
		return "last sync " + t.Local().Format("2006-01-02 15:04:05 MST")
	}
	if offline {
		fmt.Fprintf(env.Stderr, "offline: showing the desk's state as of its %s\n", last())
		return
	}
	if _, err := d.Sync(ctx); err != nil {
		fmt.Fprintf(env.Stderr, "could not sync with the venue (%v); showing the desk's state as of its %s\n", err, last())
	}
}

func deskJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// alarmErr turns a desk alarm into the CLI's AlarmError.
func alarmErr(err error) error {
	var a *desk.Alarm
	if errors.As(err, &a) {
		return &AlarmError{Err: err}
	}
	return err
}

func noArgs(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return &UsageError{Msg: "unexpected arguments: " + strings.Join(fs.Args(), " ")}
	}
	return nil
}

func runDeskInit(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk init", "--delegation NAME --person NAME --role ROLE [--level LEVEL] [--home DIR]", `
Creates a delegate's desk: a fresh Ed25519 device key and the delegate's
profile, in a new home directory encrypted with the desk passphrase. It prints
the device ID and the exact 'goodoffices delegation certify' command that the
head of delegation runs with the root key to certify this device; then run
'goodoffices desk enroll' with the certificate.
`+deskPassphraseHelp+`

Example:
  export GOODOFFICES_DESK_PASSPHRASE='…'
  goodoffices desk init --home tomas --delegation arden --person "Tomas Reig" --role expert`)
	f := addDeskFlags(fs, true)
	del := fs.String("delegation", "", "the delegation (party) this delegate belongs to, e.g. arden")
	person := fs.String("person", "", "the delegate's `name` as colleagues know it")
	role := fs.String("role", "", "`role`: head, expert, adviser, interpreter, logistics, ...")
	level := fs.String("level", "expert", "`level`: "+strings.Join(delegation.Levels, ", "))
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *del == "" || *person == "" || *role == "" {
		fs.Usage()
		return &UsageError{Msg: "--delegation, --person and --role are required"}
	}
	pass, err := f.passphraseFor(env, true)
	if err != nil {
		return err
	}
	home := f.homeDir(env)
	d, err := desk.Init(ctx, home, pass, desk.Profile{Delegation: *del, Person: *person, Role: *role, Level: *level}, desk.Options{Logger: deskLogger(env)})
	if err != nil {
		if errors.Is(err, desk.ErrStoreExists) {
			return &UsageError{Msg: err.Error() + ": " + home}
		}
		return err
	}
	defer d.Close()
	req, err := d.CertificateRequest()
	if err != nil {
		return err
	}
	cmd := fmt.Sprintf("goodoffices delegation certify --key %s.root --device %s --person %q --role %s --level %s --out %s.cert",
		*del, d.DeviceID(), *person, *role, *level, filepath.Base(home))
	if *f.json {
		return deskJSON(env.Stdout, map[string]string{"home": home, "device": d.DeviceID(), "certify": cmd, "request": string(req)})
	}
	fmt.Fprintf(env.Stdout, "desk created in %s\ndevice: %s\n\nAsk the head of delegation to certify this device with the root key:\n\n  %s\n\nthen enroll it:\n\n  goodoffices desk enroll --home %s --venue URL --venue-key KEY --cert %s.cert\n",
		home, d.DeviceID(), cmd, home, filepath.Base(home))
	return nil
}

func runDeskEnroll(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk enroll", "--venue URL --cert FILE [--venue-key KEY] [--home DIR]", `
Pins the venue, verifies its accreditation register, checks that the device
certificate is for this device and chains to this delegation's accredited
root, and registers the device with the venue.

--venue-key is the venue's verifier key, as the host published it: give it
whenever you can. Without it the desk trusts the key the venue presents now
(trust on first use) and prints it: compare it with the host out of band.
`+deskPassphraseHelp+`

Example:
  goodoffices desk enroll --home tomas --venue http://127.0.0.1:8470 \
      --venue-key 'goodoffices.localhost+1a2b3c4d+AR…' --cert tomas.cert`)
	f := addDeskFlags(fs, true)
	venueURL := fs.String("venue", "", "venue `URL`, e.g. http://127.0.0.1:8470 (or $GOODOFFICES_VENUE)")
	venueKey := fs.String("venue-key", "", "the venue's verifier `key`, from the host")
	certFile := fs.String("cert", "", "device certificate `file` from 'goodoffices delegation certify'")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *venueURL == "" {
		*venueURL = env.Getenv("GOODOFFICES_VENUE")
	}
	if *venueURL == "" || *certFile == "" {
		fs.Usage()
		return &UsageError{Msg: "--venue and --cert are required"}
	}
	cert, err := os.ReadFile(*certFile)
	if err != nil {
		return fmt.Errorf("failed to read the certificate: %w", err)
	}
	if len(cert) > delegation.MaxCertificateSize {
		return &UsageError{Msg: "the certificate file is too large"}
	}
	d, err := f.open(ctx, env)
	if err != nil {
		return err
	}
	defer d.Close()
	vi, err := d.Enroll(ctx, *venueURL, *venueKey, cert)
	if err != nil {
		return alarmErr(err)
	}
	if *f.json {
		return deskJSON(env.Stdout, vi)
	}
	fmt.Fprintf(env.Stdout, "enrolled with venue %s at %s\nvenue key: %s\n", vi.Name, vi.URL, vi.VerifierKey)
	if *venueKey == "" {
		fmt.Fprintf(env.Stdout, "WARNING: the venue key was not given and is trusted on first use: compare it with the host out of band.\n")
	}
	fmt.Fprintf(env.Stdout, "\nNext: compare the other delegations' fingerprints out of band: goodoffices desk parties --home %s\n", d.Home())
	return nil
}

func runDeskParties(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk parties", "[--home DIR] [--json]", `
Lists the delegations accredited in the venue's register as this desk has
verified it, with the fingerprint of each root key and whether you have
confirmed it out of band (see 'goodoffices desk verify-party'). Run
'goodoffices desk sync' first to see newly accredited delegations.`)
	f := addDeskFlags(fs, true)
	d, err := f.parseAndOpen(ctx, env, fs, args)
	if err != nil {
		return err
	}
	defer d.Close()
	ps, err := d.Parties(ctx)
	if err != nil {
		return err
	}
	if *f.json {
		return deskJSON(env.Stdout, ps)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DELEGATION\tFINGERPRINT\tCONFIRMED")
	for _, p := range ps {
		c := "NO — compare out of band, then: goodoffices desk verify-party " + p.Name
		if !p.Confirmed.IsZero() {
			c = p.Confirmed.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Name, p.Fingerprint, c)
	}
	return tw.Flush()
}

func runDeskVerifyParty(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk verify-party", "NAME [--fingerprint FP] [--home DIR]", `
Shows the short fingerprint of a delegation's root key as the venue's
verified register holds it. Compare it out of band with that delegation
(in person, on a call you trust): they read theirs with 'goodoffices
delegation show'. When it matches, record it with --fingerprint, typing what
they read to you. Until then this desk accepts no device of that delegation
into any channel.

Example:
  goodoffices desk verify-party borealia
  goodoffices desk verify-party borealia --fingerprint K7QF-2M4X-Y3ZA-PL6D-W2HN-Q5TR`)
	f := addDeskFlags(fs, true)
	fp := fs.String("fingerprint", "", "the fingerprint the delegation read to you; records the confirmation if it matches")
	name, err := parseOneArg(fs, args)
	if err != nil {
		return err
	}
	if name == "" {
		fs.Usage()
		return &UsageError{Msg: "the delegation NAME is required"}
	}
	d, err := f.open(ctx, env)
	if err != nil {
		return err
	}
	defer d.Close()
	if *fp == "" {
		ps, err := d.Parties(ctx)
		if err != nil {
			return err
		}
		for _, p := range ps {
			if p.Name == name {
				if *f.json {
					return deskJSON(env.Stdout, p)
				}
				fmt.Fprintf(env.Stdout, "delegation %s\nfingerprint %s\n", p.Name, p.Fingerprint)
				if p.Confirmed.IsZero() {
					fmt.Fprintf(env.Stdout, "not confirmed: compare it out of band, then run\n  goodoffices desk verify-party %s --fingerprint <what they read>\n", p.Name)
				} else {
					fmt.Fprintf(env.Stdout, "confirmed %s\n", p.Confirmed.Format(time.RFC3339))
				}
				return nil
			}
		}
		return fmt.Errorf("%w: %s", desk.ErrUnknownParty, name)
	}
	p, err := d.VerifyParty(ctx, name, *fp)
	if errors.Is(err, desk.ErrFingerprint) {
		// Never print the expected fingerprint here: it would invite copying
		// it instead of comparing it in person.
		return &AlarmError{Err: fmt.Errorf("delegation %s: %w. Do NOT proceed: compare the fingerprint again with the delegation, in person or by a channel you trust, reading it from their device", name, err)}
	}
	if err != nil {
		return err
	}
	if *f.json {
		return deskJSON(env.Stdout, p)
	}
	fmt.Fprintf(env.Stdout, "confirmed delegation %s (%s)\n", p.Name, p.Fingerprint)
	return nil
}

func runDeskSync(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk sync", "[--home DIR] [--json]", `
Fetches the venue's register and every channel log of this delegation,
verifies each checkpoint (venue signature, consistency with the last one
accepted) and the inclusion of each entry, and processes the new entries in
log order. A log that fails verification is halted, its evidence kept under
<home>/evidence/, and the command exits with status 3. A venue that cannot
be reached is not an alarm: run sync again later. On a terminal, a backlog of
more than a few hundred entries shows a progress bar on stderr (entries,
rate, time left).`)
	f := addDeskFlags(fs, true)
	d, err := f.parseAndOpen(ctx, env, fs, args)
	if err != nil {
		return err
	}
	defer d.Close()
	if isTerminal(env.Stderr) {
		bar := &progressBar{w: env.Stderr}
		d.OnSyncProgress(bar.update)
		defer bar.finish()
	}
	res, err := d.Sync(ctx)
	if err != nil {
		return err
	}
	if *f.json {
		errs := map[string]string{}
		for l, e := range res.Errors {
			errs[l] = e.Error()
		}
		deskJSON(env.Stdout, map[string]any{"errors": errs, "alarms": res.Alarms})
	} else {
		logs, _ := d.Logs(ctx)
		for _, l := range logs {
			line := fmt.Sprintf("%-24s size %d, processed %d", l.Log, l.Size, l.Next)
			if e := res.Errors[l.Log]; e != nil {
				line += ": " + e.Error()
			}
			fmt.Fprintln(env.Stdout, line)
		}
	}
	if len(res.Alarms) > 0 {
		return &AlarmError{Err: res.Alarms[0]}
	}
	return nil
}

func runDeskStatus(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk status", "[--home DIR] [--json]", `
Shows, from the desk's own store and without contacting the venue: the
device and venue, each log's last verified checkpoint, entries verified but
not yet processed (pending), and every alarm with where its evidence is. Exits
with status 3 while any log is halted by an alarm.`)
	f := addDeskFlags(fs, true)
	d, err := f.parseAndOpen(ctx, env, fs, args)
	if err != nil {
		return err
	}
	defer d.Close()
	s, err := d.Status(ctx)
	if err != nil {
		return err
	}
	if *f.json {
		deskJSON(env.Stdout, s)
	} else {
		fmt.Fprintf(env.Stdout, "device %s (%s, %s of %s)\n", s.Device, s.Profile.Person, s.Profile.Role, s.Profile.Delegation)
		if s.Venue != nil {
			fmt.Fprintf(env.Stdout, "venue  %s at %s\n", s.Venue.Name, s.Venue.URL)
			if s.KeyPackages >= 0 {
				fmt.Fprintf(env.Stdout, "key packages on the venue: %d one-time (and a last-resort one)\n", s.KeyPackages)
			}
		} else {
			fmt.Fprintln(env.Stdout, "venue  (not enrolled)")
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "\nLOG\tVERIFIED SIZE\tPROCESSED\tPENDING\tVERIFIED AT\tSTATE")
		for _, l := range s.Logs {
			state := "ok"
			switch {
			case l.Alarm != nil:
				state = "ALARM " + l.Alarm.Kind + ": halted"
			case l.Blocked != "":
				state = "waiting: " + l.Blocked
			}
			at := "-"
			if !l.Verified.IsZero() {
				at = l.Verified.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\n", l.Log, l.Size, l.Next, l.Pending(), at, state)
		}
		tw.Flush()
		printConfirmations(env, s.Confirmations) // desk_cosign.go
		for _, a := range s.Alarms {
			fmt.Fprintf(env.Stdout, "\nALARM %s on %s at %s: %s\n  evidence: %s\n", a.Kind, a.Log, a.Time.Format(time.RFC3339), a.Detail, a.Evidence)
			if c := a.Cleared; c != nil {
				fmt.Fprintf(env.Stdout, "  cleared by %s (%s) at %s: %s\n", c.Person, c.Delegation, c.Time.Format(time.RFC3339), c.Reason)
			}
		}
		for _, r := range s.Recovered {
			fmt.Fprintf(env.Stdout, "\n%s continues in %s since %s (verified history: entries 0 to %d)\n", r.From, r.To, r.Time.Format(time.RFC3339), r.Size-1)
		}
		for _, c := range s.Continued {
			fmt.Fprintf(env.Stdout, "\nthe talks in %s go on from those of %s (its entries 0 to %d)\n", c.Channel, c.From, c.Size-1)
		}
	}
	if h := s.Halted(); len(h) > 0 {
		return &AlarmError{Err: h[0]}
	}
	return nil
}

func runDeskChannels(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk channels", "[--home DIR] [--json]", `
Syncs, then lists the channels of this delegation: kind, level, member
delegations (metadata the venue knows), the desk's verified state of each
channel's log, and the MLS cipher suite of its group (PQ: post-quantum,
X-Wing; CLASSICAL: not post-quantum, see 'desk upgrade'; - : this desk is not
in the group). With --offline it shows the last sync's state and says when
that was.`)
	f := addDeskFlags(fs, true)
	offline := offlineFlag(fs)
	d, err := f.parseAndOpen(ctx, env, fs, args)
	if err != nil {
		return err
	}
	defer d.Close()
	syncFirst(ctx, env, d, *offline)
	cs, err := d.Channels(ctx)
	if err != nil {
		return err
	}
	if *f.json {
		return deskJSON(env.Stdout, cs)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHANNEL\tKIND\tLEVEL\tMEMBERS\tVERIFIED SIZE\tPENDING\tSUITE")
	for _, c := range cs {
		suite := "-"
		if si, err := d.ChannelSuite(ctx, c.ID); err == nil {
			suite = si.Code + " CLASSICAL"
			if si.PostQuantum {
				suite = si.Code + " PQ"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", c.ID, c.Kind, c.Level, strings.Join(c.Members, ","), c.State.Size, c.State.Pending(), suite)
	}
	return tw.Flush()
}

func runDeskClearAlarm(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk clear-alarm", "LOG --reason TEXT [--home DIR]", `
Resumes processing of a log halted by an alarm. Do this only after the
evidence has been saved and the alarm dealt with. The alarm and its evidence
are kept: the alarm is marked cleared, with who cleared it (this desk's
delegate and device), when and --reason, and 'desk status' shows it as
cleared. The desk keeps the checkpoint it last accepted, so a venue that
keeps serving the same bad data raises the alarm again at the next sync: to
go on after a fork, continue the talks in a fresh channel ('desk recover').

Example:
  goodoffices desk clear-alarm wg1 --reason "fork reported to the host; talks continue in wg1b"`)
	f := addDeskFlags(fs, false)
	reason := fs.String("reason", "", "why the alarm is cleared (`TEXT`, recorded with it)")
	log, err := parseOneArg(fs, args)
	if err != nil {
		return err
	}
	if log == "" || strings.TrimSpace(*reason) == "" {
		fs.Usage()
		return &UsageError{Msg: "the LOG (channel ID, 'register' or 'revocations') and --reason are required"}
	}
	d, err := f.open(ctx, env)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.ClearAlarmBecause(ctx, log, *reason); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "alarms of %s cleared (evidence kept): %s\n", log, *reason)
	return nil
}

func runDeskRecover(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk recover", "--channel C --to NEW [--reason TEXT] [--clear-alarm TEXT] [--home DIR]", `
Continues the talks of channel C, whose log the venue forked (or rolled back,
or rewrote), in the fresh channel NEW, which the host has created with the
same member delegations. Clear C's alarm first ('desk clear-alarm'), or in
the same step with --clear-alarm REASON (a venue that keeps serving the bad
log raises the alarm again at any sync in between, 'desk run' included):
its evidence stays. The desk sends, as the first message in NEW, a recovery
notice carrying C's last good checkpoint — the venue-signed commitment to
the history this desk verified, entries 0 to size-1 — and stops syncing C,
whose verified history stays readable ('desk read C'). Every other party's
desk verifies the notice against its own view of C (signature, then
consistency of the two checkpoints) and shows the result on it in 'desk read
NEW'; a notice that does not agree raises an alarm there. The talks go on
where they were: on every desk that sent or verified the notice, the talks
of NEW start from those of C after the entries carried ('desk talks NEW'),
and the desk refuses to send in C. Before sending, the desk starts NEW's
group if it has none and adds the missing devices: it refuses while a party
has no device there (that party could never read the notice), and refuses a
NEW where something was said already. Run it again after an error: a notice
that reached the venue though its answer was lost is found and kept.

Examples:
  goodoffices desk recover --channel wg1 --to wg1b
  goodoffices desk recover --channel wg1 --to wg1b --clear-alarm "fork of wg1 reported to the host"`)
	f := addDeskFlags(fs, false)
	from := fs.String("channel", "", "the channel `C` to continue")
	to := fs.String("to", "", "the fresh channel `NEW`")
	reason := fs.String("reason", "", "a word to the other parties (`TEXT`)")
	clearReason := fs.String("clear-alarm", "", "first clear C's alarm, recording why (`TEXT`), as 'desk clear-alarm' does")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *from == "" || *to == "" {
		fs.Usage()
		return &UsageError{Msg: "--channel and --to are required"}
	}
	d, err := f.open(ctx, env)
	if err != nil {
		return err
	}
	defer d.Close()
	cleared := strings.TrimSpace(*clearReason) != ""
	if cleared {
		if err := d.ClearAlarmBecause(ctx, *from, strings.TrimSpace(*clearReason)); err != nil {
			return err
		}
	}
	r, err := d.Recover(ctx, *from, *to, *reason)
	if err != nil && cleared {
		return fmt.Errorf("the alarms of %s are cleared (evidence kept), but the talks were not continued: %w", *from, err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "channel %s continues in %s: recovery notice at entry %d carries its verified history, entries 0 to %d\n", r.From, r.To, r.Index, r.Size-1)
	return nil
}

func runDeskRun(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk run", "[--home DIR] [--interval D]", `
Keeps the desk in sync until interrupted (Ctrl-C): listens to the venue's
live event stream, and for every new entry verifies the log (checkpoint
signature, consistency, inclusion) before processing it; resyncs everything
every --interval and after a reconnect. Prints one line per log that moved,
every alarm, and every change to the meetings of this delegation
("schedule: ...", as 'desk schedule --watch' shows them).`)
	f := addDeskFlags(fs, false)
	interval := fs.Duration("interval", 30*time.Second, "full resync `interval`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	lock, err := f.lockHome(env, "desk run")
	if err != nil {
		return err
	}
	defer lock.Release()
	d, err := f.open(ctx, env)
	if err != nil {
		return err
	}
	defer d.Close()
	fmt.Fprintf(env.Stdout, "desk %s running; Ctrl-C to stop\n", d.DeviceID())
	var mu sync.Mutex // one line at a time from the log and schedule watchers
	say := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(env.Stdout, s)
	}

	// Schedule changes of this delegation's meetings arrive by long poll
	// (desk.WatchSchedule); this goroutine ends with runCtx.
	runCtx, cancel := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		err := d.WatchSchedule(runCtx, desk.ScheduleOptions{}, func(c desk.ScheduleChange) error {
			for _, line := range c.Changes {
				say("schedule: " + line)
			}
			return nil
		})
		if err != nil && runCtx.Err() == nil {
			say("schedule: not watched: " + err.Error())
		}
	}()
	defer func() { cancel(); <-watched }()

	return d.Run(runCtx, *interval, func(logs []string) {
		all, _ := d.Logs(runCtx)
		for _, l := range all {
			for _, m := range logs {
				if l.Log == m {
					s := fmt.Sprintf("%s size %d processed %d", l.Log, l.Size, l.Next)
					if l.Alarm != nil {
						s = "ALARM " + l.Alarm.Error()
					}
					say(s)
				}
			}
		}
	})
}
