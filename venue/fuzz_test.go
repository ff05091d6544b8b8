package venue

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/good-offices/goodoffices/mls"
	"github.com/good-offices/goodoffices/venue/api"
)

func FuzzParseCursor(f *testing.F) {
	f.Add("v1;plenary=5;wg-1=0;~mail=3")
	f.Add("v1;~mail=0")
	f.Add("v1;register=2;~mail=9")
	f.Add("v1;plenary=5;~cosign/plenary=12;~mail=3")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseCursor(s)
		if err != nil {
			return
		}
		again, err := parseCursor(c.String())
		if err != nil || again.String() != c.String() {
			t.Fatalf("cursor %q does not round-trip: %q", s, c.String())
		}
	})
}

func FuzzCheckCredentials(f *testing.F) {
	k := &venueKey{priv: ed25519.NewKeyFromSeed(make([]byte, 32)), name: "v"}
	v := &Venue{key: k, authKey: deriveAuthKey(k)}
	now := time.Unix(1790000000, 0)
	pub := k.priv.Public().(ed25519.PublicKey)
	f.Add([]byte{0}, 3)
	f.Add([]byte{1, 2, 3}, 40)
	f.Fuzz(func(t *testing.T, mask []byte, at int) {
		// Alter a freshly issued token and challenge at offset at with mask.
		tok := v.newToken(pub, now.Add(time.Hour))
		ch := v.newChallenge(now)
		for _, orig := range []string{tok, ch} {
			b := []byte(orig)
			for i, m := range mask {
				if j := at + i; j >= 0 && j < len(b) {
					b[j] ^= m
				}
			}
			s := string(b)
			if s == orig {
				continue
			}
			if _, err := v.checkToken(s, now); err == nil {
				t.Fatalf("altered token %q accepted", s)
			}
			if _, _, err := v.checkChallenge(s, now); err == nil {
				t.Fatalf("altered challenge %q accepted", s)
			}
		}
	})
}

func TestCredentials(t *testing.T) {
	k := &venueKey{priv: ed25519.NewKeyFromSeed(make([]byte, 32)), name: "v"}
	v := &Venue{key: k, authKey: deriveAuthKey(k)}
	now := time.Now()
	pub := k.priv.Public().(ed25519.PublicKey)
	tok := v.newToken(pub, now.Add(time.Minute))
	if got, err := v.checkToken(tok, now); err != nil || !bytes.Equal(got, pub) {
		t.Fatal(err)
	}
	if _, err := v.checkToken(tok, now.Add(2*time.Minute)); err == nil {
		t.Fatal("expired token accepted")
	}
	ch := v.newChallenge(now)
	if _, _, err := v.checkChallenge(ch, now); err != nil {
		t.Fatal(err)
	}
	if _, _, err := v.checkChallenge(ch, now.Add(challengeTTL+time.Second)); err == nil {
		t.Fatal("expired challenge accepted")
	}
	other := &Venue{key: k, authKey: make([]byte, 32)}
	if _, err := other.checkToken(tok, now); err == nil {
		t.Fatal("token accepted under another key")
	}
}

// FuzzRewriteServerError: whatever is written to a connection, the rewrite
// changes only net/http's own plain-text errors, and always into a
// well-formed JSON error response.
func FuzzRewriteServerError(f *testing.F) {
	f.Add([]byte("HTTP/1.1 431 Request Header Fields Too Large" + serverErrorHeaders + "431 Request Header Fields Too Large"))
	f.Add([]byte("HTTP/1.1 400 Bad Request: malformed Host header" + serverErrorHeaders + "400 Bad Request: malformed Host header"))
	f.Add([]byte("HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n\r\n{}"))
	f.Fuzz(func(t *testing.T, p []byte) {
		out := rewriteServerError(p)
		if bytes.Equal(out, p) {
			return
		}
		if !bytes.Contains(p, []byte(serverErrorHeaders)) {
			t.Fatalf("rewrote a write without net/http's error headers: %q", p)
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), nil)
		if err != nil {
			t.Fatalf("rewritten response does not parse: %v\n%q", err, out)
		}
		var e struct{ Error string }
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || resp.StatusCode < 400 || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("rewritten response %d %q: %v", resp.StatusCode, out, err)
		}
	})
}

// FuzzCheckFraming: an entry passes the framing check only if package mls
// decodes it as a PublicMessage or PrivateMessage.
func FuzzCheckFraming(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2, 1, 'g', 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 'x'}, int64(-1), int64(0))
	f.Add([]byte("x"), int64(0), int64(0))
	f.Add([]byte{0, 1, 0, 2, 1, 'g', 0, 0, 0, 0, 0, 0, 0, 1, 3, 0, 0, 1, 'x'}, int64(5), int64(4))
	f.Fuzz(func(t *testing.T, entry []byte, epoch, base int64) {
		if base < 0 || base > max(epoch, 0) {
			return // refused by the handler before the check
		}
		err := checkFraming(entry, epoch, base)
		h, perr := mls.ParseHeader(entry)
		if err == nil && (perr != nil || (h.WireFormat != mls.WireFormatPublicMessage && h.WireFormat != mls.WireFormatPrivateMessage)) {
			t.Fatalf("accepted %x", entry)
		}
		if err == nil && epoch >= 0 && (h.Kind != mls.KindCommit || h.Epoch+uint64(base) != uint64(epoch)) {
			t.Fatalf("accepted %x as the commit of epoch %d (base %d)", entry, epoch, base)
		}
	})
}

func FuzzParseBatch(f *testing.F) {
	f.Add([]byte{0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 1, 'd'})
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 9, 'a'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, body []byte) {
		entries, err := parseBatch(body, 64)
		if err != nil {
			return
		}
		// Accepted: the entries, encoded as clients do, are exactly the body.
		for _, e := range entries {
			if len(e) == 0 || len(e) > 64 {
				t.Fatalf("entry of %d bytes accepted", len(e))
			}
		}
		if again := api.AppendBatch(nil, entries...); !bytes.Equal(again, body) || len(entries) > MaxBatchEntries {
			t.Fatalf("batch %x parsed into %d entries that do not re-encode to it", body, len(entries))
		}
	})
}
