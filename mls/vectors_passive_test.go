package mls

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/good-offices/goodoffices/mls/internal/codec"
	"github.com/good-offices/goodoffices/mls/internal/suite"
	"github.com/good-offices/goodoffices/mls/internal/welcome"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// passiveClientCase is one case of the passive-client-*.json files: a
// client joins from a Welcome and follows the group's commits.
type passiveClientCase struct {
	CipherSuite  uint16 `json:"cipher_suite"`
	ExternalPSKs []struct {
		PSKID hexBytes `json:"psk_id"`
		PSK   hexBytes `json:"psk"`
	} `json:"external_psks"`
	KeyPackage                hexBytes `json:"key_package"`
	SignaturePriv             hexBytes `json:"signature_priv"`
	EncryptionPriv            hexBytes `json:"encryption_priv"`
	InitPriv                  hexBytes `json:"init_priv"`
	Welcome                   hexBytes `json:"welcome"`
	RatchetTree               hexBytes `json:"ratchet_tree"`
	InitialEpochAuthenticator hexBytes `json:"initial_epoch_authenticator"`
	Epochs                    []struct {
		Proposals          []hexBytes `json:"proposals"`
		Commit             hexBytes   `json:"commit"`
		EpochAuthenticator hexBytes   `json:"epoch_authenticator"`
	} `json:"epochs"`
}

// passiveJoin joins the group of a passive-client case.
func passiveJoin(c *passiveClientCase) (*Group, error) {
	var m wire.MLSMessage
	if err := wire.Unmarshal(c.KeyPackage, &m); err != nil || m.KeyPackage == nil {
		return nil, fmt.Errorf("key package: %v", err)
	}
	priv := []byte(c.SignaturePriv)
	if cs := CipherSuite(c.CipherSuite); (cs == X25519_AES128GCM_SHA256_Ed25519 || cs == X25519_CHACHA20POLY1305_SHA256_Ed25519) && len(priv) == ed25519.PrivateKeySize {
		// Some generators (mls-rs) give the Ed25519 key as seed || public
		// key, Go's ed25519.PrivateKey form; the seed is the key.
		if !bytes.Equal(ed25519.NewKeyFromSeed(priv[:ed25519.SeedSize]), priv) {
			return nil, fmt.Errorf("signature_priv: public half does not match the seed")
		}
		priv = priv[:ed25519.SeedSize]
	}
	id, err := NewIdentityFromKey(CipherSuite(c.CipherSuite), credentialFromWire(&m.KeyPackage.LeafNode.Credential), priv)
	if err != nil {
		return nil, err
	}
	if string(id.SignaturePublicKey()) != string(m.KeyPackage.LeafNode.SignatureKey) {
		return nil, fmt.Errorf("signature_priv does not match the key package")
	}
	var w codec.Writer
	w.Opaque(c.KeyPackage)
	w.Opaque(c.InitPriv)
	w.Opaque(c.EncryptionPriv)
	kpPriv, err := w.Bytes()
	if err != nil {
		return nil, err
	}
	psks := make(map[string][]byte)
	for _, p := range c.ExternalPSKs {
		psks[string(p.PSKID)] = p.PSK
	}
	// The runner follows the group as the vector's members configured it:
	// they accept any credential and external commits (the product's
	// default refuses external joins; Config.AllowExternalJoin).
	cfg := &Config{
		ValidateCredential: func(Credential, []byte) error { return nil },
		AllowExternalJoin:  func(Credential, []byte) error { return nil },
		ExternalPSKs:       func(id []byte) ([]byte, bool) { p, ok := psks[string(id)]; return p, ok },
	}
	return Join(id, kpPriv, c.Welcome, cfg, &JoinOptions{RatchetTree: c.RatchetTree})
}

// passive-client-welcome.json, passive-client-handling-commit.json and
// passive-client-random.json: join, then apply every epoch's proposals and
// commit, checking the epoch authenticator after each step.
func runPassiveClient(t *testing.T, data []byte) vectorCounts {
	return runCases(t, data, func(c *passiveClientCase) uint16 { return c.CipherSuite }, func(t *testing.T, c *passiveClientCase) error {
		g, err := passiveJoin(c)
		if err != nil {
			if draftWelcome(c) {
				return fmt.Errorf("%w: the Welcome's GroupInfo is encrypted with keys derived by KDF.Expand, as Internet-Drafts before RFC 9420 did (RFC 9420 §12.4.3.1 uses ExpandWithLabel)", errPreRFCVector)
			}
			return fmt.Errorf("join: %w", err)
		}
		if err := eq("initial epoch_authenticator", g.EpochAuthenticator(), c.InitialEpochAuthenticator); err != nil {
			return err
		}
		for i, ep := range c.Epochs {
			for j, p := range ep.Proposals {
				if _, err := g.Process(p); err != nil {
					return fmt.Errorf("epoch %d: proposal %d: %w", i, j, err)
				}
			}
			r, err := g.Process(ep.Commit)
			if err != nil {
				return fmt.Errorf("epoch %d: commit: %w", i, err)
			}
			if r.Kind != KindCommit {
				return fmt.Errorf("epoch %d: commit processed as kind %d", i, r.Kind)
			}
			if err := eq(fmt.Sprintf("epoch %d: epoch_authenticator", i), g.EpochAuthenticator(), ep.EpochAuthenticator); err != nil {
				return err
			}
			// The state survives serialization at every step.
			if i%16 == 0 {
				b, err := g.MarshalBinary()
				if err != nil {
					return fmt.Errorf("epoch %d: marshal: %w", i, err)
				}
				if g, err = UnmarshalGroup(b, &g.cfg); err != nil {
					return fmt.Errorf("epoch %d: unmarshal: %w", i, err)
				}
			}
		}
		return nil
	})
}

