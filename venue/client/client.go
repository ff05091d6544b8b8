// Package client is the Go client of a Good Offices venue's HTTP API (see
// package venue for the API itself). The host's admin commands, the desk
// and the tests use it.
//
// A Client acts as the host admin ([WithAdmin]), as a device ([WithDevice]:
// it authenticates with the device key by signed challenge and renews its
// bearer token as needed), or anonymously for the public endpoints.
//
// Reading a log is verification, not trust: [Client.Fetch] returns the raw
// bytes the venue serves under /logs/<id>/, and [Client.Log] wires them into
// a tlog.Client that checks signatures, inclusion and consistency against a
// venue key the caller pinned.
//
// Errors from the venue are *[Error] values with the HTTP status and the
// venue's message; [Error.Retryable] tells 503 and 429 apart from final
// refusals.
package client

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/tlog"
	"github.com/good-offices/goodoffices/venue/api"
)

// An Error is an error response of the venue.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("venue: %s (HTTP %d)", e.Message, e.Status) }

// Retryable reports whether the request may succeed if retried later.
func (e *Error) Retryable() bool {
	return e.Status == http.StatusServiceUnavailable || e.Status == http.StatusTooManyRequests
}

// Client talks to one venue. It is safe for concurrent use.
//
// Unless given an HTTP client of its own (WithHTTPClient, WithH2C), it
// sends appends of single entries on kept-alive connections that carry
// nothing else, so that the venue reads them in its HTTP/1.1 lane
// (SECURITY.md, "Who reads a request"): a connection that carried any
// other request is read by net/http for the rest of its life.
type Client struct {
	base  string
	hc    *http.Client
	lane  *http.Client // appends of single entries: laneClient, or hc if the caller chose it
	admin string
	key   ed25519.PrivateKey

	mu       sync.Mutex
	token    string
	tokenExp time.Time
	name     string // venue name, for the auth message

	durableOnly bool // WithDurableAcks
}

// An Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (default: a client without a timeout,
// since event streams are long-lived; bound calls with their context).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithDurableAcks makes appends return as soon as the venue has made the
// entries durable at their indexes, without waiting for a signed checkpoint
// covering them (which the venue serves within its --checkpoint-within).
// By default an append waits for that checkpoint (Goodoffices-Await:
// checkpoint), so that what a desk sent is readable, verified, when Append
// returns. For benchmarks and bulk loaders.
func WithDurableAcks() Option { return func(c *Client) { c.durableOnly = true } }

// WithH2C makes the client speak HTTP/2 without TLS (h2c, prior knowledge)
// to an http:// venue: many concurrent requests share one connection. The
// venue accepts it unless started with --h2c=false; https:// URLs use HTTP/2
// over TLS as usual.
func WithH2C() Option {
	return func(c *Client) {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Protocols = new(http.Protocols)
		tr.Protocols.SetUnencryptedHTTP2(true)
		tr.Protocols.SetHTTP2(true)
		c.hc = &http.Client{Transport: tr}
	}
}

// WithAdmin makes the client act as the host admin with credential.
func WithAdmin(credential string) Option {
	return func(c *Client) { c.admin = strings.TrimSpace(credential) }
}

// WithDevice makes the client act as the device with key.
func WithDevice(key ed25519.PrivateKey) Option { return func(c *Client) { c.key = key } }

// New returns a client of the venue at baseURL (e.g. http://127.0.0.1:8470).
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("invalid venue URL %q: want http(s)://host:port", baseURL)
	}
	def := &http.Client{}
	c := &Client{base: strings.TrimSuffix(u.String(), "/"), hc: def, lane: laneClient}
	for _, o := range opts {
		o(c)
	}
	if c.hc != def {
		c.lane = c.hc // one the caller chose: for everything
	}
	return c, nil
}

// laneClient sends the appends of every Client on the default transport's
// settings, on connections of its own.
var laneClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}

