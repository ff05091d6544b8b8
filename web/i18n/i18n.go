// Package i18n translates the chrome of the desk's and the venue's web
// interfaces — labels, buttons, messages, errors, alarms — into the
// languages of the people who sit at the desks: English, Russian,
// Ukrainian, Kazakh and French. The negotiating text itself is never
// translated: it is what the parties wrote.
//
// Messages are keyed by their English text, as gettext does: a template
// writes {{T "Take position"}} and Go code l.T("Sent.") or, for a format,
// l.T("Paragraph %d changed.", n). English needs no catalogue; every other
// language has one embedded JSON file (ru.json, uk.json, kk.json, fr.json)
// mapping each English message to its translation. Formats follow package
// fmt and are printed with golang.org/x/text/message, so numbers are
// grouped as the locale writes them; a translation may reorder arguments
// with explicit indexes (%[2]s). A key may end in "|context" where one
// English word needs two translations ("moved|meeting", "moved|paragraph");
// English shows the part before "|". Strings kept in Go tables before a locale
// is known are marked with N, which only marks them for the tests.
//
// The tests (i18n_test.go and the UIs' tests) check that every message the
// templates and the code use is in every catalogue, that no catalogue keeps
// a message nobody uses, that the formats of a translation take the same
// arguments, and that no template has text outside T.
//
// The locale of a request is the one the delegate chose on the page (a
// cookie, and on a desk also the desk's settings), else the best match of
// the browser's Accept-Language (golang.org/x/text/language), else English.
// Dates use the locale's month and weekday names from a small table of our
// own (x/text has no date formatting).
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

//go:embed *.json
var files embed.FS

// Codes are the supported locales, English first (the fallback).
var Codes = []string{"en", "ru", "uk", "kk", "fr"}

// Names are the locales' names in their own language, for the menu.
var Names = map[string]string{"en": "English", "ru": "Русский", "uk": "Українська", "kk": "Қазақша", "fr": "Français"}

var tags = []language.Tag{language.English, language.Russian, language.Ukrainian, language.Kazakh, language.French}

var matcher = language.NewMatcher(tags)

// A Locale translates and formats for one language.
type Locale struct {
	Code    string
	Name    string
	msgs    map[string]string
	printer *message.Printer
	dates   dateNames
}

var locales = map[string]*Locale{}

func init() {
	for i, c := range Codes {
		l := &Locale{Code: c, Name: Names[c], printer: message.NewPrinter(tags[i]), dates: dateTable[c]}
		if c != "en" {
			b, err := files.ReadFile(c + ".json")
			if err != nil {
				panic("i18n: internal error: " + err.Error())
			}
			if err := json.Unmarshal(b, &l.msgs); err != nil {
				panic("i18n: internal error: catalogue " + c + ": " + err.Error())
			}
		}
		locales[c] = l
	}
}

// Get returns the locale of code, or English if code is not supported.
func Get(code string) *Locale {
	if l, ok := locales[code]; ok {
		return l
	}
	return locales["en"]
}

// Supported reports whether code is one of Codes.
func Supported(code string) bool { _, ok := locales[code]; return ok }

// Catalogue returns a copy of the catalogue of code (nil for English).
func Catalogue(code string) map[string]string {
	l, ok := locales[code]
	if !ok || l.msgs == nil {
		return nil
	}
	out := make(map[string]string, len(l.msgs))
	for k, v := range l.msgs {
		out[k] = v
	}
	return out
}

// N marks a message for translation where it is stored before a locale is
// known; it returns key unchanged.
func N(key string) string { return key }

// T translates key; with args, key is a format (package fmt) and the
// translation is printed with them, numbers formatted for the locale. A
// key missing from the catalogue is shown in English.
func (l *Locale) T(key string, args ...any) string {
	msg, _, _ := strings.Cut(key, "|")
	if m, ok := l.msgs[key]; ok && m != "" {
		msg = m
	}
	if len(args) == 0 {
		return msg
	}
	return l.printer.Sprintf(msg, args...)
}

// Number formats n as the locale writes it (1,234 or 1 234).
func (l *Locale) Number(n any) string { return l.printer.Sprint(n) }

// Match returns the best supported locale for an Accept-Language header.
func Match(acceptLanguage string) *Locale {
	prefs, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(prefs) == 0 {
		return locales["en"]
	}
	_, i, conf := matcher.Match(prefs...)
	if conf == language.No {
		return locales["en"]
	}
	return locales[Codes[i]]
}

// CookieName is the prefix of the cookie that remembers the chosen
// language; like the session cookie, its name carries the server's port.
const CookieName = "goodoffices_lang"

// FromRequest returns the locale of r: the language cookie named name if
// it holds a supported code, else stored (a desk's saved choice), else the
// browser's Accept-Language.
func FromRequest(r *http.Request, name, stored string) *Locale {
	if c, err := r.Cookie(name); err == nil && Supported(c.Value) {
		return locales[c.Value]
	}
	if Supported(stored) {
		return locales[stored]
	}
	return Match(r.Header.Get("Accept-Language"))
}

// SetCookie remembers code as the chosen language, for a year.
func SetCookie(w http.ResponseWriter, name, code string, secure bool) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: code, Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure})
}

// ---- dates ----

type dateNames struct {
	short, long [12]string // month names as used after a day number
	weekday     [7]string  // short, Sunday first
	// order of the date parts: "dmy" (3 Dec 2026) or "ymd" (2026 ж. 3 жел.)
	ymd bool
	// yearSuffix follows the year ("г.", "р.", "ж.").
	yearSuffix string
}

