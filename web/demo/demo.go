// Package demo starts, in one process, everything a newcomer needs to see
// Good Offices at work: a venue with its schedule, the desks of the host
// (Caspia) and of both parties (Arden, Borealia) from the scenario in
// shared/scenario.md, and their web interfaces; then it plays the talks up
// to a point with something to see: a bracketed Joint Statement, positions,
// an amendment accepted ad referendum, messages with replies, a Protocol
// tabled from a Word document, the host's interpreter admitted with both
// parties' consent, the Protocol referred to the ministers, a new Arden
// delegate who reads working group 1's history through a hand-over, the
// Caspia package adopted in English and French and signed by both root
// keys, and a leaders' summit waiting for readiness. Working group 1's
// Joint Statement stays open, for people to negotiate in the web UIs.
//
// Nothing is mocked. The venue is package venue with its SQLite store;
// each desk is package desk with its encrypted store, MLS channels and
// verified logs; every move of the talks is a negotiation event that a desk
// encrypts into a channel and every other desk decrypts, verifies and replays
// through package negotiation. The only shortcut is the one a demo must take:
// the three delegations' root keys are generated here, and the "in person"
// comparison of their fingerprints is done by the program.
package demo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"net"
	"net/http"

	"golang.org/x/mod/sumdb/note"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/desk"
	"github.com/good-offices/goodoffices/negotiation"
	"github.com/good-offices/goodoffices/schedule"
	"github.com/good-offices/goodoffices/venue"
	"github.com/good-offices/goodoffices/venue/client"
	"github.com/good-offices/goodoffices/venue/scheduleapi"
	"github.com/good-offices/goodoffices/web/deskui"
	"github.com/good-offices/goodoffices/web/venueui"
)

// Talks is the name of the demo's talks.
const Talks = "Talks on the settlement — Caspia venue"

// Names are the delegations' display names.
var Names = map[string]string{
	"caspia":   "Republic of Caspia (host)",
	"arden":    "Federation of Arden",
	"borealia": "Republic of Borealia",
}

// Short are the delegations' short names.
var Short = map[string]string{"caspia": "Caspia, host", "arden": "Arden", "borealia": "Borealia"}

// Heads are the heads of delegation (the only ones who signal readiness).
var Heads = map[string]string{"arden": "Ilse Marven", "borealia": "Oleh Varta", "caspia": "Dana Seitkali"}

// A Delegate is one desk of the demo.
type Delegate struct {
	Key        string // short name, e.g. "arden-expert"
	Delegation string
	Person     string
	Role       string
	Level      string
	Zone       string
	Languages  []string // an interpreter's working languages, in its certificate
	Desk       *desk.Desk
	UI         *deskui.Server
}

// Config configures Start.
type Config struct {
	// Dir holds the venue's and the desks' data; it must be empty or
	// missing.
	Dir string
	// Logger receives the components' logs; nil discards them.
	Logger *slog.Logger
	// Progress, if set, is told what the demo is doing.
	Progress func(string)
}

// A Demo is the running venue and desks.
type Demo struct {
	Venue     *venue.Venue
	VenueURL  string
	AdminFile string
	Admin     *client.Client
	Schedule  *scheduleapi.Client
	VenueUI   *venueui.Server
	Delegates []*Delegate

	log      *slog.Logger
	progress func(string)
	srv      *http.Server
	psrv     *http.Server
	proxy    *proxy
	desksURL string // what the desks enrol with: the venue behind the proxy
	sched    interface{ Close() error }
	roots    map[string]*delegation.RootKey
	signer   note.Signer // the venue's key, for the hostile mode
	wg       sync.WaitGroup
	dir      string // Config.Dir

	// Out is the directory of the files the demo writes for people to
	// take away (Config.Dir/documents), and Documents those files, in
	// the order they were written.
	Out       string
	Documents []Document
	// PackageFile is the signed Caspia package, with the venue's
	// evidence; VerifyArgs are the arguments of 'goodoffices verify' that
	// check it offline (the parties' root keys pinned by fingerprint, the
	// venue's key pinned).
	PackageFile string
	VerifyArgs  []string
}

// Delegate returns the delegate with key k, or nil.
func (d *Demo) Delegate(k string) *Delegate {
	for _, x := range d.Delegates {
		if x.Key == k {
			return x
		}
	}
	return nil
}

