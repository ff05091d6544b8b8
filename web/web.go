// Package web holds what the desk's and the venue's web interfaces share:
// the embedded templates and static assets, and the security layer every
// handler sits behind.
//
// # Why server-rendered HTML
//
// Diplomats read texts; they do not need a single-page application. Every page
// is rendered on the server with html/template (contextual auto-escaping, so a
// paragraph tabled by another party cannot inject markup) and works without
// JavaScript: forms post and redirect. A small script of our own
// (static/app.js, no third-party code, no CDN) adds live updates: it listens to
// a server-sent-event stream and, when the desk has synced something new,
// fetches the page again and swaps its <main>. No framework is vendored, so
// the trusted computing base of the desk UI is this repository alone.
//
// # Languages
//
// Every page is rendered in the delegate's language — English, Russian,
// Ukrainian, Kazakh or French (package web/i18n): Pages is parsed once per
// locale (LocalePages) with a T function bound to it, the locale of a
// request comes from the language menu (a cookie per server, and a desk's
// own settings), else from Accept-Language (Locale), and LanguageHandler
// serves the menu's form.
//
// # Security of a local web UI
//
// The desk serves its UI on loopback, like tailscale's local web client, and
// guards it the same way (Guard):
//
//   - Host allowlist: a request whose Host header is not one of the names the
//     server listens under is refused, which defeats DNS rebinding (a hostile
//     page whose name resolves to 127.0.0.1 still sends its own Host).
//   - Cross-origin refusal: a state-changing request (anything but GET/HEAD)
//     with Sec-Fetch-Site other than same-origin or none is refused; when the
//     browser sends no Sec-Fetch-Site, Origin (or else Referer) must equal the
//     Host. "Origin: null" (sandboxed frames, data: and file: pages,
//     cross-origin redirects) is refused, and so is a state-changing request
//     that carries none of the three headers. This stops CSRF without tokens
//     in forms.
//   - A one-time login token (256 random bits, printed by the process that
//     starts the UI) is exchanged once for a session cookie (HttpOnly,
//     SameSite=Strict, Path=/); the token cannot be used again, so a URL that
//     leaks from a terminal's scroll-back is worthless after the first use.
//     Tokens and sessions are compared in constant time.
//   - Every response carries a Content-Security-Policy that allows only the
//     server's own script and style (no inline script), X-Frame-Options: DENY,
//     X-Content-Type-Options: nosniff and Referrer-Policy: no-referrer.
package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

//go:embed static templates
var files embed.FS

// Static returns the handler of the embedded static assets, to be mounted
// under /static/.
func Static() http.Handler {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic("web: internal error: " + err.Error())
	}
	fsrv := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		fsrv.ServeHTTP(w, r)
	})
}

// Pages parses the page templates of dir (under templates/, e.g. "desk"):
// each file dir/<name>.html defines "content" and becomes page <name>,
// executed through the shared layout; files named *.tmpl hold partials
// shared by every page of dir.
func Pages(funcs template.FuncMap, dir string) (map[string]*template.Template, error) {
	base, err := template.New("").Funcs(funcs).ParseFS(files, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(files, "templates/"+dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmpl") {
			if base, err = base.ParseFS(files, "templates/"+dir+"/"+e.Name()); err != nil {
				return nil, err
			}
		}
	}
	pages := map[string]*template.Template{}
	for _, e := range entries {
		n := e.Name()
		if !strings.HasSuffix(n, ".html") {
			continue
		}
		c, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if c, err = c.ParseFS(files, "templates/"+dir+"/"+n); err != nil {
			return nil, err
		}
		pages[strings.TrimSuffix(n, ".html")] = c
	}
	return pages, nil
}

// CSP is the Content-Security-Policy of every page: own scripts, styles and
// images only; no inline script, no framing, forms post only to the server.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// SetSecurityHeaders sets the headers every response of the UIs carries.
func SetSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// A Guard protects a UI: Host allowlist, cross-origin refusal and security
// headers. The zero value allows no host; set Hosts.
type Guard struct {
	// Hosts are the accepted Host headers, host[:port], compared without
	// case. Empty: any Host (only for a server that is not on loopback and
	// sits behind its own name checks, e.g. the venue).
	Hosts []string
}

