package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/good-offices/goodoffices/desk"
	"github.com/good-offices/goodoffices/negotiation"
)

func init() {
	register(&command{name: "desk open", summary: "start the encrypted group of a new channel", run: runDeskOpen})
	register(&command{name: "desk send", summary: "send a message (a statement) in a channel", run: runDeskSend})
	register(&command{name: "desk read", summary: "read a channel's verified, decrypted history", run: runDeskRead})
	register(&command{name: "desk tail", summary: "follow a channel live (stays in sync, prints new messages)", run: runDeskTail})
	register(&command{name: "desk members", summary: "list the devices in a channel's group", run: runDeskMembers})
	register(&command{name: "desk invite", summary: "add devices of the channel's delegations to its group", run: runDeskInvite})
	register(&command{name: "desk remove", summary: "remove a device from a channel's group", run: runDeskRemove})
	register(&command{name: "desk leave", summary: "ask to leave a channel's group", run: runDeskLeave})
	register(&command{name: "desk rotate", summary: "refresh this device's keys in a channel", run: runDeskRotate})
	register(&command{name: "desk talks", summary: "the state of the negotiation in a channel", run: runDeskTalks})
	register(&command{name: "desk table", summary: "table a negotiating text in a channel", run: runDeskTable})
	register(&command{name: "desk propose", summary: "propose an amendment to a paragraph", run: runDeskPropose})
	register(&command{name: "desk respond", summary: "accept or refuse a proposal", run: runDeskRespond})
	register(&command{name: "desk position", summary: "take your delegation's position on a paragraph", run: runDeskPosition})
	register(&command{name: "desk event", summary: "send any negotiation event (JSON payload)", run: runDeskEvent})
}

// channelCmd parses a command of the form "desk X CHANNEL [flags]" and
// opens the desk.
func channelCmd(ctx context.Context, env *Env, fs *flag.FlagSet, f deskFlags, args []string) (*desk.Desk, string, error) {
	ch, err := parseOneArg(fs, args)
	if err != nil {
		return nil, "", err
	}
	if ch == "" {
		fs.Usage()
		return nil, "", &UsageError{Msg: "the CHANNEL is required"}
	}
	d, err := f.open(ctx, env)
	if err != nil {
		return nil, "", err
	}
	return d, ch, nil
}

func runDeskOpen(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk open", "CHANNEL [--home DIR]", `
Starts the MLS group of a channel the host has convened and that has no
group yet: this desk creates the group and adds every registered device of
the channel's member delegations that you have confirmed (desk verify-party),
then sends each a Welcome through the venue. 'desk send' does this by itself
on a new channel. Devices of delegations confirmed later are added by the
next sync of a member desk. Entries that are not a group's creation (junk a
member appended first) do not stop it; if another desk started the group, it
says so and this desk waits for its Welcome.`)
	f := addDeskFlags(fs, false)
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Open(ctx, ch); err != nil {
		return alarmErr(err)
	}
	ms, epoch, _ := d.Members(ctx, ch)
	fmt.Fprintf(env.Stdout, "channel %s open at epoch %d with %d devices\n", ch, epoch, len(ms))
	return nil
}

func runDeskSend(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk send", "CHANNEL [--reply-to S] [--about TEXT/PARA] MESSAGE...", `
Sends a message to a channel: encrypted for the channel's members with MLS
(a PrivateMessage, RFC 9420 §6.3), signed by this device, appended to the
channel's log. The venue sees its size and time, never its content. With
MESSAGE "-" the message is read from standard input; after "--" words
starting with "-" are part of the message.