var cast = []Delegate{
	{Key: "caspia-host", Delegation: "caspia", Person: "Dana Seitkali", Role: "head", Level: "senior-officials", Zone: "Asia/Almaty"},
	{Key: "caspia-interpreter", Delegation: "caspia", Person: "Aigul Nur", Role: delegation.RoleInterpreter, Level: "expert", Zone: "Asia/Almaty", Languages: []string{"en", "ru"}},
	{Key: "arden-expert", Delegation: "arden", Person: "Tomas Reig", Role: "expert", Level: "expert", Zone: "Europe/Vienna"},
	{Key: "arden-head", Delegation: "arden", Person: "Ilse Marven", Role: "head", Level: "ministerial", Zone: "Europe/Vienna"},
	{Key: "borealia-expert", Delegation: "borealia", Person: "Iryna Holt", Role: "expert", Level: "expert", Zone: "Europe/Helsinki"},
	{Key: "borealia-head", Delegation: "borealia", Person: "Oleh Varta", Role: "head", Level: "ministerial", Zone: "Europe/Helsinki"},
}

// Start creates the venue and the desks in cfg.Dir and plays the scenario.
// Call Serve to serve the web interfaces and keep the desks in sync, and
// Close at the end.
func Start(ctx context.Context, cfg Config) (_ *Demo, err error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	progress := cfg.Progress
	if progress == nil {
		progress = func(string) {}
	}
	d := &Demo{log: log, progress: progress, roots: map[string]*delegation.RootKey{}, dir: cfg.Dir, Out: filepath.Join(cfg.Dir, "documents")}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	vdir := filepath.Join(cfg.Dir, "venue")
	for _, dir := range []string{vdir, d.Out} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("failed to create the data directory: %w", err)
		}
	}
	// The demo makes the venue's signing key itself (the file venue.New
	// would create), so that its hostile mode can sign a forked checkpoint
	// with the real key: a split view, which the desks prove.
	skey, _, err := note.GenerateKey(rand.Reader, "venue.caspia.example")
	if err != nil {
		return nil, fmt.Errorf("failed to generate the venue key: %w", err)
	}
	if err := os.WriteFile(filepath.Join(vdir, venue.KeyFile), []byte(skey+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("failed to write the venue key: %w", err)
	}
	if d.signer, err = note.NewSigner(skey); err != nil {
		return nil, fmt.Errorf("failed to load the venue key: %w", err)
	}
	os.WriteFile(filepath.Join(vdir, "schedule.json"), []byte(`{"zone":"Asia/Almaty","open":"08:00","close":"20:00","host":"caspia"}`), 0o600)
	progress("starting the venue (SQLite in " + vdir + ")")
	v, err := venue.New(ctx, venue.Config{DataDir: vdir, Name: "venue.caspia.example", DisplayName: "Caspia venue", Logger: log, Rate: -1})
	if err != nil {
		return nil, fmt.Errorf("failed to start the venue: %w", err)
	}
	d.Venue = v
	st, err := v.MountSchedule(ctx, log)
	if err != nil {
		return nil, fmt.Errorf("failed to mount the schedule: %w", err)
	}
	d.sched = st
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("failed to listen: %w", err)
	}
	d.VenueURL = "http://" + ln.Addr().String()
	d.srv = &http.Server{Handler: v.Handler(), ReadHeaderTimeout: 10 * time.Second}
	d.wg.Add(1)
	go func() { defer d.wg.Done(); d.srv.Serve(ln) }()
	if d.proxy, err = newProxy(d.VenueURL, log); err != nil {
		return nil, err
	}
	pln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("failed to listen: %w", err)
	}
	d.desksURL = "http://" + pln.Addr().String()
	d.psrv = &http.Server{Handler: d.proxy, ReadHeaderTimeout: 10 * time.Second}
	d.wg.Add(1)
	go func() { defer d.wg.Done(); d.psrv.Serve(pln) }()
	d.AdminFile = v.AdminFile()
	tok, err := os.ReadFile(v.AdminFile())
	if err != nil {
		return nil, fmt.Errorf("failed to read the admin credential: %w", err)
	}
	admin := strings.TrimSpace(string(tok))
	if d.Admin, err = client.New(d.VenueURL, client.WithAdmin(admin)); err != nil {
		return nil, err
	}
	d.Schedule = &scheduleapi.Client{BaseURL: d.VenueURL, Token: admin}

	progress("accrediting Caspia, Arden and Borealia")
	for _, name := range []string{"caspia", "arden", "borealia"} {
		root, err := delegation.GenerateRoot(name)
		if err != nil {
			return nil, err
		}
		// The display name goes into the register with the key, so every
		// desk shows the same name.
		if _, err := d.Admin.AccreditNamed(ctx, name, Names[name], root.VerifierKey()); err != nil {
			return nil, fmt.Errorf("failed to accredit %s: %w", name, err)
		}
		d.roots[name] = root
	}
	progress("opening the channels (plenary, working group 1, logistics, delegation-internal, ministerial)")
	for _, spec := range []client.ChannelSpec{
		{ID: "plenary", Kind: "plenary", Level: "expert", Members: []string{"arden", "borealia"}},
		{ID: "wg1-ceasefire", Kind: "working-group", Level: "expert", Members: []string{"arden", "borealia"}},
		{ID: "logistics", Kind: "logistics", Level: "senior-officials", Members: []string{"caspia", "arden", "borealia"}},
		{ID: "arden-internal", Kind: "delegation-internal", Level: "expert", Members: []string{"arden"}},
		{ID: "borealia-internal", Kind: "delegation-internal", Level: "expert", Members: []string{"borealia"}},
		{ID: "ministerial", Kind: "plenary", Level: "ministerial", Members: []string{"arden", "borealia"}},
	} {
		if _, err := d.Admin.CreateChannel(ctx, spec); err != nil {
			return nil, fmt.Errorf("failed to open channel %s: %w", spec.ID, err)
		}
	}

	progress("setting up six desks (keys, certificates, enrolment)")
	for _, c := range cast {
		dl := c
		if err := d.newDesk(ctx, filepath.Join(cfg.Dir, "desks", dl.Key), &dl); err != nil {
			return nil, fmt.Errorf("failed to set up the desk of %s: %w", dl.Person, err)
		}
		d.Delegates = append(d.Delegates, &dl)
	}
	progress("comparing root-key fingerprints (in person, once)")
	if err := d.syncAll(ctx); err != nil {
		return nil, err
	}
	for _, dl := range d.Delegates {
		if err := confirmParties(ctx, dl); err != nil {
			return nil, err
		}
	}
	if err := d.syncAll(ctx); err != nil {
		return nil, err
	}
	if err := d.play(ctx); err != nil {
		return nil, err
	}
	progress("booking rooms and meetings")
	if err := d.scheduleMeetings(ctx); err != nil {
		return nil, err
	}
	for _, dl := range d.Delegates {
		if err := d.newUI(dl); err != nil {
			return nil, err
		}
	}
	d.VenueUI, err = venueui.New(venueui.Options{
		VenueURL: d.VenueURL, Admin: admin, Talks: Talks, Names: Names, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	if err := d.VenueUI.Listen("127.0.0.1:0"); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *Demo) newDesk(ctx context.Context, home string, dl *Delegate) error {
	pass := []byte("demo passphrase of " + dl.Key) // a demo: the desks open without asking
	dk, err := desk.Init(ctx, home, pass, desk.Profile{Delegation: dl.Delegation, Person: dl.Person, Role: dl.Role, Level: dl.Level}, desk.Options{Logger: d.log})
	if err != nil {
		return err
	}
	dl.Desk = dk
	req, err := dk.CertificateRequest()
	if err != nil {
		return err
	}
	c, err := delegation.ParseCertificate(req)
	if err != nil {
		return err
	}
	c.Languages = dl.Languages
	cert, err := d.roots[dl.Delegation].Certify(c)
	if err != nil {
		return err
	}
	_, err = dk.Enroll(ctx, d.desksURL, d.Venue.VerifierKey(), cert)
	return err
}

// confirmParties records, on dl's desk, every party's root-key
// fingerprint as compared in person.
func confirmParties(ctx context.Context, dl *Delegate) error {
	ps, err := dl.Desk.Parties(ctx)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if _, err := dl.Desk.VerifyParty(ctx, p.Name, p.Fingerprint); err != nil {
			return fmt.Errorf("failed to confirm %s: %w", p.Name, err)
		}
	}
	return nil
}

