// Package wire defines every RFC 9420 structure as a Go type with its TLS
// encoding (RFC 9420 §2.1, via package codec).
//
// Each type T has MarshalTLS(*codec.Writer) and UnmarshalTLS(*codec.Reader)
// methods, so codec.Marshal(&v) and codec.Unmarshal(data, &v) encode and
// decode it; decoding is strict (no trailing bytes, minimal vector headers,
// bounded lengths). A `select` in the RFC becomes a type field plus one
// field (often a pointer) per arm; only the arm named by the type field is
// encoded. An `optional<T>` becomes a pointer, nil when absent.
//
// # Unknown values
//
// Enumerations whose value chooses the shape of what follows are closed:
// decoding rejects a value the RFC does not define, since the rest of the
// structure cannot be parsed (CredentialType §5.3, LeafNodeSource and
// NodeType §7.2, ProposalType §12.1, ProposalOrRefType §12.4, PSKType and
// ResumptionPSKUsage §8.4, SenderType and ContentType §6, WireFormat §6, and
// ProtocolVersion in MLSMessage §6). Extension types, and the lists of
// Capabilities, are open: any uint16 is carried through (GREASE values
// included, §13.5).
//
// # Signed and hashed encodings
//
// The *TBS and *Input helpers (LeafNodeTBS §7.2, KeyPackageTBS §10,
// GroupInfoTBS §12.4.3, FramedContentTBS §6.1, AuthenticatedContent §6,
// ConfirmedTranscriptHashInput and InterimTranscriptHashInput §8.2,
// SenderDataAAD §6.3.2, PrivateContentAAD §6.3.1, PSKLabel §8.4) produce
// the exact bytes that are signed, MACed or hashed.
//
// Decoders never panic; every error names the structure that failed.
package wire

import (
	"fmt"

	"github.com/good-offices/goodoffices/mls/internal/codec"
)

// ProtocolVersion (§6).
type ProtocolVersion uint16

// MLS10 is the only protocol version, mls10 (§6).
const MLS10 ProtocolVersion = 1

// CipherSuite is a cipher suite code point (§5.1).
type CipherSuite uint16

// ExtensionType (§13.3).
type ExtensionType uint16

// Extension types registered by RFC 9420 §17.3.
const (
	ExtensionApplicationID        ExtensionType = 1
	ExtensionRatchetTree          ExtensionType = 2
	ExtensionRequiredCapabilities ExtensionType = 3
	ExtensionExternalPub          ExtensionType = 4
	ExtensionExternalSenders      ExtensionType = 5
)

// WireFormat (§6).
type WireFormat uint16

// Wire formats (§6).
const (
	WireFormatPublicMessage  WireFormat = 1
	WireFormatPrivateMessage WireFormat = 2
	WireFormatWelcome        WireFormat = 3
	WireFormatGroupInfo      WireFormat = 4
	WireFormatKeyPackage     WireFormat = 5
)

// ContentType (§6).
type ContentType uint8

// Content types (§6).
const (
	ContentTypeApplication ContentType = 1
	ContentTypeProposal    ContentType = 2
	ContentTypeCommit      ContentType = 3
)

func (c ContentType) valid() bool { return c >= 1 && c <= 3 }

// SenderType (§6).
type SenderType uint8

// Sender types (§6).
const (
	SenderTypeMember            SenderType = 1
	SenderTypeExternal          SenderType = 2
	SenderTypeNewMemberProposal SenderType = 3
	SenderTypeNewMemberCommit   SenderType = 4
)

// marshalAll writes a vector of values.
func marshalAll[T any, P interface {
	*T
	codec.Marshaler
}](w *codec.Writer, vs []T) {
	w.Vector(func(w *codec.Writer) {
		for i := range vs {
			P(&vs[i]).MarshalTLS(w)
		}
	})
}

// unmarshalAll reads a vector of values.
func unmarshalAll[T any, P interface {
	*T
	codec.Unmarshaler
}](r *codec.Reader) []T {
	vs := []T{}
	r.Vector(func(r *codec.Reader) {
		var v T
		P(&v).UnmarshalTLS(r)
		vs = append(vs, v)
	})
	return vs
}

func marshalUint16s[T ~uint16](w *codec.Writer, vs []T) {
	w.Vector(func(w *codec.Writer) {
		for _, v := range vs {
			w.Uint16(uint16(v))
		}
	})
}

func unmarshalUint16s[T ~uint16](r *codec.Reader) []T {
	vs := []T{}
	r.Vector(func(r *codec.Reader) { vs = append(vs, T(r.Uint16())) })
	return vs
}

func marshalOpaques(w *codec.Writer, vs [][]byte) {
	w.Vector(func(w *codec.Writer) {
		for _, v := range vs {
			w.Opaque(v)
		}
	})
}

func unmarshalOpaques(r *codec.Reader) [][]byte {
	vs := [][]byte{}
	r.Vector(func(r *codec.Reader) { vs = append(vs, r.Opaque()) })
	return vs
}

// encode runs a marshal function into a fresh buffer.
func encode(f func(w *codec.Writer)) ([]byte, error) {
	var w codec.Writer
	f(&w)
	return w.Bytes()
}

// fail reports err on r prefixed with the structure's name.
func failf(r *codec.Reader, format string, args ...any) {
	r.Fail(fmt.Errorf("wire: "+format, args...))
}

// Extension (§13).
type Extension struct {
	Type ExtensionType
	Data []byte
}

func (e *Extension) MarshalTLS(w *codec.Writer) {
	w.Uint16(uint16(e.Type))
	w.Opaque(e.Data)
}

func (e *Extension) UnmarshalTLS(r *codec.Reader) {
	e.Type = ExtensionType(r.Uint16())
	e.Data = r.Opaque()
}

// Extensions is a list of extensions, `Extension extensions<V>`.
type Extensions []Extension

func (es *Extensions) MarshalTLS(w *codec.Writer) { marshalAll(w, *es) }

// UnmarshalTLS decodes the list and rejects duplicate extension types
// (§13.4: "MUST NOT contain more than one extension of any given type").
func (es *Extensions) UnmarshalTLS(r *codec.Reader) {
	*es = unmarshalAll[Extension](r)
	seen := make(map[ExtensionType]bool, len(*es))
	for _, e := range *es {
		if seen[e.Type] {
			failf(r, "duplicate extension type 0x%04x", uint16(e.Type))
			return
		}
		seen[e.Type] = true
	}
}

// Find returns the data of the extension of type t.
func (es Extensions) Find(t ExtensionType) ([]byte, bool) {
	for _, e := range es {
		if e.Type == t {
			return e.Data, true
		}
	}
	return nil, false
}

// HPKECiphertext (§7.6).
type HPKECiphertext struct {
	KEMOutput  []byte
	Ciphertext []byte
}

func (c *HPKECiphertext) MarshalTLS(w *codec.Writer) {
	w.Opaque(c.KEMOutput)
	w.Opaque(c.Ciphertext)
}

func (c *HPKECiphertext) UnmarshalTLS(r *codec.Reader) {
	c.KEMOutput = r.Opaque()
	c.Ciphertext = r.Opaque()
}
