package desk

// The host's good-offices services as a delegate uses them: the meetings
// that concern this delegation, the head of delegation's readiness signal
// for a ministerial or leaders' meeting, notice of every change (long poll),
// and the delegate's own calendar feed. Everything here is metadata the
// host sees by design (package schedule); no content of the talks passes.
//
// The schedule API (package venue/scheduleapi) takes a device bearer token;
// the desk obtains one by answering the venue's challenge with its device
// key, as for every other device call.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/negotiation"
	"github.com/good-offices/goodoffices/schedule"
	"github.com/good-offices/goodoffices/venue/client"
	"github.com/good-offices/goodoffices/venue/scheduleapi"
)

// ErrNotHead is returned by [Desk.SignalReady] on a device whose
// certificate does not name its holder head of delegation. Nothing is sent
// to the venue.
var ErrNotHead = errors.New("only the head of delegation can signal readiness, and this device's certificate does not name its holder head of delegation")

// A ScheduledMeeting is a meeting as this delegate sees it: the venue's
// record (its delegation's view: no other party's readiness, no host
// overrides), its time in the venue's zone and in the delegate's own, and,
// for a provisional ministerial or leaders' meeting, what it waits for.
type ScheduledMeeting struct {
	schedule.Meeting
	Times schedule.Times `json:"times"`
	// Gated reports a ministerial or leaders' meeting: provisional until
	// the head of every attending party has signalled readiness.
	Gated bool `json:"gated"`
	// Party reports that this delegation's head must signal readiness
	// (gated meetings this delegation attends as a party, not as host).
	Party bool `json:"party"`
	// Ready reports that this delegation's head has signalled readiness
	// for the meeting at its current level.
	Ready bool `json:"ready"`
	// Waiting says, in words, what a provisional meeting waits for; empty
	// for any other status.
	Waiting []string `json:"waiting,omitempty"`
}

// ScheduleOptions say how to show meetings.
type ScheduleOptions struct {
	// Zone is the delegate's own time zone; nil means the venue's.
	Zone *time.Location
	// HostDelegation is the host's delegation, which attends without a
	// readiness signal; empty if the host does not attend or is unknown.
	HostDelegation string
	// Unprepared lets SignalReady signal readiness for a meeting whose
	// channel holds no text taken up from a lower level.
	Unprepared bool
}

// ViewMeeting returns how delegation own sees m, with its times in
// venueZone (the venue's zone; nil means UTC) and in opts.Zone.
func ViewMeeting(m schedule.Meeting, own string, venueZone *time.Location, opts ScheduleOptions) ScheduledMeeting {
	if venueZone == nil {
		venueZone = time.UTC
	}
	// A delegation is shown its own readiness signal only (package
	// scheduleapi); leave out other parties' signals from the history too.
	m = m.Clone()
	m.History = slices.DeleteFunc(m.History, func(h schedule.Change) bool {
		return h.Action == "readiness" && h.Delegation != own
	})
	sm := ScheduledMeeting{Meeting: m, Times: schedule.TimesFor(m, venueZone, opts.Zone), Gated: m.Level.Gated()}
	sm.Party = sm.Gated && m.Attends(own) && own != opts.HostDelegation
	if sm.Gated {
		sm.Ready = slices.ContainsFunc(m.Readiness, func(r schedule.ReadinessRecord) bool {
			// The record counts only for the meeting's current level, talks
			// and this delegation, as the venue's gate counts it.
			st, err := schedule.ParseReadiness(r.Statement)
			return err == nil && r.Delegation == own && st.Delegation == own &&
				st.Meeting == m.ID && st.Talks == m.Talks && st.Level == m.Level
		})
	}
	if m.Status != schedule.StatusProvisional {
		return sm
	}
	if sm.Party && !sm.Ready {
		sm.Waiting = append(sm.Waiting, "the readiness signal of the head of delegation of "+own)
	}
	others := 0
	for _, d := range m.Delegations {
		if d != own && d != opts.HostDelegation {
			others++
		}
	}
	if others > 0 {
		sm.Waiting = append(sm.Waiting, "the readiness signals of the other parties' heads of delegation (not shown to your delegation)")
	}
	sm.Waiting = append(sm.Waiting, "the host's confirmation")
	return sm
}

// scheduleAPI returns a client of the venue's schedule API with a fresh
// device token.
func (d *Desk) scheduleAPI(ctx context.Context) (*scheduleapi.Client, error) {
	if d.venue == nil || d.cert == nil {
		return nil, ErrNotEnrolled
	}
	tok, err := d.deviceToken(ctx)
	if err != nil {
		return nil, err
	}
	return &scheduleapi.Client{BaseURL: strings.TrimSuffix(d.venue.URL, "/"), Token: tok, HTTP: d.hc}, nil
}

