package cli

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"
)

// stdinIsTerminal reports whether standard input is a terminal (a person
// can answer a question); a variable for the tests.
var stdinIsTerminal = func() bool { return term.IsTerminal(int(os.Stdin.Fd())) }

// confirm asks a yes/no question on a terminal. When standard input is not
// a terminal nobody can answer: it returns true, the caller having shown
// what it does (scripts pass --yes to say so).
func confirm(env *Env, question string) (bool, error) {
	if !stdinIsTerminal() {
		return true, nil
	}
	fmt.Fprint(env.Stderr, question)
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return false, fmt.Errorf("failed to read the answer: %w", err)
	}
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes", nil
}

// readPassphrase prompts for a passphrase on the terminal, without echo;
// with confirmRepeat (creating a key or desk) it asks twice and refuses a
// mismatch. It fails when standard input is not a terminal.
func readPassphrase(env *Env, prompt string, confirmRepeat bool) ([]byte, error) {
	if !stdinIsTerminal() {
		return nil, errNoTerminal
	}
	fd := int(os.Stdin.Fd())
	fmt.Fprint(env.Stderr, prompt)
	p, err := term.ReadPassword(fd)
	fmt.Fprintln(env.Stderr)
	if err != nil {
		return nil, fmt.Errorf("failed to read the passphrase: %w", err)
	}
	if len(p) == 0 {
		return nil, &UsageError{Msg: "empty passphrase"}
	}
	if confirmRepeat {
		fmt.Fprint(env.Stderr, "Again, to confirm: ")
		q, err := term.ReadPassword(fd)
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return nil, fmt.Errorf("failed to read the passphrase: %w", err)
		}
		if string(p) != string(q) {
			return nil, &UsageError{Msg: "the passphrases do not match"}
		}
	}
	return p, nil
}

var errNoTerminal = errors.New("no terminal to ask on")

// passphraseFile reads a passphrase from a file: its content without the
// final line ending.
func passphraseFile(file string) ([]byte, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("failed to read the passphrase file: %w", err)
	}
	p := strings.TrimRight(string(b), "\r\n")
	if p == "" {
		return nil, &UsageError{Msg: "the passphrase file is empty"}
	}
	return []byte(p), nil
}