func (d *Demo) newUI(dl *Delegate) error {
	ui, err := deskui.New(deskui.Options{
		Desk: dl.Desk, Talks: Talks, Host: "caspia", Names: Names, Heads: Heads, Demo: true,
		Zone: dl.Zone, VenueZone: schedule.DefaultZone, Logger: d.log,
	})
	if err != nil {
		return err
	}
	dl.UI = ui
	return ui.Listen("127.0.0.1:0")
}

// syncAll syncs every desk twice, so that what one desk committed (a new
// group, a Welcome) reaches the others and their answers come back.
func (d *Demo) syncAll(ctx context.Context) error {
	for range 2 {
		for _, dl := range d.Delegates {
			res, err := dl.Desk.Sync(ctx)
			if err != nil {
				return fmt.Errorf("failed to sync the desk of %s: %w", dl.Person, err)
			}
			if err := res.Err(); err != nil {
				return fmt.Errorf("alarm on the desk of %s: %w", dl.Person, err)
			}
		}
	}
	return nil
}

// say sends one payload from a delegate's desk and brings every desk up to
// date.
func (d *Demo) say(ctx context.Context, who, ch string, payload []byte) error {
	dl := d.Delegate(who)
	if dl == nil {
		return fmt.Errorf("demo: internal error: no delegate %q", who)
	}
	var err error
	for attempt := range 5 {
		if _, err = dl.Desk.Send(ctx, ch, payload); err == nil {
			break
		}
		if !errors.Is(err, desk.ErrEpochTaken) && !errors.Is(err, desk.ErrNoGroup) {
			return fmt.Errorf("failed to send from %s in %s: %w", dl.Person, ch, err)
		}
		d.log.Debug("retrying send", "attempt", attempt, "err", err)
		if err := d.syncAll(ctx); err != nil {
			return err
		}
	}
	if err != nil {
		return fmt.Errorf("failed to send from %s in %s: %w", dl.Person, ch, err)
	}
	return d.syncAll(ctx)
}

