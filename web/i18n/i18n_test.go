package i18n

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Where the messages are used: the templates and the UIs' Go code.
var (
	templateGlobs = []string{"../templates/*.html", "../templates/*/*.html", "../templates/*/*.tmpl"}
	codeGlobs     = []string{"../deskui/*.go", "../venueui/*.go", "*.go"}
	// {{T "…"}} and {{T "…" args}} in templates (also inside other actions).
	templateKey = regexp.MustCompile(`\bT ("(?:[^"\\]|\\.)*")`)
	// l.T("…"), s.tr(r, "…"), N("…"), i18n.N("…"), uiError("…") in Go.
	codeKey = regexp.MustCompile(`(?:\.T|\btr|\bN|\buiError)\((?:r, )?("(?:[^"\\]|\\.)*")`)
)

// usedKeys returns every message key the templates and the code use.
func usedKeys(t *testing.T) map[string][]string {
	t.Helper()
	keys := map[string][]string{}
	scan := func(globs []string, re *regexp.Regexp) {
		for _, g := range globs {
			files, err := filepath.Glob(g)
			if err != nil || len(files) == 0 {
				t.Fatalf("no files for %s", g)
			}
			for _, f := range files {
				if strings.HasSuffix(f, "_test.go") {
					continue
				}
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range re.FindAllStringSubmatch(string(b), -1) {
					k, err := strconv.Unquote(m[1])
					if err != nil {
						t.Fatalf("%s: %s: %v", f, m[1], err)
					}
					keys[k] = append(keys[k], f)
				}
			}
		}
	}
	scan(templateGlobs, templateKey)
	scan(codeGlobs, codeKey)
	if len(keys) < 300 {
		t.Fatalf("only %d keys found: is the extraction broken?", len(keys))
	}
	return keys
}

// verbs returns the formatting verbs of a format, normalised to the
// argument each one takes (1-based), so that "%s … %d" and "%[2]d … %[1]s"
// compare equal.
var verbRe = regexp.MustCompile(`%(?:\[(\d+)\])?[-+# 0]*\d*(?:\.\d+)?([a-zA-Z%])`)

