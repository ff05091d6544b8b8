package desk

import (
	"errors"
	"testing"

	"github.com/good-offices/goodoffices/venue/client"
)

// TestRogueInterpreterAlarm: the host lets an interpreter's device use a
// channel, and a party's compromised desk commits its Add without the other
// party's consent. The other party's desk raises an interpreter alarm at
// its next sync and sends nothing while the device is in the group, until
// its delegate removes the device (desk remove).
func TestRogueInterpreterAlarm(t *testing.T) {
	tv := startVenue(t)
	ctx := t.Context()
	arden, borealia, caspia := tv.accredit("arden"), tv.accredit("borealia"), tv.accredit("caspia")
	a1 := tv.newDesk(arden, "Tomas Reig")
	b1 := tv.newDesk(borealia, "Iryna Holt")
	i1 := tv.newDeskAs(caspia, "Aigul Nur", "interpreter", "en", "ru")
	if _, err := tv.admin.CreateChannel(ctx, client.ChannelSpec{ID: "plenary", Kind: "plenary", Level: "expert", Members: []string{"arden", "borealia"}}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []*Desk{a1, b1, i1} {
		confirmAll(t, d)
	}
	if _, err := a1.Send(ctx, "plenary", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a1, b1, i1)
	if _, err := tv.admin.SetInterpreters(ctx, "plenary", []string{i1.DeviceID()}); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a1, b1, i1)
	if groupHas(t, b1, "plenary", i1.DeviceID()) {
		t.Fatal("the interpreter joined without any consent")
	}

	// a1's desk, compromised, adds the interpreter anyway.
	kpb, _, err := a1.api.claimKeyPackage(ctx, i1.DeviceID())
	if err != nil {
		t.Fatal(err)
	}
	kp, err := mlsParseKeyPackage(kpb)
	if err != nil {
		t.Fatal(err)
	}
	commit, epoch := rogueAdd(t, a1, "plenary", kp)
	if _, err := a1.api.appendEntry(ctx, "plenary", commit, int64(epoch)); err != nil {
		t.Fatal(err)
	}
	res, err := b1.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var alarm *Alarm
	for _, a := range res.Alarms {
		if a.Kind == AlarmInterpreter {
			alarm = a
		}
	}
	for _, err := range res.Errors { // MLS housekeeping's alarms
		if a := new(*Alarm); errors.As(err, a) && (*a).Kind == AlarmInterpreter {
			alarm = *a
		}
	}
	if alarm == nil || !groupHas(t, b1, "plenary", i1.DeviceID()) {
		t.Fatalf("no interpreter alarm for an Add without consent: alarms %v errors %v", res.Alarms, res.Errors)
	}
	// An alarm raised by MLS housekeeping counts like a log's: res.Err is
	// what makes `desk sync` exit 3.
	if a := new(*Alarm); !errors.As(res.Err(), a) {
		t.Fatalf("the housekeeping alarm does not make the sync fail: Err() = %v", res.Err())
	}
	if _, err := b1.Send(ctx, "plenary", []byte("secret")); !errors.Is(err, ErrInterpreterNotAdmitted) && !errors.As(err, new(*Alarm)) {
		t.Fatalf("b1 sent with an unadmitted interpreter in the group: %v", err)
	}
	// b1's delegate removes the device (the desk that maintains the group,
	// a1's, is the compromised one here); then b1 sends again.
	if err := b1.Remove(ctx, "plenary", i1.DeviceID()); err != nil {
		t.Fatal(err)
	}
	if groupHas(t, b1, "plenary", i1.DeviceID()) {
		t.Fatal("the unadmitted interpreter was not removed")
	}
	if _, err := b1.Send(ctx, "plenary", []byte("after the removal")); err != nil {
		t.Fatal(err)
	}
}

func groupHas(t *testing.T, d *Desk, ch, device string) bool {
	t.Helper()
	ms, _, err := d.Members(t.Context(), ch)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Device == device {
			return true
		}
	}
	return false
}