// play is the scenario up to the leaders' summit.
func (d *Demo) play(ctx context.Context) error {
	const wg, text = "wg1-ceasefire", "joint-statement"
	protocolDocx, protocol, err := d.protocolFromWord()
	if err != nil {
		return err
	}
	steps := []struct {
		note, who, ch string
		payload       []byte
	}{
		{"", "caspia-host", "logistics", negotiation.NewStatement("Welcome to Caspia. The expert round on items 1 and 2 meets in Room A, 09:30–12:30 Almaty time, with interpretation EN/RU. Caspia provides the venue and takes no part in the substance.", "", "", "")},
		{"", "arden-expert", "logistics", negotiation.NewStatement("Thank you. Arden will bring four delegates to the expert round.", "S1", "", "")},
		{"", "arden-expert", "plenary", negotiation.NewStatement("Good morning. Arden comes to Caspia to work, and thanks the host for its good offices.", "", "", "")},
		{"", "borealia-expert", "plenary", negotiation.NewStatement("Borealia too. We propose to start with the ceasefire text in working group 1.", "S1", "", "")},
		{"the agenda", "arden-expert", wg, negotiation.NewAddItem("ceasefire", "Ceasefire and separation of forces", "")},
		{"", "arden-expert", wg, negotiation.NewAddItem("humanitarian", "Humanitarian questions", "")},
		{"Arden tables the Joint Statement", "arden-expert", wg, negotiation.NewTableText(negotiation.TableText{
			ID: text, Title: "Joint Statement", Item: "ceasefire", Level: negotiation.LevelExpert, Language: "en",
			Paragraphs: []string{
				"The Parties reaffirm their commitment to a negotiated settlement.",
				"The Parties agree to a [complete]{arden} [partial]{borealia} cessation of hostilities from [00:00 on 1 December]{arden} [the date of signature]{borealia}.",
				"The Parties request the Republic of Caspia to continue to provide its good offices as a venue for further talks at all levels.",
			},
		})},
		{"Borealia tables paragraph 3", "borealia-expert", wg, negotiation.NewProposal(text, negotiation.Amendment{
			Op: negotiation.OpAddParagraph, After: "p2",
			Notation: "[The Parties agree to withdraw heavy weapons [15]{borealia} [30]{borealia} km from the line of contact.]{borealia}",
		})},
		{"Arden proposes \"complete\"", "arden-expert", wg, negotiation.NewProposal(text, negotiation.Amendment{
			Op: negotiation.OpRemoveBrackets, Para: "p2", Base: 1, Path: []int{1}, Option: 0,
		})},
		{"Borealia accepts ad referendum", "borealia-expert", wg, negotiation.NewResponse("A2", negotiation.AcceptAdReferendum, "subject to confirmation by the capital")},
		{"positions", "arden-expert", wg, negotiation.NewPosition(text, "p1", 1, negotiation.Agree, "")},
		{"", "borealia-expert", wg, negotiation.NewPosition(text, "p1", 1, negotiation.Agree, "")},
		{"", "arden-expert", wg, negotiation.NewPosition(text, "p2", 2, negotiation.Reserve, "the date needs instructions from the capital")},
		{"", "borealia-expert", wg, negotiation.NewPosition(text, "p2", 2, negotiation.Object, "a fixed date before signature is not acceptable")},
		{"", "arden-expert", wg, negotiation.NewPosition(text, "p4", 1, negotiation.Reserve, "needs consultation with the general staff")},
		{"", "arden-expert", wg, negotiation.NewPosition(text, "p3", 1, negotiation.Agree, "")},
		{"", "borealia-expert", wg, negotiation.NewPosition(text, "p3", 1, negotiation.AgreeAdReferendum, "")},
		{"messages", "borealia-expert", wg, negotiation.NewStatement("Borealia tables paragraph 3 as a basis. We can discuss the distance.", "", text, "p4")},
		{"", "arden-expert", wg, negotiation.NewStatement("Arden reserves on paragraph 3 until the general staff has looked at the distances.", "S1", text, "p4")},
		{"", "arden-expert", "arden-internal", []byte("Internal: the capital could live with 20 km as a fallback. Do not table it yet.")},
		{"", "borealia-expert", "borealia-internal", []byte("Internal: hold on \"the date of signature\" in paragraph 2.")},
		{"Borealia tables the Protocol on the ceasefire line, drafted in Word (" + filepath.Base(protocolDocx) + " imported)", "borealia-expert", wg, protocol},
		{"Arden submits the French Joint Statement for concordance", "arden-expert", wg, negotiation.NewTranslation(text, "fr", "Déclaration commune", []negotiation.TranslatedParagraph{
			{Para: "p1", Text: "Les Parties réaffirment leur attachement à un règlement négocié."},
			{Para: "p3", Text: "Les Parties prient la République de Caspia de continuer à offrir ses bons offices en tant que lieu de nouvelles négociations à tous les niveaux."},
		})},
		{"", "borealia-expert", wg, negotiation.NewConcordance(text, "fr", []negotiation.PartVersion{{Version: 1}, {Para: "p1", Version: 1}})},
		{"Arden's head signals readiness for a leaders' meeting", "arden-head", wg, negotiation.NewReadiness(negotiation.ScopeItem, "ceasefire", negotiation.LevelLeaders, "Arden is ready to take item 1 to the leaders once paragraph 2 is settled.")},
	}
	for _, s := range steps {
		if s.note != "" {
			d.progress("playing the scenario: " + s.note)
		}
		if err := d.say(ctx, s.who, s.ch, s.payload); err != nil {
			return err
		}
	}
	if err := d.interpret(ctx, wg); err != nil {
		return err
	}
	if err := d.escalate(ctx, wg, "protocol"); err != nil {
		return err
	}
	// The new delegate joins a group that holds the interpreter: until
	// the hand-over, his desk cannot read the parties' consents, so it
	// sends nothing there (and raises no alarm); then it can.
	if err := d.handOver(ctx, wg); err != nil {
		return err
	}
	if err := d.adoptPackage(ctx); err != nil {
		return err
	}
	return d.exportWord(ctx, wg, text)
}

