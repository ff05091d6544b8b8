package venueui

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/schedule"
)

// FuzzMeetingForm feeds arbitrary form values to the propose form's
// parser: it must never panic, and what it accepts is a spec with valid
// times, a known level, people, and at least one delegation.
func FuzzMeetingForm(f *testing.F) {
	f.Add("Ministers on item 2", "ministerial", "2026-11-23T10:00", "2026-11-23T11:00", "20", "en, RU", "simultaneous", "arden")
	f.Add("", "leaders", "2026-02-30T10:00", "x", "-1", ",,", "", "")
	f.Add("t", "expert", "2026-03-29T02:30", "2026-03-29T03:30", "1e3", "fr", "consecutive", "borealia")
	f.Fuzz(func(t *testing.T, title, level, start, end, head, langs, interp, deleg string) {
		form := url.Values{"title": {title}, "level": {level}, "start": {start}, "end": {end}, "headcount": {head},
			"languages": {langs}, "interpretation": {interp}, "delegation": {deleg}, "override": {"capacity", level}}
		r := httptest.NewRequest("POST", "/meetings", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.ParseForm()
		sp, err := formOf(r).spec("talks")
		if err != nil {
			return
		}
		if _, err := schedule.ParseLevel(string(sp.Level)); err != nil {
			t.Fatalf("accepted level %q", sp.Level)
		}
		if sp.Start.Validate() != nil || sp.End.Validate() != nil || sp.Headcount <= 0 || len(sp.Delegations) == 0 {
			t.Fatalf("accepted %+v", sp)
		}
		overrides(r) // must not panic
	})
}

// FuzzRootKey feeds arbitrary names and keys to the accreditation check:
// an accepted key is a signed-note verifier key named after the delegation.
func FuzzRootKey(f *testing.F) {
	root, err := delegation.GenerateRoot("dalmor")
	if err != nil {
		f.Fatal(err)
	}
	f.Add("dalmor", root.VerifierKey())
	f.Add("arden", root.VerifierKey())
	f.Add("dalmor", "dalmor+00000000+AQ==")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, name, key string) {
		if checkRootKey(name, key) != nil {
			return
		}
		v, err := note.NewVerifier(key)
		if err != nil || v.Name() != name || !delegation.ValidName(name) {
			t.Fatalf("accepted %q for %q", key, name)
		}
		if delegation.Fingerprint(key) == "" {
			t.Fatalf("no fingerprint for accepted key %q", key)
		}
	})
}
