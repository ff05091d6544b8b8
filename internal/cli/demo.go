package cli

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/good-offices/goodoffices/web/demo"
)

func init() {
	register(&command{name: "demo", summary: "start a venue and seven desks (the host, its interpreter, two per party and Arden's new adviser) playing the Caspia scenario, with their web UIs", run: runDemo})
}

func runDemo(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "demo", "[flags]", `
Starts, in this one process, everything you need to see Good Offices at work:

  - a venue (the host's server, SQLite, with its schedule),
  - the desks of the host (Caspia) and its interpreter, and of both
    parties (Arden, Borealia): an expert and the head of each delegation,
    and Arden's legal adviser, who joins later,
  - a web interface for each desk and one for the host,

then plays the talks of the Caspia scenario up to a point with something to
see: the Joint Statement in working group 1 with bracketed text and
alternatives, each party's positions, an amendment accepted ad referendum,
messages with replies, a Protocol tabled from a Word document, the host's
interpreter admitted by both parties, the Protocol referred to the
ministers, Arden's new adviser reading working group 1's history through a
hand-over from his head of delegation, the Caspia package (the final Joint
Statement and the Protocol, in English and French, concordance confirmed)
adopted and signed by both root keys, and a leaders' summit waiting for
readiness. Working group 1's Joint Statement stays open to negotiate.

It writes, in DIR/documents, the Protocol as drafted in Word, the Joint
Statement exported as Word, and the signed package, and prints the
'goodoffices verify' command that checks the package offline.

Everything is real: each desk encrypts with MLS, the venue logs ciphertext
in signed Merkle logs, and every desk verifies them before it shows anything.

It prints the URLs to open (each with a one-time sign-in token) and keeps
running until Ctrl-C. Take a position on a paragraph as Arden and watch it
appear on Borealia's desk.

Examples:
  goodoffices demo
  goodoffices demo --dir ./goodoffices-demo`)
	dir := fs.String("dir", "", "data `directory` (must be empty; default: a temporary directory removed at exit)")
	verbose := fs.Bool("v", false, "log what the venue and desks do")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &UsageError{Msg: "unexpected arguments: " + fmt.Sprint(fs.Args())}
	}
	data := *dir
	if data == "" {
		tmp, err := os.MkdirTemp("", "goodoffices-demo-")
		if err != nil {
			return fmt.Errorf("failed to create a temporary directory: %w", err)
		}
		defer os.RemoveAll(tmp)
		data = tmp
	} else {
		if ents, err := os.ReadDir(data); err == nil && len(ents) > 0 {
			return &UsageError{Msg: "--dir " + data + " is not empty: the demo starts from scratch (remove it or pick another)"}
		}
		abs, err := filepath.Abs(data)
		if err == nil {
			data = abs
		}
	}
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(env.Stderr, nil))
	}
	fmt.Fprintln(env.Stdout, "Good Offices demo — talks between Arden and Borealia at the Caspia venue")
	d, err := demo.Start(ctx, demo.Config{Dir: data, Logger: logger, Progress: func(s string) {
		fmt.Fprintln(env.Stdout, "  · "+s)
	}})
	if err != nil {
		return err
	}
	defer d.Close()
	fmt.Fprintf(env.Stdout, "\nVenue API: %s (data in %s)\n", d.VenueURL, data)
	fmt.Fprintf(env.Stdout, "Venue key: %s\n", d.Venue.VerifierKey())
	for _, dl := range d.Delegates {
		if si, err := dl.Desk.ChannelSuite(ctx, "plenary"); err == nil {
			fmt.Fprintf(env.Stdout, "Channels: MLS suite %s (%s), %s\n", si.Name, si.Code, si.Summary)
			break
		}
	}
	if len(d.Documents) > 0 {
		fmt.Fprintf(env.Stdout, "\nDocuments (in %s):\n", d.Out)
		w := 0
		for _, doc := range d.Documents {
			w = max(w, len(filepath.Base(doc.Path)))
		}
		for _, doc := range d.Documents {
			fmt.Fprintf(env.Stdout, "  %-*s  %s\n", w, filepath.Base(doc.Path), doc.What)
		}
	}
	if len(d.VerifyArgs) > 0 {
		fmt.Fprintf(env.Stdout, "Check the signed package offline:\n  goodoffices %s\n", shellQuote(d.VerifyArgs))
	}
	fmt.Fprintf(env.Stdout, "\nOpen in your browser (each link signs you in once):\n\n")
	links := func() {
		fmt.Fprintf(env.Stdout, "  %-32s %s\n", "Venue UI (host, Caspia):", d.VenueUI.LoginURL())
		for _, dl := range d.Delegates {
			fmt.Fprintf(env.Stdout, "  %-32s %s\n", fmt.Sprintf("%s (%s):", dl.Person, demo.Short[dl.Delegation]), dl.UI.LoginURL())
		}
	}
	links()
	fmt.Fprintf(env.Stdout, "\nTry: open Tomas Reig (Arden) and Iryna Holt (Borealia) side by side, take a\nposition on paragraph 3 as Arden, and watch Borealia's desk update. Open Pieter\nOst (Arden) to see working group 1's history handed over to a new desk.\n")
	fmt.Fprintf(env.Stdout, "Press Enter to make the venue cheat (it signs another history of working group 1\nwith its own key; click 'Check the venue now' in a desk's trust panel), Enter\nagain to make it honest. Type links and Enter for new sign-in links. Press Ctrl-C to stop.\n")
	go func() {
		// Enter toggles a hostile venue. Without a terminal (stdin at EOF)
		// nothing happens.
		sc := bufio.NewScanner(os.Stdin)
		hostile := false
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "links" {
				links()
				continue
			}
			hostile = !hostile
			if hostile {
				d.Tamper(d.ForkCheckpoint("wg1-ceasefire"))
				fmt.Fprintln(env.Stdout, "The venue now signs a forked checkpoint of wg1-ceasefire. Open a trust panel and click 'Check the venue now': the alarm comes with a proof anyone can verify.")
			} else {
				d.Tamper(nil)
				fmt.Fprintln(env.Stdout, "The venue is honest again. Each desk keeps its alarm until the delegate clears it in the trust panel.")
			}
		}
	}()
	if err := d.Serve(ctx); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "\nstopped")
	return nil
}

// shellQuote joins args for a POSIX shell, quoting those that need it.
func shellQuote(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./+:,@") == "" {
			out[i] = a
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}