// interpret plays the host's interpreter in working group 1: the host
// lets the interpreter's device use the channel's log, both parties
// consent (only then do their desks add it to the group), and it renders
// Borealia's last statement into Russian.
func (d *Demo) interpret(ctx context.Context, wg string) error {
	d.progress("playing the scenario: both parties admit the host's interpreter to working group 1")
	in := d.Delegate("caspia-interpreter")
	dev := in.Desk.DeviceID()
	if _, err := d.Admin.SetInterpreters(ctx, wg, []string{dev}); err != nil {
		return fmt.Errorf("failed to let the interpreter into %s: %w", wg, err)
	}
	for _, who := range []string{"arden-expert", "borealia-expert"} {
		if _, err := d.Delegate(who).Desk.ConsentInterpreter(ctx, wg, "caspia", dev); err != nil {
			return fmt.Errorf("demo: %s cannot consent to the interpreter: %w", who, err)
		}
		if err := d.syncAll(ctx); err != nil {
			return err
		}
	}
	// The interpreter reads what is said from now on (MLS gives it no key
	// to what was said before it joined).
	if err := d.say(ctx, "borealia-expert", wg, negotiation.NewStatement("Borealia can accept monthly reports if the monitors are neutral.", "", "protocol", "p2")); err != nil {
		return err
	}
	st, err := d.Delegate("arden-expert").Desk.Talks(ctx, wg, "caspia")
	if err != nil {
		return err
	}
	src := st.Statements[len(st.Statements)-1]
	for attempt := range 5 {
		if _, err = in.Desk.Interpret(ctx, wg, int64(src.LogIndex), "ru", "Бореалия может согласиться на ежемесячные отчёты, если наблюдатели нейтральны."); err == nil {
			break
		}
		d.log.Debug("retrying the interpretation", "attempt", attempt, "err", err)
		if err := d.syncAll(ctx); err != nil {
			return err
		}
	}
	if err != nil {
		return fmt.Errorf("failed to interpret in %s: %w", wg, err)
	}
	return d.syncAll(ctx)
}

