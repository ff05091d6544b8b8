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
