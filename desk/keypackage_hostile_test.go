package desk

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/good-offices/goodoffices/mls"
	"github.com/good-offices/goodoffices/venue/client"
)

// TestHostileKeyPackageSubstituted: when Arden's desk opens a channel, the
// venue answers the claim for the key package of Borealia's device with
// one that carries Borealia's certificate but another signature key. The
// desk refuses it with an alarm and evidence, and sends nothing: no group
// is started without Borealia's device, so no statement is sent that
// Borealia could never read. Once the venue is honest again, the channel
// opens with both and Borealia reads what Arden sends.
func TestHostileKeyPackageSubstituted(t *testing.T) {
	tv := startVenue(t)
	arden := tv.accredit("arden")
	borealia := tv.accredit("borealia")
	a := tv.newDesk(arden, "Tomas Reig")
	b := tv.newDesk(borealia, "Iryna Holt")
	ctx := t.Context()
	if _, err := tv.admin.CreateChannel(ctx, client.ChannelSpec{ID: "wg1", Kind: "working-group", Level: "expert", Members: []string{"arden", "borealia"}}); err != nil {
		t.Fatal(err)
	}
	confirmAll(t, a)
	confirmAll(t, b)
	syncAll(t, a, b)

	id, err := mls.NewIdentity(DefaultSuite, mls.BasicCredential(b.Certificate()))
	if err != nil {
		t.Fatal(err)
	}
	rogue, _, err := mls.NewKeyPackage(id, nil)
	if err != nil {
		t.Fatal(err)
	}
	claimPath := "/v1/devices/" + b.DeviceID() + "/keypackage"
	tv.setTamper(func(path string, body []byte) []byte {
		if path == claimPath {
			return rogue.Bytes()
		}
		return body
	})
	_, err = a.Send(ctx, "wg1", []byte("Arden opens the working group."))
	var alarm *Alarm
	if !errors.As(err, &alarm) || alarm.Kind != AlarmKeyPackage || !strings.Contains(alarm.Detail, b.DeviceID()) {
		t.Fatalf("send with a substituted key package: %v", err)
	}
	if cp, err := a.api.cl().Fetch(ctx, "wg1", "checkpoint"); err != nil || !bytes.Contains(cp, []byte("\n0\n")) {
		t.Fatalf("the channel's log is not empty (%v): something was sent\n%s", err, cp)
	}
	st, err := a.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, al := range st.Alarms {
		if al.Kind == AlarmKeyPackage && al.Evidence != "" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no key-package alarm with evidence in the desk's status: %+v", st.Alarms)
	}

	tv.setTamper(nil)
	if _, err := a.Send(ctx, "wg1", []byte("Arden opens the working group.")); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a, b)
	if got := strings.Join(texts(t, b, "wg1"), "|"); !bytes.Contains([]byte(got), []byte("Arden opens the working group.")) {
		t.Fatalf("Borealia reads %q", got)
	}
}

// TestHousekeepingAlarmCounts: an alarm raised by the MLS housekeeping of a
// sync (here: the venue substitutes the key package of a device joining an
// open channel, found when the desk adds missing devices) is one of the
// sync's alarms, so that 'desk sync' exits 3 on the sync that raised it,
// not only on a later one.
func TestHousekeepingAlarmCounts(t *testing.T) {
	tv := startVenue(t)
	arden := tv.accredit("arden")
	borealia := tv.accredit("borealia")
	a := tv.newDesk(arden, "Tomas Reig")
	b := tv.newDesk(borealia, "Iryna Holt")
	ctx := t.Context()
	if _, err := tv.admin.CreateChannel(ctx, client.ChannelSpec{ID: "wg1", Kind: "working-group", Level: "expert", Members: []string{"arden", "borealia"}}); err != nil {
		t.Fatal(err)
	}
	confirmAll(t, a)
	confirmAll(t, b)
	syncAll(t, a, b)
	if _, err := a.Send(ctx, "wg1", []byte("Good morning.")); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a, b)

	b2 := tv.newDesk(borealia, "Iryna Holt")
	confirmAll(t, b2)
	id, err := mls.NewIdentity(DefaultSuite, mls.BasicCredential(b2.Certificate()))
	if err != nil {
		t.Fatal(err)
	}
	rogue, _, err := mls.NewKeyPackage(id, nil)
	if err != nil {
		t.Fatal(err)
	}
	claimPath := "/v1/devices/" + b2.DeviceID() + "/keypackage"
	tv.setTamper(func(path string, body []byte) []byte {
		if path == claimPath {
			return rogue.Bytes()
		}
		return body
	})
	res, err := a.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var alarm *Alarm
	if !errors.As(res.Err(), &alarm) || alarm.Kind != AlarmKeyPackage {
		t.Fatalf("the sync that met a substituted key package reports alarm %v (errors %v)", res.Err(), res.Errors)
	}
}
