// Package venueui is the host's web interface to its venue: accreditation,
// talks and channels, rooms and the schedule as a week calendar, and the
// readiness of each party for high-level meetings.
//
// The host acts there too (actions.go): accredit a delegation after
// comparing its root key's fingerprint, add rooms, propose, move, confirm and
// cancel meetings. A request that breaks a scheduling rule comes back with
// every reason (package schedule's conflicts) and nothing changed; the host
// may repeat it with exactly those rules overridden, which the meeting's
// history records. The readiness gate of ministerial and leaders' meetings
// cannot be overridden. Pages refresh live when the schedule changes: the
// server long-polls the venue's GET /v1/schedule/changes and pushes a
// server-sent event.
//
// It shows metadata only, because that is all the venue has: which
// delegations are accredited and with which root keys, which devices they
// registered, which channels exist and who is in them, and the schedule.
// It talks to the venue through its HTTP API with the host's admin
// credential (package venue/client and venue/scheduleapi), so it runs next to
// the venue or on the host's own laptop.
//
// It listens on loopback and is guarded like the desk's UI (package web):
// Host allowlist, cross-origin refusal, CSP. The host signs in by pasting the
// admin credential (compared in constant time) or with a one-time link.
package venueui

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/schedule"
	"github.com/good-offices/goodoffices/venue/client"
	"github.com/good-offices/goodoffices/venue/scheduleapi"
	"github.com/good-offices/goodoffices/web"
	"github.com/good-offices/goodoffices/web/i18n"
)

// Options configure a Server.
type Options struct {
	VenueURL string
	Admin    string // the host admin credential
	Talks    string
	Names    map[string]string // display names of delegations
	// Zone is the venue's zone until the venue says otherwise: every
	// page asks the venue for the zone in force (GET /v1/schedule/zone);
	// schedule.DefaultZone if empty.
	Zone   string
	Logger *slog.Logger
}

// A Server is the host's web interface.
type Server struct {
	o        Options
	api      *client.Client
	sched    *scheduleapi.Client
	pages    map[string]map[string]*template.Template // locale -> page -> template
	sessions web.Sessions
	guard    web.Guard
	ln       net.Listener
	base     string
	loc      atomic.Pointer[time.Location] // the venue's zone, as it last said
	log      *slog.Logger

	mu      sync.Mutex
	display map[string]string // delegation -> display name, from the register
}

// zone returns the venue's time zone.
func (s *Server) zone() *time.Location { return s.loc.Load() }

// refreshZone asks the venue for its time zone (the host may have changed
// it since the last page); on failure the last known zone stays.
func (s *Server) refreshZone(ctx context.Context) {
	z, err := s.sched.Zone(ctx)
	if err != nil {
		return
	}
	if cur := s.zone(); cur != nil && cur.String() == z.Zone {
		return
	}
	if loc, err := schedule.LoadZone(z.Zone); err == nil {
		s.loc.Store(loc)
	}
}

// New returns a server.
func New(o Options) (*Server, error) {
	if o.Admin == "" || o.VenueURL == "" {
		return nil, errors.New("venueui: the venue's URL and admin credential are required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Zone == "" {
		o.Zone = schedule.DefaultZone
	}
	loc, err := time.LoadLocation(o.Zone)
	if err != nil {
		return nil, fmt.Errorf("failed to load zone %q: %w", o.Zone, err)
	}
	api, err := client.New(o.VenueURL, client.WithAdmin(o.Admin))
	if err != nil {
		return nil, err
	}
	s := &Server{o: o, api: api, sched: &scheduleapi.Client{BaseURL: o.VenueURL, Token: o.Admin}, log: o.Logger, display: map[string]string{}}
	s.loc.Store(loc)
	s.pages, err = web.LocalePages("venue", func(l *i18n.Locale) template.FuncMap {
		return template.FuncMap{
			"name":  s.name,
			"names": s.names,
			"join":  strings.Join,
			"fp":    delegation.Fingerprint,
			"day":   func(t time.Time) string { return web.Zoned(l.DateTime, t.In(s.zone())) },
			"hm":    func(t time.Time) string { return t.In(s.zone()).Format("15:04") },
			"during": func(a, b time.Time) string {
				loc := s.zone()
				return l.Span(a.In(loc), b.In(loc), "")
			},
			"conflicts": func(ks []schedule.ConflictKind) string {
				out := make([]string, len(ks))
				for i, k := range ks {
					out[i] = l.Label("conflict", k)
				}
				return strings.Join(out, ", ")
			},
		}
	})
	if err != nil {
		return nil, fmt.Errorf("failed to parse templates: %w", err)
	}
	return s, nil
}

// names joins the display names of delegations ids.
func (s *Server) names(ids []string) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = s.name(id)
	}
	return strings.Join(out, ", ")
}

