package wire

import (
	"errors"
	"fmt"

	"github.com/good-offices/goodoffices/mls/internal/codec"
)

// ErrUnknownValue is wrapped by errors for enumeration values the RFC does
// not define where the structure depends on them.
var ErrUnknownValue = errors.New("wire: unknown enumeration value")

func errUnknown(what string, v uint64) error {
	return fmt.Errorf("%w: %s %d", ErrUnknownValue, what, v)
}

func errMissing(what string) error {
	return fmt.Errorf("wire: cannot encode: %s missing", what)
}

// Add proposal (§12.1.1).
type Add struct{ KeyPackage KeyPackage }

func (a *Add) MarshalTLS(w *codec.Writer)   { a.KeyPackage.MarshalTLS(w) }
func (a *Add) UnmarshalTLS(r *codec.Reader) { a.KeyPackage.UnmarshalTLS(r) }

// Update proposal (§12.1.2).
type Update struct{ LeafNode LeafNode }

func (u *Update) MarshalTLS(w *codec.Writer)   { u.LeafNode.MarshalTLS(w) }
func (u *Update) UnmarshalTLS(r *codec.Reader) { u.LeafNode.UnmarshalTLS(r) }

// Remove proposal (§12.1.3).
type Remove struct{ Removed uint32 }

func (p *Remove) MarshalTLS(w *codec.Writer)   { w.Uint32(p.Removed) }
func (p *Remove) UnmarshalTLS(r *codec.Reader) { p.Removed = r.Uint32() }

// PSKType (§8.4).
type PSKType uint8

// PSK types (§8.4).
const (
	PSKTypeExternal   PSKType = 1
	PSKTypeResumption PSKType = 2
)

// ResumptionPSKUsage (§8.4).
type ResumptionPSKUsage uint8

// Resumption PSK usages (§8.4).
const (
	ResumptionPSKUsageApplication ResumptionPSKUsage = 1
	ResumptionPSKUsageReInit      ResumptionPSKUsage = 2
	ResumptionPSKUsageBranch      ResumptionPSKUsage = 3
)

// PreSharedKeyID (§8.4). PSKID is set for external PSKs; Usage, PSKGroupID
// and PSKEpoch for resumption PSKs.
type PreSharedKeyID struct {
	Type       PSKType
	PSKID      []byte
	Usage      ResumptionPSKUsage
	PSKGroupID []byte
	PSKEpoch   uint64
	PSKNonce   []byte
}

func (p *PreSharedKeyID) MarshalTLS(w *codec.Writer) {
	w.Uint8(uint8(p.Type))
	switch p.Type {
	case PSKTypeExternal:
		w.Opaque(p.PSKID)
	case PSKTypeResumption:
		w.Uint8(uint8(p.Usage))
		w.Opaque(p.PSKGroupID)
		w.Uint64(p.PSKEpoch)
	default:
		w.Fail(errUnknown("PSK type", uint64(p.Type)))
	}
	w.Opaque(p.PSKNonce)
}

func (p *PreSharedKeyID) UnmarshalTLS(r *codec.Reader) {
	p.Type = PSKType(r.Uint8())
	if r.Err() != nil {
		return
	}
	switch p.Type {
	case PSKTypeExternal:
		p.PSKID = r.Opaque()
	case PSKTypeResumption:
		p.Usage = ResumptionPSKUsage(r.Uint8())
		if r.Err() == nil && (p.Usage < 1 || p.Usage > 3) {
			r.Fail(errUnknown("resumption PSK usage", uint64(p.Usage)))
			return
		}
		p.PSKGroupID = r.Opaque()
		p.PSKEpoch = r.Uint64()
	default:
		r.Fail(errUnknown("PSK type", uint64(p.Type)))
		return
	}
	p.PSKNonce = r.Opaque()
}

// PreSharedKey proposal (§12.1.4).
type PreSharedKey struct{ PSK PreSharedKeyID }

func (p *PreSharedKey) MarshalTLS(w *codec.Writer)   { p.PSK.MarshalTLS(w) }
func (p *PreSharedKey) UnmarshalTLS(r *codec.Reader) { p.PSK.UnmarshalTLS(r) }

// PSKLabel returns the encoding of PSKLabel{id, index, count} (§8.4).
func PSKLabel(id *PreSharedKeyID, index, count uint16) ([]byte, error) {
	return encode(func(w *codec.Writer) {
		id.MarshalTLS(w)
		w.Uint16(index)
		w.Uint16(count)
	})
}

// ReInit proposal (§12.1.5).
type ReInit struct {
	GroupID     []byte
	Version     ProtocolVersion
	CipherSuite CipherSuite
	Extensions  Extensions
}

func (p *ReInit) MarshalTLS(w *codec.Writer) {
	w.Opaque(p.GroupID)
	w.Uint16(uint16(p.Version))
	w.Uint16(uint16(p.CipherSuite))
	p.Extensions.MarshalTLS(w)
}

func (p *ReInit) UnmarshalTLS(r *codec.Reader) {
	p.GroupID = r.Opaque()
	p.Version = ProtocolVersion(r.Uint16())
	p.CipherSuite = CipherSuite(r.Uint16())
	p.Extensions.UnmarshalTLS(r)
}

// ExternalInit proposal (§12.1.6).
type ExternalInit struct{ KEMOutput []byte }

