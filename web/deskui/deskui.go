// Package deskui is the delegate's web interface, served by the desk on
// loopback.
//
// It reads everything from the desk (package desk): the channels and their
// verified logs, the decrypted and authenticated messages, the alarms, the
// parties and their fingerprints. It replays the application messages that
// carry negotiation events through the pure engine (package negotiation) to
// show the negotiating texts, proposals, positions and the package; every
// action the delegate takes in the browser becomes one event payload that the
// desk encrypts and appends to the channel's log (Desk.Send), so the browser
// is only another way to do what `goodoffices desk` does.
//
// The engine state of each channel is kept between requests and brought up
// to date by applying only the messages the desk processed since
// (negotiation.State.Apply is incremental); a channel whose processed-entry
// cursor has not moved is not read at all. A change of the channel's
// engine configuration (its members, their root keys) replays it from the
// start.
//
// The trust panel shows, per log, what the desk verified, which entries are
// still pending and which are confirmed by all parties (every member
// delegation cosigned a checkpoint covering them, desk.Confirmation), each
// delegation's root-key fingerprint with the out-of-band confirmation
// (desk.VerifyParty), and every alarm with its evidence and, for a fork,
// the proof of misbehaviour to download. The schedule comes from the desk's
// own schedule client (desk.Meetings, desk.WatchSchedule for live updates);
// on a head of delegation's desk a provisional ministerial or leaders'
// meeting offers "Signal readiness" (desk.SignalReady).
//
// Security: see package web. The server listens on a loopback address only,
// checks the Host header against that address, refuses cross-origin
// state changes, and opens a session only with a one-time login token.
package deskui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/desk"
	"github.com/good-offices/goodoffices/negotiation"
	"github.com/good-offices/goodoffices/schedule"
	"github.com/good-offices/goodoffices/venue/api"
	"github.com/good-offices/goodoffices/venue/client"
	"github.com/good-offices/goodoffices/web"
)

// Options configure a Server.
type Options struct {
	Desk *desk.Desk
	// Talks is the name of the talks, for display.
	Talks string
	// Host is the delegation ID of the host (not a party to the texts).
	Host string
	// Names gives display names of delegations, e.g. "arden" -> "Federation
	// of Arden". Missing names show the ID.
	Names map[string]string
	// Demo says the desk runs in 'goodoffices demo', whose terminal prints
	// new sign-in links (for the sign-in page's advice).
	Demo bool
	// Heads maps a delegation to the person of its head; when set, only the
	// head signals readiness (negotiation.Party.Head).
	Heads map[string]string
	// Zone is the delegate's IANA time zone: every time on the pages is
	// shown in it, with its abbreviation (meetings also in the venue's
	// zone). Empty means the machine's (schedule.MachineZone), but the
	// schedule then shows meetings in the venue's zone only. VenueZone is
	// the venue's zone until the venue's answers say otherwise.
	Zone, VenueZone string
	Logger          *slog.Logger
}

// A Server is the desk's web interface.
type Server struct {
	o        Options
	d        *desk.Desk
	log      *slog.Logger
	pages    map[string]map[string]*template.Template // locale -> page -> template
	sessions web.Sessions
	guard    web.Guard
	base     string
	ln       net.Listener

	// view serialises the requests that read or update cache: the
	// engine states are shared between requests.
	view  sync.Mutex
	cache map[string]*chanCache
	// moved maps a channel whose talks continue in another since a
	// recovery to that channel (desk.Desk.ContinuedIn), as of the last
	// load; guarded by view.
	moved map[string]string

	mu         sync.Mutex
	lastRead   map[string]int64 // channel -> highest index the delegate has seen
	subs       map[chan struct{}]bool
	colours    map[string]string
	lang       string            // the language saved in the desk's settings, if any
	tz         *time.Location    // the delegate's zone: every time on a page is in it
	venueTitle string            // the venue's display name, once it said it
	display    map[string]string // delegation -> display name from the register
}

