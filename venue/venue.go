// Package venue is the host's server: the MLS Delivery Service of Good
// Offices and the verifiable append-only logs of every channel.
//
// The venue stores and relays ciphertext only. Everything a party must be
// able to check is an append-only Merkle log served per C2SP tlog-tiles and
// signed per C2SP tlog-checkpoint with the venue's Ed25519 key; see package
// tlog for the formats and for a verifying client.
//
// # Logs
//
// The accreditation register is the log "register", origin
// "<venue name>/register", readable by anyone. Its entries are accreditation
// records ([RegisterRecord]):
//
//	goodoffices accreditation v1
//	delegation <name>
//	root <signed-note verifier key of the delegation's root>
//	time <RFC 3339 UTC>
//
// The register is the only source of truth for accredited delegations: the
// venue derives its list from the log, and the first record for a name wins.
//
// Device revocations (delegation.Revocation, signed by the delegation's
// root) are logged as they were signed in the public log "revocations",
// origin "<venue name>/revocations"; the venue refuses a revoked device from
// then on (registration, authentication, every request).
//
// Each channel has a log named by its ID, origin
// "<venue name>/channels/<id>", readable only by devices of its member
// delegations. Entries are MLS messages (RFC 9420 §6) that the venue cannot
// read; it checks only their framing (framing.go). They are at most 65535
// bytes (the tlog-tiles entry bundle limit) and by default
// [DefaultMaxEntry]. To a device of a delegation that is not a member, a
// channel that exists and one that does not answer alike (403): the venue
// does not tell who may not read a channel that it exists.
//
// # Appends and durability
//
// All appends of the venue go through one sequencer goroutine that takes
// whatever is waiting (up to Config.MaxBatch entries), computes the new
// stored hashes of each log (x/mod tlog.StoredHashes over an in-memory
// Merkle frontier) and its tree hash, and writes the batch in one store
// transaction (group commit). A writer gets its index only after that
// transaction committed; with the SQLite store that means the write-ahead
// log was synced. The sequencer is pipelined: while one batch commits, the
// next is hashed on top of it, and is planned again if the one in flight
// fails. Tiles are computed on request from the stored hashes, entry
// bundles from the stored entries.
//
// # Sequencing and integration
//
// The 201 {"index":i,"size":n} of an append says that the entry is durably
// stored at index i (and the log holds n entries). The signed checkpoint
// covering it comes after (integration, integrate.go): one integrator signs
// one checkpoint per log that grew at most every Config.CheckpointWithin/2
// (`goodoffices venue --checkpoint-within`, default 50 ms), hands it to the
// store (the SQLite store makes it durable at its next applier round: a
// checkpoint lost in a crash is signed again; integrate.go, "Lazy
// checkpoints"), and only then serves it — checkpoint, tiles, entry bundles
// and event streams all show a log up to its latest checkpoint. The promise: a
// checkpoint covering an acknowledged entry is served within
// CheckpointWithin. The venue keeps it under load by back-pressure rather
// than by acknowledging faster than it integrates: while a round of the
// integrator is due (an acknowledged entry without a checkpoint is older
// than CheckpointWithin/2), the sequencer answers the batch it has in
// flight and starts no other until the round is served, so appends wait
// for their 201 instead (integrate.go, "Back-pressure"). The bound can
// still be exceeded when one round alone takes longer than the other half:
// thousands of logs to sign at once, a disk slow to sync, CPUs too busy to
// run the integrator (checkpoints do not wait for the SQLite store's
// applier when its journal is full; appends do). The venue
// then logs a warning with the lag once per episode and counts the late
// rounds (GET /v1/stats late_integrations, metric
// goodoffices_checkpoints_late_total). An append with the header
// "Goodoffices-Await: checkpoint" is answered only once that checkpoint is
// served (at most 10 s; the entry is durable either way); desks send it
// (client.Client does, unless WithDurableAcks), so that what they sent is
// verified when the call returns. After a crash between the two, the venue
// signs the missing checkpoints before it serves anything. A venue that
// acknowledges and never integrates is withholding: the desk's stale-view
// alarm (desk/eclipse.go) names the acknowledged index and the stale
// checkpoint.
//
// A 503 answer to an append means the venue could not confirm it: the entry
// is then usually not in the log, but if the store failed after committing
// it may be, and a retry logs it twice. Desks recognise a duplicate (the
// same MLS message) and ignore it.
//
// POST /logs/{id}/batch takes up to MaxBatchEntries entries in one request
// (each a 4-byte big-endian length and the entry); each is checked as a
// single append is, none is appended if one is refused, and the 201 with
// every index is sent only once all of them are durable (and with
// Goodoffices-Await: checkpoint, covered). The rate limit counts entries.
// Handshake commits are not taken in batches.
//
// The listener speaks HTTP/1.1 and h2c (HTTP/2 without TLS, prior
// knowledge; `goodoffices venue --h2c=false` turns it off), for a proxy or
// desk on the same host that multiplexes requests (client.WithH2C).
//
// # Several nodes on one store
//
// Store.Append is a compare-and-swap on each log's size, so venue nodes
// sharing a store can never fork a log. A store that several nodes share
// (store.Shared: PostgreSQL) is used differently. Appends go through
// AppendLocked: each batch is planned (hashed and signed) inside the
// transaction that holds its logs' row locks, on the heads read under those
// locks, so nodes appending to one channel take turns rather than losing
// compare-and-swaps and answering 503; there is no separate integration
// there (one checkpoint per log per batch, signed under the lock). Checkpoints and log sizes (for
// tiles and event streams) are read from the store on every request rather
// than from memory: a node that had not yet heard of another node's append
// would otherwise serve an older checkpoint than the other node already
// served, which a desk spread over both nodes must treat as a rollback.
// Catching up on a notice would not close that window (the notice may be
// late); one indexed read per checkpoint does. A node learns of other
// nodes' mail and channels, and wakes its event streams, through
// Venue.PeerChanged (fed by venue/fanout over NATS or by polling).
//
// # One commit per epoch
//
// A POST of an entry may carry the headers "Goodoffices-Handshake: commit"
// and "Goodoffices-Epoch: <decimal epoch>". The venue logs at most one
// commit per (channel, epoch): the first wins, a later one gets 409 and is
// not logged. The venue cannot read the epoch from the ciphertext; the
// header is the desk's claim, and desks check it against the MLS message
// they process (RFC 9420 §14: the Delivery Service orders handshake
// messages). A channel upgraded to another cipher suite (ReInit, RFC 9420
// §11.2) continues in a new MLS group whose epochs start again at 1: its
// commits are announced with "Goodoffices-Epoch-Base: <decimal>", the sum
// of the final epochs of the channel's earlier groups, and
// Goodoffices-Epoch is the group's epoch plus that base, so the epochs of
// one log never repeat. The venue checks that the framing's epoch is the
// announced epoch less the base.
//
// # Authentication
//
// The host admin presents "Authorization: Bearer <admin credential>", a
// random secret the venue writes to <data>/admin.token (0600) on first start
// and compares in constant time.
//
// A device registers with POST /v1/devices and its certificate (package
// delegation); the venue accepts it only if it verifies against the root key
// of an accredited delegation in the register and the request carries the
// device key's signature of it (header Goodoffices-Device-Proof, see
// api.RegistrationMessage): only the holder of a device key registers it,
// so no delegation can squat another's. Revocations are keyed by
// (delegation, device): a root revokes only its own delegation's devices. To authenticate, the device
// fetches a challenge (POST /v1/auth/challenge, valid 60 s, MAC'd by the
// venue, no state), signs [AuthMessage](venue name, challenge) with its key
// and exchanges it at POST /v1/auth/token for a bearer token (default 15
// min). Each challenge can be used once (the store records its nonce), so a
// captured answer cannot be replayed; tokens are MAC'd with a key derived
// from the venue key, so any node holding the key can check them. Every
// request re-checks that the device's certificate is still valid.
//
// # HTTP API
//
// Errors are JSON {"error": "..."} with a 4xx status for bad requests, 507
// when a quota or the disk watermark is reached (quota.go) and 503 (with
// Retry-After) for storage failures; nothing is stored on error. Every
// route answers 405 (with Allow) to a method it does not serve, 307 (JSON
// too) to a path with dot segments or double slashes, and 431 to a header
// past [MaxHeaderBytes]; bodies are read within a time bounded by their
// size limit (guard.go).
//
//	GET  /v1/venue                            public   venue name, verifier key, origins
//	GET  /v1/delegations                      public   accredited delegations (from the register)
//	POST /v1/delegations                      admin    {"name","root_key"} -> accreditation record index
//	GET  /v1/channels                         admin: all; device: its delegation's
//	POST /v1/channels                         admin    {"id","kind","level","members":[...]}
//	PUT  /v1/channels/{id}/members            admin    {"members":[...]}
//	POST /v1/devices                          public   body: certificate note, Goodoffices-Device-Proof -> {"id","delegation",...}
//	POST /v1/revocations                      public   body: revocation note signed by the root -> {"index"}
//	GET  /v1/devices[?delegation=X]           admin or device
//	POST /v1/auth/challenge                   public   -> {"challenge"}
//	POST /v1/auth/token                       public   {"device","challenge","signature"} -> {"token","expires"}
//	POST /v1/keypackages                      device   {"one_time":[b64...],"last_resort":b64} (own)
//	GET  /v1/keypackages                      device   {"one_time": n} (own stock)
//	POST /v1/devices/{id}/keypackage          device   claim one of {id}'s -> message/mls body
//	POST /v1/devices/{id}/mail                device   body message/mls (a Welcome, or a sealed hand-over) -> {"id"}
//	GET  /v1/mail?after=N                     device   own mailbox -> [{"id","data","created"}]
//	DELETE /v1/mail?through=N                 device   delete own mail up to N
//	GET  /v1/events                           device   SSE stream, resumable with Last-Event-ID
//	POST /logs/{id}/entries                   member   body message/mls -> 201 {"index","size"}
//	POST /logs/{id}/batch                     member   body application/vnd.goodoffices.entries -> 201 {"indexes":[...],"size"} (batch.go)
//	GET  /logs/{id}/checkpoint                member (register, revocations: public)   tlog-checkpoint
//	GET  /logs/{id}/tile/{L}/{N}[.p/{W}]      member (register: public)   hash tile
//	GET  /logs/{id}/tile/entries/{N}[.p/{W}]  member (register: public)   entry bundle
//	POST /logs/{id}/cosignatures              member   a checkpoint it served, cosigned by the caller (cosign.go)
//	GET  /logs/{id}/cosignatures              member (register: public)   cosigned checkpoints and cosigners' certificates
//
// The claim response carries "Goodoffices-Last-Resort: true" when the
// package handed out is the device's last-resort package.
//
// # Live delivery
//
// GET /v1/events is one server-sent-event stream per device for all its
// channels, the public revocations log (a desk learns of a revocation when
// it is logged) and its mailbox. Events "entry" ({"log","index","entry"}),
// "cosign" ({"log","size","cosigner"}: a party's device cosigned a
// checkpoint of the channel, see cosign.go) and "mail"
// ({"id","data","created"}) carry, as their SSE id, a cursor
// "v1;<log>=<next index>;...;~cosign/<log>=<last record id>;...;~mail=<last
// mail id>". Reconnecting with that cursor as Last-Event-ID (or ?cursor=)
// resumes exactly after the last event received: no gaps, no duplicates. A
// stream without a cursor starts at the current end of each log and of its
// cosignatures and at the start of the mailbox; the first event ("ready")
// gives the starting cursor. Entries of a channel the delegation joins later
// are delivered from index 0.
//
// # Metadata the venue sees
//
// Which delegations are in which channel, device certificates (person, role,
// level), which device writes to which channel when, sizes of entries (to a
// padding bucket: desks pad every PrivateMessage) and mail, key package
// counts. Never plaintext or a delegate's private key. Per entry it stores
// the channel, the index and the bytes only; the access log (accesslog.go)
// holds per request only the minute, route pattern, status and duration,
// for Config.AccessLogRetention. docs/metadata.md lists every request and
// every stored column.
//
// # Revocation of open streams
//
// A device's event stream ends within a second of its revocation being
// logged, on whichever node (PeerChanged), and when its certificate
// expires; before each delivery the stream re-reads the revocations log
// after the sizes of its logs, so no entry appended after a revocation
// reaches the revoked device.
package venue

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/good-offices/goodoffices/tlog"
	"github.com/good-offices/goodoffices/venue/api"
	"github.com/good-offices/goodoffices/venue/store"
	"github.com/good-offices/goodoffices/venue/store/sqlite"
)