// loc returns the locale of r: the language the host chose in the menu,
// else the browser's.
func (s *Server) locale(r *http.Request) *i18n.Locale { return web.Locale(r, "") }

// tr translates key (a format with args) into the locale of r.
func (s *Server) tr(r *http.Request, key string, args ...any) string {
	return s.locale(r).T(key, args...)
}

// A translatable is an error the host caused (a form filled wrongly),
// worded for translation.
type translatable struct {
	key  string
	args []any
}

func (e *translatable) Error() string { return i18n.Get("en").T(e.key, e.args...) }

// uiError returns a translatable error: key is a format with args.
func uiError(key string, args ...any) error { return &translatable{key, args} }

// msg is err in the locale of r if it is translatable, else its text.
func (s *Server) msg(r *http.Request, err error) string {
	var t *translatable
	if errors.As(err, &t) {
		return s.tr(r, t.key, t.args...)
	}
	return err.Error()
}

// name is what a page calls delegation id: the display name the options
// give, else the one logged with its accreditation, else the ID.
func (s *Server) name(id string) string {
	if n := s.o.Names[id]; n != "" {
		return n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.display[id]; n != "" {
		return n
	}
	return id
}

// learnNames reads the delegations' display names from the venue (the
// register); on failure the names known stay.
func (s *Server) learnNames(ctx context.Context) {
	ds, err := s.api.Delegations(ctx)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range ds {
		s.display[d.Name] = d.DisplayName
	}
}

// Listen binds to a loopback addr.
func (s *Server) Listen(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("the venue UI listens on loopback only, not %q", host)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("failed to listen: %w", err)
	}
	s.ln, s.base = ln, "http://"+ln.Addr().String()
	s.guard.Hosts = web.LoopbackHosts(ln.Addr().String())
	return nil
}

// SetHosts sets the accepted Host headers.
func (s *Server) SetHosts(hosts ...string) { s.guard.Hosts = hosts }

// URL returns the base URL after Listen.
func (s *Server) URL() string { return s.base }

// LoginURL returns a one-time sign-in link.
func (s *Server) LoginURL() string {
	return s.base + "/login?token=" + url.QueryEscape(s.sessions.NewToken())
}

// NewLoginToken returns a one-time sign-in token.
func (s *Server) NewLoginToken() string { return s.sessions.NewToken() }

// Serve serves until ctx ends.
func (s *Server) Serve(ctx context.Context) error {
	if s.ln == nil {
		return errors.New("venueui: Serve before Listen")
	}
	// Requests live in ctx, so that the live streams end with the server.
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Handler returns the UI's handler behind the guard.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", web.Static())
	mux.HandleFunc("GET /login", s.login)
	mux.HandleFunc("POST /login", s.loginForm)
	mux.HandleFunc("POST /lang", web.LanguageHandler(false, nil))
	mux.HandleFunc("GET /{$}", s.auth(s.overview))
	mux.HandleFunc("GET /schedule", s.auth(s.schedulePage))
	mux.HandleFunc("GET /events", s.auth(s.events))
	mux.HandleFunc("POST /accredit", s.auth(s.postAccredit))
	mux.HandleFunc("POST /zone", s.auth(s.postZone))
	mux.HandleFunc("POST /rooms", s.auth(s.postRoom))
	mux.HandleFunc("POST /rooms/remove", s.auth(s.postRemoveRoom))
	mux.HandleFunc("POST /meetings", s.auth(s.postMeeting))
	mux.HandleFunc("GET /meetings/{id}", s.auth(s.meetingPage))
	mux.HandleFunc("POST /meetings/{id}/{action}", s.auth(s.postMeetingAction))
	return s.guard.Wrap(mux)
}

