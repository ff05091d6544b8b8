package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/good-offices/goodoffices/desk"
)

func TestProgressBar(t *testing.T) {
	var b bytes.Buffer
	bar := &progressBar{w: &b}
	bar.update(desk.SyncProgress{Log: "plenary", Done: 45312, Total: 100000, Started: time.Now().Add(-10 * time.Second)})
	got := b.String()
	for _, want := range []string{"\rplenary", "[=============>", "45,312/100,000 entries", "/s", "left"} {
		if !strings.Contains(got, want) {
			t.Errorf("progress line %q lacks %q", got, want)
		}
	}
	bar.update(desk.SyncProgress{Log: "plenary", Done: 100000, Total: 100000, Started: time.Now().Add(-20 * time.Second)})
	bar.finish()
	if !strings.HasSuffix(b.String(), "\n") || !strings.Contains(b.String(), "[==============================]") {
		t.Errorf("finished bar: %q", b.String())
	}
	if thousands(1234567) != "1,234,567" || thousands(999) != "999" || thousands(1000) != "1,000" {
		t.Error("thousands")
	}
	if isTerminal(&b) {
		t.Error("a buffer is not a terminal")
	}
}
