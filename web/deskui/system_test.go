package deskui

import (
	"strings"
	"testing"

	"github.com/good-offices/goodoffices/desk"
	"github.com/good-offices/goodoffices/web/i18n"
)

// TestSystemEntriesInWords: what the channel page says of entries that are
// not messages (a member added or removed, keys renewed, a message sent
// before the desk joined) is a sentence in the delegate's language, with
// names, never a device ID, an epoch, a log index or an MLS term.
func TestSystemEntriesInWords(t *testing.T) {
	s, _ := newServer(t)
	tomas := desk.MemberInfo{Delegation: "arden", Person: "Tomas Reig", Role: "expert", Device: "K7QF2M4XABCDEFGH"}
	iryna := desk.MemberInfo{Delegation: "borealia", Person: "Iryna Holt", Device: "ZZZZ2M4XABCDEFGH"}
	cases := []struct {
		msg  desk.Message
		en   string
		code string
		want string
	}{
		{desk.Message{Kind: "skipped", Note: "sent before this desk joined", Index: 0, Epoch: 3}, "A message sent before this desk joined the channel. By design, a new member cannot read what was said before it joined.",
			"ru", "Сообщение отправлено до того, как это рабочее место вошло в канал."},
		{desk.Message{Kind: "commit", Note: "epoch 2: added Tomas Reig (arden, K7QF2M4XABCDEFGH)", Added: []desk.MemberInfo{tomas}}, "Added to the channel: Tomas Reig (arden).",
			"kk", "Арнаға қосылды: Tomas Reig (arden)."},
		{desk.Message{Kind: "commit", Note: "epoch 3: added …; removed …", Added: []desk.MemberInfo{tomas}, Removed: []desk.MemberInfo{iryna}}, "Added to the channel: Tomas Reig (arden). Removed from it: Iryna Holt (borealia).",
			"fr", "Ajouté(s) au canal : Tomas Reig (arden). Retiré(s) : Iryna Holt (borealia)."},
		{desk.Message{Kind: "commit", Note: "epoch 4: rotated keys"}, "The channel's keys were renewed, a routine step that keeps later messages safe.",
			"uk", "Ключі каналу оновлено"},
		{desk.Message{Kind: "commit", Note: "epoch 5: added Old Record (arden, K7QF2M4XABCDEFGH)"}, "The channel's members changed.", "ru", "Состав канала изменился."},
		{desk.Message{Kind: "proposal", Note: "proposes to add Tomas Reig (arden, K7QF2M4XABCDEFGH)", Added: []desk.MemberInfo{tomas}}, "Proposed: to add Tomas Reig (arden) to the channel.", "fr", "Proposition : ajouter Tomas Reig (arden) au canal."},
		{desk.Message{Kind: "rejected", Note: "mls: bad signature at generation 7"}, "An entry this desk could not decrypt or verify: it ignored it.", "kk", "елемеді"},
	}
	for _, c := range cases {
		got := s.systemBody(i18n.Get("en"), c.msg)
		if got != c.en {
			t.Errorf("%s %q: %q, want %q", c.msg.Kind, c.msg.Note, got, c.en)
		}
		loc := s.systemBody(i18n.Get(c.code), c.msg)
		if !strings.Contains(loc, c.want) {
			t.Errorf("%s %q in %s: %q, want it to contain %q", c.msg.Kind, c.msg.Note, c.code, loc, c.want)
		}
		for _, jargon := range []string{"K7QF2M4X", "ZZZZ2M4X", "epoch", "MLS", "mls", "#"} {
			if strings.Contains(got, jargon) || strings.Contains(loc, jargon) {
				t.Errorf("%s %q: %q / %q says %q", c.msg.Kind, c.msg.Note, got, loc, jargon)
			}
		}
	}
}
