package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/good-offices/goodoffices/web/deskui"
)

// The delegate's web interface, served by the desk itself (package
// web/deskui). It uses the desk commands' flags and passphrase handling.

func init() {
	register(&command{name: "desk web", summary: "serve the desk's web interface on loopback and stay in sync", run: runDeskWeb})
}

func runDeskWeb(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk web", "[--home DIR] [--listen 127.0.0.1:PORT] [--host-delegation NAME] [--zone ZONE]", `
Serves the desk's web interface on a loopback address and keeps the desk in
sync (like 'goodoffices desk run'). It prints a sign-in link with a one-time
token: open it in your browser on this machine. The token works once; the
session it opens lives in a cookie that no other site can use.

The interface shows the channels and messages, the negotiating texts with
brackets, proposals and positions, the package dashboard, the trust panel
(venue key, delegations' fingerprints, alarms with evidence) and lets you act
on them. Everything you do there is encrypted by this desk, as on the command
line.`+deskPassphraseHelp)
	f := addDeskFlags(fs, false)
	listen := fs.String("listen", "127.0.0.1:8471", "loopback `address` to serve the interface on")
	host := fs.String("host-delegation", "", "the host's delegation `name` (not a party to the texts)")
	talks := fs.String("talks", "", "name of the talks, for display")
	zone := fs.String("zone", "", "your IANA time `zone` for the schedule (default: the venue's)")
	interval := fs.Duration("interval", 30*time.Second, "full resync `interval`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
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
	fmt.Fprintf(env.Stdout, "desk web interface on %s\nopen (works once): %s\nCtrl-C to stop\n", ui.URL(), ui.LoginURL())
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
