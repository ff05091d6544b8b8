// Package mls implements Messaging Layer Security, RFC 9420: end-to-end
// encrypted groups whose members agree on a shared secret per epoch, with
// forward secrecy and post-compromise security, while a delivery service
// only orders and relays opaque messages.
//
// # The nouns
//
//   - [Identity]: a client's signing key and [Credential] (§5.3). Create one
//     with [NewIdentity] or [NewIdentityFromKey]; store it with
//     Identity.MarshalBinary (it holds the private key: encrypt it).
//   - [KeyPackage]: a signed offer to be added to groups (§10), made with
//     [NewKeyPackage], which also returns the private part the client keeps
//     until a Welcome arrives. [ParseKeyPackage] verifies one received.
//   - [Group]: one client's state of one group. [Create] starts a group,
//     [Join] enters one from a Welcome (§12.4.3.1), [JoinExternal] enters one
//     from a GroupInfo with an external commit (§12.4.3.2).
//   - [Proposal]: a proposed change (§12.1): [AddProposal],
//     [RemoveProposal], [UpdateProposal], [ExternalPSKProposal],
//     [ResumptionPSKProposal], [ReInitProposal],
//     [GroupContextExtensionsProposal]. ExternalInit proposals are made by
//     JoinExternal.
//
// # Sending and receiving
//
// Every message is bytes: an MLSMessage (§6). A member sends
//
//   - application data with Group.Encrypt (a PrivateMessage, padded to
//     Config.PaddingBlock, with authenticated data in the clear);
//   - a proposal with Group.Propose (to be committed by reference by any
//     member later in the epoch);
//   - a commit with Group.Commit, which covers every valid proposal
//     received in the epoch plus proposals passed by value, and returns the
//     Welcome for the members it adds. The commit stays pending until the
//     delivery service has ordered it: Group.Process of the echoed commit,
//     or Group.MergeCommit, moves the group to the next epoch;
//     Group.DiscardCommit drops it when another commit won the epoch.
//
// and hands every message it receives to Group.Process, which verifies it
// strictly (RFC 9420 §6 and §12.4.2: group, epoch, membership tag or
// decryption, signature, sender rights, the proposal list rules of §12.2,
// path and parent hashes, confirmation tag) and either returns what it
// carried or an error. A rejected message leaves the group unchanged.
//
// Proposals and commits are sent as PrivateMessage unless
// Config.PublicHandshake is set; external commits are PublicMessage.
// Messages of an earlier epoch are rejected with ErrWrongEpoch, unless
// Config.PastEpochs keeps the keys of a few earlier epochs, in which case
// their application messages (not their proposals or commits) are still
// read: useful when the delivery service orders a commit before messages
// sent concurrently in the old epoch.
//
// # Policy
//
// [Config] carries the application's policy: the credential validator
// (called for every leaf the group accepts, so the application decides who
// may be a member), whether a member may change its credential, whether
// clients may join by external commit (by default they may not: a holder
// of a GroupInfo could otherwise join without any member adding it),
// external PSKs, padding, how many past epochs to keep for late messages,
// and the clock used for key package lifetimes. It is not serialized.
//
// # Storage
//
// Group.MarshalBinary serializes the whole state, secrets included, and
// [UnmarshalGroup] restores it after checking its consistency. Encrypt the
// bytes at rest. A state must never be restored twice and used in
// parallel: keys are deleted as they are used (§9.2), and an old copy would
// reuse them.
//
// # Errors
//
// Errors wrap the sentinels of this package ([ErrWrongEpoch],
// [ErrUnknownSender], [ErrBadSignature], [ErrGenerationReused], …) so that
// callers can test them with errors.Is; verification errors carry no
// secret-dependent detail. No input makes this package panic.
//
// # Cipher suites
//
// 0x0001 (X25519, AES-128-GCM, SHA-256, Ed25519) is the default; 0x0002,
// 0x0003, 0x0005 and 0x0007 are implemented as well (see [CipherSuite]).
//
// # Machinery
//
// The protocol machinery lives in internal packages, composed by this
// package:
//
//   - internal/codec: the TLS presentation language (§2.1)
//   - internal/suite: cipher suites and labelled primitives (§5)
//   - internal/treemath: array-based tree math (Appendix C)
//   - internal/wire: every MLS struct with its TLS encoding (§5-§13)
//   - internal/tree: the ratchet tree, tree and parent hashes, leaf
//     validation and TreeKEM (§4, §7)
//   - internal/keyschedule: epoch secrets, PSKs, exporter, transcript hashes (§8)
//   - internal/secrettree: per-sender ratchets with key deletion (§9, §6.3.2)
//   - internal/framing: PublicMessage and PrivateMessage protection (§6)
//   - internal/welcome: Welcome encryption and joining math (§12.4.3)
//
// # Not implemented
//
// Resumption PSKs of usage reinit and branch (a group is closed by a
// ReInit commit, see Group.ReInitInfo, but the new group is created and
// joined as any other); sending proposals as an external sender (receiving them from
// the senders of the external_senders extension is supported).
//
// The package's tests run the MLS working group's interoperability test
// vectors (testdata/vectors, or the directory named by MLS_TEST_VECTORS).
// The test of package mls/interop runs this package live against an
// independent implementation, ts-mls (TypeScript, under Node.js), over
// MLSMessage bytes only: go test ./mls/... -run Interop -v.
package mls
