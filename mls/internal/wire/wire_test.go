package wire

import (
	"errors"
	"testing"
)

func TestRejectsUnknownEnums(t *testing.T) {
	bad := []struct {
		name string
		data []byte
		dec  func([]byte) error
	}{
		{"MLSMessage version 2", []byte{0, 2, 0, 1}, func(b []byte) error { return Unmarshal(b, new(MLSMessage)) }},
		{"MLSMessage wire format 6", []byte{0, 1, 0, 6}, func(b []byte) error { return Unmarshal(b, new(MLSMessage)) }},
		{"proposal type 8", []byte{0, 8}, func(b []byte) error { return Unmarshal(b, new(Proposal)) }},
		{"proposal type 0", []byte{0, 0}, func(b []byte) error { return Unmarshal(b, new(Proposal)) }},
		{"credential type 3", []byte{0, 3, 0}, func(b []byte) error { return Unmarshal(b, new(Credential)) }},
		{"sender type 5", []byte{5, 0, 0, 0, 0}, func(b []byte) error { return Unmarshal(b, new(Sender)) }},
		{"node type 3", []byte{3}, func(b []byte) error { return Unmarshal(b, new(Node)) }},
		{"psk type 3", []byte{3, 0, 0}, func(b []byte) error { return Unmarshal(b, new(PreSharedKeyID)) }},
		{"resumption usage 4", []byte{2, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, func(b []byte) error { return Unmarshal(b, new(PreSharedKeyID)) }},
		{"proposal-or-ref type 3", []byte{3, 0}, func(b []byte) error { return Unmarshal(b, new(ProposalOrRef)) }},
		{"private message content type 4", []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0}, func(b []byte) error { return Unmarshal(b, new(PrivateMessage)) }},
	}
	for _, c := range bad {
		err := c.dec(c.data)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if !errors.Is(err, ErrUnknownValue) {
			t.Errorf("%s: got %v, want ErrUnknownValue", c.name, err)
		}
	}
}

func TestDuplicateExtensionRejected(t *testing.T) {
	es := Extensions{{Type: 7, Data: []byte{1}}, {Type: 7, Data: []byte{2}}}
	b, err := Marshal(&es)
	if err != nil {
		t.Fatal(err)
	}
	if err := Unmarshal(b, new(Extensions)); err == nil {
		t.Error("duplicate extension types accepted")
	}
}

func TestPrivateMessageContentPadding(t *testing.T) {
	c := &PrivateMessageContent{ApplicationData: []byte("hello"), Auth: FramedContentAuthData{Signature: []byte{9, 9}}, PaddingLen: 4}
	b, err := MarshalPrivateMessageContent(c, ContentTypeApplication)
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalPrivateMessageContent(b, ContentTypeApplication)
	if err != nil || got.PaddingLen != 4 || string(got.ApplicationData) != "hello" {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	b[len(b)-1] = 1
	if _, err := UnmarshalPrivateMessageContent(b, ContentTypeApplication); err == nil {
		t.Error("non-zero padding accepted")
	}
}

func TestMarshalRejectsInconsistentSelect(t *testing.T) {
	if _, err := Marshal(&Proposal{Type: ProposalTypeAdd}); err == nil {
		t.Error("proposal without body encoded")
	}
	if _, err := Marshal(&LeafNode{Source: LeafNodeSourceKeyPackage}); err == nil {
		t.Error("key_package leaf without lifetime encoded")
	}
	if _, err := Marshal(&MLSMessage{Version: MLS10, WireFormat: WireFormatWelcome}); err == nil {
		t.Error("MLSMessage without body encoded")
	}
}