func verbs(f string) []string {
	var out []string
	n := 0
	for _, m := range verbRe.FindAllStringSubmatch(f, -1) {
		if m[2] == "%" {
			continue
		}
		if m[1] != "" {
			n, _ = strconv.Atoi(m[1])
		} else {
			n++
		}
		v := m[2]
		if v == "v" || v == "s" || v == "q" {
			v = "s"
		}
		out = append(out, fmt.Sprintf("%d%s", n, v))
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// TestCatalogues checks that every catalogue has exactly the keys the
// templates and the code use, each translated, with the same arguments.
func TestCatalogues(t *testing.T) {
	used := usedKeys(t)
	if dump := os.Getenv("I18N_DUMP"); dump != "" {
		var ks []string
		for k := range used {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		os.WriteFile(dump, []byte(strings.Join(ks, "\n")+"\n"), 0o644)
	}
	for _, c := range Codes[1:] {
		cat := Catalogue(c)
		var missing, unused []string
		for k := range used {
			v, ok := cat[k]
			switch {
			case !ok:
				missing = append(missing, k)
			case strings.TrimSpace(v) == "":
				t.Errorf("%s: %q has an empty translation", c, k)
			case !slices.Equal(verbs(k), verbs(v)):
				t.Errorf("%s: %q takes %v, its translation %q takes %v", c, k, verbs(k), v, verbs(v))
			}
		}
		for k := range cat {
			if _, ok := used[k]; !ok {
				unused = append(unused, k)
			}
		}
		sort.Strings(missing)
		sort.Strings(unused)
		for _, k := range missing {
			t.Errorf("%s.json lacks %q (used in %s)", c, k, used[k][0])
		}
		for _, k := range unused {
			t.Errorf("%s.json has %q, which nothing uses", c, k)
		}
	}
}

// TestTemplatesTranslated checks that no template shows words outside T:
// the text between tags, and the attributes a reader sees or hears (title,
// aria-label, placeholder, alt, data-confirm), once template actions,
// <code> (commands) and entities are taken out, hold no word.
func TestTemplatesTranslated(t *testing.T) {
	action := regexp.MustCompile(`(?s)\{\{.*?\}\}`)
	code := regexp.MustCompile(`(?s)<code[^>]*>.*?</code>`)
	tag := regexp.MustCompile(`(?s)<[^>]*>`)
	attr := regexp.MustCompile(`\b(title|aria-label|placeholder|alt|data-confirm)="([^"]*)"`)
	word := regexp.MustCompile(`\p{L}{2,}`)
	// Not words of a language: the mark of a paragraph's version, and the
	// placeholder of a fingerprint.
	allowed := map[string]bool{"XXXX": true}
	for _, g := range templateGlobs {
		files, _ := filepath.Glob(g)
		for _, f := range files {
			b, _ := os.ReadFile(f)
			src := action.ReplaceAllString(string(b), "")
			for _, m := range attr.FindAllStringSubmatch(src, -1) {
				for _, w := range word.FindAllString(m[2], -1) {
					if !allowed[w] {
						t.Errorf("%s: attribute %s=%q has untranslated text %q", f, m[1], m[2], w)
					}
				}
			}
			text := tag.ReplaceAllString(code.ReplaceAllString(src, ""), " ")
			for _, w := range word.FindAllString(text, -1) {
				if !allowed[w] {
					t.Errorf("%s: untranslated text %q", f, w)
				}
			}
		}
	}
}

func TestMatch(t *testing.T) {
	for _, c := range []struct{ header, want string }{
		{"ru-RU,ru;q=0.9,en;q=0.8", "ru"},
		{"kk", "kk"},
		{"uk-UA", "uk"},
		{"fr-CH, fr;q=0.9, en;q=0.8", "fr"},
		{"de-DE,de;q=0.9", "en"},
		{"de-DE,fr;q=0.5", "fr"},
		{"", "en"},
		{"garbage;;;", "en"},
	} {
		if got := Match(c.header).Code; got != c.want {
			t.Errorf("Accept-Language %q: %s, want %s", c.header, got, c.want)
		}
	}
}

func TestFormats(t *testing.T) {
	at := time.Date(2026, 12, 3, 14, 5, 9, 0, time.UTC)
	end := at.Add(90 * time.Minute)
	for _, c := range []struct{ code, day, long, week, span, num string }{
		{"en", "3 Dec 14:05:09", "3 December 2026", "Thu 3 Dec", "Thu 3 Dec 2026 14:05–15:35 UTC (UTC)", "1,234,567"},
		{"ru", "3 дек. 14:05:09", "3 декабря 2026 г.", "чт 3 дек.", "чт 3 дек. 2026 г. 14:05–15:35 UTC (UTC)", "1 234 567"},
		{"uk", "3 груд. 14:05:09", "3 грудня 2026 р.", "чт 3 груд.", "чт 3 груд. 2026 р. 14:05–15:35 UTC (UTC)", "1 234 567"},
		{"kk", "3 жел. 14:05:09", "2026 ж. 3 желтоқсан", "бс 3 жел.", "бс 2026 ж. 3 жел. 14:05–15:35 UTC (UTC)", "1 234 567"},
		{"fr", "3 déc. 14:05:09", "3 décembre 2026", "jeu. 3 déc.", "jeu. 3 déc. 2026 14:05–15:35 UTC (UTC)", "1 234 567"},
	} {
		l := Get(c.code)
		if got := l.DayTime(at); got != c.day {
			t.Errorf("%s DayTime: %q, want %q", c.code, got, c.day)
		}
		if got := l.LongDate(at); got != c.long {
			t.Errorf("%s LongDate: %q, want %q", c.code, got, c.long)
		}
		if got := l.WeekdayDate(at); got != c.week {
			t.Errorf("%s WeekdayDate: %q, want %q", c.code, got, c.week)
		}
		if got := l.Span(at, end, "UTC"); got != c.span {
			t.Errorf("%s Span: %q, want %q", c.code, got, c.span)
		}
		// Digits grouped as the locale writes them (any space-like
		// separator: CLDR uses a no-break space).
		got := strings.Map(func(r rune) rune {
			if r == '\u00a0' || r == '\u202f' {
				return ' '
			}
			return r
		}, l.Number(1234567))
		if got != c.num {
			t.Errorf("%s Number: %q, want %q", c.code, got, c.num)
		}
	}
	// A time decoded from JSON has only an offset: Span shows it in the
	// named zone, with the zone's abbreviation.
	almaty := time.FixedZone("", 5*3600)
	if got := Get("fr").Span(at.In(almaty), end.In(almaty), "Asia/Almaty"); got != "jeu. 3 déc. 2026 19:05–20:35 +05 (Asia/Almaty)" {
		t.Errorf("Span in a named zone: %q", got)
	}
	// A translation may take the arguments in another order.
	if got := Get("ru").T("Concordance confirmed for %d wordings in %s.", 1234, "FR"); got != "Соответствие подтверждено для формулировок на FR: 1\u00a0234." {
		t.Errorf("reordered arguments: %q", got)
	}
	if Get("xx").Code != "en" {
		t.Error("an unknown locale is not English")
	}
	if got := Get("en").T("moved|meeting"); got != "moved" {
		t.Errorf("context not stripped in English: %q", got)
	}
}

// FuzzMatch: any Accept-Language header (the browser's, so the network's)
// gives a supported locale, and a language cookie's value is used only if
// it is a supported code.
func FuzzMatch(f *testing.F) {
	for _, s := range []string{"ru-RU,ru;q=0.9,en;q=0.8", "kk", "*", "fr-CH;q=x", ";;;", strings.Repeat("en,", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		l := Match(h)
		if l == nil || !Supported(l.Code) {
			t.Fatalf("Match(%q) = %v", h, l)
		}
		if Supported(h) && Get(h).Code != h {
			t.Fatalf("Get(%q) is %s", h, Get(h).Code)
		}
	})
}
