package mls_test

import (
	"github.com/good-offices/goodoffices/mls"
)

// reinitTarget is the suite a scenario's group is re-initialised to: the
// X-Wing suite, as a channel upgrades to post-quantum confidentiality
// (from 0x0053, the other X-Wing suite).
func reinitTarget(cs mls.CipherSuite) mls.CipherSuite {
	if cs == 0x0053 {
		return 0x0054
	}
	return 0x0053
}

// ---- Resumption: ReInit (§11.2) and branch (§11.3) ----

// goReInits: our member commits a ReInit (§11.2, §12.1.5) to the X-Wing
// suite, every member sees the group closed, our member creates the
// successor with the reinit resumption PSK (§8.6) and the others, ts-mls
// ones included, join it from its Welcome; the new group goes on.
func goReInits(h *harness) { reinit(h, false) }

// tsReInits: the same with ts-mls committing the ReInit and creating the
// successor, which our members join.
func tsReInits(h *harness) { reinit(h, true) }

func reinit(h *harness, byTS bool) {
	a := h.goMember("alice")
	b := h.tsMember("bob")
	c := h.goMember("carol")
	d := h.tsMember("dave")
	h.create(a)
	h.add(a, true, b, c)
	h.add(b, true, d)
	h.messages()

	target := reinitTarget(h.cs)
	newID := []byte("successor of " + h.prefix)
	committer, creator := a, a
	if byTS {
		committer, creator = b, b
	}
	h.commit(committer, commitSpec{reinit: &reinitSpec{groupID: newID, suite: target}}, nil, nil)
	for _, m := range h.members {
		if m.state("", nil, 0).active {
			h.t.Fatalf("%s still takes messages after the ReInit commit", m.name())
		}
	}

	// The successor, with each member under a new identity of the new suite.
	n := &harness{t: h.t, d: h.d, cs: target, prefix: h.prefix + "successor/", epoch: 1}
	next := map[member]member{
		a: n.goMember("alice"), b: n.tsMember("bob"), c: n.goMember("carol"), d: n.tsMember("dave"),
	}
	var kps [][]byte
	for _, old := range h.members {
		if old != creator {
			kps = append(kps, next[old].keyPackage())
		}
	}
	welcome, tree := next[creator].(resumer).createSuccessor(creator, kps)
	for _, old := range h.members {
		if old != creator {
			next[old].(resumer).joinSuccessor(old, welcome, tree)
		}
	}
	n.members = []member{next[a], next[b], next[c], next[d]}
	if s := next[a].state("", nil, 0); s.epoch != 1 {
		h.t.Fatalf("the successor is in epoch %d, want 1", s.epoch)
	}
	n.agree()
	n.messages()
	n.update(next[b])
	n.update(next[c])
	n.remove(next[a], next[d])
	n.messages()
}

// goBranches, tsBranches: a member of either side branches a subgroup
// (§11.3) with a member of each side, who join it with the branch
// resumption PSK; the subgroup and the old group both go on.
func goBranches(h *harness) { branch(h, false) }
func tsBranches(h *harness) { branch(h, true) }

func branch(h *harness, byTS bool) {
	a := h.goMember("alice")
	b := h.tsMember("bob")
	c := h.goMember("carol")
	d := h.tsMember("dave")
	h.create(a)
	h.add(a, true, b, c, d)
	h.messages()

	creator, others := a, []member{b, c}
	if byTS {
		creator, others = b, []member{a, d}
	}
	n := &harness{t: h.t, d: h.d, cs: h.cs, uncompressed: h.uncompressed, prefix: h.prefix + "branch/", epoch: 1}
	next := map[member]member{
		a: a.(*goMember).sibling(), b: n.tsMember("bob"), c: c.(*goMember).sibling(), d: n.tsMember("dave"),
	}
	var kps [][]byte
	for _, o := range others {
		kps = append(kps, next[o].keyPackage())
	}
	welcome, tree := next[creator].(resumer).createBranch(creator, []byte("branch of "+h.prefix), kps)
	n.members = []member{next[creator]}
	for _, o := range others {
		next[o].(resumer).joinBranch(o, welcome, tree)
		n.members = append(n.members, next[o])
	}
	n.agree()
	n.messages()
	n.update(next[others[0]])
	n.update(next[others[1]])
	n.messages()
	// The old group is unchanged and goes on.
	h.agree()
	h.messages()
	h.update(d)
	h.messages()
}

