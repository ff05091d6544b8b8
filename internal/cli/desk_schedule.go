package cli

// The delegate's side of the host's good-offices services: the meetings
// that concern the delegation, the head's readiness signal, and the
// delegate's own calendar feed (package desk, schedule.go).

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/good-offices/goodoffices/desk"
	"github.com/good-offices/goodoffices/schedule"
	"github.com/good-offices/goodoffices/venue/scheduleapi"
)

func init() {
	register(&command{name: "desk schedule", summary: "the meetings that concern your delegation, in the venue's zone and yours", run: runDeskSchedule})
	register(&command{name: "desk ready", summary: "head of delegation: signal readiness for a ministerial or leaders' meeting", run: runDeskReady})
	register(&command{name: "desk feed", summary: "create, list or revoke your own calendar feed URL", run: runDeskFeed})
}

// scheduleZone resolves the delegate's own zone: --zone, else $TZ, else the
// system's zone (by its IANA name where /etc/localtime links to one).
func scheduleZone(env *Env, zone string) (*time.Location, error) {
	if zone == "" {
		zone = strings.TrimPrefix(env.Getenv("TZ"), ":")
		if zone == "" {
			return systemZone(), nil
		}
	}
	if zone == "Local" || len(zone) > 64 {
		return nil, &UsageError{Msg: fmt.Sprintf("--zone: unknown time zone %q (use an IANA name such as Europe/Vienna)", zone)}
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, &UsageError{Msg: fmt.Sprintf("--zone: unknown time zone %q (use an IANA name such as Europe/Vienna)", zone)}
	}
	return loc, nil
}

// systemZone returns the computer's zone, named as in the IANA database if
// /etc/localtime is a link into it (time.Local is named "Local").
func systemZone() *time.Location {
	if target, err := os.Readlink("/etc/localtime"); err == nil {
		if _, name, ok := strings.Cut(target, "zoneinfo/"); ok {
			if loc, err := time.LoadLocation(name); err == nil {
				return loc
			}
		}
	}
	return time.Local
}

// scheduleErr turns a venue refusal into a message that says what happened.
func scheduleErr(err error) error {
	var ae *scheduleapi.APIError
	if errors.As(err, &ae) && ae.Status == 404 && strings.HasPrefix(ae.Message, "venue answered") {
		return fmt.Errorf("%w (does this venue offer the schedule?)", err)
	}
	return err
}