var dateTable = map[string]dateNames{
	"en": {
		short:   [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"},
		long:    [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
		weekday: [7]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"},
	},
	"ru": {
		short:      [12]string{"янв.", "февр.", "мар.", "апр.", "мая", "июн.", "июл.", "авг.", "сент.", "окт.", "нояб.", "дек."},
		long:       [12]string{"января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"},
		weekday:    [7]string{"вс", "пн", "вт", "ср", "чт", "пт", "сб"},
		yearSuffix: "г.",
	},
	"uk": {
		short:      [12]string{"січ.", "лют.", "бер.", "квіт.", "трав.", "черв.", "лип.", "серп.", "вер.", "жовт.", "лист.", "груд."},
		long:       [12]string{"січня", "лютого", "березня", "квітня", "травня", "червня", "липня", "серпня", "вересня", "жовтня", "листопада", "грудня"},
		weekday:    [7]string{"нд", "пн", "вт", "ср", "чт", "пт", "сб"},
		yearSuffix: "р.",
	},
	"kk": {
		short:      [12]string{"қаң.", "ақп.", "нау.", "сәу.", "мам.", "мау.", "шіл.", "там.", "қыр.", "қаз.", "қар.", "жел."},
		long:       [12]string{"қаңтар", "ақпан", "наурыз", "сәуір", "мамыр", "маусым", "шілде", "тамыз", "қыркүйек", "қазан", "қараша", "желтоқсан"},
		weekday:    [7]string{"жс", "дс", "сс", "ср", "бс", "жм", "сб"},
		ymd:        true,
		yearSuffix: "ж.",
	},
	"fr": {
		short:   [12]string{"janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."},
		long:    [12]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
		weekday: [7]string{"dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."},
	},
}

// date writes day, month and (if year) year in the locale's order.
func (l *Locale) date(t time.Time, long, year bool) string {
	m := l.dates.short[t.Month()-1]
	if long {
		m = l.dates.long[t.Month()-1]
	}
	dm := fmt.Sprintf("%d %s", t.Day(), m)
	if !year {
		return dm
	}
	y := fmt.Sprint(t.Year())
	if l.dates.yearSuffix != "" {
		y += " " + l.dates.yearSuffix
	}
	if l.dates.ymd {
		return y + " " + dm
	}
	return dm + " " + y
}

// DayTime is a moment of the talks without the year: "3 Dec 14:05:09",
// "3 дек. 14:05:09". The zero time is a dash.
func (l *Locale) DayTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return l.date(t, false, false) + " " + t.Format("15:04:05")
}

// DateTime is a date with the year and a time: "3 Dec 2026 14:05".
func (l *Locale) DateTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return l.date(t, false, true) + " " + t.Format("15:04")
}

// WeekdayDate is a calendar column: "Thu 3 Dec", "чт 3 дек.".
func (l *Locale) WeekdayDate(t time.Time) string {
	return l.dates.weekday[t.Weekday()] + " " + l.date(t, false, false)
}

// LongDate is a date written out: "3 December 2026", "3 декабря 2026 г.".
func (l *Locale) LongDate(t time.Time) string { return l.date(t, true, true) }

// Span is a meeting's time, start and end already in the zone named zone:
// "Thu 3 Dec 2026 10:00–11:00 ALMT (Asia/Almaty)" with the locale's names.
func (l *Locale) Span(start, end time.Time, zone string) string {
	if start.IsZero() {
		return "—"
	}
	// Times that came through JSON carry only an offset: show them in the
	// named zone, with its abbreviation.
	if loc, err := time.LoadLocation(zone); err == nil && zone != "" {
		start, end = start.In(loc), end.In(loc)
	}
	sa, _ := start.Zone()
	ea, _ := end.Zone()
	day := func(t time.Time) string {
		return l.dates.weekday[t.Weekday()] + " " + l.date(t, false, true) + " " + t.Format("15:04")
	}
	sy, sm, sd := start.Date()
	ey, em, ed := end.Date()
	var out string
	switch {
	case sy == ey && sm == em && sd == ed && sa == ea:
		out = fmt.Sprintf("%s–%s %s", day(start), end.Format("15:04"), sa)
	case sy == ey && sm == em && sd == ed:
		out = fmt.Sprintf("%s %s–%s %s", day(start), sa, end.Format("15:04"), ea)
	default:
		out = fmt.Sprintf("%s %s – %s %s", day(start), sa, day(end), ea)
	}
	if zone != "" {
		out += " (" + zone + ")"
	}
	return out
}

var leakVerb = regexp.MustCompile(`%(?:\[\d+\])?[a-z]`)

// Leaks returns the English messages (or the pieces of them between
// formatting verbs, 12 letters or longer) that text shows although locale
// code translates them: for tests that render a page in code.
func Leaks(code, text string) []string {
	var out []string
	for k, v := range Get(code).msgs {
		en, _, _ := strings.Cut(k, "|")
		if v == en {
			continue
		}
		for _, f := range leakVerb.Split(en, -1) {
			f = strings.TrimSpace(f)
			if len([]rune(f)) >= 12 && !strings.Contains(v, f) && strings.Contains(text, f) {
				out = append(out, f)
			}
		}
	}
	sort.Strings(out)
	return out
}
