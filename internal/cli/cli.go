// Package cli implements the subcommands of the goodoffices binary.
//
// Each subcommand lives in its own file and registers itself with register
// in an init function; Main dispatches on the first argument and maps errors
// to exit codes in one place.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Exit codes returned by Main.
const (
	ExitOK      = 0
	ExitFailure = 1 // the command failed
	ExitUsage   = 2 // bad flags or arguments
	ExitAlarm   = 3 // a verification failed: the venue may be cheating
)

// A command is one subcommand of goodoffices.
type command struct {
	name    string // e.g. "venue" or "delegation init"
	summary string // one line for the command list
	hidden  bool   // not listed, suggested or completed (a helper of the completion scripts)
	// run executes the command. args excludes the command's name.
	run func(ctx context.Context, env *Env, args []string) error
}

// Env is what a command may touch of the process: its output streams and
// its environment. Tests supply their own.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("cli: internal error: duplicate command " + c.name)
	}
	commands[c.name] = c
}

// UsageError reports bad flags or arguments; Main exits with ExitUsage.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// AlarmError reports a failed verification; Main exits with ExitAlarm.
type AlarmError struct{ Err error }

func (e *AlarmError) Error() string { return "ALARM: " + e.Err.Error() }
func (e *AlarmError) Unwrap() error { return e.Err }

// Main runs the goodoffices command line with args (without the program
// name) and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	env := &Env{Stdout: stdout, Stderr: stderr, Getenv: osGetenv}
	return run(ctx, env, args)
}

func run(ctx context.Context, env *Env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.Stdout)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	// Commands have one or two words ("venue", "delegation init").
	var c *command
	var rest []string
	if len(args) >= 2 {
		if cc, ok := commands[args[0]+" "+args[1]]; ok {
			c, rest = cc, args[2:]
		}
	}
	if c == nil {
		if cc, ok := commands[args[0]]; ok {
			c, rest = cc, args[1:]
		}
	}
	if c == nil {
		if group := subcommands(args[0]); len(group) > 0 {
			if len(args) >= 2 {
				if s := suggest(args[0] + " " + args[1]); s != "" {
					fmt.Fprintf(env.Stderr, "goodoffices: unknown command %q; did you mean 'goodoffices %s'?\n", args[0]+" "+args[1], s)
					return ExitUsage
				}
			}
			fmt.Fprintf(env.Stderr, "goodoffices %s: missing or unknown subcommand; one of:\n", args[0])
			for _, g := range group {
				fmt.Fprintf(env.Stderr, "  goodoffices %-22s %s\n", g.name, g.summary)
			}
			return ExitUsage
		}
		name := args[0]
		if len(args) >= 2 && !strings.HasPrefix(args[1], "-") {
			name += " " + args[1]
		}
		if s := suggest(name); s != "" {
			fmt.Fprintf(env.Stderr, "goodoffices: unknown command %q; did you mean 'goodoffices %s'?\n", name, s)
		} else {
			fmt.Fprintf(env.Stderr, "goodoffices: unknown command %q; run 'goodoffices help'\n", args[0])
		}
		return ExitUsage
	}
	err := c.run(ctx, env, rest)
	var ue *UsageError
	var ae *AlarmError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &ue):
		fmt.Fprintf(env.Stderr, "goodoffices %s: %v\n", c.name, err)
		return ExitUsage
	case errors.As(err, &ae):
		fmt.Fprintf(env.Stderr, "goodoffices %s: %v\n", c.name, err)
		return ExitAlarm
	default:
		fmt.Fprintf(env.Stderr, "goodoffices %s: %v\n", c.name, err)
		return ExitFailure
	}
}

func subcommands(prefix string) []*command {
	var out []*command
	for name, c := range commands {
		if strings.HasPrefix(name, prefix+" ") && !c.hidden {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func usage(w io.Writer) {
	fmt.Fprint(w, `goodoffices — a neutral venue for confidential negotiations.

The host runs the venue; each delegate runs a desk. The venue relays and logs
only ciphertext, and every party can check that it cannot read, alter, reorder,
fork or join the talks.

Usage: goodoffices <command> [flags]

Commands:
`)
	names := make([]string, 0, len(commands))
	for n, c := range commands {
		if !c.hidden {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-24s %s\n", n, commands[n].summary)
	}
	fmt.Fprint(w, "\nRun 'goodoffices <command> --help' for the flags of a command.\n")
}

// newFlagSet returns a FlagSet for command name whose usage text starts with
// synopsis and what, then lists the flags.
func newFlagSet(env *Env, name, synopsis, what string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: goodoffices %s %s\n\n%s\n", name, synopsis, strings.TrimSpace(what))
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprint(env.Stderr, "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags is the one flag parser of every command: it parses args with
// fs, accepting flags before, between and after the positional arguments
// (after "--" everything is positional), and turns a parse failure into a
// UsageError. Afterwards fs.Args() holds the positional arguments in order.
func parseFlags(fs *flag.FlagSet, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return &UsageError{Msg: err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		// flag.Parse consumed a "--" if it stopped there.
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
	// Leave the positional arguments in fs.Args(): "--" stops flag parsing.
	return fs.Parse(append([]string{"--"}, pos...))
}

// parseArgs parses flags given anywhere and returns the positional
// arguments in order.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	return fs.Args(), nil
}

// parseSub parses a command of the form "CMD SUBCOMMAND [ARGS] [flags]"
// with flags anywhere, also before the subcommand, and returns the
// subcommand and the other positional arguments.
func parseSub(fs *flag.FlagSet, args []string) (string, []string, error) {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return "", nil, err
	}
	if len(pos) == 0 {
		fs.Usage()
		return "", nil, &UsageError{Msg: "the subcommand is missing"}
	}
	return pos[0], pos[1:], nil
}

// parseOneArg parses flags given before or after at most one positional
// argument and returns that argument ("" if none).
func parseOneArg(fs *flag.FlagSet, args []string) (string, error) {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return "", err
	}
	switch len(pos) {
	case 0:
		return "", nil
	case 1:
		return pos[0], nil
	}
	return "", &UsageError{Msg: "unexpected arguments: " + strings.Join(pos[1:], " ")}
}

// suggest returns the command closest to a mistyped one (at most two
// edits away, or a unique prefix), "" if none.
func suggest(name string) string {
	best, bestD := "", 3
	for n, c := range commands {
		if c.hidden {
			continue
		}
		if d := editDistance(name, n); d < bestD || (d == bestD && n < best) {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Damerau-Levenshtein distance (optimal string
// alignment) between a and b: a swap of two neighbours is one edit.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
