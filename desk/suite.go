package desk

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/good-offices/goodoffices/mls"
)

// Store keys of the cipher suite policy.
const (
	keySuite    = "policy/suite"     // suite of new channels and of our key packages
	keyMinSuite = "policy/min-suite" // the weakest suite this desk creates or joins
	keyKPSuite  = "mls/kp-suite"     // the suite of our key packages on the venue
)

// Minimum suite levels of a desk's policy.
const (
	// MinPostQuantum accepts only post-quantum hybrid suites (X-Wing): the
	// default.
	MinPostQuantum = "post-quantum"
	// MinClassical accepts classical suites too (X25519 key exchange),
	// whose messages a host that records them could decrypt once it has a
	// quantum computer.
	MinClassical = "classical"
)

// DefaultSuite is the suite of new channels: X-Wing (ML-KEM-768 + X25519)
// with AES-256-GCM, SHA-512 and Ed25519, code point 0x0053.
const DefaultSuite = mls.DefaultPostQuantumCipherSuite

// ErrSuitePolicy means a channel's suite is below this desk's policy.
var ErrSuitePolicy = errors.New("the channel's cipher suite is below this desk's policy")

// SuitePolicy is which MLS cipher suites a desk uses and accepts. The
// venue's channel list does not name a suite: the host, whom the parties do
// not trust, must not be the one who picks how strongly the talks are
// encrypted. Each desk decides.
type SuitePolicy struct {
	// Suite is the suite of the channels this desk opens and of the key
	// packages it publishes (others add it to their channels with those).
	Suite mls.CipherSuite `json:"suite"`
	// Minimum is MinPostQuantum or MinClassical: the desk refuses to open
	// or join a channel whose suite is weaker.
	Minimum string `json:"minimum"`
}

// DefaultSuitePolicy is the policy of a new desk.
var DefaultSuitePolicy = SuitePolicy{Suite: DefaultSuite, Minimum: MinPostQuantum}

// Check returns an error wrapping ErrSuitePolicy if cs is below the
// policy's minimum, or if the desk cannot use it at all.
func (p SuitePolicy) Check(cs mls.CipherSuite) error {
	if !usableSuite(cs) {
		return fmt.Errorf("%w: %s is not a suite a desk can use (its device key is Ed25519)", ErrSuitePolicy, suiteLabel(cs))
	}
	if p.Minimum != MinClassical && !cs.PostQuantum() {
		return fmt.Errorf("%w: %s is not post-quantum, and this desk's policy requires post-quantum suites (a host recording the talks could decrypt them later with a quantum computer); 'goodoffices desk policy --min-suite classical' allows it", ErrSuitePolicy, suiteLabel(cs))
	}
	return nil
}

func (p SuitePolicy) validate() error {
	if p.Minimum != MinPostQuantum && p.Minimum != MinClassical {
		return fmt.Errorf("invalid minimum suite %q: %s or %s", p.Minimum, MinPostQuantum, MinClassical)
	}
	if err := p.Check(p.Suite); err != nil {
		return fmt.Errorf("suite of new channels: %w", err)
	}
	return nil
}

// usableSuite reports whether a desk can use cs: implemented, with Ed25519
// signatures (the device key).
func usableSuite(cs mls.CipherSuite) bool {
	switch cs {
	case mls.X25519_AES128GCM_SHA256_Ed25519, mls.X25519_CHACHA20POLY1305_SHA256_Ed25519,
		mls.XWING_AES256GCM_SHA512_Ed25519, mls.XWING_CHACHA20POLY1305_SHA512_Ed25519,
		mls.MLKEM768X25519_AES128GCM_SHA256_Ed25519, mls.MLKEM768X25519_AES256GCM_SHA384_Ed25519:
		return true
	}
	return false
}

func suiteLabel(cs mls.CipherSuite) string {
	return fmt.Sprintf("%s (0x%04x)", cs, uint16(cs))
}

