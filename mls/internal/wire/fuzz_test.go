package wire

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/good-offices/goodoffices/mls/internal/codec"
)

// vectorMessages loads messages.json from MLS_TEST_VECTORS or the vendored
// vectors; the fuzz targets use its fields as seeds.
func vectorMessages(tb testing.TB) []map[string]string {
	dir := os.Getenv("MLS_TEST_VECTORS")
	if dir == "" {
		dir = filepath.Join("..", "..", "testdata", "vectors")
	}
	data, err := os.ReadFile(filepath.Join(dir, "messages.json"))
	if err != nil {
		tb.Fatalf("failed to read messages.json: %v", err)
	}
	var cases []map[string]string
	if err := json.Unmarshal(data, &cases); err != nil {
		tb.Fatal(err)
	}
	return cases
}

// seedField returns the decoded hex of field in the first n cases.
func seedField(tb testing.TB, field string, n int) [][]byte {
	var out [][]byte
	for i, c := range vectorMessages(tb) {
		if i == n {
			break
		}
		b, err := hex.DecodeString(c[field])
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// seedMessages decodes the MLSMessage field of the first n cases and
// extracts a part of each with pick (nil results are skipped).
func seedMessages(tb testing.TB, field string, n int, pick func(m *MLSMessage) codec.Marshaler) [][]byte {
	var out [][]byte
	for _, b := range seedField(tb, field, n) {
		var m MLSMessage
		if err := Unmarshal(b, &m); err != nil {
			tb.Fatal(err)
		}
		p := pick(&m)
		if p == nil || reflect.ValueOf(p).IsNil() {
			continue
		}
		enc, err := Marshal(p)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, enc)
	}
	return out
}

// fuzzDecoder checks the round-trip property of a strict, canonical
// decoder: whatever decodes re-encodes to the same bytes and decodes again
// to an equal value. It also must never panic.
func fuzzDecoder[T any, P interface {
	*T
	codec.Marshaler
	codec.Unmarshaler
}](f *testing.F, seeds [][]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var v T
		if err := Unmarshal(data, P(&v)); err != nil {
			return
		}
		enc, err := Marshal(P(&v))
		if err != nil {
			t.Fatalf("decoded value does not re-encode: %v", err)
		}
		if !bytes.Equal(enc, data) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", enc, data)
		}
		var v2 T
		if err := Unmarshal(enc, P(&v2)); err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		if !reflect.DeepEqual(&v, &v2) {
			t.Fatal("decode(encode(decode(x))) != decode(x)")
		}
	})
}

const nSeeds = 10

func allMessageSeeds(tb testing.TB) [][]byte {
	var s [][]byte
	for _, f := range []string{"mls_welcome", "mls_group_info", "mls_key_package", "public_message_application",
		"public_message_proposal", "public_message_commit", "private_message"} {
		s = append(s, seedField(tb, f, nSeeds)...)
	}
	return s
}

func FuzzMLSMessage(f *testing.F) { fuzzDecoder[MLSMessage](f, allMessageSeeds(f)) }

func FuzzRatchetTree(f *testing.F) { fuzzDecoder[RatchetTree](f, seedField(f, "ratchet_tree", nSeeds)) }

func FuzzGroupSecrets(f *testing.F) {
	fuzzDecoder[GroupSecrets](f, seedField(f, "group_secrets", nSeeds))
}

func FuzzCommit(f *testing.F) { fuzzDecoder[Commit](f, seedField(f, "commit", nSeeds)) }

func FuzzProposal(f *testing.F) {
	var seeds [][]byte
	for _, b := range seedField(f, "public_message_proposal", nSeeds) {
		var m MLSMessage
		if err := Unmarshal(b, &m); err != nil {
			f.Fatal(err)
		}
		if p := m.PublicMessage.Content.Proposal; p != nil {
			enc, _ := Marshal(p)
			seeds = append(seeds, enc)
		}
	}
	for _, field := range []string{"add_proposal", "update_proposal", "remove_proposal", "pre_shared_key_proposal",
		"re_init_proposal", "external_init_proposal", "group_context_extensions_proposal"} {
		t := map[string]ProposalType{"add_proposal": 1, "update_proposal": 2, "remove_proposal": 3,
			"pre_shared_key_proposal": 4, "re_init_proposal": 5, "external_init_proposal": 6,
			"group_context_extensions_proposal": 7}[field]
		for _, b := range seedField(f, field, 3) {
			seeds = append(seeds, append([]byte{byte(t >> 8), byte(t)}, b...))
		}
	}
	fuzzDecoder[Proposal](f, seeds)
}

func FuzzKeyPackage(f *testing.F) {
	fuzzDecoder[KeyPackage](f, seedMessages(f, "mls_key_package", nSeeds, func(m *MLSMessage) codec.Marshaler { return m.KeyPackage }))
}

func FuzzLeafNode(f *testing.F) {
	seeds := seedMessages(f, "mls_key_package", nSeeds, func(m *MLSMessage) codec.Marshaler { return &m.KeyPackage.LeafNode })
	seeds = append(seeds, seedField(f, "update_proposal", nSeeds)...)
	fuzzDecoder[LeafNode](f, seeds)
}

func FuzzGroupInfo(f *testing.F) {
	fuzzDecoder[GroupInfo](f, seedMessages(f, "mls_group_info", nSeeds, func(m *MLSMessage) codec.Marshaler { return m.GroupInfo }))
}

func FuzzGroupContext(f *testing.F) {
	fuzzDecoder[GroupContext](f, seedMessages(f, "mls_group_info", nSeeds, func(m *MLSMessage) codec.Marshaler { return &m.GroupInfo.GroupContext }))
}