func runDeskSchedule(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk schedule", "[--zone ZONE] [--watch] [--host-delegation NAME] [--home DIR] [--json]", `
Lists the meetings your delegation attends, as the venue's schedule holds
them, earliest first: title, level, status (draft, provisional, confirmed,
moved, cancelled), room, attending delegations and interpretation, with each
time in the venue's zone (authoritative) and in your own (--zone, else $TZ,
else this computer's zone).

A ministerial or leaders' meeting stays provisional until the head of every
attending party has signalled readiness from their desk ('goodoffices desk
ready'), and then the host confirms it. For such a meeting the list says
what it is waiting for. A delegation is shown its own readiness signal
only, never another party's.

With --watch the command stays running and prints every change to your
delegation's meetings as the venue reports it (the venue answers a waiting
request as soon as something changes); Ctrl-C stops it. With --json and
--watch it prints one JSON object per line.
`+deskPassphraseHelp+`

Examples:
  goodoffices desk schedule --zone Europe/Vienna
  goodoffices desk schedule --watch`)
	f := addDeskFlags(fs, true)
	zone := fs.String("zone", "", "your IANA time `zone`, e.g. Europe/Vienna (default $TZ or this computer's)")
	watch := fs.Bool("watch", false, "stay running and print every change")
	host := fs.String("host-delegation", "", "the host's delegation `name`: it attends without a readiness signal")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	loc, err := scheduleZone(env, *zone)
	if err != nil {
		return err
	}
	d, err := f.open(ctx, env)
	if err != nil {
		return err
	}
	defer d.Close()
	opts := desk.ScheduleOptions{Zone: loc, HostDelegation: *host}
	if !*watch {
		ms, err := d.Meetings(ctx, opts)
		if err != nil {
			return scheduleErr(err)
		}
		if *f.json {
			return deskJSON(env.Stdout, ms)
		}
		printSchedule(env.Stdout, ms)
		return nil
	}
	err = d.WatchSchedule(ctx, opts, func(c desk.ScheduleChange) error {
		if *f.json {
			return jsonLine(env.Stdout, c)
		}
		now := time.Now().UTC().Format("2006-01-02 15:04:05Z")
		if c.First {
			fmt.Fprintf(env.Stdout, "%s  schedule of your delegation (watching for changes; Ctrl-C to stop)\n\n", now)
			printSchedule(env.Stdout, c.Meetings)
			return nil
		}
		for _, l := range c.Changes {
			fmt.Fprintf(env.Stdout, "%s  %s\n", now, l)
		}
		return nil
	})
	if ctx.Err() != nil {
		return nil
	}
	return scheduleErr(err)
}

// jsonLine writes v as one line of JSON.
func jsonLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func printSchedule(w io.Writer, ms []desk.ScheduledMeeting) {
	if len(ms) == 0 {
		fmt.Fprintln(w, "no meetings concern your delegation yet")
		return
	}
	for i, m := range ms {
		if i > 0 {
			fmt.Fprintln(w)
		}
		printScheduledMeeting(w, m)
	}
}

func printScheduledMeeting(w io.Writer, m desk.ScheduledMeeting) {
	fmt.Fprintf(w, "%s  %s\n", m.ID, m.Title)
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	fmt.Fprintf(tw, "  status:\t%s (%s level", strings.ToUpper(string(m.Status)), m.Level)
	if m.Sequence > 0 {
		fmt.Fprintf(tw, ", revision %d", m.Sequence)
	}
	fmt.Fprintln(tw, ")")
	fmt.Fprintf(tw, "  venue time:\t%s\n", m.Times.Venue)
	fmt.Fprintf(tw, "  your time:\t%s\n", m.Times.Own)
	fmt.Fprintf(tw, "  room:\t%s\n", m.Room)
	talks := m.Talks
	if m.Channel != "" {
		talks += " (channel " + m.Channel + ")"
	}
	fmt.Fprintf(tw, "  talks:\t%s\n", talks)
	fmt.Fprintf(tw, "  delegations:\t%s; %d people expected\n", strings.Join(m.Delegations, ", "), m.Headcount)
	if len(m.Languages) > 0 {
		fmt.Fprintf(tw, "  interpretation:\t%s (%s)\n", strings.ToUpper(strings.Join(m.Languages, ", ")), m.Interpretation)
	}
	if m.Party {
		r := "not yet signalled by your head of delegation"
		if m.Ready {
			r = "your head of delegation has signalled readiness"
		}
		fmt.Fprintf(tw, "  readiness:\t%s\n", r)
		if !m.Ready && m.Status == schedule.StatusProvisional {
			fmt.Fprintf(tw, "\t(the head signals it with: goodoffices desk ready %s)\n", m.ID)
		}
	}
	for i, s := range m.Waiting {
		label := ""
		if i == 0 {
			label = "  waiting for:"
		}
		fmt.Fprintf(tw, "%s\t- %s\n", label, s)
	}
	if n := len(m.History); n > 0 {
		h := m.History[n-1]
		s := h.Action
		if len(h.Fields) > 0 {
			s += " (" + strings.Join(h.Fields, ", ") + ")"
		}
		if h.Note != "" {
			s += " " + strconv.Quote(h.Note)
		}
		fmt.Fprintf(tw, "  last change:\t%s, %s\n", s, h.At.UTC().Format("2006-01-02 15:04Z"))
	}
	tw.Flush()
}

func runDeskReady(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk ready", "MEETING [--home DIR] [--json]", `
For the head of delegation: tells the venue that your delegation is ready
for a ministerial or leaders' meeting. The desk signs a short statement
with this device's key (the talks, the meeting, its level, your delegation
and the time; no reasons) and sends it; the venue accepts it only from the
device whose certificate names its holder head of your delegation, and only
if the signature verifies with that certified key. The host learns that you
are ready, nothing else; the other parties are not told by the venue.

The meeting stays provisional until every party's head has signalled
readiness; then the host confirms it. A device that is not the head's is
refused here, before anything is sent.

Summits are prepared at a lower level: when the meeting names a channel
this desk is in, readiness is refused while no text has been taken up there
at the meeting's level (desk refer, then desk take-up); --unprepared
signals it anyway.
`+deskPassphraseHelp+`