// ParseSuite reads a suite as a code point (0x0053, 83), its name
// (MLS_256_XWING_AES256GCM_SHA512_Ed25519), or a word: "post-quantum" or
// "x-wing" for the default post-quantum suite, "classical" for 0x0001.
func ParseSuite(s string) (mls.CipherSuite, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "post-quantum", "pq", "x-wing", "xwing":
		return DefaultSuite, nil
	case "classical":
		return mls.DefaultCipherSuite, nil
	}
	for _, cs := range mls.CipherSuites() {
		if strings.EqualFold(s, cs.String()) {
			return cs, nil
		}
	}
	n, err := strconv.ParseUint(s, 0, 16)
	if err != nil || !mls.CipherSuite(n).Supported() {
		return 0, fmt.Errorf("unknown cipher suite %q: a code point (0x0053), a name, post-quantum or classical", s)
	}
	return mls.CipherSuite(n), nil
}

// SuiteInfo describes a channel's suite for people.
type SuiteInfo struct {
	ID          uint16 `json:"id"`
	Code        string `json:"code"`
	Name        string `json:"name"`
	PostQuantum bool   `json:"post_quantum"`
	// Summary says in plain words what the suite protects.
	Summary string `json:"summary"`
}

// DescribeSuite returns the SuiteInfo of cs.
func DescribeSuite(cs mls.CipherSuite) SuiteInfo {
	si := SuiteInfo{ID: uint16(cs), Code: fmt.Sprintf("0x%04x", uint16(cs)), Name: cs.String(), PostQuantum: cs.PostQuantum()}
	if si.PostQuantum {
		si.Summary = "post-quantum: key exchange X-Wing (ML-KEM-768 + X25519), so recorded messages stay confidential against a future quantum computer; signatures Ed25519 (not post-quantum)"
	} else {
		si.Summary = "NOT post-quantum: classical key exchange, so a host recording the talks could decrypt them once it has a quantum computer ('goodoffices desk upgrade' moves the channel to X-Wing)"
	}
	return si
}

// SuitePolicy returns the desk's policy (DefaultSuitePolicy until set).
func (d *Desk) SuitePolicy(ctx context.Context) (SuitePolicy, error) {
	p := DefaultSuitePolicy
	if b, err := d.store.Get(ctx, keySuite); err == nil {
		n, err := strconv.ParseUint(string(b), 10, 16)
		if err != nil {
			return p, fmt.Errorf("failed to read the suite policy: %w", err)
		}
		p.Suite = mls.CipherSuite(n)
	} else if !errors.Is(err, ErrNotFound) {
		return p, err
	}
	if b, err := d.store.Get(ctx, keyMinSuite); err == nil {
		p.Minimum = string(b)
	} else if !errors.Is(err, ErrNotFound) {
		return p, err
	}
	return p, nil
}

// SetSuitePolicy changes the desk's policy. The key packages on the venue
// are replaced by ones of the new suite at the next sync.
func (d *Desk) SetSuitePolicy(ctx context.Context, p SuitePolicy) error {
	if err := p.validate(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.store.Update(ctx, func(tx *Tx) error {
		if err := tx.Put(ctx, keySuite, []byte(strconv.FormatUint(uint64(p.Suite), 10))); err != nil {
			return err
		}
		return tx.Put(ctx, keyMinSuite, []byte(p.Minimum))
	})
}

// ChannelSuite returns the suite of a channel's group as this desk sees it.
func (d *Desk) ChannelSuite(ctx context.Context, ch string) (SuiteInfo, error) {
	g, err := d.loadGroup(ctx, d.store, ch)
	if err != nil {
		return SuiteInfo{}, err
	}
	if g == nil {
		return SuiteInfo{}, ErrNoGroup
	}
	return DescribeSuite(g.CipherSuite()), nil
}

// identityFor is the desk's MLS signing identity in suite cs: the device
// key, with a basic credential whose identity is the device certificate
// (RFC 9420 §5.3).
func (d *Desk) identityFor(cs mls.CipherSuite) (*mls.Identity, error) {
	if d.cert == nil {
		return nil, ErrNotEnrolled
	}
	return mls.NewIdentityFromKey(cs, mls.BasicCredential(d.cert), d.key.Seed())
}
