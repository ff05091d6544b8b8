// Package tlog holds the pure, I/O-free pieces of Good Offices' transparency
// logs: the C2SP formats that every log the venue serves is made of, and a
// verifier that checks what a venue serves without trusting it.
//
// It imports nothing of the project. Merkle hashing, proofs and tile maths
// come from golang.org/x/mod/sumdb/tlog (RFC 6962 §2.1 hashing), signatures
// from golang.org/x/mod/sumdb/note (C2SP signed-note); this package adds only
// the encodings those packages do not speak.
//
// # Checkpoints (c2sp.org/tlog-checkpoint)
//
// A checkpoint is the body of a signed note:
//
//	<origin>\n
//	<tree size, decimal, no leading zeros>\n
//	<root hash, standard base64 of 32 bytes>\n
//	[<extension line>\n ...]
//
// [Checkpoint.Marshal] produces it and [ParseCheckpoint] reads it strictly:
// non-empty origin of printable characters, canonical decimal size, a
// canonical base64 hash, non-empty extension lines, at most
// [MaxCheckpointSize] bytes in total. [OpenCheckpoint] verifies the note
// signature of the log's key and parses the body in one step.
//
// # Tiles (c2sp.org/tlog-tiles)
//
// Logs are served as tiles of height 8: hash tiles at
// tile/<L>/<N>[.p/<W>] and entry bundles at tile/entries/<N>[.p/<W>], with
// <N> written in three-digit groups where every group but the last carries an
// "x" (1234067 is x001/x234/067) and <W> in 1..255 only for partial tiles.
// This is not the layout of x/mod's Tile.Path (tile/<H>/<L>/...), so
// [TilePath] and [ParseTilePath] convert between the C2SP paths and x/mod's
// [tlog.Tile] values with H = [TileHeight]; entry bundles use L = -1 as in
// x/mod. An entry bundle is a sequence of entries, each prefixed with its
// length as a big-endian uint16 ([EncodeBundle], [ParseBundle]); an entry is
// therefore at most [MaxEntrySize] bytes.
//
// # Verification
//
// A [Client] is given a [FetchFunc] that returns the bytes served at a path
// relative to the log's prefix (HTTP, a file system, anything). It verifies
// the checkpoint's signature ([Client.Checkpoint]), that entries are
// included in a checkpoint ([Client.Entries], [Client.VerifyInclusion]), and
// that a newer checkpoint is consistent with an older one
// ([Client.VerifyConsistency]), using x/mod's TileHashReader, which checks
// every tile it reads against the signed root hash. Failures are reported as
// the opaque [ErrInvalidProof] or [ErrBadSignature]; they carry no oracle.
//
// # Cosignatures (c2sp.org/tlog-cosignature)
//
// A cosignature/v1 is an Ed25519 signature by a cosigner (a witness, or in
// Good Offices a party's desk) over
//
//	"cosignature/v1\ntime <unix seconds>\n" || <checkpoint body>
//
// carried in a note signature line whose key ID is
// SHA-256(<name> || "\n" || 0x04 || <32-byte public key>)[:4] and whose
// signature bytes are the big-endian uint64 timestamp followed by the 64-byte
// Ed25519 signature. [NewCosigner] returns a note.Signer that produces such
// lines; [NewCosignatureVerifier] the matching note.Verifier, so
// note.Open and note.Sign work unchanged. Verifier keys use the signed-note
// vkey encoding <name>+<hex key ID>+<base64(0x04 || key)>
// ([CosignatureVerifierKey]).
package tlog
