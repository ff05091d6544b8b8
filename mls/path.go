package mls

import (
	"errors"
	"fmt"

	"github.com/good-offices/goodoffices/mls/internal/tree"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// pathSecretFunc returns the path secret a new member at leaf l receives in
// its Welcome, or nil.
type pathSecretFunc func(l tree.LeafIndex) []byte

// generatePath creates this member's UpdatePath on the provisional tree t
// (§7.4-§7.6, §12.4.1) and merges it; added are the leaves the commit adds.
func (g *Group) generatePath(t *tree.Tree, from tree.LeafIndex, added []tree.LeafIndex, ctx *wire.GroupContext) (*wire.UpdatePath, []byte, *tree.PrivateState, pathSecretFunc, error) {
	template := g.leafTemplate()
	gen, err := t.GeneratePath(from, template, g.id.key, &tree.PathParams{Context: ctx, Exclude: added})
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("failed to generate the update path: %w", err)
	}
	secrets := func(l tree.LeafIndex) []byte {
		s, ok := gen.PathSecretFor(l)
		if !ok {
			return nil
		}
		return s
	}
	return gen.Path, gen.CommitSecret, gen.Private, secrets, nil
}

// leafTemplate returns the template of this member's next leaf node.
func (g *Group) leafTemplate() *wire.LeafNode {
	leaf := &wire.LeafNode{
		SignatureKey: g.id.key.Public(),
		Credential:   g.id.credential.toWire(),
		Capabilities: defaultCapabilities(g.id.cs, false),
		Source:       wire.LeafNodeSourceCommit,
		Extensions:   wire.Extensions{},
	}
	if old := leafAt(g.tree, g.own); old != nil {
		leaf.Capabilities = old.Capabilities
		leaf.Extensions = old.Extensions
	}
	return leaf
}

// applyPath merges a received UpdatePath of the member at sender into the
// provisional tree t and decrypts this member's path secret (§12.4.2). It
// returns the commit secret and the new private state.
func (g *Group) applyPath(t *tree.Tree, priv *tree.PrivateState, sender tree.LeafIndex, path *wire.UpdatePath, added []tree.LeafIndex, ctx *wire.GroupContext) ([]byte, *tree.PrivateState, error) {
	// §12.4.2: none of the UpdatePath's public keys may already be in the
	// tree (the leaf's was checked with the leaf node).
	if len(path.Nodes) > 0 {
		keys := make(map[string]bool, len(path.Nodes))
		for _, n := range path.Nodes {
			if keys[string(n.EncryptionKey)] {
				return nil, nil, fmt.Errorf("%w: update path repeats a public key", ErrInvalidCommit)
			}
			keys[string(n.EncryptionKey)] = true
		}
		if keys[string(path.LeafNode.EncryptionKey)] {
			return nil, nil, fmt.Errorf("%w: update path repeats the leaf's public key", ErrInvalidCommit)
		}
		for x := uint32(0); x < t.Width(); x++ {
			if k := t.EncryptionKey(tree.NodeIndex(x)); k != nil && keys[string(k)] {
				return nil, nil, fmt.Errorf("%w: update path reuses the public key of node %d", ErrInvalidCommit, x)
			}
		}
	}
	res, err := t.ApplyPath(sender, path, priv, &tree.PathParams{Context: ctx, Exclude: added})
	if err != nil {
		switch {
		case errors.Is(err, tree.ErrParentHash), errors.Is(err, tree.ErrInvalidPath), errors.Is(err, tree.ErrPathKeyMismatch), errors.Is(err, tree.ErrNoPrivateKey):
			return nil, nil, fmt.Errorf("%w: update path: %w", ErrInvalidCommit, err)
		}
		return nil, nil, classify(fmt.Errorf("failed to apply the update path: %w", err))
	}
	return res.CommitSecret, res.Private, nil
}