// DeviceID returns the ID of the client's device, or "".
func (c *Client) DeviceID() string {
	if c.key == nil {
		return ""
	}
	return delegation.DeviceID(c.key.Public().(ed25519.PublicKey))
}

// request describes one API call.
type request struct {
	method, path string
	query        url.Values
	body         []byte
	contentType  string
	header       http.Header
	auth         int  // authNone, authAdmin, authDevice
	lane         bool // an append of a single entry (Client.lane)
}

const (
	authNone = iota
	authAdmin
	authDevice
)

// do performs r and returns the response body for a 2xx status.
func (c *Client) do(ctx context.Context, r request) ([]byte, http.Header, error) {
	for attempt := 0; ; attempt++ {
		resp, err := c.send(ctx, r)
		if err != nil {
			return nil, nil, err
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("failed to read response: %w", err)
		}
		if resp.StatusCode/100 == 2 {
			return data, resp.Header, nil
		}
		if resp.StatusCode == http.StatusUnauthorized && r.auth == authDevice && attempt == 0 {
			c.mu.Lock()
			c.token = "" // expired or revoked: authenticate again
			c.mu.Unlock()
			continue
		}
		return nil, nil, apiError(resp.StatusCode, data)
	}
}

func apiError(status int, data []byte) error {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(data, &e) != nil || e.Error == "" {
		e.Error = http.StatusText(status)
	}
	return &Error{Status: status, Message: e.Error}
}

func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("failed to build request: %w", err)
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	switch r.auth {
	case authAdmin:
		if c.admin == "" {
			return nil, errors.New("this needs the host admin credential")
		}
		req.Header.Set("Authorization", "Bearer "+c.admin)
	case authDevice:
		tok, err := c.deviceToken(ctx)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	hc := c.hc
	if r.lane {
		hc = c.lane
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("failed to reach venue: %w", err)
	}
	return resp, nil
}

func (c *Client) getJSON(ctx context.Context, r request, dst any) error {
	data, _, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, dst); err != nil {
		return fmt.Errorf("failed to decode venue response: %w", err)
	}
	return nil
}

func jsonBody(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("client: internal error: " + err.Error())
	}
	return b
}

// AuthMessage returns the message a device signs to answer a venue's
// challenge (it must match package venue's).
func AuthMessage(venueName, challenge string) []byte {
	return []byte("goodoffices device auth v1\n" + venueName + "\n" + challenge + "\n")
}

