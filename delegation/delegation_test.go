package delegation

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func testCert(t testing.TB, root *RootKey) (*Certificate, ed25519.PrivateKey) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	nb := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	return &Certificate{Delegation: root.Name, Person: "Tomas Reig", Role: "expert", Level: "expert",
		Device: pub, NotBefore: nb, NotAfter: nb.AddDate(1, 0, 0)}, priv
}

func TestRootFile(t *testing.T) {
	root, err := GenerateRoot("arden")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, pass := range []string{"", "correct horse"} {
		path := filepath.Join(dir, "root-"+pass)
		if err := SaveRoot(path, root, []byte(pass)); err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(path)
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v", fi.Mode())
		}
		if err := SaveRoot(path, root, nil); err == nil {
			t.Fatal("overwrote an existing key file")
		}
		got, err := LoadRoot(path, []byte(pass))
		if err != nil {
			t.Fatal(err)
		}
		if got.VerifierKey() != root.VerifierKey() {
			t.Fatal("key changed on round trip")
		}
		if pass != "" {
			if _, err := LoadRoot(path, []byte("wrong")); !errors.Is(err, ErrPassphrase) {
				t.Fatalf("wrong passphrase: %v", err)
			}
			if _, err := LoadRoot(path, nil); err == nil {
				t.Fatal("encrypted key loaded without passphrase")
			}
			data, _ := os.ReadFile(path)
			if bytes.Contains(data, root.key.Seed()) {
				t.Fatal("seed in clear")
			}
			// Renaming the delegation in the header breaks the seal.
			tampered := bytes.Replace(data, []byte("name arden"), []byte("name borea"), 1)
			if _, err := ParseRoot(tampered, []byte(pass)); err == nil {
				t.Fatal("tampered header accepted")
			}
		}
	}
	if _, err := GenerateRoot("Arden Federation"); err == nil {
		t.Fatal("invalid name accepted")
	}
}

func TestCertificate(t *testing.T) {
	root, _ := GenerateRoot("arden")
	other, _ := GenerateRoot("borealia")
	c, _ := testCert(t, root)
	msg, err := root.Certify(c)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	got, err := VerifyCertificate(msg, root.VerifierKey(), now)
	if err != nil {
		t.Fatal(err)
	}
	if got.Person != c.Person || !got.Device.Equal(c.Device) || got.DeviceID() != DeviceID(c.Device) {
		t.Fatalf("got %+v", got)
	}
	peek, err := PeekCertificate(msg)
	if err != nil || peek.Delegation != "arden" {
		t.Fatalf("peek: %v", err)
	}
	if _, err := VerifyCertificate(msg, other.VerifierKey(), now); err == nil {
		t.Fatal("verified with another root")
	}
	if _, err := VerifyCertificate(msg, root.VerifierKey(), now.AddDate(2, 0, 0)); !errors.Is(err, ErrCertificate) {
		t.Fatalf("expired: %v", err)
	}
	if _, err := VerifyCertificate(msg, root.VerifierKey(), now.AddDate(-1, 0, 0)); !errors.Is(err, ErrCertificate) {
		t.Fatalf("not yet valid: %v", err)
	}
	// A root that signs a certificate naming another delegation.
	c2 := *c
	c2.Delegation = "borealia"
	if _, err := root.Certify(&c2); err == nil {
		t.Fatal("certified for another delegation")
	}
	// Forge: borealia's root key under the name "arden".
	forger := &RootKey{Name: "arden", key: other.key}
	forged, _ := forger.Certify(c)
	if _, err := VerifyCertificate(forged, root.VerifierKey(), now); err == nil {
		t.Fatal("forged certificate accepted")
	}
	for i := range msg {
		m := bytes.Clone(msg)
		m[i] ^= 0x20
		if _, err := VerifyCertificate(m, root.VerifierKey(), now); err == nil && !bytes.Equal(m, msg) {
			t.Fatalf("modified byte %d accepted", i)
		}
	}
}

