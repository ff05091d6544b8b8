package deskui

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/good-offices/goodoffices/desk"
	"github.com/good-offices/goodoffices/negotiation"
	"github.com/good-offices/goodoffices/schedule"
	"github.com/good-offices/goodoffices/venue/scheduleapi"
	"github.com/good-offices/goodoffices/web"
	"github.com/good-offices/goodoffices/web/i18n"
)

func decodeB64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

type navItem struct {
	Href, Label string
	Badge       string
	Alarm       bool
	Current     bool
}

// page is what the layout renders.
type page struct {
	App, Title, Who, Footer string
	Live                    string
	Nav                     []navItem
	Alarms                  string
	Flash                   string
	FlashErr                bool
	Path                    string        // of the page, for the language menu
	Query                   string        // in the search box
	Progress                *progressView // the sync under way, if long
	Bare                    bool          // a page for someone not signed in: no menus, nothing of the desk
	Me                      string        // own delegation
	IsParty                 bool
	M                       *model
	Data                    any
}

// notationSegments parses a paragraph in the engine's bracket notation (a
// proposal's preview) into the segments the pages render, brackets
// coloured by party; what does not parse is shown as it is.
func notationSegments(s string) []negotiation.Segment {
	segs, err := negotiation.ParseNotation(s)
	if err != nil {
		return []negotiation.Segment{{Text: s}}
	}
	return segs
}

// stances are the positions a party may take, in the order the form
// offers them.
var stances = map[negotiation.Stance]bool{
	negotiation.Agree: true, negotiation.AgreeAdReferendum: true,
	negotiation.Reserve: true, negotiation.Object: true,
}

// funcs are the template functions of locale l (with web.LocaleFuncs).
func (s *Server) funcs(l *i18n.Locale) template.FuncMap {
	return template.FuncMap{
		"partyClass":  s.colour,
		"partyName":   s.name,
		"stance":      func(st negotiation.Stance) string { return l.Label("stance", st) },
		"statusLabel": func(v any) string { return l.Label("status", v) },
		"partyList": func(ps []string) string {
			names := make([]string, len(ps))
			for i, p := range ps {
				names[i] = s.name(p)
			}
			return strings.Join(names, ", ")
		},
		"add": func(a, b int) int { return a + b },
		"pct": func(a, b int) int {
			if b == 0 {
				return 0
			}
			return a * 100 / b
		},
		"hhmm":        func(t time.Time) string { return web.Zoned(l.DayTime, t.In(s.tz)) },
		"when":        func(t time.Time) string { return web.Zoned(l.DateTime, t.In(s.tz)) },
		"hex":         func(b []byte) string { return hex.EncodeToString(b) },
		"join":        strings.Join,
		"upper":       strings.ToUpper,
		"textURL":     s.textURL,
		"notation":    notationSegments,
		"textChannel": s.textChannel,
	}
}

// loc returns the locale of r: the language the delegate chose (cookie, or
// the desk's saved choice), else the browser's.
func (s *Server) loc(r *http.Request) *i18n.Locale {
	s.mu.Lock()
	stored := s.lang
	s.mu.Unlock()
	return web.Locale(r, stored)
}