// Defaults of Config.
const (
	DefaultListen   = "127.0.0.1:8470"
	DefaultDataDir  = "goodoffices-data"
	DefaultName     = "goodoffices.localhost"
	DefaultMaxEntry = tlog.MaxEntrySize
	DefaultMaxMail  = 1 << 20
	DefaultMaxBatch = 1024
	// DefaultCheckpointWithin bounds the time from an append's
	// acknowledgement to a served checkpoint covering it (integrate.go).
	DefaultCheckpointWithin = 50 * time.Millisecond
	DefaultRate             = 1000 // appends per second per device
	DefaultBurst            = 2000
	DefaultMaxStreams       = 4
	DefaultTokenTTL         = 15 * time.Minute
)

// GCPercent is the garbage collector's target (runtime/debug.SetGCPercent)
// the venue command runs under unless GOGC is set. A venue's live heap is
// small (its logs' frontiers and unapplied tails: tens of MiB) and every
// append leaves a few kilobytes of garbage behind (request, response,
// record); collecting at 5× the live heap instead of 2× takes a sixth of
// the CPU an append costs (BENCHMARKS.md, 52 → 44 µs in-process) for a
// few hundred MiB at most. Set GOGC=100 (or GOMEMLIMIT) where memory is
// tighter than CPU.
const GCPercent = 400

