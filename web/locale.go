package web

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/good-offices/goodoffices/web/i18n"
)

// A LangChoice is one entry of the language menu.
type LangChoice struct {
	Code, Name string
	Current    bool
}

// LocaleFuncs returns the template functions every page has in locale l:
// T (translate), lang (the locale's code), langs (the menu), label (an
// enumeration's value by domain, i18n.Locale.Label), num (a number as the
// locale writes it), dayTime, dateTime, weekdayDate, longDate and span
// (dates with the locale's month names).
func LocaleFuncs(l *i18n.Locale) template.FuncMap {
	return template.FuncMap{
		"T":    l.T,
		"lang": func() string { return l.Code },
		"langs": func() []LangChoice {
			out := make([]LangChoice, 0, len(i18n.Codes))
			for _, c := range i18n.Codes {
				out = append(out, LangChoice{Code: c, Name: i18n.Names[c], Current: c == l.Code})
			}
			return out
		},
		"label":       l.Label,
		"num":         l.Number,
		"weekdayDate": l.WeekdayDate,
		"longDate":    l.LongDate,
		"span":        l.Span,
	}
}

// LocalePages parses the pages of dir (see Pages) once for each locale,
// with LocaleFuncs and funcs(l): locale code -> page name -> template.
func LocalePages(dir string, funcs func(l *i18n.Locale) template.FuncMap) (map[string]map[string]*template.Template, error) {
	out := map[string]map[string]*template.Template{}
	for _, c := range i18n.Codes {
		l := i18n.Get(c)
		fm := LocaleFuncs(l)
		for k, v := range funcs(l) {
			fm[k] = v
		}
		p, err := Pages(fm, dir)
		if err != nil {
			return nil, err
		}
		out[c] = p
	}
	return out, nil
}

// LangCookie returns the name of the cookie that remembers the language
// chosen on the server at host; like the session cookie, it carries the
// port, so two desks on one machine keep their own choice.
func LangCookie(host string) string {
	return i18n.CookieName + strings.TrimPrefix(CookieName(host), SessionCookie)
}

// Locale returns the locale of r: the language chosen on the page (the
// cookie), else stored (the server's saved choice, "" if none), else the
// browser's Accept-Language.
func Locale(r *http.Request, stored string) *i18n.Locale {
	return i18n.FromRequest(r, LangCookie(r.Host), stored)
}

// LanguageHandler serves POST /lang from the language menu: it remembers
// the chosen language in a cookie, calls save (if not nil; a desk keeps it
// in its settings) and sends the browser back to the page it came from.
func LanguageHandler(secure bool, save func(r *http.Request, code string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		code := r.FormValue("lang")
		if !i18n.Supported(code) {
			http.Error(w, "unsupported language", http.StatusBadRequest)
			return
		}
		if save != nil {
			if err := save(r, code); err != nil {
				http.Error(w, "failed to save the language: "+err.Error(), http.StatusInternalServerError)
				return
			}
		}
		i18n.SetCookie(w, LangCookie(r.Host), code, secure)
		http.Redirect(w, r, LocalPath(r.FormValue("next")), http.StatusSeeOther)
	}
}

// LocalPath returns p if it is a path on this server, else "/": a link
// or form cannot send the browser elsewhere.
func LocalPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsRune(p, '\\') {
		return "/"
	}
	for _, c := range p {
		if c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) {
			return "/" // TAB, CR, LF and other controls: browsers strip some of them
		}
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return p
}

// Zoned writes t with format and the abbreviation of its zone ("+05",
// "CET"), so that no time on a page goes without its zone. The zero time
// is written by format alone.
func Zoned(format func(time.Time) string, t time.Time) string {
	if t.IsZero() {
		return format(t)
	}
	abbr, _ := t.Zone()
	return format(t) + " " + abbr
}

// JoinNonEmpty joins the parts that are not blank with sep: a missing part
// leaves no dangling separator.
func JoinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}
