package tree

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/good-offices/goodoffices/mls/internal/suite"
	"github.com/good-offices/goodoffices/mls/internal/treemath"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// labelUpdatePathNode is the EncryptWithLabel label of path secrets (§7.6).
const labelUpdatePathNode = "UpdatePathNode"

// PathParams is the context of creating or applying an UpdatePath.
type PathParams struct {
	// Context is the provisional GroupContext of the new epoch (§12.4.2):
	// the old context with the epoch incremented and the new extensions.
	// Its TreeHash is ignored: the path secrets are encrypted under this
	// context with the tree hash of the tree after the path is merged, which
	// GeneratePath and ApplyPath compute. Context is not modified.
	Context *wire.GroupContext
	// Exclude lists the leaves added by the commit: they are left out of the
	// resolutions the path secrets are encrypted to (§12.4.2) and learn
	// their path secret from the Welcome instead.
	Exclude []LeafIndex
}

// resolutionFor returns the resolution of copath node c without the
// excluded leaves: the recipients of a path secret (§7.5, §12.4.2).
func (t *Tree) resolutionFor(c NodeIndex, exclude []LeafIndex) []NodeIndex {
	res := t.Resolution(c)
	if len(exclude) == 0 {
		return res
	}
	out := make([]NodeIndex, 0, len(res))
	for _, r := range res {
		drop := false
		for _, e := range exclude {
			if r == e.Node() {
				drop = true
				break
			}
		}
		if !drop {
			out = append(out, r)
		}
	}
	return out
}

// contextWithTreeHash returns the encoded provisional GroupContext with t's
// current tree hash.
func (t *Tree) contextWithTreeHash(ctx *wire.GroupContext) ([]byte, error) {
	if ctx == nil {
		return nil, fmt.Errorf("%w: missing group context", ErrInvalidPath)
	}
	gc := *ctx
	gc.TreeHash = t.TreeHash()
	b, err := wire.Marshal(&gc)
	if err != nil {
		return nil, fmt.Errorf("failed to encode group context: %w", err)
	}
	return b, nil
}

// Generated is the result of Tree.GeneratePath.
type Generated struct {
	// Path is the UpdatePath to put in the Commit.
	Path *wire.UpdatePath
	// CommitSecret is the commit_secret of the new epoch (§8).
	CommitSecret []byte
	// Private is the committer's private state after the commit.
	Private *PrivateState
	// Context is the encoded provisional GroupContext the path secrets were
	// encrypted under (with the new tree hash).
	Context []byte

	sender      LeafIndex
	steps       []PathStep
	pathSecrets [][]byte
}

// PathSecretFor returns the path secret a new member at leaf l receives in
// its Welcome's GroupSecrets (§12.4.3): that of the lowest common ancestor of
// l and the committer on the committer's filtered direct path. ok is false
// when that ancestor is not on the path (l is the committer).
func (g *Generated) PathSecretFor(l LeafIndex) (secret []byte, ok bool) {
	lca := treemath.CommonAncestor(l.Node(), g.sender.Node())
	for i, st := range g.steps {
		if st.Node == lca {
			return g.pathSecrets[i], true
		}
	}
	return nil, false
}

