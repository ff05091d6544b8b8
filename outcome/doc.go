// Package outcome makes and checks the signed results of the talks: outcome
// bundles, which carry a text adopted in several authentic languages with
// every party's root-key signature, and briefings, which disclose chosen
// paragraphs of an outcome to a third party with proof, and nothing else.
// Both verify offline, with nothing but the file and the fingerprints of
// the delegations' root keys, compared once in person.
//
// # Commitments
//
// An outcome is a Merkle tree with RFC 6962 hashing (§2.1; computed with
// golang.org/x/mod/sumdb/tlog). Leaf 0 is the header: the talks, the text's
// ID and adopted version, the parties with their names and Ed25519 root
// public keys, the language codes and the number of paragraphs. Then, for
// each language in order, the title (number 0) and paragraphs 1 to n each
// have a leaf that commits to them with a 32-byte salt:
//
//	header    = "goodoffices outcome header v1\x00" || str(talks) || str(text) ||
//	            u64(version) || u32(#parties) || {str(id) || str(name) || str(root key)} ||
//	            u32(#languages) || {str(lang)} || u32(n)
//	paragraph = "goodoffices outcome paragraph v1\x00" || salt || str(lang) || u32(number) || str(text)
//	str(x)    = u32(len(x)) || x        ; integers big-endian
//
// The leaf of language l (0-based) and number k is at index 1 + l*(n+1) + k.
// Salts derive from a 32-byte seed chosen at adoption:
// salt(i) = HMAC-SHA256(seed, "goodoffices outcome salt v1\x00" || u64(i)).
// A salt reveals nothing about the seed or the other salts, so the sibling
// hashes of an inclusion proof reveal nothing about the other paragraphs.
//
// # Digest and signatures
//
// The digest of an outcome binds the tree's size and root:
//
//	digest = SHA-256("goodoffices outcome digest v1\x00" || u64(size) || root)
//
// Each delegation's root key signs negotiation.OutcomeSigningMessage(digest)
// ("goodoffices outcome signature v1\x00" || digest) with Ed25519 (RFC 8032),
// a detached signature that an air-gapped machine can make from the digest
// alone ([Sign]).
//
// # Files
//
// Bundles and briefings are JSON files in one canonical form ([Bundle.Marshal],
// [Briefing.Marshal]); the parsers refuse anything else, so that no byte of
// a file can change without its verification failing. A verifier pins each
// party's root key by its [Fingerprint].
package outcome
