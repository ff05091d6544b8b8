package deskui

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/good-offices/goodoffices/desk"
	"github.com/good-offices/goodoffices/web/i18n"
)

// TestDeskTimesCarryZone: every time a desk page shows is in the
// delegate's zone with its abbreviation, and the footer names the zone, so
// that a time on the desk and the same instant on the venue's pages (in
// the venue's zone) never differ without saying why.
func TestDeskTimesCarryZone(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	d, err := desk.Init(t.Context(), t.TempDir(), []byte("test passphrase"), desk.Profile{Delegation: "arden", Person: "Tomas Reig", Role: "expert", Level: "expert"}, desk.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := New(Options{Desk: d, Zone: "Mars/Olympus", Logger: quiet}); err == nil {
		t.Fatal("an unknown zone was accepted")
	}
	s, err := New(Options{Desk: d, Zone: "Europe/Paris", Logger: quiet}) // no talks name either
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 3, 6, 36, 9, 0, time.UTC) // 11:36 in Almaty, 07:36 in Paris
	for code, want := range map[string]string{"en": "3 Dec 07:36:09 CET", "ru": "3 дек. 07:36:09 CET"} {
		fm := s.funcs(i18n.Get(code))
		if got := fm["hhmm"].(func(time.Time) string)(at); got != want {
			t.Errorf("%s: hhmm = %q, want %q", code, got, want)
		}
		if got := fm["when"].(func(time.Time) string)(at); !strings.HasSuffix(got, "07:36 CET") {
			t.Errorf("%s: when = %q", code, got)
		}
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	u, _ := url.Parse(ts.URL)
	s.SetHosts(u.Host)
	c := &http.Client{Jar: &cookieJar{}}
	r, err := c.Get(ts.URL + "/login?token=" + s.NewLoginToken())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	page := string(b)
	abbr, _ := time.Now().In(s.tz).Zone()
	if !strings.Contains(page, "times in your zone, Europe/Paris ("+abbr+")") {
		t.Error("the footer does not name the delegate's zone")
	}
	if strings.Contains(page, "· </span>") || strings.Contains(page, "<span> ·") || strings.Contains(page, "·  ·") {
		t.Error("the footer has a dangling separator without a talks name")
	}
}

// TestDisplayNamesFromRegister: outside the demo (no names in the options)
// a delegation is called by the display name logged with its
// accreditation, else by its ID.
func TestDisplayNamesFromRegister(t *testing.T) {
	s, _ := newServer(t)
	s.assignColours([]desk.Party{{Name: "arden"}, {Name: "borealia", DisplayName: "Republic of Borealia"}})
	if got := s.name("borealia"); got != "Republic of Borealia" {
		t.Errorf("name(borealia) = %q", got)
	}
	if got := s.name("arden"); got != "arden" {
		t.Errorf("name(arden) = %q, want the ID", got)
	}
}
