package mls

import (
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"testing"

	"github.com/good-offices/goodoffices/mls/internal/codec"
	"github.com/good-offices/goodoffices/mls/internal/keyschedule"
	"github.com/good-offices/goodoffices/mls/internal/suite"
	"github.com/good-offices/goodoffices/mls/internal/tree"
	"github.com/good-offices/goodoffices/mls/internal/treemath"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// Runners for files that the working group's repository held in earlier
// layouts of the same checks (test-vectors/transcript.json,
// transcripts-hashes.json, parent_hash.json): their structs are RFC 9420's,
// only the JSON fields differ from today's files.

// transcript.json: the transcript hashes (§8.2) of a commit given as an
// MLSMessage (a PublicMessage) rather than an AuthenticatedContent.
func runTranscriptMessage(t *testing.T, data []byte) vectorCounts {
	type tc struct {
		CipherSuite                  uint16   `json:"cipher_suite"`
		ConfirmationKey              hexBytes `json:"confirmation_key"`
		Message                      hexBytes `json:"message"`
		InterimTranscriptHashBefore  hexBytes `json:"interim_transcript_hash_before"`
		ConfirmedTranscriptHashAfter hexBytes `json:"confirmed_transcript_hash_after"`
		InterimTranscriptHashAfter   hexBytes `json:"interim_transcript_hash_after"`
	}
	return runCases(t, data, func(c *tc) uint16 { return c.CipherSuite }, func(t *testing.T, c *tc) error {
		s, err := suite.Lookup(c.CipherSuite)
		if err != nil {
			return err
		}
		var m wire.MLSMessage
		if err := wire.Unmarshal(c.Message, &m); err != nil {
			return err
		}
		if m.PublicMessage == nil {
			return fmt.Errorf("message of wire format %d, want a PublicMessage", m.WireFormat)
		}
		pm := m.PublicMessage
		ac := wire.AuthenticatedContent{WireFormat: m.WireFormat, Content: pm.Content, Auth: pm.Auth}
		return checkCommitTranscript(s, c.InterimTranscriptHashBefore, &ac, c.ConfirmationKey, c.ConfirmedTranscriptHashAfter, c.InterimTranscriptHashAfter)
	})
}

// transcripts-hashes.json: a GroupContext and a commit's
// ConfirmedTranscriptHashInput built from their fields, and the transcript
// hashes (§8.2).
func runTranscriptsHashes(t *testing.T, data []byte) vectorCounts {
	type tc struct {
		CipherSuite                   uint16   `json:"cipher_suite"`
		GroupID                       hexBytes `json:"group_id"`
		Epoch                         uint64   `json:"epoch"`
		TreeHash                      hexBytes `json:"tree_hash"`
		ConfirmedTranscriptHashBefore hexBytes `json:"confirmed_transcript_hash_before"`
		ConfirmationKey               hexBytes `json:"confirmation_key"`
		WireFormat                    uint16   `json:"wire_format"`
		AuthenticatedData             hexBytes `json:"authenticated_data"`
		Commit                        hexBytes `json:"commit"`
		Sender                        hexBytes `json:"sender"`
		Signature                     hexBytes `json:"signature"`
		GroupContext                  hexBytes `json:"group_context"`
		ConfirmedTranscriptHashInput  hexBytes `json:"confirmed_transcript_hash_input"`
		InterimTranscriptHash         hexBytes `json:"interim_transcript_hash"`
		ConfirmedTranscriptHashAfter  hexBytes `json:"confirmed_transcript_hash_after"`
	}
	return runCases(t, data, func(c *tc) uint16 { return c.CipherSuite }, func(t *testing.T, c *tc) error {
		s, err := suite.Lookup(c.CipherSuite)
		if err != nil {
			return err
		}
		gc := wire.GroupContext{
			Version: wire.MLS10, CipherSuite: wire.CipherSuite(c.CipherSuite), GroupID: c.GroupID, Epoch: c.Epoch,
			TreeHash: c.TreeHash, ConfirmedTranscriptHash: c.ConfirmedTranscriptHashBefore, Extensions: wire.Extensions{},
		}
		enc, err := wire.Marshal(&gc)
		if err != nil {
			return err
		}
		if err := eq("group_context", enc, c.GroupContext); err != nil {
			return err
		}
		var sender wire.Sender
		if err := wire.Unmarshal(c.Sender, &sender); err != nil {
			return fmt.Errorf("sender: %w", err)
		}
		var commit wire.Commit
		if err := wire.Unmarshal(c.Commit, &commit); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		content := wire.FramedContent{
			GroupID: c.GroupID, Epoch: c.Epoch, Sender: sender, AuthenticatedData: c.AuthenticatedData,
			ContentType: wire.ContentTypeCommit, Commit: &commit,
		}
		in, err := wire.ConfirmedTranscriptHashInput(wire.WireFormat(c.WireFormat), &content, c.Signature)
		if err != nil {
			return err
		}
		if err := eq("confirmed_transcript_hash_input", in, c.ConfirmedTranscriptHashInput); err != nil {
			return err
		}
		confirmed, err := keyschedule.ConfirmedTranscriptHash(s, c.InterimTranscriptHash, wire.WireFormat(c.WireFormat), &content, c.Signature)
		if err != nil {
			return err
		}
		return eq("confirmed_transcript_hash_after", confirmed, c.ConfirmedTranscriptHashAfter)
	})
}

// parent_hash.json: a ratchet tree whose parent hashes are valid (§7.9.2),
// with the tree hash of every node (§7.8).
func runParentHash(t *testing.T, data []byte) vectorCounts {
	type tc struct {
		CipherSuite uint16     `json:"cipher_suite"`
		Tree        hexBytes   `json:"tree"`
		TreeHashes  []hexBytes `json:"tree_hashes"`
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
		if n := len(c.TreeHashes); int(tr.Width()) != n {
			if n%2 == 1 && bits.OnesCount(uint((n+1)/2)) != 1 {
				// RFC 9420 trees have 2^d leaves (§7.7, Appendix C).
				return fmt.Errorf("%w: a tree of %d nodes (%d leaves) is not full", errPreRFCVector, n, (n+1)/2)
			}
			return fmt.Errorf("tree width %d, vector has %d hashes", tr.Width(), n)
		}
		for i := range c.TreeHashes {
			x := tree.NodeIndex(i)
			if err := eq(fmt.Sprintf("tree hash of node %d", i), tr.NodeHash(x), c.TreeHashes[i]); err != nil {
				if !x.IsLeaf() && draftParentHash(s, tr, x, c.TreeHashes) {
					return fmt.Errorf("%w: the tree hash of parent node %d covers its node index, as drafts before RFC 9420 did (§7.8 has no index in ParentNodeHashInput)", errPreRFCVector, i)
				}
				return err
			}
		}
		if err := tr.VerifyParentHashes(); err != nil {
			return err
		}
		// Leaves from key packages sign no group ID: their signatures can
		// be checked without one.
		var sigErr error
		tr.Members(func(l tree.LeafIndex, leaf *wire.LeafNode) bool {
			if leaf.Source == wire.LeafNodeSourceKeyPackage {
				sigErr = leaf.VerifySignature(s, nil, uint32(l))
			}
			return sigErr == nil
		})
		if sigErr != nil {
			return sigErr
		}
		enc, err := tr.Encode()
		if err != nil {
			return err
		}
		return eq("re-encoded tree", enc, c.Tree)
	})
}