// deviceToken returns a valid bearer token, authenticating if needed.
func (c *Client) deviceToken(ctx context.Context) (string, error) {
	if c.key == nil {
		return "", errors.New("this needs a device key")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && time.Until(c.tokenExp) > 30*time.Second {
		return c.token, nil
	}
	if c.name == "" {
		var info Info
		if err := c.getJSON(ctx, request{method: "GET", path: "/v1/venue"}, &info); err != nil {
			return "", err
		}
		c.name = info.Name
	}
	var ch struct {
		Challenge string `json:"challenge"`
	}
	if err := c.getJSON(ctx, request{method: "POST", path: "/v1/auth/challenge"}, &ch); err != nil {
		return "", err
	}
	req := struct {
		Device    string `json:"device"`
		Challenge string `json:"challenge"`
		Signature []byte `json:"signature"`
	}{delegation.DeviceID(c.key.Public().(ed25519.PublicKey)), ch.Challenge, ed25519.Sign(c.key, AuthMessage(c.name, ch.Challenge))}
	var tok struct {
		Token   string    `json:"token"`
		Expires time.Time `json:"expires"`
	}
	if err := c.getJSON(ctx, request{method: "POST", path: "/v1/auth/token", body: jsonBody(req), contentType: "application/json"}, &tok); err != nil {
		return "", fmt.Errorf("failed to authenticate device: %w", err)
	}
	c.token, c.tokenExp = tok.Token, tok.Expires
	return c.token, nil
}

// Authenticate gets a fresh device token now (otherwise the client does it
// on first use).
func (c *Client) Authenticate(ctx context.Context) error {
	c.mu.Lock()
	c.token = ""
	c.mu.Unlock()
	_, err := c.deviceToken(ctx)
	return err
}

// BearerToken returns the device's bearer token, authenticating first if it
// has none or it is about to expire. For tools that make their own HTTP
// requests to the venue with it (goodoffices bench's HTTP/1.1 writers); the
// token is a credential: keep it out of logs.
func (c *Client) BearerToken(ctx context.Context) (string, error) {
	return c.deviceToken(ctx)
}

// Info describes a venue.
type Info struct {
	Name              string `json:"name"`
	DisplayName       string `json:"display_name,omitempty"`
	VerifierKey       string `json:"verifier_key"`
	RegisterOrigin    string `json:"register_origin"`
	RevocationsOrigin string `json:"revocations_origin"`
	ChannelOrigin     string `json:"channel_origin_prefix"`
	MaxEntry          int    `json:"max_entry"`
}

// Info returns the venue's name and keys. A desk should pin the verifier key
// out of band rather than trust this answer.
func (c *Client) Info(ctx context.Context) (Info, error) {
	var info Info
	err := c.getJSON(ctx, request{method: "GET", path: "/v1/venue"}, &info)
	return info, err
}

// A Delegation is an accredited delegation.
type Delegation struct {
	Name        string    `json:"name"`
	DisplayName string    `json:"display_name,omitempty"`
	RootKey     string    `json:"root_key"`
	Fingerprint string    `json:"fingerprint"`
	Accredited  time.Time `json:"accredited"`
	Index       int64     `json:"register_index"`
}

// Delegations lists the accredited delegations (public; the register log
// is the verifiable source).
func (c *Client) Delegations(ctx context.Context) ([]Delegation, error) {
	var out []Delegation
	err := c.getJSON(ctx, request{method: "GET", path: "/v1/delegations"}, &out)
	return out, err
}

// Accredit adds a delegation and its root key to the register (admin).
func (c *Client) Accredit(ctx context.Context, name, rootKey string) (Delegation, error) {
	return c.AccreditNamed(ctx, name, "", rootKey)
}

// AccreditNamed accredits a delegation with a display name for people
// ("Federation of Arden"), logged in the register with the key; empty
// means none.
func (c *Client) AccreditNamed(ctx context.Context, name, displayName, rootKey string) (Delegation, error) {
	var out Delegation
	body := map[string]string{"name": name, "root_key": rootKey}
	if displayName != "" {
		body["display_name"] = displayName
	}
	err := c.getJSON(ctx, request{method: "POST", path: "/v1/delegations", auth: authAdmin, contentType: "application/json",
		body: jsonBody(body)}, &out)
	return out, err
}

// A Channel is a channel of the talks.
type Channel struct {
	ID      string   `json:"id"`
	Kind    string   `json:"kind"`
	Level   string   `json:"level"`
	Members []string `json:"members"`
	// Interpreters are the interpreters' devices the host lets use the
	// channel's log (the parties' desks decide whether they join).
	Interpreters []string  `json:"interpreters,omitempty"`
	Origin       string    `json:"origin"`
	Created      time.Time `json:"created"`
}

// ChannelSpec describes a channel to create.
type ChannelSpec struct {
	ID      string   `json:"id"`
	Kind    string   `json:"kind"`  // plenary, working-group, bilateral, delegation-internal, logistics
	Level   string   `json:"level"` // expert, senior-officials, ministerial, leaders
	Members []string `json:"members"`
}

// Channels lists all channels (admin) or the device's delegation's.
func (c *Client) Channels(ctx context.Context) ([]Channel, error) {
	var out []Channel
	err := c.getJSON(ctx, request{method: "GET", path: "/v1/channels", auth: c.who()}, &out)
	return out, err
}

// who picks the credential for endpoints open to admin and devices.
func (c *Client) who() int {
	if c.admin != "" {
		return authAdmin
	}
	return authDevice
}

// CreateChannel convenes a channel (admin).
func (c *Client) CreateChannel(ctx context.Context, spec ChannelSpec) (Channel, error) {
	var out Channel
	err := c.getJSON(ctx, request{method: "POST", path: "/v1/channels", auth: authAdmin, contentType: "application/json", body: jsonBody(spec)}, &out)
	return out, err
}

// SetMembers replaces a channel's member delegations (admin).
func (c *Client) SetMembers(ctx context.Context, id string, members []string) (Channel, error) {
	var out Channel
	err := c.getJSON(ctx, request{method: "PUT", path: "/v1/channels/" + url.PathEscape(id) + "/members", auth: authAdmin,
		contentType: "application/json", body: jsonBody(map[string][]string{"members": members})}, &out)
	return out, err
}

// SetInterpreters replaces the interpreters' devices that may use a
// channel's log (admin).
func (c *Client) SetInterpreters(ctx context.Context, id string, devices []string) (Channel, error) {
	var out Channel
	if devices == nil {
		devices = []string{}
	}
	err := c.getJSON(ctx, request{method: "PUT", path: "/v1/channels/" + url.PathEscape(id) + "/interpreters", auth: authAdmin,
		contentType: "application/json", body: jsonBody(map[string][]string{"devices": devices})}, &out)
	return out, err
}

// A Device is a registered device.
type Device struct {
	ID          string    `json:"id"`
	Delegation  string    `json:"delegation"`
	Person      string    `json:"person"`
	Role        string    `json:"role"`
	Level       string    `json:"level"`
	NotAfter    time.Time `json:"not_after"`
	Certificate string    `json:"certificate"`
	Revoked     bool      `json:"revoked,omitempty"` // revoked by its delegation
}

// RegisterDevice registers the device a certificate names. It needs no
// credential: the certificate must chain to an accredited root, and the
// client must hold the device's key (WithDevice), with which it proves
// possession (api.RegistrationProofHeader).
func (c *Client) RegisterDevice(ctx context.Context, certificate []byte) (Device, error) {
	var out Device
	h := http.Header{}
	if c.key != nil {
		h.Set(api.RegistrationProofHeader, base64.StdEncoding.EncodeToString(ed25519.Sign(c.key, api.RegistrationMessage(certificate))))
	}
	err := c.getJSON(ctx, request{method: "POST", path: "/v1/devices", body: certificate, contentType: "text/plain; charset=utf-8", header: h}, &out)
	return out, err
}

// Devices lists registered devices, of one delegation or all ("").
func (c *Client) Devices(ctx context.Context, delegationName string) ([]Device, error) {
	var q url.Values
	if delegationName != "" {
		q = url.Values{"delegation": {delegationName}}
	}
	var out []Device
	err := c.getJSON(ctx, request{method: "GET", path: "/v1/devices", query: q, auth: c.who()}, &out)
	return out, err
}

// Append adds entry (an MLS message) to a channel's log and returns its
// index once the venue has made it durable.
func (c *Client) Append(ctx context.Context, channel string, entry []byte) (int64, error) {
	return c.append(ctx, channel, entry, nil)
}

// AppendBatch adds several entries to a channel's log in one request and
// returns their indexes, once all are durable. The venue checks every entry
// and appends none if one is refused; at most venue.MaxBatchEntries (256)
// per call. Handshake commits go one at a time through AppendCommit.
func (c *Client) AppendBatch(ctx context.Context, channel string, entries [][]byte) ([]int64, error) {
	n := 0
	for _, e := range entries {
		n += 4 + len(e)
	}
	body := api.AppendBatch(make([]byte, 0, n), entries...)
	var out struct {
		Indexes []int64 `json:"indexes"`
	}
	err := c.getJSON(ctx, request{method: "POST", path: "/logs/" + url.PathEscape(channel) + "/batch", body: body,
		contentType: api.BatchContentType, header: c.awaitHeader(nil), auth: authDevice}, &out)
	if err == nil && len(out.Indexes) != len(entries) {
		return nil, fmt.Errorf("failed to append a batch: the venue answered %d indexes for %d entries", len(out.Indexes), len(entries))
	}
	return out.Indexes, err
}

// AppendCommit adds an MLS commit for epoch. If another commit for that
// epoch is already logged, it fails with an *Error of status 409.
func (c *Client) AppendCommit(ctx context.Context, channel string, entry []byte, epoch uint64) (int64, error) {
	return c.AppendCommitBased(ctx, channel, entry, epoch, 0)
}

// AppendCommitBased adds an MLS commit of the group epoch epoch in a
// channel whose earlier groups (before an upgrade) ended at a total of base
// epochs: the venue logs one commit per base+epoch (see the venue's "One
// commit per epoch").
func (c *Client) AppendCommitBased(ctx context.Context, channel string, entry []byte, epoch, base uint64) (int64, error) {
	h := http.Header{}
	h.Set("Goodoffices-Handshake", "commit")
	h.Set("Goodoffices-Epoch", strconv.FormatUint(base+epoch, 10))
	if base > 0 {
		h.Set("Goodoffices-Epoch-Base", strconv.FormatUint(base, 10))
	}
	return c.append(ctx, channel, entry, h)
}

func (c *Client) append(ctx context.Context, channel string, entry []byte, h http.Header) (int64, error) {
	var out struct {
		Index int64 `json:"index"`
	}
	err := c.getJSON(ctx, request{method: "POST", path: "/logs/" + url.PathEscape(channel) + "/entries", body: entry,
		contentType: "message/mls", header: c.awaitHeader(h), auth: authDevice, lane: true}, &out)
	return out.Index, err
}

// awaitHeader adds Goodoffices-Await: checkpoint to h unless the client
// takes durable acknowledgements.
func (c *Client) awaitHeader(h http.Header) http.Header {
	if c.durableOnly {
		return h
	}
	if h == nil {
		h = http.Header{}
	}
	h.Set("Goodoffices-Await", "checkpoint")
	return h
}

// Fetch returns what the venue serves at path under /logs/<log>/
// ("checkpoint", "tile/0/000", "tile/entries/000.p/3"). Channel logs need a
// member device; the register and the revocations log are public.
func (c *Client) Fetch(ctx context.Context, log, path string) ([]byte, error) {
	auth := authNone
	if log != "register" && log != "revocations" {
		auth = authDevice
	}
	data, _, err := c.do(ctx, request{method: "GET", path: "/logs/" + url.PathEscape(log) + "/" + path, auth: auth})
	return data, err
}

// Log returns a verifying client of a log, fetching through this client.
// origin is the log's checkpoint origin (see ChannelOrigin, RegisterOrigin)
// and v the venue's pinned verifier.
func (c *Client) Log(log, origin string, v note.Verifier) *tlog.Client {
	return tlog.NewClient(origin, v, func(ctx context.Context, path string) ([]byte, error) {
		return c.Fetch(ctx, log, path)
	})
}

// ChannelOrigin returns the checkpoint origin of a channel's log.
func ChannelOrigin(venueName, channel string) string { return venueName + "/channels/" + channel }

// RegisterOrigin returns the checkpoint origin of the register.
func RegisterOrigin(venueName string) string { return venueName + "/register" }

// RevocationsOrigin returns the checkpoint origin of the revocations log.
func RevocationsOrigin(venueName string) string { return venueName + "/revocations" }

// Revoke submits a device revocation signed by a delegation's root (see
// delegation.RootKey.Revoke) and returns its index in the revocations log.
// It needs no credential: only the root can sign a revocation.
func (c *Client) Revoke(ctx context.Context, revocation []byte) (int64, error) {
	var out struct {
		Index int64 `json:"index"`
	}
	err := c.getJSON(ctx, request{method: "POST", path: "/v1/revocations", body: revocation, contentType: "text/plain; charset=utf-8"}, &out)
	return out.Index, err
}

// UploadKeyPackages adds one-time key packages to the device's stock and,
// if lastResort is not nil, replaces its last-resort package. It returns the
// number of one-time packages in stock.
func (c *Client) UploadKeyPackages(ctx context.Context, oneTime [][]byte, lastResort []byte) (int, error) {
	var out struct {
		OneTime int `json:"one_time"`
	}
	body := struct {
		OneTime    [][]byte `json:"one_time"`
		LastResort []byte   `json:"last_resort,omitempty"`
	}{oneTime, lastResort}
	err := c.getJSON(ctx, request{method: "POST", path: "/v1/keypackages", auth: authDevice, contentType: "application/json", body: jsonBody(body)}, &out)
	return out.OneTime, err
}

// KeyPackageStock returns how many one-time key packages the device has left.
func (c *Client) KeyPackageStock(ctx context.Context) (int, error) {
	var out struct {
		OneTime int `json:"one_time"`
	}
	err := c.getJSON(ctx, request{method: "GET", path: "/v1/keypackages", auth: authDevice}, &out)
	return out.OneTime, err
}

// ClaimKeyPackage takes one key package of device (to add it to a group).
// lastResort reports that it is the device's last-resort package.
func (c *Client) ClaimKeyPackage(ctx context.Context, device string) (kp []byte, lastResort bool, err error) {
	data, h, err := c.do(ctx, request{method: "POST", path: "/v1/devices/" + url.PathEscape(device) + "/keypackage", auth: authDevice})
	if err != nil {
		return nil, false, err
	}
	return data, h.Get("Goodoffices-Last-Resort") == "true", nil
}

// SendMail puts msg (an MLS Welcome, or a sealed hand-over of history) in device's mailbox.
func (c *Client) SendMail(ctx context.Context, device string, msg []byte) (int64, error) {
	var out struct {
		ID int64 `json:"id"`
	}
	err := c.getJSON(ctx, request{method: "POST", path: "/v1/devices/" + url.PathEscape(device) + "/mail", auth: authDevice,
		contentType: "message/mls", body: msg}, &out)
	return out.ID, err
}

// Mail is one message of a device's mailbox.
type Mail struct {
	ID      int64     `json:"id"`
	Data    []byte    `json:"data"`
	Created time.Time `json:"created"`
}

// Mail returns up to 100 messages of the device's mailbox with ID > after.
func (c *Client) Mail(ctx context.Context, after int64) ([]Mail, error) {
	var out []Mail
	err := c.getJSON(ctx, request{method: "GET", path: "/v1/mail", query: url.Values{"after": {strconv.FormatInt(after, 10)}}, auth: authDevice}, &out)
	return out, err
}

// DeleteMail removes the device's messages with ID <= through.
func (c *Client) DeleteMail(ctx context.Context, through int64) error {
	_, _, err := c.do(ctx, request{method: "DELETE", path: "/v1/mail", query: url.Values{"through": {strconv.FormatInt(through, 10)}}, auth: authDevice})
	return err
}

// An Event is one event of a device's stream.
type Event struct {
	Type     string // "ready", "entry", "cosign" or "mail"
	Cursor   string // resume after this event with Subscribe(ctx, Cursor)
	Log      string // entry, cosign: the channel
	Index    int64  // entry: its index
	Entry    []byte // entry: the entry
	Size     int64  // cosign: the size of the checkpoint cosigned
	Cosigner string // cosign: who cosigned it (venue.CosignerName)
	Mail     *Mail  // mail
}

// A Subscription is a device's live event stream. It reconnects by itself
// after a network failure and resumes exactly after the last event it
// returned.
type Subscription struct {
	c      *Client
	cursor string
	body   io.ReadCloser
	r      *bufio.Reader
}

// Subscribe opens the device's event stream, resuming after cursor ("" for
// new events only).
func (c *Client) Subscribe(ctx context.Context, cursor string) (*Subscription, error) {
	s := &Subscription{c: c, cursor: cursor}
	if err := s.connect(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Subscription) connect(ctx context.Context) error {
	h := http.Header{}
	if s.cursor != "" {
		h.Set("Last-Event-ID", s.cursor)
	}
	h.Set("Accept", "text/event-stream")
	for attempt := 0; ; attempt++ {
		resp, err := s.c.send(ctx, request{method: "GET", path: "/v1/events", header: h, auth: authDevice})
		if err != nil {
			return err
		}
		if resp.StatusCode == http.StatusOK {
			s.body, s.r = resp.Body, bufio.NewReaderSize(resp.Body, 64<<10)
			return nil
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			s.c.mu.Lock()
			s.c.token = ""
			s.c.mu.Unlock()
			continue
		}
		return apiError(resp.StatusCode, data)
	}
}

// Cursor returns the position after the last event returned.
func (s *Subscription) Cursor() string { return s.cursor }

// Close closes the stream.
func (s *Subscription) Close() error {
	if s.body != nil {
		return s.body.Close()
	}
	return nil
}

// Next returns the next event, blocking until there is one. After a broken
// connection it reconnects with backoff until ctx ends; refusals by the
// venue (an *Error that is not Retryable) are returned.
func (s *Subscription) Next(ctx context.Context) (Event, error) {
	backoff := 100 * time.Millisecond
	for {
		if s.body == nil {
			if err := s.connect(ctx); err != nil {
				var ae *Error
				if errors.As(err, &ae) && !ae.Retryable() {
					return Event{}, err
				}
				select {
				case <-ctx.Done():
					return Event{}, ctx.Err()
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, 5*time.Second)
				continue
			}
		}
		ev, err := s.read()
		if err == nil {
			s.cursor = ev.Cursor
			return ev, nil
		}
		s.body.Close()
		s.body = nil
		if ctx.Err() != nil {
			return Event{}, ctx.Err()
		}
	}
}

// read parses one SSE event (https://html.spec.whatwg.org/multipage/server-sent-events.html).
func (s *Subscription) read() (Event, error) {
	var ev Event
	var data []byte
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return Event{}, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if ev.Type == "" {
				continue // keep-alive comment block
			}
			switch ev.Type {
			case "entry":
				var e struct {
					Log   string `json:"log"`
					Index int64  `json:"index"`
					Entry []byte `json:"entry"`
				}
				if err := json.Unmarshal(data, &e); err != nil {
					return Event{}, fmt.Errorf("malformed entry event: %w", err)
				}
				ev.Log, ev.Index, ev.Entry = e.Log, e.Index, e.Entry
			case "cosign":
				var e struct {
					Log      string `json:"log"`
					Size     int64  `json:"size"`
					Cosigner string `json:"cosigner"`
				}
				if err := json.Unmarshal(data, &e); err != nil {
					return Event{}, fmt.Errorf("malformed cosign event: %w", err)
				}
				ev.Log, ev.Size, ev.Cosigner = e.Log, e.Size, e.Cosigner
			case "mail":
				var m Mail
				if err := json.Unmarshal(data, &m); err != nil {
					return Event{}, fmt.Errorf("malformed mail event: %w", err)
				}
				ev.Mail = &m
			}
			return ev, nil
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id: "):
			ev.Cursor = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.Type = line[7:]
		case strings.HasPrefix(line, "data: "):
			data = append(data, line[6:]...)
		}
	}
}

// HTTPClient returns the HTTP client c uses, e.g. to wrap its transport.
func (c *Client) HTTPClient() *http.Client { return c.hc }
