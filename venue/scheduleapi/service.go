package scheduleapi

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/good-offices/goodoffices/schedule"
)

// Caller is who makes a request, as the venue authenticated it.
type Caller struct {
	// Host is true for the host admin.
	Host bool
	// For a delegate's device: its delegation, the delegate's name and role
	// from the device certificate, and the certified device key.
	Delegation string
	Person     string
	Role       string
	Key        ed25519.PublicKey
}

// HeadRole is the certificate role of a head of delegation.
const HeadRole = "head"

// ErrUnauthenticated is what Authenticate returns for a request without
// valid credentials.
var ErrUnauthenticated = errors.New("authentication required")

// Config configures a Service.
type Config struct {
	// Schedule configures the rules (zone, opening hours, host delegation).
	Schedule schedule.Config
	Store    Store
	// Domain is the UID domain of calendar feeds: the venue's name.
	Domain string
	// Authenticate identifies the caller of a host or desk endpoint; the
	// venue checks its admin credential or device token there. Feed URLs
	// do not call it: their token is the credential.
	Authenticate func(r *http.Request) (Caller, error)
	// OnChange, if set, is called after every committed change of a
	// meeting, so the venue can notify the desks of its delegations. It
	// gets the host's full record, readiness signals of every party
	// included: what is sent on to a delegation must be
	// m.ForDelegation(delegation), and nothing at all for a change that
	// view does not show (another party's readiness signal).
	OnChange func(ctx context.Context, m schedule.Meeting)
	// LinkInterpreters, if set, is called when a meeting with a channel
	// is proposed or updated with interpreters booked: the venue lets those
	// devices use the channel's log (they join its group only with every
	// party's consent). An error refuses the change, with its message.
	LinkInterpreters func(ctx context.Context, channel string, devices []string) error
	Now              func() time.Time
	Logger           *slog.Logger
	// PollInterval is how often a waiting GET /v1/schedule/changes
	// re-reads the store, to see changes made through other venue nodes;
	// zero means one second. Changes through this node wake it at once.
	PollInterval time.Duration
}

// Service serves the schedule's HTTP API.
type Service struct {
	cfg    Config
	mu     sync.Mutex // serialises this node's changes; the store's CAS serialises nodes
	notify notifier
}

// notifier wakes every waiter when the schedule changed on this node.
type notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

func (n *notifier) wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	return n.ch
}

func (n *notifier) broadcast() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
	}
}

// New returns a service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Authenticate == nil {
		return nil, errors.New("failed to start schedule service: Store and Authenticate are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.Schedule.Zone == nil {
		loc, err := time.LoadLocation(schedule.DefaultZone)
		if err != nil {
			return nil, fmt.Errorf("failed to load time zone: %w", err)
		}
		cfg.Schedule.Zone = loc
	}
	if _, err := schedule.New(cfg.Schedule); err != nil {
		return nil, err
	}
	return &Service{cfg: cfg}, nil
}

// Routes lists the service's routes: http.ServeMux patterns and handlers,
// everything under /v1/schedule/ and /v1/calendar/.
func (s *Service) Routes() map[string]http.Handler {
	f := func(h http.HandlerFunc) http.Handler { return h }
	return map[string]http.Handler{
		"GET /v1/schedule/zone":                     f(s.auth(s.getZone)),
		"PUT /v1/schedule/zone":                     f(s.auth(s.hostOnly(s.putZone))),
		"GET /v1/schedule/rooms":                    f(s.auth(s.hostOnly(s.listRooms))),
		"POST /v1/schedule/rooms":                   f(s.auth(s.hostOnly(s.addRoom))),
		"PUT /v1/schedule/rooms/{name}":             f(s.auth(s.hostOnly(s.updateRoom))),
		"DELETE /v1/schedule/rooms/{name}":          f(s.auth(s.hostOnly(s.removeRoom))),
		"GET /v1/schedule/meetings":                 f(s.auth(s.listMeetings)),
		"GET /v1/schedule/changes":                  f(s.auth(s.changes)),
		"POST /v1/schedule/meetings":                f(s.auth(s.hostOnly(s.propose))),
		"POST /v1/schedule/check":                   f(s.auth(s.hostOnly(s.check))),
		"GET /v1/schedule/meetings/{id}":            f(s.auth(s.getMeeting)),
		"PUT /v1/schedule/meetings/{id}":            f(s.auth(s.hostOnly(s.update))),
		"POST /v1/schedule/meetings/{id}/move":      f(s.auth(s.hostOnly(s.move))),
		"POST /v1/schedule/meetings/{id}/confirm":   f(s.auth(s.hostOnly(s.confirm))),
		"POST /v1/schedule/meetings/{id}/cancel":    f(s.auth(s.hostOnly(s.cancel))),
		"POST /v1/schedule/meetings/{id}/readiness": f(s.auth(s.readiness)),
		"GET /v1/schedule/feeds":                    f(s.auth(s.listFeeds)),
		"POST /v1/schedule/feeds":                   f(s.auth(s.createFeed)),
		"DELETE /v1/schedule/feeds/{id}":            f(s.auth(s.revokeFeed)),
		"GET /v1/calendar/{file}":                   http.HandlerFunc(s.calendar),
	}
}