Example:
  goodoffices desk send plenary "Arden proposes to start with item 1."`)
	f := addDeskFlags(fs, true)
	replyTo := fs.String("reply-to", "", "`ID` of the statement this replies to (e.g. S3)")
	about := fs.String("about", "", "the `TEXT/PARA` this is about, e.g. joint-statement/p2 (or joint-statement/2)")
	host := hostFlag(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		fs.Usage()
		return &UsageError{Msg: "CHANNEL and MESSAGE are required"}
	}
	ch := pos[0]
	body := strings.Join(pos[1:], " ")
	if body == "-" {
		b, err := io.ReadAll(io.LimitReader(os.Stdin, negotiation.MaxPayloadBytes))
		if err != nil {
			return fmt.Errorf("failed to read the message: %w", err)
		}
		body = string(b)
	}
	if strings.TrimSpace(body) == "" {
		return &UsageError{Msg: "empty message"}
	}
	aboutText, aboutPara, _ := strings.Cut(*about, "/")
	aboutPara = paraID(aboutPara)
	d, err := f.open(ctx, env)
	if err != nil {
		return err
	}
	defer d.Close()
	idx, err := d.Say(ctx, ch, *host, body, strings.ToUpper(*replyTo), aboutText, aboutPara)
	return sentTo(env, ch, idx, err, *f.json)
}

func runDeskRead(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk read", "CHANNEL [--from N] [--limit N | --last N] [--offline] [--json]", `
Syncs, then prints a channel's history as this desk has verified and
decrypted it, in log order: messages with their sender (from the sender's
certified device) and the ID commands take (S3 for a statement, to answer
with 'desk send --reply-to S3'; A1 for a proposal, for 'desk respond'),
negotiation moves in words (a move the rules refused says so, and why),
and membership changes (a page of a channel longer than 20,000 entries
shows the IDs with --ids only: they cost a replay of the talks). Colour only
on a terminal (NO_COLOR turns it off); --json for scripts. Entries not yet processed are
counted at the end. With --offline it reads only the desk's own encrypted
store and says when it last synced. It reads only the entries it prints:
--last 20 is as fast in a channel of 100,000 messages as in one of 100.`)
	f := addDeskFlags(fs, true)
	from := fs.Int64("from", 0, "first log `index` to show")
	limit := fs.Int("limit", 0, "show at most `N` entries from --from (0: all)")
	last := fs.Int("last", 0, "show only the last `N` entries")
	fs.Bool("sync", true, "sync first (the default; see --offline)")
	offline := offlineFlag(fs)
	host := hostFlag(fs)
	ids := fs.Bool("ids", false, fmt.Sprintf("show the statement and proposal IDs also on a page (--last, --limit) of a channel longer than %d entries", readIDsUpTo))
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	if *limit < 0 || *last < 0 || (*last > 0 && (*limit > 0 || *from > 0)) {
		return &UsageError{Msg: "--last N shows the last N entries: do not combine it with --from or --limit; N >= 0"}
	}
	syncFirst(ctx, env, d, *offline)
	var ms []desk.Message
	if *last > 0 {
		ms, err = d.ReadLast(ctx, ch, *last)
	} else {
		ms, err = d.Read(ctx, ch, *from, *limit)
	}
	if err != nil {
		return err
	}
	var st desk.LogState
	for _, l := range must(d.Logs(ctx)) {
		if l.Log == ch {
			st = l
		}
	}
	// The engine's record of each message gives the IDs commands take
	// (S3, A1) and says which moves the rules refused. Loading the state
	// of a long channel costs in proportion to its history, so a page of
	// a long channel (--last, --limit) shows them only with --ids.
	var talks *negotiation.State
	if *ids || (*last == 0 && *limit == 0) || st.Size <= readIDsUpTo {
		talks, _ = d.Talks(ctx, ch, *host)
	}
	if *f.json {
		type jm struct {
			desk.Message
			Text      string `json:"text"`
			Confirmed bool   `json:"confirmed"`        // cosigned by every member delegation; else pending
			Ref       string `json:"ref,omitempty"`    // what it created: a statement S3, a proposal A1
			Result    string `json:"result,omitempty"` // for a negotiation event: applied, rejected, ...
			Reason    string `json:"reason,omitempty"` // why the rules refused it
		}
		conf := must(d.Confirmation(ctx, ch))
		out := struct {
			Messages     []jm              `json:"messages"`
			State        desk.LogState     `json:"state"`
			Confirmation desk.Confirmation `json:"confirmation"`
			Unreadable   []desk.Range      `json:"unreadable,omitempty"` // sent before this desk joined, not handed over
		}{State: st, Confirmation: conf, Unreadable: must(d.Unreadable(ctx, ch))}
		for _, m := range ms {
			j := jm{Message: m, Text: m.Summary(), Confirmed: conf.IsConfirmed(m.Index)}
			if rec := refOf(talks, ch, m.Index); rec != nil {
				j.Ref, j.Result, j.Reason = rec.Ref, string(rec.Result), rec.Reason
			}
			out.Messages = append(out.Messages, j)
		}
		return deskJSON(env.Stdout, out)
	}
	pt := newPaint(env)
	for _, m := range ms {
		fmt.Fprintln(env.Stdout, readLine(pt, m, refOf(talks, ch, m.Index), talks, pendingMark(ctx, d, ch, m.Index)))
	}
	if talks == nil {
		fmt.Fprintf(env.Stdout, "(statement and proposal IDs not shown on a page of a channel of %d entries: add --ids, or see goodoffices desk talks %s)\n", st.Size, ch)
	}
	for _, h := range must(d.Handovers(ctx, ch)) {
		if h.To != "" {
			fmt.Fprintf(env.Stdout, "(handed over to %s on %s: policy %s, keys of %d messages)\n", h.To, h.Applied.Format(time.DateOnly), h.Policy, h.Messages)
		} else {
			fmt.Fprintf(env.Stdout, "(history handed over by %s (%s) on %s: policy %s, %d messages opened)\n", h.Person, h.From, h.Applied.Format(time.DateOnly), h.Policy, h.Messages)
		}
	}
	if rs := must(d.Unreadable(ctx, ch)); len(rs) > 0 {
		var parts []string
		for _, r := range rs {
			parts = append(parts, r.String())
		}
		fmt.Fprintf(env.Stdout, "(messages this desk cannot read: sent before it joined and not handed over: %s)\n", strings.Join(parts, ", "))
	}
	if st.Pending() > 0 {
		fmt.Fprintf(env.Stdout, "(%d verified entries not yet processed", st.Pending())
		if st.Blocked != "" {
			fmt.Fprintf(env.Stdout, ": %s", st.Blocked)
		}
		fmt.Fprintln(env.Stdout, ")")
	}
	if st.Alarm != nil {
		return &AlarmError{Err: st.Alarm}
	}
	return nil
}

// readIDsUpTo is the longest channel whose page 'desk read' shows with
// the IDs without being asked (--ids): loading the state of the talks of
// 20,000 entries takes about a fifth of a second.
const readIDsUpTo = 20000

func must[T any](v T, _ error) T { return v }

func runDeskTail(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk tail", "CHANNEL [--from N] [--json]", `
Prints a channel's messages and keeps following it live until interrupted
(Ctrl-C): like 'desk run', it listens to the venue's event stream and
verifies every new entry before it decrypts and prints it, as 'desk read'
does (with the IDs to answer: S3, A1). With --json it prints one JSON
object per line.`)
	f := addDeskFlags(fs, true)
	from := fs.Int64("from", 0, "first log `index` to show")
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	next := *from
	pt := newPaint(env)
	print := func() {
		ms, err := d.Read(ctx, ch, next, 0)
		if err != nil {
			fmt.Fprintf(env.Stderr, "goodoffices desk tail: %v\n", err)
			return
		}
		for _, m := range ms {
			if *f.json {
				b, _ := json.Marshal(struct {
					desk.Message
					Text string `json:"text"`
				}{m, m.Summary()})
				fmt.Fprintf(env.Stdout, "%s\n", b)
			} else {
				// The talks advance in memory with each new message: cheap.
				talks, _ := d.Talks(ctx, ch, "")
				fmt.Fprintln(env.Stdout, readLine(pt, m, refOf(talks, ch, m.Index), talks, ""))
			}
			next = m.Index + 1
		}
	}
	print()
	return d.Run(ctx, 30*time.Second, func(logs []string) {
		for _, l := range logs {
			if l == ch {
				print()
			}
		}
		for _, l := range must(d.Logs(ctx)) {
			if l.Log == ch && l.Alarm != nil {
				fmt.Fprintf(env.Stderr, "ALARM %v\n", l.Alarm)
			}
		}
	})
}

func runDeskMembers(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk members", "CHANNEL [--json]", `
Lists the devices in a channel's MLS group as this desk sees it: delegation,
person, role and device ID from each member's verified certificate; and the
group's cipher suite, saying whether it is post-quantum (whether messages a
host records today stay confidential once it has a quantum computer).`)
	f := addDeskFlags(fs, true)
	offline := offlineFlag(fs)
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	syncFirst(ctx, env, d, *offline)
	ms, epoch, err := d.Members(ctx, ch)
	if err != nil {
		return err
	}
	si, err := d.ChannelSuite(ctx, ch)
	if err != nil {
		return err
	}
	if *f.json {
		return deskJSON(env.Stdout, map[string]any{"epoch": epoch, "suite": si, "members": ms})
	}
	fmt.Fprintf(env.Stdout, "channel %s, epoch %d\n", ch, epoch)
	fmt.Fprintf(env.Stdout, "suite   %s (%s)\n        %s\n", si.Name, si.Code, si.Summary)
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LEAF\tDELEGATION\tPERSON\tROLE\tDEVICE")
	var interpreters []desk.MemberInfo
	for _, m := range ms {
		if m.Interpreter {
			interpreters = append(interpreters, m)
			continue
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", m.Leaf, m.Delegation, m.Person, m.Role, m.Device)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(interpreters) > 0 {
		fmt.Fprintln(env.Stdout, "interpreters (not parties; admitted with every party's consent; they read everything here):")
		for _, m := range interpreters {
			fmt.Fprintf(env.Stdout, "  %d  %s of %s  %s\n", m.Leaf, m.Person, m.Delegation, m.Device)
		}
	}
	return nil
}

func runDeskInvite(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk invite", "CHANNEL [--device ID]", `
Adds to a channel's group one device (--device) or every registered device
of the channel's member delegations that is missing and that you accept
(its delegation confirmed with desk verify-party). Member desks also do this
by themselves when they sync.`)
	f := addDeskFlags(fs, false)
	dev := fs.String("device", "", "the device `ID` to add (default: every missing device)")
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	return alarmErr(d.Invite(ctx, ch, *dev))
}

func runDeskRemove(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk remove", "CHANNEL --device ID", `
Removes a device from a channel's group with an MLS commit: from the next
epoch on it cannot read the channel. It is not re-added automatically; 'desk
invite --device' brings it back.`)
	f := addDeskFlags(fs, false)
	dev := fs.String("device", "", "the device `ID` to remove (see desk members)")
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	if *dev == "" {
		return &UsageError{Msg: "--device is required"}
	}
	return alarmErr(d.Remove(ctx, ch, *dev))
}