// New returns a server for the desk in o.
func New(o Options) (*Server, error) {
	if o.Desk == nil {
		return nil, errors.New("deskui: no desk")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &Server{o: o, d: o.Desk, log: o.Logger, lastRead: map[string]int64{}, subs: map[chan struct{}]bool{}, colours: map[string]string{}, display: map[string]string{}, cache: map[string]*chanCache{}}
	pages, err := web.LocalePages("desk", s.funcs)
	if err != nil {
		return nil, fmt.Errorf("failed to parse templates: %w", err)
	}
	s.pages = pages
	s.lang = o.Desk.UILanguage(context.Background())
	zone := o.Zone
	if zone == "" {
		zone = schedule.MachineZone()
	}
	if s.tz, err = schedule.LoadZone(zone); err != nil {
		return nil, fmt.Errorf("deskui: %w", err)
	}
	return s, nil
}

// Listen binds the server to addr, which must be a loopback address
// ("127.0.0.1:0" picks a free port), and allows exactly the Host headers of
// that address.
func (s *Server) Listen(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("failed to parse address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("the desk UI listens on loopback only, not %q", host)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("failed to listen: %w", err)
	}
	s.ln = ln
	s.guard.Hosts = web.LoopbackHosts(ln.Addr().String())
	s.base = "http://" + ln.Addr().String()
	return nil
}

// SetHosts sets the accepted Host headers (tests that serve Handler on their
// own listener).
func (s *Server) SetHosts(hosts ...string) { s.guard.Hosts = hosts }

// URL returns the server's base URL after Listen.
func (s *Server) URL() string { return s.base }

// NewLoginToken returns a fresh one-time login token.
func (s *Server) NewLoginToken() string { return s.sessions.NewToken() }

// LoginURL returns a URL that opens a session once.
func (s *Server) LoginURL() string {
	return s.base + "/login?token=" + url.QueryEscape(s.sessions.NewToken())
}

// Serve serves on the listener from Listen until ctx ends.
func (s *Server) Serve(ctx context.Context) error {
	if s.ln == nil {
		return errors.New("deskui: Serve before Listen")
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	if v := s.d.Venue(); v != nil {
		go s.learnVenueName(ctx, v.URL)
	}
	if s.d.Venue() != nil {
		// Open pages refresh when the delegation's meetings change (the
		// venue answers the desk's long poll at once).
		if opts, err := s.scheduleOptions(); err == nil {
			go func() {
				err := s.d.WatchSchedule(ctx, opts, func(c desk.ScheduleChange) error {
					if !c.First {
						s.Notify(nil)
					}
					return nil
				})
				if err != nil && ctx.Err() == nil {
					s.log.Warn("stopped watching the schedule", "err", err)
				}
			}()
		}
	}
	go func() {
		<-ctx.Done()
		s.closeSubs()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	err := srv.Serve(s.ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Notify tells the open pages that logs moved (Desk.Run's onSync).
func (s *Server) Notify(logs []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.subs {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

func (s *Server) closeSubs() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.subs {
		close(c)
		delete(s.subs, c)
	}
}

// Handler returns the UI's handler, behind the guard.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", web.Static())
	mux.HandleFunc("GET /login", s.login)
	mux.HandleFunc("POST /logout", s.auth(s.logout))
	mux.HandleFunc("POST /lang", s.auth(web.LanguageHandler(false, s.saveLanguage)))
	mux.HandleFunc("GET /{$}", s.auth(s.overview))
	mux.HandleFunc("GET /events", s.auth(s.events))
	mux.HandleFunc("GET /channels/{id}", s.auth(s.channel))
	mux.HandleFunc("POST /channels/{id}/messages", s.auth(s.postMessage))
	mux.HandleFunc("POST /channels/{id}/handover", s.auth(s.postHandover))
	mux.HandleFunc("GET /texts/{id}", s.auth(s.text))
	mux.HandleFunc("POST /texts/{id}/position", s.auth(s.postPosition))
	mux.HandleFunc("POST /texts/{id}/propose", s.auth(s.postProposal))
	mux.HandleFunc("POST /texts/{id}/ready", s.auth(s.postReady))
	mux.HandleFunc("POST /texts/{id}/refer", s.auth(s.postRefer))
	mux.HandleFunc("POST /texts/{id}/proposals/{proposal}/respond", s.auth(s.postResponse))
	mux.HandleFunc("GET /texts/{id}/package", s.auth(s.packageView))
	mux.HandleFunc("GET /texts/{id}/diff", s.auth(s.diff))
	mux.HandleFunc("GET /texts/{id}/outcome.json", s.auth(s.outcomeBundle))
	mux.HandleFunc("GET /texts/{id}/concordance", s.auth(s.concordance))
	mux.HandleFunc("POST /texts/{id}/concord", s.auth(s.postConcord))
	mux.HandleFunc("GET /texts/{id}/docx", s.auth(s.docxDownload))
	mux.HandleFunc("GET /search", s.auth(s.search))
	mux.HandleFunc("GET /trust", s.auth(s.trust))
	mux.HandleFunc("POST /trust/confirm", s.auth(s.postConfirm))
	mux.HandleFunc("POST /trust/clear", s.auth(s.postClear))
	mux.HandleFunc("POST /trust/recover", s.auth(s.postRecover))
	mux.HandleFunc("POST /trust/check", s.auth(s.postCheck))
	mux.HandleFunc("GET /trust/alarms/{n}/proof", s.auth(s.proofDownload))
	mux.HandleFunc("GET /schedule", s.auth(s.schedulePage))
	mux.HandleFunc("POST /schedule/{id}/ready", s.auth(s.postMeetingReady))
	mux.HandleFunc("POST /schedule/feeds", s.auth(s.postFeed))
	mux.HandleFunc("POST /schedule/feeds/{id}/revoke", s.auth(s.postRevokeFeed))
	return s.guard.Wrap(mux)
}

// auth lets through requests with a live session.
func (s *Server) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.sessions.Valid(r) {
			s.renderSignin(w, r, http.StatusUnauthorized, s.tr(r, "You are not signed in, or your session has ended."), true)
			return
		}
		if r.URL.Path != "/events" {
			s.view.Lock()
			defer s.view.Unlock()
		}
		h(w, r)
	}
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	id, ok := s.sessions.Redeem(r.URL.Query().Get("token"))
	if !ok {
		s.renderSignin(w, r, http.StatusUnauthorized, s.tr(r, "This sign-in link is invalid or was used already."), true)
		return
	}
	s.sessions.SetCookie(w, r, id)
	http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
}

// localPath returns p if it is a path on this server, else "/": a login
// link cannot send the browser elsewhere.
func localPath(p string) string { return web.LocalPath(p) }

// saveLanguage keeps the language chosen in the menu in the desk's
// settings: the desk speaks it to any browser after a restart.
func (s *Server) saveLanguage(r *http.Request, code string) error {
	if err := s.d.SetUILanguage(r.Context(), code); err != nil {
		return err
	}
	s.mu.Lock()
	s.lang = code
	s.mu.Unlock()
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	s.sessions.Close(r)
	http.SetCookie(w, &http.Cookie{Name: web.CookieName(r.Host), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	s.renderSignin(w, r, http.StatusOK, s.tr(r, "Signed out."), false)
}

// events is the SSE stream that tells pages to refresh.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	c := make(chan struct{}, 1)
	s.mu.Lock()
	s.subs[c] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.subs[c] {
			delete(s.subs, c)
		}
		s.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprint(w, "retry: 2000\n\n")
	fl.Flush()
	tick := time.NewTicker(25 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case _, ok := <-c:
			if !ok {
				return
			}
			fmt.Fprint(w, "event: sync\ndata: {}\n\n")
			fl.Flush()
		case <-tick.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			fl.Flush()
		}
	}
}

// ---- the model: the desk's data, replayed through the engine ----

// model is what one page render needs from the desk.
//
// Each channel is replayed through its own engine State: the engine's IDs
// (statements S1, proposals A1, ...) are then the same on every desk of the
// channel's members, whatever other channels a desk also belongs to.
type model struct {
	Status   *desk.Status
	Channels []desk.ChannelInfo
	Messages map[string][]desk.Message
	States   map[string]*negotiation.State // by channel
	Order    []string                      // channels with a state, sorted
	State    *negotiation.State            // the state the page is about, if any
	Parties  []negotiation.Party
}

// texts returns every text of every channel.
func (m *model) texts() []*negotiation.Text {
	var out []*negotiation.Text
	for _, ch := range m.Order {
		out = append(out, m.States[ch].Texts...)
	}
	return out
}

// text finds text id and selects its channel's state.
func (m *model) text(id string) *negotiation.Text { return m.textIn("", id) }

// textIn finds text id in channel ch (any channel if ch is "", the first
// in m.Order that has it) and selects that channel's state. Text IDs are
// unique only within a channel: two channels of this desk may each have a
// "joint-statement", which is why the pages' addresses name the channel
// (textURL).
func (m *model) textIn(ch, id string) *negotiation.Text {
	for _, c := range m.Order {
		if ch != "" && c != ch {
			continue
		}
		if t := m.States[c].Text(id); t != nil {
			m.State = m.States[c]
			m.Parties = m.State.Config.Parties
			return t
		}
	}
	return nil
}

// isEvent reports whether an application message carries a negotiation
// payload ({"v":..,"type":..}) rather than free text.
func isEvent(b []byte) bool {
	t := strings.TrimSpace(string(b))
	return strings.HasPrefix(t, "{") && strings.Contains(t, `"type"`) && strings.Contains(t, `"v"`)
}

// chanCache is the engine state of one channel, kept between requests so
// that a page applies only the entries processed since the last one
// (negotiation.State.Apply is incremental) instead of replaying the whole
// history on every request.
// keptMessages is how many of a channel's last messages the interface
// keeps in memory; readChunk how many it reads from the desk at a time.
const (
	keptMessages = 300
	readChunk    = 2048
)

type chanCache struct {
	key   string // the engine configuration it was built with
	msgs  []desk.Message
	state *negotiation.State
	next  int64 // log index after the last message read
	// processed is the desk's LogState.Next when the channel was last
	// read: while it does not move, nothing new can be read.
	processed int64
}

// configKey identifies an engine configuration: a channel whose members or
// root keys change is replayed from the start.
func configKey(cfg negotiation.Config) string {
	b, _ := json.Marshal(cfg)
	return string(b)
}

// load reads the desk's status and brings the cached engine state of every
// channel up to date. Callers hold s.view (see auth), so the cached states
// are not changed while a page reads them.
func (s *Server) load(ctx context.Context) (*model, error) {
	st, err := s.d.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("failed to read the desk's status: %w", err)
	}
	chans, err := s.d.Channels(ctx)
	if err != nil {
		return nil, fmt.Errorf("failed to list channels: %w", err)
	}
	sort.Slice(chans, func(i, j int) bool { return chans[i].ID < chans[j].ID })
	m := &model{Status: st, Channels: chans, Messages: map[string][]desk.Message{}, States: map[string]*negotiation.State{}}
	s.assignColours(st.Parties)
	// Recoveries, from the status (desk.Desk.ContinuedIn's answer for
	// every channel at once): where each old channel's talks went, and
	// what each fresh channel continues.
	moved := map[string]string{}
	conts := map[string]*desk.Continuation{}
	for _, c := range st.Continued {
		moved[c.From] = c.Channel
		conts[c.Channel] = &c.Continuation
	}
	for _, r := range st.Recovered {
		moved[r.From] = r.To
	}
	s.moved = moved
	// A hand-over rewrites history already read (and, after a recovery,
	// what the channels that continue it carry): every channel's state is
	// computed again after one.
	hos, err := s.d.Handovers(ctx, "")
	if err != nil {
		return nil, err
	}
	for _, c := range chans {
		cc, err := s.channelState(ctx, c.ID, c.State.Next, conts[c.ID], len(hos))
		if err != nil {
			return nil, err
		}
		m.Messages[c.ID] = cc.msgs
		s.initReadMark(ctx, c.ID, cc.msgs)
		if cc.state == nil {
			continue
		}
		m.States[c.ID] = cc.state
		if moved[c.ID] != "" {
			// Its texts go on in the channel that continues it: its pages
			// stay readable, but the menu and the text pages are that
			// channel's.
			continue
		}
		m.Order = append(m.Order, c.ID)
		if m.Parties == nil {
			m.Parties = cc.state.Config.Parties
		}
	}
	return m, nil
}

// initReadMark learns, once per channel, how far the delegate had read it
// before this server started: the desk keeps the read mark (Desk.MarkRead)
// and reports the unread count, from which the mark follows.
func (s *Server) initReadMark(ctx context.Context, ch string, msgs []desk.Message) {
	s.mu.Lock()
	_, known := s.lastRead[ch]
	s.mu.Unlock()
	if known {
		return
	}
	u, err := s.d.Unread(ctx, ch)
	if err != nil {
		return
	}
	mark := int64(-1)
	if len(msgs) > 0 {
		mark = msgs[len(msgs)-1].Index
	}
	for i := len(msgs) - 1; i >= 0 && u > 0; i-- {
		if msgs[i].Kind == "application" && !msgs[i].Own {
			u--
			mark = msgs[i].Index - 1
		}
	}
	s.mu.Lock()
	if _, known := s.lastRead[ch]; !known {
		s.lastRead[ch] = mark
	}
	s.mu.Unlock()
}

// ResetCache drops the cached engine states: the next page replays every
// channel from its first message (for measuring what the cache saves).
func (s *Server) ResetCache() {
	s.view.Lock()
	defer s.view.Unlock()
	s.cache = map[string]*chanCache{}
}

// channelState returns the cached state of channel ch after applying the
// messages the desk processed since the last call; processed is the
// channel's LogState.Next as the desk reports it now.
func (s *Server) channelState(ctx context.Context, ch string, processed int64, cont *desk.Continuation, handovers int) (*chanCache, error) {
	cfg, err := s.d.TalksConfig(ctx, ch, s.o.Host)
	if err != nil {
		s.log.Debug("no engine configuration for channel", "channel", ch, "err", err)
		cfg = negotiation.Config{}
	}
	if s.o.Talks != "" {
		cfg.Talks = s.o.Talks
	}
	for i := range cfg.Parties {
		cfg.Parties[i].Name = s.name(cfg.Parties[i].ID)
		cfg.Parties[i].Head = s.o.Heads[cfg.Parties[i].ID]
	}
	// The fresh channel of a recovery continues the talks of the old one
	// (cont, desk.Continuation): its state starts from the events carried.
	key := configKey(cfg) + "/" + strconv.Itoa(handovers)
	if cont != nil {
		b, _ := json.Marshal(cont)
		key += string(b)
	}
	cc := s.cache[ch]
	if cc == nil || cc.key != key {
		cc = &chanCache{key: key}
		if len(cfg.Parties) > 0 {
			if cc.state, err = negotiation.New(cfg); err != nil {
				return nil, fmt.Errorf("failed to start the negotiation engine: %w", err)
			}
			cc.state.SetReferralVerifier(s.d.ReferralVerifier())
			if cont == nil {
				if idx, err := s.d.UnverifiedNotice(ctx, ch); err != nil || idx >= 0 {
					// A recovery notice not verified yet: the talks may
					// continue another channel's (desk.Desk.Talks waits too).
					s.log.Info("the talks of a channel wait for the verification of its recovery notice", "channel", ch, "notice", idx, "err", err)
					cc.state, cc.key = nil, ""
				}
			} else {
				err := s.d.CarriedEvents(ctx, ch, func(e negotiation.Event) {
					if isEvent(e.Payload) {
						cc.state.Apply(e)
					}
				})
				if err != nil {
					// Its messages still show; the talks once the old
					// channel's entries are processed (tried at every load).
					s.log.Warn("the talks of a recovered channel cannot be computed yet", "channel", ch, "err", err)
					cc.state, cc.key = nil, ""
				}
			}
		}
		s.cache[ch] = cc
	}
	if cc.processed == processed && cc.msgs != nil {
		return cc, nil // the desk processed nothing since
	}
	if cc.msgs == nil {
		cc.msgs = []desk.Message{}
	}
	// New messages a chunk at a time; only the last keptMessages stay in
	// memory (older ones are read from the desk's store when asked for).
	for {
		msgs, err := s.d.Read(ctx, ch, cc.next, readChunk)
		if err != nil {
			return nil, fmt.Errorf("failed to read channel %s: %w", ch, err)
		}
		for _, msg := range msgs {
			if msg.Index < cc.next {
				continue
			}
			cc.msgs = append(cc.msgs, msg)
			cc.next = msg.Index + 1
			if cc.state != nil && msg.Event() && isEvent(msg.Data) {
				cc.state.Apply(negotiation.Event{
					LogIndex: uint64(msg.Index), Channel: ch,
					Delegation: msg.Sender.Delegation, Device: msg.Sender.Device, Person: msg.Sender.Person,
					Payload: msg.Data,
				})
			}
		}
		if n := len(cc.msgs); n > keptMessages {
			cc.msgs = append([]desk.Message(nil), cc.msgs[n-keptMessages:]...)
		}
		if len(msgs) < readChunk {
			break
		}
	}
	cc.processed = processed
	return cc, nil
}

// name is what a page calls delegation id: the display name the options
// give, else the one the host logged with its accreditation in the
// register, else the ID itself.
func (s *Server) name(id string) string {
	if n, ok := s.o.Names[id]; ok && n != "" {
		return n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.display[id]; n != "" {
		return n
	}
	return id
}

func (s *Server) assignColours(ps []desk.Party) {
	names := make([]string, 0, len(ps))
	for _, p := range ps {
		if p.Name != s.o.Host {
			names = append(names, p.Name)
		}
	}
	sort.Strings(names)
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, n := range names {
		s.colours[n] = "party-" + strconv.Itoa(i%4)
	}
	for _, p := range ps {
		s.display[p.Name] = p.DisplayName
	}
	if s.o.Host != "" {
		s.colours[s.o.Host] = "party-host"
	}
}

func (s *Server) colour(party string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.colours[party]
}

// ---- sending events ----

// send encrypts payload into channel ch, then syncs the channel so that
// the page the delegate is redirected to shows it.
func (s *Server) send(ctx context.Context, ch string, payload []byte) error {
	if _, err := s.d.SendEvent(ctx, ch, s.o.Host, payload); err != nil {
		return err
	}
	if err := s.d.SyncLog(ctx, ch); err != nil {
		s.log.Warn("failed to sync after send", "channel", ch, "err", err)
	}
	s.Notify([]string{ch})
	return nil
}

// textChannel returns the channel of text t: the one it was tabled in.
//
// A text tabled in a channel whose talks continue in another since a
// recovery (desk.Continuation) is negotiated there now: textChannel
// follows the recoveries (callers hold s.view, as for the states).
func (s *Server) textChannel(t *negotiation.Text) string {
	if len(t.Versions) == 0 {
		return ""
	}
	ch := t.Versions[0].Channel
	for range len(s.moved) { // a chain of recoveries is at most this long
		to, ok := s.moved[ch]
		if !ok {
			break
		}
		ch = to
	}
	return ch
}

// textURL returns the address of page sub ("", "/package", "/diff", ...)
// of text t: /texts/<id><sub>?ch=<channel>, so that a text is found in its
// own channel even when another channel has a text of the same ID.
func (s *Server) textURL(t *negotiation.Text, sub string) string {
	return "/texts/" + url.PathEscape(t.ID) + sub + "?ch=" + url.QueryEscape(s.textChannel(t))
}

// ---- flash messages through the redirect ----

func redirect(w http.ResponseWriter, r *http.Request, to, flash string, isErr bool) {
	u, _ := url.Parse(to)
	q := u.Query()
	if flash != "" {
		q.Set("flash", flash)
		if isErr {
			q.Set("err", "1")
		}
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// ---- helpers ----

func fingerprintOf(vkey string) string {
	if vkey == "" {
		return ""
	}
	return delegation.Fingerprint(vkey)
}

// learnVenueName asks the venue for its display name, for the pages'
// footer. The name is only a label: the venue is identified by its key.
func (s *Server) learnVenueName(ctx context.Context, venueURL string) {
	c, err := client.New(venueURL)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	info, err := c.Info(ctx)
	if err != nil || info.DisplayName == "" || api.CheckDisplayName(info.DisplayName) != nil {
		return
	}
	s.mu.Lock()
	s.venueTitle = info.DisplayName
	s.mu.Unlock()
}

// venueName is the venue's display name, when the venue gives one, else
// its name.
func (s *Server) venueName(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.venueTitle != "" {
		return s.venueTitle
	}
	return name
}
