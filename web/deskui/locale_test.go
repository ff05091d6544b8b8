package deskui

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/good-offices/goodoffices/desk"
	"github.com/good-offices/goodoffices/venue/client"
	"github.com/good-offices/goodoffices/web/i18n"
)

// trustFixture is a trust panel with a halting fork (with its proof) and a
// withholding alarm, as the desk reports them.
func trustFixture(t *testing.T) (*model, trustData) {
	ev := t.TempDir()
	os.WriteFile(filepath.Join(ev, desk.ProofFile), []byte("proof"), 0o600)
	t0 := time.Date(2026, 12, 3, 9, 30, 0, 0, time.UTC)
	fork := desk.Alarm{Log: "wg1", Kind: desk.AlarmFork, Time: t0, Evidence: ev, Detail: "two checkpoints of size 7 with different roots"}
	withheld := desk.Alarm{Log: "logistics", Kind: desk.AlarmWithholding, Index: 4, Time: t0.Add(time.Minute)}
	st := &desk.Status{
		Logs:          []desk.LogState{{Log: "wg1", Alarm: &fork}},
		Alarms:        []desk.Alarm{fork, withheld},
		Confirmations: []desk.Confirmation{{Log: "logistics", Size: 6, Confirmed: 4}},
	}
	d := trustData{Alarms: alarmsOf(st), Device: "dev-1",
		Channels: []trustChan{{ChannelInfo: desk.ChannelInfo{Channel: client.Channel{ID: "wg1", Kind: "working-group", Level: "expert"}}, Conf: confViewOf(desk.Confirmation{Log: "wg1", Size: 9, Confirmed: 7, Ahead: 12})}}}
	return &model{Status: st}, d
}

// TestRenderLocales renders the text page, the package dashboard and the
// trust panel with alarms in every language and checks that the chrome is
// in that language: the html lang, words of the locale, and no English
// message left.
func TestRenderLocales(t *testing.T) {
	s, _ := newServer(t)
	s.assignColours([]desk.Party{{Name: "arden"}, {Name: "borealia"}})
	m, tx := scenarioModel(t)
	tm, td := trustFixture(t)
	want := map[string][]string{
		"en": {"Adoption and signatures", "ALARM on wg1: fork: two different histories", "showing different histories to different parties", "Download the proof of misbehaviour"},
		"ru": {"Принятие и подписи", "ТРЕВОГА в wg1: раздвоение: две разные истории", "показывает разным сторонам разную историю", "Скачать доказательство нарушения", "согласие"},
		"uk": {"Ухвалення та підписи", "ТРИВОГА в wg1: роздвоєння: дві різні історії", "показує різним сторонам різну історію", "Завантажити доказ порушення"},
		"kk": {"Қабылдау және қолтаңбалар", "ДАБЫЛ (wg1): екіге бөліну: екі түрлі тарих", "әр тарапқа әр түрлі тарих көрсетіп отыр", "Бұзушылықтың дәлелін жүктеп алу"},
		"fr": {"Adoption et signatures", "ALARME sur wg1 : bifurcation : deux histoires différentes", "montre des histoires différentes à des parties différentes", "Télécharger la preuve du manquement"},
	}
	for _, code := range i18n.Codes {
		t.Run(code, func(t *testing.T) {
			var all strings.Builder
			render := func(path, name string, mm *model, data any) {
				req := httptest.NewRequest("GET", path, nil)
				req.Header.Set("Accept-Language", code+";q=0.9,en;q=0.5")
				w := httptest.NewRecorder()
				s.render(w, req, name, "title", mm, data)
				page := w.Body.String()
				if !strings.Contains(page, `<html lang="`+code+`">`) {
					t.Errorf("%s: not in %s", path, code)
				}
				all.WriteString(text(page))
				all.WriteString("\n")
			}
			render("/texts/joint-statement", "text", m, s.textData(m, tx))
			render("/texts/joint-statement/package", "package", m, packageDataOf(m, tx))
			render("/trust", "trust", tm, td)
			got := all.String()
			for _, w := range want[code] {
				if !strings.Contains(got, w) {
					t.Errorf("the pages lack %q", w)
				}
			}
			if code == "en" {
				return
			}
			for _, f := range i18n.Leaks(code, got) {
				t.Errorf("English left in the %s pages: %q", code, f)
			}
		})
	}
}

// TestLanguageMenu: the browser's Accept-Language chooses the language
// until the delegate picks one in the menu; the desk remembers the choice
// in its settings, so another browser gets it too.
func TestLanguageMenu(t *testing.T) {
	s, ts := newServer(t)
	login := func(c *http.Client) {
		if r := do(t, c, "GET", ts.URL+"/login?token="+s.NewLoginToken(), nil, ""); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("login: %d", r.StatusCode)
		}
	}
	get := func(c *http.Client, accept string) string {
		req, _ := http.NewRequest("GET", ts.URL+"/trust", nil)
		req.Header.Set("Accept-Language", accept)
		r, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return string(b)
	}
	c := noRedirect()
	login(c)
	if p := get(c, "uk-UA,uk;q=0.9"); !strings.Contains(p, `<html lang="uk">`) || !strings.Contains(p, "Перевірити майданчик зараз") {
		t.Fatal("Accept-Language uk did not give the Ukrainian page")
	}
	if p := get(c, "de-DE"); !strings.Contains(p, `<html lang="en">`) {
		t.Fatal("an unsupported language did not fall back to English")
	}
	// An unsupported code is refused and changes nothing.
	if r := do(t, c, "POST", ts.URL+"/lang", map[string]string{"Origin": ts.URL}, "lang=de&next=/trust"); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("lang=de: %d", r.StatusCode)
	}
	r := do(t, c, "POST", ts.URL+"/lang", map[string]string{"Origin": ts.URL}, "lang=kk&next=/trust")
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/trust" {
		t.Fatalf("choosing kk: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	var lc *http.Cookie
	for _, ck := range r.Cookies() {
		if strings.HasPrefix(ck.Name, i18n.CookieName) {
			lc = ck
		}
	}
	if lc == nil || lc.Value != "kk" || !lc.HttpOnly || lc.SameSite != http.SameSiteStrictMode {
		t.Fatalf("language cookie: %+v", lc)
	}
	if p := get(c, "fr"); !strings.Contains(p, `<html lang="kk">`) || !strings.Contains(p, "Алаңды қазір тексеру") {
		t.Fatal("the chosen language did not override the browser's")
	}
	if got := s.d.UILanguage(t.Context()); got != "kk" {
		t.Fatalf("the desk saved %q", got)
	}
	// Another browser, without the cookie, gets the desk's choice.
	c2 := noRedirect()
	login(c2)
	if p := get(c2, "fr"); !strings.Contains(p, `<html lang="kk">`) {
		t.Fatal("a second browser did not get the desk's saved language")
	}
	// A cross-site form cannot change it.
	if r := do(t, c, "POST", ts.URL+"/lang", map[string]string{"Origin": "http://evil.example"}, "lang=fr"); r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin language change: %d", r.StatusCode)
	}
	// The redirect stays on this server.
	if r := do(t, c, "POST", ts.URL+"/lang", map[string]string{"Origin": ts.URL}, "lang=ru&next=//evil.example/"); r.Header.Get("Location") != "/" {
		t.Fatalf("next=//evil.example/: redirected to %q", r.Header.Get("Location"))
	}
}
