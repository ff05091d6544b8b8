package venue

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/tlog"
	"github.com/good-offices/goodoffices/venue/api"
	"github.com/good-offices/goodoffices/venue/store"
)

// Channel kinds.
var Kinds = []string{"plenary", "working-group", "bilateral", "delegation-internal", "logistics"}

// maxJSON bounds JSON request bodies other than key package uploads.
const maxJSON = 64 << 10

// principal is who made a request.
type principal struct {
	admin      bool
	device     string // DeviceID
	delegation string
	person     string
	role       string
	key        ed25519.PublicKey
}

// A Caller is who made a request, for handlers mounted with Config.Extra.
type Caller struct {
	Admin      bool              // the host admin
	Device     string            // a device: its DeviceID ...
	Delegation string            // ... its delegation
	Person     string            // ... the delegate (from the certificate)
	Role       string            // ... the delegate's role
	Key        ed25519.PublicKey // ... the certified device key
}

// ErrUnauthenticated is returned by Who for a request without a valid
// credential.
var ErrUnauthenticated = errors.New("authentication required")

// Who authenticates r (admin credential or device token) for handlers
// mounted next to the venue's. A request without credentials yields
// ErrUnauthenticated; an invalid credential another error.
func (v *Venue) Who(r *http.Request) (Caller, error) {
	p, status, msg := v.principalOf(r)
	if status != 0 {
		return Caller{}, errors.New(msg)
	}
	if !p.admin && p.device == "" {
		return Caller{}, ErrUnauthenticated
	}
	trustConn(r.Context())
	return Caller{Admin: p.admin, Device: p.device, Delegation: p.delegation, Person: p.person, Role: p.role, Key: p.key}, nil
}

// principalOf authenticates r; a non-zero status reports a bad credential.
func (v *Venue) principalOf(r *http.Request) (principal, int, string) {
	var p principal
	authz := r.Header.Get("Authorization")
	if authz == "" {
		return p, 0, ""
	}
	tok, ok := strings.CutPrefix(authz, "Bearer ")
	if !ok {
		return p, http.StatusUnauthorized, "Authorization must be 'Bearer <token>'"
	}
	switch {
	case strings.HasPrefix(tok, adminPrefix):
		if !v.isAdmin(tok) {
			return p, http.StatusUnauthorized, "invalid admin credential"
		}
		p.admin = true
	case strings.HasPrefix(tok, tokenPrefix):
		pub, err := v.checkToken(tok, time.Now())
		if err != nil {
			return p, http.StatusUnauthorized, "invalid or expired token: authenticate again"
		}
		d, err := v.device(r.Context(), delegation.DeviceID(pub))
		if err != nil {
			return p, http.StatusUnauthorized, deviceRefusal(err)
		}
		p.device, p.delegation, p.person, p.role, p.key = d.id, d.delegation, d.person, d.role, d.key
	default:
		return p, http.StatusUnauthorized, "unrecognised credential"
	}
	return p, 0, ""
}

type access int

const (
	public access = iota
	adminOnly
	deviceOnly
	adminOrDevice
)

// Handler returns the venue's HTTP handler.
func (v *Venue) Handler() http.Handler {
	mux := http.NewServeMux()
	h := func(pattern string, a access, f func(http.ResponseWriter, *http.Request, principal)) {
		mux.Handle(pattern, v.authorize(a, f))
	}
	h("GET /v1/venue", public, v.handleInfo)
	h("GET /v1/delegations", public, v.handleDelegations)
	h("POST /v1/delegations", adminOnly, v.handleAccredit)
	h("GET /v1/channels", adminOrDevice, v.handleChannels)
	h("POST /v1/channels", adminOnly, v.handleCreateChannel)
	h("PUT /v1/channels/{id}/members", adminOnly, v.handleSetMembers)
	h("PUT /v1/channels/{id}/interpreters", adminOnly, v.handleSetInterpreters)
	h("POST /v1/devices", public, v.handleRegisterDevice)
	h("POST /v1/revocations", public, v.handleRevoke)
	h("GET /v1/devices", adminOrDevice, v.handleDevices)
	h("POST /v1/auth/challenge", public, v.handleChallenge)
	h("POST /v1/auth/token", public, v.handleToken)
	h("POST /v1/keypackages", deviceOnly, v.handleUploadKeyPackages)
	h("GET /v1/keypackages", deviceOnly, v.handleCountKeyPackages)
	h("POST /v1/devices/{id}/keypackage", deviceOnly, v.handleClaimKeyPackage)
	h("POST /v1/devices/{id}/mail", deviceOnly, v.handleSendMail)
	h("GET /v1/mail", deviceOnly, v.handleMail)
	h("DELETE /v1/mail", deviceOnly, v.handleDeleteMail)
	h("GET /v1/events", deviceOnly, v.handleEvents)
	h("GET /v1/stats", adminOnly, v.handleStats)
	h("POST /logs/{log}/entries", deviceOnly, v.handleAppend)
	h("POST /logs/{log}/batch", deviceOnly, v.handleAppendBatch)
	h("GET /logs/{log}/checkpoint", public, v.handleCheckpoint)
	h("GET /logs/{log}/tile/{path...}", public, v.handleTile)
	for pattern, handler := range v.extra {
		mux.Handle(pattern, handler)
	}
	mux.HandleFunc("/", notFound(mux))
	return v.logAccess(v.guard(mux))
}

