package api

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

const ardenRoot = "arden+b0daa6c8+AQZEyrm9MnN56hVsVcW2IiXS4twuPz8ZYOh1cEJYQlKa"

func TestRegisterRecordRoundTrip(t *testing.T) {
	r := RegisterRecord{Delegation: "arden", RootKey: ardenRoot, Time: time.Unix(1790000000, 0)}
	got, err := ParseRegisterRecord(r.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if got.Delegation != "arden" || got.RootKey != ardenRoot || !got.Time.Equal(r.Time) {
		t.Fatalf("round trip: %+v", got)
	}
	// A root key named after another delegation is refused.
	bad := bytes.Replace(r.Marshal(), []byte("delegation arden"), []byte("delegation borealia"), 1)
	if _, err := ParseRegisterRecord(bad); err == nil || !strings.Contains(err.Error(), "named") {
		t.Fatalf("record with a root key of another name: %v", err)
	}
}

// TestRegisterRecordDisplayName: the display name is part of the logged
// record, optional, and strictly checked.
func TestRegisterRecordDisplayName(t *testing.T) {
	r := RegisterRecord{Delegation: "arden", DisplayName: "Федерация Арден — Ардэн қ", RootKey: ardenRoot, Time: time.Unix(1790000000, 0)}
	want := "goodoffices accreditation v1\ndelegation arden\ndisplay Федерация Арден — Ардэн қ\nroot " + ardenRoot + "\ntime 2026-09-21T14:13:20Z\n"
	if string(r.Marshal()) != want {
		t.Fatalf("Marshal:\n%s\nwant\n%s", r.Marshal(), want)
	}
	got, err := ParseRegisterRecord(r.Marshal())
	if err != nil || got.DisplayName != r.DisplayName {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for _, bad := range []string{"", " Arden", "Arden ", "Ar  den", "Ar\u202eden", "Ar\u200bden", "Ar\x00den", "Ar\tden", strings.Repeat("a", MaxDisplayName+1), "\xff"} {
		if CheckDisplayName(bad) == nil {
			t.Errorf("CheckDisplayName(%q) accepted", bad)
		}
		r.DisplayName = bad
		if _, err := ParseRegisterRecord(r.Marshal()); bad != "" && err == nil {
			t.Errorf("record with display name %q accepted", bad)
		}
	}
	// the display line only in its place
	moved := "goodoffices accreditation v1\ndelegation arden\nroot " + ardenRoot + "\ndisplay Arden\ntime 2026-09-21T14:13:20Z\n"
	if _, err := ParseRegisterRecord([]byte(moved)); err == nil {
		t.Error("display line after root accepted")
	}
}

func TestParseCosignerName(t *testing.T) {
	if _, _, ok := ParseCosignerName("arden"); ok {
		t.Fatal("name without device accepted")
	}
	if _, _, ok := ParseCosignerName("arden/not-a-device-id"); ok {
		t.Fatal("malformed device ID accepted")
	}
}

func FuzzParseRegisterRecord(f *testing.F) {
	r := RegisterRecord{Delegation: "arden", RootKey: ardenRoot, Time: time.Unix(1790000000, 0)}
	f.Add(r.Marshal())
	r.DisplayName = "Federation of Arden"
	f.Add(r.Marshal())
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRegisterRecord(data)
		if err != nil {
			return
		}
		if !bytes.Equal(r.Marshal(), data) {
			t.Fatalf("non-canonical record accepted")
		}
	})
}
