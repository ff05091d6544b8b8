package cli

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// checkUIGuards attacks the desk and venue web UIs of a running demo from
// outside: a cross-site POST with "Origin: null", or with none of
// Sec-Fetch-Site, Origin and Referer, is refused (403) even with a valid
// session; a login link whose next parameter smuggles a host behind a TAB
// redirects to the desk's own "/". desk is a client logged in to the desk
// at deskBase; links are the demo's login links, of which it uses two
// others (they work once).
func checkUIGuards(t *testing.T, desk *http.Client, deskBase string, links map[string]string, deskLink string) {
	t.Helper()
	post := func(c *http.Client, u string, hdr map[string]string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", u, strings.NewReader(url.Values{"name": {"Room Z"}, "capacity": {"5"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, hdr := range []map[string]string{{"Origin": "null"}, {}} {
		if got := post(desk, deskBase+"/trust/check", hdr); got != http.StatusForbidden {
			t.Errorf("desk UI: POST with %v: %d, want 403", hdr, got)
		}
	}
	venueLink := links["Venue UI (host, Caspia):"]
	var other string
	for _, l := range links {
		if l != deskLink && l != venueLink {
			other = l
			break
		}
	}
	if venueLink == "" || other == "" {
		t.Fatalf("no venue UI link or second desk link in %v", links)
	}
	noRedirect := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(other + "&next=" + url.QueryEscape("/\t/evil.example/phish"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/" {
		t.Errorf("login with a TAB in next: %d Location %q, want 303 to /", resp.StatusCode, loc)
	}
	jar, _ := cookiejar.New(nil)
	host := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	if resp, err := host.Get(venueLink); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("venue UI login: %d", resp.StatusCode)
		}
	}
	venueBase := venueLink[:strings.Index(venueLink, "/login")]
	for _, hdr := range []map[string]string{{"Origin": "null"}, {}} {
		if got := post(host, venueBase+"/rooms", hdr); got != http.StatusForbidden {
			t.Errorf("venue UI: POST /rooms with %v: %d, want 403", hdr, got)
		}
	}
}
