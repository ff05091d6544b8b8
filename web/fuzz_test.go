package web

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzSameOrigin feeds arbitrary Host, Origin, Referer and Sec-Fetch-Site
// headers to the cross-origin check: it must never panic, and it must never
// accept a POST whose Origin names another host when the browser sent no
// Sec-Fetch-Site.
func FuzzSameOrigin(f *testing.F) {
	f.Add("127.0.0.1:8471", "http://127.0.0.1:8471", "", "")
	f.Add("127.0.0.1:8471", "http://evil.example", "", "")
	f.Add("127.0.0.1:8471", "null", "http://evil.example/x", "")
	f.Add("localhost:8471", "", "", "cross-site")
	f.Add("[::1]:8471", "http://[::1]:8471", "", "same-origin")
	f.Fuzz(func(t *testing.T, host, origin, referer, site string) {
		r := httptest.NewRequest("POST", "http://x/", nil)
		r.Host = host
		r.Header.Set("Origin", origin)
		r.Header.Set("Referer", referer)
		r.Header.Set("Sec-Fetch-Site", site)
		ok := SameOrigin(r)
		if ok && r.Header.Get("Sec-Fetch-Site") == "" && r.Header.Get("Origin") != "" && r.Header.Get("Origin") != "null" {
			u, err := url.Parse(r.Header.Get("Origin"))
			if err != nil || !strings.EqualFold(u.Host, host) {
				t.Fatalf("accepted Origin %q for Host %q", origin, host)
			}
		}
		if ok && site != "" && r.Header.Get("Sec-Fetch-Site") != "" && site != "same-origin" && site != "none" {
			t.Fatalf("accepted Sec-Fetch-Site %q", site)
		}
	})
}

// FuzzCookieName: any Host gives a cookie name browsers accept.
func FuzzCookieName(f *testing.F) {
	f.Add("127.0.0.1:8471")
	f.Add("[::1]:1")
	f.Add("a;b=c:1")
	f.Fuzz(func(t *testing.T, host string) {
		n := CookieName(host)
		if !strings.HasPrefix(n, SessionCookie) || strings.Trim(n, "abcdefghijklmnopqrstuvwxyz_0123456789") != "" {
			t.Fatalf("cookie name %q", n)
		}
	})
}