func TestParseCertificateRejects(t *testing.T) {
	root, _ := GenerateRoot("arden")
	c, _ := testCert(t, root)
	body, _ := c.Marshal()
	s := string(body)
	for _, bad := range []string{
		strings.Replace(s, "person Tomas Reig", "person ", 1),
		strings.Replace(s, "level expert", "level chief", 1),
		strings.Replace(s, "role expert", "role Expert", 1),
		strings.Replace(s, "T00:00:00Z", "T00:00:00+00:00", 1),
		strings.Replace(s, "delegation arden\n", "", 1),
		s + "extra line\n",
		strings.TrimSuffix(s, "\n"),
		strings.Replace(s, "person Tomas", "person Tomas\x00", 1),
	} {
		if _, err := ParseCertificate([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func FuzzParseCertificate(f *testing.F) {
	root, _ := GenerateRoot("arden")
	c, _ := testCert(f, root)
	body, _ := c.Marshal()
	f.Add(body)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCertificate(data)
		if err != nil {
			return
		}
		again, err := c.Marshal()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("non-canonical certificate accepted")
		}
	})
}

func FuzzPeekCertificate(f *testing.F) {
	root, _ := GenerateRoot("arden")
	c, _ := testCert(f, root)
	msg, _ := root.Certify(c)
	f.Add(msg)
	f.Fuzz(func(t *testing.T, data []byte) {
		PeekCertificate(data)
		VerifyCertificate(data, root.VerifierKey(), time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC))
	})
}

func FuzzParseRoot(f *testing.F) {
	root, _ := GenerateRoot("arden")
	plain, _ := MarshalRoot(root, nil)
	f.Add(plain)
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParseRoot(data, nil)
		if err != nil {
			return
		}
		again, _ := MarshalRoot(k, nil)
		if !bytes.Equal(again, data) {
			t.Fatalf("non-canonical root file accepted")
		}
	})
}

func TestFingerprint(t *testing.T) {
	a, _ := GenerateRoot("arden")
	b, _ := GenerateRoot("arden")
	fa, fb := Fingerprint(a.VerifierKey()), Fingerprint(b.VerifierKey())
	if fa == fb || len(fa) != 29 || strings.Count(fa, "-") != 5 {
		t.Fatalf("fingerprints %q %q", fa, fb)
	}
	if Fingerprint(a.VerifierKey()) != fa {
		t.Fatal("fingerprint not deterministic")
	}
}

func TestDeviceID(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	id := DeviceID(pub)
	got, err := ParseDeviceID(id)
	if err != nil || !got.Equal(pub) {
		t.Fatal(err)
	}
	for _, bad := range []string{"", id + "A", id[:42] + "=", strings.ReplaceAll(id, id[:1], "+")} {
		if _, err := ParseDeviceID(bad); err == nil && bad != id {
			t.Errorf("accepted %q", bad)
		}
	}
}

// TestInterpreterCertificate: an interpreter's certificate carries its
// languages in the signed text; no other role may, and an interpreter must.
func TestInterpreterCertificate(t *testing.T) {
	root, _ := GenerateRoot("caspia")
	c, _ := testCert(t, root)
	c.Delegation, c.Role, c.Languages = "caspia", RoleInterpreter, []string{"en", "ru", "kk"}
	msg, err := root.Certify(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(msg), "\nlevel expert\nlanguages en,ru,kk\ndevice ") {
		t.Fatalf("certificate text:\n%s", msg)
	}
	got, err := VerifyCertificate(msg, root.VerifierKey(), time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC))
	if err != nil || strings.Join(got.Languages, ",") != "en,ru,kk" {
		t.Fatalf("verify: %v %+v", err, got)
	}
	body, _ := c.Marshal()
	for _, bad := range []string{
		strings.Replace(string(body), "role interpreter", "role expert", 1), // languages on another role
		strings.Replace(string(body), "en,ru,kk", "en,ru,en", 1),
		strings.Replace(string(body), "en,ru,kk", "EN", 1),
		strings.Replace(string(body), "en,ru,kk", "", 1),
		strings.Replace(string(body), "en,ru,kk", "en,,ru", 1),
	} {
		if _, err := ParseCertificate([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	c.Languages = nil
	if _, err := root.Certify(c); err == nil {
		t.Error("certified an interpreter without languages")
	}
}