// InLane reports whether a request for method and target (as sent) may be
// served in an HTTP/1.1 lane (internal/lane) instead of by net/http: the
// appends of single entries, the venue's most frequent request, whose
// answers are small and never streamed.
func InLane(method, target string) bool {
	log, ok := strings.CutPrefix(target, "/logs/")
	if !ok || method != http.MethodPost {
		return false
	}
	log, ok = strings.CutSuffix(log, "/entries")
	return ok && log != "" && !strings.Contains(log, "/")
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeError writes {"error": msg}.
func writeError(w http.ResponseWriter, status int, msg string) {
	if (status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests) && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, map[string]string{"error": msg})
}

func (v *Venue) writeErr(w http.ResponseWriter, err error) {
	status, msg := errorStatus(err)
	if status >= 500 && status != http.StatusServiceUnavailable {
		v.log.Error("request failed", "err", err)
	}
	writeError(w, status, msg)
}

// authorize checks the request's credential against a.
func (v *Venue) authorize(a access, f func(http.ResponseWriter, *http.Request, principal)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, status, msg := v.principalOf(r)
		if status != 0 {
			writeError(w, status, msg)
			return
		}
		switch {
		case a == adminOnly && !p.admin:
			writeError(w, statusFor(p), "only the host admin may do this")
			return
		case a == deviceOnly && p.device == "":
			writeError(w, statusFor(p), "only a registered device may do this")
			return
		case a == adminOrDevice && !p.admin && p.device == "":
			writeError(w, http.StatusUnauthorized, "authentication required")
			return
		}
		if p.admin || p.device != "" {
			trustConn(r.Context())
		}
		f(w, r, p)
	})
}

// statusFor is 401 without credentials, 403 with the wrong kind.
func statusFor(p principal) int {
	if p.admin || p.device != "" {
		return http.StatusForbidden
	}
	return http.StatusUnauthorized
}

// readBody reads at most max bytes of the body, within bodyTimeout(max).
func readBody(w http.ResponseWriter, r *http.Request, max int) ([]byte, bool) {
	setBodyDeadline(w, max)
	var data []byte
	var err error
	if n := r.ContentLength; n >= 0 && n <= int64(max) {
		// Read exactly the announced length, in one allocation.
		data = make([]byte, n)
		_, err = io.ReadFull(r.Body, data)
		if err == nil {
			var one [1]byte
			if m, _ := r.Body.Read(one[:]); m > 0 {
				err = errors.New("body longer than Content-Length")
			}
		}
	} else {
		data, err = io.ReadAll(http.MaxBytesReader(w, r.Body, int64(max)))
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", max))
		} else if errors.Is(err, os.ErrDeadlineExceeded) {
			w.Header().Set("Connection", "close")
			writeError(w, http.StatusRequestTimeout, fmt.Sprintf("body not received within %s", bodyTimeout(max)))
		} else {
			writeError(w, http.StatusBadRequest, "failed to read body")
		}
		return nil, false
	}
	return data, true
}

// decodeJSON decodes a bounded JSON body strictly into dst.
func decodeJSON(w http.ResponseWriter, r *http.Request, max int, dst any) bool {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return false
	}
	data, ok := readBody(w, r, max)
	if !ok {
		return false
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		writeError(w, http.StatusBadRequest, "malformed JSON: "+err.Error())
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "malformed JSON: trailing data")
		return false
	}
	return true
}

// requireMLS checks the Content-Type of an MLS body (RFC 9420 §17.10).
func requireMLS(w http.ResponseWriter, r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "message/mls" { // the common case, without parsing
		return true
	}
	if mt, _, _ := mime.ParseMediaType(ct); mt != "message/mls" {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be message/mls")
		return false
	}
	return true
}

// Info is the body of GET /v1/venue.
type Info struct {
	Name              string `json:"name"`
	DisplayName       string `json:"display_name,omitempty"`
	VerifierKey       string `json:"verifier_key"`
	RegisterOrigin    string `json:"register_origin"`
	RevocationsOrigin string `json:"revocations_origin"`
	ChannelOrigin     string `json:"channel_origin_prefix"`
	MaxEntry          int    `json:"max_entry"`
}

func (v *Venue) handleInfo(w http.ResponseWriter, r *http.Request, _ principal) {
	writeJSON(w, http.StatusOK, Info{Name: v.key.name, DisplayName: v.cfg.DisplayName, VerifierKey: v.key.vkey, RegisterOrigin: v.origin(registerLog), RevocationsOrigin: v.origin(revocationsLog),
		ChannelOrigin: v.key.name + "/channels/", MaxEntry: v.cfg.MaxEntry})
}

// Delegation is a delegation as the API returns it.
type Delegation struct {
	Name        string    `json:"name"`
	DisplayName string    `json:"display_name,omitempty"`
	RootKey     string    `json:"root_key"`
	Fingerprint string    `json:"fingerprint"`
	Accredited  time.Time `json:"accredited"`
	Index       int64     `json:"register_index"`
}

func toDelegation(r RegisterRecord) Delegation {
	return Delegation{Name: r.Delegation, DisplayName: r.DisplayName, RootKey: r.RootKey, Fingerprint: r.Fingerprint(), Accredited: r.Time, Index: r.Index}
}

