package desk

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/good-offices/goodoffices/delegation"
)

// Store keys.
const (
	keySeed    = "device/seed"
	keyProfile = "device/profile"
	keyCert    = "device/cert"
	keyVenue   = "venue"
	prefParty  = "party/"
	prefLog    = "log/"
	prefHist   = "hist/"
	prefAlarm  = "alarm/"
)

// RegisterLog is the ID of the venue's accreditation register log.
const RegisterLog = "register"

// Errors a caller may need to tell apart.
var (
	ErrNotEnrolled  = errors.New("the desk is not enrolled with a venue (run 'goodoffices desk enroll')")
	ErrUnknownParty = errors.New("no such delegation in the venue's register")
	ErrFingerprint  = errors.New("the fingerprint does not match the delegation's root key in the register")
	ErrHalted       = errors.New("processing of this log is halted by an alarm")
	ErrNotConfirmed = errors.New("the delegation's root key has not been confirmed out of band (run 'goodoffices desk verify-party')")
)

// A Profile describes the delegate whose device this desk is.
type Profile struct {
	Delegation string    `json:"delegation"`
	Person     string    `json:"person"`
	Role       string    `json:"role"`
	Level      string    `json:"level"`
	Created    time.Time `json:"created"`
}

// VenueInfo is what the desk pins about its venue at enrolment.
type VenueInfo struct {
	URL         string `json:"url"`
	Name        string `json:"name"`
	VerifierKey string `json:"verifier_key"`
}

// A Party is an accredited delegation as the verified register shows it.
type Party struct {
	Name          string    `json:"name"`
	DisplayName   string    `json:"display_name,omitempty"` // from the register, if the host gave one
	RootKey       string    `json:"root_key"`
	Fingerprint   string    `json:"fingerprint"`
	RegisterIndex int64     `json:"register_index"`
	Accredited    time.Time `json:"accredited"`
	// Confirmed is when this delegate confirmed the fingerprint out of band;
	// zero if not yet. The desk's own delegation is confirmed at enrolment.
	Confirmed time.Time `json:"confirmed,omitzero"`
}

// A Desk is one delegate's device: its keys, its verified view of the
// venue's logs and its decrypted history, all in an encrypted Store.
type Desk struct {
	home  string
	store *Store
	log   *slog.Logger

	key     ed25519.PrivateKey
	profile Profile
	cert    []byte // nil until enrolled
	venue   *VenueInfo
	api     *venueClient
	hc      *http.Client // Options.HTTPClient

	mu       deskLock // serialises syncs and sends, across processes too
	groups   groupCache
	live     atomic.Int32    // Runs under way
	bg       sync.WaitGroup  // confirmLater
	talks    talksCache      // engine states (talkssnap.go)
	progress progressTracker // of the sync under way (progress.go)
	search   searchIndex     // full-text indexes, in memory only (search.go)
	acks     ackBuffer       // the venue's acknowledgements of appends, not yet stored (eclipse.go)
}

// MemoryLimit is the soft memory limit (runtime/debug.SetMemoryLimit) the
// desk commands run under unless GOMEMLIMIT is set. A desk's live memory is
// bounded by its caches (the states of the talks of the channels used last,
// the search indexes up to a budget); the limit makes the garbage collector
// keep the transient garbage of long histories (a snapshot written, an index
// built) from doubling the process's footprint.
const MemoryLimit = 160 << 20

// Options tune a Desk. The zero value is fine.
type Options struct {
	Logger *slog.Logger
	// HTTPClient, if set, carries every request of the desk to its venue
	// and witnesses (nil: a default client). The simulation
	// (simulation_test.go) passes one whose transport is an in-memory
	// network with faults; nothing else changes.
	HTTPClient *http.Client
}

// CertificateValidity is how long a certificate request asks to be valid.
const CertificateValidity = 365 * 24 * time.Hour

