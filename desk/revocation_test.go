package desk

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/good-offices/goodoffices/venue/client"
)

// TestRevokedSenderRefused: a message of a revoked device that reaches the
// log after the desk knew of the revocation (a venue that did not enforce
// it) is refused and marked, not shown; the same sync removes the device
// from the group. The venue here does enforce revocations, so the desk's
// knowledge of the revocation is put in its store directly, as
// processRevocation and markRevokedLocked would have left it.
func TestRevokedSenderRefused(t *testing.T) {
	tv := startVenue(t)
	arden := tv.accredit("arden")
	borealia := tv.accredit("borealia")
	a := tv.newDesk(arden, "Tomas Reig")
	b := tv.newDesk(borealia, "Iryna Holt")
	thief := tv.newDesk(borealia, "Iryna Holt")
	ctx := t.Context()
	if _, err := tv.admin.CreateChannel(ctx, client.ChannelSpec{ID: "wg1", Kind: "working-group", Level: "expert", Members: []string{"arden", "borealia"}}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []*Desk{a, b, thief} {
		confirmAll(t, d)
	}
	syncAll(t, a, b, thief)
	if _, err := a.Send(ctx, "wg1", []byte("Good morning.")); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a, b, thief)
	if _, err := thief.Send(ctx, "wg1", []byte("Before the theft.")); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a)
	st, _ := a.logState(ctx, a.store, "wg1")
	rb, _ := json.Marshal(Revoked{Delegation: "borealia", Device: thief.DeviceID(), Index: 0, Marks: map[string]int64{"wg1": st.Size}})
	if err := a.store.Put(ctx, prefRevoked+thief.DeviceID(), rb); err != nil {
		t.Fatal(err)
	}
	if _, err := thief.Send(ctx, "wg1", []byte("Borealia concedes everything.")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	ms, err := a.Read(ctx, "wg1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var before, refused bool
	for _, m := range ms {
		if m.Kind == "application" && string(m.Data) == "Before the theft." {
			before = true
		}
		if strings.Contains(string(m.Data), "concedes") {
			t.Fatalf("the revoked device's message after its revocation is shown: %+v", m)
		}
		if m.Kind == "rejected" && m.Sender.Device == thief.DeviceID() && strings.Contains(m.Note, "after its revocation") {
			refused = true
		}
	}
	if !before || !refused {
		t.Fatalf("message before the revocation shown: %v; after it refused: %v\n%+v", before, refused, ms)
	}
	members, _, err := a.Members(ctx, "wg1")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if m.Device == thief.DeviceID() {
			t.Fatalf("the revoked device is still in the group after the sync")
		}
	}
}