func (v *Venue) handleDelegations(w http.ResponseWriter, r *http.Request, _ principal) {
	list, err := v.delegations(r.Context())
	if err != nil {
		v.writeErr(w, &errStore{err})
		return
	}
	out := make([]Delegation, 0, len(list))
	for _, rec := range list {
		out = append(out, toDelegation(rec))
	}
	writeJSON(w, http.StatusOK, out)
}

func (v *Venue) handleAccredit(w http.ResponseWriter, r *http.Request, _ principal) {
	var req struct {
		Name        string `json:"name"`
		DisplayName string `json:"display_name"`
		RootKey     string `json:"root_key"`
	}
	if !decodeJSON(w, r, maxJSON, &req) {
		return
	}
	if req.DisplayName != "" {
		if err := api.CheckDisplayName(req.DisplayName); err != nil {
			writeError(w, http.StatusBadRequest, "invalid display_name: "+err.Error())
			return
		}
	}
	if !delegation.ValidName(req.Name) {
		writeError(w, http.StatusBadRequest, "invalid delegation name: use 1-64 of a-z, 0-9, '-', '.'")
		return
	}
	if err := api.CheckRootKey(req.Name, req.RootKey); err != nil {
		writeError(w, http.StatusBadRequest, "invalid root_key: "+err.Error())
		return
	}
	rec, err := v.accredit(r.Context(), req.Name, req.DisplayName, req.RootKey)
	if errors.Is(err, errAccredited) {
		writeError(w, http.StatusConflict, "delegation "+req.Name+" is already accredited")
		return
	}
	if err != nil {
		v.writeErr(w, err)
		return
	}
	v.log.Info("accredited delegation", "delegation", rec.Delegation, "fingerprint", rec.Fingerprint(), "register_index", rec.Index)
	writeJSON(w, http.StatusCreated, toDelegation(rec))
}

// Channel is a channel as the API returns it.
type Channel struct {
	ID      string   `json:"id"`
	Kind    string   `json:"kind"`
	Level   string   `json:"level"`
	Members []string `json:"members"`
	// Interpreters are the interpreters' devices the host lets use the
	// channel's log; the parties' desks admit one to the channel's group
	// only when every party has consented.
	Interpreters []string  `json:"interpreters,omitempty"`
	Origin       string    `json:"origin"`
	Created      time.Time `json:"created"`
}

func (v *Venue) toChannel(c store.Channel) Channel {
	ms, in := splitMembers(c.Members)
	return Channel{ID: c.ID, Kind: c.Kind, Level: c.Level, Members: ms, Interpreters: in, Origin: v.origin(c.ID), Created: c.Created}
}

// validChannelID reports whether id may name a channel: 1-64 of a-z, 0-9
// and "-", starting with a letter or digit, not "register".
func validChannelID(id string) bool {
	if publicLog(id) || !delegation.ValidName(id) || strings.Contains(id, ".") {
		return false
	}
	return true
}

func (v *Venue) handleChannels(w http.ResponseWriter, r *http.Request, p principal) {
	var list []store.Channel
	var err error
	if p.admin {
		list, err = v.store.Channels(r.Context())
	} else {
		list, err = v.channelsOf(r.Context(), p.delegation, p.device)
	}
	if err != nil {
		v.writeErr(w, &errStore{err})
		return
	}
	out := make([]Channel, 0, len(list))
	for _, c := range list {
		out = append(out, v.toChannel(c))
	}
	writeJSON(w, http.StatusOK, out)
}

// checkMembers validates a member list for a channel kind and returns it
// sorted.
func (v *Venue) checkMembers(ctx context.Context, kind string, members []string) ([]string, int, string) {
	if len(members) == 0 || len(members) > 64 {
		return nil, http.StatusBadRequest, "members: 1 to 64 delegations"
	}
	ms := slices.Clone(members)
	slices.Sort(ms)
	if len(slices.Compact(slices.Clone(ms))) != len(ms) {
		return nil, http.StatusBadRequest, "members: duplicate delegation"
	}
	for _, m := range ms {
		_, ok, err := v.delegationRecord(ctx, m)
		if err != nil {
			return nil, http.StatusServiceUnavailable, "storage unavailable, retry"
		}
		if !ok {
			return nil, http.StatusBadRequest, "members: delegation " + strconv.Quote(m) + " is not accredited"
		}
	}
	switch {
	case kind == "delegation-internal" && len(ms) != 1:
		return nil, http.StatusBadRequest, "a delegation-internal channel has exactly one member delegation"
	case kind == "bilateral" && len(ms) != 2:
		return nil, http.StatusBadRequest, "a bilateral channel has exactly two member delegations"
	}
	return ms, 0, ""
}

