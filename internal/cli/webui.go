package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/good-offices/goodoffices/schedule"
	"github.com/good-offices/goodoffices/venue"
	"github.com/good-offices/goodoffices/venue/client"
	"github.com/good-offices/goodoffices/web/deskui"
	"github.com/good-offices/goodoffices/web/venueui"
)

// The delegate's web interface, served by the desk itself (package
// web/deskui). It uses the desk commands' flags and passphrase handling.

func init() {
	register(&command{name: "desk web", summary: "serve the desk's web interface on loopback and stay in sync", run: runDeskWeb})
	register(&command{name: "host web", summary: "serve the host's web interface to the venue on loopback", run: runHostWeb})
}

func runHostWeb(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "host web", "[--venue URL] [--admin-file FILE] [--listen 127.0.0.1:PORT]", `
Serves the host's web interface to a venue on a loopback address:
accredited delegations and their devices, channels (metadata only: the
venue has nothing else), rooms, the schedule as a week calendar, and which
parties are ready for a high-level meeting. The host acts there too:
accredit a delegation (after comparing the fingerprint of its root key with
its head), add and remove rooms, propose, change, move, confirm and cancel
meetings. A request that breaks a scheduling rule is refused with every
reason; send it again with exactly those rules ticked to override them.

It talks to the venue's API with the admin credential. It prints a one-time
sign-in link; the sign-in page also accepts the admin credential itself.

Examples:
  goodoffices host web
  goodoffices host web --venue https://venue.caspia.example --admin-file /secure/admin.token`)
	venueURL := fs.String("venue", "http://"+venue.DefaultListen, "venue `URL` (or $GOODOFFICES_VENUE)")
	adminFile := fs.String("admin-file", filepath.Join(venue.DefaultDataDir, venue.AdminFile), "host admin credential `file` (or the credential itself in $GOODOFFICES_ADMIN)")
	listen := fs.String("listen", "127.0.0.1:8472", "loopback `address` to serve the interface on")
	talks := fs.String("talks", "", "name of the talks, for display")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &UsageError{Msg: "unexpected arguments: " + fmt.Sprint(fs.Args())}
	}
	u := *venueURL
	if e := env.Getenv("GOODOFFICES_VENUE"); e != "" && !isFlagSet(fs, "venue") {
		u = e
	}
	cred := env.Getenv("GOODOFFICES_ADMIN")
	if cred == "" || isFlagSet(fs, "admin-file") {
		b, err := os.ReadFile(*adminFile)
		if err != nil {
			return fmt.Errorf("failed to read the admin credential (see --admin-file): %w", err)
		}
		cred = strings.TrimSpace(string(b))
	}
	// Check the venue once, now, and say plainly what is wrong.
	if err := checkHostVenue(ctx, u, cred); err != nil {
		return err
	}
	ui, err := venueui.New(venueui.Options{VenueURL: u, Admin: cred, Talks: *talks, Logger: slog.New(slog.NewTextHandler(env.Stderr, nil))})
	if err != nil {
		return err
	}
	if err := ui.Listen(*listen); err != nil {
		return &UsageError{Msg: err.Error()}
	}
	fmt.Fprintf(env.Stdout, "host web interface on %s\nopen (works once): %s\nEnter for a new link, Ctrl-C to stop\n", ui.URL(), ui.LoginURL())
	go printLinksOnEnter(env, ui.LoginURL)
	return ui.Serve(ctx)
}

// checkHostVenue checks, before the host web interface starts, that a
// Good Offices venue answers at u and takes cred as its admin credential;
// otherwise it returns one sentence that says what is wrong.
func checkHostVenue(ctx context.Context, u, cred string) error {
	vc, err := client.New(u, client.WithAdmin(cred))
	if err != nil {
		return &UsageError{Msg: fmt.Sprintf("--venue %s is not a venue URL: %v", u, err)}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	info, err := vc.Info(ctx)
	var ue *url.Error
	switch {
	case errors.As(err, &ue):
		return fmt.Errorf("no venue answers at %s: start it ('goodoffices venue') or give its URL with --venue", u)
	case err != nil || info.VerifierKey == "":
		return fmt.Errorf("%s answers, but it is not a Good Offices venue (a web interface's address?): give the venue's URL with --venue", u)
	}
	var ae *client.Error
	if _, err := vc.Devices(ctx, ""); errors.As(err, &ae) && (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden) {
		return fmt.Errorf("the venue at %s refuses this admin credential: give the admin.token of that venue's data directory with --admin-file", u)
	} else if err != nil {
		return fmt.Errorf("the venue at %s answers, but not to the host: %w", u, err)
	}
	return nil
}

// printLinksOnEnter prints a new one-time sign-in link each time a line
// comes on standard input (Enter in the terminal), which is what the
// interfaces' sign-in page tells a browser whose link was used. Without a
// terminal (stdin at its end) it does nothing.
func printLinksOnEnter(env *Env, link func() string) {
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		fmt.Fprintf(env.Stdout, "open (works once): %s\n", link())
	}
}

func isFlagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func runDeskWeb(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk web", "[--home DIR] [--listen 127.0.0.1:PORT] [--host-delegation NAME] [--zone ZONE]", `
Serves the desk's web interface on a loopback address and keeps the desk in
sync (like 'goodoffices desk run'). It prints a sign-in link with a one-time
token: open it in your browser on this machine. The token works once; the
session it opens lives in a cookie that no other site can use.

The interface shows the channels and messages, the negotiating texts with
brackets, proposals and positions, the package dashboard, the trust panel
(venue key, delegations' fingerprints to confirm, which entries every party
has cosigned, alarms with their evidence and proofs) and your delegation's
schedule in your time zone and the venue's, where the head of delegation
signals readiness for ministerial and leaders' meetings. It lets you act on
all of them. Everything you do there is encrypted by this desk, as on the command
line.`+deskPassphraseHelp)
	f := addDeskFlags(fs, false)
	listen := fs.String("listen", "127.0.0.1:8471", "loopback `address` to serve the interface on")
	host := fs.String("host-delegation", "", "the host's delegation `name` (not a party to the texts)")
	talks := fs.String("talks", "", "name of the talks, for display")
	zone := fs.String("zone", schedule.MachineZone(), "your IANA time `zone`: every time on the pages is shown in it, meetings also in the venue's (default: this machine's)")
	interval := fs.Duration("interval", 30*time.Second, "full resync `interval`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if _, err := schedule.LoadZone(*zone); err != nil {
		return &UsageError{Msg: "--zone: " + err.Error()}
	}
	lock, err := f.lockHome(env, "desk web")
	if err != nil {
		return err
	}
	defer lock.Release()
	d, err := f.open(ctx, env)
	if err != nil {
		return err
	}
	defer d.Close()
	ui, err := deskui.New(deskui.Options{Desk: d, Talks: *talks, Host: *host, Zone: *zone, Logger: deskLogger(env)})
	if err != nil {
		return err
	}
	if err := ui.Listen(*listen); err != nil {
		return &UsageError{Msg: err.Error()}
	}
	fmt.Fprintf(env.Stdout, "desk web interface on %s\nopen (works once): %s\nEnter for a new link, Ctrl-C to stop\n", ui.URL(), ui.LoginURL())
	go printLinksOnEnter(env, ui.LoginURL)
	errc := make(chan error, 2)
	go func() { errc <- ui.Serve(ctx) }()
	go func() { errc <- d.Run(ctx, *interval, ui.Notify) }()
	err = <-errc
	if ctx.Err() != nil {
		<-errc
		return nil
	}
	if err == nil {
		err = errors.New("the desk stopped")
	}
	return err
}
