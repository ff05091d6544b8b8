package deskui

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/good-offices/goodoffices/desk"
	"github.com/good-offices/goodoffices/web"
)

// newServer returns a UI over a real (unenrolled) desk, served by an
// httptest server whose address is the only allowed Host.
func newServer(t *testing.T) (*Server, *httptest.Server) {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	d, err := desk.Init(t.Context(), t.TempDir(), []byte("test passphrase"), desk.Profile{Delegation: "arden", Person: "Tomas Reig", Role: "expert", Level: "expert"}, desk.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	s, err := New(Options{Desk: d, Talks: "Test talks", Host: "caspia", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(nil)
	ts.Config.Handler = s.Handler()
	u, _ := url.Parse(ts.URL)
	s.SetHosts(u.Host)
	t.Cleanup(ts.Close)
	return s, ts
}

func noRedirect() *http.Client {
	jar := &cookieJar{}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// cookieJar keeps cookies for one host (enough for these tests).
type cookieJar struct{ cs []*http.Cookie }

func (j *cookieJar) SetCookies(_ *url.URL, cs []*http.Cookie) { j.cs = append(j.cs, cs...) }
func (j *cookieJar) Cookies(*url.URL) []*http.Cookie          { return j.cs }

func do(t *testing.T, c *http.Client, method, u string, hdr map[string]string, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestLoginToken(t *testing.T) {
	s, ts := newServer(t)
	c := noRedirect()
	// No session: refused.
	if r := do(t, c, "GET", ts.URL+"/", nil, ""); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no session: %d", r.StatusCode)
	}
	// Missing and wrong tokens: refused, no cookie.
	for _, q := range []string{"", "?token=", "?token=guess"} {
		if r := do(t, c, "GET", ts.URL+"/login"+q, nil, ""); r.StatusCode != http.StatusUnauthorized || len(r.Cookies()) != 0 {
			t.Fatalf("login%s: %d, cookies %v", q, r.StatusCode, r.Cookies())
		}
	}
	tok := s.NewLoginToken()
	r := do(t, c, "GET", ts.URL+"/login?token="+tok+"&next=//evil.example/", nil, "")
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
		t.Fatalf("login: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	ck := r.Cookies()
	if len(ck) != 1 || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode || !strings.HasPrefix(ck[0].Name, web.SessionCookie) {
		t.Fatalf("session cookie: %+v", ck)
	}
	if r := do(t, c, "GET", ts.URL+"/", nil, ""); r.StatusCode != http.StatusOK {
		t.Fatalf("with session: %d", r.StatusCode)
	}
	for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options"} {
		if r.Header.Get(h) == "" {
			t.Errorf("missing %s", h)
		}
	}
	// The token is spent: a second browser cannot use it.
	c2 := noRedirect()
	if r := do(t, c2, "GET", ts.URL+"/login?token="+tok, nil, ""); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("used token: %d", r.StatusCode)
	}
	if r := do(t, c2, "GET", ts.URL+"/trust", nil, ""); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("second browser without session: %d", r.StatusCode)
	}
}

func TestRebindingAndCrossOrigin(t *testing.T) {
	s, ts := newServer(t)
	c := noRedirect()
	do(t, c, "GET", ts.URL+"/login?token="+s.NewLoginToken(), nil, "")
	u, _ := url.Parse(ts.URL)
	// DNS rebinding: the browser sends the attacker's name as Host.
	if r := do(t, c, "GET", ts.URL+"/", map[string]string{"Host": "attacker.example:" + u.Port()}, ""); r.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("foreign Host: %d", r.StatusCode)
	}
	// Even the login link is refused under a foreign Host.
	if r := do(t, c, "GET", ts.URL+"/login?token="+s.NewLoginToken(), map[string]string{"Host": "attacker.example"}, ""); r.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("login under foreign Host: %d", r.StatusCode)
	}
	form := "party=borealia&fingerprint=AAAA-BBBB"
	for name, hdr := range map[string]map[string]string{
		"cross-site fetch":    {"Sec-Fetch-Site": "cross-site"},
		"same-site fetch":     {"Sec-Fetch-Site": "same-site"},
		"foreign Origin":      {"Origin": "http://attacker.example"},
		"other loopback port": {"Origin": "http://127.0.0.1:1"},
	} {
		if r := do(t, c, "POST", ts.URL+"/trust/confirm", hdr, form); r.StatusCode != http.StatusForbidden {
			t.Errorf("%s: POST got %d, want 403", name, r.StatusCode)
		}
		if r := do(t, c, "POST", ts.URL+"/channels/plenary/messages", hdr, "body=hello"); r.StatusCode != http.StatusForbidden {
			t.Errorf("%s: message POST got %d, want 403", name, r.StatusCode)
		}
		for _, path := range []string{"/trust/check", "/trust/clear", "/schedule/m-1/ready", "/schedule/feeds", "/schedule/feeds/f-1/revoke"} {
			if r := do(t, c, "POST", ts.URL+path, hdr, "log=wg1"); r.StatusCode != http.StatusForbidden {
				t.Errorf("%s: POST %s got %d, want 403", name, path, r.StatusCode)
			}
		}
	}
	// Same origin passes the guard (and reaches the handler, which
	// answers with a redirect carrying the desk's verdict).
	if r := do(t, c, "POST", ts.URL+"/trust/confirm", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": ts.URL}, form); r.StatusCode != http.StatusSeeOther {
		t.Errorf("same-origin POST: %d", r.StatusCode)
	}
	// A proof that does not exist is not found, whatever the path says.
	for _, n := range []string{"0", "-1", "99", "x", "..%2f..%2fetc"} {
		if r := do(t, c, "GET", ts.URL+"/trust/alarms/"+n+"/proof", nil, ""); r.StatusCode != http.StatusNotFound {
			t.Errorf("proof %q: %d, want 404", n, r.StatusCode)
		}
	}
	// An unenrolled desk's schedule page says why it has no schedule, and
	// its readiness signal is refused with a reason.
	if r := do(t, c, "POST", ts.URL+"/schedule/m-1/ready", map[string]string{"Origin": ts.URL}, ""); r.StatusCode != http.StatusSeeOther || !strings.Contains(r.Header.Get("Location"), "err=1") {
		t.Errorf("readiness from an unenrolled desk: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	// A POST without a session is refused even from the same origin.
	if r := do(t, noRedirect(), "POST", ts.URL+"/trust/confirm", map[string]string{"Sec-Fetch-Site": "same-origin"}, form); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST without session: %d", r.StatusCode)
	}
}

func TestListenLoopbackOnly(t *testing.T) {
	s, _ := newServer(t)
	for _, a := range []string{"0.0.0.0:0", "192.0.2.1:0", "[::]:0", "example.com:0"} {
		if err := s.Listen(a); err == nil {
			t.Errorf("Listen(%q) accepted a non-loopback address", a)
		}
	}
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer s.ln.Close()
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") || !strings.Contains(s.LoginURL(), "/login?token=") {
		t.Fatalf("URL %q, login %q", s.URL(), s.LoginURL())
	}
}

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"/texts/x": "/texts/x", "": "/", "//evil.example": "/", "https://evil.example": "/", "/\\evil": "/", "/a\r\nSet-Cookie: x": "/",
		"/\t/evil.example/phish": "/", "/\x00x": "/", "/a\x7fb": "/", "/%2f%2fevil": "/", "/texts/x?y=1#z": "/texts/x?y=1#z",
	} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}
