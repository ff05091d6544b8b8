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
// # Packages
//
// A package of texts adopted together has its own format
// (goodoffices-outcome-package-v1, see package.go): one tree and one digest
// over every document in every language, with leaf and digest contexts of
// its own, signed once by each party; verification lists the documents.
//
// # Signing offline
//
// A desk exports a [SigningRequest]: the unsigned bundle (the text in
// every language) and its digest. On the air-gapped machine that holds the
// root key, 'goodoffices delegation sign-outcome' recomputes the digest
// from the text ([ParseSigningRequest]), shows the text, and writes a
// [SignatureFile]; the desk checks it ([SignatureFile.Check]) and posts it
// into the channel as the party's signature event.
//
// # Venue evidence (bundle format v2)
//
// A bundle exported by a desk carries [Evidence] from the channel's
// transparency log: the checkpoint (C2SP tlog-checkpoint) signed by the
// venue and cosigned by the parties' desks (C2SP tlog-cosignature), the
// log entries of the adoption and of every signature with their RFC 6962
// inclusion proofs (§2.1.1), and the device certificates of their senders
// and of the cosigners, each verified under its party's root key. Every
// signature line of the checkpoint must verify and be in canonical base64,
// so that no byte goes unchecked. The entries are MLS ciphertexts: the
// evidence shows that the venue logged them, from whom and in what order,
// and that the cosigning parties saw the same log; it does not disclose
// them. Format v1 bundles (without evidence) are still read.
//
// # Channel briefings
//
// A [ChannelBriefing] discloses chosen messages of a channel and nothing
// else: each log entry with its inclusion proof in a cosigned checkpoint,
// the sender's certificate, and an mls.Disclosure, the per-message
// sender-data and content keys of RFC 9420 §6.3.2 and §9.1 that open that
// ciphertext alone, with the epoch's GroupContext so that the sender's
// signature over FramedContentTBS (§6.1) can be checked. No epoch or tree
// secret is in it; the keys open no other message of the channel.
//
// # PDF
//
// [TextPDF] and [Bundle.PDF] render a negotiating text (brackets and
// attributions visible) and a signed outcome (each language, then a
// signature page) as PDF with codeberg.org/go-pdf/fpdf and deterministic
// output. The text is set in DejaVu Sans, embedded in the binary, which
// covers Latin, Cyrillic (with the Kazakh and Ukrainian letters) and Greek;
// only the glyphs used are embedded (a TrueType subset, CIDFontType2 with
// Identity-H encoding and a ToUnicode map, ISO 32000-1 §9.7, §9.10), so the
// text can be copied and searched. [PDFOptions].Font replaces it.
//
// # Files
//
// Bundles, briefings, signing requests and signature files are JSON files
// in one canonical form ([Bundle.Marshal], [Briefing.Marshal],
// [ChannelBriefing.Marshal]); the parsers refuse anything else, so that no
// byte of a file can change without its verification failing. A verifier
// pins each party's root key by its [Fingerprint], and the venue's key.
package outcome
