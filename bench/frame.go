package bench

import "encoding/binary"

// FrameGroup is the MLS group ID of the entries Frame makes.
const FrameGroup = "goodoffices bench"

// Frame wraps payload in the framing of an MLS PrivateMessage (RFC 9420
// §6.3) carrying an application message of the group FrameGroup at epoch
// 0, with payload as its ciphertext: what a venue, which checks the framing
// of every entry but holds no key, accepts. It adds at most 45 bytes. For
// load tests and tests that append to a real venue; no desk can read it.
func Frame(payload []byte) []byte { return frame(1, 0, payload) }

// FrameCommit is Frame for a commit of epoch: what the venue accepts when
// announced as the commit for that epoch (Goodoffices-Epoch).
func FrameCommit(epoch uint64, payload []byte) []byte { return frame(3, epoch, payload) }

// frame frames payload with content type ct (1 application, 3 commit).
func frame(ct byte, epoch uint64, payload []byte) []byte {
	b := make([]byte, 0, len(payload)+45)
	b = binary.BigEndian.AppendUint16(b, 1) // ProtocolVersion mls10
	b = binary.BigEndian.AppendUint16(b, 2) // WireFormat mls_private_message
	b = appendOpaque(b, []byte(FrameGroup))
	b = binary.BigEndian.AppendUint64(b, epoch)
	b = append(b, ct)
	b = appendOpaque(b, nil)             // authenticated_data
	b = appendOpaque(b, make([]byte, 8)) // encrypted_sender_data
	return appendOpaque(b, payload)      // ciphertext
}

// appendOpaque appends an opaque<V> vector: a minimal QUIC variable-length
// integer length (RFC 9000 §16, as RFC 9420 §2.1.2 requires) and data.
func appendOpaque(b, data []byte) []byte {
	switch n := len(data); {
	case n < 1<<6:
		b = append(b, byte(n))
	case n < 1<<14:
		b = binary.BigEndian.AppendUint16(b, uint16(n)|0x4000)
	default:
		b = binary.BigEndian.AppendUint32(b, uint32(n)|0x80000000)
	}
	return append(b, data...)
}
