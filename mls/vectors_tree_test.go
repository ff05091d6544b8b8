package mls

import (
	"errors"
	"fmt"
	"testing"

	"github.com/good-offices/goodoffices/mls/internal/suite"
	"github.com/good-offices/goodoffices/mls/internal/tree"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// tree-validation.json: tree hashes, resolutions, parent hashes and leaf
// signatures (§7.8, §7.9, §4.1.1, §7.3).
func runTreeValidation(t *testing.T, data []byte) vectorCounts {
	type tc struct {
		CipherSuite uint16     `json:"cipher_suite"`
		Tree        hexBytes   `json:"tree"`
		GroupID     hexBytes   `json:"group_id"`
		TreeHashes  []hexBytes `json:"tree_hashes"`
		Resolutions [][]uint32 `json:"resolutions"`
	}
	return runCases(t, data, func(c *tc) uint16 { return c.CipherSuite }, func(t *testing.T, c *tc) error {
		s, err := suite.Lookup(c.CipherSuite)
		if err != nil {
			return err
		}
		tr, err := tree.Decode(s, c.Tree)
		if err != nil {
			return err
		}
		if int(tr.Width()) != len(c.TreeHashes) || len(c.Resolutions) != len(c.TreeHashes) {
			return fmt.Errorf("tree width %d, vector has %d hashes and %d resolutions", tr.Width(), len(c.TreeHashes), len(c.Resolutions))
		}
		for i := range c.TreeHashes {
			x := tree.NodeIndex(i)
			if err := eq(fmt.Sprintf("tree hash of node %d", i), tr.NodeHash(x), c.TreeHashes[i]); err != nil {
				return err
			}
			got := tr.Resolution(x)
			if len(got) != len(c.Resolutions[i]) {
				return fmt.Errorf("resolution of node %d: got %v, want %v", i, got, c.Resolutions[i])
			}
			for j := range got {
				if uint32(got[j]) != c.Resolutions[i][j] {
					return fmt.Errorf("resolution of node %d: got %v, want %v", i, got, c.Resolutions[i])
				}
			}
		}
		if err := tr.VerifyParentHashes(); err != nil {
			return err
		}
		var sigErr error
		tr.Members(func(l tree.LeafIndex, leaf *wire.LeafNode) bool {
			sigErr = leaf.VerifySignature(s, c.GroupID, uint32(l))
			return sigErr == nil
		})
		if sigErr != nil {
			return sigErr
		}
		// The full join-time validation accepts the tree.
		if err := tr.Validate(&tree.TreeValidation{GroupID: c.GroupID, TreeHash: c.TreeHashes[tr.Root()]}); err != nil {
			return err
		}
		// A wrong expected tree hash is rejected.
		bad := append([]byte(nil), c.TreeHashes[tr.Root()]...)
		bad[0] ^= 1
		if err := tr.Validate(&tree.TreeValidation{GroupID: c.GroupID, TreeHash: bad}); !errors.Is(err, tree.ErrTreeHash) {
			return fmt.Errorf("wrong tree hash: got %v", err)
		}
		// Re-encoding gives the same bytes.
		enc, err := tr.Encode()
		if err != nil {
			return err
		}
		return eq("re-encoded tree", enc, c.Tree)
	})
}

// tree-operations.json: Add, Update and Remove applied to a tree (§7.7,
// §12.1).
func runTreeOperations(t *testing.T, data []byte) vectorCounts {
	type tc struct {
		CipherSuite    uint16   `json:"cipher_suite"`
		TreeBefore     hexBytes `json:"tree_before"`
		Proposal       hexBytes `json:"proposal"`
		ProposalSender uint32   `json:"proposal_sender"`
		TreeHashBefore hexBytes `json:"tree_hash_before"`
		TreeAfter      hexBytes `json:"tree_after"`
		TreeHashAfter  hexBytes `json:"tree_hash_after"`
	}
	return runCases(t, data, func(c *tc) uint16 { return c.CipherSuite }, func(t *testing.T, c *tc) error {
		s, err := suite.Lookup(c.CipherSuite)
		if err != nil {
			return err
		}
		tr, err := tree.Decode(s, c.TreeBefore)
		if err != nil {
			return err
		}
		if err := eq("tree hash before", tr.TreeHash(), c.TreeHashBefore); err != nil {
			return err
		}
		var p wire.Proposal
		if err := wire.Unmarshal(c.Proposal, &p); err != nil {
			return err
		}
		switch p.Type {
		case wire.ProposalTypeAdd:
			_, err = tr.AddLeaf(&p.Add.KeyPackage.LeafNode)
		case wire.ProposalTypeUpdate:
			err = tr.UpdateLeaf(tree.LeafIndex(c.ProposalSender), &p.Update.LeafNode)
		case wire.ProposalTypeRemove:
			err = tr.RemoveLeaf(tree.LeafIndex(p.Remove.Removed))
		default:
			return fmt.Errorf("unexpected proposal type %d", p.Type)
		}
		if err != nil {
			return err
		}
		enc, err := tr.Encode()
		if err != nil {
			return err
		}
		if err := eq("tree after", enc, c.TreeAfter); err != nil {
			return err
		}
		if err := eq("tree hash after", tr.TreeHash(), c.TreeHashAfter); err != nil {
			return err
		}
		// A tree decoded from scratch has the same hash (the caches were
		// invalidated correctly).
		fresh, err := tree.Decode(s, c.TreeAfter)
		if err != nil {
			return err
		}
		return eq("tree hash of the decoded tree after", fresh.TreeHash(), c.TreeHashAfter)
	})
}
