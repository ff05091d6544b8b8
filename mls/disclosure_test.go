package mls_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/good-offices/goodoffices/mls"
)

// discGroup is Alice's and Bob's group with messages from both.
func discGroup(t testing.TB) (alice, bob *mls.Group) {
	t.Helper()
	cfg := &mls.Config{ValidateCredential: func(mls.Credential, []byte) error { return nil }}
	a, err := mls.NewIdentity(mls.DefaultCipherSuite, mls.BasicCredential([]byte("alice")))
	if err != nil {
		t.Fatal(err)
	}
	b, err := mls.NewIdentity(mls.DefaultCipherSuite, mls.BasicCredential([]byte("bob")))
	if err != nil {
		t.Fatal(err)
	}
	kp, priv, err := mls.NewKeyPackage(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	alice, err = mls.Create(a, []byte("wg1"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := alice.Commit(&mls.CommitOptions{Proposals: []mls.Proposal{mls.AddProposal(kp)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Process(cb.Commit); err != nil {
		t.Fatal(err)
	}
	bob, err = mls.Join(b, priv, cb.Welcome, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return alice, bob
}

// TestDisclosure: a disclosure opens its own message and no other, from
// the sender's side and the receiver's, and only with the right sender.
func TestDisclosure(t *testing.T) {
	alice, bob := discGroup(t)
	var msgs [][]byte
	var sent []*mls.Disclosure
	for i := range 4 {
		m, d, err := alice.EncryptDisclosed(fmt.Appendf(nil, "message %d", i), []byte("aad"))
		if err != nil {
			t.Fatal(err)
		}
		msgs, sent = append(msgs, m), append(sent, d)
	}
	var received []*mls.Disclosure
	for i, m := range msgs {
		d, err := bob.Disclose(m)
		if err != nil {
			t.Fatal(err)
		}
		received = append(received, d)
		r, err := bob.Process(m)
		if err != nil || string(r.Data) != fmt.Sprintf("message %d", i) {
			t.Fatalf("process %d: %v", i, err)
		}
		// After Process the key is gone: no second disclosure.
		if _, err := bob.Disclose(m); err == nil {
			t.Fatal("disclosed a message whose key was erased")
		}
	}
	// Bob's reply, disclosed by Bob as sender.
	reply, rd, err := bob.EncryptDisclosed([]byte("reply"), nil)
	if err != nil {
		t.Fatal(err)
	}
	msgs, sent, received = append(msgs, reply), append(sent, rd), append(received, rd)
	for i := range msgs {
		for _, ds := range [][]*mls.Disclosure{sent, received} {
			d := ds[i]
			b, err := d.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			d2, err := mls.ParseDisclosure(b)
			if err != nil {
				t.Fatal(err)
			}
			for j, m := range msgs {
				dm, err := mls.OpenDisclosed(m, d2)
				if i == j {
					if err != nil {
						t.Fatalf("disclosure %d does not open its message: %v", i, err)
					}
					if i < 4 && (string(dm.Data) != fmt.Sprintf("message %d", i) || string(dm.AuthenticatedData) != "aad" || dm.Sender != 0) {
						t.Fatalf("opened %q from %d", dm.Data, dm.Sender)
					}
				} else if err == nil {
					t.Fatalf("disclosure %d opens message %d", i, j)
				}
			}
		}
		if !bytes.Equal(sent[i].Key, received[i].Key) || !bytes.Equal(sent[i].SenderDataKey, received[i].SenderDataKey) {
			t.Fatalf("sender and receiver disclose different keys for message %d", i)
		}
	}
	// Another signature key: the signature does not verify.
	d := *received[1]
	d.SignatureKey = received[4].SignatureKey
	if _, err := mls.OpenDisclosed(msgs[1], &d); !errors.Is(err, mls.ErrBadSignature) {
		t.Fatalf("wrong signature key: %v", err)
	}
	// Another GroupContext (a changed byte of it): refused.
	d = *received[1]
	d.GroupContext = bytes.Clone(d.GroupContext)
	d.GroupContext[len(d.GroupContext)-3] ^= 1
	if _, err := mls.OpenDisclosed(msgs[1], &d); err == nil {
		t.Fatal("opened with an altered GroupContext")
	}
	// Every byte of the message and of the disclosure matters.
	db, _ := received[2].MarshalBinary()
	for i := range msgs[2] {
		m := bytes.Clone(msgs[2])
		m[i] ^= 0x10
		if _, err := mls.OpenDisclosed(m, received[2]); err == nil {
			t.Fatalf("opened with byte %d of the message changed", i)
		}
	}
	for i := range db {
		b := bytes.Clone(db)
		b[i] ^= 0x10
		if d, err := mls.ParseDisclosure(b); err == nil {
			if _, err := mls.OpenDisclosed(msgs[2], d); err == nil {
				t.Fatalf("opened with byte %d of the disclosure changed", i)
			}
		}
	}
}

func FuzzOpenDisclosed(f *testing.F) {
	alice, bob := discGroup(f)
	m, d, err := alice.EncryptDisclosed([]byte("seed"), nil)
	if err != nil {
		f.Fatal(err)
	}
	db, _ := d.MarshalBinary()
	f.Add(m, db)
	if _, err := bob.Process(m); err != nil {
		f.Fatal(err)
	}
	f.Add(m, []byte{})
	f.Fuzz(func(t *testing.T, msg, disc []byte) {
		d, err := mls.ParseDisclosure(disc)
		if err != nil {
			return
		}
		if b, err := d.MarshalBinary(); err != nil || !bytes.Equal(b, disc) {
			t.Fatal("disclosure round trip differs")
		}
		// The only plaintext ever encrypted is "seed" (each fuzz worker
		// makes its own group, so the seed's message is not m there).
		if dm, err := mls.OpenDisclosed(msg, d); err == nil && string(dm.Data) != "seed" {
			t.Fatalf("opened a message that was never sent: %q", dm.Data)
		}
	})
}

// BenchmarkDisclose measures what keeping a disclosure adds to receiving
// an application message: Process alone, and Disclose then Process.
func BenchmarkDisclose(b *testing.B) {
	for _, disclose := range []bool{false, true} {
		name := "Process"
		if disclose {
			name = "Disclose+Process"
		}
		b.Run(name, func(b *testing.B) {
			alice, bob := discGroup(b)
			msgs := make([][]byte, b.N)
			for i := range msgs {
				m, err := alice.Encrypt([]byte("The Parties reaffirm their commitment to a negotiated settlement."), nil)
				if err != nil {
					b.Fatal(err)
				}
				msgs[i] = m
			}
			b.ResetTimer()
			for _, m := range msgs {
				if disclose {
					if _, err := bob.Disclose(m); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := bob.Process(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
