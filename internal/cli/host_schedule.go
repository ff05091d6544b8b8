package cli

// The host's schedule commands: rooms, meetings, calendar feeds. They talk
// to the venue's schedule API (package venue/scheduleapi).

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/good-offices/goodoffices/schedule"
	"github.com/good-offices/goodoffices/venue/scheduleapi"
)

func init() {
	register(&command{name: "host rooms", summary: "list, add, update or remove the venue's rooms (host admin)", run: runHostRooms})
	register(&command{name: "host meetings", summary: "propose, check, move, confirm, cancel and list meetings (host admin)", run: runHostMeetings})
	register(&command{name: "host feeds", summary: "create, list or revoke calendar feed URLs (host admin)", run: runHostFeeds})
}

// schedClient returns a schedule API client acting as the host admin, with
// the same --venue, --admin-file, $GOODOFFICES_VENUE and $GOODOFFICES_ADMIN
// as the other host commands.
func schedClient(env *Env, fs *flag.FlagSet, h hostFlags) (*scheduleapi.Client, string, error) {
	url := *h.venue
	if e := env.Getenv("GOODOFFICES_VENUE"); e != "" && !flagSet(fs, "venue") {
		url = e
	}
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return nil, "", &UsageError{Msg: "--venue must be an http:// or https:// URL"}
	}
	cred := env.Getenv("GOODOFFICES_ADMIN")
	if cred == "" || flagSet(fs, "admin-file") {
		data, err := os.ReadFile(*h.adminFile)
		if err != nil {
			return nil, "", fmt.Errorf("failed to read the admin credential (is this the host's machine? see --admin-file): %w", err)
		}
		cred = strings.TrimSpace(string(data))
	}
	return &scheduleapi.Client{BaseURL: strings.TrimSuffix(url, "/"), Token: cred}, strings.TrimSuffix(url, "/"), nil
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func parseOverrides(s string) ([]schedule.ConflictKind, error) {
	var out []schedule.ConflictKind
	for _, x := range splitList(s) {
		k, err := schedule.ParseConflictKind(x)
		if err != nil {
			return nil, &UsageError{Msg: "--override: " + err.Error()}
		}
		out = append(out, k)
	}
	return out, nil
}

// explain turns an API refusal into an error that says what to do.
func explain(err error) error {
	var ae *scheduleapi.APIError
	if !errors.As(err, &ae) {
		return err
	}
	switch {
	case len(ae.Conflicts) > 0:
		var b strings.Builder
		b.WriteString("refused by the venue:")
		var kinds []string
		for _, c := range ae.Conflicts {
			fmt.Fprintf(&b, "\n  - %s [%s]", c.Reason, c.Kind)
			if !strings.Contains(strings.Join(kinds, ","), string(c.Kind)) {
				kinds = append(kinds, string(c.Kind))
			}
		}
		fmt.Fprintf(&b, "\nto book it anyway, repeat with --override %s", strings.Join(kinds, ","))
		return errors.New(b.String())
	case len(ae.Missing) > 0:
		return fmt.Errorf("%s\nthe meeting stays provisional; each head signals readiness from their desk", ae.Message)
	}
	return err
}

const roomsHelp = `
Manages the venue's rooms: seats, interpretation booths (one per language,
ISO 639 codes) and equipment. A meeting's headcount must fit the room and
each language of simultaneous interpretation needs a booth, unless the host
overrides the rule.

  goodoffices host rooms list
  goodoffices host rooms add "Hall of Independence" --capacity 120 --booths en,fr,ru --equipment podium,recording
  goodoffices host rooms update "Room A" --capacity 16 [--override capacity]
  goodoffices host rooms remove Library`