// registerLog is the name of the accreditation register's log.
const registerLog = "register"

// revocationsLog is the name of the public log of device revocations.
const revocationsLog = "revocations"

// publicLog reports whether log is one of the venue's public logs.
func publicLog(log string) bool { return log == registerLog || log == revocationsLog }

// Config configures a Venue. Zero fields take the defaults.
type Config struct {
	DataDir string // keys, credential and (without Store) the SQLite database
	Name    string // venue name, used only when the key is created
	// DisplayName is the venue's name for people ("Caspia venue"), shown
	// by the web interfaces; optional (api.CheckDisplayName).
	DisplayName string
	Store       store.Store  // nil: SQLite in DataDir
	Logger      *slog.Logger // nil: slog.Default()
	MaxEntry    int          // largest log entry, bytes (≤ 65535)
	MaxMail     int          // largest mail (Welcome) or key package upload, bytes
	MaxBatch    int          // most entries in one group commit
	// CheckpointWithin is the venue's promise: a signed checkpoint
	// covering an acknowledged entry is served within this time
	// (integrate.go). The integrator gathers the logs that grew for half
	// of it, then signs one checkpoint per log; while such a round is due,
	// the sequencer starts no new batch (back-pressure). A round that
	// alone takes longer than the other half still breaks the bound, and
	// the venue warns.
	CheckpointWithin time.Duration
	Rate             float64 // appends per second per device; < 0 disables
	Burst            int     // burst of appends per device
	MaxStreams       int     // concurrent event streams per device
	TokenTTL         time.Duration

	// Quotas (quota.go). Zero fields take the defaults.
	MailboxMessages int           // messages one mailbox holds
	MailboxBytes    int64         // bytes one mailbox holds
	MailTTL         time.Duration // mail nobody fetched expires after this
	ClaimBurst      int           // key package claims per device per ClaimWindow
	ClaimWindow     time.Duration
	MinFree         int64 // refuse new data below this many free bytes on the data directory's disk; < 0 disables
	// FreeSpace, if set, reports the bytes available on the file system
	// of the data directory (-1: unknown) in place of statfs(2): the
	// simulation (desk/simulation_test.go) fills the disk with it.
	FreeSpace func(dir string) int64

	// AccessLogRetention is how long the access log (accesslog.go) keeps
	// its lines; 0 means DefaultAccessLogRetention, < 0 keeps no access
	// log at all.
	AccessLogRetention time.Duration

	// OpaqueEntries accepts channel entries that are not MLS messages. It
	// is for tests of the log machinery only: a venue refuses, by default,
	// any entry that is not the framing of an MLS PublicMessage or
	// PrivateMessage (framing.go).
	OpaqueEntries bool
}