func runDeskLeave(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk leave", "CHANNEL", `
Asks to leave a channel's group: sends an MLS Remove proposal for this
device, which the next member desk to sync commits.`)
	f := addDeskFlags(fs, false)
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	return alarmErr(d.Leave(ctx, ch))
}

func runDeskRotate(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk rotate", "CHANNEL", `
Refreshes this device's keys in a channel with a full MLS commit (an
UpdatePath), so that a past compromise of this device stops mattering for
what follows.`)
	f := addDeskFlags(fs, false)
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	return alarmErr(d.Rotate(ctx, ch))
}

func runDeskTalks(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk talks", "CHANNEL [--text ID [--markdown]] [--host NAME] [--replay] [--json]", `
Runs the channel's decrypted history through the negotiation engine and
prints the state of the talks: the texts with their paragraphs (the IDs and
versions that 'desk position' and 'desk propose' take: p2, v3), the
proposals (A1, for 'desk respond') and the last statements (S4, for 'desk
send --reply-to'). --text ID prints one text in full: every paragraph with
its brackets and alternatives, "[complete | partial]‹arden›" (the
delegation that tabled them after the bracket), each party's position, the
stances the rules allow now and the proposals on it; --markdown prints it
as Markdown instead. Colour only on a terminal (NO_COLOR turns it off);
--json prints the whole state for scripts. Every party's desk computes the
same state from the same log.

The desk keeps a snapshot of the engine's state in its encrypted store and
advances it with new messages only. The snapshot is never a source of
truth: --replay drops it and replays the whole history (the same state,
byte for byte).`)
	f := addDeskFlags(fs, true)
	text := fs.String("text", "", "print this text `ID` in full")
	markdown := fs.Bool("markdown", false, "with --text: print the text as Markdown")
	host := hostFlag(fs)
	offline := offlineFlag(fs)
	replay := fs.Bool("replay", false, "drop the snapshot and replay the whole history")
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	if *markdown && *text == "" {
		return &UsageError{Msg: "--markdown prints one text: give --text ID"}
	}
	syncFirst(ctx, env, d, *offline)
	if *replay {
		if err := d.RebuildTalks(ctx, ch); err != nil {
			return err
		}
	}
	st, err := d.Talks(ctx, ch, *host)
	if err != nil {
		return err
	}
	if *f.json {
		return deskJSON(env.Stdout, st)
	}
	if *text != "" {
		if !*markdown {
			return writeText(env.Stdout, newPaint(env), ch, st, *text)
		}
		md, err := st.Markdown(*text)
		if err != nil {
			return err
		}
		fmt.Fprint(env.Stdout, md)
		return nil
	}
	writeTalksSummary(env.Stdout, newPaint(env), ch, st)
	return nil
}

// sendEvent sends a negotiation payload, once the engine accepts it against
// the channel's current state (desk.SendEvent), and prints where it went.
func sendEvent(ctx context.Context, env *Env, d *desk.Desk, ch, host string, payload []byte, asJSON bool) error {
	idx, err := d.SendEvent(ctx, ch, host, payload)
	return sentTo(env, ch, idx, err, asJSON)
}

// sentTo reports the result of sending an event.
func sentTo(env *Env, ch string, idx int64, err error, asJSON bool) error {
	if err != nil {
		return alarmErr(err)
	}
	if asJSON {
		return deskJSON(env.Stdout, map[string]any{"channel": ch, "index": idx})
	}
	fmt.Fprintf(env.Stdout, "sent to %s (entry %d)\n", ch, idx)
	return nil
}

// hostFlag adds --host to a command that sends or reads negotiation events.
func hostFlag(fs *flag.FlagSet) *string {
	return fs.String("host", "", "the host's `delegation`, not a party (if it is in the channel)")
}

// paraID turns the paragraph a user typed into its ID: "3" and "p3" both
// mean paragraph p3.
func paraID(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return strings.ToLower(s)
		}
	}
	return "p" + strings.TrimLeft(s, "0")
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, "|") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func runDeskTable(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk table", "CHANNEL --text ID --title T --para P [--para P ...]", `
Tables a negotiating text: numbered paragraphs in bracket notation, where
"[complete] [partial]" are alternatives attributed to your delegation.

Example:
  goodoffices desk table wg1 --text joint-statement --title "Joint Statement" \
    --para "The Parties reaffirm their commitment to a negotiated settlement." \
    --para "The Parties agree to a [complete] [partial] cessation of hostilities."`)
	f := addDeskFlags(fs, true)
	id := fs.String("text", "", "text `ID`, e.g. joint-statement")
	title := fs.String("title", "", "the text's `title`")
	item := fs.String("item", "", "agenda `item` the text belongs to")
	level := fs.String("level", "expert", "`level` of the text")
	lang := fs.String("language", "en", "`language` of the negotiation")
	var paras multiFlag
	fs.Var(&paras, "para", "a `paragraph` in bracket notation (repeat, in order)")
	host := hostFlag(fs)
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	if *id == "" || *title == "" || len(paras) == 0 {
		return &UsageError{Msg: "--text, --title and at least one --para are required"}
	}
	p := negotiation.NewTableText(negotiation.TableText{ID: *id, Title: *title, Item: *item, Level: negotiation.Level(*level), Language: *lang, Paragraphs: paras})
	return sendEvent(ctx, env, d, ch, *host, p, *f.json)
}

func runDeskPropose(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk propose", "CHANNEL --text ID --para P --base V --op OP [--notation N] [--path 0,1]", `
Proposes an amendment to a paragraph of a text, drafted against version
--base of the paragraph (see desk talks --text). Ops: replace, insert,
delete, add_alternative, remove_brackets, add_paragraph, move_paragraph,
delete_paragraph.

Example (replace "[complete] [partial]", segment 1 of paragraph p2, by "complete"):
  goodoffices desk propose wg1 --text joint-statement --para p2 --base 1 --op replace --path 1 --notation complete`)
	f := addDeskFlags(fs, true)
	text := fs.String("text", "", "text `ID`")
	para := fs.String("para", "", "paragraph `ID` as desk talks shows it: p2 (or 2)")
	base := fs.Int("base", 0, "paragraph `version` the amendment is drafted against")
	op := fs.String("op", "", "the amendment `op`")
	notation := fs.String("notation", "", "new wording in bracket `notation`")
	path := fs.String("path", "", "segment `path`, comma-separated indexes (empty: whole paragraph)")
	option := fs.Int("option", 0, "for remove_brackets: the `option` to keep")
	after := fs.String("after", "", "for add/move_paragraph: the paragraph `ID` to go after")
	host := hostFlag(fs)
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	if *text == "" || *op == "" {
		return &UsageError{Msg: "--text and --op are required"}
	}
	var pth []int
	if *path != "" {
		for _, s := range strings.Split(*path, ",") {
			var n int
			if _, err := fmt.Sscan(s, &n); err != nil {
				return &UsageError{Msg: "--path: comma-separated integers"}
			}
			pth = append(pth, n)
		}
	}
	p := negotiation.NewProposal(*text, negotiation.Amendment{Op: negotiation.Op(*op), Para: paraID(*para), Base: *base, Path: pth, Notation: *notation, Option: *option, After: paraID(*after)})
	return sendEvent(ctx, env, d, ch, *host, p, *f.json)
}

func runDeskRespond(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk respond", "CHANNEL --proposal ID --response R [--note N]", `
Answers a proposal for your delegation: accept, accept_ad_referendum or
decline (see desk talks for proposal IDs).`)
	f := addDeskFlags(fs, true)
	prop := fs.String("proposal", "", "proposal `ID`, e.g. A1")
	resp := fs.String("response", "", "`response`: accept, accept_ad_referendum, decline")
	note := fs.String("note", "", "a `note` with the answer")
	host := hostFlag(fs)
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	if *prop == "" || *resp == "" {
		return &UsageError{Msg: "--proposal and --response are required"}
	}
	return sendEvent(ctx, env, d, ch, *host, negotiation.NewResponse(strings.ToUpper(*prop), negotiation.Response(*resp), *note), *f.json)
}

func runDeskPosition(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk position", "CHANNEL --text ID --para P --version V --stance S [--note N]", `
Takes your delegation's position on a version of a paragraph: agree,
agree_ad_referendum (subject to your capital), reserve (needs more time) or
object.`)
	f := addDeskFlags(fs, true)
	text := fs.String("text", "", "text `ID`")
	para := fs.String("para", "", "paragraph `ID` as desk talks shows it: p2 (or 2)")
	version := fs.Int("version", 0, "paragraph `version`")
	stance := fs.String("stance", "", "`stance`: agree, agree_ad_referendum, reserve, object")
	note := fs.String("note", "", "a `note`")
	host := hostFlag(fs)
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	if *text == "" || *para == "" || *stance == "" {
		return &UsageError{Msg: "--text, --para and --stance are required"}
	}
	return sendEvent(ctx, env, d, ch, *host, negotiation.NewPosition(*text, paraID(*para), *version, negotiation.Stance(*stance), *note), *f.json)
}

func runDeskEvent(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk event", "CHANNEL --payload JSON|-", `
Sends any negotiation event: a JSON payload {"v":1,"type":...} as package
negotiation defines it (add_item, readiness, adopt, sign, ...). With
--payload - it is read from standard input.`)
	f := addDeskFlags(fs, true)
	payload := fs.String("payload", "", "the JSON `payload`, or - for standard input")
	host := hostFlag(fs)
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	b := []byte(*payload)
	if *payload == "-" {
		if b, err = io.ReadAll(io.LimitReader(os.Stdin, negotiation.MaxPayloadBytes+1)); err != nil {
			return err
		}
	}
	if len(b) == 0 || len(b) > negotiation.MaxPayloadBytes || !json.Valid(b) {
		return &UsageError{Msg: "--payload must be a JSON object of at most 256 KiB"}
	}
	return sendEvent(ctx, env, d, ch, *host, b, *f.json)
}