// deviceToken authenticates this device with the venue (signed challenge,
// see package venue) and returns the bearer token.
func (d *Desk) deviceToken(ctx context.Context) (string, error) {
	base := strings.TrimSuffix(d.venue.URL, "/")
	post := func(path string, in, out any) error {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(b))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := d.httpClient().Do(req)
		if err != nil {
			return transient(fmt.Errorf("failed to reach the venue: %w", err))
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if err != nil {
			return transient(fmt.Errorf("failed to read the venue's answer: %w", err))
		}
		if resp.StatusCode != http.StatusOK {
			var e struct {
				Error string `json:"error"`
			}
			json.Unmarshal(data, &e)
			return &authError{status: resp.StatusCode, msg: fmt.Sprintf("failed to authenticate the device: venue answered %s: %s", resp.Status, e.Error)}
		}
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("failed to authenticate the device: %w", err)
		}
		return nil
	}
	var ch struct {
		Challenge string `json:"challenge"`
	}
	if err := post("/v1/auth/challenge", struct{}{}, &ch); err != nil {
		return "", err
	}
	var tok struct {
		Token string `json:"token"`
	}
	sig := ed25519.Sign(d.key, client.AuthMessage(d.venue.Name, ch.Challenge))
	if err := post("/v1/auth/token", map[string]any{"device": d.DeviceID(), "challenge": ch.Challenge, "signature": sig}, &tok); err != nil {
		return "", err
	}
	if tok.Token == "" {
		return "", errors.New("failed to authenticate the device: the venue sent no token")
	}
	return tok.Token, nil
}

// authError is the venue's refusal to authenticate this device (revoked,
// unregistered, expired certificate); 429 and 5xx are worth retrying.
type authError struct {
	status int
	msg    string
}

func (e *authError) Error() string { return e.msg }

func (e *authError) final() bool {
	return e.status != http.StatusTooManyRequests && e.status < 500
}

// venueZone returns the venue's zone as the venue reports it in a view.
func venueZone(mv scheduleapi.MeetingView) *time.Location {
	z := mv.Times.VenueZone
	if z == "" || z == "Local" || len(z) > 64 {
		return time.UTC
	}
	if loc, err := time.LoadLocation(z); err == nil {
		return loc
	}
	return time.UTC
}

func (d *Desk) viewAll(mvs []scheduleapi.MeetingView, opts ScheduleOptions) []ScheduledMeeting {
	out := make([]ScheduledMeeting, 0, len(mvs))
	for _, mv := range mvs {
		out = append(out, ViewMeeting(mv.Meeting, d.profile.Delegation, venueZone(mv), opts))
	}
	slices.SortStableFunc(out, func(a, b ScheduledMeeting) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// Meetings returns the meetings that concern this delegate (those its
// delegation attends), earliest first, as the venue holds them now.
func (d *Desk) Meetings(ctx context.Context, opts ScheduleOptions) ([]ScheduledMeeting, error) {
	api, err := d.scheduleAPI(ctx)
	if err != nil {
		return nil, err
	}
	mvs, err := api.Meetings(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("failed to list meetings: %w", err)
	}
	return d.viewAll(mvs, opts), nil
}

// A ScheduleChange is one answer of [Desk.WatchSchedule]: the whole
// current list and what changed since the previous answer.
type ScheduleChange struct {
	// First marks the first answer: the list as it stands.
	First    bool               `json:"first"`
	ETag     string             `json:"etag"`
	Meetings []ScheduledMeeting `json:"meetings"`
	// Changes lists, one line each, what differs from the previous list
	// (empty for the first answer).
	Changes []string `json:"changes,omitempty"`
}

// WatchSchedule calls fn with the current meetings of this delegation and
// then again after every change it is shown, until ctx ends or fn returns an error. It
// long-polls the venue (GET /v1/schedule/changes), which answers as soon as
// the delegation's meetings change. A venue that cannot be reached is
// retried with backoff; the error of fn, or ctx's, ends the watch.
func (d *Desk) WatchSchedule(ctx context.Context, opts ScheduleOptions, fn func(ScheduleChange) error) error {
	var api *scheduleapi.Client
	etag := ""
	var prev []ScheduledMeeting
	first := true
	backoff := time.Second
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var err error
		if api == nil {
			api, err = d.scheduleAPI(ctx)
		}
		var ch scheduleapi.Changes
		if err == nil {
			ch, err = api.WaitChanges(ctx, etag, scheduleapi.MaxWait, "")
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var ae *scheduleapi.APIError
			var au *authError
			switch {
			case errors.As(err, &au) && au.final(), errors.Is(err, ErrNotEnrolled):
				// The venue no longer accepts this device: retrying
				// cannot help.
				return fmt.Errorf("failed to watch the schedule: %w", err)
			case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized:
				api = nil // token expired: authenticate again
			case errors.As(err, &ae) && ae.Status != http.StatusServiceUnavailable && ae.Status != http.StatusTooManyRequests:
				return fmt.Errorf("failed to watch the schedule: %w", err)
			default:
				api = nil // unreachable or busy: try again later
			}
			d.log.Warn("schedule watch: retrying", "err", err, "in", backoff)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 30*time.Second)
			continue
		}
		backoff = time.Second
		if !ch.Changed {
			continue
		}
		etag = ch.ETag
		cur := d.viewAll(ch.Meetings, opts)
		sc := ScheduleChange{First: first, ETag: ch.ETag, Meetings: cur}
		if !first {
			// Nothing this delegate is shown changed (another party's
			// readiness signal): no notice.
			if sc.Changes = DiffMeetings(prev, cur); len(sc.Changes) == 0 {
				continue
			}
		}
		first, prev = false, cur
		if err := fn(sc); err != nil {
			return err
		}
	}
}

