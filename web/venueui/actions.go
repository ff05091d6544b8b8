package venueui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/schedule"
	"github.com/good-offices/goodoffices/venue/api"
	"github.com/good-offices/goodoffices/venue/scheduleapi"
	"github.com/good-offices/goodoffices/web/i18n"
)

// The host's write actions. Every one is a plain HTML form posted to this
// server, which calls the venue's admin API. Forms are safe against CSRF
// because the guard (package web) refuses any state-changing request that
// is not same-origin, and the session cookie is SameSite=Strict; nothing is
// changed by a GET. A request that breaks a scheduling rule is refused by
// the venue with the conflicts; the page shows each reason and offers to
// repeat the request with exactly those rules overridden, which the host
// must tick one by one.

// back redirects to to with a flash message.
func back(w http.ResponseWriter, r *http.Request, to, flash string, isErr bool) {
	u, _ := url.Parse(to)
	q := u.Query()
	q.Set("flash", flash)
	if isErr {
		q.Set("err", "1")
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// ---- accreditation ----

// accreditPreview is a key the host pasted, with its fingerprint, waiting
// for the host to compare it with the delegation's head and confirm.
type accreditPreview struct {
	Name, DisplayName, Key, Fingerprint string
}

// checkRootKey validates a delegation's root verifier key: a signed-note
// Ed25519 verifier key named after the delegation.
func checkRootKey(name, vkey string) error {
	if !delegation.ValidName(name) {
		return uiError("the delegation ID must be a short lower-case name (letters, digits, hyphens)")
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return uiError("that is not a root verifier key (expected <name>+<hash>+<key>, as 'goodoffices delegation init' prints it)")
	}
	if v.Name() != name {
		return uiError("the key is named “%s”, not “%s”", v.Name(), name)
	}
	return nil
}

func (s *Server) postAccredit(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.FormValue("name"))
	key := strings.TrimSpace(r.FormValue("root_key"))
	if err := checkRootKey(name, key); err != nil {
		back(w, r, "/", s.tr(r, "Not accredited: %s", s.msg(r, err)), true)
		return
	}
	display := strings.Join(strings.Fields(r.FormValue("display_name")), " ")
	if display != "" && api.CheckDisplayName(display) != nil {
		back(w, r, "/", s.tr(r, "Not accredited: %s", s.tr(r, "the display name must have 1 to %d letters, digits, punctuation or spaces", api.MaxDisplayName)), true)
		return
	}
	fp := delegation.Fingerprint(key)
	if r.FormValue("step") != "accredit" || r.FormValue("compared") != "yes" {
		// First step: show the fingerprint to compare.
		s.overviewWith(w, r, &accreditPreview{Name: name, DisplayName: display, Key: key, Fingerprint: fp})
		return
	}
	d, err := s.api.AccreditNamed(r.Context(), name, display, key)
	if err != nil {
		back(w, r, "/", s.tr(r, "Not accredited: %s", s.msg(r, err)), true)
		return
	}
	s.learnNames(r.Context())
	back(w, r, "/", s.tr(r, "%s accredited (register entry %d, fingerprint %s). Every desk will show this fingerprint for its delegates to compare.", s.name(d.Name), d.Index, fp), false)
}

// ---- rooms ----

// splitList splits a comma-separated list, trimming and lower-casing.
func splitList(s string, lower bool) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if lower {
			f = strings.ToLower(f)
		}
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

func (s *Server) postRoom(w http.ResponseWriter, r *http.Request) {
	capacity, err := strconv.Atoi(strings.TrimSpace(r.FormValue("capacity")))
	if err != nil || capacity <= 0 {
		back(w, r, "/schedule#rooms", s.tr(r, "Room not added: give the number of seats."), true)
		return
	}
	room := schedule.Room{Name: strings.TrimSpace(r.FormValue("name")), Capacity: capacity,
		Booths: splitList(r.FormValue("booths"), true), Equipment: splitList(r.FormValue("equipment"), false)}
	if _, err := schedule.ValidateRoom(room); err != nil {
		back(w, r, "/schedule#rooms", s.tr(r, "Room not added: %s", err.Error()), true)
		return
	}
	if _, err := s.sched.AddRoom(r.Context(), room); err != nil {
		back(w, r, "/schedule#rooms", s.tr(r, "Room not added: %s", apiMessage(err)), true)
		return
	}
	back(w, r, "/schedule#rooms", s.tr(r, "Room %s added.", room.Name), false)
}

func (s *Server) postRemoveRoom(w http.ResponseWriter, r *http.Request) {
	name := r.FormValue("name")
	if err := s.sched.RemoveRoom(r.Context(), name); err != nil {
		back(w, r, "/schedule#rooms", s.tr(r, "Room not removed: %s", apiMessage(err)), true)
		return
	}
	back(w, r, "/schedule#rooms", s.tr(r, "Room %s removed.", name), false)
}

// ---- the venue's time zone ----

// postZone changes the venue's time zone (PUT /v1/schedule/zone).
func (s *Server) postZone(w http.ResponseWriter, r *http.Request) {
	zone := strings.TrimSpace(r.FormValue("zone"))
	if _, err := schedule.LoadZone(zone); err != nil {
		back(w, r, "/schedule", s.tr(r, "Zone not changed: “%s” is not a time zone name such as Europe/Paris.", zone), true)
		return
	}
	z, err := s.sched.SetZone(r.Context(), zone)
	if err != nil {
		back(w, r, "/schedule", s.tr(r, "Zone not changed: %s", apiMessage(err)), true)
		return
	}
	s.refreshZone(r.Context())
	back(w, r, "/schedule", s.tr(r, "The venue's time zone is now %s. Meetings keep their instants; their times now read in this zone, and the desks are told.", z.Zone), false)
}

// ---- meetings ----

// apiMessage is the venue's reason for refusing a request.
func apiMessage(err error) string {
	var ae *scheduleapi.APIError
	if errors.As(err, &ae) && ae.Message != "" {
		return ae.Message
	}
	return err.Error()
}

// conflictsOf returns the conflicts and the parties not yet ready of a
// refused request, if that is why it was refused.
func conflictsOf(err error) ([]schedule.Conflict, []string) {
	var ae *scheduleapi.APIError
	if errors.As(err, &ae) {
		return ae.Conflicts, ae.Missing
	}
	var ce *schedule.ConflictError
	if errors.As(err, &ce) {
		return ce.Conflicts, nil
	}
	return nil, nil
}

// overrides reads the rules the host ticked to override.
func overrides(r *http.Request) ([]schedule.ConflictKind, error) {
	var out []schedule.ConflictKind
	for _, v := range r.Form["override"] {
		k, err := schedule.ParseConflictKind(v)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

// meetingForm is the propose form, kept to show it again after a refusal.
type meetingForm struct {
	Title, Talks, Level, Room, Start, End, Channel, Languages, Interpretation, Headcount string
	Delegations                                                                          map[string]bool
}

// refusal is a request the venue refused, shown with its reasons and the
// overrides the host may choose.
type refusal struct {
	Action    string // what was refused, e.g. "propose"
	Message   string
	Conflicts []schedule.Conflict
	Missing   []string
}

// kindReasons is one rule the host may override, with every reason it was
// broken for.
type kindReasons struct {
	Kind    schedule.ConflictKind
	Reasons []string
}

// Overridable groups the conflicts by rule: the host overrides a rule, not
// one instance of it.
func (r *refusal) Overridable() []kindReasons {
	var out []kindReasons
	idx := map[schedule.ConflictKind]int{}
	for _, c := range r.Conflicts {
		i, ok := idx[c.Kind]
		if !ok {
			i = len(out)
			idx[c.Kind] = i
			out = append(out, kindReasons{Kind: c.Kind})
		}
		out[i].Reasons = append(out[i].Reasons, c.Reason)
	}
	return out
}

// refused builds the refusal of action for err, with a short message when
// the reasons are listed one by one.
func refused(l *i18n.Locale, action, verb string, err error) *refusal {
	cs, missing := conflictsOf(err)
	ref := &refusal{Action: action, Message: l.T(verb) + ": " + apiMessage(err), Conflicts: cs, Missing: missing}
	n := len(ref.Overridable())
	switch {
	case n == 1:
		ref.Message = l.T(verb) + ": " + l.T("it breaks a scheduling rule.")
	case n > 1:
		ref.Message = l.T(verb) + ": " + l.T("it breaks %d scheduling rules.", n)
	case len(missing) > 0:
		ref.Message = l.T(verb) + ": " + l.T("not every party is ready.")
	}
	return ref
}

func formOf(r *http.Request) meetingForm {
	f := meetingForm{
		Title: strings.TrimSpace(r.FormValue("title")), Talks: strings.TrimSpace(r.FormValue("talks")), Level: r.FormValue("level"), Room: r.FormValue("room"),
		Start: r.FormValue("start"), End: r.FormValue("end"), Channel: strings.TrimSpace(r.FormValue("channel")),
		Languages: r.FormValue("languages"), Interpretation: r.FormValue("interpretation"), Headcount: r.FormValue("headcount"),
		Delegations: map[string]bool{},
	}
	for _, d := range r.Form["delegation"] {
		f.Delegations[d] = true
	}
	return f
}

// spec turns the form into a meeting spec; times are the venue's wall
// clock. The talks are the form's, else talks.
func (f meetingForm) spec(talks string) (schedule.MeetingSpec, error) {
	var sp schedule.MeetingSpec
	var err error
	if f.Talks != "" {
		talks = f.Talks
	}
	sp.Title, sp.Talks, sp.Room, sp.Channel = f.Title, talks, f.Room, f.Channel
	if sp.Talks == "" {
		return sp, uiError("name the talks the meeting belongs to")
	}
	if sp.Level, err = schedule.ParseLevel(f.Level); err != nil {
		return sp, err
	}
	if sp.Start, err = schedule.ParseLocalTime(f.Start); err != nil {
		return sp, uiError("start: %s", err.Error())
	}
	if sp.End, err = schedule.ParseLocalTime(f.End); err != nil {
		return sp, uiError("end: %s", err.Error())
	}
	if sp.Headcount, err = strconv.Atoi(strings.TrimSpace(f.Headcount)); err != nil || sp.Headcount <= 0 {
		return sp, uiError("give the number of people expected")
	}
	sp.Languages = splitList(f.Languages, true)
	if len(sp.Languages) > 0 {
		sp.Interpretation = f.Interpretation
	}
	for d := range f.Delegations {
		sp.Delegations = append(sp.Delegations, d)
	}
	sort.Strings(sp.Delegations)
	if len(sp.Delegations) == 0 {
		return sp, uiError("choose the delegations that attend")
	}
	return sp, nil
}

func (s *Server) postMeeting(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	f := formOf(r)
	sp, err := f.spec(s.o.Talks)
	if err != nil {
		s.scheduleWith(w, r, &f, &refusal{Action: "propose", Message: s.tr(r, "Not proposed: %s", s.msg(r, err))})
		return
	}
	ov, err := overrides(r)
	if err != nil {
		s.scheduleWith(w, r, &f, &refusal{Action: "propose", Message: s.tr(r, "Not proposed: %s", s.msg(r, err))})
		return
	}
	mv, err := s.sched.Propose(r.Context(), scheduleapi.MeetingRequest{MeetingSpec: sp, Override: ov, Note: strings.TrimSpace(r.FormValue("note"))})
	if err != nil {
		s.scheduleWith(w, r, &f, refused(s.locale(r), "propose", i18n.N("Not proposed"), err))
		return
	}
	l := s.locale(r)
	msg := l.T("“%s” proposed (%s).", mv.Title, l.Label("meeting", mv.Status))
	if len(ov) > 0 {
		msg += " " + l.T("Overridden: %s.", kinds(l, ov))
	}
	back(w, r, "/meetings/"+url.PathEscape(mv.ID), msg, false)
}

func kinds(l *i18n.Locale, ks []schedule.ConflictKind) string {
	ss := make([]string, len(ks))
	for i, k := range ks {
		ss[i] = l.Label("conflict", k)
	}
	return strings.Join(ss, ", ")
}

// meetingData is the page of one meeting.
type meetingData struct {
	M       scheduleapi.MeetingView
	Rooms   []schedule.Room
	Parties []partyReady
	Gated   bool
	Start   string // the venue's wall clock, for the move form
	End     string
	Refused *refusal
	Kinds   []schedule.ConflictKind
	Err     string
	// The details form: the meeting as it stands, or as the host sent it.
	Form      meetingForm
	Levels    []schedule.Level
	Delegates []string
}

func (s *Server) meetingPage(w http.ResponseWriter, r *http.Request) {
	s.meetingWith(w, r, nil)
}

func (s *Server) meetingWith(w http.ResponseWriter, r *http.Request, ref *refusal) {
	id := r.PathValue("id")
	mv, err := s.sched.Meeting(r.Context(), id, "")
	if err != nil {
		var ae *scheduleapi.APIError
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			http.NotFound(w, r)
			return
		}
		s.render(w, r, "meeting", s.tr(r, "Meeting"), meetingData{Err: err.Error()})
		return
	}
	d := meetingData{M: mv, Gated: mv.Level.Gated(), Refused: ref, Kinds: schedule.ConflictKinds}
	d.Rooms, err = s.sched.Rooms(r.Context())
	if err != nil {
		d.Err = err.Error()
	}
	d.Start = schedule.LocalOf(mv.Start, s.zone()).String()
	d.End = schedule.LocalOf(mv.End, s.zone()).String()
	if ref != nil {
		if v := r.FormValue("start"); v != "" {
			d.Start = v
		}
		if v := r.FormValue("end"); v != "" {
			d.End = v
		}
	}
	d.Parties = readinessOf(mv)
	d.Levels = schedule.Levels
	sp := schedule.SpecOf(mv.Meeting, s.zone())
	d.Form = meetingForm{Title: sp.Title, Talks: sp.Talks, Level: string(sp.Level), Room: sp.Room, Start: sp.Start.String(), End: sp.End.String(),
		Channel: sp.Channel, Languages: strings.Join(sp.Languages, ", "), Interpretation: sp.Interpretation,
		Headcount: strconv.Itoa(sp.Headcount), Delegations: map[string]bool{}}
	for _, dl := range sp.Delegations {
		d.Form.Delegations[dl] = true
	}
	if ref != nil && ref.Action == "update" {
		d.Form = formOf(r)
	}
	if dels, err := s.api.Delegations(r.Context()); err == nil {
		for _, dl := range dels {
			d.Delegates = append(d.Delegates, dl.Name)
		}
	}
	if ref != nil {
		w.WriteHeader(http.StatusConflict)
	}
	s.render(w, r, "meeting", mv.Title, d)
}

// readinessOf lists, for a gated meeting, each attending party and whether
// its head has signalled readiness.
func readinessOf(m scheduleapi.MeetingView) []partyReady {
	if !m.Level.Gated() {
		return nil
	}
	missing := map[string]bool{}
	for _, p := range m.MissingReadiness {
		missing[p] = true
	}
	signed := map[string]time.Time{}
	for _, rr := range m.Readiness {
		signed[rr.Delegation] = rr.SignedAt
	}
	var out []partyReady
	for _, p := range m.Delegations {
		if p == "" {
			continue
		}
		pr := partyReady{Party: p, Ready: !missing[p]}
		if t, ok := signed[p]; ok && pr.Ready {
			pr.SignedAt = t
		}
		out = append(out, pr)
	}
	return out
}

// postMeetingAction confirms, moves or cancels a meeting.
func (s *Server) postMeetingAction(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	id, action := r.PathValue("id"), r.PathValue("action")
	ov, err := overrides(r)
	if err != nil {
		s.meetingWith(w, r, &refusal{Action: action, Message: s.msg(r, err)})
		return
	}
	ctx, note := r.Context(), strings.TrimSpace(r.FormValue("note"))
	var mv scheduleapi.MeetingView
	switch action {
	case "confirm":
		mv, err = s.sched.Confirm(ctx, id, scheduleapi.ActionRequest{Override: ov, Note: note})
	case "cancel":
		mv, err = s.sched.Cancel(ctx, id, scheduleapi.ActionRequest{Override: ov, Note: note})
	case "update":
		f := formOf(r)
		var sp schedule.MeetingSpec
		if sp, err = f.spec(s.o.Talks); err != nil {
			s.meetingWith(w, r, &refusal{Action: action, Message: s.tr(r, "Not changed: %s", s.msg(r, err))})
			return
		}
		sp.ID = id
		mv, err = s.sched.Update(ctx, id, scheduleapi.MeetingRequest{MeetingSpec: sp, Override: ov, Note: note})
	case "move":
		var req scheduleapi.MoveRequest
		req.Room, req.Override, req.Note = r.FormValue("room"), ov, note
		if req.Start, err = schedule.ParseLocalTime(r.FormValue("start")); err == nil {
			req.End, err = schedule.ParseLocalTime(r.FormValue("end"))
		}
		if err != nil {
			s.meetingWith(w, r, &refusal{Action: action, Message: s.tr(r, "Not moved: %s", s.msg(r, err))})
			return
		}
		mv, err = s.sched.Move(ctx, id, req)
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		verb := map[string]string{"confirm": i18n.N("Not confirmed"), "cancel": i18n.N("Not cancelled"), "move": i18n.N("Not moved"), "update": i18n.N("Not changed")}[action]
		s.meetingWith(w, r, refused(s.locale(r), action, verb, err))
		return
	}
	l := s.locale(r)
	msg := map[string]string{"confirm": i18n.N("Confirmed"), "cancel": i18n.N("Cancelled"), "move": i18n.N("Moved"), "update": i18n.N("Changed")}[action]
	msg = l.T(msg) + ": " + l.T("“%s” is now %s.", mv.Title, l.Label("meeting", mv.Status))
	if len(ov) > 0 {
		msg += " " + l.T("Overridden: %s.", kinds(l, ov))
	}
	back(w, r, "/meetings/"+url.PathEscape(mv.ID), msg, false)
}

// events is the page's live stream: it long-polls the venue's schedule
// (GET /v1/schedule/changes) and tells the page to refresh when a meeting
// changes, e.g. when a head of delegation signals readiness.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprint(w, "retry: 3000\n\n")
	fl.Flush()
	ctx := r.Context()
	etag := ""
	for ctx.Err() == nil {
		ch, err := s.sched.WaitChanges(ctx, etag, 25*time.Second, "")
		if err != nil {
			if ctx.Err() == nil {
				s.log.Debug("schedule watch failed", "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(3 * time.Second):
				}
			}
			continue
		}
		if ch.Changed && etag != "" {
			fmt.Fprint(w, "event: sync\ndata: {}\n\n")
		} else {
			fmt.Fprint(w, ": keep-alive\n\n")
		}
		fl.Flush()
		etag = ch.ETag
	}
}
