package mls

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/good-offices/goodoffices/mls/internal/suite"
)

// The interoperability test vectors of the MLS working group
// (github.com/mlswg/mls-implementations, test-vectors/). TestVectors runs every
// *.json file of the directory named by MLS_TEST_VECTORS, or of
// testdata/vectors, choosing a runner by file name from vectorRunners.
//
// Adding a runner is one entry in vectorRunners plus a function
// func(t *testing.T, data []byte) vectorCounts, usually built with runCases.

// vectorRunners maps a file-name pattern (path.Match syntax) to its runner.
var vectorRunners = []struct {
	pattern string
	run     func(t *testing.T, data []byte) vectorCounts
}{
	{"deserialization.json", runDeserialization},
	{"crypto-basics.json", runCryptoBasics},
	{"tree-math.json", runTreeMath},
	{"messages.json", runMessages},
	{"key-schedule.json", runKeySchedule},
	{"psk_secret.json", runPSKSecret},
	{"transcript-hashes.json", runTranscriptHashes},
	{"secret-tree.json", runSecretTree},
	{"message-protection.json", runMessageProtection},
	{"welcome.json", runWelcome},
	{"passive-client*.json", runPassiveClient},
	{"passive_client*.json", runPassiveClient},
	{"transcript.json", runTranscriptMessage},
	{"transcripts-hashes.json", runTranscriptsHashes},
	{"parent_hash.json", runParentHash},
	{"tree-validation.json", runTreeValidation},
	{"tree-operations.json", runTreeOperations},
	{"treekem.json", runTreeKEM},
}

// vectorCounts is the outcome of one vector file.
type vectorCounts struct {
	passed, failed, unsupported int
}

func vectorDir() string {
	if d := os.Getenv("MLS_TEST_VECTORS"); d != "" {
		return d
	}
	return filepath.Join("testdata", "vectors")
}

// vectorSummary collects one line per vector file; TestMain prints it after
// all tests ran, so `go test -run Vectors -v` ends with it.
var vectorSummary []string

// TestMain runs the tests and then prints the vector summary.
func TestMain(m *testing.M) {
	code := m.Run()
	if len(vectorSummary) > 0 {
		fmt.Println(strings.Join(vectorSummary, "\n"))
	}
	os.Exit(code)
}

func TestVectors(t *testing.T) {
	dir := vectorDir()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no *.json test vectors in %s", dir)
	}
	sort.Strings(files)
	var summary []string
	for _, file := range files {
		name := filepath.Base(file)
		var run func(t *testing.T, data []byte) vectorCounts
		for _, r := range vectorRunners {
			if ok, _ := path.Match(r.pattern, name); ok {
				run = r.run
				break
			}
		}
		if run == nil {
			t.Errorf("%s: no runner for this file", name)
			summary = append(summary, name+": not run (no runner for this file)")
			continue
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var c vectorCounts
		t.Run(name, func(t *testing.T) {
			c = run(t, data)
			if c.failed > 0 {
				t.Errorf("%d cases failed", c.failed)
			}
			if c.passed == 0 && c.unsupported == 0 {
				t.Errorf("no case ran")
			}
		})
		line := fmt.Sprintf("%s: %d passed, %d failed, %d unsupported", name, c.passed, c.failed, c.unsupported)
		t.Log(line)
		summary = append(summary, line)
	}
	vectorSummary = summary
}

// runCases decodes a JSON array of T and checks every case. suiteOf returns
// the case's cipher suite, or 0 when the file has none; cases of a suite the
// suite package does not support are counted as unsupported.
func runCases[T any](t *testing.T, data []byte, suiteOf func(*T) uint16, check func(t *testing.T, c *T) error) vectorCounts {
	t.Helper()
	var cases []T
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatalf("failed to parse vector file: %v", err)
	}
	var n vectorCounts
	for i := range cases {
		c := &cases[i]
		var id uint16
		if suiteOf != nil {
			id = suiteOf(c)
			if _, err := suite.Lookup(id); errors.Is(err, suite.ErrUnsupported) {
				n.unsupported++
				continue
			}
		}
		if err := check(t, c); err != nil {
			if errors.Is(err, errPreRFCVector) {
				n.unsupported++
				t.Logf("case %d (suite %d): unsupported: %v", i, id, err)
				continue
			}
			n.failed++
			t.Errorf("case %d (suite %d): %v", i, id, err)
			continue
		}
		n.passed++
	}
	return n
}

// hexBytes is a hex string in JSON; null decodes to nil.
type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*h = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := hex.DecodeString(s)
	if err != nil {
		return err
	}
	*h = d
	return nil
}

func (h hexBytes) MarshalJSON() ([]byte, error) {
	if h == nil {
		return []byte("null"), nil
	}
	return json.Marshal(hex.EncodeToString(h))
}

func eq(what string, got, want []byte) error {
	if string(got) != string(want) {
		return fmt.Errorf("%s: got %x, want %x", what, got, want)
	}
	return nil
}