func runHostRooms(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "host rooms", "list|add|update|remove [NAME] [flags]", roomsHelp)
	h := addHostFlags(fs)
	capacity := fs.Int("capacity", 0, "number of `seats`")
	booths := fs.String("booths", "", "interpretation booth `languages`, comma-separated (en,fr,ru)")
	equipment := fs.String("equipment", "", "equipment, comma-separated")
	override := fs.String("override", "", "conflict `kinds` to accept for meetings in the room: capacity, no-booth")
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fs.Usage()
		if len(args) == 0 {
			return &UsageError{Msg: "want list, add, update or remove"}
		}
		return flag.ErrHelp
	}
	sub, pos, err := parseSub(fs, args)
	if err != nil {
		return err
	}
	c, _, err := schedClient(env, fs, h)
	if err != nil {
		return err
	}
	room := func() (schedule.Room, error) {
		if len(pos) != 1 {
			return schedule.Room{}, &UsageError{Msg: sub + " needs one room NAME (quote names with spaces)"}
		}
		if *capacity < 1 {
			return schedule.Room{}, &UsageError{Msg: sub + " needs --capacity (seats, at least 1)"}
		}
		return schedule.Room{Name: pos[0], Capacity: *capacity, Booths: splitList(*booths), Equipment: splitList(*equipment)}, nil
	}
	var r schedule.Room
	switch sub {
	case "list":
		if len(pos) > 0 {
			return &UsageError{Msg: "list takes no arguments"}
		}
		rooms, err := c.Rooms(ctx)
		if err != nil {
			return err
		}
		if *h.json {
			return printJSON(env, rooms)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ROOM\tSEATS\tBOOTHS\tEQUIPMENT")
		for _, r := range rooms {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", r.Name, r.Capacity, orDash(strings.ToUpper(strings.Join(r.Booths, ","))), orDash(strings.Join(r.Equipment, ", ")))
		}
		return tw.Flush()
	case "add":
		if r, err = room(); err != nil {
			return err
		}
		r, err = c.AddRoom(ctx, r)
	case "update":
		if r, err = room(); err != nil {
			return err
		}
		ov, oerr := parseOverrides(*override)
		if oerr != nil {
			return oerr
		}
		r, err = c.UpdateRoom(ctx, r, ov)
	case "remove":
		if len(pos) != 1 {
			return &UsageError{Msg: "remove needs one room NAME"}
		}
		if err := c.RemoveRoom(ctx, pos[0]); err != nil {
			return explain(err)
		}
		if *h.json {
			return printJSON(env, map[string]string{"removed": pos[0]})
		}
		fmt.Fprintf(env.Stdout, "removed room %s\n", pos[0])
		return nil
	default:
		return &UsageError{Msg: "unknown subcommand " + sub + ": want list, add, update or remove"}
	}
	if err != nil {
		return explain(err)
	}
	if *h.json {
		return printJSON(env, r)
	}
	fmt.Fprintf(env.Stdout, "room %s: %d seats, booths %s, equipment %s\n", r.Name, r.Capacity,
		orDash(strings.ToUpper(strings.Join(r.Booths, ","))), orDash(strings.Join(r.Equipment, ", ")))
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

const meetingsHelp = `
Schedules the talks' meetings. Times are wall-clock times of the venue's
time zone ('goodoffices host zone' shows it, 'host zone set ZONE' changes it),
written YYYY-MM-DDTHH:MM; a time that a daylight-saving change skips or
repeats is refused. The venue refuses a double-booked room, a delegation in
two meetings at once, too many people for the room, a language without a
booth (simultaneous interpretation) and times outside opening hours, unless
you override that rule with --override KIND[,KIND].

Expert and senior-officials meetings start as drafts; ministerial and
leaders' meetings start provisional and can be confirmed only when the head
of every attending party has signalled readiness from their desk.

  goodoffices host meetings list [--zone Europe/Berlin]
  goodoffices host meetings show ID
  goodoffices host meetings propose --title "Working group 1" --talks caspia-talks --channel wg1 \
      --level expert --room "Room A" --start 2026-11-23T09:30 --end 2026-11-23T12:30 \
      --languages en,ru --interpretation consecutive --delegations arden,borealia --headcount 10
  goodoffices host meetings check ...same flags as propose...    (what would conflict; changes nothing)
  goodoffices host meetings update ID --headcount 12             (only the flags given change)
  goodoffices host meetings update ID --interpreters DEVICE-ID   (book the host's interpreters)
  goodoffices host meetings move ID --start 2026-11-24T09:30 --end 2026-11-24T12:30 [--room "Room B"]
  goodoffices host meetings confirm ID
  goodoffices host meetings cancel ID --note "postponed"

Interpreters booked for a meeting with a channel (--interpreters, devices
certified with the role interpreter) may use that channel's log at the venue;
they join its encrypted group only once every party's desk has consented
('goodoffices desk consent-interpreter'). The host proposes; it never admits.

Conflict kinds: room-booked, delegation-busy, capacity, no-booth, outside-hours.`

func runHostMeetings(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "host meetings", "list|show|propose|check|update|move|confirm|cancel [ID] [flags]", meetingsHelp)
	h := addHostFlags(fs)
	title := fs.String("title", "", "meeting `title`")
	talks := fs.String("talks", "", "`talks` the meeting belongs to")
	channel := fs.String("channel", "", "the meeting's `channel` id, if any")
	level := fs.String("level", "", "`level`: expert, senior-officials, ministerial, leaders")
	room := fs.String("room", "", "`room` name")
	start := fs.String("start", "", "start, venue time `YYYY-MM-DDTHH:MM`")
	end := fs.String("end", "", "end, venue time `YYYY-MM-DDTHH:MM`")
	langs := fs.String("languages", "", "interpretation `languages`, comma-separated (en,ru)")
	interp := fs.String("interpretation", "", "`mode`: simultaneous (needs booths; default) or consecutive")
	dels := fs.String("delegations", "", "attending `delegations`, comma-separated")
	headcount := fs.Int("headcount", 0, "expected number of `people`")
	interpreters := fs.String("interpreters", "", "device `IDs` of the interpreters booked, comma-separated: they may use the meeting's channel, and join it once every party consents")
	id := fs.String("id", "", "meeting `ID` to use when proposing (default: a random one)")
	override := fs.String("override", "", "conflict `kinds` to accept, comma-separated")
	note := fs.String("note", "", "a `note` for the meeting's history")
	zone := fs.String("zone", "", "also show times in this IANA `zone` (e.g. Europe/Berlin)")
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fs.Usage()
		if len(args) == 0 {
			return &UsageError{Msg: "want list, show, propose, check, update, move, confirm or cancel"}
		}
		return flag.ErrHelp
	}
	sub, pos, err := parseSub(fs, args)
	if err != nil {
		return err
	}
	ov, err := parseOverrides(*override)
	if err != nil {
		return err
	}
	local := func(name, s string) (schedule.LocalTime, error) {
		if s == "" {
			return schedule.LocalTime{}, nil
		}
		t, err := schedule.ParseLocalTime(s)
		if err != nil {
			return t, &UsageError{Msg: "--" + name + ": " + err.Error()}
		}
		return t, nil
	}
	st, err := local("start", *start)
	if err != nil {
		return err
	}
	en, err := local("end", *end)
	if err != nil {
		return err
	}
	// spec applies the flags given to base.
	spec := func(base schedule.MeetingSpec) (schedule.MeetingSpec, error) {
		set := func(name string) bool { return flagSet(fs, name) }
		if set("title") {
			base.Title = *title
		}
		if set("talks") {
			base.Talks = *talks
		}
		if set("channel") {
			base.Channel = *channel
		}
		if set("level") {
			l, err := schedule.ParseLevel(*level)
			if err != nil {
				return base, &UsageError{Msg: "--level: " + err.Error()}
			}
			base.Level = l
		}
		if set("room") {
			base.Room = *room
		}
		if set("start") {
			base.Start = st
		}
		if set("end") {
			base.End = en
		}
		if set("languages") {
			base.Languages = splitList(*langs)
			if !set("interpretation") && len(base.Languages) == 0 {
				base.Interpretation = ""
			}
		}
		if set("interpretation") {
			base.Interpretation = *interp
		}
		if set("delegations") {
			base.Delegations = splitList(*dels)
		}
		if set("headcount") {
			base.Headcount = *headcount
		}
		if set("interpreters") {
			base.Interpreters = splitList(*interpreters)
		}
		if set("id") {
			base.ID = *id
		}
		return base, nil
	}
	needID := func() (string, error) {
		if len(pos) != 1 {
			return "", &UsageError{Msg: sub + " needs one meeting ID"}
		}
		return pos[0], nil
	}
	c, _, err := schedClient(env, fs, h)
	if err != nil {
		return err
	}
	var m scheduleapi.MeetingView
	switch sub {
	case "list":
		ms, err := c.Meetings(ctx, *zone)
		if err != nil {
			return explain(err)
		}
		if *h.json {
			return printJSON(env, ms)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATUS\tLEVEL\tWHEN (VENUE TIME)\tROOM\tTITLE")
		for _, m := range ms {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, m.Status, m.Level, m.Times.Venue, m.Room, m.Title)
			if *zone != "" {
				fmt.Fprintf(tw, "\t\t\t%s\t\t\n", m.Times.Own)
			}
		}
		return tw.Flush()
	case "show":
		mid, err := needID()
		if err != nil {
			return err
		}
		if m, err = c.Meeting(ctx, mid, *zone); err != nil {
			return explain(err)
		}
		if *h.json {
			return printJSON(env, m)
		}
		printMeeting(env.Stdout, m, true)
		return nil
	case "propose", "check":
		if len(pos) > 0 {
			return &UsageError{Msg: sub + " takes flags only, no arguments"}
		}
		sp, err := spec(schedule.MeetingSpec{})
		if err != nil {
			return err
		}
		req := scheduleapi.MeetingRequest{MeetingSpec: sp, Override: ov, Note: *note}
		if sub == "check" {
			cs, err := c.Check(ctx, req)
			if err != nil {
				return explain(err)
			}
			if *h.json {
				return printJSON(env, map[string]any{"conflicts": cs})
			}
			if len(cs) == 0 {
				fmt.Fprintln(env.Stdout, "no conflicts")
			}
			for _, c := range cs {
				fmt.Fprintf(env.Stdout, "conflict [%s]: %s\n", c.Kind, c.Reason)
			}
			return nil
		}
		m, err = c.Propose(ctx, req)
		if err != nil {
			return explain(err)
		}
	case "update":
		mid, err := needID()
		if err != nil {
			return err
		}
		cur, err := c.Meeting(ctx, mid, "")
		if err != nil {
			return explain(err)
		}
		loc, err := time.LoadLocation(cur.Times.VenueZone)
		if err != nil {
			return fmt.Errorf("failed to load the venue's zone %q: %w", cur.Times.VenueZone, err)
		}
		sp, err := spec(schedule.SpecOf(cur.Meeting, loc))
		if err != nil {
			return err
		}
		if m, err = c.Update(ctx, mid, scheduleapi.MeetingRequest{MeetingSpec: sp, Override: ov, Note: *note}); err != nil {
			return explain(err)
		}
	case "move":
		mid, err := needID()
		if err != nil {
			return err
		}
		if *start == "" || *end == "" {
			return &UsageError{Msg: "move needs --start and --end (and --room to change rooms)"}
		}
		if m, err = c.Move(ctx, mid, scheduleapi.MoveRequest{Room: *room, Start: st, End: en, Override: ov, Note: *note}); err != nil {
			return explain(err)
		}
	case "confirm", "cancel":
		mid, err := needID()
		if err != nil {
			return err
		}
		req := scheduleapi.ActionRequest{Override: ov, Note: *note}
		if sub == "confirm" {
			m, err = c.Confirm(ctx, mid, req)
		} else {
			m, err = c.Cancel(ctx, mid, req)
		}
		if err != nil {
			return explain(err)
		}
	default:
		return &UsageError{Msg: "unknown subcommand " + sub + ": want list, show, propose, check, update, move, confirm or cancel"}
	}
	if *h.json {
		return printJSON(env, m)
	}
	printMeeting(env.Stdout, m, false)
	return nil
}

