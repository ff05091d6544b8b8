package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func guarded() http.Handler {
	g := &Guard{Hosts: LoopbackHosts("127.0.0.1:8480")}
	return g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
}

func TestGuard(t *testing.T) {
	h := guarded()
	for _, tc := range []struct {
		name    string
		method  string
		host    string
		headers map[string]string
		want    int
	}{
		{"loopback GET", "GET", "127.0.0.1:8480", nil, 200},
		{"localhost GET", "GET", "localhost:8480", nil, 200},
		{"rebinding: foreign Host", "GET", "evil.example:8480", nil, http.StatusMisdirectedRequest},
		{"rebinding: other port", "GET", "127.0.0.1:9999", nil, http.StatusMisdirectedRequest},
		{"empty Host", "GET", "", nil, http.StatusMisdirectedRequest},
		{"same-origin POST", "POST", "127.0.0.1:8480", map[string]string{"Sec-Fetch-Site": "same-origin"}, 200},
		{"cross-site POST", "POST", "127.0.0.1:8480", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"same-site POST from another port", "POST", "127.0.0.1:8480", map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"POST with foreign Origin", "POST", "127.0.0.1:8480", map[string]string{"Origin": "http://evil.example"}, 403},
		{"POST with Origin of another port", "POST", "127.0.0.1:8480", map[string]string{"Origin": "http://127.0.0.1:9999"}, 403},
		{"POST with own Origin", "POST", "127.0.0.1:8480", map[string]string{"Origin": "http://127.0.0.1:8480"}, 200},
		{"POST with null Origin and foreign Referer", "POST", "127.0.0.1:8480", map[string]string{"Origin": "null", "Referer": "http://evil.example/x"}, 403},
		{"POST with null Origin", "POST", "127.0.0.1:8480", map[string]string{"Origin": "null"}, 403},
		{"POST with null Origin and own Referer", "POST", "127.0.0.1:8480", map[string]string{"Origin": "null", "Referer": "http://127.0.0.1:8480/x"}, 403},
		{"POST with none of Sec-Fetch-Site, Origin, Referer", "POST", "127.0.0.1:8480", nil, 403},
		{"POST with own Referer only", "POST", "127.0.0.1:8480", map[string]string{"Referer": "http://127.0.0.1:8480/x"}, 200},
		{"Sec-Fetch-Site wins over a matching Origin", "POST", "127.0.0.1:8480", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://127.0.0.1:8480"}, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "http://x/", nil)
			r.Host = tc.host
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d", w.Code, tc.want)
			}
			for k, v := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Content-Security-Policy": CSP} {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})
	}
	if strings.Contains(CSP, "unsafe-inline") || !strings.Contains(CSP, "script-src 'self'") || !strings.Contains(CSP, "frame-ancestors 'none'") {
		t.Errorf("CSP too weak: %s", CSP)
	}
}

func TestSessions(t *testing.T) {
	var s Sessions
	tok := s.NewToken()
	if _, ok := s.Redeem("not-a-token"); ok {
		t.Fatal("an unknown token opened a session")
	}
	if _, ok := s.Redeem(""); ok {
		t.Fatal("an empty token opened a session")
	}
	id, ok := s.Redeem(tok)
	if !ok {
		t.Fatal("a fresh token was refused")
	}
	if _, ok := s.Redeem(tok); ok {
		t.Fatal("a token was used twice")
	}
	r := httptest.NewRequest("GET", "http://127.0.0.1:8480/", nil)
	if s.Valid(r) {
		t.Fatal("a request without a cookie is valid")
	}
	w := httptest.NewRecorder()
	s.SetCookie(w, r, id)
	c := w.Result().Cookies()[0]
	if c.Name != SessionCookie+"_8480" {
		t.Errorf("cookie name %q does not carry the port", c.Name)
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
		t.Fatalf("cookie attributes: %+v", c)
	}
	r.AddCookie(c)
	if !s.Valid(r) {
		t.Fatal("the session cookie is not valid")
	}
	other := httptest.NewRequest("GET", "http://127.0.0.1:8481/", nil)
	other.AddCookie(c)
	if s.Valid(other) {
		t.Fatal("the cookie of one port opens a session on another")
	}
	bad := httptest.NewRequest("GET", "http://127.0.0.1:8480/", nil)
	bad.AddCookie(&http.Cookie{Name: c.Name, Value: id + "x"})
	if s.Valid(bad) {
		t.Fatal("a forged session cookie is valid")
	}
	s.Close(r)
	if s.Valid(r) {
		t.Fatal("a closed session is still valid")
	}
	s2 := Sessions{TokenTTL: -1}
	if _, ok := s2.Redeem(s2.NewToken()); ok {
		t.Fatal("an expired token opened a session")
	}
}

func TestPagesParse(t *testing.T) {
	// Every page template parses with the functions its package provides;
	// here only that the embedded files are there.
	for _, f := range []string{"static/app.css", "static/app.js", "templates/layout.html", "templates/desk/partials.tmpl", "templates/venue/schedule.html"} {
		if _, err := files.ReadFile(f); err != nil {
			t.Errorf("%s not embedded: %v", f, err)
		}
	}
	js, _ := files.ReadFile("static/app.js")
	if strings.Contains(string(js), "innerHTML = html") || strings.Contains(string(js), "eval(") {
		t.Error("app.js must not inject unparsed HTML or eval")
	}
}