// MountOn registers every route with mount, e.g. the venue's Mount method:
//
//	svc.MountOn(v.Mount)
func (s *Service) MountOn(mount func(pattern string, h http.Handler)) {
	for p, h := range s.Routes() {
		mount(p, h)
	}
}

// Register adds the service's routes to mux.
func (s *Service) Register(mux *http.ServeMux) { s.MountOn(mux.Handle) }

// Handler returns a handler serving only the service's routes.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	s.Register(mux)
	return mux
}

type handler func(w http.ResponseWriter, r *http.Request, c Caller)

func (s *Service) auth(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := s.cfg.Authenticate(r)
		if err != nil {
			writeError(w, http.StatusUnauthorized, "authentication required", nil)
			return
		}
		h(w, r, c)
	}
}

func (s *Service) hostOnly(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, c Caller) {
		if !c.Host {
			writeError(w, http.StatusForbidden, "only the host may do this", nil)
			return
		}
		h(w, r, c)
	}
}

func actor(c Caller) string {
	if c.Host {
		return "host"
	}
	return c.Person + " (" + c.Delegation + ")"
}

// errStorage marks a store failure (503).
type errStorage struct{ err error }

func (e *errStorage) Error() string { return "schedule storage unavailable: " + e.err.Error() }
func (e *errStorage) Unwrap() error { return e.err }

func (s *Service) load(ctx context.Context) (*schedule.Schedule, int64, error) {
	data, ver, err := s.cfg.Store.LoadSchedule(ctx)
	if err != nil {
		return nil, 0, &errStorage{err}
	}
	if data == nil {
		sc, err := schedule.New(s.cfg.Schedule)
		return sc, 0, err
	}
	var st schedule.State
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, 0, &errStorage{fmt.Errorf("failed to decode saved schedule: %w", err)}
	}
	sc, err := schedule.Restore(s.cfg.Schedule, st)
	if err != nil {
		return nil, 0, &errStorage{err}
	}
	return sc, ver, nil
}

// mutate applies fn to the current schedule and saves the result; if
// another node saved first, it reloads and applies fn again. When fn fails
// nothing is saved.
func (s *Service) mutate(ctx context.Context, fn func(*schedule.Schedule) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range 16 {
		sc, ver, err := s.load(ctx)
		if err != nil {
			return err
		}
		if err := fn(sc); err != nil {
			return err
		}
		data, err := json.Marshal(sc.State())
		if err != nil {
			return fmt.Errorf("failed to encode schedule: %w", err)
		}
		err = s.cfg.Store.SaveSchedule(ctx, data, ver)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return &errStorage{err}
		}
		s.notify.broadcast()
		return nil
	}
	return &errStorage{errors.New("too many concurrent changes")}
}

// mutateMeeting is mutate for an operation on one meeting; it reports the
// change to OnChange.
func (s *Service) mutateMeeting(ctx context.Context, fn func(*schedule.Schedule) (schedule.Meeting, error)) (schedule.Meeting, *schedule.Schedule, error) {
	var m schedule.Meeting
	var after *schedule.Schedule
	err := s.mutate(ctx, func(sc *schedule.Schedule) error {
		var err error
		m, err = fn(sc)
		after = sc
		return err
	})
	if err != nil {
		return schedule.Meeting{}, nil, err
	}
	if s.cfg.OnChange != nil {
		s.cfg.OnChange(ctx, m.Clone())
	}
	return m, after, nil
}

