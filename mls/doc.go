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
//     from a GroupInfo with an external commit (§12.4.3.2),
//     Group.CreateSuccessor and Group.Branch start a group that resumes
//     another (§11.2, §11.3).
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
//     Config.PaddingBlock, or with Config.PaddingBuckets to a whole
//     message of one of a few sizes, with authenticated data in the clear);
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
// [Config] carries the application's policy for one group (each Group has
// its own): the credential validator (called for every leaf the group
// accepts, so the application decides who may be a member), whether a
// member may change its credential, whether clients may join by external
// commit (by default they may not: a holder of a GroupInfo could otherwise
// join without any member adding it), external PSKs, padding, how many past
// epochs to keep for late messages, and the clock used for key package
// lifetimes. It is not serialized. The rules that accept or refuse commits
// must be the same at every member of a group, or members disagree on the
// group's state.
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
// # Changing suite: ReInit and successor groups
//
// A group cannot change its cipher suite; it is replaced (RFC 9420 §11.2).
// A member commits a [ReInitProposal] naming the successor's suite (and
// optionally group ID and extensions); once the commit is merged the old
// group is closed (Group.Active is false, Group.ReInitInfo tells the
// parameters). Any member then creates the successor with
// Group.CreateSuccessor, from its identity in the new suite and key
// packages, in the new suite, of every other member. The successor's first
// epoch (1) includes the old group's final resumption PSK (§8.6, usage
// reinit); the other members join with [Join] and JoinOptions.ResumedGroup
// set to their state of the old group, which checks the link (§12.4.3.1):
//
//	// alice, in the old group g:
//	b, _ := g.Commit(&mls.CommitOptions{Proposals: []mls.Proposal{
//		mls.ReInitProposal(nil, newSuite, nil)}})
//	// ... every member processes b.Commit (alice merges it) ...
//	newID, _ := mls.NewIdentity(newSuite, cred)
//	next, welcome, _ := g.CreateSuccessor(newID, otherMembersKeyPackages, cfg, nil)
//	// bob, with his key package of newSuite and his state old of g:
//	bobNext, _ := mls.Join(bobNewID, bobKPPriv, welcome, cfg,
//		&mls.JoinOptions{ResumedGroup: old})
//
// Group.Branch creates a subgroup of some members in the same suite, linked
// by a resumption PSK of usage branch (§11.3); the old group goes on.
//
// # Cipher suites
//
// [DefaultCipherSuite] is 0x0001 (X25519, AES-128-GCM, SHA-256, Ed25519),
// the suite every implementation has; 0x0002, 0x0003, 0x0005 and 0x0007 are
// implemented as well (see [CipherSuite]).
//
// Four post-quantum hybrid suites protect the confidentiality of a group
// against an adversary who records its messages today and has a quantum
// computer later: their KEM is X-Wing (ML-KEM-768 + X25519, HPKE KEM
// 0x647a, crypto/hpke's MLKEM768X25519). Their signatures stay Ed25519, so
// they do not protect authenticity against a quantum computer that exists
// while the group runs. None of their code points is final, so both the
// working group draft's suites and the ones ts-mls uses are implemented:
//
//	code    name                                              source
//	0x0053  MLS_256_XWING_AES256GCM_SHA512_Ed25519            ts-mls 1.6.4
//	0x0054  MLS_256_XWING_CHACHA20POLY1305_SHA512_Ed25519     ts-mls 1.6.4
//	0xF001  MLS_128_MLKEM768X25519_AES128GCM_SHA256_Ed25519   draft-ietf-mls-pq-ciphersuites-06, TBD1
//	0xF002  MLS_128_MLKEM768X25519_AES256GCM_SHA384_Ed25519   draft-ietf-mls-pq-ciphersuites-06, TBD2
//
// The draft leaves its code points "TBD"; 0xF001 and 0xF002 are in RFC
// 9420's private-use range (§17.1), on the placeholders Wire's core-crypto
// (on OpenMLS) uses. 0x0053 and 0x0054 are ts-mls's; IANA has not assigned
// them. Besides the numbers, the
// two pairs differ in DeriveKeyPair (how an UpdatePath's node key pair is
// derived from its secret): the draft suites use draft-ietf-hpke-pq's
// labelled derivation, as crypto/hpke does; the ts-mls suites use X-Wing's
// own, SHAKE256(ikm, 32), as ts-mls's @hpke/hybridkem-x-wing 0.7.0 does.
// Both are checked against known answers (internal/suite/testdata).
//
// [DefaultPostQuantumCipherSuite] is 0x0053: AES-256 and SHA-512, and the
// one proven against an independent implementation. When IANA assigns the
// draft's code points, groups move to them with a ReInit commit.
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
// Sending proposals as an external sender (receiving them from the senders
// of the external_senders extension is supported).
//
// The package's tests run the MLS working group's interoperability test
// vectors (testdata/vectors, or the directory named by MLS_TEST_VECTORS).
// TestInterop runs this package live against an independent
// implementation, ts-mls (TypeScript, under Node.js, pinned in
// interop/package-lock.json), over MLS wire objects only:
// go test ./mls/ -run Interop -v (see interop/README.md).
package mls