// sibling is another client state of the same identity, for a subgroup.
func (m *goMember) sibling() *goMember {
	return &goMember{t: m.t, n: m.n, id: m.id, cfg: m.cfg, psks: m.psks}
}

func (m *goMember) createBranch(old member, groupID []byte, kps [][]byte) (welcome, tree []byte) {
	m.t.Helper()
	g, w, err := old.(*goMember).g.Branch(groupID, parseKeyPackages(m, kps), m.cfg, nil)
	if err != nil {
		m.t.Fatalf("%s: failed to branch: %v", m.n, err)
	}
	m.g = g
	if tree, err = g.RatchetTree(); err != nil {
		m.t.Fatalf("%s: failed to encode ratchet tree: %v", m.n, err)
	}
	return w, tree
}

func (m *goMember) joinBranch(old member, welcome, tree []byte) { m.joinSuccessor(old, welcome, tree) }

func (m *tsMember) createBranch(old member, groupID []byte, kps [][]byte) (welcome, tree []byte) {
	r := m.call(driverRequest{Cmd: "branch", From: old.(*tsMember).client, GroupID: groupID, Adds: kps, Identity: m.n, Uncompressed: m.uncompressed})
	return r.Welcome, r.RatchetTree
}

func (m *tsMember) joinBranch(old member, welcome, tree []byte) {
	m.call(driverRequest{Cmd: "join_branch", From: old.(*tsMember).client, Welcome: welcome, RatchetTree: tree})
}

func parseKeyPackages(m *goMember, kps [][]byte) []*mls.KeyPackage {
	m.t.Helper()
	var parsed []*mls.KeyPackage
	for _, kp := range kps {
		k, err := mls.ParseKeyPackage(kp)
		if err != nil {
			m.t.Fatalf("%s: failed to parse a key package: %v", m.n, err)
		}
		parsed = append(parsed, k)
	}
	return parsed
}

// resumer is a member that can create or join the successor of its group.
type resumer interface {
	// createSuccessor creates the successor of old's closed group with the
	// other members' key packages and returns the Welcome and the ratchet
	// tree.
	createSuccessor(old member, keyPackages [][]byte) (welcome, tree []byte)
	// joinSuccessor joins it, with old's state of the closed group.
	joinSuccessor(old member, welcome, tree []byte)
	// createBranch creates a subgroup of old's group with the given
	// members' key packages and returns the Welcome and the ratchet tree.
	createBranch(old member, groupID []byte, keyPackages [][]byte) (welcome, tree []byte)
	// joinBranch joins it, with old's state of the group.
	joinBranch(old member, welcome, tree []byte)
}

func (m *goMember) createSuccessor(old member, kps [][]byte) (welcome, tree []byte) {
	m.t.Helper()
	g, w, err := old.(*goMember).g.CreateSuccessor(m.id, parseKeyPackages(m, kps), m.cfg, nil)
	if err != nil {
		m.t.Fatalf("%s: failed to create the successor: %v", m.n, err)
	}
	m.g = g
	if tree, err = g.RatchetTree(); err != nil {
		m.t.Fatalf("%s: failed to encode ratchet tree: %v", m.n, err)
	}
	return w, tree
}

func (m *goMember) joinSuccessor(old member, welcome, tree []byte) {
	m.t.Helper()
	g, err := mls.Join(m.id, m.priv, welcome, m.cfg, &mls.JoinOptions{RatchetTree: tree, ResumedGroup: old.(*goMember).g})
	if err != nil {
		m.t.Fatalf("%s: failed to join the successor: %v", m.n, err)
	}
	m.g = g
}

func (m *tsMember) createSuccessor(old member, kps [][]byte) (welcome, tree []byte) {
	r := m.call(driverRequest{Cmd: "successor", From: old.(*tsMember).client, Adds: kps, Identity: m.n})
	return r.Welcome, r.RatchetTree
}

func (m *tsMember) joinSuccessor(old member, welcome, tree []byte) {
	m.call(driverRequest{Cmd: "join_reinit", From: old.(*tsMember).client, Welcome: welcome, RatchetTree: tree})
}