// MeetingView is a meeting as the API returns it.
type MeetingView struct {
	schedule.Meeting
	// MissingReadiness lists the parties whose heads have not signalled
	// readiness (gated meetings; shown to the host only).
	MissingReadiness []string `json:"missing_readiness,omitempty"`
	// Times shows the meeting in the venue's zone and in ?zone=.
	Times schedule.Times `json:"times"`
}

// view is m as c may see it. The host sees the whole record and who is
// missing; a delegation sees [schedule.Meeting.ForDelegation]: its own
// readiness signal and none of the other parties' (not in Readiness, not in
// History, not through Updated), nor the host's overrides.
func (s *Service) view(sc *schedule.Schedule, m schedule.Meeting, c Caller, own *time.Location) MeetingView {
	if c.Host {
		v := MeetingView{Meeting: m, Times: schedule.TimesFor(m, sc.Location(), own)}
		v.MissingReadiness, _ = sc.Missing(m.ID)
		return v
	}
	m = m.ForDelegation(c.Delegation)
	return MeetingView{Meeting: m, Times: schedule.TimesFor(m, sc.Location(), own)}
}

func zoneParam(r *http.Request) (*time.Location, error) {
	z := r.URL.Query().Get("zone")
	if z == "" {
		return nil, nil
	}
	return loadZone(z)
}

func loadZone(z string) (*time.Location, error) { return schedule.LoadZone(z) }

// Zone is the venue's time zone, as GET and PUT /v1/schedule/zone carry it.
type Zone struct {
	// Zone is the IANA name, e.g. "Asia/Almaty".
	Zone string `json:"zone"`
	// Offset is the zone's abbreviation or UTC offset now, e.g. "+05".
	Offset string `json:"offset,omitempty"`
	// Meetings counts the meetings not cancelled (in an answer to PUT:
	// whose venue wall-clock times now read in the new zone).
	Meetings int `json:"meetings"`
}

func (s *Service) zoneOf(sc *schedule.Schedule) Zone {
	loc := sc.Location()
	abbr, _ := s.cfg.Now().In(loc).Zone()
	z := Zone{Zone: loc.String(), Offset: abbr}
	for _, m := range sc.Meetings() {
		if m.Status != schedule.StatusCancelled {
			z.Meetings++
		}
	}
	return z
}

// getZone answers the venue's time zone (host and desks: every venue
// wall-clock time is in it).
func (s *Service) getZone(w http.ResponseWriter, r *http.Request, c Caller) {
	sc, _, err := s.load(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	z := s.zoneOf(sc)
	if !c.Host {
		z.Meetings = 0 // a delegation learns nothing of others' meetings
	}
	writeJSON(w, http.StatusOK, z)
}

// putZone changes the venue's time zone: {"zone": "Europe/Paris"}.
func (s *Service) putZone(w http.ResponseWriter, r *http.Request, c Caller) {
	var req Zone
	if !decode(w, r, &req) {
		return
	}
	z, err := s.SetZone(r.Context(), req.Zone)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.cfg.Logger.Info("schedule zone changed", "zone", z.Zone, "actor", actor(c))
	writeJSON(w, http.StatusOK, z)
}

// SetZone makes name (an IANA zone) the venue's time zone and keeps it in
// the schedule's store, where it outlives restarts and is shared by every
// venue node. Meetings keep their instants; their wall-clock times in the
// venue's zone, and the opening hours, read in the new zone.
func (s *Service) SetZone(ctx context.Context, name string) (Zone, error) {
	loc, err := schedule.LoadZone(name)
	if err != nil {
		return Zone{}, err
	}
	var z Zone
	err = s.mutate(ctx, func(sc *schedule.Schedule) error {
		if err := sc.SetZone(loc); err != nil {
			return err
		}
		z = s.zoneOf(sc)
		return nil
	})
	return z, err
}

// CurrentZone returns the venue's time zone in force.
func (s *Service) CurrentZone(ctx context.Context) (Zone, error) {
	sc, _, err := s.load(ctx)
	if err != nil {
		return Zone{}, err
	}
	return s.zoneOf(sc), nil
}

// Requests.

// RoomRequest adds or replaces a room.
type RoomRequest struct {
	schedule.Room
	Override []schedule.ConflictKind `json:"override,omitempty"`
}

// MeetingRequest proposes, updates or checks a meeting.
type MeetingRequest struct {
	schedule.MeetingSpec
	Override []schedule.ConflictKind `json:"override,omitempty"`
	Note     string                  `json:"note,omitempty"`
}

// MoveRequest moves a meeting; an empty room keeps the current one.
type MoveRequest struct {
	Room     string                  `json:"room,omitempty"`
	Start    schedule.LocalTime      `json:"start"`
	End      schedule.LocalTime      `json:"end"`
	Override []schedule.ConflictKind `json:"override,omitempty"`
	Note     string                  `json:"note,omitempty"`
}

// ActionRequest confirms or cancels a meeting.
type ActionRequest struct {
	Override []schedule.ConflictKind `json:"override,omitempty"`
	Note     string                  `json:"note,omitempty"`
}

// ReadinessRequest carries a head's signed readiness statement.
type ReadinessRequest struct {
	Statement []byte `json:"statement"` // canonical bytes (base64 in JSON)
	Signature []byte `json:"signature"` // Ed25519 (base64 in JSON)
}

// FeedRequest asks for a calendar feed URL.
type FeedRequest struct {
	Delegation string `json:"delegation"`
	Person     string `json:"person,omitempty"`
	Zone       string `json:"zone,omitempty"`
}

// FeedCreated is returned once, when a feed is created: the token is not
// stored and cannot be shown again.
type FeedCreated struct {
	FeedRecord
	Token string `json:"token"`
	Path  string `json:"path"` // "/v1/calendar/<token>.ics"
}

const maxBody = 64 << 10

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json", nil)
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", maxBody), nil)
			return false
		}
		writeError(w, http.StatusBadRequest, "failed to decode request: "+err.Error(), nil)
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		writeError(w, http.StatusBadRequest, "failed to decode request: trailing data", nil)
		return false
	}
	return true
}