func printMeeting(w io.Writer, m scheduleapi.MeetingView, history bool) {
	fmt.Fprintf(w, "%s  %s  [%s, %s, sequence %d]\n", m.ID, m.Title, m.Level, m.Status, m.Sequence)
	fmt.Fprintf(w, "  when:   %s\n", m.Times.Venue)
	if m.Times.OwnZone != m.Times.VenueZone {
		fmt.Fprintf(w, "          %s\n", m.Times.Own)
	}
	fmt.Fprintf(w, "  room:   %s\n", m.Room)
	fmt.Fprintf(w, "  talks:  %s", m.Talks)
	if m.Channel != "" {
		fmt.Fprintf(w, " (channel %s)", m.Channel)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  who:    %s, %d people\n", strings.Join(m.Delegations, ", "), m.Headcount)
	if len(m.Languages) > 0 {
		fmt.Fprintf(w, "  interpretation: %s (%s)\n", strings.ToUpper(strings.Join(m.Languages, ", ")), m.Interpretation)
	}
	if len(m.Interpreters) > 0 {
		fmt.Fprintf(w, "  interpreters (may use channel %s; join only with every party's consent): %s\n", m.Channel, strings.Join(m.Interpreters, ", "))
	}
	if len(m.Overrides) > 0 {
		var ks []string
		for _, k := range m.Overrides {
			ks = append(ks, string(k))
		}
		fmt.Fprintf(w, "  overridden: %s\n", strings.Join(ks, ", "))
	}
	if m.Level.Gated() {
		var ready []string
		for _, r := range m.Readiness {
			ready = append(ready, r.Delegation)
		}
		sort.Strings(ready) // by name, whatever order the heads signalled in
		fmt.Fprintf(w, "  readiness: ready %s; waiting for %s\n", orDash(strings.Join(ready, ", ")), orDash(strings.Join(m.MissingReadiness, ", ")))
	}
	if history {
		fmt.Fprintln(w, "  history:")
		for _, h := range m.History {
			extra := ""
			if len(h.Fields) > 0 {
				extra += " (" + strings.Join(h.Fields, ", ") + ")"
			}
			if h.Delegation != "" {
				extra += " " + h.Delegation
			}
			if h.Note != "" {
				extra += ": " + strconv.Quote(h.Note)
			}
			fmt.Fprintf(w, "    %d  %s  %-10s by %s%s\n", h.Sequence, h.At.UTC().Format("2006-01-02 15:04Z"), h.Action, orDash(h.Actor), extra)
		}
	}
}

const feedsHelp = `
Creates, lists and revokes calendar feeds (iCalendar, RFC 5545). A feed URL
holds a secret token: whoever has it can read the schedule of that
delegation, so send it only to its owner. It cannot be shown again; revoke it
and create a new one if it leaks. A delegate can also create their own feed
from the desk.

  goodoffices host feeds create --delegation arden [--person "Tomas Reig"] [--zone Europe/Berlin]
  goodoffices host feeds list
  goodoffices host feeds revoke FEED-ID`

func runHostFeeds(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "host feeds", "create|list|revoke [FEED-ID] [flags]", feedsHelp)
	h := addHostFlags(fs)
	deleg := fs.String("delegation", "", "the `delegation` whose meetings the feed lists")
	person := fs.String("person", "", "the delegate the feed is for (optional)")
	zone := fs.String("zone", "", "the subscriber's IANA `zone`, to show their local times too")
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fs.Usage()
		if len(args) == 0 {
			return &UsageError{Msg: "want create, list or revoke"}
		}
		return flag.ErrHelp
	}
	sub, pos, err := parseSub(fs, args)
	if err != nil {
		return err
	}
	c, base, err := schedClient(env, fs, h)
	if err != nil {
		return err
	}
	switch sub {
	case "create":
		if *deleg == "" || len(pos) > 0 {
			return &UsageError{Msg: "create needs --delegation and no arguments"}
		}
		f, err := c.CreateFeed(ctx, scheduleapi.FeedRequest{Delegation: *deleg, Person: *person, Zone: *zone})
		if err != nil {
			return explain(err)
		}
		url := base + f.Path
		if *h.json {
			return printJSON(env, map[string]any{"feed": f.FeedRecord, "url": url})
		}
		fmt.Fprintf(env.Stdout, "feed %s for %s\nsubscribe to (secret, shown once):\n%s\n", f.ID, feedOwner(f.FeedRecord), url)
		return nil
	case "list":
		fsx, err := c.Feeds(ctx)
		if err != nil {
			return explain(err)
		}
		if *h.json {
			return printJSON(env, fsx)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "FEED\tFOR\tZONE\tCREATED\tSTATE")
		for _, f := range fsx {
			state := "active"
			if !f.Revoked.IsZero() {
				state = "revoked " + f.Revoked.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.ID, feedOwner(f), orDash(f.Zone), f.Created.Format(time.RFC3339), state)
		}
		return tw.Flush()
	case "revoke":
		if len(pos) != 1 {
			return &UsageError{Msg: "revoke needs one FEED-ID"}
		}
		if err := c.RevokeFeed(ctx, pos[0]); err != nil {
			return explain(err)
		}
		if *h.json {
			return printJSON(env, map[string]string{"revoked": pos[0]})
		}
		fmt.Fprintf(env.Stdout, "revoked feed %s: its URL no longer works\n", pos[0])
		return nil
	default:
		return &UsageError{Msg: "unknown subcommand " + sub + ": want create, list or revoke"}
	}
}

func feedOwner(f scheduleapi.FeedRecord) string {
	if f.Person != "" {
		return f.Person + " (" + f.Delegation + ")"
	}
	return f.Delegation
}
