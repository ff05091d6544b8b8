package mls

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/good-offices/goodoffices/mls/internal/codec"
	"github.com/good-offices/goodoffices/mls/internal/wire"
)

// messagesFields maps each messages.json field to a constructor of the type
// it holds (RFC 9420 §6, §7.8, §12). Exported for the fuzz seeds too.
var messagesFields = []struct {
	name string
	new  func() codec.Unmarshaler
	// wf is the wire format an MLSMessage field must carry (0: not an MLSMessage).
	wf wire.WireFormat
}{
	{"mls_welcome", func() codec.Unmarshaler { return new(wire.MLSMessage) }, wire.WireFormatWelcome},
	{"mls_group_info", func() codec.Unmarshaler { return new(wire.MLSMessage) }, wire.WireFormatGroupInfo},
	{"mls_key_package", func() codec.Unmarshaler { return new(wire.MLSMessage) }, wire.WireFormatKeyPackage},
	{"ratchet_tree", func() codec.Unmarshaler { return new(wire.RatchetTree) }, 0},
	{"group_secrets", func() codec.Unmarshaler { return new(wire.GroupSecrets) }, 0},
	{"add_proposal", func() codec.Unmarshaler { return new(wire.Add) }, 0},
	{"update_proposal", func() codec.Unmarshaler { return new(wire.Update) }, 0},
	{"remove_proposal", func() codec.Unmarshaler { return new(wire.Remove) }, 0},
	{"pre_shared_key_proposal", func() codec.Unmarshaler { return new(wire.PreSharedKey) }, 0},
	{"re_init_proposal", func() codec.Unmarshaler { return new(wire.ReInit) }, 0},
	{"external_init_proposal", func() codec.Unmarshaler { return new(wire.ExternalInit) }, 0},
	{"group_context_extensions_proposal", func() codec.Unmarshaler { return new(wire.GroupContextExtensions) }, 0},
	{"commit", func() codec.Unmarshaler { return new(wire.Commit) }, 0},
	{"public_message_application", func() codec.Unmarshaler { return new(wire.MLSMessage) }, wire.WireFormatPublicMessage},
	{"public_message_proposal", func() codec.Unmarshaler { return new(wire.MLSMessage) }, wire.WireFormatPublicMessage},
	{"public_message_commit", func() codec.Unmarshaler { return new(wire.MLSMessage) }, wire.WireFormatPublicMessage},
	{"private_message", func() codec.Unmarshaler { return new(wire.MLSMessage) }, wire.WireFormatPrivateMessage},
}

// messages.json: every field decodes as its type and re-encodes to the
// identical bytes.
func runMessages(t *testing.T, data []byte) vectorCounts {
	return runCases(t, data, nil, func(t *testing.T, c *map[string]hexBytes) error {
		var errs []error
		for _, f := range messagesFields {
			b, ok := (*c)[f.name]
			if !ok {
				errs = append(errs, fmt.Errorf("%s: missing from the vector", f.name))
				continue
			}
			if err := roundTrip(b, f.new, f.wf); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", f.name, err))
			}
		}
		if len(*c) != len(messagesFields) {
			errs = append(errs, fmt.Errorf("vector has %d fields, runner knows %d", len(*c), len(messagesFields)))
		}
		return errors.Join(errs...)
	})
}

// roundTrip decodes b, re-encodes it and requires identical bytes, then
// decodes again and requires an equal value.
func roundTrip(b []byte, newV func() codec.Unmarshaler, wf wire.WireFormat) error {
	v := newV()
	if err := wire.Unmarshal(b, v); err != nil {
		return err
	}
	if m, ok := v.(*wire.MLSMessage); ok && wf != 0 && m.WireFormat != wf {
		return fmt.Errorf("wire format %d, want %d", m.WireFormat, wf)
	}
	enc, err := wire.Marshal(v.(codec.Marshaler))
	if err != nil {
		return fmt.Errorf("failed to re-encode: %w", err)
	}
	if string(enc) != string(b) {
		return fmt.Errorf("re-encoding differs:\n got %x\nwant %x", enc, b)
	}
	v2 := newV()
	if err := wire.Unmarshal(enc, v2); err != nil {
		return fmt.Errorf("failed to decode the re-encoding: %w", err)
	}
	if !reflect.DeepEqual(v, v2) {
		return errors.New("decoding the re-encoding gives a different value")
	}
	return nil
}
