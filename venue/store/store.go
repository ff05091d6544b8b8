// Package store defines the storage interface of the venue.
//
// As in tessera, the log logic (sequencing, Merkle hashing, checkpoint
// signing, authorisation) lives above the store, in package venue; a store
// driver only moves bytes, atomically and durably. Drivers: venue/store/sqlite
// (the embedded default) and, for many stateless nodes, a PostgreSQL driver.
// Every driver must pass the conformance suite in venue/store/storetest.
//
// # Logs
//
// A log is named by a string ("register", or a channel ID). For a log of
// size n the store holds the entries 0..n-1, the x/mod tlog stored hashes
// 0..tlog.StoredHashCount(n)-1, and every signed checkpoint the venue
// produced, keyed by tree size. [Store.Append] adds to any number of logs in
// one transaction (group commit) and is a compare-and-swap on each log's
// size, so that two venue nodes sequencing the same log cannot fork it: the
// loser gets [ErrConflict], reloads and retries. An append is durable when
// Append returns nil, and not before.
//
// # Sequencing and integration
//
// A log's size is the number of entries stored ([Store.Size]); its latest
// checkpoint ([Store.Checkpoint]) may cover fewer. The venue may store
// entries first (sequencing: the append is durable, its index final) and
// sign and store a checkpoint covering them a little later
// ([Store.AddCheckpoints], integration), as Tessera and CT logs do: an
// Append whose LogAppend has no Note stores no checkpoint. [Store.Behind]
// names the logs whose entries are not all covered yet, for the venue to
// integrate them after a restart.
//
// A store may also take checkpoints lazily ([LazyCheckpointer]): visible
// at once, durable a little later. A checkpoint covers only durable
// entries, so one lost in a crash can be signed again from them: the same
// note when the log has not grown since (Ed25519 signatures are
// deterministic), a larger one consistent with it otherwise.
//
// # Handshake epochs
//
// [LogAppend.Commits] records which entry carries the MLS commit for an
// epoch; a second commit for the same (log, epoch) fails the whole append
// with [ErrEpochTaken]. The venue checks first, so in normal operation this
// is a safety net for racing nodes.
//
// # Mailboxes, key packages, nonces
//
// Key packages (RFC 9420 §10) are kept per device: one-time packages are
// consumed by a claim, a last-resort package is handed out when none is left
// and kept. Mail (Welcome messages, RFC 9420 §12.4.3.1) is an ordered
// per-device queue with increasing IDs. Nonces are single-use tokens with an
// expiry, for replay protection of device authentication.
package store