// tr translates key (a format with args) into the locale of r.
func (s *Server) tr(r *http.Request, key string, args ...any) string {
	return s.loc(r).T(key, args...)
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, name, title string, m *model, data any) {
	l := s.loc(r)
	t, ok := s.pages[l.Code][name]
	if !ok {
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	p := page{
		App: l.T("Good Offices desk"), Title: title, Live: "/events", M: m, Data: data, Path: r.URL.Path,
		Flash: r.URL.Query().Get("flash"), FlashErr: r.URL.Query().Get("err") != "",
	}
	if name == "search" {
		p.Query = r.URL.Query().Get("q")
	}
	if ch := r.URL.Query().Get("ch"); ch != "" {
		p.Path += "?ch=" + url.QueryEscape(ch) // a text page stays on its channel's text
	}
	if sp, ok := s.d.SyncProgress(); ok {
		p.Progress = &progressView{Log: sp.Log, Done: sp.Done, Total: sp.Total, Rate: int64(sp.Rate()), Left: sp.Left().Round(time.Second).String()}
	}
	prof := s.d.Profile()
	p.Me = prof.Delegation
	p.IsParty = prof.Delegation != s.o.Host
	p.Who = fmt.Sprintf("%s · %s, %s (%s)", s.name(prof.Delegation), prof.Person, l.Label("role", prof.Role), l.Label("level", prof.Level))
	venue := ""
	if v := s.d.Venue(); v != nil {
		venue = l.T("Venue %s", s.venueName(v.Name))
	}
	abbr, _ := time.Now().In(s.tz).Zone()
	p.Footer = web.JoinNonEmpty(" · ", venue, s.o.Talks, l.T("times in your zone, %s (%s)", s.tz.String(), abbr))
	unread, alarms := 0, 0
	if m != nil {
		for _, c := range m.Channels {
			unread += s.unread(m, c.ID)
		}
		var halted, warned []string
		for _, a := range alarmsOf(m.Status) {
			switch {
			case a.Halts:
				halted = append(halted, a.Log+" ("+l.Label("alarm", a.Kind)+")")
			case a.Active:
				warned = append(warned, a.Log+" ("+l.Label("alarm", a.Kind)+")")
			}
		}
		alarms = len(halted) + len(warned)
		var parts []string
		if len(halted) > 0 {
			parts = append(parts, l.T("processing halted on %s", strings.Join(halted, ", ")))
		}
		if len(warned) > 0 {
			parts = append(parts, l.T("entries not confirmed by every party in time on %s", strings.Join(warned, ", ")))
		}
		p.Alarms = strings.Join(parts, "; ")
	}
	nav := []navItem{
		{Href: "/", Label: l.T("Overview")},
		{Href: "/channels", Label: l.T("Channels")},
		{Href: "/trust", Label: l.T("Trust")},
		{Href: "/schedule", Label: l.T("Schedule")},
	}
	if unread > 0 {
		nav[1].Badge = strconv.Itoa(unread)
	}
	if alarms > 0 {
		nav[2].Badge, nav[2].Alarm = strconv.Itoa(alarms), true
	}
	nav[1].Href = "/"
	nav = append(nav[:1], nav[2:]...) // channels live on the overview
	if m != nil {
		texts := m.texts()
		titles := map[string]int{}
		for _, t := range texts {
			titles[t.Title]++
		}
		for _, t := range texts {
			label := t.Title
			if titles[t.Title] > 1 {
				label += " · " + s.textChannel(t) // two channels, one title
			}
			nav = append(nav, navItem{Href: s.textURL(t, ""), Label: label})
		}
	}
	for i := range nav {
		path, query, _ := strings.Cut(nav[i].Href, "?")
		cur := path == r.URL.Path || (path != "/" && strings.HasPrefix(r.URL.Path, path+"/"))
		if q, err := url.ParseQuery(query); cur && err == nil && q.Has("ch") {
			ch := r.URL.Query().Get("ch")
			cur = ch == "" || ch == q.Get("ch")
		}
		nav[i].Current = cur
	}
	if unread > 0 {
		nav[0].Badge = strconv.Itoa(unread)
	}
	p.Nav = nav
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := t.ExecuteTemplate(w, "layout", p); err != nil {
		s.log.Error("failed to render page", "page", name, "err", err)
	}
}

// signinData is the sign-in page's.
type signinData struct {
	Message   string
	Err, Demo bool
}

// renderSignin answers a browser that is not signed in (or just signed
// out) with the sign-in page: what happened, and how to get a new link. It
// shows nothing of the desk, and no language menu (choosing one needs a
// session); the browser's language chooses.
func (s *Server) renderSignin(w http.ResponseWriter, r *http.Request, status int, msg string, isErr bool) {
	l := s.loc(r)
	t, ok := s.pages[l.Code]["signin"]
	if !ok {
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	p := page{App: l.T("Good Offices desk"), Title: l.T("Sign in to this desk"), Bare: true, Path: "/",
		Data: signinData{Message: msg, Err: isErr, Demo: s.o.Demo}}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := t.ExecuteTemplate(w, "layout", p); err != nil {
		s.log.Error("failed to render page", "page", "signin", "err", err)
	}
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("desk UI request failed", "err", err)
	http.Error(w, s.tr(r, "The desk could not do this: %s", err.Error()), http.StatusInternalServerError)
}

func (s *Server) unread(m *model, ch string) int {
	s.mu.Lock()
	last, seen := s.lastRead[ch]
	s.mu.Unlock()
	if !seen {
		last = -1
	}
	n := 0
	for _, msg := range m.Messages[ch] {
		if msg.Kind == "application" && !msg.Own && msg.Index > last {
			n++
		}
	}
	return n
}

// ---- overview ----

type chanRow struct {
	desk.ChannelInfo
	Unread  int
	Members []string
	Conf    *confView // who has cosigned the channel's log, if checked
	// ContinuedIn: the channel whose talks continue this one's since a
	// recovery, if any.
	ContinuedIn string
}

type levelGroup struct {
	Level    string
	Channels []chanRow
}

type overviewData struct {
	Talks  string
	Levels []levelGroup
	Texts  []*negotiation.Text
	Ready  []readyView
	Items  []*negotiation.Item
}

// readyView is a readiness to go up a level, with the title of what it is
// about (an agenda item or a text).
type readyView struct {
	*negotiation.Readiness
	Title string
}

var levelOrder = map[string]int{"expert": 0, "senior-officials": 1, "ministerial": 2, "leaders": 3}

func (s *Server) overview(w http.ResponseWriter, r *http.Request) {
	m, err := s.load(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := overviewData{Talks: s.o.Talks}
	groups := map[string][]chanRow{}
	confs := map[string]*confView{}
	for _, c := range m.Status.Confirmations {
		confs[c.Log] = confViewOf(c)
	}
	for _, c := range m.Channels {
		row := chanRow{ChannelInfo: c, Unread: s.unread(m, c.ID), Conf: confs[c.ID], ContinuedIn: s.moved[c.ID]}
		for _, mem := range c.Members {
			row.Members = append(row.Members, s.name(mem))
		}
		groups[c.Level] = append(groups[c.Level], row)
	}
	for l, cs := range groups {
		d.Levels = append(d.Levels, levelGroup{Level: l, Channels: cs})
	}
	sort.Slice(d.Levels, func(i, j int) bool { return levelOrder[d.Levels[i].Level] < levelOrder[d.Levels[j].Level] })
	d.addTalks(m)
	s.render(w, r, "overview", s.tr(r, "Overview"), m, d)
}

// addTalks adds to the overview the texts, readiness and agenda of every
// channel's talks.
func (d *overviewData) addTalks(m *model) {
	for _, ch := range m.Order {
		st := m.States[ch]
		d.Texts = append(d.Texts, st.Texts...)
		for _, rd := range st.Readiness {
			d.Ready = append(d.Ready, readyView{Readiness: rd, Title: titleOf(st, rd.Scope, rd.ID)})
		}
		d.Items = append(d.Items, st.Agenda...)
	}
}

// ---- channels and messages ----

type msgView struct {
	Index     int64
	Kind      string // text, statement, event, system
	Sender    desk.MemberInfo
	Own       bool
	Body      string
	ID        string // statement ID
	ReplyTo   string
	ReplyBody string
	About     string
	Received  time.Time
	// An interpretation (by the host's interpreter, with every party's
	// consent) renders statement Interprets, at entry InterpretsAt, into
	// Lang; a statement lists its Interpretations.
	Interprets      string
	InterpretsAt    uint64
	Lang            string
	Interpretations []interpretationRef
	HandedOver      string // "person (device)" who handed over this message's keys (desk/handover.go)
}

// HandedOverBy is the person alone of HandedOver, which the page shows
// (the device is in the badge's title).
func (v msgView) HandedOverBy() string {
	p, _, _ := strings.Cut(v.HandedOver, " (")
	return p
}

// interpretationRef names an interpretation of a statement, for a link.
type interpretationRef struct {
	ID    string
	Lang  string
	Index uint64
}

type channelData struct {
	Channel    desk.ChannelInfo
	Suite      *desk.SuiteInfo // nil until the desk is in the channel's group
	Messages   []msgView
	Window     bool // messages around an entry asked for, not the last ones
	HasEarlier bool // there are earlier messages, shown from ?at=Earlier
	Earlier    int64
	// Head: this is the head of delegation's desk, which may hand the
	// history over to a new device (Desk.Handover). Unreadable: the
	// entries sent before this desk joined that no hand-over opened.
	Head       bool
	Unreadable string
	// ContinuedIn: the channel whose talks continue this one's since a
	// recovery (desk.Desk.ContinuedIn); nothing more is said here.
	ContinuedIn string
}

// Messages shown around an entry asked for (?at=N).
const contextBefore, contextAfter = 100, 100

// statementByID returns the statement "S<n>" of a state (statement IDs are
// their position, from 1), or nil.
func statementByID(st *negotiation.State, id string) *negotiation.Statement {
	n, err := strconv.Atoi(strings.TrimPrefix(id, "S"))
	if err != nil || !strings.HasPrefix(id, "S") || n < 1 || n > len(st.Statements) || st.Statements[n-1].ID != id {
		return nil
	}
	return st.Statements[n-1]
}

func (s *Server) channel(w http.ResponseWriter, r *http.Request) {
	m, err := s.load(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := s.loc(r)
	id := r.PathValue("id")
	var ch *desk.ChannelInfo
	for i := range m.Channels {
		if m.Channels[i].ID == id {
			ch = &m.Channels[i]
		}
	}
	if ch == nil {
		http.NotFound(w, r)
		return
	}
	d := channelData{Channel: *ch}
	d.ContinuedIn = s.moved[id]
	if si, err := s.d.ChannelSuite(r.Context(), id); err == nil {
		d.Suite = &si
	}
	m.State = m.States[id]
	// The last messages, kept in memory; or, with ?at=N (a search result),
	// the messages around entry N, read from the desk's store.
	msgs := m.Messages[id]
	if at, err := strconv.ParseInt(r.URL.Query().Get("at"), 10, 64); err == nil && at >= 0 &&
		(len(msgs) == 0 || at < msgs[0].Index) {
		if msgs, err = s.d.Read(r.Context(), id, max(0, at-contextBefore), contextBefore+contextAfter); err != nil {
			s.fail(w, r, err)
			return
		}
		d.Window = true
	}
	if len(msgs) > 0 && msgs[0].Index > 0 {
		d.HasEarlier, d.Earlier = true, max(0, msgs[0].Index-contextAfter)
	}
	recs := map[uint64]negotiation.Record{}
	stmts := map[string]*negotiation.Statement{}
	if m.State != nil && len(msgs) > 0 {
		// The engine's records of the messages shown: its log is in log
		// order (one channel per state), so they are found by bisection.
		lo, hi := uint64(msgs[0].Index), uint64(msgs[len(msgs)-1].Index)
		log := m.State.Log
		for i := sort.Search(len(log), func(i int) bool { return log[i].LogIndex >= lo }); i < len(log) && log[i].LogIndex <= hi; i++ {
			if log[i].Channel == id {
				recs[log[i].LogIndex] = log[i]
			}
		}
		for _, rec := range recs {
			if st := statementByID(m.State, rec.Ref); st != nil {
				stmts[st.ID] = st
				for _, ref := range []string{st.ReplyTo, st.Interprets} {
					if p := statementByID(m.State, ref); p != nil {
						stmts[p.ID] = p
					}
				}
				for _, ref := range st.Interpretations {
					if p := statementByID(m.State, ref); p != nil {
						stmts[p.ID] = p
					}
				}
			}
		}
	}
	var maxIdx int64 = -1
	for _, msg := range msgs {
		if msg.Index > maxIdx {
			maxIdx = msg.Index
		}
		v := msgView{Index: msg.Index, Sender: msg.Sender, Own: msg.Own, Received: msg.Received, HandedOver: msg.HandedOver}
		switch {
		case msg.Kind != "application":
			v.Kind, v.Body = "system", s.systemBody(l, msg)
		case !isEvent(msg.Data):
			v.Kind, v.Body = "text", string(msg.Data)
		default:
			rec, ok := recs[uint64(msg.Index)]
			if ok && (rec.Type == negotiation.TypeStatement || rec.Type == negotiation.TypeInterpret) && rec.Result == negotiation.ResultApplied {
				st := stmts[rec.Ref]
				if st != nil {
					v.Kind, v.ID, v.Body, v.ReplyTo = "statement", st.ID, st.Body, st.ReplyTo
					if p := stmts[st.ReplyTo]; p != nil {
						v.ReplyBody = p.Body
					}
					if p := stmts[st.Interprets]; p != nil {
						v.Interprets, v.InterpretsAt, v.Lang = p.ID, p.LogIndex, st.Lang
					}
					for _, ref := range st.Interpretations {
						if p := stmts[ref]; p != nil {
							v.Interpretations = append(v.Interpretations, interpretationRef{p.ID, p.Lang, p.LogIndex})
						}
					}
					if st.AboutText != "" {
						v.About = st.AboutText
						if t := m.State.Text(st.AboutText); t != nil {
							if p := t.Paragraph(st.AboutPara); p != nil {
								v.About = fmt.Sprintf("%s ¶%d", t.Title, p.Number)
							}
						}
					}
					break
				}
			}
			v.Kind = "event"
			v.Body = describe(l, m.State, rec, ok)
		}
		d.Messages = append(d.Messages, v)
	}
	s.mu.Lock()
	moved := maxIdx > s.lastRead[id] || !hasKey(s.lastRead, id)
	if moved {
		s.lastRead[id] = maxIdx
	}
	s.mu.Unlock()
	if moved && maxIdx >= 0 {
		// The desk keeps the mark, so unread counts survive a restart.
		if err := s.d.MarkRead(r.Context(), id, maxIdx); err != nil {
			s.log.Warn("failed to record the read mark", "channel", id, "err", err)
		}
	}
	if _, err := s.d.HeadCertificate(r.Context()); err == nil && d.Suite != nil {
		d.Head = true
	}
	if rs, err := s.d.Unreadable(r.Context(), id); err == nil {
		var parts []string
		for _, r := range rs {
			parts = append(parts, r.String())
		}
		d.Unreadable = strings.Join(parts, ", ")
	}
	s.render(w, r, "channel", s.tr(r, "Channel %s", id), m, d)
}

// postHandover hands the channel's history, as the policy chosen allows,
// to a new device of the delegation (Desk.Handover): the head's desk only.
func (s *Server) postHandover(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	back := "/channels/" + id + "#handover"
	mode, since := r.FormValue("policy"), ""
	if mode == desk.HandoverSince {
		since = r.FormValue("since")
	}
	pol, err := desk.ParseHandoverPolicy(mode == desk.HandoverAll, mode == desk.HandoverNone, since)
	if err == nil {
		var rep *desk.HandoverReport
		if rep, err = s.d.Handover(r.Context(), id, strings.TrimSpace(r.FormValue("to")), pol); err == nil {
			msg := s.tr(r, "Handed over to %s: the keys of %d messages.", rep.To, rep.Messages)
			if c, err := s.d.Continuation(r.Context(), id); err == nil && c != nil {
				msg += " " + s.tr(r, "The talks of this channel continue those of %s since a recovery: hand %s over as well.", c.From, c.From)
			}
			redirect(w, r, back, msg, false)
			return
		}
	}
	redirect(w, r, back, s.tr(r, "Not handed over: %s", err.Error()), true)
}

func hasKey(m map[string]int64, k string) bool { _, ok := m[k]; return ok }

var typeVerbs = map[string]string{
	negotiation.TypeAddItem: i18n.N("added agenda item"), negotiation.TypeItemStatus: i18n.N("set the status of"),
	negotiation.TypeTableText: i18n.N("tabled text"), negotiation.TypePropose: i18n.N("proposed amendment"),
	negotiation.TypeRespond: i18n.N("answered proposal"), negotiation.TypeWithdraw: i18n.N("withdrew"),
	negotiation.TypePosition: i18n.N("took a position"), negotiation.TypeReady: i18n.N("signalled readiness"),
	negotiation.TypeAdopt: i18n.N("adopted|event"), negotiation.TypeSign: i18n.N("signed|event"),
	negotiation.TypeTranslate: i18n.N("submitted a language version of"), negotiation.TypeConcord: i18n.N("confirmed the concordance of"),
	negotiation.TypeAdoptPackage:       i18n.N("adopted the package"),
	negotiation.TypeConsentInterpreter: i18n.N("consented to the interpreter"), negotiation.TypeRemoveInterpreter: i18n.N("ended the admission of the interpreter"),
	negotiation.TypeRefer: i18n.N("referred to a higher level:"), negotiation.TypeTakeUp: i18n.N("took up from a lower level:"),
	negotiation.TypeReopen: i18n.N("reopened"),
}

// describe says in words, in locale l, what a negotiation event did.
func describe(l *i18n.Locale, st *negotiation.State, rec negotiation.Record, ok bool) string {
	if !ok {
		return l.T("negotiation event (not processed)")
	}
	v := rec.Type
	if k, ok := typeVerbs[rec.Type]; ok {
		v = l.T(k)
	}
	ref := rec.Ref
	if st != nil && rec.Result == negotiation.ResultApplied {
		ref = refWords(l, st, rec.Type, ref)
	}
	if ref != "" {
		v += " " + ref
	}
	if rec.Result != negotiation.ResultApplied {
		v += " — " + l.Label("result", rec.Result)
		if rec.Reason != "" {
			v += ": " + rec.Reason
		}
	}
	return v
}

// titleOf is the title of the agenda item or text id (by scope) in st, or
// id if it has none there.
func titleOf(st *negotiation.State, scope negotiation.Scope, id string) string {
	switch scope {
	case negotiation.ScopeItem:
		for _, it := range st.Agenda {
			if it.ID == id && it.Title != "" {
				return it.Title
			}
		}
	case negotiation.ScopeText:
		if t := st.Text(id); t != nil && t.Title != "" {
			return t.Title
		}
	}
	return id
}

// refWords names what an applied negotiation event touched as the
// delegates know it — a text or an agenda item by its title, a paragraph by
// its number, an interpreter by name and languages — instead of the
// identifiers the engine keeps (joint-statement/fr, item:ceasefire@leaders).
// An identifier it cannot resolve is shown as it is.
func refWords(l *i18n.Locale, st *negotiation.State, typ, ref string) string {
	textTitle := func(id string) string { return titleOf(st, negotiation.ScopeText, id) }
	itemTitle := func(id string) string { return titleOf(st, negotiation.ScopeItem, id) }
	para := func(id string) (string, bool) {
		for _, t := range st.Texts {
			if p := t.Paragraph(id); p != nil {
				return fmt.Sprintf("%s ¶%d", t.Title, p.Number), true
			}
		}
		return id, false
	}
	switch typ {
	case negotiation.TypeConsentInterpreter, negotiation.TypeRemoveInterpreter:
		if in := st.Interpreter(ref); in != nil {
			return fmt.Sprintf("%s (%s)", in.Person, strings.ToUpper(strings.Join(in.Languages, ", ")))
		}
	case negotiation.TypePosition:
		if p, ok := para(ref); ok {
			return l.T("on %s", p)
		}
	case negotiation.TypeReopen:
		p, _ := para(ref)
		return p
	case negotiation.TypeAddItem, negotiation.TypeItemStatus:
		return itemTitle(ref)
	case negotiation.TypeTableText, negotiation.TypeAdopt, negotiation.TypeTakeUp:
		return textTitle(ref)
	case negotiation.TypeSign, negotiation.TypeAdoptPackage:
		if pk := st.OutcomePackage(ref); pk != nil && pk.Title != "" {
			return pk.Title
		}
		return textTitle(ref)
	case negotiation.TypeTranslate, negotiation.TypeConcord:
		// "text/lang": the text's title and the language's code.
		if id, lang, ok := strings.Cut(ref, "/"); ok {
			return fmt.Sprintf("%s (%s)", textTitle(id), strings.ToUpper(lang))
		}
	case negotiation.TypeReady:
		// "scope:id@level": readiness on a text or an agenda item, for a level.
		scope, rest, ok1 := strings.Cut(ref, ":")
		id, level, ok2 := strings.Cut(rest, "@")
		if ok1 && ok2 {
			return l.T("on %s", fmt.Sprintf("%s (%s)", titleOf(st, negotiation.Scope(scope), id), l.Label("level", level)))
		}
	case negotiation.TypeRefer:
		if rf := st.Referral(ref); rf != nil {
			return fmt.Sprintf("%s (%s, %s)", ref, textTitle(rf.Text), l.Label("level", string(rf.To)))
		}
	}
	return ref
}

// systemNotes say in words why the desk could not read an entry
// (desk.Message.Note of a skipped or rejected entry), to translate.
var systemNotes = map[string]string{
	"sent before this desk joined":                                      i18n.N("A message sent before this desk joined the channel. By design, a new member cannot read what was said before it joined."),
	"a message sent before this desk joined: not handed over":           i18n.N("A message sent before this desk joined the channel, whose keys no hand-over from your head of delegation has given: it cannot be read."),
	"this desk is no longer a member":                                   i18n.N("A message sent after this desk left the channel: it cannot read it."),
	"sent in an epoch that had already ended":                           i18n.N("A message encrypted with keys the channel had already replaced: it cannot be read."),
	"sent after the channel's group was closed for an upgrade":          i18n.N("A message sent after the channel's encryption was closed for an upgrade: it cannot be read."),
	"sent in the channel's group before its upgrade":                    i18n.N("A message sent before the channel's encryption was upgraded, which this desk did not receive: it cannot read it."),
	"not an MLS message of this channel's group":                        i18n.N("An entry that is not an encrypted message of this channel: the desk ignored it."),
	"a message of a group of this channel that this desk does not know": i18n.N("An entry encrypted for a group this desk does not know: the desk ignored it."),
}

// systemBody says in words, in locale l, what a log entry that is not a
// message was: who joined or left the channel, a renewal of its keys, or
// why the desk could not read it. It never shows device IDs or MLS terms.
func (s *Server) systemBody(l *i18n.Locale, msg desk.Message) string {
	who := func(ms []desk.MemberInfo) string {
		out := make([]string, len(ms))
		for i, m := range ms {
			if m.Person == "" {
				out[i] = l.T("a device without a valid certificate")
				continue
			}
			out[i] = fmt.Sprintf("%s (%s)", m.Person, s.name(m.Delegation))
		}
		return strings.Join(out, ", ")
	}
	switch msg.Kind {
	case "commit":
		switch {
		case msg.Upgrade:
			return l.T("The channel's encryption is being upgraded: a new group with a stronger suite continues the channel.")
		case len(msg.Added) > 0 && len(msg.Removed) > 0:
			return l.T("Added to the channel: %s. Removed from it: %s.", who(msg.Added), who(msg.Removed))
		case len(msg.Added) > 0:
			return l.T("Added to the channel: %s.", who(msg.Added))
		case len(msg.Removed) > 0:
			return l.T("Removed from the channel: %s.", who(msg.Removed))
		case strings.Contains(msg.Note, "added ") || strings.Contains(msg.Note, "removed "):
			return l.T("The channel's members changed.") // recorded before the desk kept who
		}
		return l.T("The channel's keys were renewed, a routine step that keeps later messages safe.")
	case "proposal":
		if len(msg.Added) > 0 {
			return l.T("Proposed: to add %s to the channel.", who(msg.Added))
		}
		return l.T("A proposed change of the channel's members or keys.")
	}
	if k, ok := systemNotes[msg.Note]; ok {
		return l.T(k)
	}
	if msg.Kind == "skipped" {
		return l.T("A message this desk cannot read.")
	}
	return l.T("An entry this desk could not decrypt or verify: it ignored it.")
}

// waitingReasons are the desk's words for what a provisional meeting waits
// for (desk.ScheduledMeeting.Waiting), by prefix, to translate.
var waitingReasons = []struct{ prefix, key string }{
	{"the readiness signal of the head of delegation of ", i18n.N("the readiness signal of the head of delegation of %s")},
	{"the readiness signals of the other parties' heads of delegation (not shown to your delegation)", i18n.N("the readiness signals of the other parties' heads of delegation (not shown to your delegation)")},
	{"the host's confirmation", i18n.N("the host's confirmation")},
}

// waiting translates one of the desk's waiting reasons into locale l.
func (s *Server) waiting(l *i18n.Locale, w string) string {
	for _, r := range waitingReasons {
		if rest, ok := strings.CutPrefix(w, r.prefix); ok {
			if strings.Contains(r.key, "%s") {
				return l.T(r.key, s.name(rest))
			}
			if rest == "" {
				return l.T(r.key)
			}
		}
	}
	return w
}

func (s *Server) postMessage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	back := "/channels/" + id
	body := strings.TrimSpace(r.FormValue("body"))
	if body == "" {
		redirect(w, r, back, s.tr(r, "Write a message first."), true)
		return
	}
	if len(body) > negotiation.MaxBodyBytes {
		redirect(w, r, back, s.tr(r, "The message is too long."), true)
		return
	}
	payload := negotiation.NewStatement(body, r.FormValue("reply_to"), r.FormValue("about_text"), r.FormValue("about_para"))
	if err := s.send(r.Context(), id, payload); err != nil {
		redirect(w, r, back, s.tr(r, "Not sent: %s", err.Error()), true)
		return
	}
	redirect(w, r, back, s.tr(r, "Sent, encrypted for the channel's members."), false)
}

// ---- the negotiating text ----

type partyPos struct {
	Party    negotiation.Party
	Position *negotiation.Position
}

type paraView struct {
	*negotiation.Paragraph
	Positions []partyPos
	Proposals []*negotiation.Proposal
	Mine      *negotiation.Position
	Blocks    []negotiation.Block
}

type textData struct {
	Text      *negotiation.Text
	Paras     []paraView
	Parties   []negotiation.Party
	Channel   string
	Other     []*negotiation.Proposal // open proposals not on one paragraph
	Responded map[string]bool         // proposals this party has answered
	// Package is the package the text was adopted in, if any, and
	// PackageTexts the other texts adopted with it.
	Package      *negotiation.OutcomePackage
	PackageTexts []*negotiation.Text
}

func (s *Server) findText(w http.ResponseWriter, r *http.Request) (*model, *negotiation.Text, bool) {
	m, err := s.load(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return nil, nil, false
	}
	t := m.textIn(r.URL.Query().Get("ch"), r.PathValue("id"))
	if t == nil {
		http.NotFound(w, r)
		return nil, nil, false
	}
	return m, t, true
}

func (s *Server) text(w http.ResponseWriter, r *http.Request) {
	m, t, ok := s.findText(w, r)
	if !ok {
		return
	}
	s.render(w, r, "text", t.Title, m, s.textData(m, t))
}

// textData prepares text t of m.State for the text page.
func (s *Server) textData(m *model, t *negotiation.Text) textData {
	me := s.d.Profile().Delegation
	d := textData{Text: t, Parties: m.Parties, Channel: s.textChannel(t), Responded: map[string]bool{}}
	if t.Adoption != nil && t.Adoption.Package != "" {
		if d.Package = m.State.OutcomePackage(t.Adoption.Package); d.Package != nil {
			for _, id := range d.Package.Texts {
				if o := m.State.Text(id); o != nil && id != t.ID {
					d.PackageTexts = append(d.PackageTexts, o)
				}
			}
		}
	}
	for _, p := range t.Paragraphs {
		pv := paraView{Paragraph: p}
		for _, party := range m.Parties {
			pp := partyPos{Party: party}
			for i := range p.Positions {
				if p.Positions[i].Party == party.ID {
					pp.Position = &p.Positions[i]
					if party.ID == me {
						pv.Mine = pp.Position
					}
				}
			}
			pv.Positions = append(pv.Positions, pp)
		}
		for _, b := range t.Package.Blocks {
			if b.Para == p.ID {
				pv.Blocks = append(pv.Blocks, b)
			}
		}
		d.Paras = append(d.Paras, pv)
	}
	for _, pr := range m.State.Proposals {
		if pr.Text != t.ID || pr.Status != negotiation.ProposalOpen {
			continue
		}
		for _, rep := range pr.Responses {
			if rep.Party == me {
				d.Responded[pr.ID] = true
			}
		}
		placed := false
		for i := range d.Paras {
			if d.Paras[i].ID == pr.Amendment.Para {
				d.Paras[i].Proposals = append(d.Paras[i].Proposals, pr)
				placed = true
			}
		}
		if !placed {
			d.Other = append(d.Other, pr)
		}
	}
	return d
}

func (s *Server) postPosition(w http.ResponseWriter, r *http.Request) {
	m, t, ok := s.findText(w, r)
	if !ok {
		return
	}
	_ = m
	back := s.textURL(t, "")
	p := t.Paragraph(r.FormValue("para"))
	if p == nil {
		redirect(w, r, back, s.tr(r, "No such paragraph."), true)
		return
	}
	st := negotiation.Stance(r.FormValue("stance"))
	if !stances[st] {
		redirect(w, r, back, s.tr(r, "Choose a position."), true)
		return
	}
	v, err := strconv.Atoi(r.FormValue("version"))
	if err != nil || v != p.Version {
		redirect(w, r, back, s.tr(r, "Paragraph %d has changed since you loaded the page; read it again.", p.Number), true)
		return
	}
	payload := negotiation.NewPosition(t.ID, p.ID, v, st, strings.TrimSpace(r.FormValue("note")))
	if err := s.sendChecked(r, s.textChannel(t), payload); err != nil {
		redirect(w, r, back, s.tr(r, "Position not taken: %s", err.Error()), true)
		return
	}
	redirect(w, r, back+"#"+p.ID, s.tr(r, "Your position on paragraph %d: %s.", p.Number, s.loc(r).Label("stance", st)), false)
}

// sendChecked sends payload and reports the engine's verdict on it, so the
// delegate learns at once if the rules refused it.
func (s *Server) sendChecked(r *http.Request, ch string, payload []byte) error {
	if ch == "" {
		return errors.New(s.tr(r, "the text's channel is unknown"))
	}
	idx, err := s.d.SendEvent(r.Context(), ch, s.o.Host, payload)
	if err != nil {
		return err
	}
	if err := s.d.SyncLog(r.Context(), ch); err != nil {
		s.log.Warn("failed to sync after send", "channel", ch, "err", err)
	}
	s.Notify([]string{ch})
	m, err := s.load(r.Context())
	if err != nil || m.States[ch] == nil {
		return nil
	}
	for _, rec := range m.States[ch].Log {
		if rec.Channel == ch && rec.LogIndex == uint64(idx) && rec.Result != negotiation.ResultApplied {
			return errors.New(s.tr(r, "sent, but the rules of the talks refuse it (%s)", rec.Reason))
		}
	}
	return nil
}

func (s *Server) postProposal(w http.ResponseWriter, r *http.Request) {
	_, t, ok := s.findText(w, r)
	if !ok {
		return
	}
	back := s.textURL(t, "")
	p := t.Paragraph(r.FormValue("para"))
	if p == nil {
		redirect(w, r, back, s.tr(r, "No such paragraph."), true)
		return
	}
	notation := strings.TrimSpace(r.FormValue("notation"))
	if _, err := negotiation.ParseNotation(notation); err != nil {
		redirect(w, r, back+"#"+p.ID, s.tr(r, "The wording is not valid bracket notation: %s", err.Error()), true)
		return
	}
	if notation == p.Text {
		redirect(w, r, back+"#"+p.ID, s.tr(r, "The wording is unchanged."), true)
		return
	}
	base, _ := strconv.Atoi(r.FormValue("base"))
	payload := negotiation.NewProposal(t.ID, negotiation.Amendment{Op: negotiation.OpReplace, Para: p.ID, Base: base, Notation: notation})
	if err := s.sendChecked(r, s.textChannel(t), payload); err != nil {
		redirect(w, r, back+"#"+p.ID, s.tr(r, "Proposal not tabled: %s", err.Error()), true)
		return
	}
	redirect(w, r, back+"#"+p.ID, s.tr(r, "Amendment to paragraph %d proposed.", p.Number), false)
}

func (s *Server) postResponse(w http.ResponseWriter, r *http.Request) {
	m, t, ok := s.findText(w, r)
	if !ok {
		return
	}
	pr := m.State.Proposal(r.PathValue("proposal"))
	if pr == nil || pr.Text != t.ID {
		http.NotFound(w, r)
		return
	}
	back := s.textURL(t, "")
	resp := negotiation.Response(r.FormValue("response"))
	switch resp {
	case negotiation.Accept, negotiation.AcceptAdReferendum, negotiation.Decline:
	default:
		redirect(w, r, back, s.tr(r, "Choose an answer."), true)
		return
	}
	if err := s.sendChecked(r, pr.Channel, negotiation.NewResponse(pr.ID, resp, strings.TrimSpace(r.FormValue("note")))); err != nil {
		redirect(w, r, back, s.tr(r, "Answer not sent: %s", err.Error()), true)
		return
	}
	redirect(w, r, back+"#"+pr.Amendment.Para, s.tr(r, "Answer to %s sent.", pr.ID), false)
}

func (s *Server) postReady(w http.ResponseWriter, r *http.Request) {
	_, t, ok := s.findText(w, r)
	if !ok {
		return
	}
	back := s.textURL(t, "/package")
	lvl := negotiation.Level(r.FormValue("level"))
	known := false
	for _, l := range negotiation.DefaultLevels {
		known = known || l == lvl
	}
	if !known {
		redirect(w, r, back, s.tr(r, "Choose a level."), true)
		return
	}
	scope, id := negotiation.ScopeText, t.ID
	if t.Item != "" {
		scope, id = negotiation.ScopeItem, t.Item
	}
	if err := s.sendChecked(r, s.textChannel(t), negotiation.NewReadiness(scope, id, lvl, strings.TrimSpace(r.FormValue("note")))); err != nil {
		redirect(w, r, back, s.tr(r, "Readiness not signalled: %s", err.Error()), true)
		return
	}
	redirect(w, r, back, s.tr(r, "Readiness signalled for the %s.", s.loc(r).Label("level", lvl)), false)
}

// ---- package dashboard ----

type cellView struct {
	Party    negotiation.Party
	Position *negotiation.Position
	Block    string
}

type rowView struct {
	Para  *negotiation.Paragraph
	Cells []cellView
}

type blockGroup struct {
	Party  negotiation.Party
	Blocks []negotiation.Block
}

type levelReady struct {
	Level   negotiation.Level
	Signals map[string]*negotiation.ReadySignal
	Ready   bool
}

type packageData struct {
	Text       *negotiation.Text
	Parties    []negotiation.Party
	Rows       []rowView
	AgreedN    int
	ByParty    []blockGroup
	Unassigned []negotiation.Block
	Levels     []levelReady
	Item       *negotiation.Item
	Whole      negotiation.PackageView
	// Escalation: where the text came from, its referrals to higher
	// levels, and the levels it may still be referred to.
	Origin    *negotiation.Origin
	Referrals []referralView
	ReferTo   []negotiation.Level
}

// ParaLabel names paragraph id of the text as the page shows it (¶ and its
// number), or the ID if the text has no such paragraph any more.
func (d packageData) ParaLabel(id string) string {
	if p := d.Text.Paragraph(id); p != nil {
		return fmt.Sprintf("¶%d", p.Number)
	}
	return id
}

type referralView struct {
	*negotiation.Referral
	Waiting []string // parties that have not referred this state
}

func (s *Server) packageView(w http.ResponseWriter, r *http.Request) {
	m, t, ok := s.findText(w, r)
	if !ok {
		return
	}
	s.render(w, r, "package", t.Title+" — "+s.tr(r, "Package dashboard"), m, packageDataOf(m, t))
}

// packageDataOf prepares the package dashboard of text t of m.State.
func packageDataOf(m *model, t *negotiation.Text) packageData {
	d := packageData{Text: t, Parties: m.Parties, Whole: m.State.Package}
	d.AgreedN = len(t.Package.Agreed) + len(t.Package.AdReferendum)
	for _, p := range t.Paragraphs {
		row := rowView{Para: p}
		for _, party := range m.Parties {
			c := cellView{Party: party}
			for i := range p.Positions {
				if p.Positions[i].Party == party.ID {
					c.Position = &p.Positions[i]
				}
			}
			for _, b := range t.Package.Blocks {
				if b.Para == p.ID && b.Party == party.ID {
					c.Block = b.Reason
				}
			}
			row.Cells = append(row.Cells, c)
		}
		d.Rows = append(d.Rows, row)
	}
	for _, party := range m.Parties {
		if bs := t.Package.Blocking(party.ID); len(bs) > 0 {
			d.ByParty = append(d.ByParty, blockGroup{Party: party, Blocks: bs})
		}
	}
	for _, b := range t.Package.Blocks {
		if b.Party == "" {
			d.Unassigned = append(d.Unassigned, b)
		}
	}
	for _, it := range m.State.Agenda {
		if it.ID == t.Item {
			d.Item = it
		}
	}
	for _, lvl := range negotiation.DefaultLevels {
		lr := levelReady{Level: lvl, Signals: map[string]*negotiation.ReadySignal{}}
		for _, rd := range m.State.Readiness {
			if rd.Level != lvl || !((rd.Scope == negotiation.ScopeText && rd.ID == t.ID) || (rd.Scope == negotiation.ScopeItem && rd.ID == t.Item)) {
				continue
			}
			for i := range rd.Signals {
				lr.Signals[rd.Signals[i].Party] = &rd.Signals[i]
			}
			lr.Ready = lr.Ready || rd.Ready
		}
		d.Levels = append(d.Levels, lr)
	}
	d.Origin = t.Origin
	for _, ref := range m.State.Referrals {
		if ref.Text != t.ID {
			continue
		}
		rv := referralView{Referral: ref}
		for _, party := range m.Parties {
			if !slices.ContainsFunc(ref.Signals, func(g negotiation.ReadySignal) bool { return g.Party == party.ID }) {
				rv.Waiting = append(rv.Waiting, party.ID)
			}
		}
		d.Referrals = append(d.Referrals, rv)
	}
	if t.Status == negotiation.TextNegotiating {
		for _, l := range m.State.Config.Levels {
			if _, err := m.State.ReferralOf(t.ID, l); err == nil {
				d.ReferTo = append(d.ReferTo, l)
			}
		}
	}
	return d
}

// postRefer sends this party's referral of a text to a higher level, as the
// text stands (Desk.Refer).
func (s *Server) postRefer(w http.ResponseWriter, r *http.Request) {
	m, t, ok := s.findText(w, r)
	if !ok {
		return
	}
	back := s.textURL(t, "/package")
	lvl := negotiation.Level(r.FormValue("level"))
	if _, err := m.State.ReferralOf(t.ID, lvl); err != nil {
		redirect(w, r, back, s.tr(r, "Choose a higher level."), true)
		return
	}
	if _, err := s.d.Refer(r.Context(), s.textChannel(t), s.o.Host, t.ID, lvl); err != nil {
		redirect(w, r, back, s.tr(r, "Referral not sent: %s", err.Error()), true)
		return
	}
	s.Notify([]string{s.textChannel(t)})
	redirect(w, r, back+"#referrals", s.tr(r, "Referral sent — %s.", s.loc(r).Label("level", lvl)), false)
}

// ---- diff and outcome ----

type diffRow struct {
	negotiation.ParaDiff
	// Runs are the paragraph's words, kept, deleted and inserted, with
	// its brackets as the text page shows them (negotiation.DiffNotation).
	Runs []negotiation.DiffRun
}

type diffData struct {
	Text     *negotiation.Text
	From, To int
	Versions []int
	Diff     []diffRow
	Err      string
}

func (s *Server) diff(w http.ResponseWriter, r *http.Request) {
	m, t, ok := s.findText(w, r)
	if !ok {
		return
	}
	from, to := 1, t.Version
	if v, err := strconv.Atoi(r.URL.Query().Get("from")); err == nil {
		from = v
	}
	if v, err := strconv.Atoi(r.URL.Query().Get("to")); err == nil {
		to = v
	}
	s.render(w, r, "diff", t.Title+" — "+s.tr(r, "Changes"), m, diffDataOf(t, from, to))
}

// diffDataOf is the diff page of text t from version from to version to.
func diffDataOf(t *negotiation.Text, from, to int) diffData {
	d := diffData{Text: t, From: from, To: to}
	for v := 1; v <= t.Version; v++ {
		d.Versions = append(d.Versions, v)
	}
	diff, err := t.Diff(d.From, d.To)
	if err != nil {
		d.Err = err.Error()
	}
	wording := func(v int) map[string]string {
		out := map[string]string{}
		if v >= 1 && v <= len(t.Versions) {
			for _, ref := range t.Versions[v-1].Paragraphs {
				out[ref.ID], _ = t.WordingAt(ref.ID, ref.Version)
			}
		}
		return out
	}
	before, after := wording(d.From), wording(d.To)
	for _, pd := range diff {
		d.Diff = append(d.Diff, diffRow{ParaDiff: pd, Runs: negotiation.DiffNotation(before[pd.Para], after[pd.Para])})
	}
	return d
}

// outcomeBundle serves the signed outcome bundle of an adopted text (of
// its whole package, for a text adopted in one), with the venue's evidence
// (Desk.ExportOutcome). It is made from the desk's own state of the talks,
// not the page's: the outcome digest commits to the talks' name, which the
// interface may show otherwise (Options.Talks).
func (s *Server) outcomeBundle(w http.ResponseWriter, r *http.Request) {
	_, t, ok := s.findText(w, r)
	if !ok {
		return
	}
	if t.Status != negotiation.TextAdopted {
		http.Error(w, s.tr(r, "The text is not adopted and signed by every party yet."), http.StatusConflict)
		return
	}
	b, err := s.d.ExportOutcome(r.Context(), s.textChannel(t), s.o.Host, t.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data := b.Marshal()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="`+t.ID+`.outcome.json"`)
	w.Write(data)
}

// ---- trust panel ----

type evidenceFile struct {
	Name, Content string
}

type alarmView struct {
	desk.Alarm
	N      int // position in the desk's alarm list, for links
	Files  []evidenceFile
	Active bool // halts its log, or (withholding, freeze) still holds
	Halts  bool
	Proof  bool // a misbehaviour proof is in the evidence
	// Fresh lists the channels the talks of the alarm's channel can
	// continue in (desk.Desk.Recover; freshFor). Recoverable: the alarm
	// halts a channel whose talks have not moved yet.
	Fresh       []string
	Recoverable bool
}

type trustChan struct {
	desk.ChannelInfo
	Members []desk.MemberInfo
	// Interpreters are the members certified as interpreters: not
	// parties, admitted with every party's consent.
	Interpreters []desk.MemberInfo
	Epoch        uint64
	MemErr       string
	Conf         *confView
	Suite        *desk.SuiteInfo // nil until the desk is in the channel's group
}

// confView is a log's cosignature state as the trust panel shows it.
type confView struct {
	desk.Confirmation
	Pending   int64
	All       bool // every entry is confirmed by all member delegations
	Cosigners []cosignerView
}

type cosignerView struct {
	Party    string
	Cosigned int64
	Behind   bool
}

type partyView struct {
	desk.Party
	Class string
	Own   bool
}

type trustData struct {
	Venue       *desk.VenueInfo
	VenueFP     string
	Register    desk.LogState
	RegConf     *confView
	Parties     []partyView
	Channels    []trustChan
	Alarms      []alarmView
	Device      string
	Unconfirmed int
}

// confViewOf turns a desk.Confirmation into what the panel shows.
func confViewOf(c desk.Confirmation) *confView {
	v := &confView{Confirmation: c, Pending: c.Pending(), All: c.Size > 0 && c.Confirmed >= c.Size}
	names := make([]string, 0, len(c.Cosigned))
	for n := range c.Cosigned {
		names = append(names, n)
	}
	for _, n := range c.Missing {
		if _, ok := c.Cosigned[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		v.Cosigners = append(v.Cosigners, cosignerView{Party: n, Cosigned: c.Cosigned[n], Behind: c.Cosigned[n] < c.Size})
	}
	return v
}

// alarmsOf returns the desk's alarms, newest first, saying which still
// hold: an alarm that halts its log, or a withholding or freeze alarm whose
// condition the latest cosignature check still shows.
func alarmsOf(st *desk.Status) []alarmView {
	halted := map[string]bool{}
	for _, a := range st.Halted() {
		halted[a.Log+"/"+a.Time.String()] = true
	}
	confs := map[string]desk.Confirmation{}
	for _, c := range st.Confirmations {
		confs[c.Log] = c
	}
	var out []alarmView
	for i := len(st.Alarms) - 1; i >= 0; i-- {
		a := st.Alarms[i]
		av := alarmView{Alarm: a, N: i, Halts: halted[a.Log+"/"+a.Time.String()]}
		av.Active = av.Halts
		if c, ok := confs[a.Log]; ok {
			switch a.Kind {
			case desk.AlarmWithholding:
				av.Active = c.Confirmed <= a.Index && c.Pending() > 0
			case desk.AlarmFreeze:
				av.Active = c.Ahead > c.Size
			}
		}
		if a.Evidence != "" {
			if _, err := os.Stat(filepath.Join(a.Evidence, desk.ProofFile)); err == nil {
				av.Proof = true
			}
		}
		out = append(out, av)
	}
	return out
}

func (s *Server) trust(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	m, err := s.load(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := trustData{Venue: s.d.Venue(), Device: s.d.DeviceID()}
	if d.Venue != nil {
		d.VenueFP = fingerprintOf(d.Venue.VerifierKey)
	}
	for _, l := range m.Status.Logs {
		if l.Log == desk.RegisterLog {
			d.Register = l
		}
	}
	confs := map[string]*confView{}
	for _, c := range m.Status.Confirmations {
		confs[c.Log] = confViewOf(c)
	}
	d.RegConf = confs[desk.RegisterLog]
	me := s.d.Profile().Delegation
	for _, p := range m.Status.Parties {
		d.Parties = append(d.Parties, partyView{Party: p, Class: s.colour(p.Name), Own: p.Name == me})
		if p.Confirmed.IsZero() {
			d.Unconfirmed++
		}
	}
	for _, c := range m.Channels {
		tc := trustChan{ChannelInfo: c, Conf: confs[c.ID]}
		mem, epoch, err := s.d.Members(ctx, c.ID)
		if err != nil {
			tc.MemErr = err.Error()
		}
		for _, mi := range mem {
			if mi.Interpreter {
				tc.Interpreters = append(tc.Interpreters, mi)
			} else {
				tc.Members = append(tc.Members, mi)
			}
		}
		tc.Epoch = epoch
		if si, err := s.d.ChannelSuite(ctx, c.ID); err == nil {
			tc.Suite = &si
		}
		d.Channels = append(d.Channels, tc)
	}
	d.Alarms = alarmsOf(m.Status)
	for i := range d.Alarms {
		a := &d.Alarms[i]
		if a.Active {
			a.Files = readEvidence(a.Evidence)
		}
		a.Recoverable, a.Fresh = freshFor(m, a.Log)
		a.Recoverable = a.Recoverable && a.Halts
	}
	s.render(w, r, "trust", s.tr(r, "Trust"), m, d)
}

// proofDownload serves the misbehaviour proof of alarm n (its position in
// the desk's list), for 'goodoffices verify' or a third party.
func (s *Server) proofDownload(w http.ResponseWriter, r *http.Request) {
	as, err := s.d.Alarms(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 || n >= len(as) || as[n].Evidence == "" {
		http.NotFound(w, r)
		return
	}
	b, err := os.ReadFile(filepath.Join(as[n].Evidence, desk.ProofFile))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	name := fmt.Sprintf("%s-%s-%s", safeName(as[n].Log), as[n].Time.UTC().Format("20060102T150405Z"), desk.ProofFile)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Write(b)
}

// safeName keeps the characters of s that are safe in a file name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, s)
}

// postCheck syncs every log now: the delegate asks the desk to verify what
// the venue serves without waiting for the next event.
func (s *Server) postCheck(w http.ResponseWriter, r *http.Request) {
	res, err := s.d.Sync(r.Context())
	if err != nil {
		redirect(w, r, "/trust", s.tr(r, "Could not check: %s", err.Error()), true)
		return
	}
	s.Notify(nil)
	if err := res.Err(); err != nil {
		redirect(w, r, "/trust", s.tr(r, "Checked: an ALARM was raised (%s).", err.Error()), true)
		return
	}
	redirect(w, r, "/trust", s.tr(r, "Checked: every log the venue serves verifies."), false)
}

// readEvidence reads the first bytes of each evidence file, for display.
func readEvidence(dir string) []evidenceFile {
	if dir == "" {
		return nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []evidenceFile
	for _, e := range ents {
		if e.IsDir() || len(out) >= 8 {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		buf := make([]byte, 2048)
		n, _ := f.Read(buf)
		f.Close()
		c := string(buf[:n])
		if !isPrintable(c) {
			c = fmt.Sprintf("(%d bytes of binary data; first bytes %x)", n, buf[:min(n, 32)])
		}
		out = append(out, evidenceFile{Name: e.Name(), Content: c})
	}
	return out
}

func isPrintable(s string) bool {
	for _, r := range s {
		if r == 0xFFFD || (r < 32 && r != '\n' && r != '\r' && r != '\t') {
			return false
		}
	}
	return true
}

func (s *Server) postConfirm(w http.ResponseWriter, r *http.Request) {
	name := r.FormValue("party")
	fp := r.FormValue("fingerprint")
	if strings.TrimSpace(fp) == "" {
		redirect(w, r, "/trust", s.tr(r, "Type the fingerprint as the other delegation read it out to you."), true)
		return
	}
	p, err := s.d.VerifyParty(r.Context(), name, fp)
	if err != nil {
		if errors.Is(err, desk.ErrFingerprint) {
			redirect(w, r, "/trust#party-"+name, s.tr(r, "The fingerprint does NOT match the root key of %s in the venue's register. Do not proceed: check with the delegation in person.", s.name(name)), true)
			return
		}
		redirect(w, r, "/trust", s.tr(r, "Not confirmed: %s", err.Error()), true)
		return
	}
	s.Notify(nil)
	redirect(w, r, "/trust", s.tr(r, "Confirmed: the root key of %s matches what they read out.", s.name(p.Name)), false)
}

// freshFor reports whether the talks of channel ch can move by a recovery
// (a channel whose talks have not moved already), and lists the channels
// they can move to: the venue's other channels of the same delegations
// where nothing was said yet.
func freshFor(m *model, ch string) (bool, []string) {
	var members []string
	known := false
	for _, c := range m.Channels {
		if c.ID == ch {
			members, known = slices.Sorted(slices.Values(c.Members)), true
		}
	}
	if !known || m.Status == nil {
		return false, nil
	}
	used, moved := map[string]bool{}, false
	for _, c := range m.Status.Continued {
		used[c.Channel], used[c.From] = true, true
		moved = moved || c.From == ch
	}
	for _, r := range m.Status.Recovered {
		used[r.To], used[r.From] = true, true
		moved = moved || r.From == ch
	}
	if moved {
		return false, nil
	}
	var out []string
	for _, c := range m.Channels {
		if c.ID != ch && !used[c.ID] && slices.Equal(slices.Sorted(slices.Values(c.Members)), members) &&
			!slices.ContainsFunc(m.Messages[c.ID], desk.Message.Said) {
			out = append(out, c.ID)
		}
	}
	return true, out
}

// postRecover continues the talks of a channel halted by an alarm in a
// fresh one: the alarm is cleared with the delegate's reason (it stays on
// record) and the desk sends the recovery notice there (desk.Desk.Recover).
func (s *Server) postRecover(w http.ResponseWriter, r *http.Request) {
	ch, to, reason := r.FormValue("log"), r.FormValue("to"), strings.TrimSpace(r.FormValue("reason"))
	back := "/trust"
	if reason == "" || to == "" {
		redirect(w, r, back, s.tr(r, "Not continued: choose the fresh channel and say why; the other parties read it with the notice."), true)
		return
	}
	if err := s.d.ClearAlarmBecause(r.Context(), ch, reason); err != nil {
		redirect(w, r, back, s.tr(r, "Not continued: %s", err.Error()), true)
		return
	}
	rec, err := s.d.Recover(r.Context(), ch, to, reason)
	if err != nil {
		redirect(w, r, back, s.tr(r, "The alarm on %s is cleared (it stays on record), but the talks were not continued: %s", ch, err.Error()), true)
		return
	}
	s.Notify(nil)
	redirect(w, r, "/channels/"+rec.To, s.tr(r, "The talks of %s continue in %s: the recovery notice is sent, and each party's desk checks it against its own view of %s.", rec.From, rec.To, rec.From), false)
}

func (s *Server) postClear(w http.ResponseWriter, r *http.Request) {
	if err := s.d.ClearAlarm(r.Context(), r.FormValue("log")); err != nil {
		redirect(w, r, "/trust", s.tr(r, "Not cleared: %s", err.Error()), true)
		return
	}
	redirect(w, r, "/trust", s.tr(r, "Processing of %s resumed; the alarm stays on record.", r.FormValue("log")), false)
}

// ---- schedule ----

type scheduleData struct {
	Meetings  []desk.ScheduledMeeting
	Feeds     []scheduleapi.FeedRecord // this delegate's live calendar feeds
	NewFeed   string                   // the URL of a feed just created, shown once
	Zone      string
	VenueZone string
	Head      bool // this device is the head of delegation's: it signals readiness
	Err       string
}

// scheduleOptions says how the desk shows meetings: in the delegate's zone,
// with the host attending without a readiness signal.
func (s *Server) scheduleOptions() (desk.ScheduleOptions, error) {
	opts := desk.ScheduleOptions{HostDelegation: s.o.Host}
	if s.o.Zone != "" {
		loc, err := time.LoadLocation(s.o.Zone)
		if err != nil {
			return opts, fmt.Errorf("failed to load zone %q: %w", s.o.Zone, err)
		}
		opts.Zone = loc
	}
	return opts, nil
}

// schedulePage lists the meetings of the delegate's delegation, from the
// desk's own schedule client (the venue answers a device with its
// delegation's meetings only), in the venue's zone and the delegate's.
func (s *Server) schedulePage(w http.ResponseWriter, r *http.Request) {
	s.scheduleWith(w, r, "")
}

func (s *Server) scheduleWith(w http.ResponseWriter, r *http.Request, newFeed string) {
	m, err := s.load(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := scheduleData{Zone: s.o.Zone, VenueZone: s.o.VenueZone}
	if _, err := s.d.HeadCertificate(r.Context()); err == nil {
		d.Head = true
	}
	opts, err := s.scheduleOptions()
	if err != nil {
		d.Err = err.Error()
	} else if d.Meetings, err = s.d.Meetings(r.Context(), opts); err != nil {
		d.Err = err.Error()
	}
	for _, mt := range d.Meetings {
		if mt.Times.VenueZone != "" {
			d.VenueZone = mt.Times.VenueZone
		}
	}
	if d.Err == "" {
		fs, err := s.d.Feeds(r.Context())
		if err != nil {
			d.Err = err.Error()
		}
		for _, f := range fs {
			if f.Revoked.IsZero() {
				d.Feeds = append(d.Feeds, f)
			}
		}
	}
	l := s.loc(r)
	for i := range d.Meetings {
		for j, w := range d.Meetings[i].Waiting {
			d.Meetings[i].Waiting[j] = s.waiting(l, w)
		}
	}
	d.NewFeed = newFeed
	if d.VenueZone == "" {
		d.VenueZone = schedule.DefaultZone
	}
	if d.Zone == "" {
		d.Zone = d.VenueZone
	}
	s.render(w, r, "schedule", s.tr(r, "Schedule"), m, d)
}

// postReady signs and sends the head's readiness statement for a
// ministerial or leaders' meeting (Desk.SignalReady).
func (s *Server) postMeetingReady(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	opts, err := s.scheduleOptions()
	if err != nil {
		redirect(w, r, "/schedule", err.Error(), true)
		return
	}
	mt, err := s.d.SignalReady(r.Context(), id, opts)
	if err != nil {
		if errors.Is(err, desk.ErrNotHead) {
			redirect(w, r, "/schedule", s.tr(r, "Only the head of delegation signals readiness, from the head's own desk."), true)
			return
		}
		redirect(w, r, "/schedule#meeting-"+id, s.tr(r, "Readiness not signalled: %s", err.Error()), true)
		return
	}
	s.Notify(nil)
	msg := s.tr(r, "Readiness for “%s” signed and sent: the venue now shows %s as ready (it never learns why).", mt.Title, s.name(s.d.Profile().Delegation))
	if mt.Status == schedule.StatusConfirmed {
		msg += " " + s.tr(r, "Every party is ready: the host can confirm the meeting.")
	}
	redirect(w, r, "/schedule#meeting-"+id, msg, false)
}

// postFeed creates a calendar feed (iCalendar) of the delegation's meetings
// for this delegate and shows its secret URL once, in the page (not in a
// redirect, so it stays out of the browser's history).
func (s *Server) postFeed(w http.ResponseWriter, r *http.Request) {
	_, u, err := s.d.CreateFeed(r.Context(), s.o.Zone)
	if err != nil {
		redirect(w, r, "/schedule#calendar", s.tr(r, "No calendar link: %s", err.Error()), true)
		return
	}
	s.scheduleWith(w, r, u)
}

func (s *Server) postRevokeFeed(w http.ResponseWriter, r *http.Request) {
	if err := s.d.RevokeFeed(r.Context(), r.PathValue("id")); err != nil {
		redirect(w, r, "/schedule#calendar", s.tr(r, "Not revoked: %s", err.Error()), true)
		return
	}
	redirect(w, r, "/schedule#calendar", s.tr(r, "Calendar link revoked: it stops working at once."), false)
}