func (s *Server) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.sessions.Valid(r) {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		if r.URL.Path != "/events" {
			s.refreshZone(r.Context())
			s.learnNames(r.Context())
		}
		h(w, r)
	}
}

type page struct {
	App, Title, Who, Footer string
	Bare                    bool // no language menu (never on the venue's pages)
	Live                    string
	Path                    string // of the page, for the language menu
	Nav                     []navItem
	Alarms                  string
	Flash                   string
	FlashErr                bool
	Data                    any
}

type navItem struct {
	Href, Label, Badge string
	Alarm, Current     bool
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, name, title string, data any) {
	l := s.locale(r)
	abbr, _ := time.Now().In(s.zone()).Zone()
	p := page{App: l.T("Good Offices venue"), Title: title, Who: web.JoinNonEmpty(" · ", l.T("host"), s.o.Talks), Data: data, Path: r.URL.Path,
		Footer: l.T("The venue sees metadata only: who, when, where, how much. Never what is said.") + " " +
			l.T("Times are in the venue's zone, %s (%s).", s.zone().String(), abbr),
		Flash: r.URL.Query().Get("flash"), FlashErr: r.URL.Query().Get("err") != ""}
	if name != "login" {
		p.Live = "/events"
		p.Nav = []navItem{{Href: "/", Label: l.T("Accreditation & channels")}, {Href: "/schedule", Label: l.T("Rooms & schedule")}}
		for i := range p.Nav {
			p.Nav[i].Current = p.Nav[i].Href == r.URL.Path
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.pages[l.Code][name].ExecuteTemplate(w, "layout", p); err != nil {
		s.log.Error("failed to render page", "page", name, "err", err)
	}
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if tok := r.URL.Query().Get("token"); tok != "" {
		id, ok := s.sessions.Redeem(tok)
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			s.render(w, r, "login", s.tr(r, "Sign in"), s.tr(r, "This sign-in link is invalid or was used already. Sign in with the admin credential, or press Enter in the terminal where %s runs: it prints a new link.", "goodoffices host web"))
			return
		}
		s.sessions.SetCookie(w, r, id)
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.render(w, r, "login", s.tr(r, "Sign in"), "")
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	if !web.Equal(strings.TrimSpace(r.FormValue("credential")), s.o.Admin) {
		w.WriteHeader(http.StatusUnauthorized)
		s.render(w, r, "login", s.tr(r, "Sign in"), s.tr(r, "That is not the venue's admin credential."))
		return
	}
	s.sessions.SetCookie(w, r, s.sessions.Open())
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// ---- overview: accreditation and channels ----

type delegView struct {
	client.Delegation
	Display string
	Devices []client.Device
}

type overviewData struct {
	Preview     *accreditPreview
	Delegations []delegView
	Channels    []client.Channel
	Info        client.Info
	Err         string
}

func (s *Server) overview(w http.ResponseWriter, r *http.Request) {
	s.overviewWith(w, r, nil)
}

func (s *Server) overviewWith(w http.ResponseWriter, r *http.Request, preview *accreditPreview) {
	ctx := r.Context()
	d := overviewData{Preview: preview}
	var errs []error
	info, err := s.api.Info(ctx)
	errs = append(errs, err)
	d.Info = info
	dels, err := s.api.Delegations(ctx)
	errs = append(errs, err)
	devs, err := s.api.Devices(ctx, "")
	errs = append(errs, err)
	for _, dl := range dels {
		v := delegView{Delegation: dl, Display: s.name(dl.Name)}
		for _, dv := range devs {
			if dv.Delegation == dl.Name {
				v.Devices = append(v.Devices, dv)
			}
		}
		d.Delegations = append(d.Delegations, v)
	}
	d.Channels, err = s.api.Channels(ctx)
	errs = append(errs, err)
	sort.Slice(d.Channels, func(i, j int) bool { return d.Channels[i].ID < d.Channels[j].ID })
	if err := errors.Join(errs...); err != nil {
		d.Err = err.Error()
	}
	s.render(w, r, "overview", s.tr(r, "Accreditation & channels"), d)
}

// ---- schedule: rooms, week calendar, readiness ----

type calCell struct {
	Skip     bool // covered by a meeting above
	Rows     int
	Meetings []scheduleapi.MeetingView
}

type calRow struct {
	Label string
	Hour  bool
	Cells []*calCell
}

type calDay struct {
	Label string
	Today bool
}

type scheduleData struct {
	Rooms     []schedule.Room
	Meetings  []scheduleapi.MeetingView
	Gated     []gatedView
	Days      []calDay
	Rows      []calRow
	Zone      string
	Week      string
	Prev      string
	Next      string
	Err       string
	Delegates []string
	// The propose form: its values after a refusal, and why.
	Form    *meetingForm
	Refused *refusal
	Levels  []schedule.Level
	Kinds   []schedule.ConflictKind
	Today   string
}

type gatedView struct {
	scheduleapi.MeetingView
	Parties []partyReady
}

type partyReady struct {
	Party    string
	Ready    bool
	SignedAt time.Time
}

const (
	calStart = 8  // first hour shown
	calEnd   = 20 // last hour shown (exclusive)
	slotMin  = 30 // minutes per row
)

func (s *Server) schedulePage(w http.ResponseWriter, r *http.Request) {
	s.scheduleWith(w, r, nil, nil)
}

func (s *Server) scheduleWith(w http.ResponseWriter, r *http.Request, form *meetingForm, ref *refusal) {
	ctx := r.Context()
	d := scheduleData{Zone: s.zone().String(), Form: form, Refused: ref, Levels: schedule.Levels, Kinds: schedule.ConflictKinds}
	if d.Form == nil {
		t := time.Now().In(s.zone()).AddDate(0, 0, 1)
		t = time.Date(t.Year(), t.Month(), t.Day(), 10, 0, 0, 0, s.zone())
		d.Form = &meetingForm{Delegations: map[string]bool{}, Level: string(schedule.LevelExpert), Headcount: "10",
			Start: schedule.LocalOf(t, s.zone()).String(), End: schedule.LocalOf(t.Add(time.Hour), s.zone()).String()}
	}
	if dels, err := s.api.Delegations(ctx); err == nil {
		for _, dl := range dels {
			d.Delegates = append(d.Delegates, dl.Name)
		}
	}
	if d.Form.Talks == "" {
		d.Form.Talks = s.o.Talks
	}
	var errs []error
	var err error
	d.Rooms, err = s.sched.Rooms(ctx)
	errs = append(errs, err)
	d.Meetings, err = s.sched.Meetings(ctx, "")
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		d.Err = err.Error()
	}
	sort.Slice(d.Meetings, func(i, j int) bool { return d.Meetings[i].Start.Before(d.Meetings[j].Start) })
	for _, m := range d.Meetings {
		if d.Form.Talks == "" {
			d.Form.Talks = m.Talks
		}
	}
	now := time.Now().In(s.zone())
	// The week shown: ?week=YYYY-MM-DD (any day of it), else the week of
	// the next meeting, else this week.
	wref := now
	if wk := r.URL.Query().Get("week"); wk != "" {
		if t, err := time.ParseInLocation("2006-01-02", wk, s.zone()); err == nil {
			wref = t
		}
	} else {
		for _, m := range d.Meetings {
			if m.End.After(now) && m.Status.Active() {
				wref = m.Start.In(s.zone())
				break
			}
		}
	}
	monday := time.Date(wref.Year(), wref.Month(), wref.Day()-((int(wref.Weekday())+6)%7), 0, 0, 0, 0, s.zone())
	l := s.locale(r)
	d.Week = l.LongDate(monday)
	d.Prev = monday.AddDate(0, 0, -7).Format("2006-01-02")
	d.Next = monday.AddDate(0, 0, 7).Format("2006-01-02")
	for i := range 7 {
		day := monday.AddDate(0, 0, i)
		d.Days = append(d.Days, calDay{Label: l.WeekdayDate(day), Today: day.Year() == now.Year() && day.YearDay() == now.YearDay()})
	}
	for i := range calRows {
		t := calStart*60 + i*slotMin
		d.Rows = append(d.Rows, calRow{Label: fmt.Sprintf("%02d:%02d", t/60, t%60), Hour: t%60 == 0})
	}
	grid := weekGrid(d.Meetings, monday, s.zone())
	for i := range d.Rows {
		d.Rows[i].Cells = grid[i]
	}
	for _, m := range d.Meetings {
		if !m.Level.Gated() || !m.Status.Active() {
			continue
		}
		g := gatedView{MeetingView: m, Parties: readinessOf(m)}
		d.Gated = append(d.Gated, g)
	}
	if ref != nil {
		w.WriteHeader(http.StatusConflict)
	}
	s.render(w, r, "schedule", s.tr(r, "Rooms & schedule"), d)
}

// calRows is the number of rows of the week calendar.
const calRows = (calEnd - calStart) * 60 / slotMin

// weekGrid lays out the meetings of the week that starts at monday (in
// zone) on the calendar's grid, [row][day]: a meeting takes the cell of the
// row it starts in and spans the rows it lasts (clamped to the hours
// shown); meetings that overlap share one cell, which spans them all, so
// that no meeting hides another. Meetings of other weeks are left out.
func weekGrid(meetings []scheduleapi.MeetingView, monday time.Time, zone *time.Location) [][]*calCell {
	ms := slices.Clone(meetings)
	slices.SortStableFunc(ms, func(a, b scheduleapi.MeetingView) int { return a.Start.Compare(b.Start) })
	grid := make([][]*calCell, calRows)
	for i := range grid {
		grid[i] = make([]*calCell, 7)
		for j := range grid[i] {
			grid[i][j] = &calCell{}
		}
	}
	for _, m := range ms {
		st := m.Start.In(zone)
		dayIdx := -1
		for i := range 7 {
			// By calendar date, not by hours since Monday: days of
			// a change of summer time are not 24 hours long.
			if y, mo, d := monday.AddDate(0, 0, i).Date(); st.Year() == y && st.Month() == mo && st.Day() == d {
				dayIdx = i
			}
		}
		if dayIdx < 0 {
			continue
		}
		startMin := st.Hour()*60 + st.Minute() - calStart*60
		endMin := startMin + int(m.End.Sub(m.Start).Minutes())
		row := max(0, min(calRows-1, startMin/slotMin))
		rows := max(1, min(calRows-row, (endMin-row*slotMin+slotMin-1)/slotMin))
		// Find the cell that covers row (an overlapping meeting joins it).
		top := row
		for top > 0 && grid[top][dayIdx].Skip {
			top--
		}
		c := grid[top][dayIdx]
		if len(c.Meetings) == 0 {
			c.Rows = rows
		} else if top+c.Rows < row+rows {
			c.Rows = row + rows - top
		}
		c.Meetings = append(c.Meetings, m)
		for i := top + 1; i < top+c.Rows && i < calRows; i++ {
			grid[i][dayIdx].Skip = true
		}
	}
	return grid
}