func (v *Venue) handleCreateChannel(w http.ResponseWriter, r *http.Request, _ principal) {
	var req struct {
		ID      string   `json:"id"`
		Kind    string   `json:"kind"`
		Level   string   `json:"level"`
		Members []string `json:"members"`
	}
	if !decodeJSON(w, r, maxJSON, &req) {
		return
	}
	if !validChannelID(req.ID) {
		writeError(w, http.StatusBadRequest, "invalid channel id: use 1-64 of a-z, 0-9, '-' (not 'register')")
		return
	}
	if !slices.Contains(Kinds, req.Kind) {
		writeError(w, http.StatusBadRequest, "invalid kind: one of "+strings.Join(Kinds, ", "))
		return
	}
	if !delegation.ValidLevel(req.Level) {
		writeError(w, http.StatusBadRequest, "invalid level: one of "+strings.Join(delegation.Levels, ", "))
		return
	}
	ms, status, msg := v.checkMembers(r.Context(), req.Kind, req.Members)
	if status != 0 {
		writeError(w, status, msg)
		return
	}
	c := store.Channel{ID: req.ID, Kind: req.Kind, Level: req.Level, Members: ms, Created: time.Now().UTC()}
	if err := v.store.CreateChannel(r.Context(), c); errors.Is(err, store.ErrExists) {
		writeError(w, http.StatusConflict, "channel "+req.ID+" already exists")
		return
	} else if err != nil {
		v.writeErr(w, &errStore{err})
		return
	}
	v.forgetChannel(c.ID)
	v.hub.channelsChanged()
	v.log.Info("created channel", "channel", c.ID, "kind", c.Kind, "level", c.Level, "members", strings.Join(ms, ","))
	writeJSON(w, http.StatusCreated, v.toChannel(c))
}

func (v *Venue) handleSetMembers(w http.ResponseWriter, r *http.Request, _ principal) {
	id := r.PathValue("id")
	c, err := v.store.Channel(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no such channel")
		return
	} else if err != nil {
		v.writeErr(w, &errStore{err})
		return
	}
	var req struct {
		Members []string `json:"members"`
	}
	if !decodeJSON(w, r, maxJSON, &req) {
		return
	}
	ms, status, msg := v.checkMembers(r.Context(), c.Kind, req.Members)
	if status != 0 {
		writeError(w, status, msg)
		return
	}
	_, interpreters := splitMembers(c.Members)
	stored := ms
	for _, dev := range interpreters {
		stored = append(stored, interpreterPrefix+dev)
	}
	if err := v.store.SetMembers(r.Context(), id, stored); err != nil {
		v.writeErr(w, &errStore{err})
		return
	}
	v.forgetChannel(id)
	v.hub.channelsChanged()
	c.Members = stored
	v.log.Info("changed channel members", "channel", id, "members", strings.Join(ms, ","))
	writeJSON(w, http.StatusOK, v.toChannel(c))
}

// handleSetInterpreters replaces the interpreters' devices that may use a
// channel's log: registered devices whose certificate names the role
// interpreter.
func (v *Venue) handleSetInterpreters(w http.ResponseWriter, r *http.Request, _ principal) {
	id := r.PathValue("id")
	c, err := v.store.Channel(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no such channel")
		return
	} else if err != nil {
		v.writeErr(w, &errStore{err})
		return
	}
	var req struct {
		Devices []string `json:"devices"`
	}
	if !decodeJSON(w, r, maxJSON, &req) {
		return
	}
	if len(req.Devices) > 16 {
		writeError(w, http.StatusBadRequest, "devices: at most 16 interpreters in a channel")
		return
	}
	members, _ := splitMembers(c.Members)
	stored := slices.Clone(members)
	for _, dev := range req.Devices {
		if err := v.checkInterpreter(r.Context(), dev); errors.Is(err, errNotInterpreter) {
			writeError(w, http.StatusBadRequest, "devices: "+err.Error())
			return
		} else if err != nil {
			v.writeErr(w, &errStore{err})
			return
		}
		if slices.Contains(stored, interpreterPrefix+dev) {
			writeError(w, http.StatusBadRequest, "devices: duplicate device")
			return
		}
		stored = append(stored, interpreterPrefix+dev)
	}
	if err := v.store.SetMembers(r.Context(), id, stored); err != nil {
		v.writeErr(w, &errStore{err})
		return
	}
	v.forgetChannel(id)
	v.hub.channelsChanged()
	c.Members = stored
	v.log.Info("changed channel interpreters", "channel", id, "interpreters", len(req.Devices))
	writeJSON(w, http.StatusOK, v.toChannel(c))
}

// errNotInterpreter: a device named as an interpreter is not registered,
// or not certified as one.
var errNotInterpreter = errors.New("not an interpreter's device")

// checkInterpreter checks that dev is a registered device certified with
// the role interpreter; its errors other than errNotInterpreter are the
// store's.
func (v *Venue) checkInterpreter(ctx context.Context, dev string) error {
	d, err := v.store.Device(ctx, dev)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: no device %s", errNotInterpreter, strconv.Quote(dev))
	} else if err != nil {
		return err
	}
	cert, err := delegation.PeekCertificate(d.Certificate)
	if err != nil || cert.Role != delegation.RoleInterpreter {
		return fmt.Errorf("%w: %s is not certified as an interpreter", errNotInterpreter, dev)
	}
	return nil
}

