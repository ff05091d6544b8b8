package mls

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/good-offices/goodoffices/mls/internal/suite"
	"github.com/good-offices/goodoffices/mls/internal/tree"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// treekem.json: UpdatePath creation and processing (§7.4-§7.6).
func runTreeKEM(t *testing.T, data []byte) vectorCounts {
	type pathSecret struct {
		Node       uint32   `json:"node"`
		PathSecret hexBytes `json:"path_secret"`
	}
	type leafPrivate struct {
		Index          uint32       `json:"index"`
		EncryptionPriv hexBytes     `json:"encryption_priv"`
		SignaturePriv  hexBytes     `json:"signature_priv"`
		PathSecrets    []pathSecret `json:"path_secrets"`
	}
	type updatePath struct {
		Sender        uint32     `json:"sender"`
		UpdatePath    hexBytes   `json:"update_path"`
		PathSecrets   []hexBytes `json:"path_secrets"`
		CommitSecret  hexBytes   `json:"commit_secret"`
		TreeHashAfter hexBytes   `json:"tree_hash_after"`
	}
	type tc struct {
		CipherSuite             uint16        `json:"cipher_suite"`
		GroupID                 hexBytes      `json:"group_id"`
		Epoch                   uint64        `json:"epoch"`
		ConfirmedTranscriptHash hexBytes      `json:"confirmed_transcript_hash"`
		RatchetTree             hexBytes      `json:"ratchet_tree"`
		LeavesPrivate           []leafPrivate `json:"leaves_private"`
		UpdatePaths             []updatePath  `json:"update_paths"`
	}
	return runCases(t, data, func(c *tc) uint16 { return c.CipherSuite }, func(t *testing.T, c *tc) error {
		s, err := suite.Lookup(c.CipherSuite)
		if err != nil {
			return err
		}
		base, err := tree.Decode(s, c.RatchetTree)
		if err != nil {
			return err
		}
		if err := base.Validate(&tree.TreeValidation{GroupID: c.GroupID}); err != nil {
			return fmt.Errorf("ratchet tree: %w", err)
		}
		ctx := &wire.GroupContext{
			Version: wire.MLS10, CipherSuite: wire.CipherSuite(c.CipherSuite), GroupID: c.GroupID,
			Epoch: c.Epoch, ConfirmedTranscriptHash: c.ConfirmedTranscriptHash,
		}
		params := &tree.PathParams{Context: ctx}

		// Load every member's private state and check it against the tree.
		privs := map[uint32]*tree.PrivateState{}
		signers := map[uint32]*suite.SigningKey{}
		for _, lp := range c.LeavesPrivate {
			l := tree.LeafIndex(lp.Index)
			p, err := tree.NewPrivateState(base, l, lp.EncryptionPriv)
			if err != nil {
				return fmt.Errorf("leaf %d: %w", lp.Index, err)
			}
			for _, ps := range lp.PathSecrets {
				if err := p.ImportNodeSecret(base, tree.NodeIndex(ps.Node), ps.PathSecret); err != nil {
					return fmt.Errorf("leaf %d: %w", lp.Index, err)
				}
			}
			if err := p.Check(base); err != nil {
				return err
			}
			// The state survives serialisation.
			enc, err := p.MarshalBinary()
			if err != nil {
				return err
			}
			if p, err = tree.UnmarshalPrivateState(enc); err != nil {
				return err
			}
			if err := p.Check(base); err != nil {
				return err
			}
			privs[lp.Index] = p
			sk, err := s.NewSigningKey(lp.SignaturePriv)
			if err != nil {
				return err
			}
			if !bytes.Equal(sk.Public(), base.Leaf(l).SignatureKey) {
				return fmt.Errorf("leaf %d: signature key does not match", lp.Index)
			}
			signers[lp.Index] = sk
		}

		for _, up := range c.UpdatePaths {
			sender := tree.LeafIndex(up.Sender)
			var path wire.UpdatePath
			if err := wire.Unmarshal(up.UpdatePath, &path); err != nil {
				return err
			}
			if err := base.ValidateLeafNode(&path.LeafNode, &tree.LeafValidation{
				GroupID: c.GroupID, Source: wire.LeafNodeSourceCommit, Index: sender, Replacing: true,
			}); err != nil {
				return fmt.Errorf("sender %d: leaf node: %w", up.Sender, err)
			}
			// An observer without private keys merges the public part.
			obs := base.Clone()
			if _, err := obs.ApplyPath(sender, &path, nil, params); err != nil {
				return fmt.Errorf("sender %d: %w", up.Sender, err)
			}
			if err := eq("tree hash after", obs.TreeHash(), up.TreeHashAfter); err != nil {
				return err
			}
			if err := obs.VerifyParentHashes(); err != nil {
				return fmt.Errorf("sender %d: merged tree: %w", up.Sender, err)
			}
			for _, lp := range c.LeavesPrivate {
				if lp.Index == up.Sender {
					continue
				}
				tr := base.Clone()
				a, err := tr.ApplyPath(sender, &path, privs[lp.Index], params)
				if err != nil {
					return fmt.Errorf("sender %d, receiver %d: %w", up.Sender, lp.Index, err)
				}
				if int(lp.Index) >= len(up.PathSecrets) {
					return fmt.Errorf("no expected path secret for leaf %d", lp.Index)
				}
				if err := eq(fmt.Sprintf("path secret of leaf %d", lp.Index), a.PathSecret, up.PathSecrets[lp.Index]); err != nil {
					return err
				}
				if err := eq("commit secret", a.CommitSecret, up.CommitSecret); err != nil {
					return err
				}
				if err := a.Private.Check(tr); err != nil {
					return err
				}
			}

			// A fresh UpdatePath from the same sender reaches every member.
			gen := base.Clone()
			g, err := gen.GeneratePath(sender, base.Leaf(sender), signers[up.Sender], params)
			if err != nil {
				return fmt.Errorf("generate as %d: %w", up.Sender, err)
			}
			if err := gen.VerifyParentHashes(); err != nil {
				return fmt.Errorf("generated tree: %w", err)
			}
			if err := base.ValidateLeafNode(&g.Path.LeafNode, &tree.LeafValidation{
				GroupID: c.GroupID, Source: wire.LeafNodeSourceCommit, Index: sender, Replacing: true,
			}); err != nil {
				return fmt.Errorf("generated leaf node: %w", err)
			}
			wirePath, err := wire.Marshal(g.Path)
			if err != nil {
				return err
			}
			var decoded wire.UpdatePath
			if err := wire.Unmarshal(wirePath, &decoded); err != nil {
				return err
			}
			for _, lp := range c.LeavesPrivate {
				if lp.Index == up.Sender {
					continue
				}
				tr := base.Clone()
				a, err := tr.ApplyPath(sender, &decoded, privs[lp.Index], params)
				if err != nil {
					return fmt.Errorf("generated path, receiver %d: %w", lp.Index, err)
				}
				if err := eq("commit secret of generated path", a.CommitSecret, g.CommitSecret); err != nil {
					return err
				}
				if err := eq("tree hash after generated path", tr.TreeHash(), gen.TreeHash()); err != nil {
					return err
				}
				if want, ok := g.PathSecretFor(tree.LeafIndex(lp.Index)); !ok || !bytes.Equal(want, a.PathSecret) {
					return fmt.Errorf("PathSecretFor(%d) differs from the decrypted path secret", lp.Index)
				}
			}
		}
		return nil
	})
}