// Init creates a new desk in home: a fresh device key and profile, in a new
// store protected by passphrase. It returns the desk; CertificateRequest gives
// the text the delegation root is asked to sign.
func Init(ctx context.Context, home string, passphrase []byte, p Profile, opts Options) (*Desk, error) {
	if !delegation.ValidName(p.Delegation) {
		return nil, fmt.Errorf("invalid delegation name %q", p.Delegation)
	}
	if p.Level == "" {
		p.Level = "expert"
	}
	if !delegation.ValidLevel(p.Level) {
		return nil, fmt.Errorf("invalid level %q: one of %s", p.Level, strings.Join(delegation.Levels, ", "))
	}
	p.Created = time.Now().UTC().Truncate(time.Second)
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	// Check that the profile makes a valid certificate before creating anything.
	if _, err := requestFor(p, pub); err != nil {
		return nil, err
	}
	s, err := CreateStore(ctx, home, passphrase)
	if err != nil {
		return nil, err
	}
	pj, _ := json.Marshal(p)
	if err := s.Update(ctx, func(tx *Tx) error {
		if err := tx.Put(ctx, keySeed, priv.Seed()); err != nil {
			return err
		}
		return tx.Put(ctx, keyProfile, pj)
	}); err != nil {
		s.Close()
		return nil, err
	}
	s.Close()
	return Open(ctx, home, passphrase, opts)
}

// Open opens the desk in home.
func Open(ctx context.Context, home string, passphrase []byte, opts Options) (*Desk, error) {
	s, err := OpenStore(ctx, home, passphrase)
	if err != nil {
		return nil, err
	}
	d := &Desk{home: home, store: s, log: opts.Logger, hc: opts.HTTPClient}
	s.desk = d
	if d.log == nil {
		d.log = slog.Default()
	}
	if err := d.load(ctx); err != nil {
		s.Close()
		return nil, err
	}
	d.mu.open(home)
	return d, nil
}

