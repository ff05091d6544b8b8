package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/good-offices/goodoffices/desk"
	"github.com/good-offices/goodoffices/negotiation"
)

// Shell completion: 'goodoffices completion bash|zsh|fish' prints a script
// that asks the binary itself what may come next (the hidden command
// __complete): command names, the flags of a command (read from its own
// --help, so they are never out of date), the values some flags take, and
// channel, text, paragraph, proposal and statement IDs from the desk's
// encrypted store (never the network: completion must be instant, and it
// never prompts for a passphrase).

func init() {
	register(&command{name: "completion", summary: "print the shell completion script for bash, zsh or fish", run: runCompletion})
	register(&command{name: completeCommand, hidden: true, run: runComplete})
}

// completeCommand is the hidden helper the completion scripts call.
const completeCommand = "__complete"

func runCompletion(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "completion", "bash|zsh|fish", `
Prints the completion script for a shell: commands, flags, and channel and
text IDs (with paragraphs, proposals and statements) from your desk. The
desk is read only when its passphrase is in $GOODOFFICES_DESK_PASSPHRASE;
completion never prompts.

  bash:  source <(goodoffices completion bash)        (in ~/.bashrc)
  zsh:   source <(goodoffices completion zsh)         (in ~/.zshrc, after compinit)
  fish:  goodoffices completion fish > ~/.config/fish/completions/goodoffices.fish`)
	shell, err := parseOneArg(fs, args)
	if err != nil {
		return err
	}
	script, ok := completionScripts[shell]
	if !ok {
		fs.Usage()
		return &UsageError{Msg: "want bash, zsh or fish"}
	}
	_, err = fmt.Fprint(env.Stdout, script)
	return err
}

var completionScripts = map[string]string{
	"bash": `# bash completion for goodoffices (goodoffices completion bash)
_goodoffices() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local IFS=$'\n'
    local out
    out=$(goodoffices __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
    if [ -z "$out" ]; then
        COMPREPLY=($(compgen -f -- "$cur"))
        return
    fi
    COMPREPLY=($(compgen -W "$out" -- "$cur"))
}
complete -o filenames -F _goodoffices goodoffices
`,
	"zsh": `#compdef goodoffices
# zsh completion for goodoffices (goodoffices completion zsh)
_goodoffices() {
    local -a c
    c=("${(@f)$(goodoffices __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    if [[ -n "${c[1]}" ]]; then
        compadd -a c
    else
        _files
    fi
}
compdef _goodoffices goodoffices
`,
	"fish": `# fish completion for goodoffices (goodoffices completion fish)
function __goodoffices_complete
    set -l words (commandline -opc) (commandline -ct)
    set -l out (goodoffices __complete $words[2..-1] 2>/dev/null)
    if test (count $out) -eq 0
        __fish_complete_path (commandline -ct)
    else
        printf '%s\n' $out
    end
end
complete -c goodoffices -f -a '(__goodoffices_complete)'
`,
}

// runComplete prints the candidates for the last of args (the word being
// typed, possibly empty), one per line; nothing means "a file name".
func runComplete(ctx context.Context, env *Env, args []string) error {
	for _, c := range completions(ctx, env, args) {
		fmt.Fprintln(env.Stdout, c)
	}
	return nil
}

func completions(ctx context.Context, env *Env, words []string) []string {
	if len(words) == 0 {
		words = []string{""}
	}
	cur, before := words[len(words)-1], words[:len(words)-1]
	// The command: one or two words.
	var c *command
	var rest []string
	if len(before) >= 2 {
		if cc := commands[before[0]+" "+before[1]]; cc != nil && !cc.hidden {
			c, rest = cc, before[2:]
		}
	}
	if c == nil && len(before) >= 1 {
		if cc := commands[before[0]]; cc != nil && !cc.hidden {
			c, rest = cc, before[1:]
		}
	}
	if c == nil {
		switch len(before) {
		case 0:
			return prefixed(topWords(), cur)
		case 1:
			var subs []string
			for _, s := range subcommands(before[0]) {
				if !s.hidden {
					subs = append(subs, strings.TrimPrefix(s.name, before[0]+" "))
				}
			}
			return prefixed(subs, cur)
		}
		return nil
	}
	flags, synopsis := commandFlags(c)
	if strings.HasPrefix(cur, "-") {
		var out []string
		for name := range flags {
			out = append(out, "--"+name)
		}
		sort.Strings(out)
		return prefixed(out, cur)
	}
	// The value of a flag? (bash splits "--text=" into "--text" "=".)
	if n := len(rest); n > 1 && rest[n-1] == "=" {
		rest = rest[:n-1]
	}
	if n := len(rest); n > 0 && strings.HasPrefix(rest[n-1], "-") && !strings.Contains(rest[n-1], "=") {
		name := strings.TrimLeft(rest[n-1], "-")
		if takes, ok := flags[name]; ok && takes {
			return prefixed(flagValues(ctx, env, c, name, rest), cur)
		}
	}
	// A positional argument.
	pos := positionals(rest, flags)
	subs := subcommandWords(synopsis)
	if len(subs) > 0 && len(pos) == 0 {
		return prefixed(subs, cur)
	}
	if first := strings.Fields(synopsis); len(first) > 0 && first[0] == "CHANNEL" && len(pos) == 0 {
		return prefixed(deskValues(ctx, env, rest, func(d *desk.Desk) []string {
			cs, _ := d.Channels(ctx)
			var out []string
			for _, ch := range cs {
				out = append(out, ch.ID)
			}
			return out
		}), cur)
	}
	return nil
}