// GeneratePath creates an UpdatePath for the member at leaf from (§7.4,
// §7.5, §12.4.2) and merges it into t, which must be the provisional tree
// (proposals of the commit applied). leaf is the template of the new leaf
// node (signature key, credential, capabilities, extensions); its encryption
// key, source (commit), parent hash and signature are set here, over the
// group ID of p.Context and the leaf index, with signer. The caller should
// validate the template like an Update's leaf node.
//
// Path secrets are encrypted, in parallel when there are many, to the
// resolution of each copath child minus p.Exclude. On error t may be
// partly changed: work on a Clone when the tree must survive a failure.
func (t *Tree) GeneratePath(from LeafIndex, leaf *wire.LeafNode, signer *suite.SigningKey, p *PathParams) (*Generated, error) {
	if t.Leaf(from) == nil {
		return nil, t.leafErr(from)
	}
	s := t.s
	steps := t.FilteredDirectPath(from)

	// Fresh leaf key pair and the chain of path secrets (§7.4).
	leafPriv, leafPub, err := s.GenerateKeyPair()
	if err != nil {
		return nil, fmt.Errorf("failed to generate leaf key: %w", err)
	}
	priv := &PrivateState{leaf: from, keys: make(map[NodeIndex]keyPair, len(steps)+1)}
	priv.keys[from.Node()] = keyPair{priv: leafPriv, pub: leafPub}
	ps := make([]byte, s.Nh())
	if _, err := rand.Read(ps); err != nil {
		return nil, err
	}
	pathSecrets := make([][]byte, len(steps))
	for i, st := range steps {
		pathSecrets[i] = ps
		k, err := deriveNodeKey(s, ps)
		if err != nil {
			return nil, err
		}
		priv.keys[st.Node] = k
		if ps, err = s.DeriveSecret(ps, "path"); err != nil {
			return nil, err
		}
	}
	commitSecret := ps
	if len(steps) == 0 {
		// No one else to share a path secret with: the commit secret is
		// still fresh randomness passed through the same derivation.
		if commitSecret, err = s.DeriveSecret(ps, "path"); err != nil {
			return nil, err
		}
	}

	// Merge: blank the direct path, set the new keys, chain parent hashes,
	// sign the new leaf (§7.5, §7.9).
	t.blankPath(from)
	for _, st := range steps {
		t.set(st.Node, &wire.Node{Type: wire.NodeTypeParent, Parent: &wire.ParentNode{EncryptionKey: priv.keys[st.Node].pub}})
	}
	ln := *leaf
	ln.EncryptionKey = leafPub
	ln.Source = wire.LeafNodeSourceCommit
	ln.Lifetime = nil
	ln.ParentHash = t.chainParentHashes(steps)
	ln.Signature = nil
	if p.Context == nil {
		return nil, fmt.Errorf("%w: missing group context", ErrInvalidPath)
	}
	if err := ln.Sign(signer, p.Context.GroupID, uint32(from)); err != nil {
		return nil, fmt.Errorf("failed to sign leaf node: %w", err)
	}
	t.set(from.Node(), &wire.Node{Type: wire.NodeTypeLeaf, Leaf: &ln})
	ctx, err := t.contextWithTreeHash(p.Context)
	if err != nil {
		return nil, err
	}

	// Encrypt each path secret to the copath child's resolution.
	path := &wire.UpdatePath{LeafNode: ln, Nodes: make([]wire.UpdatePathNode, len(steps))}
	var jobs []encJob
	for i, st := range steps {
		rs := t.resolutionFor(st.Copath, p.Exclude)
		path.Nodes[i] = wire.UpdatePathNode{
			EncryptionKey:       priv.keys[st.Node].pub,
			EncryptedPathSecret: make([]wire.HPKECiphertext, len(rs)),
		}
		for j, r := range rs {
			jobs = append(jobs, encJob{pub: t.EncryptionKey(r), secret: pathSecrets[i], out: &path.Nodes[i].EncryptedPathSecret[j]})
		}
	}
	if err := encryptAll(s, ctx, jobs); err != nil {
		return nil, err
	}
	return &Generated{
		Path:         path,
		CommitSecret: commitSecret,
		Private:      priv,
		Context:      ctx,
		sender:       from,
		steps:        steps,
		pathSecrets:  pathSecrets,
	}, nil
}

type encJob struct {
	pub, secret []byte
	out         *wire.HPKECiphertext
}

// parallelThreshold is the number of independent public-key operations
// from which they are spread over the available CPUs.
const parallelThreshold = 32

