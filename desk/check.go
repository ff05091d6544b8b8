package desk

import (
	"context"
	"errors"
	"fmt"

	"github.com/good-offices/goodoffices/mls"
	"github.com/good-offices/goodoffices/negotiation"
)

// Refuse before you send. A negotiation event in a channel's log stays there
// for good; an event the engine refuses is recorded and ignored by every
// desk, so sending one is a silent mistake. SendEvent applies the event to a
// copy of the channel's current state first (a dry run, with this desk as the
// sender) and sends it only if the engine applies it.

// A RefusedError is the engine's refusal of an event in a dry run: nothing
// was encrypted or sent.
type RefusedError struct {
	Type   string             // the event's type, if it decoded
	Result negotiation.Result // rejected, malformed or unknown
	Reason string             // the engine's reason
}

func (e *RefusedError) Error() string {
	what := "the event"
	if e.Type != "" {
		what = "this " + e.Type
	}
	return fmt.Sprintf("the rules of the talks refuse %s (%s); nothing was sent", what, e.Reason)
}

// CheckEvent applies payload, as if this desk sent it now in channel ch, to
// a copy of the state of the talks there (host as in Talks) and returns a
// *RefusedError with the engine's reason if the engine does not apply it.
// It uses the entries the desk has processed; SendEvent syncs first.
func (d *Desk) CheckEvent(ctx context.Context, ch, host string, payload []byte) error {
	if d.cert == nil {
		return ErrNotEnrolled
	}
	st, err := d.Talks(ctx, ch, host)
	if err != nil {
		return err
	}
	// Talks shares its state: apply to a copy.
	cp, err := d.decodeEngine(st.Canonical())
	if err != nil {
		return fmt.Errorf("failed to copy the state of the talks: %w", err)
	}
	var next uint64
	for _, c := range cp.Cursors {
		if c.Channel == ch {
			next = c.LogIndex + 1
		}
	}
	me := memberOf(mls.Member{Credential: mls.BasicCredential(d.cert)})
	rec := cp.Apply(negotiation.Event{LogIndex: next, Channel: ch, Delegation: me.Delegation,
		Device: me.Device, Person: me.Person, Payload: payload})
	if rec.Result != negotiation.ResultApplied {
		return &RefusedError{Type: rec.Type, Result: rec.Result, Reason: rec.Reason}
	}
	return nil
}

// SendEvent sends a negotiation event (a payload of package negotiation) in
// channel ch, like Send, but only after CheckEvent accepts it against the
// channel's state brought up to date from the venue: a refused event returns
// a *RefusedError before anything is encrypted or appended. host names the
// host's delegation as in Talks.
func (d *Desk) SendEvent(ctx context.Context, ch, host string, payload []byte) (int64, error) {
	return d.send(ctx, ch, payload, func() error { return d.CheckEvent(ctx, ch, host, payload) })
}

// IsRefused reports whether err is the engine's refusal of an event.
func IsRefused(err error) bool {
	var r *RefusedError
	return errors.As(err, &r)
}