// errorBody is the JSON of every error.
type errorBody struct {
	Error     string              `json:"error"`
	Conflicts []schedule.Conflict `json:"conflicts,omitempty"`
	Missing   []string            `json:"missing_readiness,omitempty"`
}

func writeError(w http.ResponseWriter, status int, msg string, body *errorBody) {
	if body == nil {
		body = &errorBody{}
	}
	body.Error = msg
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *Service) fail(w http.ResponseWriter, err error) {
	var ce *schedule.ConflictError
	var nr *schedule.NotReadyError
	var se *errStorage
	switch {
	case errors.As(err, &ce):
		writeError(w, http.StatusConflict, err.Error(), &errorBody{Conflicts: ce.Conflicts})
	case errors.As(err, &nr):
		writeError(w, http.StatusConflict, err.Error(), &errorBody{Missing: nr.Missing})
	case errors.Is(err, schedule.ErrBadReadiness):
		writeError(w, http.StatusBadRequest, schedule.ErrBadReadiness.Error(), nil)
	case errors.Is(err, schedule.ErrInvalid), errors.Is(err, schedule.ErrBadLocalTime):
		writeError(w, http.StatusBadRequest, err.Error(), nil)
	case errors.Is(err, schedule.ErrUnknownRoom), errors.Is(err, schedule.ErrUnknownMeeting), errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error(), nil)
	case errors.Is(err, schedule.ErrRoomExists), errors.Is(err, schedule.ErrMeetingExists),
		errors.Is(err, schedule.ErrRoomInUse), errors.Is(err, schedule.ErrTransition):
		writeError(w, http.StatusConflict, err.Error(), nil)
	case errors.Is(err, schedule.ErrNotAttending):
		writeError(w, http.StatusForbidden, err.Error(), nil)
	case errors.As(err, &se), errors.Is(err, context.DeadlineExceeded):
		s.cfg.Logger.Error("schedule storage", "err", err)
		writeError(w, http.StatusServiceUnavailable, "storage unavailable, retry", nil)
	default:
		s.cfg.Logger.Error("schedule", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error", nil)
	}
}

func (s *Service) op(c Caller, override []schedule.ConflictKind, note string) schedule.Op {
	return schedule.Op{Actor: actor(c), At: s.cfg.Now().UTC(), Override: override, Note: note}
}

// Rooms.

func (s *Service) listRooms(w http.ResponseWriter, r *http.Request, c Caller) {
	sc, _, err := s.load(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, sc.Rooms())
}