func (c *Config) defaults() {
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MaxEntry <= 0 || c.MaxEntry > tlog.MaxEntrySize {
		c.MaxEntry = DefaultMaxEntry
	}
	if c.MaxMail <= 0 {
		c.MaxMail = DefaultMaxMail
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = DefaultMaxBatch
	}
	if c.CheckpointWithin <= 0 {
		c.CheckpointWithin = DefaultCheckpointWithin
	}
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.Burst <= 0 {
		c.Burst = DefaultBurst
	}
	if c.MaxStreams <= 0 {
		c.MaxStreams = DefaultMaxStreams
	}
	if c.TokenTTL <= 0 {
		c.TokenTTL = DefaultTokenTTL
	}
	if c.MailboxMessages <= 0 {
		c.MailboxMessages = DefaultMailboxMessages
	}
	if c.MailboxBytes <= 0 {
		c.MailboxBytes = DefaultMailboxBytes
	}
	if c.MailTTL <= 0 {
		c.MailTTL = DefaultMailTTL
	}
	if c.AccessLogRetention == 0 {
		c.AccessLogRetention = DefaultAccessLogRetention
	}
	if c.ClaimBurst <= 0 {
		c.ClaimBurst = DefaultClaimBurst
	}
	if c.ClaimWindow <= 0 {
		c.ClaimWindow = DefaultClaimWindow
	}
	if c.MinFree == 0 {
		c.MinFree = DefaultMinFree
	}
	if c.FreeSpace == nil {
		c.FreeSpace = freeBytes
	}
}

