package venue

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash"
	"io"
	"strings"
	"sync"
	"time"
)

// Device authentication (see the package documentation):
//
//	challenge = nonce[16] || expiry[8, big-endian unix seconds] || HMAC(k, "challenge" || nonce || expiry)[:16]
//	token     = "gotok1." || base64url(device public key[32] || expiry[8] || HMAC(k, "token" || key || expiry))
//
// k is derived from the venue's signing key with HKDF-SHA256, so that every
// venue node sharing the key can check challenges and tokens without shared
// state; single use of a challenge is enforced by the store's nonce table.

const (
	challengeTTL = 60 * time.Second
	tokenPrefix  = "gotok1."
)

// AuthMessage returns the message a device signs to answer a challenge for
// the venue named venueName.
func AuthMessage(venueName, challenge string) []byte {
	return []byte("goodoffices device auth v1\n" + venueName + "\n" + challenge + "\n")
}

func deriveAuthKey(k *venueKey) []byte {
	key, err := hkdf.Key(sha256.New, k.priv.Seed(), nil, "goodoffices venue auth key v1", 32)
	if err != nil {
		panic("venue: internal error: " + err.Error())
	}
	return key
}

// mac returns HMAC-SHA256 under the auth key of label and parts. Every
// authenticated request checks one (its token), so the keyed HMACs are
// pooled: Reset returns one to its keyed state without deriving the pads
// again.
func (v *Venue) mac(label string, parts ...[]byte) []byte {
	m, _ := v.macs.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, v.authKey)
	}
	m.Reset()
	io.WriteString(m, label)
	for _, p := range parts {
		m.Write(p)
	}
	sum := m.Sum(nil)
	v.macs.Put(m)
	return sum
}

func (v *Venue) newChallenge(now time.Time) string {
	b := make([]byte, 16, 40)
	rand.Read(b)
	b = binary.BigEndian.AppendUint64(b, uint64(now.Add(challengeTTL).Unix()))
	b = append(b, v.mac("challenge", b[:24])[:16]...)
	return base64.RawURLEncoding.EncodeToString(b)
}

var errBadChallenge = errors.New("invalid or expired challenge")

// checkChallenge verifies a challenge's MAC and expiry and returns its nonce
// and expiry. It does not consume it.
func (v *Venue) checkChallenge(c string, now time.Time) ([]byte, time.Time, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(c)
	if err != nil || len(b) != 40 {
		return nil, time.Time{}, errBadChallenge
	}
	if !hmac.Equal(b[24:], v.mac("challenge", b[:24])[:16]) {
		return nil, time.Time{}, errBadChallenge
	}
	exp := time.Unix(int64(binary.BigEndian.Uint64(b[16:24])), 0)
	if !now.Before(exp) {
		return nil, time.Time{}, errBadChallenge
	}
	return b[:16], exp, nil
}

func (v *Venue) newToken(device ed25519.PublicKey, exp time.Time) string {
	b := make([]byte, 0, 72)
	b = append(b, device...)
	b = binary.BigEndian.AppendUint64(b, uint64(exp.Unix()))
	b = append(b, v.mac("token", b)...)
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

var errBadToken = errors.New("invalid or expired token")

// checkToken returns the device key a token was issued to.
func (v *Venue) checkToken(tok string, now time.Time) (ed25519.PublicKey, error) {
	raw, ok := strings.CutPrefix(tok, tokenPrefix)
	if !ok || len(raw) > 128 {
		return nil, errBadToken
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(raw)
	if err != nil || len(b) != 72 {
		return nil, errBadToken
	}
	if !hmac.Equal(b[40:], v.mac("token", b[:40])) {
		return nil, errBadToken
	}
	if !now.Before(time.Unix(int64(binary.BigEndian.Uint64(b[32:40])), 0)) {
		return nil, errBadToken
	}
	return ed25519.PublicKey(b[:32]), nil
}

// A bucket is a token-bucket rate limiter.
type bucket struct {
	tokens float64
	last   time.Time
}

type limiter struct {
	mu      sync.Mutex
	rate    float64
	burst   float64
	buckets map[string]*bucket
}

func newLimiter(rate float64, burst int) *limiter {
	return &limiter{rate: rate, burst: float64(burst), buckets: map[string]*bucket{}}
}

// allow takes one token from key's bucket.
func (l *limiter) allow(key string, now time.Time) bool {
	if l.rate <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) > 100000 {
			clear(l.buckets)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
