package venue

import (
	"errors"
	"fmt"

	"github.com/good-offices/goodoffices/mls"
)

// A channel's log holds MLS messages (RFC 9420 §6) that the venue cannot
// read, but whose framing it can check without keys: the venue refuses an
// entry that does not decode strictly as an MLSMessage (version mls10, no
// trailing bytes) carrying a PublicMessage or PrivateMessage (Welcome,
// GroupInfo and KeyPackage messages travel by mail, never in a log). An
// entry announced as the commit for an epoch (Goodoffices-Handshake:
// commit) must be a commit of that epoch, as its framing says, less the
// epoch base it is announced with (Goodoffices-Epoch-Base: the epochs of a
// channel's earlier groups, see "One commit per epoch" in the package
// documentation).
//
// This keeps junk out of the logs, in particular out of a new channel's
// first entries, where desks look for the group's creation.

var errFraming = errors.New("not an MLS message")

// checkFraming checks entry as described above; commitEpoch is the epoch
// announced for a commit, or -1, and base its epoch base.
func checkFraming(entry []byte, commitEpoch, base int64) error {
	h, err := mls.ParseHeader(entry)
	if err != nil {
		return fmt.Errorf("%w: entries are MLS PublicMessage or PrivateMessage framings (RFC 9420 §6)", errFraming)
	}
	if h.WireFormat != mls.WireFormatPublicMessage && h.WireFormat != mls.WireFormatPrivateMessage {
		return fmt.Errorf("%w: wire format %d does not belong in a channel's log (only PublicMessage and PrivateMessage)", errFraming, h.WireFormat)
	}
	if commitEpoch >= 0 && (h.Kind != mls.KindCommit || h.Epoch != uint64(commitEpoch-base)) {
		return fmt.Errorf("%w: announced as the commit for epoch %d (base %d), but its framing says content type %d of epoch %d", errFraming, commitEpoch, base, h.Kind, h.Epoch)
	}
	return nil
}