// A Venue is the server. Create it with New, serve Handler, stop with Close.
type Venue struct {
	cfg      Config
	log      *slog.Logger
	store    store.Store
	ownStore bool
	key      *venueKey
	admin    []byte
	authKey  []byte
	macs     sync.Pool // of hash.Hash: HMAC-SHA256 keyed with authKey (auth.go)
	seq      *sequencer
	hub      *hub
	limiter  *limiter
	claims   *limiter // key package claims per device
	disk     diskWatch
	metrics  metrics
	shutdown chan struct{}
	closing  sync.Once

	KeyCreated   bool // the venue key was created by New
	AdminCreated bool // the admin credential was created by New

	regMu    sync.Mutex // serialises accreditations and register refreshes
	register registerView

	revocations revocationView

	extra map[string]http.Handler // set by Mount

	access *accessLog // nil: no access log

	cacheMu  sync.Mutex
	devices  map[string]cachedDevice
	channels map[string]cachedChannel
}

// New opens (creating on first start) the venue in cfg.DataDir.
func New(ctx context.Context, cfg Config) (*Venue, error) {
	cfg.defaults()
	if cfg.DisplayName != "" {
		if err := api.CheckDisplayName(cfg.DisplayName); err != nil {
			return nil, fmt.Errorf("invalid venue display name: %w", err)
		}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("failed to create data directory: %w", err)
	}
	key, keyCreated, err := loadOrCreateKey(cfg.DataDir, cfg.Name)
	if err != nil {
		return nil, err
	}
	admin, adminCreated, err := loadOrCreateAdmin(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	v := &Venue{
		cfg: cfg, log: cfg.Logger, key: key, admin: admin, authKey: deriveAuthKey(key),
		hub: newHub(), limiter: newLimiter(cfg.Rate, cfg.Burst),
		claims: newLimiter(float64(cfg.ClaimBurst)/cfg.ClaimWindow.Seconds(), cfg.ClaimBurst), shutdown: make(chan struct{}),
		KeyCreated: keyCreated, AdminCreated: adminCreated,
		devices: map[string]cachedDevice{}, channels: map[string]cachedChannel{},
	}
	v.register.byName = map[string]RegisterRecord{}
	v.mountCosignatures() // cosignatures of checkpoints (cosign.go)
	v.store = cfg.Store
	if v.store == nil {
		s, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, DBFile), sqlite.WithLogger(cfg.Logger))
		if err != nil {
			return nil, err
		}
		v.store, v.ownStore = s, true
	}
	if cfg.AccessLogRetention > 0 {
		if v.access, err = openAccessLog(filepath.Join(cfg.DataDir, AccessLogDir), cfg.AccessLogRetention); err != nil {
			if v.ownStore {
				v.store.Close()
			}
			return nil, err
		}
		go v.maintainAccessLog()
	}
	v.seq = newSequencer(v, cfg.MaxBatch, cfg.CheckpointWithin)
	if v.seq.shared == nil {
		// Before anything is served: what was acknowledged before a
		// crash gets its checkpoint first.
		if err := v.seq.integrateBehind(ctx); err != nil {
			if v.access != nil {
				v.access.close()
			}
			if v.ownStore {
				v.store.Close()
			}
			return nil, err
		}
		go v.seq.integrate()
	} else {
		close(v.seq.idone)
	}
	go v.seq.run()
	go v.expireMail()
	return v, nil
}