// escalate plays the Protocol's way up: both heads refer it, as it stands
// (one paragraph still bracketed), from the working group to the
// ministerial level, and Arden's head takes it up in the ministerial
// channel with the evidence of both referrals.
func (d *Demo) escalate(ctx context.Context, wg, text string) error {
	d.progress("playing the scenario: the heads refer the Protocol to the ministerial level")
	for _, who := range []string{"arden-head", "borealia-head"} {
		st, err := d.Delegate(who).Desk.Talks(ctx, wg, "caspia")
		if err != nil {
			return err
		}
		r, err := st.ReferralOf(text, negotiation.LevelMinisterial)
		if err != nil {
			return fmt.Errorf("demo: cannot refer %s: %w", text, err)
		}
		if err := d.say(ctx, who, wg, negotiation.NewReferral(*r)); err != nil {
			return err
		}
	}
	d.progress("playing the scenario: the ministerial level takes up the Protocol")
	ev, err := d.Delegate("arden-head").Desk.TakeUpEvidence(ctx, wg, "caspia", text)
	if err != nil {
		return err
	}
	return d.say(ctx, "arden-head", "ministerial", negotiation.NewTakeUp(text+"-ministerial", ev))
}

func (d *Demo) scheduleMeetings(ctx context.Context) error {
	for _, r := range []schedule.Room{
		{Name: "Hall of Independence", Capacity: 120, Booths: []string{"en", "fr", "ru"}, Equipment: []string{"plenary"}},
		{Name: "Room A", Capacity: 20},
		{Name: "Room B", Capacity: 20},
		{Name: "Library", Capacity: 8},
	} {
		if _, err := d.Schedule.AddRoom(ctx, r); err != nil {
			return fmt.Errorf("failed to add room %s: %w", r.Name, err)
		}
	}
	loc, err := time.LoadLocation(schedule.DefaultZone)
	if err != nil {
		return err
	}
	day := time.Now().In(loc)
	at := func(days, h, m int) schedule.LocalTime {
		t := time.Date(day.Year(), day.Month(), day.Day()+days, h, m, 0, 0, loc)
		return schedule.LocalOf(t, loc)
	}
	parties := []string{"arden", "borealia"}
	meetings := []struct {
		spec    schedule.MeetingSpec
		confirm bool
	}{
		{schedule.MeetingSpec{Title: "Working group 1 (ceasefire), expert round", Talks: Talks, Channel: "wg1-ceasefire", Level: schedule.LevelExpert, Room: "Room A",
			Start: at(1, 9, 30), End: at(1, 12, 30), Languages: []string{"en", "ru"}, Interpretation: schedule.Consecutive, Delegations: parties, Headcount: 12}, true},
		{schedule.MeetingSpec{Title: "Working group 2 (humanitarian), expert round", Talks: Talks, Level: schedule.LevelExpert, Room: "Room B",
			Start: at(1, 14, 0), End: at(1, 17, 0), Delegations: parties, Headcount: 10}, true},
		{schedule.MeetingSpec{Title: "Heads of delegation, logistics", Talks: Talks, Channel: "logistics", Level: schedule.LevelExpert, Room: "Library",
			Start: at(2, 8, 30), End: at(2, 9, 15), Delegations: []string{"caspia", "arden", "borealia"}, Headcount: 6}, true},
		{schedule.MeetingSpec{Title: "Plenary, expert level", Talks: Talks, Channel: "plenary", Level: schedule.LevelExpert, Room: "Hall of Independence",
			Start: at(2, 10, 0), End: at(2, 12, 0), Languages: []string{"en", "fr", "ru"}, Interpretation: schedule.Simultaneous, Delegations: parties, Headcount: 40}, true},
		{schedule.MeetingSpec{Title: "Ministerial meeting", Talks: Talks, Channel: "ministerial", Level: schedule.LevelMinisterial, Room: "Hall of Independence",
			Start: at(3, 10, 0), End: at(3, 12, 0), Languages: []string{"en", "fr", "ru"}, Interpretation: schedule.Simultaneous, Delegations: parties, Headcount: 30}, false},
		{schedule.MeetingSpec{Title: "Leaders' summit", Talks: Talks, Level: schedule.LevelLeaders, Room: "Hall of Independence",
			Start: at(4, 11, 0), End: at(4, 14, 0), Languages: []string{"en", "fr", "ru"}, Interpretation: schedule.Simultaneous, Delegations: parties, Headcount: 60}, false},
	}
	for _, m := range meetings {
		mv, err := d.Schedule.Propose(ctx, scheduleapi.MeetingRequest{MeetingSpec: m.spec})
		if err != nil {
			return fmt.Errorf("failed to book %q: %w", m.spec.Title, err)
		}
		if m.confirm {
			if _, err := d.Schedule.Confirm(ctx, mv.ID, scheduleapi.ActionRequest{}); err != nil {
				return fmt.Errorf("failed to confirm %q: %w", m.spec.Title, err)
			}
		}
	}
	return nil
}

