package keyschedule

import (
	"bytes"
	"testing"

	"github.com/good-offices/goodoffices/mls/internal/suite"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

func TestNilMeansZero(t *testing.T) {
	s, _ := suite.Lookup(1)
	init := bytes.Repeat([]byte{1}, 32)
	gc := []byte("group context")
	a, err := Derive(s, init, nil, nil, gc)
	if err != nil {
		t.Fatal(err)
	}
	z := make([]byte, 32)
	b, err := Derive(s, init, z, z, gc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.EpochAuthenticator, b.EpochAuthenticator) {
		t.Error("nil commit/psk secret differs from zeros")
	}
	c, _ := Derive(s, init, nil, nil, []byte("other context"))
	if bytes.Equal(a.EpochSecret, c.EpochSecret) {
		t.Error("group context does not bind the epoch secret")
	}
	if p, _ := PSKSecret(s, nil); !bytes.Equal(p, z) {
		t.Error("PSKSecret of no PSKs is not zero")
	}
}

func TestConfirmationTagFlip(t *testing.T) {
	s, _ := suite.Lookup(1)
	key, h := []byte("k"), []byte("confirmed")
	tag := ConfirmationTag(s, key, h)
	if !VerifyConfirmationTag(s, key, h, tag) {
		t.Fatal("own tag rejected")
	}
	for i := range len(tag) * 8 {
		bad := append([]byte{}, tag...)
		bad[i/8] ^= 1 << (i % 8)
		if VerifyConfirmationTag(s, key, h, bad) {
			t.Fatalf("tag with bit %d flipped accepted", i)
		}
	}
}

func TestTranscriptRejectsNonCommit(t *testing.T) {
	s, _ := suite.Lookup(1)
	fc := &wire.FramedContent{ContentType: wire.ContentTypeApplication, Sender: wire.Sender{Type: wire.SenderTypeMember}}
	if _, err := ConfirmedTranscriptHash(s, nil, wire.WireFormatPublicMessage, fc, nil); err == nil {
		t.Error("application content accepted into the transcript")
	}
}