// Wrap returns h behind the guard.
func (g *Guard) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetSecurityHeaders(w.Header())
		if !g.hostAllowed(r.Host) {
			http.Error(w, "unknown host: this interface answers only under its own address", http.StatusMisdirectedRequest)
			return
		}
		if !SameOrigin(r) {
			http.Error(w, "cross-origin request refused", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (g *Guard) hostAllowed(host string) bool {
	if len(g.Hosts) == 0 {
		return host != ""
	}
	for _, h := range g.Hosts {
		if strings.EqualFold(h, host) {
			return true
		}
	}
	return false
}

// SameOrigin reports whether r may change state: safe methods always may;
// others must come from the page itself. Sec-Fetch-Site decides when the
// browser sends it; otherwise Origin, else Referer, must name the Host.
// "Origin: null" is refused, and so is a request with none of the three:
// a script or curl that changes state through the UI says where it comes
// from (Origin: http://<host>) like a browser does.
func SameOrigin(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" {
		return s == "same-origin" || s == "none"
	}
	o := r.Header.Get("Origin")
	if o == "null" {
		return false
	}
	if o == "" {
		o = r.Header.Get("Referer")
	}
	if o == "" {
		return false
	}
	u, err := url.Parse(o)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// LoopbackHosts returns the Host headers under which a server listening on
// addr (a loopback host:port) is reached.
func LoopbackHosts(addr string) []string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil
	}
	return []string{"127.0.0.1:" + port, "localhost:" + port, "[::1]:" + port}
}

// SessionCookie is the prefix of the session cookie's name. Browsers
// share cookies between the ports of one host, so the name carries the
// port: two desks on one machine (as in the demo) keep separate sessions.
const SessionCookie = "goodoffices_session"

// CookieName returns the session cookie's name for a request to host.
func CookieName(host string) string {
	if _, port, err := net.SplitHostPort(host); err == nil && port != "" && len(port) <= 5 && strings.Trim(port, "0123456789") == "" {
		return SessionCookie + "_" + port
	}
	return SessionCookie
}

// Sessions hands out one-time login tokens and the sessions they open.
// Only SHA-256 hashes of tokens and session IDs are kept.
type Sessions struct {
	mu       sync.Mutex
	tokens   map[[32]byte]time.Time // unused login tokens -> expiry
	sessions map[[32]byte]time.Time // session IDs -> expiry
	// TokenTTL and SessionTTL default to 24 h and 12 h.
	TokenTTL, SessionTTL time.Duration
	// Secure sets the cookie's Secure attribute (HTTPS servers).
	Secure bool
}

func hashOf(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func random() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (s *Sessions) init() {
	if s.tokens == nil {
		s.tokens = map[[32]byte]time.Time{}
		s.sessions = map[[32]byte]time.Time{}
	}
}

// NewToken returns a fresh one-time login token.
func (s *Sessions) NewToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	ttl := s.TokenTTL
	if ttl == 0 {
		ttl = 24 * time.Hour
	}
	t := random()
	s.tokens[hashOf(t)] = time.Now().Add(ttl)
	return t
}

// Redeem consumes a login token and returns a new session ID, or false if
// the token is unknown, used or expired.
func (s *Sessions) Redeem(token string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	h := hashOf(token)
	exp, ok := s.tokens[h]
	if !ok {
		return "", false
	}
	delete(s.tokens, h)
	if time.Now().After(exp) {
		return "", false
	}
	return s.openLocked(), true
}

// Open starts a session directly (after another kind of login, e.g. the
// venue's admin credential) and returns its ID.
func (s *Sessions) Open() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	return s.openLocked()
}

func (s *Sessions) openLocked() string {
	ttl := s.SessionTTL
	if ttl == 0 {
		ttl = 12 * time.Hour
	}
	id := random()
	s.sessions[hashOf(id)] = time.Now().Add(ttl)
	return id
}

// Valid reports whether r carries a live session cookie.
func (s *Sessions) Valid(r *http.Request) bool {
	c, err := r.Cookie(CookieName(r.Host))
	if err != nil || c.Value == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	exp, ok := s.sessions[hashOf(c.Value)]
	return ok && time.Now().Before(exp)
}

// Close ends the session of r, if any.
func (s *Sessions) Close(r *http.Request) {
	if c, err := r.Cookie(CookieName(r.Host)); err == nil {
		s.mu.Lock()
		delete(s.sessions, hashOf(c.Value))
		s.mu.Unlock()
	}
}

// SetCookie sets the session cookie for id on w, in answer to r.
func (s *Sessions) SetCookie(w http.ResponseWriter, r *http.Request, id string) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName(r.Host), Value: id, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.Secure,
	})
}

// Equal compares two secrets in constant time.
func Equal(a, b string) bool {
	ha, hb := hashOf(a), hashOf(b)
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}