func (d *Desk) load(ctx context.Context) error {
	seed, err := d.store.Get(ctx, keySeed)
	if err != nil || len(seed) != ed25519.SeedSize {
		return fmt.Errorf("failed to load device key: %w", errOr(err, errors.New("corrupted")))
	}
	d.key = ed25519.NewKeyFromSeed(seed)
	pj, err := d.store.Get(ctx, keyProfile)
	if err != nil {
		return fmt.Errorf("failed to load profile: %w", err)
	}
	if err := json.Unmarshal(pj, &d.profile); err != nil {
		return fmt.Errorf("failed to load profile: %w", err)
	}
	if c, err := d.store.Get(ctx, keyCert); err == nil {
		d.cert = c
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	if vj, err := d.store.Get(ctx, keyVenue); err == nil {
		var vi VenueInfo
		if err := json.Unmarshal(vj, &vi); err != nil {
			return fmt.Errorf("failed to load venue: %w", err)
		}
		d.venue = &vi
		d.api, err = newVenueClient(vi.URL, d.hc)
		if err != nil {
			return err
		}
		d.api.acked = d.recordAck
		d.api.setDevice(vi.Name, d.key)
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}

func errOr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

// Close closes the desk's store.
func (d *Desk) Close() error {
	d.bg.Wait()
	d.flushAcks(context.Background())
	d.mu.close()
	return d.store.Close()
}

// Home returns the desk's home directory.
func (d *Desk) Home() string { return d.home }

// Profile returns the delegate's profile.
func (d *Desk) Profile() Profile { return d.profile }

// DeviceID returns the device's ID (delegation.DeviceID of its key).
func (d *Desk) DeviceID() string { return delegation.DeviceID(d.key.Public().(ed25519.PublicKey)) }

// Venue returns the pinned venue, or nil before enrolment.
func (d *Desk) Venue() *VenueInfo { return d.venue }

// Certificate returns the device certificate, or nil before enrolment.
func (d *Desk) Certificate() []byte { return d.cert }

func requestFor(p Profile, pub ed25519.PublicKey) ([]byte, error) {
	now := time.Now().UTC().Truncate(time.Second)
	c := &delegation.Certificate{Delegation: p.Delegation, Person: p.Person, Role: p.Role, Level: p.Level,
		Device: pub, NotBefore: now.Add(-5 * time.Minute), NotAfter: now.Add(CertificateValidity)}
	b, err := c.Marshal()
	if err != nil {
		return nil, fmt.Errorf("invalid profile: %w", err)
	}
	return b, nil
}

// CertificateRequest returns the certificate body that the delegation's root
// is asked to sign for this device (the exact text of a device certificate
// as package delegation defines it), valid from now for
// CertificateValidity.
func (d *Desk) CertificateRequest() ([]byte, error) {
	return requestFor(d.profile, d.key.Public().(ed25519.PublicKey))
}

// Enroll pins the venue at venueURL, verifies its register, checks that cert
// is a certificate for this device signed by this delegation's accredited
// root, and registers the device with the venue. If venueKey is empty the
// venue's key is trusted on first use (and returned for the delegate to check
// out of band); otherwise it must match.
func (d *Desk) Enroll(ctx context.Context, venueURL, venueKey string, cert []byte) (*VenueInfo, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	api, err := newVenueClient(venueURL, d.hc)
	if err != nil {
		return nil, err
	}
	info, err := api.info(ctx)
	if err != nil {
		return nil, fmt.Errorf("failed to fetch the venue's information: %w", err)
	}
	if venueKey != "" && subtle.ConstantTimeCompare([]byte(venueKey), []byte(info.VerifierKey)) != 1 {
		return nil, &Alarm{Log: RegisterLog, Kind: AlarmVenueKey, Detail: "the venue presents a different signing key than the one given"}
	}
	if _, err := note.NewVerifier(info.VerifierKey); err != nil {
		return nil, fmt.Errorf("the venue's verifier key is malformed: %w", err)
	}
	if d.venue != nil && (d.venue.Name != info.Name || d.venue.VerifierKey != info.VerifierKey) {
		return nil, &Alarm{Log: RegisterLog, Kind: AlarmVenueKey, Detail: "the venue's name or key changed since enrolment"}
	}
	peek, err := delegation.PeekCertificate(cert)
	if err != nil {
		return nil, fmt.Errorf("failed to read the certificate: %w", err)
	}
	if !peek.Device.Equal(d.key.Public()) {
		return nil, errors.New("the certificate is for another device")
	}
	if peek.Delegation != d.profile.Delegation {
		return nil, fmt.Errorf("the certificate is for delegation %q, this desk belongs to %q", peek.Delegation, d.profile.Delegation)
	}
	vi := &VenueInfo{URL: venueURL, Name: info.Name, VerifierKey: info.VerifierKey}
	d.venue, d.api = vi, api
	d.api.acked = d.recordAck
	api.setDevice(info.Name, d.key)
	vj, _ := json.Marshal(vi)
	if err := d.store.Put(ctx, keyVenue, vj); err != nil {
		return nil, err
	}
	// Verify the register before trusting anything it says. Its
	// confirmation (handing over this desk's cosignature) needs the device
	// registered: it follows the registration below.
	if err := d.syncLogOpt(ctx, RegisterLog, false); err != nil {
		return nil, err
	}
	own, err := d.party(ctx, d.profile.Delegation)
	if err != nil {
		return nil, fmt.Errorf("delegation %s is not in the venue's register: %w", d.profile.Delegation, err)
	}
	if _, err := delegation.VerifyCertificate(cert, own.RootKey, time.Now()); err != nil {
		return nil, fmt.Errorf("the certificate does not chain to the accredited root of %s: %w", own.Name, err)
	}
	if _, err := api.registerDevice(ctx, cert); err != nil {
		return nil, fmt.Errorf("failed to register with the venue: %w", err)
	}
	// A delegate knows its own root: mark it confirmed.
	if own.Confirmed.IsZero() {
		own.Confirmed = time.Now().UTC().Truncate(time.Second)
		pj, _ := json.Marshal(own)
		if err := d.store.Put(ctx, prefParty+own.Name, pj); err != nil {
			return nil, err
		}
	}
	if err := d.store.Put(ctx, keyCert, cert); err != nil {
		return nil, err
	}
	d.cert = cert
	if err := d.refreshConfirmationLocked(ctx, RegisterLog); err != nil {
		d.log.Warn("failed to confirm the register; the next sync retries", "err", err)
	}
	// Stock key packages at once, so that members can add this device.
	if err := d.replenishKeyPackages(ctx); err != nil {
		d.log.Warn("failed to upload key packages; the next sync retries", "err", err)
	}
	return vi, nil
}

func (d *Desk) party(ctx context.Context, name string) (Party, error) {
	pj, err := d.store.Get(ctx, prefParty+name)
	if errors.Is(err, ErrNotFound) {
		return Party{}, ErrUnknownParty
	}
	if err != nil {
		return Party{}, err
	}
	var p Party
	if err := json.Unmarshal(pj, &p); err != nil {
		return Party{}, fmt.Errorf("failed to load party: %w", err)
	}
	return p, nil
}

// Parties returns the accredited delegations from the verified register, in
// name order.
func (d *Desk) Parties(ctx context.Context) ([]Party, error) {
	kvs, err := d.store.List(ctx, prefParty, 0)
	if err != nil {
		return nil, err
	}
	out := make([]Party, 0, len(kvs))
	for _, kv := range kvs {
		var p Party
		if err := json.Unmarshal(kv.Value, &p); err != nil {
			return nil, fmt.Errorf("failed to load party: %w", err)
		}
		out = append(out, p)
	}
	return out, nil
}

// NormalizeFingerprint upper-cases a fingerprint and drops spaces and dashes,
// so that "k7qf 2m4x ..." and "K7QF-2M4X-..." compare equal.
func NormalizeFingerprint(s string) string {
	s = strings.ToUpper(s)
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, s)
}

// VerifyParty records that the delegate compared the fingerprint of the
// named delegation's root key out of band and found fingerprint. It fails
// with ErrFingerprint, changing nothing, if fingerprint is not the one of the
// root key in the verified register.
func (d *Desk) VerifyParty(ctx context.Context, name, fingerprint string) (Party, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, err := d.party(ctx, name)
	if err != nil {
		return Party{}, err
	}
	want := NormalizeFingerprint(delegation.Fingerprint(p.RootKey))
	if subtle.ConstantTimeCompare([]byte(want), []byte(NormalizeFingerprint(fingerprint))) != 1 {
		return p, ErrFingerprint
	}
	if p.Confirmed.IsZero() {
		p.Confirmed = time.Now().UTC().Truncate(time.Second)
		pj, _ := json.Marshal(p)
		if err := d.store.Put(ctx, prefParty+name, pj); err != nil {
			return p, err
		}
	}
	return p, nil
}

// checkDevice is the credential check of every member of every channel: the
// certificate must verify under the root key of a delegation that is in the
// verified register and that this delegate has confirmed out of band, and be
// valid at t. It returns the verified certificate.
func (d *Desk) checkDevice(ctx context.Context, cert []byte, t time.Time) (*delegation.Certificate, error) {
	peek, err := delegation.PeekCertificate(cert)
	if err != nil {
		return nil, delegation.ErrCertificate
	}
	p, err := d.party(ctx, peek.Delegation)
	if err != nil {
		return nil, fmt.Errorf("device of %q: %w", peek.Delegation, err)
	}
	if p.Confirmed.IsZero() {
		return nil, fmt.Errorf("device of %q: %w", p.Name, ErrNotConfirmed)
	}
	c, err := delegation.VerifyCertificate(cert, p.RootKey, t)
	if err != nil {
		return nil, err
	}
	return c, nil
}