import (
	"context"
	"errors"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// Errors a driver returns; callers test with errors.Is.
var (
	ErrNotFound   = errors.New("not found")
	ErrExists     = errors.New("already exists")
	ErrConflict   = errors.New("log size changed concurrently")
	ErrEpochTaken = errors.New("a commit for this epoch is already logged")
	ErrReplay     = errors.New("nonce already used")
)

// A LogAppend adds entries to one log.
type LogAppend struct {
	Log     string
	OldSize int64         // the log's size before the append; must match the stored size
	Entries [][]byte      // stored at indexes OldSize, OldSize+1, ...
	Hashes  []tlog.Hash   // stored hashes from tlog.StoredHashCount(OldSize) to StoredHashCount(OldSize+len(Entries))
	Note    []byte        // the signed checkpoint of size OldSize+len(Entries), or nil (integrated later: AddCheckpoints)
	Commits []EpochCommit // handshake commits among Entries
}

// A SignedCheckpoint is a signed checkpoint of a log at a size.
type SignedCheckpoint struct {
	Log  string
	Size int64
	Note []byte
}

// An EpochCommit records that entry Index of a log is the commit of Epoch.
type EpochCommit struct {
	Epoch int64
	Index int64
}

// A Channel is a conversation with its own log.
type Channel struct {
	ID      string
	Kind    string
	Level   string
	Members []string // delegation names, sorted
	Created time.Time
}

// A Device is a registered delegate's device.
type Device struct {
	ID          string // delegation.DeviceID of its key
	Delegation  string
	Certificate []byte // the signed certificate note
	Registered  time.Time
}

// A Mail is one message in a device's mailbox.
type Mail struct {
	ID      int64
	Data    []byte
	Created time.Time // when it was stored, to the minute: MailTime
}

// MailTime is the time a driver stores with mail put at t: t to the
// minute. It serves only the expiry of mail nobody fetched (days), so the
// store keeps no finer record of when one device wrote to another
// (docs/metadata.md).
func MailTime(t time.Time) time.Time { return t.UTC().Truncate(time.Minute) }

// Store is what the venue needs from storage. Implementations must be safe
// for concurrent use; Append may be called concurrently with reads.
type Store interface {
	// Append atomically applies every LogAppend, or none. It returns
	// ErrConflict if some log's size is not OldSize and ErrEpochTaken if a
	// commit's epoch is already taken.
	Append(ctx context.Context, batch []LogAppend) error
	// Size returns the number of entries stored in log (0 for a log
	// nothing was appended to).
	Size(ctx context.Context, log string) (int64, error)
	// Checkpoint returns the latest checkpoint of log and its size, or
	// ErrNotFound if none was stored yet.
	Checkpoint(ctx context.Context, log string) (size int64, note []byte, err error)
	// AddCheckpoints durably stores signed checkpoints, all or none. A
	// checkpoint already stored at its size is kept as it is (and made
	// durable if it was only published: LazyCheckpointer); one whose size
	// exceeds its log's stored size is refused with an error.
	AddCheckpoints(ctx context.Context, cps []SignedCheckpoint) error
	// Behind returns the logs whose stored size exceeds the size of their
	// latest checkpoint (entries not integrated yet), in no particular order.
	Behind(ctx context.Context) ([]string, error)
	// CheckpointAt returns the checkpoint of log at a given size, or ErrNotFound.
	CheckpointAt(ctx context.Context, log string, size int64) ([]byte, error)
	// ReadHashes returns the stored hashes at indexes, or ErrNotFound if one is missing.
	ReadHashes(ctx context.Context, log string, indexes []int64) ([]tlog.Hash, error)
	// ReadEntries returns entries [start, end), or ErrNotFound if one is missing.
	ReadEntries(ctx context.Context, log string, start, end int64) ([][]byte, error)
	// Commits returns the epochs for which log holds a commit.
	Commits(ctx context.Context, log string) ([]EpochCommit, error)

	// CreateChannel stores a new channel, or returns ErrExists.
	CreateChannel(ctx context.Context, c Channel) error
	// SetMembers replaces a channel's member delegations.
	SetMembers(ctx context.Context, id string, members []string) error
	// Channel returns a channel or ErrNotFound.
	Channel(ctx context.Context, id string) (Channel, error)
	// Channels returns every channel, ordered by ID.
	Channels(ctx context.Context) ([]Channel, error)

	// PutDevice stores a device, replacing one with the same ID (a renewed
	// certificate); it returns ErrExists if that ID belongs to another
	// delegation.
	PutDevice(ctx context.Context, d Device) error
	// Device returns a device or ErrNotFound.
	Device(ctx context.Context, id string) (Device, error)
	// Devices returns the devices of a delegation, or all when delegation is "".
	Devices(ctx context.Context, delegation string) ([]Device, error)

	// AddKeyPackages adds one-time key packages for device and, when
	// lastResort is not nil, replaces its last-resort package.
	AddKeyPackages(ctx context.Context, device string, oneTime [][]byte, lastResort []byte) error
	// ClaimKeyPackage removes and returns one one-time key package of
	// device, or returns its last-resort package (kept), or ErrNotFound.
	ClaimKeyPackage(ctx context.Context, device string) (data []byte, lastResort bool, err error)
	// CountKeyPackages returns how many one-time packages device has left.
	CountKeyPackages(ctx context.Context, device string) (int, error)

	// PutMail appends data to device's mailbox and returns its ID, which
	// is greater than every earlier ID of that mailbox.
	PutMail(ctx context.Context, device string, data []byte) (int64, error)
	// Mail returns up to limit messages of device's mailbox with ID > after.
	Mail(ctx context.Context, device string, after int64, limit int) ([]Mail, error)
	// DeleteMail removes device's messages with ID <= through.
	DeleteMail(ctx context.Context, device string, through int64) error
	// MailUsage returns how many messages device's mailbox holds and their
	// total size in bytes.
	MailUsage(ctx context.Context, device string) (count int, bytes int64, err error)
	// ExpireMail removes the messages stored before before, except in
	// mailboxes whose name starts with "~" (the venue's own queues), and
	// returns how many it removed.
	ExpireMail(ctx context.Context, before time.Time) (int64, error)

	// UseNonce records nonce as used until expires; ErrReplay if it was
	// used before. Expired nonces may be forgotten.
	UseNonce(ctx context.Context, nonce []byte, expires time.Time) error

	// Close releases the store.
	Close() error
}

// A Head is a log's state as the store holds it: its size and the stored
// hashes of its Merkle frontier (the complete subtrees that make up a tree
// of that size, which are all that tlog.StoredHashes and tlog.TreeHash need
// to extend it).
type Head struct {
	Size   int64
	Hashes map[int64]tlog.Hash // stored-hash index -> hash
}

// A LazyCheckpointer is a store that can serve checkpoints before they are
// durable (the SQLite store: from memory, written to its tables by its next
// applier round instead of synced through its journal first), which keeps
// a sync out of every integration round. A crash may lose such checkpoints
// but nothing they cover; [Store.Behind] then names their logs, for the
// venue to sign them again before it serves anything. [Store.AddCheckpoints]
// makes one durable at once (the venue does before it accepts a
// cosignature of it).
type LazyCheckpointer interface {
	// PublishCheckpoints stores signed checkpoints as AddCheckpoints does,
	// visible at once, durable later.
	PublishCheckpoints(ctx context.Context, cps []SignedCheckpoint) error
}

// A Shared store is one that several venue nodes may use at the same time
// (PostgreSQL). The venue then appends with AppendLocked and reads
// checkpoints and log sizes from the store on every request, since another
// node may have appended since.
type Shared interface {
	Store
	// AppendLocked locks the rows of logs (creating missing ones) in one
	// transaction, reads their heads, calls plan with them and writes the
	// appends plan returns, which may only concern those logs. An error
	// from plan is returned as is and nothing is written.
	AppendLocked(ctx context.Context, logs []string, plan func(heads map[string]Head) ([]LogAppend, error)) error
}
