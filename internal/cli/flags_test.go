package cli

import (
	"flag"
	"io"
	"reflect"
	"testing"
)

// TestParseFlagsAnywhere: every command's flags may come before, between or
// after its positional arguments; after "--" everything is positional.
func TestParseFlagsAnywhere(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		key     string
		yes     bool
		pos     []string
		wantErr bool
	}{
		{args: []string{"--key", "k", "a"}, key: "k", pos: []string{"a"}},
		{args: []string{"a", "--key", "k"}, key: "k", pos: []string{"a"}},
		{args: []string{"a", "--yes", "b", "--key=k"}, key: "k", yes: true, pos: []string{"a", "b"}},
		{args: []string{"a", "--", "--key", "k"}, pos: []string{"a", "--key", "k"}},
		{args: []string{"-", "--yes"}, yes: true, pos: []string{"-"}},
		{args: []string{"a", "--nope"}, wantErr: true},
		{args: []string{"a", "--key"}, wantErr: true},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		key := fs.String("key", "", "")
		yes := fs.Bool("yes", false, "")
		err := parseFlags(fs, tc.args)
		if tc.wantErr {
			if _, ok := err.(*UsageError); !ok {
				t.Errorf("%q: err = %v, want a UsageError", tc.args, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		if *key != tc.key || *yes != tc.yes || !reflect.DeepEqual(append([]string{}, fs.Args()...), append([]string{}, tc.pos...)) {
			t.Errorf("%q: key=%q yes=%v pos=%q; want %q %v %q", tc.args, *key, *yes, fs.Args(), tc.key, tc.yes, tc.pos)
		}
	}
}
