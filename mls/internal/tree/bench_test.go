package tree

import (
	"fmt"
	"testing"
)

// Benchmarks at 10, 100 and 1000 members, in a populated tree (every member
// committed once) and right after a bulk add (one path from the creator,
// every other parent blank). "add" benchmarks include adding one new member
// whose leaf is excluded from the path encryption, as a commit with one Add
// does.

var benchSizes = []int{10, 100, 1000}

func BenchmarkTreeHash(b *testing.B) {
	s := mustSuite(b, 1)
	for _, n := range benchSizes {
		g := newGroup(b, s, n, false, 0)
		b.Run(fmt.Sprintf("full/%d", n), func(b *testing.B) {
			for b.Loop() {
				t := g.t.Clone()
				clear(t.cache)
				t.TreeHash()
			}
		})
		b.Run(fmt.Sprintf("one-leaf-changed/%d", n), func(b *testing.B) {
			m := newMember(b, s, "x")
			for b.Loop() {
				t := g.t.Clone()
				if err := t.UpdateLeaf(LeafIndex(n/2), m.leaf); err != nil {
					b.Fatal(err)
				}
				t.TreeHash()
			}
		})
	}
}

func benchGenerate(b *testing.B, populate bool) {
	s := mustSuite(b, 1)
	for _, n := range benchSizes {
		g := newGroup(b, s, n, populate, 0)
		newcomer := newMember(b, s, "new")
		from := LeafIndex(0)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				t := g.t.Clone()
				l, err := t.AddLeaf(newcomer.leaf)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := t.GeneratePath(from, t.Leaf(from), g.members[from].sk, &PathParams{Context: testContext(s, g.epoch+1), Exclude: []LeafIndex{l}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkGeneratePathPopulated(b *testing.B) { benchGenerate(b, true) }
func BenchmarkGeneratePathBulkAdded(b *testing.B) { benchGenerate(b, false) }

func benchApply(b *testing.B, populate bool) {
	s := mustSuite(b, 1)
	for _, n := range benchSizes {
		g := newGroup(b, s, n, populate, 0, LeafIndex(n-1))
		newcomer := newMember(b, s, "new")
		from, to := LeafIndex(0), LeafIndex(n-1)
		pre := g.t.Clone()
		l, err := pre.AddLeaf(newcomer.leaf)
		if err != nil {
			b.Fatal(err)
		}
		params := &PathParams{Context: testContext(s, g.epoch+1), Exclude: []LeafIndex{l}}
		gen, err := pre.Clone().GeneratePath(from, pre.Leaf(from), g.members[from].sk, params)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				t := g.t.Clone()
				if _, err := t.AddLeaf(newcomer.leaf); err != nil {
					b.Fatal(err)
				}
				a, err := t.ApplyPath(from, gen.Path, g.privs[to], params)
				if err != nil {
					b.Fatal(err)
				}
				if string(a.CommitSecret) != string(gen.CommitSecret) {
					b.Fatal("commit secrets differ")
				}
			}
		})
	}
}

func BenchmarkApplyPathPopulated(b *testing.B) { benchApply(b, true) }
func BenchmarkApplyPathBulkAdded(b *testing.B) { benchApply(b, false) }

// BenchmarkDecodeValidate is what a new member does with the ratchet_tree
// of a Welcome: decode, then validate everything (one signature
// verification per member dominates).
func BenchmarkDecodeValidate(b *testing.B) {
	s := mustSuite(b, 1)
	for _, n := range benchSizes {
		g := newGroup(b, s, n, true, 0)
		enc, err := g.t.Encode()
		if err != nil {
			b.Fatal(err)
		}
		th := g.t.TreeHash()
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				t, err := Decode(s, enc)
				if err != nil {
					b.Fatal(err)
				}
				if err := t.Validate(&TreeValidation{GroupID: testGroupID, TreeHash: th}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
