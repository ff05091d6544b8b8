package treemath

import (
	"slices"
	"testing"
)

func TestSmallTree(t *testing.T) {
	// 4 leaves: nodes 0..6, root 3.
	if Root(4) != 3 || NodeWidth(4) != 7 || Root(1) != 0 || Root(8) != 7 {
		t.Fatal("root/width wrong")
	}
	if p, ok := Parent(0, 4); !ok || p != 1 {
		t.Errorf("Parent(0) = %d %v", p, ok)
	}
	if _, ok := Parent(3, 4); ok {
		t.Error("root has a parent")
	}
	if _, ok := Left(2); ok {
		t.Error("leaf has a child")
	}
	if got := DirectPath(0, 4); !slices.Equal(got, []NodeIndex{1, 3}) {
		t.Errorf("DirectPath(0) = %v", got)
	}
	if got := Copath(0, 4); !slices.Equal(got, []NodeIndex{2, 5}) {
		t.Errorf("Copath(0) = %v", got)
	}
	if got := CommonAncestor(0, 6); got != 3 {
		t.Errorf("CommonAncestor(0, 6) = %d", got)
	}
	if got := CommonAncestor(4, 6); got != 5 {
		t.Errorf("CommonAncestor(4, 6) = %d", got)
	}
	if got := CommonAncestor(2, 2); got != 2 {
		t.Errorf("CommonAncestor(2, 2) = %d", got)
	}
	if !IsAncestor(3, 6) || IsAncestor(1, 4) || !IsAncestor(5, 5) {
		t.Error("IsAncestor wrong")
	}
	if f, e := SubtreeLeaves(5, 4); f != 2 || e != 4 {
		t.Errorf("SubtreeLeaves(5) = %d, %d", f, e)
	}
	if _, ok := Parent(100, 4); ok {
		t.Error("node outside the tree has a parent")
	}
}

func TestCommonAncestorAgreesWithPaths(t *testing.T) {
	const n = 16
	for a := LeafIndex(0); a < n; a++ {
		for b := LeafIndex(0); b < n; b++ {
			x, y := a.Node(), b.Node()
			want := x
			if a != b {
				px := DirectPath(x, n)
				py := DirectPath(y, n)
				for _, p := range px {
					if slices.Contains(py, p) {
						want = p
						break
					}
				}
			}
			if got := CommonAncestor(x, y); got != want {
				t.Fatalf("CommonAncestor(%d, %d) = %d, want %d", x, y, got, want)
			}
		}
	}
}