// errPreRFCVector marks a case made for an Internet-Draft of MLS rather than
// RFC 9420; runCases counts it as unsupported and logs why.
var errPreRFCVector = errors.New("vector of a pre-RFC 9420 draft")

// draftWelcome reports whether a case's Welcome can be opened only with
// the welcome_key and welcome_nonce of the drafts before RFC 9420
// (KDF.Expand(welcome_secret, "key"/"nonce") without the MLS label): the
// working group's repository once held such passive-client files. The
// GroupSecrets decrypt as in RFC 9420; only the GroupInfo's key differs.
func draftWelcome(c *passiveClientCase) bool {
	s, err := suite.Lookup(c.CipherSuite)
	if err != nil {
		return false
	}
	var m, kpm wire.MLSMessage
	if wire.Unmarshal(c.Welcome, &m) != nil || m.Welcome == nil || wire.Unmarshal(c.KeyPackage, &kpm) != nil || kpm.KeyPackage == nil {
		return false
	}
	ref, err := kpm.KeyPackage.Ref(s)
	if err != nil {
		return false
	}
	egs, err := welcome.FindSecrets(m.Welcome, ref)
	if err != nil {
		return false
	}
	gs, err := welcome.DecryptGroupSecrets(s, egs, c.InitPriv, m.Welcome.EncryptedGroupInfo)
	if err != nil || len(gs.PSKs) > 0 {
		return false
	}
	member, err := s.Extract(gs.JoinerSecret, make([]byte, s.Nh()))
	if err != nil {
		return false
	}
	ws, err := s.DeriveSecret(member, "welcome")
	if err != nil {
		return false
	}
	key, err1 := s.Expand(ws, []byte("key"), s.Nk())
	nonce, err2 := s.Expand(ws, []byte("nonce"), s.Nn())
	if err1 != nil || err2 != nil {
		return false
	}
	_, err = s.Open(key, nonce, nil, m.Welcome.EncryptedGroupInfo)
	return err == nil
}

// TestPassiveClientExternalCommit makes a passive-client case of our own
// whose group takes an external commit, as the working group's wider
// passive-client files do, and runs it through runPassiveClient: the runner
// configures the group as its members did (external joins accepted). A
// member with the product's default Config refuses the same commit.
func TestPassiveClientExternalCommit(t *testing.T) {
	for _, cs := range []CipherSuite{DefaultCipherSuite, P384_AES256GCM_SHA384_P384} {
		t.Run(cs.String(), func(t *testing.T) {
			allow := func(Credential, []byte) error { return nil }
			cfg := &Config{PublicHandshake: true, AllowExternalJoin: allow}
			newID := func(name string) *Identity {
				id, err := NewIdentity(cs, BasicCredential([]byte(name)))
				if err != nil {
					t.Fatal(err)
				}
				return id
			}
			alice, err := Create(newID("alice"), nil, cfg)
			if err != nil {
				t.Fatal(err)
			}
			bobID := newID("bob")
			kp, kpPriv, err := NewKeyPackage(bobID, nil)
			if err != nil {
				t.Fatal(err)
			}
			kpp, err := parseKeyPackagePrivate(kpPriv)
			if err != nil {
				t.Fatal(err)
			}
			b, err := alice.Commit(&CommitOptions{Proposals: []Proposal{AddProposal(kp)}})
			if err != nil {
				t.Fatal(err)
			}
			if err := alice.MergeCommit(); err != nil {
				t.Fatal(err)
			}
			c := passiveClientCase{
				CipherSuite: uint16(cs), KeyPackage: kp.Bytes(), SignaturePriv: bobID.priv,
				EncryptionPriv: kpp.encPriv, InitPriv: kpp.initPriv, Welcome: b.Welcome,
				InitialEpochAuthenticator: alice.EpochAuthenticator(),
			}
			type epoch = struct {
				Proposals          []hexBytes `json:"proposals"`
				Commit             hexBytes   `json:"commit"`
				EpochAuthenticator hexBytes   `json:"epoch_authenticator"`
			}
			// Carol joins by external commit; then alice commits a path.
			gi, err := alice.GroupInfo(true)
			if err != nil {
				t.Fatal(err)
			}
			_, ext, err := JoinExternal(newID("carol"), gi, cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := alice.Process(ext); err != nil {
				t.Fatal(err)
			}
			c.Epochs = append(c.Epochs, epoch{Proposals: []hexBytes{}, Commit: ext, EpochAuthenticator: alice.EpochAuthenticator()})
			up, err := alice.Commit(&CommitOptions{ForcePath: true})
			if err != nil {
				t.Fatal(err)
			}
			if err := alice.MergeCommit(); err != nil {
				t.Fatal(err)
			}
			c.Epochs = append(c.Epochs, epoch{Proposals: []hexBytes{}, Commit: up.Commit, EpochAuthenticator: alice.EpochAuthenticator()})

			data, err := json.Marshal([]passiveClientCase{c})
			if err != nil {
				t.Fatal(err)
			}
			if n := runPassiveClient(t, data); n.passed != 1 || n.failed != 0 {
				t.Fatalf("runner: %+v", n)
			}
			// The product's default refuses the external commit.
			bob, err := Join(bobID, kpPriv, b.Welcome, &Config{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := bob.Process(ext); !errors.Is(err, ErrCredentialRejected) {
				t.Fatalf("external commit with the default Config: got %v, want ErrCredentialRejected", err)
			}
		})
	}
}