// DiffMeetings describes, one line per meeting, how cur differs from prev:
// new meetings, changes of status, time or room (with the latest history
// entry), readiness signals, and meetings that no longer concern the
// delegate.
func DiffMeetings(prev, cur []ScheduledMeeting) []string {
	old := map[string]ScheduledMeeting{}
	for _, m := range prev {
		old[m.ID] = m
	}
	var out []string
	for _, m := range cur {
		o, ok := old[m.ID]
		delete(old, m.ID)
		label := fmt.Sprintf("%s %q", m.ID, m.Title)
		if !ok {
			out = append(out, fmt.Sprintf("%s: new, %s, %s", label, m.Status, m.Times.Venue))
			continue
		}
		if o.Sequence == m.Sequence && o.Status == m.Status && len(o.History) == len(m.History) && o.Ready == m.Ready {
			continue
		}
		var parts []string
		if o.Status != m.Status {
			parts = append(parts, fmt.Sprintf("%s -> %s", o.Status, m.Status))
		}
		if !o.Start.Equal(m.Start) || !o.End.Equal(m.End) {
			parts = append(parts, "now "+m.Times.Venue)
		}
		if o.Room != m.Room {
			parts = append(parts, fmt.Sprintf("room %s -> %s", o.Room, m.Room))
		}
		if !o.Ready && m.Ready {
			parts = append(parts, "your head of delegation's readiness is recorded")
		}
		if len(m.History) > 0 {
			h := m.History[len(m.History)-1]
			s := "last change: " + h.Action
			if len(h.Fields) > 0 {
				s += " (" + strings.Join(h.Fields, ", ") + ")"
			}
			if h.Note != "" {
				s += fmt.Sprintf(" %q", h.Note)
			}
			parts = append(parts, s)
		}
		out = append(out, label+": "+strings.Join(parts, "; "))
	}
	for _, m := range prev {
		if _, gone := old[m.ID]; gone {
			out = append(out, fmt.Sprintf("%s %q: no longer concerns your delegation", m.ID, m.Title))
		}
	}
	return out
}

// HeadCertificate returns this device's certificate, verified under its
// delegation's root key from the verified register, if it names its holder
// head of delegation; otherwise ErrNotHead.
func (d *Desk) HeadCertificate(ctx context.Context) (*delegation.Certificate, error) {
	if d.cert == nil || d.venue == nil {
		return nil, ErrNotEnrolled
	}
	c, err := d.checkDevice(ctx, d.cert, time.Now())
	if err != nil {
		return nil, fmt.Errorf("failed to check this device's certificate: %w", err)
	}
	if !c.Device.Equal(d.key.Public()) || c.Delegation != d.profile.Delegation {
		return nil, errors.New("failed to check this device's certificate: it is not for this device")
	}
	if c.Role != scheduleapi.HeadRole {
		return nil, ErrNotHead
	}
	return c, nil
}