Example:
  goodoffices desk ready m-3f9c2a1b7d4e`)
	f := addDeskFlags(fs, true)
	zone := fs.String("zone", "", "your IANA time `zone` for the meeting's time (default $TZ or this computer's)")
	unprepared := fs.Bool("unprepared", false, "signal readiness although no text was taken up from a lower level")
	id, err := parseOneArg(fs, args)
	if err != nil {
		return err
	}
	if id == "" {
		fs.Usage()
		return &UsageError{Msg: "the MEETING id is required (see 'goodoffices desk schedule')"}
	}
	loc, err := scheduleZone(env, *zone)
	if err != nil {
		return err
	}
	d, err := f.open(ctx, env)
	if err != nil {
		return err
	}
	defer d.Close()
	m, err := d.SignalReady(ctx, id, desk.ScheduleOptions{Zone: loc, Unprepared: *unprepared})
	if errors.Is(err, desk.ErrNotHead) {
		p := d.Profile()
		return fmt.Errorf("refused: %w (you are %s, %s of %s); nothing was sent to the venue", err, p.Person, p.Role, p.Delegation)
	}
	if err != nil {
		return scheduleErr(err)
	}
	if *f.json {
		return deskJSON(env.Stdout, m)
	}
	fmt.Fprintf(env.Stdout, "readiness of %s for meeting %s recorded by the venue\n\n", d.Profile().Delegation, m.ID)
	printScheduledMeeting(env.Stdout, m)
	return nil
}

const deskFeedHelp = `
Your own calendar feed (iCalendar, RFC 5545): subscribe to its URL from your
usual calendar program to see your delegation's meetings, kept up to date,
with times also in your zone. The URL holds a secret token: whoever has it
can read your delegation's schedule, so keep it to yourself. The venue keeps
only a hash of the token, so the URL is shown once, when created; if it
leaks, revoke the feed and create a new one.
` + deskPassphraseHelp + `

  goodoffices desk feed create [--zone Europe/Vienna]
  goodoffices desk feed list
  goodoffices desk feed revoke FEED-ID`

func runDeskFeed(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk feed", "create|list|revoke [FEED-ID] [--zone ZONE] [--home DIR] [--json]", deskFeedHelp)
	f := addDeskFlags(fs, true)
	zone := fs.String("zone", "", "create: also show times in this IANA `zone` (default $TZ, if set)")
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fs.Usage()
		if len(args) == 0 {
			return &UsageError{Msg: "want create, list or revoke"}
		}
		return flag.ErrHelp
	}
	sub := args[0]
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	want := 0
	if sub == "revoke" {
		want = 1
	}
	switch sub {
	case "create", "list", "revoke":
	default:
		return &UsageError{Msg: fmt.Sprintf("unknown subcommand %q: want create, list or revoke", sub)}
	}
	if len(pos) != want {
		if want == 1 {
			return &UsageError{Msg: "revoke needs the FEED-ID (see 'goodoffices desk feed list')"}
		}
		return &UsageError{Msg: "unexpected arguments: " + strings.Join(pos, " ")}
	}
	z := *zone
	if z == "" {
		z = strings.TrimPrefix(env.Getenv("TZ"), ":")
	}
	if z != "" {
		if _, err := scheduleZone(env, z); err != nil {
			return err
		}
	}
	d, err := f.open(ctx, env)
	if err != nil {
		return err
	}
	defer d.Close()
	switch sub {
	case "create":
		fc, url, err := d.CreateFeed(ctx, z)
		if err != nil {
			return scheduleErr(err)
		}
		if *f.json {
			return deskJSON(env.Stdout, map[string]any{"feed": fc.FeedRecord, "url": url})
		}
		fmt.Fprintf(env.Stdout, "calendar feed %s of %s (%s)\n\n  %s\n\nSubscribe to this URL in your calendar program. It is shown only now; keep it secret.\nIf it leaks: goodoffices desk feed revoke %s\n",
			fc.ID, fc.Person, fc.Delegation, url, fc.ID)
		return nil
	case "list":
		fs, err := d.Feeds(ctx)
		if err != nil {
			return scheduleErr(err)
		}
		if *f.json {
			return deskJSON(env.Stdout, fs)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "FEED\tZONE\tCREATED\tSTATE")
		for _, fr := range fs {
			state := "active"
			if !fr.Revoked.IsZero() {
				state = "revoked " + fr.Revoked.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", fr.ID, orDash(fr.Zone), fr.Created.UTC().Format(time.RFC3339), state)
		}
		return tw.Flush()
	default:
		if err := d.RevokeFeed(ctx, pos[0]); err != nil {
			return scheduleErr(err)
		}
		if *f.json {
			return deskJSON(env.Stdout, map[string]string{"revoked": pos[0]})
		}
		fmt.Fprintf(env.Stdout, "calendar feed %s revoked: its URL no longer works\n", pos[0])
		return nil
	}
}
