package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/good-offices/goodoffices/negotiation"
)

// Interpreters: every party consents in the channel, any party removes;
// the interpreter's desk posts interpretations.

func init() {
	register(&command{name: "desk consent-interpreter", summary: "consent, for your party, to an interpreter in a channel", run: runDeskConsentInterpreter})
	register(&command{name: "desk remove-interpreter", summary: "end an interpreter's admission to a channel", run: runDeskRemoveInterpreter})
	register(&command{name: "desk interpret", summary: "post an interpretation of a statement (interpreters)", run: runDeskInterpret})
}

func runDeskConsentInterpreter(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk consent-interpreter", "CHANNEL --device ID", `
Consents, for your party, to the host's interpreter whose device is ID
reading the channel and posting interpretations in it. An interpreter reads
everything in the channel: the desks add its device to the channel's group
only when every party has consented, and only if the host has let it use the
channel's log (host channel interpreters). The device's certificate must
verify under the root key of its delegation that you confirmed
(desk verify-party) and name the role interpreter; your consent records its
person and languages. Any party ends the admission with
'goodoffices desk remove-interpreter'.`)
	f := addDeskFlags(fs, true)
	dev := fs.String("device", "", "the interpreter's device `ID` (host devices lists it)")
	host := hostFlag(fs)
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	if *dev == "" {
		return &UsageError{Msg: "--device is required"}
	}
	idx, err := d.ConsentInterpreter(ctx, ch, *host, *dev)
	return sentTo(env, ch, idx, err, *f.json)
}

func runDeskRemoveInterpreter(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk remove-interpreter", "CHANNEL --device ID [--note WHY]", `
Ends, for every party, an interpreter's admission to the channel (after the
meeting, or at once): the desks remove its device from the channel's group
at their next sync, and it cannot read what is sent afterwards. It comes
back only with every party's consent again.`)
	f := addDeskFlags(fs, true)
	dev := fs.String("device", "", "the interpreter's device `ID`")
	note := fs.String("note", "", "a `note`, e.g. why")
	host := hostFlag(fs)
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	if *dev == "" {
		return &UsageError{Msg: "--device is required"}
	}
	return sendEvent(ctx, env, d, ch, *host, negotiation.NewInterpreterRemoval(*dev, *note), *f.json)
}

func runDeskInterpret(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk interpret", "CHANNEL --entry N --lang L [--dry-run] TEXT...", `
For an interpreter's desk: posts the interpretation into language L (one of
your certificate's languages) of the statement at entry N of the channel's
log ('desk read' shows entry numbers). The parties' desks show it beside the
statement it renders. An interpreter posts nothing else. With --dry-run it
checks all that and shows the statement and the interpretation, and posts
nothing (what is posted stays in the log for good).`)
	f := addDeskFlags(fs, true)
	entry := fs.Int64("entry", -1, "log `index` of the statement")
	lang := fs.String("lang", "", "the `language` of the interpretation, e.g. ru")
	dry := fs.Bool("dry-run", false, "check and show what would be posted; post nothing")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 || *entry < 0 || *lang == "" {
		fs.Usage()
		return &UsageError{Msg: "CHANNEL, --entry, --lang and the TEXT are required"}
	}
	d, err := f.open(ctx, env)
	if err != nil {
		return err
	}
	defer d.Close()
	body := strings.Join(pos[1:], " ")
	if *dry {
		m, err := d.CheckInterpretation(ctx, pos[0], *entry, *lang)
		if err != nil {
			return err
		}
		if *f.json {
			return deskJSON(env.Stdout, struct {
				DryRun    bool   `json:"dry_run"`
				Channel   string `json:"channel"`
				Entry     int64  `json:"entry"`
				Statement string `json:"statement"`
				Lang      string `json:"lang"`
				Body      string `json:"body"`
			}{true, pos[0], *entry, m.Summary(), *lang, body})
		}
		fmt.Fprintf(env.Stdout, "would post in %s, nothing posted (--dry-run):\n  entry %d, %s: %s\n  into %s: %s\n", pos[0], *entry, m.Sender.Person, m.Summary(), *lang, body)
		return nil
	}
	idx, err := d.Interpret(ctx, pos[0], *entry, *lang, body)
	return sentTo(env, pos[0], idx, err, *f.json)
}
