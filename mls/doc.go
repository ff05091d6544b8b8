// Package mls implements Messaging Layer Security, RFC 9420.
//
// The protocol machinery lives in internal packages, composed by this
// package:
//
//   - internal/codec: the TLS presentation language (§2.1)
//   - internal/suite: cipher suites and labelled primitives (§5)
//   - internal/treemath: array-based tree math (Appendix C)
//   - internal/wire: every MLS struct with its TLS encoding (§5-§13)
//   - internal/keyschedule: epoch secrets, PSKs, exporter, transcript hashes (§8)
//   - internal/secrettree: per-sender ratchets with key deletion (§9, §6.3.2)
//   - internal/framing: PublicMessage and PrivateMessage protection (§6)
//   - internal/welcome: Welcome encryption and joining math (§12.4.3)
//
// The package's tests run the MLS working group's interoperability test
// vectors (testdata/vectors, or the directory named by MLS_TEST_VECTORS).
package mls
