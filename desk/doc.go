// Package desk is the delegate's client of Good Offices: the only place
// where plaintext and private keys exist. It holds a device key certified by
// the delegation's root, keeps every channel as an MLS group (RFC 9420),
// verifies every log the venue serves before it processes anything, and
// hands the decrypted, authenticated history to the negotiation engine.
//
// The venue is not trusted for anything but availability: a desk that is
// served something that does not verify stops processing that log, raises
// an Alarm and keeps the evidence.
//
// # Home directory
//
// A desk lives in a home directory holding one SQLite database (StoreFile)
// whose values are each sealed with XChaCha20-Poly1305 under a key derived
// from the desk passphrase with scrypt (RFC 7914; N=2^15, r=8, p=1, 16-byte
// salt). The associated data of a value is its key, so values cannot be
// swapped between keys. A wrong passphrase yields ErrPassphrase before
// anything is read. Every change is one SQLite transaction (WAL,
// synchronous=FULL): processing an entry, advancing the log's cursor,
// saving the group state and recording the decrypted message commit together,
// so a desk killed at any point restarts with no entry processed twice or
// skipped. Durability matters as much as atomicity: a group state saved
// before a message is sent must not roll back after a power loss, or the
// next message would reuse a key generation of the secret tree (RFC 9420
// §9.1); hence synchronous=FULL, not NORMAL. Keys (channel IDs, log indexes) are in clear: metadata the venue
// knows anyway. Evidence of alarms is written, outside the database, under
// <home>/evidence/ with atomic writes; it holds only what the venue served
// (checkpoints, tiles, ciphertext).
//
// # Enrolment
//
// Init creates the device key; CertificateRequest is the certificate body
// that the head of delegation signs ('goodoffices delegation certify');
// Enroll pins the venue's signing key, verifies the accreditation register
// and checks that the certificate chains to this delegation's accredited
// root before registering the device. Parties lists the register as
// verified, with each root key's Fingerprint; VerifyParty records that the
// delegate compared a fingerprint out of band. A device of a delegation that
// is not confirmed this way is accepted into no channel.
//
// # Verification of every log (c2sp.org/tlog-checkpoint, tlog-tiles)
//
// For the register and every channel, Sync fetches the checkpoint through
// the tlog-tiles endpoints and checks, with package tlog: the venue's
// signature on the pinned key and the origin of the log; that it is not
// smaller than the last checkpoint accepted (AlarmRollback), not a
// different tree of the same size (AlarmFork), and consistent with it
// (RFC 6962 §2.1.2, AlarmInconsistent); then that every new entry is the
// one the checkpoint commits to (RFC 6962 §2.1.1, AlarmInclusion) before
// processing it, strictly in log order. An alarm halts the log
// (ErrHalted) until ClearAlarm; failures to reach the venue are not alarms.
// Each accepted checkpoint is cosigned with the device key
// (c2sp.org/tlog-cosignature, Cosigned).
//
// # Channels (RFC 9420)
//
// A channel's MLS group has the group ID "goodoffices channel
// v1\n<venue>\n<channel>". The credential of every leaf is a basic
// credential whose identity is the device certificate, and whose signature
// key must be the certified device key (§5.3). The credential check
// (§5.3.1, run by package mls for every leaf it accepts: joining, Add,
// Update, commit paths) accepts a device only if its certificate verifies
// under the root of a delegation that is in the verified register, that the
// delegate confirmed, and that is a member of the channel; a commit or a
// Welcome that brings in anyone else raises AlarmMember.
//
// The desk keeps one-time key packages and one last-resort package on the
// venue (§10, §16.8) and joins groups from Welcomes in its mailbox (§12.4.3.1).
// Handshake messages are PublicMessages so that the venue can enforce one
// commit per epoch: a commit is appended announced for its epoch; on 409
// the desk discards it, re-bases on the log and commits again (§14).
// Application messages are PrivateMessages (§6.3). Open starts a channel's
// group, Invite/Remove/Leave/Rotate change it, Send and Read carry the
// conversation, and member desks add missing devices of confirmed member
// delegations on their own (the desk with the lowest leaf index does it).
//
// # Cipher suites: post-quantum by default
//
// The venue does not choose a channel's cipher suite; each desk's
// SuitePolicy does. By default a desk opens channels and publishes key
// packages on MLS_256_XWING_AES256GCM_SHA512_Ed25519 (0x0053: X-Wing, that
// is ML-KEM-768 + X25519, so that a host recording the talks cannot decrypt
// them later with a quantum computer) and refuses to open or join a channel
// on a classical suite (ErrSuitePolicy). ChannelSuite describes a channel's
// suite (DescribeSuite says plainly whether it is post-quantum). Upgrade
// moves a channel in place to another suite (upgrade.go: a ReInit commit,
// RFC 9420 §11.2, and a successor group "…\n<channel>\n<n>" that every
// member joins against its state of the closed group); the channel's log,
// history and negotiation state carry over, and commits of the successor
// are announced at its epoch plus the channel's epoch base
// (Goodoffices-Epoch-Base).
//
// # Negotiation
//
// Events turns a channel's application messages into negotiation.Event
// values whose sender comes from the verified certificate; Talks runs them
// through the engine, so every party computes the same state.
//
// # Months of talks (issue 14)
//
// A channel collects 100,000 messages in a long negotiation; the desk's
// cost per action must not grow with them. Each entry is verified and
// decrypted once, at sync, and kept decrypted (sealed under the store key)
// at its log position: Read and ReadLast decrypt only the page they return.
// Sync processes the entries of a tile (up to 256) in one transaction, with
// prepared statements and the group state carried from entry to entry, and
// reports its progress (OnSyncProgress, SyncProgress). Talks advances a
// snapshot of the engine's state by the new entries only (talkssnap.go); the
// snapshot is never a source of truth (ReplayTalks, RebuildTalks). Search
// finds messages, statements, texts and proposals in the decrypted history
// with an index kept in memory only (search.go).
//
// # A new delegate reads the history (handover.go)
//
// Handover, on the head of delegation's desk, seals to a new device of the
// delegation the per-message keys (mls.Disclosure, as briefings use them) of
// the channel's messages its policy allows (all, since a date, none). The
// new desk applies it at sync: it fetches each logged entry itself, checks
// it against its verified checkpoint, opens it with the keys and replays the
// engine; a bundle that does not open the log raises a "handover" alarm.
// Unreadable names the messages sent before the desk joined that no
// hand-over opened.
//
// # Live delivery
//
// Run listens to the venue's event stream and syncs the logs it names: the
// event's content is not used, the log is verified as always.
//
// # Neutrality: confirmation, forks, withholding (cosign_confirm.go)
//
// After a log is verified and processed, the desk hands its cosignature of
// the checkpoint to the venue (POST /logs/<log>/cosignatures) and checks the
// cosigned checkpoints the venue holds: each certificate against a root the
// delegate confirmed, the venue's signature, each cosignature, and
// consistency with its own view. An entry is confirmed (Confirmation) once
// every member delegation (for the register: every confirmed delegation)
// has cosigned a checkpoint covering it; until then it is pending. Two
// inconsistent venue-signed checkpoints raise AlarmFork with a proof of
// misbehaviour (ProofFile, package proof) that 'goodoffices verify' checks
// offline; a pending entry older than NeutralityConfig.WithholdingBound
// raises AlarmWithholding and a log others cosigned beyond what this desk
// is served raises AlarmFreeze; a message under a key generation already
// used raises AlarmReplay. A byte-identical copy of an entry already read is
// skipped ("a copy of entry N"): an honest venue logs one message twice when
// a request reaches it twice, and a copy cannot change the talks; a copy the
// host shows one party only is a split view, which no other party cosigns
// (AlarmWithholding within the bound).
//
// An append whose answer was lost (no answer, or a 5xx other than 507) may
// have been logged: the desk keeps the sent message's record (and, for a
// commit, the pending commit and its Welcomes), so that it reads the entry
// as its own if the log holds it. A commit refused with 409 is checked the
// same way: the epoch may be held by this very commit, logged by an earlier
// copy of the request.
//
// A venue that isolates this desk (an eclipse: its view frozen, the stale
// cosignatures it saw replayed) is caught by two checks that look past the
// venue (eclipse.go): an append the venue acknowledged at an index that no
// served checkpoint covers within the bound raises AlarmStaleView, and a
// witness of the desk's policy (AddWitness; c2sp.org/tlog-witness, asked
// directly, every verified checkpoint submitted to it) that cosigned a
// larger checkpoint than the venue serves raises AlarmEclipse. With
// witnesses in the policy, an entry is confirmed only once each of them
// has cosigned it too.
package desk