// LinkInterpreters lets the interpreters' devices booked for a meeting use
// its channel's log, besides those the channel already lets through (the
// schedule calls it when the host books interpreters for a meeting). The
// devices join the channel's encrypted group only once every party has
// consented. Its errors are meant for the host.
func (v *Venue) LinkInterpreters(ctx context.Context, channel string, devices []string) error {
	c, err := v.store.Channel(ctx, channel)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no channel %s", strconv.Quote(channel))
	} else if err != nil {
		return fmt.Errorf("failed to read channel %s: %w", channel, err)
	}
	stored := slices.Clone(c.Members)
	_, current := splitMembers(c.Members)
	for _, dev := range devices {
		if err := v.checkInterpreter(ctx, dev); err != nil {
			return err
		}
		if !slices.Contains(current, dev) {
			stored, current = append(stored, interpreterPrefix+dev), append(current, dev)
		}
	}
	if len(current) > 16 {
		return fmt.Errorf("channel %s would have %d interpreters: at most 16", channel, len(current))
	}
	if len(stored) == len(c.Members) {
		return nil
	}
	if err := v.store.SetMembers(ctx, channel, stored); err != nil {
		return fmt.Errorf("failed to store channel %s: %w", channel, err)
	}
	v.forgetChannel(channel)
	v.hub.channelsChanged()
	v.log.Info("linked a meeting's interpreters to its channel", "channel", channel, "interpreters", len(current))
	return nil
}

// Device is a device as the API returns it.
type Device struct {
	ID          string    `json:"id"`
	Delegation  string    `json:"delegation"`
	Person      string    `json:"person"`
	Role        string    `json:"role"`
	Level       string    `json:"level"`
	NotAfter    time.Time `json:"not_after"`
	Certificate string    `json:"certificate"` // the signed note, verifiable by anyone holding the root key
	// Revoked says that its delegation revoked the device (as the public
	// revocations log records); the venue refuses it.
	Revoked bool `json:"revoked,omitempty"`
}

func toDevice(d store.Device) Device {
	out := Device{ID: d.ID, Delegation: d.Delegation, Certificate: string(d.Certificate)}
	if c, err := delegation.PeekCertificate(d.Certificate); err == nil {
		out.Person, out.Role, out.Level, out.NotAfter = c.Person, c.Role, c.Level, c.NotAfter
	}
	return out
}

func (v *Venue) handleRegisterDevice(w http.ResponseWriter, r *http.Request, _ principal) {
	body, ok := readBody(w, r, delegation.MaxCertificateSize)
	if !ok {
		return
	}
	peek, err := delegation.PeekCertificate(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "malformed device certificate")
		return
	}
	rec, ok, err := v.delegationRecord(r.Context(), peek.Delegation)
	if err != nil {
		v.writeErr(w, &errStore{err})
		return
	}
	if !ok {
		writeError(w, http.StatusForbidden, "delegation "+peek.Delegation+" is not accredited")
		return
	}
	cert, err := delegation.VerifyCertificate(body, rec.RootKey, time.Now())
	if err != nil {
		writeError(w, http.StatusForbidden, "certificate does not chain to the accredited root of "+peek.Delegation+" or is not valid now")
		return
	}
	// Proof of possession: only the holder of the device key registers it,
	// so a delegation cannot squat another's (not yet registered) device
	// key by certifying it with its own root.
	proof, err := base64.StdEncoding.Strict().DecodeString(r.Header.Get(api.RegistrationProofHeader))
	if err != nil || len(proof) != ed25519.SignatureSize || !ed25519.Verify(cert.Device, api.RegistrationMessage(body), proof) {
		writeError(w, http.StatusForbidden, "registration must carry "+api.RegistrationProofHeader+": the device key's signature of the certificate (proof of possession)")
		return
	}
	if revoked, err := v.revoked(r.Context(), cert.Delegation, cert.DeviceID()); err != nil {
		v.writeErr(w, &errStore{err})
		return
	} else if revoked {
		writeError(w, http.StatusForbidden, "this device was revoked by its delegation")
		return
	}
	// The day, not the instant: no decision uses it (docs/metadata.md).
	d := store.Device{ID: cert.DeviceID(), Delegation: cert.Delegation, Certificate: body, Registered: time.Now().UTC().Truncate(24 * time.Hour)}
	if err := v.store.PutDevice(r.Context(), d); errors.Is(err, store.ErrExists) {
		writeError(w, http.StatusConflict, "this device key is registered to another delegation")
		return
	} else if err != nil {
		v.writeErr(w, &errStore{err})
		return
	}
	v.forgetDevice(d.ID)
	v.log.Info("registered device", "device", d.ID, "delegation", d.Delegation, "role", cert.Role)
	writeJSON(w, http.StatusCreated, toDevice(d))
}