// SignalReady signals that this delegation is ready for the ministerial or
// leaders' meeting id: the head of delegation's device signs a readiness
// statement (package schedule: talks, meeting, level, delegation, time;
// Ed25519, RFC 8032) and sends it; the venue verifies it with the key of
// the head's certificate. A device that is not the head's gets ErrNotHead
// and nothing is sent. It returns the meeting as it stands afterwards.
func (d *Desk) SignalReady(ctx context.Context, id string, opts ScheduleOptions) (ScheduledMeeting, error) {
	if _, err := d.HeadCertificate(ctx); err != nil {
		return ScheduledMeeting{}, err
	}
	api, err := d.scheduleAPI(ctx)
	if err != nil {
		return ScheduledMeeting{}, err
	}
	mv, err := api.Meeting(ctx, id, "")
	if err != nil {
		return ScheduledMeeting{}, fmt.Errorf("failed to read meeting %s: %w", id, err)
	}
	if !mv.Level.Gated() {
		return ScheduledMeeting{}, fmt.Errorf("meeting %s is at %s level: only ministerial and leaders' meetings wait for readiness", id, mv.Level)
	}
	if mv.Status == schedule.StatusCancelled {
		return ScheduledMeeting{}, fmt.Errorf("meeting %s is cancelled", id)
	}
	if !opts.Unprepared {
		if err := d.checkPrepared(ctx, mv.Meeting); err != nil {
			return ScheduledMeeting{}, err
		}
	}
	after, err := api.SignalReady(ctx, d.key, mv.Meeting, d.profile.Delegation, time.Now())
	if err != nil {
		return ScheduledMeeting{}, fmt.Errorf("failed to signal readiness for meeting %s: %w", id, err)
	}
	d.log.Info("readiness signalled", "meeting", id, "level", mv.Level)
	return ViewMeeting(after.Meeting, d.profile.Delegation, venueZone(after), opts), nil
}

// ErrUnprepared is SignalReady's refusal for a ministerial or leaders'
// meeting whose channel holds no text taken up from a lower level.
var ErrUnprepared = errors.New("nothing has been prepared at a lower level for this meeting")

// PreparedTexts returns the texts of a meeting's channel that were taken
// up at the meeting's level from a lower one ("summits must be prepared at
// the expert level"); ok is false when the meeting names no channel or
// this desk is not in it.
func (d *Desk) PreparedTexts(ctx context.Context, m schedule.Meeting) (texts []*negotiation.Text, ok bool, err error) {
	if m.Channel == "" {
		return nil, false, nil
	}
	if _, err := d.channelMeta(ctx, d.store, m.Channel); err != nil {
		return nil, false, nil
	}
	st, err := d.Talks(ctx, m.Channel, "")
	if err != nil {
		return nil, false, err
	}
	for _, t := range st.Texts {
		if t.Origin != nil && string(t.Level) == string(m.Level) {
			texts = append(texts, t)
		}
	}
	return texts, true, nil
}

// checkPrepared refuses readiness for a meeting whose channel this desk
// can read and which holds no text taken up at the meeting's level.
func (d *Desk) checkPrepared(ctx context.Context, m schedule.Meeting) error {
	texts, ok, err := d.PreparedTexts(ctx, m)
	if err != nil || !ok || len(texts) > 0 {
		return err
	}
	return fmt.Errorf("meeting %s (%s, channel %s): %w; refer a text there first (desk refer, then desk take-up), or signal readiness without one", m.ID, m.Level, m.Channel, ErrUnprepared)
}

// CreateFeed creates a calendar feed (iCalendar, RFC 5545) of this
// delegation's meetings for this delegate, with times also in zone if not
// empty. The returned token and path are shown once: the venue keeps only a
// hash. The URL is the venue's URL plus Path.
func (d *Desk) CreateFeed(ctx context.Context, zone string) (scheduleapi.FeedCreated, string, error) {
	api, err := d.scheduleAPI(ctx)
	if err != nil {
		return scheduleapi.FeedCreated{}, "", err
	}
	f, err := api.CreateFeed(ctx, scheduleapi.FeedRequest{Zone: zone})
	if err != nil {
		return scheduleapi.FeedCreated{}, "", fmt.Errorf("failed to create a calendar feed: %w", err)
	}
	return f, strings.TrimSuffix(d.venue.URL, "/") + f.Path, nil
}

// Feeds lists this delegate's calendar feeds (without their tokens).
func (d *Desk) Feeds(ctx context.Context) ([]scheduleapi.FeedRecord, error) {
	api, err := d.scheduleAPI(ctx)
	if err != nil {
		return nil, err
	}
	fs, err := api.Feeds(ctx)
	if err != nil {
		return nil, fmt.Errorf("failed to list calendar feeds: %w", err)
	}
	return fs, nil
}

// RevokeFeed revokes one of this delegate's calendar feeds: its URL stops
// working at once.
func (d *Desk) RevokeFeed(ctx context.Context, id string) error {
	api, err := d.scheduleAPI(ctx)
	if err != nil {
		return err
	}
	if err := api.RevokeFeed(ctx, id); err != nil {
		return fmt.Errorf("failed to revoke calendar feed %s: %w", id, err)
	}
	return nil
}