// draftParentHash reports whether want[x] is the tree hash of parent node x
// as drafts before RFC 9420 computed it: Hash(node_type || uint32 node_index
// || optional<ParentNode> || left_hash<V> || right_hash<V>), with the
// vector's hashes of the children.
func draftParentHash(s *suite.Suite, tr *tree.Tree, x tree.NodeIndex, want []hexBytes) bool {
	l, ok1 := treemath.Left(x)
	r, ok2 := treemath.Right(x)
	if !ok1 || !ok2 || int(l) >= len(want) || int(r) >= len(want) {
		return false
	}
	var w codec.Writer
	w.Uint8(uint8(wire.NodeTypeParent))
	w.Uint32(uint32(x))
	p := tr.ParentNode(x)
	w.Optional(p != nil, func(w *codec.Writer) { p.MarshalTLS(w) })
	w.Opaque(want[l])
	w.Opaque(want[r])
	b, err := w.Bytes()
	return err == nil && string(s.Hash(b)) == string(want[x])
}

// TestParentHashRunner runs the parent_hash.json runner on the trees of
// tree-validation.json, which carry the same fields and more: the runner
// works before the file is at hand.
func TestParentHashRunner(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "vectors", "tree-validation.json"))
	if err != nil {
		t.Fatal(err)
	}
	c := runParentHash(t, data)
	if c.failed != 0 || c.passed == 0 {
		t.Fatalf("%+v", c)
	}
	t.Logf("tree-validation.json as parent_hash.json: %d passed, %d failed, %d unsupported", c.passed, c.failed, c.unsupported)
}