func (v *Venue) handleDevices(w http.ResponseWriter, r *http.Request, _ principal) {
	del := r.URL.Query().Get("delegation")
	if del != "" && !delegation.ValidName(del) {
		writeError(w, http.StatusBadRequest, "invalid delegation name")
		return
	}
	list, err := v.store.Devices(r.Context(), del)
	if err != nil {
		v.writeErr(w, &errStore{err})
		return
	}
	v.revocations.mu.Lock()
	err = v.refreshRevocationsLocked(r.Context())
	out := make([]Device, 0, len(list))
	for _, d := range list {
		dv := toDevice(d)
		dv.Revoked = v.revocations.revoked[revocationKey(d.Delegation, d.ID)]
		out = append(out, dv)
	}
	v.revocations.mu.Unlock()
	if err != nil {
		v.writeErr(w, &errStore{err})
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (v *Venue) handleChallenge(w http.ResponseWriter, r *http.Request, _ principal) {
	writeJSON(w, http.StatusOK, map[string]string{"challenge": v.newChallenge(time.Now())})
}

// TokenRequest is the body of POST /v1/auth/token.
type TokenRequest struct {
	Device    string `json:"device"`    // DeviceID
	Challenge string `json:"challenge"` // from /v1/auth/challenge
	Signature []byte `json:"signature"` // Ed25519 over AuthMessage(venue name, challenge), base64
}

func (v *Venue) handleToken(w http.ResponseWriter, r *http.Request, _ principal) {
	var req TokenRequest
	if !decodeJSON(w, r, maxJSON, &req) {
		return
	}
	now := time.Now()
	pub, err := delegation.ParseDeviceID(req.Device)
	if err != nil {
		writeError(w, http.StatusBadRequest, "malformed device ID")
		return
	}
	nonce, exp, err := v.checkChallenge(req.Challenge, now)
	if err != nil {
		writeError(w, http.StatusUnauthorized, "invalid or expired challenge: fetch a new one")
		return
	}
	if len(req.Signature) != ed25519.SignatureSize || !ed25519.Verify(pub, AuthMessage(v.key.name, req.Challenge), req.Signature) {
		writeError(w, http.StatusUnauthorized, "signature does not verify with the device key")
		return
	}
	if _, err := v.device(r.Context(), req.Device); err != nil {
		// The caller proved it holds the device key: it may learn why.
		writeError(w, http.StatusUnauthorized, deviceRefusal(err))
		return
	}
	if err := v.store.UseNonce(r.Context(), nonce, exp); errors.Is(err, store.ErrReplay) {
		writeError(w, http.StatusUnauthorized, "challenge already used: fetch a new one")
		return
	} else if err != nil {
		v.writeErr(w, &errStore{err})
		return
	}
	texp := now.Add(v.cfg.TokenTTL).Truncate(time.Second)
	writeJSON(w, http.StatusOK, map[string]any{"token": v.newToken(pub, texp), "expires": texp.UTC()})
}

// KeyPackageUpload is the body of POST /v1/keypackages.
type KeyPackageUpload struct {
	OneTime    [][]byte `json:"one_time"`
	LastResort []byte   `json:"last_resort,omitempty"`
}

const maxKeyPackages = 1000

func (v *Venue) handleUploadKeyPackages(w http.ResponseWriter, r *http.Request, p principal) {
	var req KeyPackageUpload
	if !decodeJSON(w, r, v.cfg.MaxMail, &req) {
		return
	}
	if len(req.OneTime) > maxKeyPackages {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("at most %d key packages per upload", maxKeyPackages))
		return
	}
	n, err := v.store.CountKeyPackages(r.Context(), p.device)
	if err != nil {
		v.writeErr(w, &errStore{err})
		return
	}
	if n+len(req.OneTime) > 10*maxKeyPackages {
		writeError(w, http.StatusBadRequest, "too many key packages in stock")
		return
	}
	for _, kp := range append(slices.Clone(req.OneTime), req.LastResort) {
		if kp != nil && (len(kp) == 0 || len(kp) > tlog.MaxEntrySize) {
			writeError(w, http.StatusBadRequest, "key package empty or larger than 65535 bytes")
			return
		}
	}
	if len(req.OneTime) == 0 && req.LastResort == nil {
		writeError(w, http.StatusBadRequest, "nothing to upload")
		return
	}
	if err := v.store.AddKeyPackages(r.Context(), p.device, req.OneTime, req.LastResort); err != nil {
		v.writeErr(w, &errStore{err})
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"one_time": n + len(req.OneTime)})
}

func (v *Venue) handleCountKeyPackages(w http.ResponseWriter, r *http.Request, p principal) {
	n, err := v.store.CountKeyPackages(r.Context(), p.device)
	if err != nil {
		v.writeErr(w, &errStore{err})
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"one_time": n})
}

func (v *Venue) handleClaimKeyPackage(w http.ResponseWriter, r *http.Request, p principal) {
	id := r.PathValue("id")
	if _, err := delegation.ParseDeviceID(id); err != nil {
		writeError(w, http.StatusBadRequest, "malformed device ID")
		return
	}
	if _, err := v.store.Device(r.Context(), id); errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no such device")
		return
	}
	if !v.claims.allow(p.device, time.Now()) {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(v.cfg.ClaimWindow.Seconds())/v.cfg.ClaimBurst)))
		writeError(w, http.StatusTooManyRequests, fmt.Sprintf("key package claim quota exceeded (%d per %s per device)", v.cfg.ClaimBurst, v.cfg.ClaimWindow))
		return
	}
	kp, lr, err := v.store.ClaimKeyPackage(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "the device has no key package left")
		return
	} else if err != nil {
		v.writeErr(w, &errStore{err})
		return
	}
	w.Header().Set("Content-Type", "message/mls")
	w.Header().Set("Goodoffices-Last-Resort", strconv.FormatBool(lr))
	w.Write(kp)
}