// parallel runs f(0) ... f(n-1), on several goroutines when n is large,
// and returns the error of the lowest index that failed. All goroutines have
// ended when it returns.
func parallel(n int, f func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n)
	if n < parallelThreshold || workers < 2 {
		for i := range n {
			if err := f(i); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, n)
	var (
		wg   sync.WaitGroup
		next atomic.Int64
	)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				errs[i] = f(i)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func encryptAll(s *suite.Suite, ctx []byte, jobs []encJob) error {
	return parallel(len(jobs), func(i int) error {
		j := jobs[i]
		kem, ct, err := s.EncryptWithLabel(j.pub, labelUpdatePathNode, ctx, j.secret)
		if err != nil {
			return fmt.Errorf("failed to encrypt path secret: %w", err)
		}
		*j.out = wire.HPKECiphertext{KEMOutput: kem, Ciphertext: ct}
		return nil
	})
}

// Applied is the result of Tree.ApplyPath.
type Applied struct {
	// CommitSecret is the commit_secret of the new epoch; nil when ApplyPath
	// was called without a private state.
	CommitSecret []byte
	// Private is the receiver's private state after the commit (stale keys
	// pruned, new ones added); nil without a private state.
	Private *PrivateState
	// Context is the encoded provisional GroupContext with the new tree
	// hash, under which the path secrets were encrypted.
	Context []byte
	// PathSecret is the path secret the receiver decrypted (that of the
	// lowest common ancestor with the sender). It is exposed for test
	// vectors; do not keep it.
	PathSecret []byte
}

// ApplyPath processes the UpdatePath of a commit by the member at leaf
// sender, as another member (§7.5, §12.4.2): it checks the path's shape
// against the provisional tree t (one node per filtered direct path node,
// one ciphertext per recipient), merges the new public keys and leaf node
// into t, checks the leaf's parent hash against the recomputed chain, and,
// when priv is not nil, decrypts the path secret addressed to the receiver,
// derives the keys above it, checks them against the path's public keys and
// returns the commit secret.
//
// The leaf node must be validated by the caller before (ValidateLeafNode
// with Source commit and Replacing). On error t may be partly changed: work
// on a Clone when the tree must survive a failure. priv is not modified.
func (t *Tree) ApplyPath(sender LeafIndex, path *wire.UpdatePath, priv *PrivateState, p *PathParams) (*Applied, error) {
	if t.Leaf(sender) == nil {
		return nil, t.leafErr(sender)
	}
	if path == nil || p.Context == nil {
		return nil, fmt.Errorf("%w: missing path or context", ErrInvalidPath)
	}
	if priv != nil && priv.leaf == sender {
		return nil, fmt.Errorf("%w: own update path", ErrInvalidPath)
	}
	s := t.s
	steps := t.FilteredDirectPath(sender)
	if len(path.Nodes) != len(steps) {
		return nil, fmt.Errorf("%w: %d nodes for a filtered direct path of %d", ErrInvalidPath, len(path.Nodes), len(steps))
	}
	if path.LeafNode.Source != wire.LeafNodeSourceCommit {
		return nil, fmt.Errorf("%w: leaf node source is not commit", ErrInvalidPath)
	}
	if _, err := leafNode(&path.LeafNode); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPath, err)
	}
	// Find the receiver's ciphertext before the tree changes.
	at, slot := -1, -1
	var key []byte
	for i, st := range steps {
		rs := t.resolutionFor(st.Copath, p.Exclude)
		if len(path.Nodes[i].EncryptedPathSecret) != len(rs) {
			return nil, fmt.Errorf("%w: %d ciphertexts for %d recipients at node %d", ErrInvalidPath, len(path.Nodes[i].EncryptedPathSecret), len(rs), st.Node)
		}
		if err := s.ValidateHPKEPublicKey(path.Nodes[i].EncryptionKey); err != nil {
			return nil, fmt.Errorf("%w: public key of node %d", ErrInvalidPath, st.Node)
		}
		if priv == nil || at >= 0 || !treemath.IsAncestor(st.Copath, priv.leaf.Node()) {
			continue
		}
		at = i
		for j, r := range rs {
			if k, ok := priv.privateKey(t, r); ok {
				slot, key = j, k
				break
			}
		}
		if slot < 0 {
			return nil, ErrNoPrivateKey
		}
	}
	if priv != nil && at < 0 {
		return nil, fmt.Errorf("%w: receiver is not below the path", ErrNoPrivateKey)
	}

	// Merge the public part (§7.5) and check the parent hash chain.
	t.blankPath(sender)
	for i, st := range steps {
		t.set(st.Node, &wire.Node{Type: wire.NodeTypeParent, Parent: &wire.ParentNode{EncryptionKey: path.Nodes[i].EncryptionKey}})
	}
	leafPH := t.chainParentHashes(steps)
	if !bytes.Equal(leafPH, path.LeafNode.ParentHash) {
		return nil, ErrParentHash
	}
	ln := path.LeafNode
	t.set(sender.Node(), &wire.Node{Type: wire.NodeTypeLeaf, Leaf: &ln})
	ctx, err := t.contextWithTreeHash(p.Context)
	if err != nil {
		return nil, err
	}
	out := &Applied{Context: ctx}
	if priv == nil {
		return out, nil
	}

	// Decrypt and derive up the path (§7.5).
	ct := path.Nodes[at].EncryptedPathSecret[slot]
	ps, err := s.DecryptWithLabel(key, labelUpdatePathNode, ctx, ct.KEMOutput, ct.Ciphertext)
	if err != nil {
		return nil, fmt.Errorf("failed to decrypt path secret: %w", err)
	}
	out.PathSecret = ps
	q := priv.Clone()
	q.Prune(t)
	for _, st := range steps[at:] {
		k, err := deriveNodeKey(s, ps)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(k.pub, t.EncryptionKey(st.Node)) {
			return nil, fmt.Errorf("%w: node %d", ErrPathKeyMismatch, st.Node)
		}
		q.keys[st.Node] = k
		if ps, err = s.DeriveSecret(ps, "path"); err != nil {
			return nil, err
		}
	}
	out.CommitSecret = ps
	out.Private = q
	return out, nil
}
