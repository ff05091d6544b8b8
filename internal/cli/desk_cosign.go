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
longer than the bound, a "freeze" alarm. These alarms do not halt the log.

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
		fmt.Fprintln(env.Stdout, "withholding and freeze alarms: off")
	case b == 0:
		fmt.Fprintf(env.Stdout, "withholding bound: %s (default)\n", desk.DefaultWithholdingBound)
	default:
		fmt.Fprintf(env.Stdout, "withholding bound: %s\n", b)
	}
	return nil
}
