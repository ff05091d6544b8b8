package cli

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/good-offices/goodoffices/internal/docx"
	"github.com/good-offices/goodoffices/negotiation"
)

func init() {
	register(&command{name: "desk import", summary: "table a negotiating text from a Word document (.docx)", run: runDeskImport})
	register(&command{name: "desk export", summary: "write a negotiating text as a Word document (.docx)", run: runDeskExport})
}

func runDeskImport(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk import", "CHANNEL FILE.docx --text ID [--title T] [--skip-unmapped] [--dry-run]", `
Tables a negotiating text drafted in Word. The document's title (the first
paragraph in the Title style, or a first Heading 1) is the text's title
unless --title is given; every other non-empty paragraph becomes a
numbered paragraph, its number dropped. Square brackets keep their
meaning: "[complete] [partial]" are alternatives, attributed to your
delegation.

Nothing is tabled if a paragraph's brackets do not balance or the document
has tracked changes (accept or reject them in Word first). Tables, images,
text boxes, footnotes, Word comments and headings are not imported: they
are listed, and the import stops unless --skip-unmapped says to table the
text without them. --dry-run shows what would be tabled and sends nothing.

Example:
  goodoffices desk import wg1 protocol.docx --text protocol --dry-run`+deskPassphraseHelp)
	f := addDeskFlags(fs, true)
	id := fs.String("text", "", "text `ID`, e.g. protocol")
	title := fs.String("title", "", "the text's `title` (default: the document's title)")
	item := fs.String("item", "", "agenda `item` the text belongs to")
	level := fs.String("level", "expert", "`level` of the text")
	lang := fs.String("language", "en", "`language` of the negotiation")
	skip := fs.Bool("skip-unmapped", false, "table the text without what cannot be imported (listed)")
	dry := fs.Bool("dry-run", false, "show what would be tabled; send nothing")
	host := hostFlag(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		fs.Usage()
		return &UsageError{Msg: "CHANNEL and FILE.docx are required"}
	}
	ch, file := pos[0], pos[1]
	if *id == "" {
		return &UsageError{Msg: "--text is required"}
	}
	data, err := readDocx(file)
	if err != nil {
		return err
	}
	im, err := docx.Import(data)
	if err != nil {
		return fmt.Errorf("failed to import %s: %w", file, err)
	}
	if *title == "" {
		*title = im.Title
	}
	var lossy []string
	for _, is := range im.Issues {
		if !is.Fatal {
			lossy = append(lossy, is.String())
		}
	}
	if *f.json && *dry {
		return deskJSON(env.Stdout, map[string]any{"title": *title, "paragraphs": im.Paragraphs, "issues": im.Issues})
	}
	if im.Fatal() || *dry || (len(lossy) > 0 && !*skip) {
		fmt.Fprintf(env.Stdout, "%s: %q, %d paragraphs\n", file, *title, len(im.Paragraphs))
		for i, p := range im.Paragraphs {
			fmt.Fprintf(env.Stdout, "  %d. %s\n", i+1, p)
		}
	}
	if im.Fatal() {
		var msgs []string
		for _, is := range im.Issues {
			if is.Fatal {
				msgs = append(msgs, "  "+is.String())
			}
		}
		return fmt.Errorf("nothing tabled: %s cannot be read as a negotiating text:\n%s", file, strings.Join(msgs, "\n"))
	}
	if len(lossy) > 0 {
		fmt.Fprintf(env.Stderr, "not imported from %s:\n  %s\n", file, strings.Join(lossy, "\n  "))
		if !*skip && !*dry {
			return fmt.Errorf("nothing tabled: %d parts of %s cannot be imported (listed above); table without them with --skip-unmapped", len(lossy), file)
		}
	}
	if *title == "" {
		return &UsageError{Msg: "the document has no title (Title style): give --title"}
	}
	if *dry {
		fmt.Fprintln(env.Stdout, "dry run: nothing sent")
		return nil
	}
	d, err := f.open(ctx, env)
	if err != nil {
		return err
	}
	defer d.Close()
	p := negotiation.NewTableText(negotiation.TableText{ID: *id, Title: *title, Item: *item, Level: negotiation.Level(*level), Language: *lang, Paragraphs: im.Paragraphs})
	return sendEvent(ctx, env, d, ch, *host, p, *f.json)
}

func runDeskExport(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk export", "CHANNEL --text ID --docx FILE [--lang LANG] [--host NAME]", `
Writes a negotiating text as a Word document: numbered paragraphs, every
bracket in the colour of the party that tabled it with a comment naming
that party, each party's position on a paragraph as a comment by that
party, and the text's ID, version and level in the page header. For an
adopted text, --lang writes one authentic language version, and a
signature page says which delegations have signed. Word documents are for
drafting and reading; the signed outcome (desk export-outcome) is what
verifies.

Example:
  goodoffices desk export wg1 --text joint-statement --docx joint-statement.docx`+deskPassphraseHelp)
	f := addDeskFlags(fs, true)
	text := fs.String("text", "", "text `ID`")
	out := fs.String("docx", "", "the .docx `file` to write")
	lang := fs.String("lang", "", "authentic `language` version of an adopted text (default: the negotiating text)")
	host := fs.String("host", "", "the host's delegation, not a party (if it is in the channel)")
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	syncFirst(ctx, env, d, false)
	if *text == "" || *out == "" {
		return &UsageError{Msg: "--text and --docx are required"}
	}
	syncFirst(ctx, env, d, false)
	st, err := d.OutcomeTalks(ctx, ch, *host)
	if err != nil {
		return err
	}
	b, err := docx.Export(st, *text, docx.ExportOptions{Lang: *lang})
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, b, 0o600); err != nil {
		return fmt.Errorf("failed to write the document: %w", err)
	}
	if *f.json {
		return deskJSON(env.Stdout, map[string]any{"file": *out, "bytes": len(b)})
	}
	fmt.Fprintf(env.Stdout, "%s written (%d bytes)\n", *out, len(b))
	return nil
}

func readDocx(file string) ([]byte, error) {
	st, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("failed to read the document: %w", err)
	}
	if st.Size() > docx.MaxFileBytes {
		return nil, fmt.Errorf("failed to read the document: %s is larger than %d MiB", file, docx.MaxFileBytes>>20)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("failed to read the document: %w", err)
	}
	return b, nil
}