// topWords are the first words of the visible commands.
func topWords() []string {
	seen := map[string]bool{}
	var out []string
	for name, c := range commands {
		w, _, _ := strings.Cut(name, " ")
		if !c.hidden && !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	sort.Strings(out)
	return out
}

func prefixed(cands []string, cur string) []string {
	var out []string
	for _, c := range cands {
		if strings.HasPrefix(c, cur) {
			out = append(out, c)
		}
	}
	return out
}

var (
	flagLine  = regexp.MustCompile(`^  -([A-Za-z0-9][A-Za-z0-9-]*)( \S+)?`)
	usageLine = regexp.MustCompile(`^Usage: goodoffices (.*)$`)
)

// commandFlags runs a command with --help (which only prints its usage) and
// reads its flags from it: each flag's name and whether it takes a value;
// and the synopsis after the command's name.
func commandFlags(c *command) (map[string]bool, string) {
	var out, errOut bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // --help does nothing; and if it did, nothing that blocks
	c.run(ctx, env, []string{"--help"})
	flags := map[string]bool{}
	synopsis := ""
	for _, l := range strings.Split(errOut.String()+out.String(), "\n") {
		if m := flagLine.FindStringSubmatch(l); m != nil {
			flags[m[1]] = m[2] != ""
		}
		if m := usageLine.FindStringSubmatch(l); m != nil && synopsis == "" {
			synopsis = strings.TrimSpace(strings.TrimPrefix(m[1], c.name))
		}
	}
	return flags, synopsis
}

// subcommandWords reads "create|list|revoke" at the start of a synopsis.
func subcommandWords(synopsis string) []string {
	f := strings.Fields(synopsis)
	if len(f) == 0 || !strings.Contains(f[0], "|") || strings.ToLower(f[0]) != f[0] {
		return nil
	}
	return strings.Split(f[0], "|")
}

// positionals returns the positional arguments among words, given which
// flags take a value.
func positionals(words []string, flags map[string]bool) []string {
	var out []string
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w == "--" {
			return append(out, words[i+1:]...)
		}
		if strings.HasPrefix(w, "-") && len(w) > 1 {
			name, _, hasValue := strings.Cut(strings.TrimLeft(w, "-"), "=")
			if flags[name] && !hasValue {
				i++
			}
			continue
		}
		out = append(out, w)
	}
	return out
}

// flagValue returns the value given to flag name among words, "" if none.
func flagValue(words []string, name string) string {
	for i, w := range words {
		n, v, hasValue := strings.Cut(strings.TrimLeft(w, "-"), "=")
		if !strings.HasPrefix(w, "-") || n != name {
			continue
		}
		if hasValue {
			return v
		}
		if i+1 < len(words) {
			return words[i+1]
		}
	}
	return ""
}

// flagValues are the candidates for the value of flag name.
func flagValues(ctx context.Context, env *Env, c *command, name string, words []string) []string {
	switch name {
	case "stance":
		return []string{string(negotiation.Agree), string(negotiation.AgreeAdReferendum), string(negotiation.Reserve), string(negotiation.Object)}
	case "response":
		return []string{string(negotiation.Accept), string(negotiation.AcceptAdReferendum), string(negotiation.Decline)}
	case "level":
		return []string{"expert", "senior-officials", "ministerial", "leaders"}
	}
	if !strings.HasPrefix(c.name, "desk ") {
		return nil
	}
	flags, _ := commandFlags(c)
	pos := positionals(words[:len(words)-1], flags)
	if len(pos) == 0 {
		return nil
	}
	ch := pos[0]
	return deskValues(ctx, env, words, func(d *desk.Desk) []string {
		st, err := d.Talks(ctx, ch, flagValue(words, "host"))
		if err != nil {
			return nil
		}
		var out []string
		switch name {
		case "text":
			for _, t := range st.Texts {
				out = append(out, t.ID)
			}
		case "para", "after":
			if t := st.Text(flagValue(words, "text")); t != nil {
				for _, p := range t.Paragraphs {
					out = append(out, p.ID)
				}
			}
		case "version", "base":
			if t := st.Text(flagValue(words, "text")); t != nil {
				if p := t.Paragraph(paraID(flagValue(words, "para"))); p != nil {
					out = append(out, fmt.Sprint(p.Version))
				}
			}
		case "proposal":
			for _, p := range st.Proposals {
				if p.Status == negotiation.ProposalOpen {
					out = append(out, p.ID)
				}
			}
		case "reply-to":
			for _, s := range st.Statements {
				out = append(out, s.ID)
			}
		}
		return out
	})
}

// deskValues opens the desk named by --home among words (or the default)
// without syncing and returns what f reads from it; nothing if the desk
// cannot be opened without asking for its passphrase.
func deskValues(ctx context.Context, env *Env, words []string, f func(*desk.Desk) []string) []string {
	fs := flag.NewFlagSet("complete", flag.ContinueOnError)
	df := addDeskFlags(fs, false)
	*df.home = flagValue(words, "home")
	*df.passFile = flagValue(words, "passphrase-file")
	if *df.passFile == "" && env.Getenv(deskPassphraseEnv) == "" {
		return nil
	}
	quiet := &Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Getenv: env.Getenv}
	d, err := df.open(ctx, quiet)
	if err != nil {
		return nil
	}
	defer d.Close()
	return f(d)
}
