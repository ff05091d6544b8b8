// Package metadatadoc reads docs/metadata.md, the list of what the venue
// keeps, for the tests that compare it with what the venue really keeps
// (desk.TestMetadataBinary for SQLite and the data directory,
// postgres.TestSchemaDocumented for PostgreSQL).
//
// # Format
//
// A stored column is a table row whose first two cells are the column, as
// `table.column` in backquotes, and the store that has it: both, SQLite or
// PostgreSQL:
//
//	| `entries.data` | both | the MLS message, as sent | ... |
//
// The files of the data directory are the rows of the table under the
// heading "### Files in the data directory", each first cell one or more
// path patterns (path.Match) in backquotes, separated by ", ".
package metadatadoc

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Stores named in the document.
const (
	SQLite     = "SQLite"
	PostgreSQL = "PostgreSQL"
)

var columnRow = regexp.MustCompile("(?m)^\\| `([a-z_]+\\.[a-z_]+)` \\| (both|SQLite|PostgreSQL) \\|")

// Columns returns the "table.column" names the document at path lists for
// store.
func Columns(path, store string) (map[string]bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read the metadata document: %w", err)
	}
	out := map[string]bool{}
	for _, m := range columnRow.FindAllStringSubmatch(string(b), -1) {
		if m[2] == "both" || m[2] == store {
			out[m[1]] = true
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s lists no column for %s", path, store)
	}
	return out, nil
}

var fileRow = regexp.MustCompile("(?m)^\\| (`.+`) \\|")

// Files returns the path patterns of the data directory the document at
// path lists.
func Files(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read the metadata document: %w", err)
	}
	_, sec, ok := strings.Cut(string(b), "### Files in the data directory")
	if !ok {
		return nil, fmt.Errorf("%s has no section \"Files in the data directory\"", path)
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	var out []string
	for _, m := range fileRow.FindAllStringSubmatch(sec, -1) {
		for _, f := range strings.Split(m[1], ", ") {
			out = append(out, strings.Trim(f, "`"))
		}
	}
	return out, nil
}

// Diff returns the columns stored but not documented and those documented
// but not stored.
func Diff(stored, documented map[string]bool) (undocumented, missing []string) {
	for k := range stored {
		if !documented[k] {
			undocumented = append(undocumented, k)
		}
	}
	for k := range documented {
		if !stored[k] {
			missing = append(missing, k)
		}
	}
	return undocumented, missing
}