func (s *Service) addRoom(w http.ResponseWriter, r *http.Request, c Caller) {
	var req RoomRequest
	if !decode(w, r, &req) {
		return
	}
	var room schedule.Room
	err := s.mutate(r.Context(), func(sc *schedule.Schedule) error {
		if err := sc.AddRoom(req.Room); err != nil {
			return err
		}
		room, _ = sc.Room(req.Name)
		return nil
	})
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, room)
}

func (s *Service) updateRoom(w http.ResponseWriter, r *http.Request, c Caller) {
	var req RoomRequest
	if !decode(w, r, &req) {
		return
	}
	if req.Name == "" {
		req.Name = r.PathValue("name")
	}
	if req.Name != r.PathValue("name") {
		writeError(w, http.StatusBadRequest, "room name in the body differs from the URL; rooms cannot be renamed", nil)
		return
	}
	var room schedule.Room
	err := s.mutate(r.Context(), func(sc *schedule.Schedule) error {
		if err := sc.UpdateRoom(req.Room, req.Override); err != nil {
			return err
		}
		room, _ = sc.Room(req.Name)
		return nil
	})
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, room)
}

func (s *Service) removeRoom(w http.ResponseWriter, r *http.Request, c Caller) {
	name := r.PathValue("name")
	if err := s.mutate(r.Context(), func(sc *schedule.Schedule) error { return sc.RemoveRoom(name) }); err != nil {
		s.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Meetings.

func (s *Service) listMeetings(w http.ResponseWriter, r *http.Request, c Caller) {
	own, err := zoneParam(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	sc, _, err := s.load(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	ms := sc.Meetings()
	if !c.Host {
		ms = sc.MeetingsFor(c.Delegation)
	}
	out := make([]MeetingView, 0, len(ms))
	for _, m := range ms {
		out = append(out, s.view(sc, m, c, own))
	}
	writeJSON(w, http.StatusOK, out)
}

// Changes is the answer of GET /v1/schedule/changes.
type Changes struct {
	// Changed reports whether the caller's meetings differ from the ETag
	// it sent; Meetings is then the whole current list.
	Changed  bool          `json:"changed"`
	ETag     string        `json:"etag"`
	Meetings []MeetingView `json:"meetings,omitempty"`
}

// MaxWait bounds how long GET /v1/schedule/changes waits, so that a
// server's graceful shutdown never waits longer.
const MaxWait = 25 * time.Second

// changes is a long poll: it answers as soon as the meetings the caller
// sees (the host: all; a desk: its delegation's) differ from ?etag=, or
// after ?wait= seconds (at most MaxWait) with changed false. A desk learns
// only of changes to its own meetings, not when others' change.
func (s *Service) changes(w http.ResponseWriter, r *http.Request, c Caller) {
	own, err := zoneParam(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	q := r.URL.Query()
	etag := q.Get("etag")
	wait := MaxWait
	if ws := q.Get("wait"); ws != "" {
		n, err := strconv.Atoi(ws)
		if err != nil || n < 0 || strconv.Itoa(n) != ws {
			writeError(w, http.StatusBadRequest, "wait must be whole seconds", nil)
			return
		}
		wait = min(time.Duration(n)*time.Second, MaxWait)
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	poll := time.NewTicker(s.cfg.PollInterval)
	defer poll.Stop()
	for {
		woken := s.notify.wait()
		views, tag, err := s.viewsFor(r.Context(), c, own)
		if err != nil {
			s.fail(w, err)
			return
		}
		if tag != etag {
			writeJSON(w, http.StatusOK, Changes{Changed: true, ETag: tag, Meetings: views})
			return
		}
		select {
		case <-woken:
		case <-poll.C:
		case <-deadline.C:
			writeJSON(w, http.StatusOK, Changes{ETag: tag})
			return
		case <-r.Context().Done():
			return
		}
	}
}

// viewsFor returns what c sees of the schedule and a digest of it (times in
// other zones left out, so the digest does not depend on ?zone=). The digest
// is computed from the caller's view only, never from the stored record:
// a change a delegation may not see (another party's readiness signal)
// leaves its tag as it was, so its long poll is not woken.
func (s *Service) viewsFor(ctx context.Context, c Caller, own *time.Location) ([]MeetingView, string, error) {
	sc, _, err := s.load(ctx)
	if err != nil {
		return nil, "", err
	}
	ms := sc.Meetings()
	if !c.Host {
		ms = sc.MeetingsFor(c.Delegation)
	}
	views := make([]MeetingView, 0, len(ms))
	h := sha256.New()
	// The venue's zone is part of the view: a change of zone moves every
	// meeting's venue wall-clock time, so the desks are told.
	fmt.Fprintf(h, "zone %s\n", sc.Location())
	enc := json.NewEncoder(h)
	for _, m := range ms {
		v := s.view(sc, m, c, own)
		views = append(views, v)
		if err := enc.Encode(struct {
			schedule.Meeting
			Missing []string
		}{v.Meeting, v.MissingReadiness}); err != nil {
			return nil, "", fmt.Errorf("failed to digest schedule: %w", err)
		}
	}
	return views, hex.EncodeToString(h.Sum(nil)[:16]), nil
}

func (s *Service) getMeeting(w http.ResponseWriter, r *http.Request, c Caller) {
	own, err := zoneParam(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	sc, _, err := s.load(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	m, err := sc.Meeting(r.PathValue("id"))
	if err != nil || !c.Host && !m.Attends(c.Delegation) {
		// A delegation learns nothing of meetings it does not attend.
		s.fail(w, fmt.Errorf("%w %q", schedule.ErrUnknownMeeting, r.PathValue("id")))
		return
	}
	writeJSON(w, http.StatusOK, s.view(sc, m, c, own))
}

func (s *Service) respondMeeting(w http.ResponseWriter, r *http.Request, c Caller, status int,
	fn func(*schedule.Schedule) (schedule.Meeting, error)) {
	m, sc, err := s.mutateMeeting(r.Context(), fn)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.cfg.Logger.Info("schedule change", "meeting", m.ID, "action", m.History[len(m.History)-1].Action, "status", m.Status, "actor", actor(c))
	writeJSON(w, status, s.view(sc, m, c, nil))
}

// linked links the interpreters booked for meeting m to its channel, once
// the schedule accepted the change and before it is stored: a refusal
// stores nothing. (A change lost to a concurrent one may leave the devices
// let through; they still need every party's consent to join.)
func (s *Service) linked(ctx context.Context, m schedule.Meeting, err error) (schedule.Meeting, error) {
	if err != nil || len(m.Interpreters) == 0 || m.Channel == "" || s.cfg.LinkInterpreters == nil {
		return m, err
	}
	if err := s.cfg.LinkInterpreters(ctx, m.Channel, m.Interpreters); err != nil {
		return schedule.Meeting{}, fmt.Errorf("%w: interpreters: %v", schedule.ErrInvalid, err)
	}
	return m, nil
}

func (s *Service) propose(w http.ResponseWriter, r *http.Request, c Caller) {
	var req MeetingRequest
	if !decode(w, r, &req) {
		return
	}
	s.respondMeeting(w, r, c, http.StatusCreated, func(sc *schedule.Schedule) (schedule.Meeting, error) {
		m, err := sc.Propose(req.MeetingSpec, s.op(c, req.Override, req.Note))
		return s.linked(r.Context(), m, err)
	})
}

func (s *Service) check(w http.ResponseWriter, r *http.Request, c Caller) {
	var req MeetingRequest
	if !decode(w, r, &req) {
		return
	}
	sc, _, err := s.load(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	cs, err := sc.CheckSpec(req.MeetingSpec)
	if err != nil {
		s.fail(w, err)
		return
	}
	if cs == nil {
		cs = []schedule.Conflict{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"conflicts": cs})
}

func (s *Service) update(w http.ResponseWriter, r *http.Request, c Caller) {
	var req MeetingRequest
	if !decode(w, r, &req) {
		return
	}
	id := r.PathValue("id")
	if req.ID != "" && req.ID != id {
		writeError(w, http.StatusBadRequest, "meeting ID in the body differs from the URL", nil)
		return
	}
	s.respondMeeting(w, r, c, http.StatusOK, func(sc *schedule.Schedule) (schedule.Meeting, error) {
		m, err := sc.Update(id, req.MeetingSpec, s.op(c, req.Override, req.Note))
		return s.linked(r.Context(), m, err)
	})
}

func (s *Service) move(w http.ResponseWriter, r *http.Request, c Caller) {
	var req MoveRequest
	if !decode(w, r, &req) {
		return
	}
	id := r.PathValue("id")
	s.respondMeeting(w, r, c, http.StatusOK, func(sc *schedule.Schedule) (schedule.Meeting, error) {
		return sc.Move(id, req.Room, req.Start, req.End, s.op(c, req.Override, req.Note))
	})
}

func (s *Service) confirm(w http.ResponseWriter, r *http.Request, c Caller) {
	var req ActionRequest
	if !decode(w, r, &req) {
		return
	}
	id := r.PathValue("id")
	s.respondMeeting(w, r, c, http.StatusOK, func(sc *schedule.Schedule) (schedule.Meeting, error) {
		return sc.Confirm(id, s.op(c, req.Override, req.Note))
	})
}

func (s *Service) cancel(w http.ResponseWriter, r *http.Request, c Caller) {
	var req ActionRequest
	if !decode(w, r, &req) {
		return
	}
	id := r.PathValue("id")
	s.respondMeeting(w, r, c, http.StatusOK, func(sc *schedule.Schedule) (schedule.Meeting, error) {
		return sc.Cancel(id, s.op(c, nil, req.Note))
	})
}

// readiness takes a head's signed statement. Only a device whose
// certificate names it head of the delegation the statement speaks for may
// send it, and the signature must verify with that device's key.
func (s *Service) readiness(w http.ResponseWriter, r *http.Request, c Caller) {
	if c.Host {
		writeError(w, http.StatusForbidden, "the host cannot signal readiness for a party", nil)
		return
	}
	var req ReadinessRequest
	if !decode(w, r, &req) {
		return
	}
	st, err := schedule.ParseReadiness(req.Statement)
	if err != nil {
		s.fail(w, err)
		return
	}
	if st.Meeting != r.PathValue("id") {
		writeError(w, http.StatusBadRequest, "the statement names another meeting", nil)
		return
	}
	if c.Role != HeadRole || st.Delegation != c.Delegation || len(c.Key) != ed25519.PublicKeySize {
		writeError(w, http.StatusForbidden, fmt.Sprintf("only the head of delegation of %s can signal its readiness", st.Delegation), nil)
		return
	}
	s.respondMeeting(w, r, c, http.StatusOK, func(sc *schedule.Schedule) (schedule.Meeting, error) {
		return sc.SignalReadiness(req.Statement, req.Signature, c.Key, s.op(c, nil, ""))
	})
}

// Feeds.

const feedPrefix = "/v1/calendar/"

// Limits on active calendar feeds.
const (
	MaxFeedsPerDelegate = 10
	MaxFeedsPerHost     = 10000
)

func hashToken(tok string) []byte {
	h := sha256.Sum256([]byte("goodoffices calendar feed v1\n" + tok))
	return h[:]
}

func (s *Service) createFeed(w http.ResponseWriter, r *http.Request, c Caller) {
	var req FeedRequest
	if !decode(w, r, &req) {
		return
	}
	if !c.Host {
		// A delegate subscribes for itself only.
		if req.Delegation == "" {
			req.Delegation = c.Delegation
		}
		if req.Delegation != c.Delegation || req.Person != "" && req.Person != c.Person {
			writeError(w, http.StatusForbidden, "a delegate can only create its own feed", nil)
			return
		}
		req.Person = c.Person
	}
	if req.Delegation == "" {
		writeError(w, http.StatusBadRequest, "delegation is required", nil)
		return
	}
	if len(req.Delegation) > schedule.MaxNameLen || len(req.Person) > schedule.MaxNameLen ||
		strings.ContainsFunc(req.Delegation+req.Person, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		writeError(w, http.StatusBadRequest, "invalid delegation or person name", nil)
		return
	}
	if req.Zone != "" {
		if _, err := loadZone(req.Zone); err != nil {
			s.fail(w, err)
			return
		}
	}
	// Bound the feeds a delegate can pile up; the host revokes and
	// re-creates as needed.
	existing, err := s.cfg.Store.Feeds(r.Context())
	if err != nil {
		s.fail(w, &errStorage{err})
		return
	}
	active, limit := 0, MaxFeedsPerHost
	if !c.Host {
		limit = MaxFeedsPerDelegate
	}
	for _, f := range existing {
		if f.Revoked.IsZero() && (c.Host || f.Delegation == c.Delegation && f.Person == c.Person) {
			active++
		}
	}
	if active >= limit {
		writeError(w, http.StatusConflict, fmt.Sprintf("%d active feeds already: revoke one first", active), nil)
		return
	}
	var raw [32]byte
	rand.Read(raw[:])
	tok := base64.RawURLEncoding.EncodeToString(raw[:])
	var id [8]byte
	rand.Read(id[:])
	f := FeedRecord{ID: "f-" + hex.EncodeToString(id[:]), TokenHash: hashToken(tok), Delegation: req.Delegation,
		Person: req.Person, Zone: req.Zone, Created: s.cfg.Now().UTC()}
	if err := s.cfg.Store.PutFeed(r.Context(), f); err != nil {
		s.fail(w, &errStorage{err})
		return
	}
	s.cfg.Logger.Info("calendar feed created", "feed", f.ID, "delegation", f.Delegation, "actor", actor(c))
	writeJSON(w, http.StatusCreated, FeedCreated{FeedRecord: f, Token: tok, Path: feedPrefix + tok + ".ics"})
}

func (s *Service) listFeeds(w http.ResponseWriter, r *http.Request, c Caller) {
	fs, err := s.cfg.Store.Feeds(r.Context())
	if err != nil {
		s.fail(w, &errStorage{err})
		return
	}
	out := []FeedRecord{}
	for _, f := range fs {
		if c.Host || f.Delegation == c.Delegation && f.Person == c.Person {
			out = append(out, f)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Service) revokeFeed(w http.ResponseWriter, r *http.Request, c Caller) {
	id := r.PathValue("id")
	if !c.Host {
		fs, err := s.cfg.Store.Feeds(r.Context())
		if err != nil {
			s.fail(w, &errStorage{err})
			return
		}
		if !slices.ContainsFunc(fs, func(f FeedRecord) bool { return f.ID == id && f.Delegation == c.Delegation && f.Person == c.Person }) {
			s.fail(w, fmt.Errorf("%w: feed %q", ErrNotFound, id))
			return
		}
	}
	if err := s.cfg.Store.RevokeFeed(r.Context(), id, s.cfg.Now().UTC()); err != nil {
		if errors.Is(err, ErrNotFound) {
			s.fail(w, fmt.Errorf("%w: feed %q", ErrNotFound, id))
			return
		}
		s.fail(w, &errStorage{err})
		return
	}
	s.cfg.Logger.Info("calendar feed revoked", "feed", id, "actor", actor(c))
	w.WriteHeader(http.StatusNoContent)
}

// calendar serves a feed to a calendar program. The token in the URL is the
// only credential; an unknown and a revoked token get the same 404.
func (s *Service) calendar(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutSuffix(r.PathValue("file"), ".ics")
	notFound := func() { writeError(w, http.StatusNotFound, "unknown or revoked calendar feed", nil) }
	if !ok || len(tok) != 43 {
		notFound()
		return
	}
	want := hashToken(tok)
	f, err := s.cfg.Store.FeedByToken(r.Context(), want)
	if errors.Is(err, ErrNotFound) {
		notFound()
		return
	}
	if err != nil {
		s.fail(w, &errStorage{err})
		return
	}
	if subtle.ConstantTimeCompare(f.TokenHash, want) != 1 || !f.Revoked.IsZero() {
		notFound()
		return
	}
	sc, _, err := s.load(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	// A feed is the delegation's view: nothing of other parties'
	// readiness may change its bytes (nor its ETag).
	ms := sc.MeetingsFor(f.Delegation)
	for i := range ms {
		ms[i] = ms[i].ForDelegation(f.Delegation)
	}
	feed := schedule.Feed{Domain: s.cfg.Domain, Zone: sc.Location(), Meetings: ms}
	feed.Name = "Good Offices: " + f.Delegation
	if f.Person != "" {
		feed.Name = "Good Offices: " + f.Person + " (" + f.Delegation + ")"
	}
	if f.Zone != "" {
		if feed.Own, err = loadZone(f.Zone); err != nil {
			s.fail(w, err)
			return
		}
	}
	body, err := schedule.RenderICS(feed)
	if err != nil {
		s.fail(w, err)
		return
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "private, no-cache")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "text/calendar; charset=utf-8")
	h.Set("Content-Disposition", `inline; filename="goodoffices.ics"`)
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}
