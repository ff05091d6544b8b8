package cli

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/good-offices/goodoffices/desk"
)

func init() {
	register(&command{name: "desk neutrality", summary: "show or set the withholding bound of the neutrality checks", run: runDeskNeutrality})
}

// printConfirmations prints, per log, how many entries every member
// delegation has cosigned (confirmed) and who is missing.
func printConfirmations(env *Env, cs []desk.Confirmation) {
	if len(cs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nLOG\tCONFIRMED\tPENDING CONFIRMATION\tSINCE\tNOT YET COSIGNED BY")
	for _, c := range cs {
		since, missing := "-", "-"
		if !c.OldestPending.IsZero() {
			since = c.OldestPending.Format(time.RFC3339)
		}
		if len(c.Missing) > 0 {
			missing = strings.Join(c.Missing, ", ")
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", c.Log, c.Confirmed, c.Pending(), since, missing)
	}
	tw.Flush()
}

// pendingMark returns " (pending)" for an entry not yet confirmed.
func pendingMark(ctx context.Context, d *desk.Desk, ch string, index int64) string {
	c, err := d.Confirmation(ctx, ch)
	if err != nil || c.IsConfirmed(index) {
		return ""
	}
	return "  (pending)"
}

func runDeskNeutrality(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk neutrality", "[--home DIR] [--withholding DURATION] [--json]", `
Every checkpoint this desk verifies is cosigned and handed to the venue; an
entry is confirmed once every member delegation of the channel has cosigned a
checkpoint that covers it, and pending until then. If an entry stays pending
longer than the withholding bound, the desk raises a "withholding" alarm (the
venue may be hiding it from a party, or hiding their cosignature from you);
if other parties cosigned a log larger than the venue serves this desk for
longer than the bound, a "freeze" alarm. If the venue acknowledged one of
your own appends at an index that the checkpoint it serves you still does
not cover after the bound, a "stale-view" alarm; if a witness of your policy
('desk witness') cosigned a larger checkpoint than the venue serves you for
longer than the bound, an "eclipse" alarm. These alarms do not halt the log.

Without --withholding, shows the current setting. A negative duration turns
both alarms off; 0 restores the default (`+desk.DefaultWithholdingBound.String()+`).

Example:
  goodoffices desk neutrality --withholding 2m`)
	f := addDeskFlags(fs, true)
	bound := fs.Duration("withholding", 0, "set the withholding bound (e.g. 2m, 30s)")
	d, err := f.parseAndOpen(ctx, env, fs, args)
	if err != nil {
		return err
	}
	defer d.Close()
	set := false
	fs.Visit(func(fl *flag.Flag) { set = set || fl.Name == "withholding" })
	if set {
		if err := d.SetNeutrality(ctx, desk.NeutralityConfig{WithholdingBound: *bound}); err != nil {
			return err
		}
	}
	c, err := d.Neutrality(ctx)
	if err != nil {
		return err
	}
	if *f.json {
		return deskJSON(env.Stdout, c)
	}
	switch b := c.WithholdingBound; {
	case b < 0:
		fmt.Fprintln(env.Stdout, "withholding, freeze, stale-view and eclipse alarms: off")
	case b == 0:
		fmt.Fprintf(env.Stdout, "withholding bound: %s (default)\n", desk.DefaultWithholdingBound)
	default:
		fmt.Fprintf(env.Stdout, "withholding bound: %s\n", b)
	}
	return nil
}

func init() {
	register(&command{name: "desk witness", summary: "list, add or remove the witnesses that must cosign before an entry counts as confirmed", run: runDeskWitness})
}

func runDeskWitness(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk witness", "[list | add URL VERIFIER-KEY | remove NAME] [--home DIR] [--json]", `
A witness ('goodoffices witness', or any C2SP tlog-witness) cosigns the
venue's checkpoints only if they are consistent with everything it cosigned
before. Every checkpoint this desk verifies is submitted to each witness of
its policy, directly, not through the venue; an entry counts as confirmed
only once every witness of the policy has cosigned a checkpoint covering it
(besides every member delegation). A witness that has cosigned a larger
checkpoint than the venue serves this desk, for longer than the neutrality
bound, raises an "eclipse" alarm: the venue is isolating this desk. Name
your own delegation's witness at least, and the witnesses the other parties
use, so that what they verify reaches yours.

VERIFIER-KEY is the witness's cosignature key as 'goodoffices witness'
prints it (<name>+<key ID>+<key>); URL its submission prefix.

Examples:
  goodoffices desk witness add http://127.0.0.1:8471 witness.borealia.example+1a2b3c4d+BAbc...
  goodoffices desk witness list
  goodoffices desk witness remove witness.borealia.example`)
	f := addDeskFlags(fs, true)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	pos := fs.Args()
	verb := "list"
	if len(pos) > 0 {
		verb, pos = pos[0], pos[1:]
	}
	want := map[string]int{"list": 0, "add": 2, "remove": 1}
	n, ok := want[verb]
	if !ok || len(pos) != n {
		return &UsageError{Msg: "usage: goodoffices desk witness [list | add URL VERIFIER-KEY | remove NAME]"}
	}
	d, err := f.open(ctx, env)
	if err != nil {
		return err
	}
	defer d.Close()
	switch verb {
	case "add":
		w, err := d.AddWitness(ctx, pos[0], pos[1])
		if err != nil {
			return &UsageError{Msg: err.Error()}
		}
		fmt.Fprintf(env.Stdout, "witness %s added (%s)\n", w.Name, w.URL)
		return nil
	case "remove":
		if err := d.RemoveWitness(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "witness %s removed\n", pos[0])
		return nil
	}
	ws, err := d.Witnesses(ctx)
	if err != nil {
		return err
	}
	if *f.json {
		if ws == nil {
			ws = []desk.Witness{}
		}
		return deskJSON(env.Stdout, ws)
	}
	if len(ws) == 0 {
		fmt.Fprintln(env.Stdout, "no witnesses: entries are confirmed by the member delegations' cosignatures alone")
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WITNESS\tURL")
	for _, w := range ws {
		fmt.Fprintf(tw, "%s\t%s\n", w.Name, w.URL)
	}
	return tw.Flush()
}
