package deskui

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestSigninPage: a used or wrong sign-in link, a request without a session
// and signing out answer a styled page of the interface (its stylesheet, no
// language menu, nothing of the desk), in the browser's language, which says
// what happened and which command prints a new link.
func TestSigninPage(t *testing.T) {
	s, ts := newServer(t)
	get := func(c *http.Client, path, lang string) (int, string) {
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		req.Header.Set("Accept-Language", lang)
		r, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s: Content-Type %q", path, ct)
		}
		return r.StatusCode, string(b)
	}
	c := noRedirect()
	tok := s.NewLoginToken()
	get(c, "/login?token="+tok, "en")
	for _, tc := range []struct{ path, lang, want, how string }{
		{"/login?token=" + tok, "en", "This sign-in link is invalid or was used already.", "In the terminal where goodoffices desk web runs, press Enter: it prints a new link."},
		{"/trust", "en", "You are not signed in, or your session has ended.", "goodoffices desk web --home"},
		{"/login?token=guess", "ru", "Эта ссылка для входа недействительна или уже использована.", "В терминале, где запущена команда goodoffices desk web, нажмите Enter"},
		{"/", "kk", "Сіз кірмегенсіз немесе сеансыңыз аяқталды.", "Жаңа сілтеме алу"},
	} {
		code, body := get(noRedirect(), tc.path, tc.lang)
		if code != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", tc.path, code)
		}
		for _, w := range []string{`<link rel="stylesheet" href="/static/app.css">`, `class="card signin"`, tc.want, tc.how, `lang="` + tc.lang + `"`} {
			if !strings.Contains(body, w) {
				t.Errorf("%s (%s): the sign-in page lacks %q", tc.path, tc.lang, w)
			}
		}
		for _, leak := range []string{"Tomas Reig", `action="/lang"`, `action="/search"`, "Test talks"} {
			if strings.Contains(body, leak) {
				t.Errorf("%s: the sign-in page shows %q to a browser without a session", tc.path, leak)
			}
		}
	}
	// Signing out ends on the same page, not plain text.
	req, _ := http.NewRequest("POST", ts.URL+"/logout", nil)
	req.Header.Set("Origin", ts.URL)
	r, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 200 || !strings.Contains(string(b), "Signed out.") || !strings.Contains(string(b), `class="card signin"`) {
		t.Errorf("logout: %d %s", r.StatusCode, b)
	}
}
