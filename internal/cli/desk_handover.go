package cli

import (
	"context"
	"fmt"

	"github.com/good-offices/goodoffices/desk"
)

// A new delegate reads the history: the head of delegation hands a new
// device the keys of a channel's past messages (desk/handover.go).

func init() {
	register(&command{name: "desk handover", summary: "head of delegation: hand a channel's history to a new device of your delegation", run: runDeskHandover})
}

func runDeskHandover(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk handover", "CHANNEL --to DEVICE (--all | --since DATE | --none)", `
For the head of delegation: hands a new device of your delegation the keys
of the channel's messages sent before it joined, as your delegation's
policy allows: --all, --since DATE (messages this desk received from that
day or time on, RFC 3339 or YYYY-MM-DD, UTC) or --none (records that
nothing is handed over). The keys open those messages alone, never later
or other ones; the bundle is signed by this device and sealed to a fresh
key package of the new device, and passes through the venue's mailbox as
an opaque blob. The new desk picks it up at its next sync, fetches every
message itself from the venue's log, checks it against its verified
checkpoint, opens it with the keys and replays the talks: a hand-over can
leave messages out but cannot forge or alter one. 'desk read' on the new
desk marks the messages handed over and names the ranges it cannot read.
Only the head of delegation's device may hand over; nothing is sent
otherwise. The talks of a channel that continues another after a recovery
('desk recover') start from the old channel's: hand over both, the new
channel first (its recovery notice is handed over with its messages).`)
	f := addDeskFlags(fs, true)
	to := fs.String("to", "", "the new `device` (its ID, as desk status shows it)")
	all := fs.Bool("all", false, "hand over every message this desk read")
	since := fs.String("since", "", "hand over the messages received from `DATE` on")
	none := fs.Bool("none", false, "hand over nothing (the policy is recorded all the same)")
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	if *to == "" {
		return &UsageError{Msg: "--to DEVICE is required"}
	}
	pol, err := desk.ParseHandoverPolicy(*all, *none, *since)
	if err != nil {
		return &UsageError{Msg: err.Error()}
	}
	rep, err := d.Handover(ctx, ch, *to, pol)
	if err != nil {
		return fmt.Errorf("%w; nothing was sent", err)
	}
	if *f.json {
		return deskJSON(env.Stdout, rep)
	}
	fmt.Fprintf(env.Stdout, "handed over %s to %s: keys of %d messages (policy: %s), %d withheld by the policy, %d without keys on this desk; the venue passed on a blob of %d bytes\n",
		ch, rep.To, rep.Messages, rep.Policy, rep.Withheld, rep.NoKeys, rep.Bytes)
	if c, err := d.Continuation(ctx, ch); err == nil && c != nil {
		fmt.Fprintf(env.Stdout, "the talks of %s continue those of %s since a recovery: hand over %s as well ('goodoffices desk handover %s --to %s ...')\n", ch, c.From, c.From, c.From, rep.To)
	}
	return nil
}