func FuzzWelcome(f *testing.F) {
	fuzzDecoder[Welcome](f, seedMessages(f, "mls_welcome", nSeeds, func(m *MLSMessage) codec.Marshaler { return m.Welcome }))
}

func FuzzPublicMessage(f *testing.F) {
	var seeds [][]byte
	for _, field := range []string{"public_message_application", "public_message_proposal", "public_message_commit"} {
		seeds = append(seeds, seedMessages(f, field, nSeeds, func(m *MLSMessage) codec.Marshaler { return m.PublicMessage })...)
	}
	fuzzDecoder[PublicMessage](f, seeds)
}

func FuzzPrivateMessage(f *testing.F) {
	fuzzDecoder[PrivateMessage](f, seedMessages(f, "private_message", nSeeds, func(m *MLSMessage) codec.Marshaler { return m.PrivateMessage }))
}

func FuzzUpdatePath(f *testing.F) {
	var seeds [][]byte
	for _, b := range seedField(f, "commit", 50) {
		var c Commit
		if err := Unmarshal(b, &c); err != nil {
			f.Fatal(err)
		}
		if c.Path != nil {
			enc, _ := Marshal(c.Path)
			seeds = append(seeds, enc)
		}
	}
	fuzzDecoder[UpdatePath](f, seeds)
}

func FuzzPreSharedKeyID(f *testing.F) {
	fuzzDecoder[PreSharedKeyID](f, seedField(f, "pre_shared_key_proposal", nSeeds))
}

func FuzzExtensions(f *testing.F) {
	fuzzDecoder[Extensions](f, seedField(f, "group_context_extensions_proposal", nSeeds))
}

// authenticatedContent is AuthenticatedContent with the codec methods
// (it has them already; the alias keeps the fuzz target list uniform).
func FuzzAuthenticatedContent(f *testing.F) {
	var seeds [][]byte
	for _, field := range []string{"public_message_proposal", "public_message_commit"} {
		for _, b := range seedField(f, field, nSeeds) {
			var m MLSMessage
			if err := Unmarshal(b, &m); err != nil {
				f.Fatal(err)
			}
			ac := AuthenticatedContent{WireFormat: WireFormatPublicMessage, Content: m.PublicMessage.Content, Auth: m.PublicMessage.Auth}
			enc, _ := Marshal(&ac)
			seeds = append(seeds, enc)
		}
	}
	fuzzDecoder[AuthenticatedContent](f, seeds)
}

func FuzzSenderData(f *testing.F) {
	fuzzDecoder[SenderData](f, [][]byte{{0, 0, 0, 1, 0, 0, 0, 2, 1, 2, 3, 4}})
}

func FuzzExternalSenders(f *testing.F) {
	es := ExternalSenders{{SignatureKey: []byte{1, 2}, Credential: Credential{Type: CredentialTypeBasic, Identity: []byte("x")}}}
	enc, _ := Marshal(&es)
	fuzzDecoder[ExternalSenders](f, [][]byte{enc})
}

func FuzzRequiredCapabilities(f *testing.F) {
	rc := RequiredCapabilities{ExtensionTypes: []ExtensionType{5}, ProposalTypes: []ProposalType{}, CredentialTypes: []CredentialType{1}}
	enc, _ := Marshal(&rc)
	fuzzDecoder[RequiredCapabilities](f, [][]byte{enc})
}

// FuzzPrivateMessageContent checks the padded plaintext decoder for each
// content type.
func FuzzPrivateMessageContent(f *testing.F) {
	app, _ := MarshalPrivateMessageContent(&PrivateMessageContent{ApplicationData: []byte("hi"), Auth: FramedContentAuthData{Signature: []byte{1}}, PaddingLen: 3}, ContentTypeApplication)
	f.Add(app, uint8(ContentTypeApplication))
	for _, b := range seedField(f, "commit", 3) {
		f.Add(append(append([]byte{}, b...), 1, 0xaa, 1, 0xbb, 0, 0), uint8(ContentTypeCommit))
	}
	f.Fuzz(func(t *testing.T, data []byte, ct uint8) {
		c, err := UnmarshalPrivateMessageContent(data, ContentType(ct))
		if err != nil {
			return
		}
		enc, err := MarshalPrivateMessageContent(c, ContentType(ct))
		if err != nil {
			t.Fatalf("decoded content does not re-encode: %v", err)
		}
		if !bytes.Equal(enc, data) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", enc, data)
		}
	})
}

func FuzzFramedContent(f *testing.F) {
	var seeds [][]byte
	for _, field := range []string{"public_message_application", "public_message_proposal", "public_message_commit"} {
		seeds = append(seeds, seedMessages(f, field, 5, func(m *MLSMessage) codec.Marshaler { return &m.PublicMessage.Content })...)
	}
	fuzzDecoder[FramedContent](f, seeds)
}

func FuzzCredential(f *testing.F) {
	fuzzDecoder[Credential](f, seedMessages(f, "mls_key_package", nSeeds, func(m *MLSMessage) codec.Marshaler { return &m.KeyPackage.LeafNode.Credential }))
}

func FuzzNode(f *testing.F) {
	var seeds [][]byte
	for _, b := range seedField(f, "ratchet_tree", 3) {
		var rt RatchetTree
		if err := Unmarshal(b, &rt); err != nil {
			f.Fatal(err)
		}
		for _, n := range rt {
			if n != nil {
				enc, _ := Marshal(n)
				seeds = append(seeds, enc)
			}
		}
	}
	fuzzDecoder[Node](f, seeds)
}
