package venueui

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/schedule"
	"github.com/good-offices/goodoffices/venue"
	"github.com/good-offices/goodoffices/venue/client"
	"github.com/good-offices/goodoffices/venue/scheduleapi"
	"github.com/good-offices/goodoffices/web/i18n"
)

type jar struct{ cs []*http.Cookie }

func (j *jar) SetCookies(_ *url.URL, cs []*http.Cookie) { j.cs = append(j.cs, cs...) }
func (j *jar) Cookies(*url.URL) []*http.Cookie          { return j.cs }

// TestVenueUI runs the host's UI against a real venue (SQLite in a
// temporary directory) with its schedule.
func TestVenueUI(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	v, err := venue.New(t.Context(), venue.Config{DataDir: dir, Name: "venue.test", Logger: quiet, Rate: -1})
	if err != nil {
		t.Fatal(err)
	}
	st, err := v.MountSchedule(t.Context(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	vs := httptest.NewServer(v.Handler())
	defer func() { vs.Close(); st.Close(); v.Close() }()
	tok, _ := os.ReadFile(v.AdminFile())
	admin := strings.TrimSpace(string(tok))
	api, _ := client.New(vs.URL, client.WithAdmin(admin))
	root, _ := delegation.GenerateRoot("arden")
	if _, err := api.Accredit(t.Context(), "arden", root.VerifierKey()); err != nil {
		t.Fatal(err)
	}
	if _, err := api.CreateChannel(t.Context(), client.ChannelSpec{ID: "plenary", Kind: "plenary", Level: "expert", Members: []string{"arden"}}); err != nil {
		t.Fatal(err)
	}
	sc := &scheduleapi.Client{BaseURL: vs.URL, Token: admin}
	if _, err := sc.AddRoom(t.Context(), schedule.Room{Name: "Library", Capacity: 8}); err != nil {
		t.Fatal(err)
	}

	s, err := New(Options{VenueURL: vs.URL, Admin: admin, Talks: "Test talks", Names: map[string]string{"arden": "Federation of Arden"}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ui := httptest.NewServer(s.Handler())
	defer ui.Close()
	u, _ := url.Parse(ui.URL)
	s.SetHosts(u.Host)
	c := &http.Client{Jar: &jar{}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(form url.Values, hdr map[string]string) *http.Response {
		req, _ := http.NewRequest("POST", ui.URL+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		r, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r
	}
	get := func(path string) (*http.Response, string) {
		r, err := c.Get(ui.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		return r, string(b)
	}
	if r, _ := get("/"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("no session: %d", r.StatusCode)
	}
	if r := post(url.Values{"credential": {"wrong"}}, map[string]string{"Origin": ui.URL}); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong credential: %d", r.StatusCode)
	}
	for _, h := range []map[string]string{nil, {"Origin": "null"}} {
		if r := post(url.Values{"credential": {admin}}, h); r.StatusCode != http.StatusForbidden {
			t.Fatalf("login with %v: %d, want 403", h, r.StatusCode)
		}
	}
	if r := post(url.Values{"credential": {admin}}, map[string]string{"Sec-Fetch-Site": "cross-site"}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site login: %d", r.StatusCode)
	}
	if r := post(url.Values{"credential": {admin}}, map[string]string{"Origin": ui.URL}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", r.StatusCode)
	}
	r, body := get("/")
	if r.StatusCode != 200 || !strings.Contains(body, "Federation of Arden") || !strings.Contains(body, "plenary") {
		t.Fatalf("overview: %d %s", r.StatusCode, body)
	}
	if fp := delegation.Fingerprint(root.VerifierKey()); !strings.Contains(body, fp) {
		t.Errorf("overview lacks Arden's fingerprint %s", fp)
	}
	r, body = get("/schedule")
	if r.StatusCode != 200 || !strings.Contains(body, "Library") || !strings.Contains(body, "Week calendar") {
		t.Fatalf("schedule: %d", r.StatusCode)
	}
	// In French (the browser's language), then in Russian (the menu).
	getIn := func(path, accept string) string {
		req, _ := http.NewRequest("GET", ui.URL+path, nil)
		req.Header.Set("Accept-Language", accept)
		r, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return string(b)
	}
	fr := getIn("/", "fr-FR,fr;q=0.9") + getIn("/schedule", "fr-FR,fr;q=0.9")
	for _, w := range []string{`<html lang="fr">`, "Délégations accréditées", "Calendrier de la semaine", "Proposer une réunion", "niveau des experts"} {
		if !strings.Contains(fr, w) {
			t.Errorf("French pages lack %q", w)
		}
	}
	visible := regexp.MustCompile(`(?s)<[^>]*>`).ReplaceAllString(fr, " ")
	for _, f := range i18n.Leaks("fr", visible) {
		t.Errorf("English left in the French pages: %q", f)
	}
	lreq, _ := http.NewRequest("POST", ui.URL+"/lang", strings.NewReader("lang=ru&next=/schedule"))
	lreq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	lreq.Header.Set("Origin", ui.URL)
	if r, err := c.Do(lreq); err != nil || r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/schedule" {
		t.Fatalf("language menu: %v %v", r, err)
	}
	if ru := getIn("/schedule", "fr"); !strings.Contains(ru, `<html lang="ru">`) || !strings.Contains(ru, "Календарь на неделю") {
		t.Error("the language chosen in the menu does not override the browser's")
	}
	// One-time links work once.
	tokn := s.NewLoginToken()
	c.Jar = &jar{}
	if r, _ := get("/login?token=" + tokn); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("token login: %d", r.StatusCode)
	}
	c.Jar = &jar{}
	if r, _ := get("/login?token=" + tokn); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("reused token: %d", r.StatusCode)
	}
	req, _ := http.NewRequest("GET", ui.URL+"/", nil)
	req.Host = "rebound.example"
	if r, err := c.Do(req); err != nil || r.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("foreign Host: %v %v", r.StatusCode, err)
	}
}