func (v *Venue) handleSendMail(w http.ResponseWriter, r *http.Request, p principal) {
	id := r.PathValue("id")
	if _, err := delegation.ParseDeviceID(id); err != nil {
		writeError(w, http.StatusBadRequest, "malformed device ID")
		return
	}
	if !requireMLS(w, r) {
		return
	}
	if !v.limiter.allow(p.device, time.Now()) {
		writeError(w, http.StatusTooManyRequests, "rate limit exceeded")
		return
	}
	body, ok := readBody(w, r, v.cfg.MaxMail)
	if !ok {
		return
	}
	if len(body) == 0 {
		writeError(w, http.StatusBadRequest, "empty message")
		return
	}
	if _, err := v.store.Device(r.Context(), id); errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no such device")
		return
	}
	if !v.checkMailbox(r.Context(), w, id, len(body)) {
		return
	}
	mid, err := v.store.PutMail(r.Context(), id, body)
	if err != nil {
		v.writeErr(w, &errStore{err})
		return
	}
	v.hub.mailArrived(id)
	writeJSON(w, http.StatusCreated, map[string]int64{"id": mid})
}

func queryInt(r *http.Request, name string) (int64, bool) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, true
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 0
}

func (v *Venue) handleMail(w http.ResponseWriter, r *http.Request, p principal) {
	after, ok := queryInt(r, "after")
	if !ok {
		writeError(w, http.StatusBadRequest, "after: a non-negative integer")
		return
	}
	ms, err := v.store.Mail(r.Context(), p.device, after, 100)
	if err != nil {
		v.writeErr(w, &errStore{err})
		return
	}
	out := make([]MailEvent, 0, len(ms))
	for _, m := range ms {
		out = append(out, MailEvent{ID: m.ID, Data: m.Data, Created: m.Created})
	}
	writeJSON(w, http.StatusOK, out)
}

