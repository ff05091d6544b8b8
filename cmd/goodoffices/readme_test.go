package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeCommands checks that every goodoffices command in the README's
// shell blocks appears in a script of testdata/script (which run them): the
// same command and positional arguments, every flag the README gives with
// the same value. A value the README leaves to the reader ('<device-id>',
// 'K7QF-…') or a script takes from a variable ($VENUE) matches any value;
// a script may add flags (--listen 127.0.0.1:0 instead of the default
// port, --home). A README command with a flag or argument no script uses
// fails the test.
func TestReadmeCommands(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	cmds := readmeCommands(string(readme))
	if len(cmds) < 30 {
		t.Fatalf("found only %d commands in the README's shell blocks", len(cmds))
	}
	files, _ := filepath.Glob("testdata/script/*.txtar")
	var scripts []invocation
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if inv, ok := parseInvocation(scriptCommand(line)); ok {
				inv.where = f
				scripts = append(scripts, inv)
			}
		}
	}
	for _, c := range cmds {
		inv, ok := parseInvocation(c)
		if !ok {
			t.Errorf("README: cannot parse %q", c)
			continue
		}
		found := false
		for _, s := range scripts {
			if inv.matchedBy(s) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("README command not run by any script in testdata/script:\n  %s", c)
		}
	}
}

// readmeCommands returns the goodoffices commands of the README's ```sh
// blocks, continuation lines joined, comments and environment assignments
// removed.
func readmeCommands(md string) []string {
	var out []string
	in := false
	var cur string
	sc := bufio.NewScanner(strings.NewReader(md))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			in = line == "```sh"
			continue
		}
		if !in {
			continue
		}
		line = stripComment(line)
		if strings.HasSuffix(strings.TrimSpace(line), "\\") {
			cur += strings.TrimSuffix(strings.TrimSpace(line), "\\") + " "
			continue
		}
		line = strings.TrimSpace(cur + line)
		cur = ""
		f := strings.Fields(line)
		for len(f) > 0 && strings.Contains(f[0], "=") && !strings.HasPrefix(f[0], "-") {
			line = strings.TrimSpace(strings.TrimPrefix(line, f[0]))
			f = f[1:]
		}
		if strings.HasPrefix(line, "goodoffices ") {
			out = append(out, line)
		}
	}
	return out
}

// stripComment removes a # comment outside quotes.
func stripComment(s string) string {
	var q rune
	for i, c := range s {
		switch {
		case q != 0 && c == q:
			q = 0
		case q == 0 && (c == '\'' || c == '"'):
			q = c
		case q == 0 && c == '#' && (i == 0 || s[i-1] == ' '):
			return s[:i]
		}
	}
	return s
}

// scriptCommand returns the goodoffices command of a script line, without
// a leading "!" or "start NAME".
func scriptCommand(line string) string {
	line = strings.TrimSpace(line)
	line = strings.TrimSpace(strings.TrimPrefix(line, "! "))
	if f := strings.Fields(line); len(f) > 2 && f[0] == "start" {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(line, "start"), " "+f[1]))
	}
	return line
}

type invocation struct {
	pos   []string            // command words and positional arguments
	flags map[string][]string // flag name -> values ("" for a boolean)
	where string
}

// boolFlags are the boolean flags the README uses (they take no value).
var boolFlags = map[string]bool{"json": true, "dry-run": true, "yes": true, "sync": true, "skip-unmapped": true, "watch": true, "require-evidence": true}

func parseInvocation(line string) (invocation, bool) {
	args, ok := shellWords(line)
	if !ok || len(args) < 2 || args[0] != "goodoffices" {
		return invocation{}, false
	}
	inv := invocation{flags: map[string][]string{}}
	for i := 1; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			inv.pos = append(inv.pos, a)
			continue
		}
		name := strings.TrimLeft(a, "-")
		val := ""
		if n, v, ok := strings.Cut(name, "="); ok {
			name, val = n, v
		} else if !boolFlags[name] && i+1 < len(args) {
			i++
			val = args[i]
		}
		inv.flags[name] = append(inv.flags[name], val)
	}
	return inv, true
}

// shellWords splits a command line as sh would, for the quoting the README
// and the scripts use.
func shellWords(s string) ([]string, bool) {
	var out []string
	var cur strings.Builder
	var q rune
	have := false
	for _, c := range s {
		switch {
		case q != 0 && c == q:
			q = 0
		case q != 0:
			cur.WriteRune(c)
		case c == '\'' || c == '"':
			q, have = c, true
		case c == ' ' || c == '\t':
			if have || cur.Len() > 0 {
				out = append(out, cur.String())
			}
			cur.Reset()
			have = false
		default:
			cur.WriteRune(c)
		}
	}
	if have || cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out, q == 0
}

// wildcard reports whether a value stands for any value: a placeholder of
// the README or a variable of a script.
func wildcard(v string) bool {
	return strings.Contains(v, "…") || strings.HasPrefix(v, "<") || strings.Contains(v, "$")
}

func sameValue(readme, script string) bool {
	return readme == script || wildcard(readme) || wildcard(script)
}

// matchedBy reports whether script invocation s runs README invocation r.
func (r invocation) matchedBy(s invocation) bool {
	if len(r.pos) != len(s.pos) {
		return false
	}
	for i := range r.pos {
		if !sameValue(r.pos[i], s.pos[i]) {
			return false
		}
	}
	for name, rv := range r.flags {
		sv, ok := s.flags[name]
		if !ok || len(sv) < len(rv) {
			return false
		}
		for i := range rv {
			if !sameValue(rv[i], sv[i]) {
				return false
			}
		}
	}
	return true
}