// Mount adds a handler for pattern (http.ServeMux syntax) to the venue's
// handler, e.g. the schedule API; it authenticates callers with Who. Call
// it before Handler.
func (v *Venue) Mount(pattern string, h http.Handler) {
	if v.extra == nil {
		v.extra = map[string]http.Handler{}
	}
	v.extra[pattern] = h
}

// Name returns the venue's name (the name of its signing key).
func (v *Venue) Name() string { return v.key.name }

// VerifierKey returns the venue's signed-note verifier key.
func (v *Venue) VerifierKey() string { return v.key.vkey }

// PublicKey returns the venue's Ed25519 public key.
func (v *Venue) PublicKey() ed25519.PublicKey { return v.key.priv.Public().(ed25519.PublicKey) }

// LateIntegrations returns how many integration rounds served their
// checkpoints more than Config.CheckpointWithin after the oldest
// acknowledgement they covered: each one a broken promise (integrate.go,
// "Back-pressure"). Always 0 on a shared store, where an append is
// acknowledged with its checkpoint.
func (v *Venue) LateIntegrations() int64 { return v.metrics.lateIntegrations.Load() }

// AdminFile returns the path of the admin credential.
func (v *Venue) AdminFile() string { return filepath.Join(v.cfg.DataDir, AdminFile) }

// origin returns the checkpoint origin of a log.
func (v *Venue) origin(log string) string { return Origin(v.key.name, log) }

// Origin returns the checkpoint origin of a channel's log, of the register
// for "register", or of the revocations log for "revocations".
func Origin(venueName, log string) string {
	if publicLog(log) {
		return venueName + "/" + log
	}
	return venueName + "/channels/" + log
}

// BeginShutdown ends event streams, so that an http.Server's Shutdown does
// not wait for them. Call it before Shutdown, then Close.
func (v *Venue) BeginShutdown() {
	v.closing.Do(func() { close(v.shutdown) })
}

// Close finishes queued appends and closes the store. Call it after the
// HTTP server has stopped handling requests.
func (v *Venue) Close() error {
	v.BeginShutdown()
	v.seq.close()
	v.seq.closeIntegrator()
	var err error
	if v.access != nil {
		err = v.access.close()
	}
	if v.ownStore {
		err = errors.Join(err, v.store.Close())
	}
	return err
}

// metrics are a few counters, reported by GET /v1/stats (admin).
type metrics struct {
	appends, batches atomic.Int64
	batchNanos       atomic.Int64
	// integrations: rounds of the integrator, checkpoints signed in them,
	// time spent in them, and the largest time from a log's first
	// unintegrated append to its checkpoint being served.
	integrations, signed atomic.Int64
	integrateNanos       atomic.Int64
	maxLagNanos          atomic.Int64
	// Back-pressure: times the sequencer held back for the integrator and
	// for how long in all, and rounds served later than CheckpointWithin.
	holds, holdNanos atomic.Int64
	lateIntegrations atomic.Int64
}

func (m *metrics) held(d time.Duration) {
	m.holds.Add(1)
	m.holdNanos.Add(int64(d))
}

func (m *metrics) integration(n int, d, lag time.Duration) {
	m.integrations.Add(1)
	m.signed.Add(int64(n))
	m.integrateNanos.Add(int64(d))
	for {
		old := m.maxLagNanos.Load()
		if int64(lag) <= old || m.maxLagNanos.CompareAndSwap(old, int64(lag)) {
			return
		}
	}
}

func (m *metrics) batch(n int, d time.Duration) {
	m.appends.Add(int64(n))
	m.batches.Add(1)
	m.batchNanos.Add(int64(d))
}

// errorStatus maps an internal error to an HTTP status and message.
func errorStatus(err error) (int, string) {
	var se *errStore
	switch {
	case errors.Is(err, errEpochTaken):
		return http.StatusConflict, err.Error()
	case errors.Is(err, errShuttingDown):
		return http.StatusServiceUnavailable, err.Error()
	case errors.As(err, &se), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "storage unavailable, retry"
	default:
		return http.StatusInternalServerError, "internal error"
	}
}