// Serve serves the web interfaces and keeps every desk in sync with the
// venue until ctx ends.
func (d *Demo) Serve(ctx context.Context) error {
	errc := make(chan error, 2*len(d.Delegates)+1)
	var wg sync.WaitGroup
	run := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil && ctx.Err() == nil {
				errc <- err
			}
		}()
	}
	for _, dl := range d.Delegates {
		dl := dl
		run(func() error { return dl.UI.Serve(ctx) })
		run(func() error {
			// A desk that stops syncing (the venue gone) is logged; the
			// other desks and the UIs keep running.
			if err := dl.Desk.Run(ctx, 30*time.Second, dl.UI.Notify); err != nil && ctx.Err() == nil {
				d.log.Error("desk stopped syncing", "desk", dl.Key, "err", err)
			}
			return nil
		})
	}
	run(func() error { return d.VenueUI.Serve(ctx) })
	select {
	case <-ctx.Done():
		wg.Wait()
		return nil
	case err := <-errc:
		return err
	}
}

// Close stops the venue and closes the desks.
func (d *Demo) Close() error {
	if d.Venue != nil {
		d.Venue.BeginShutdown()
	}
	for _, srv := range []*http.Server{d.psrv, d.srv} {
		if srv != nil {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			srv.Shutdown(sctx)
			cancel()
		}
	}
	d.wg.Wait()
	for _, dl := range d.Delegates {
		if dl.Desk != nil {
			dl.Desk.Close()
		}
	}
	if d.sched != nil {
		d.sched.Close()
	}
	if d.Venue != nil {
		return d.Venue.Close()
	}
	return nil
}
