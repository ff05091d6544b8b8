package cli

import (
	"context"

	"github.com/good-offices/goodoffices/negotiation"
)

// Escalation across levels: refer (lower channel), take-up and reopen
// (higher channel).

func init() {
	register(&command{name: "desk refer", summary: "refer a text to a higher level, as it stands", run: runDeskRefer})
	register(&command{name: "desk take-up", summary: "take up at this level a text every party referred", run: runDeskTakeUp})
	register(&command{name: "desk reopen", summary: "reopen a paragraph the lower level agreed", run: runDeskReopen})
}

func runDeskRefer(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk refer", "CHANNEL --text ID --to LEVEL", `
Refers a text to a higher level (senior-officials, ministerial, leaders) as
it stands: every paragraph with its wording, its status and every party's
position, so that open paragraphs go up with who blocks them and why. The
text goes up when every party has referred the same state; it is then
frozen at this level. Send it as, or on behalf of, your head of delegation.
Then, in the higher level's channel: goodoffices desk take-up.`)
	f := addDeskFlags(fs, true)
	text := fs.String("text", "", "text `ID`")
	to := fs.String("to", "", "the higher `level`: senior-officials, ministerial, leaders")
	host := hostFlag(fs)
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	if *text == "" || *to == "" {
		return &UsageError{Msg: "--text and --to are required"}
	}
	idx, err := d.Refer(ctx, ch, *host, *text, negotiation.Level(*to))
	return sentTo(env, ch, idx, err, *f.json)
}

func runDeskTakeUp(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk take-up", "CHANNEL --from LOWER-CHANNEL --text ID [--as ID]", `
Takes up in CHANNEL (the higher level's channel) a text that every party
referred in LOWER-CHANNEL. The event carries the evidence: the parties'
referral messages with their inclusion proofs in the lower channel's log and
the keys that open those messages alone. Every desk checks it before the
text is tabled at the higher level with every party's positions carried
over: what the lower level agreed stays agreed unless a party reopens it
(goodoffices desk reopen).`)
	f := addDeskFlags(fs, true)
	from := fs.String("from", "", "the lower level's `channel`")
	text := fs.String("text", "", "the text's `ID` in the lower channel")
	as := fs.String("as", "", "the text's `ID` in this channel (default: the same)")
	host := hostFlag(fs)
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	if *from == "" || *text == "" {
		return &UsageError{Msg: "--from and --text are required"}
	}
	id := *as
	if id == "" {
		id = *text
	}
	idx, err := d.TakeUp(ctx, ch, *host, *from, *text, id)
	return sentTo(env, ch, idx, err, *f.json)
}

func runDeskReopen(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk reopen", "CHANNEL --text ID --para P --note WHY", `
Reopens a paragraph that the lower level agreed and this level took up as
agreed: every party's carried position on it is cleared, and the reopening
is recorded with your reason.`)
	f := addDeskFlags(fs, true)
	text := fs.String("text", "", "text `ID`")
	para := fs.String("para", "", "paragraph `ID` as desk talks shows it: p2 (or 2)")
	note := fs.String("note", "", "why it is reopened (required)")
	host := hostFlag(fs)
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	if *text == "" || *para == "" || *note == "" {
		return &UsageError{Msg: "--text, --para and --note are required"}
	}
	return sendEvent(ctx, env, d, ch, *host, negotiation.NewReopening(*text, paraID(*para), *note), *f.json)
}