func (v *Venue) handleDeleteMail(w http.ResponseWriter, r *http.Request, p principal) {
	through, ok := queryInt(r, "through")
	if !ok || r.URL.Query().Get("through") == "" {
		writeError(w, http.StatusBadRequest, "through: a non-negative integer is required")
		return
	}
	if err := v.store.DeleteMail(r.Context(), p.device, through); err != nil {
		v.writeErr(w, &errStore{err})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (v *Venue) handleStats(w http.ResponseWriter, r *http.Request, _ principal) {
	b := v.metrics.batches.Load()
	avg := 0.0
	if b > 0 {
		avg = float64(v.metrics.batchNanos.Load()) / float64(b) / 1e6
	}
	var avgInt float64
	if n := v.metrics.integrations.Load(); n > 0 {
		avgInt = float64(v.metrics.integrateNanos.Load()) / float64(n) / 1e6
	}
	writeJSON(w, http.StatusOK, map[string]any{"appends": v.metrics.appends.Load(), "batches": b, "avg_batch_ms": avg,
		"integrations": v.metrics.integrations.Load(), "checkpoints_signed": v.metrics.signed.Load(),
		"avg_integration_ms": avgInt, "max_integration_lag_ms": float64(v.metrics.maxLagNanos.Load()) / 1e6,
		"integration_holds": v.metrics.holds.Load(), "integration_hold_ms": float64(v.metrics.holdNanos.Load()) / 1e6,
		"late_integrations": v.metrics.lateIntegrations.Load()})
}

// canRead reports whether p may read log; it writes the error if not.
func (v *Venue) canAccessLog(w http.ResponseWriter, r *http.Request, p principal, log string) bool {
	if publicLog(log) {
		return true
	}
	if !validChannelID(log) {
		writeError(w, http.StatusNotFound, "no such log")
		return false
	}
	// Whether a channel exists is not told to those who may not read it
	// (docs/metadata.md): a device of a delegation that is not a member gets
	// the same 403 for a channel that exists and one that does not.
	c, err := v.channel(r.Context(), log)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		v.writeErr(w, &errStore{err})
		return false
	}
	if p.device == "" {
		writeError(w, statusFor(p), "only member devices may read a channel's log")
		return false
	}
	if err != nil || !mayAccess(c, p.delegation, p.device) {
		writeError(w, http.StatusForbidden, "delegation "+p.delegation+" is not a member of a channel "+log)
		return false
	}
	return true
}

func (v *Venue) handleAppend(w http.ResponseWriter, r *http.Request, p principal) {
	log := r.PathValue("log")
	if publicLog(log) {
		writeError(w, http.StatusForbidden, "the register and the revocations log are written by accreditation and revocation only")
		return
	}
	if !v.canAccessLog(w, r, p, log) {
		return
	}
	if !requireMLS(w, r) {
		return
	}
	await, ok := awaitHeader(w, r)
	if !ok {
		return
	}
	epoch, base := int64(-1), int64(0)
	switch hs := r.Header.Get("Goodoffices-Handshake"); hs {
	case "":
		if r.Header.Get("Goodoffices-Epoch-Base") != "" {
			writeError(w, http.StatusBadRequest, "Goodoffices-Epoch-Base goes with Goodoffices-Handshake: commit only")
			return
		}
	case "commit":
		e := r.Header.Get("Goodoffices-Epoch")
		n, err := strconv.ParseInt(e, 10, 64)
		if err != nil || n < 0 || strconv.FormatInt(n, 10) != e {
			writeError(w, http.StatusBadRequest, "Goodoffices-Epoch: a canonical non-negative decimal is required with Goodoffices-Handshake: commit")
			return
		}
		epoch = n
		if b := r.Header.Get("Goodoffices-Epoch-Base"); b != "" {
			n, err := strconv.ParseInt(b, 10, 64)
			if err != nil || n < 0 || n > epoch || strconv.FormatInt(n, 10) != b {
				writeError(w, http.StatusBadRequest, "Goodoffices-Epoch-Base: a canonical non-negative decimal, at most Goodoffices-Epoch, is required")
				return
			}
			base = n
		}
	default:
		writeError(w, http.StatusBadRequest, "Goodoffices-Handshake: only 'commit' is defined")
		return
	}
	if !v.limiter.allow(p.device, time.Now()) {
		writeError(w, http.StatusTooManyRequests, "rate limit exceeded")
		return
	}
	body, ok := readBody(w, r, v.cfg.MaxEntry)
	if !ok {
		return
	}
	if len(body) == 0 {
		writeError(w, http.StatusBadRequest, "empty entry")
		return
	}
	if !v.cfg.OpaqueEntries {
		if err := checkFraming(body, epoch, base); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	idx, size, err := v.seq.append(r.Context(), log, body, epoch, await)
	if errors.Is(err, errEpochTaken) {
		writeError(w, http.StatusConflict, fmt.Sprintf("a commit for epoch %d is already logged in %s", epoch, log))
		return
	}
	if err != nil {
		v.writeErr(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	w.Write(fmt.Appendf(nil, "{\"index\":%d,\"size\":%d}\n", idx, size))
}

// awaitHeader reads Goodoffices-Await: "checkpoint" asks that the 201 wait
// until a served checkpoint covers the entry (at most maxAwait); without it
// the 201 says only that the entry is durable at its index, and the
// checkpoint follows within Config.CheckpointWithin. Either way an append
// may wait before it is even sequenced: while integration is behind (a
// round of the integrator is due), the sequencer starts no new batch, so
// that every 201 it sends can be followed by a checkpoint in time
// (integrate.go, "Back-pressure"). A checkpoint can still come later than
// CheckpointWithin when one round alone takes longer than half of it; the
// venue warns in its log and counts it (late_integrations).
func awaitHeader(w http.ResponseWriter, r *http.Request) (await, ok bool) {
	switch r.Header.Get("Goodoffices-Await") {
	case "":
		return false, true
	case "checkpoint":
		return true, true
	}
	writeError(w, http.StatusBadRequest, "Goodoffices-Await: only 'checkpoint' is defined")
	return false, false
}

// checkpoint returns the latest signed checkpoint of log, signing the empty
// tree's checkpoint when nothing was appended yet.
func (v *Venue) checkpoint(ctx context.Context, log string) (int64, []byte, error) {
	size, note, err := v.seq.size(ctx, log)
	if err != nil {
		return 0, nil, err
	}
	if size == 0 {
		note, err = tlog.SignCheckpoint(tlog.Checkpoint{Origin: v.origin(log), Size: 0, Hash: tlog.EmptyHash}, v.key.signer)
	}
	return size, note, err
}

func (v *Venue) handleCheckpoint(w http.ResponseWriter, r *http.Request, p principal) {
	log := r.PathValue("log")
	if !v.canAccessLog(w, r, p, log) {
		return
	}
	_, note, err := v.checkpoint(r.Context(), log)
	if err != nil {
		v.writeErr(w, &errStore{err})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(note)
}

func (v *Venue) handleTile(w http.ResponseWriter, r *http.Request, p principal) {
	log := r.PathValue("log")
	if !v.canAccessLog(w, r, p, log) {
		return
	}
	t, err := tlog.ParseTilePath("tile/" + r.PathValue("path"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "malformed tile path (c2sp.org/tlog-tiles)")
		return
	}
	ctx := r.Context()
	size, _, err := v.seq.size(ctx, log)
	if err != nil {
		v.writeErr(w, &errStore{err})
		return
	}
	var data []byte
	if t.L == tlog.EntriesLevel {
		start := t.N * tlog.TileWidth
		if start+int64(t.W) > size || t.N > size/tlog.TileWidth {
			writeError(w, http.StatusNotFound, fmt.Sprintf("entry bundle past the end of the log (size %d)", size))
			return
		}
		entries, err := v.store.ReadEntries(ctx, log, start, start+int64(t.W))
		if err != nil {
			v.writeErr(w, &errStore{err})
			return
		}
		if data, err = tlog.EncodeBundle(entries); err != nil {
			v.writeErr(w, err)
			return
		}
	} else {
		// The tile holds hashes of level 8*L; the log has size>>(8L) of them.
		if t.L > 7 || t.N > (size>>(8*t.L))/tlog.TileWidth || t.N*tlog.TileWidth+int64(t.W) > size>>(8*t.L) {
			writeError(w, http.StatusNotFound, fmt.Sprintf("tile past the end of the log (size %d)", size))
			return
		}
		data, err = xtlog.ReadTileData(t, xtlog.HashReaderFunc(func(idx []int64) ([]xtlog.Hash, error) {
			return v.store.ReadHashes(ctx, log, idx)
		}))
		if err != nil {
			v.writeErr(w, &errStore{err})
			return
		}
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	scope := "private"
	if publicLog(log) {
		scope = "public"
	}
	if t.W == tlog.TileWidth {
		w.Header().Set("Cache-Control", scope+", max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", scope+", max-age=60")
	}
	w.Write(data)
}
