package mls

import (
	"fmt"

	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// ProposalType is the type of a proposal (§12.1).
type ProposalType uint16

// Proposal types of RFC 9420 §12.1.
const (
	ProposalAdd                    ProposalType = 1
	ProposalUpdate                 ProposalType = 2
	ProposalRemove                 ProposalType = 3
	ProposalPreSharedKey           ProposalType = 4
	ProposalReInit                 ProposalType = 5
	ProposalExternalInit           ProposalType = 6
	ProposalGroupContextExtensions ProposalType = 7
)

func (t ProposalType) String() string {
	switch t {
	case ProposalAdd:
		return "add"
	case ProposalUpdate:
		return "update"
	case ProposalRemove:
		return "remove"
	case ProposalPreSharedKey:
		return "psk"
	case ProposalReInit:
		return "reinit"
	case ProposalExternalInit:
		return "external_init"
	case ProposalGroupContextExtensions:
		return "group_context_extensions"
	}
	return fmt.Sprintf("proposal(%d)", uint16(t))
}

// Extension is a group context, GroupInfo or leaf extension (§13).
type Extension struct {
	Type uint16
	Data []byte
}

func extensionsToWire(es []Extension) wire.Extensions {
	out := wire.Extensions{}
	for _, e := range es {
		out = append(out, wire.Extension{Type: wire.ExtensionType(e.Type), Data: clone(e.Data)})
	}
	return out
}

func extensionsFromWire(es wire.Extensions) []Extension {
	var out []Extension
	for _, e := range es {
		out = append(out, Extension{Type: uint16(e.Type), Data: clone(e.Data)})
	}
	return out
}

// PSKID names a pre-shared key (§8.4): an external PSK by its ID, or a
// resumption PSK by group ID and epoch.
type PSKID struct {
	External bool
	// ID of an external PSK.
	ID []byte
	// GroupID and Epoch of a resumption PSK (usage application).
	GroupID []byte
	Epoch   uint64

	// usage of a resumption PSK: application unless set by
	// CreateSuccessor or Branch.
	usage wire.ResumptionPSKUsage
}

// Proposal is a proposed change to the group (§12.1), either made by this
// client (with the constructors below) or reported by Group.Process.
type Proposal struct {
	Type ProposalType
	// KeyPackage of an Add.
	KeyPackage *KeyPackage
	// Removed leaf of a Remove.
	Removed uint32
	// PSK of a PreSharedKey proposal.
	PSK PSKID
	// GroupID and CipherSuite of a ReInit.
	GroupID     []byte
	CipherSuite CipherSuite
	// Extensions of a ReInit or GroupContextExtensions proposal.
	Extensions []Extension
	// Credential of the new leaf of an Update (reported only).
	Credential *Credential

	w *wire.Proposal // set for proposals reported by Process
}

// AddProposal proposes adding the owner of kp.
func AddProposal(kp *KeyPackage) Proposal { return Proposal{Type: ProposalAdd, KeyPackage: kp} }

// RemoveProposal proposes removing the member at leaf index leaf.
func RemoveProposal(leaf uint32) Proposal { return Proposal{Type: ProposalRemove, Removed: leaf} }

// UpdateProposal proposes replacing the proposer's own leaf with fresh keys.
// It can only be sent with Group.Propose: a committer updates itself through
// the commit's path.
func UpdateProposal() Proposal { return Proposal{Type: ProposalUpdate} }

// ExternalPSKProposal proposes injecting the external PSK named id, which
// every member must know (Config.ExternalPSKs).
func ExternalPSKProposal(id []byte) Proposal {
	return Proposal{Type: ProposalPreSharedKey, PSK: PSKID{External: true, ID: clone(id)}}
}

// ResumptionPSKProposal proposes injecting the resumption PSK of epoch of
// the group groupID (usually this group's own earlier epoch).
func ResumptionPSKProposal(groupID []byte, epoch uint64) Proposal {
	return Proposal{Type: ProposalPreSharedKey, PSK: PSKID{GroupID: clone(groupID), Epoch: epoch}}
}

// ReInitProposal proposes closing the group so that it can be re-created
// with a new group ID, suite and extensions (§12.1.5, §11.2). A nil groupID
// gives a random one. Once a commit covering it is merged, the group is
// closed (Group.Active is false, Group.ReInitInfo tells the parameters) and
// one member creates the successor with Group.CreateSuccessor.
func ReInitProposal(groupID []byte, cs CipherSuite, extensions []Extension) Proposal {
	return Proposal{Type: ProposalReInit, GroupID: clone(groupID), CipherSuite: cs, Extensions: extensions}
}

// GroupContextExtensionsProposal proposes replacing the group context
// extensions (§12.1.7).
func GroupContextExtensionsProposal(extensions []Extension) Proposal {
	return Proposal{Type: ProposalGroupContextExtensions, Extensions: extensions}
}

// proposalFromWire describes a received proposal.
func proposalFromWire(g *Group, p *wire.Proposal) Proposal {
	out := Proposal{Type: ProposalType(p.Type), w: p}
	switch p.Type {
	case wire.ProposalTypeAdd:
		out.KeyPackage = &KeyPackage{s: g.s, kp: p.Add.KeyPackage}
		if raw, err := wire.Marshal(&wire.MLSMessage{Version: wire.MLS10, WireFormat: wire.WireFormatKeyPackage, KeyPackage: &p.Add.KeyPackage}); err == nil {
			out.KeyPackage.raw = raw
		}
	case wire.ProposalTypeUpdate:
		c := credentialFromWire(&p.Update.LeafNode.Credential)
		out.Credential = &c
	case wire.ProposalTypeRemove:
		out.Removed = p.Remove.Removed
	case wire.ProposalTypePreSharedKey:
		id := &p.PreSharedKey.PSK
		out.PSK = PSKID{External: id.Type == wire.PSKTypeExternal, ID: clone(id.PSKID), GroupID: clone(id.PSKGroupID), Epoch: id.PSKEpoch}
	case wire.ProposalTypeReInit:
		out.GroupID = clone(p.ReInit.GroupID)
		out.CipherSuite = CipherSuite(p.ReInit.CipherSuite)
		out.Extensions = extensionsFromWire(p.ReInit.Extensions)
	case wire.ProposalTypeGroupContextExtensions:
		out.Extensions = extensionsFromWire(p.GroupContextExtensions.Extensions)
	}
	return out
}