func (p *ExternalInit) MarshalTLS(w *codec.Writer)   { w.Opaque(p.KEMOutput) }
func (p *ExternalInit) UnmarshalTLS(r *codec.Reader) { p.KEMOutput = r.Opaque() }

// GroupContextExtensions proposal (§12.1.7).
type GroupContextExtensions struct{ Extensions Extensions }

func (p *GroupContextExtensions) MarshalTLS(w *codec.Writer)   { p.Extensions.MarshalTLS(w) }
func (p *GroupContextExtensions) UnmarshalTLS(r *codec.Reader) { p.Extensions.UnmarshalTLS(r) }

// Proposal (§12.1). Exactly the field named by Type is set.
type Proposal struct {
	Type                   ProposalType
	Add                    *Add
	Update                 *Update
	Remove                 *Remove
	PreSharedKey           *PreSharedKey
	ReInit                 *ReInit
	ExternalInit           *ExternalInit
	GroupContextExtensions *GroupContextExtensions
}

func (p *Proposal) body() codec.Marshaler {
	switch p.Type {
	case ProposalTypeAdd:
		if p.Add != nil {
			return p.Add
		}
	case ProposalTypeUpdate:
		if p.Update != nil {
			return p.Update
		}
	case ProposalTypeRemove:
		if p.Remove != nil {
			return p.Remove
		}
	case ProposalTypePreSharedKey:
		if p.PreSharedKey != nil {
			return p.PreSharedKey
		}
	case ProposalTypeReInit:
		if p.ReInit != nil {
			return p.ReInit
		}
	case ProposalTypeExternalInit:
		if p.ExternalInit != nil {
			return p.ExternalInit
		}
	case ProposalTypeGroupContextExtensions:
		if p.GroupContextExtensions != nil {
			return p.GroupContextExtensions
		}
	}
	return nil
}

func (p *Proposal) MarshalTLS(w *codec.Writer) {
	w.Uint16(uint16(p.Type))
	b := p.body()
	if b == nil {
		w.Fail(errUnknown("proposal type (or missing proposal body)", uint64(p.Type)))
		return
	}
	b.MarshalTLS(w)
}

func (p *Proposal) UnmarshalTLS(r *codec.Reader) {
	p.Type = ProposalType(r.Uint16())
	if r.Err() != nil {
		return
	}
	var u codec.Unmarshaler
	switch p.Type {
	case ProposalTypeAdd:
		p.Add = new(Add)
		u = p.Add
	case ProposalTypeUpdate:
		p.Update = new(Update)
		u = p.Update
	case ProposalTypeRemove:
		p.Remove = new(Remove)
		u = p.Remove
	case ProposalTypePreSharedKey:
		p.PreSharedKey = new(PreSharedKey)
		u = p.PreSharedKey
	case ProposalTypeReInit:
		p.ReInit = new(ReInit)
		u = p.ReInit
	case ProposalTypeExternalInit:
		p.ExternalInit = new(ExternalInit)
		u = p.ExternalInit
	case ProposalTypeGroupContextExtensions:
		p.GroupContextExtensions = new(GroupContextExtensions)
		u = p.GroupContextExtensions
	default:
		r.Fail(errUnknown("proposal type", uint64(p.Type)))
		return
	}
	u.UnmarshalTLS(r)
}

// ProposalOrRefType (§12.4).
type ProposalOrRefType uint8

// ProposalOrRef types (§12.4).
const (
	ProposalOrRefProposal  ProposalOrRefType = 1
	ProposalOrRefReference ProposalOrRefType = 2
)

// ProposalOrRef (§12.4): a proposal by value or a ProposalRef.
type ProposalOrRef struct {
	Type      ProposalOrRefType
	Proposal  *Proposal
	Reference []byte
}

func (p *ProposalOrRef) MarshalTLS(w *codec.Writer) {
	w.Uint8(uint8(p.Type))
	switch {
	case p.Type == ProposalOrRefProposal && p.Proposal != nil:
		p.Proposal.MarshalTLS(w)
	case p.Type == ProposalOrRefReference:
		w.Opaque(p.Reference)
	default:
		w.Fail(errUnknown("proposal-or-ref type (or missing proposal)", uint64(p.Type)))
	}
}

func (p *ProposalOrRef) UnmarshalTLS(r *codec.Reader) {
	p.Type = ProposalOrRefType(r.Uint8())
	if r.Err() != nil {
		return
	}
	switch p.Type {
	case ProposalOrRefProposal:
		p.Proposal = new(Proposal)
		p.Proposal.UnmarshalTLS(r)
	case ProposalOrRefReference:
		p.Reference = r.Opaque()
	default:
		r.Fail(errUnknown("proposal-or-ref type", uint64(p.Type)))
	}
}

// Commit (§12.4). Path is nil when the commit has no UpdatePath.
type Commit struct {
	Proposals []ProposalOrRef
	Path      *UpdatePath
}

func (c *Commit) MarshalTLS(w *codec.Writer) {
	marshalAll(w, c.Proposals)
	w.Optional(c.Path != nil, func(w *codec.Writer) { c.Path.MarshalTLS(w) })
}

func (c *Commit) UnmarshalTLS(r *codec.Reader) {
	c.Proposals = unmarshalAll[ProposalOrRef](r)
	if r.Optional() {
		c.Path = new(UpdatePath)
		c.Path.UnmarshalTLS(r)
	}
}
