package mls

import (
	"errors"
	"fmt"
	"testing"

	"github.com/good-offices/goodoffices/mls/internal/suite"
	"github.com/good-offices/goodoffices/mls/internal/treemath"
)

// crypto-basics.json: labelled primitives (RFC 9420 §5).
func runCryptoBasics(t *testing.T, data []byte) vectorCounts {
	type tc struct {
		CipherSuite uint16 `json:"cipher_suite"`
		RefHash     struct {
			Label string   `json:"label"`
			Value hexBytes `json:"value"`
			Out   hexBytes `json:"out"`
		} `json:"ref_hash"`
		ExpandWithLabel struct {
			Secret  hexBytes `json:"secret"`
			Label   string   `json:"label"`
			Context hexBytes `json:"context"`
			Length  int      `json:"length"`
			Out     hexBytes `json:"out"`
		} `json:"expand_with_label"`
		DeriveSecret struct {
			Secret hexBytes `json:"secret"`
			Label  string   `json:"label"`
			Out    hexBytes `json:"out"`
		} `json:"derive_secret"`
		DeriveTreeSecret struct {
			Secret     hexBytes `json:"secret"`
			Label      string   `json:"label"`
			Generation uint32   `json:"generation"`
			Length     int      `json:"length"`
			Out        hexBytes `json:"out"`
		} `json:"derive_tree_secret"`
		SignWithLabel struct {
			Priv      hexBytes `json:"priv"`
			Pub       hexBytes `json:"pub"`
			Content   hexBytes `json:"content"`
			Label     string   `json:"label"`
			Signature hexBytes `json:"signature"`
		} `json:"sign_with_label"`
		EncryptWithLabel struct {
			Priv       hexBytes `json:"priv"`
			Pub        hexBytes `json:"pub"`
			Label      string   `json:"label"`
			Context    hexBytes `json:"context"`
			Plaintext  hexBytes `json:"plaintext"`
			KEMOutput  hexBytes `json:"kem_output"`
			Ciphertext hexBytes `json:"ciphertext"`
		} `json:"encrypt_with_label"`
	}
	return runCases(t, data, func(c *tc) uint16 { return c.CipherSuite }, func(t *testing.T, c *tc) error {
		s, err := suite.Lookup(c.CipherSuite)
		if err != nil {
			return err
		}
		var errs []error
		check := func(what string, got []byte, err error, want []byte) {
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", what, err))
				return
			}
			if e := eq(what, got, want); e != nil {
				errs = append(errs, e)
			}
		}
		rh := c.RefHash
		out, err := s.RefHash(rh.Label, rh.Value)
		check("RefHash", out, err, rh.Out)

		ew := c.ExpandWithLabel
		out, err = s.ExpandWithLabel(ew.Secret, ew.Label, ew.Context, ew.Length)
		check("ExpandWithLabel", out, err, ew.Out)

		ds := c.DeriveSecret
		out, err = s.DeriveSecret(ds.Secret, ds.Label)
		check("DeriveSecret", out, err, ds.Out)

		dt := c.DeriveTreeSecret
		out, err = s.DeriveTreeSecret(dt.Secret, dt.Label, dt.Generation, dt.Length)
		check("DeriveTreeSecret", out, err, dt.Out)

		sw := c.SignWithLabel
		if err := s.VerifyWithLabel(sw.Pub, sw.Label, sw.Content, sw.Signature); err != nil {
			errs = append(errs, fmt.Errorf("VerifyWithLabel of the vector's signature: %w", err))
		}
		if err := s.VerifyWithLabel(sw.Pub, sw.Label+"x", sw.Content, sw.Signature); err == nil {
			errs = append(errs, errors.New("VerifyWithLabel accepted a signature under another label"))
		}
		sk, err := s.NewSigningKey(sw.Priv)
		if err != nil {
			errs = append(errs, err)
		} else {
			check("signature public key", sk.Public(), nil, sw.Pub)
			sig, err := sk.SignWithLabel(sw.Label, sw.Content)
			if err == nil {
				err = s.VerifyWithLabel(sw.Pub, sw.Label, sw.Content, sig)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("fresh SignWithLabel: %w", err))
			}
		}

		e := c.EncryptWithLabel
		pt, err := s.DecryptWithLabel(e.Priv, e.Label, e.Context, e.KEMOutput, e.Ciphertext)
		check("DecryptWithLabel", pt, err, e.Plaintext)
		pub, err := s.HPKEPublicKey(e.Priv)
		check("HPKE public key", pub, err, e.Pub)
		kem, ct, err := s.EncryptWithLabel(e.Pub, e.Label, e.Context, e.Plaintext)
		if err == nil {
			pt, err = s.DecryptWithLabel(e.Priv, e.Label, e.Context, kem, ct)
		}
		check("fresh EncryptWithLabel round trip", pt, err, e.Plaintext)
		if len(ct) > 0 {
			ct[0] ^= 1
			if _, err := s.DecryptWithLabel(e.Priv, e.Label, e.Context, kem, ct); !errors.Is(err, suite.ErrDecrypt) {
				errs = append(errs, fmt.Errorf("tampered HPKE ciphertext: got %v, want ErrDecrypt", err))
			}
		}
		return errors.Join(errs...)
	})
}

// tree-math.json: array-based tree math (RFC 9420 Appendix C).
func runTreeMath(t *testing.T, data []byte) vectorCounts {
	type tc struct {
		NLeaves uint32    `json:"n_leaves"`
		NNodes  uint32    `json:"n_nodes"`
		Root    uint32    `json:"root"`
		Left    []*uint32 `json:"left"`
		Right   []*uint32 `json:"right"`
		Parent  []*uint32 `json:"parent"`
		Sibling []*uint32 `json:"sibling"`
	}
	return runCases(t, data, nil, func(t *testing.T, c *tc) error {
		n := c.NLeaves
		if got := treemath.NodeWidth(n); got != c.NNodes {
			return fmt.Errorf("NodeWidth(%d) = %d, want %d", n, got, c.NNodes)
		}
		if got := treemath.Root(n); uint32(got) != c.Root {
			return fmt.Errorf("Root(%d) = %d, want %d", n, got, c.Root)
		}
		for _, arr := range [][]*uint32{c.Left, c.Right, c.Parent, c.Sibling} {
			if len(arr) != int(c.NNodes) {
				return fmt.Errorf("vector arrays have %d entries, want %d", len(arr), c.NNodes)
			}
		}
		var errs []error
		cmp := func(what string, x uint32, got treemath.NodeIndex, ok bool, want *uint32) {
			switch {
			case want == nil && ok:
				errs = append(errs, fmt.Errorf("%s(%d) = %d, want none", what, x, got))
			case want != nil && (!ok || uint32(got) != *want):
				errs = append(errs, fmt.Errorf("%s(%d) = %d (%v), want %d", what, x, got, ok, *want))
			}
		}
		for i := uint32(0); i < c.NNodes; i++ {
			x := treemath.NodeIndex(i)
			l, ok := treemath.Left(x)
			cmp("Left", i, l, ok, c.Left[i])
			r, ok := treemath.RightIn(x, n)
			cmp("Right", i, r, ok, c.Right[i])
			p, ok := treemath.Parent(x, n)
			cmp("Parent", i, p, ok, c.Parent[i])
			s, ok := treemath.Sibling(x, n)
			cmp("Sibling", i, s, ok, c.Sibling[i])
		}
		return errors.Join(errs...)
	})
}
