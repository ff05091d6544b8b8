package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/good-offices/goodoffices/negotiation"
)

func init() {
	register(&command{name: "desk translate", summary: "submit a text's wording in another language, for concordance", run: runDeskTranslate})
	register(&command{name: "desk concord", summary: "confirm that a language version concords with the negotiated text", run: runDeskConcord})
	register(&command{name: "desk adopt-package", summary: "adopt several agreed texts together, under one digest", run: runDeskAdoptPackage})
	register(&command{name: "desk concordance", summary: "every language version of a text, paragraph by paragraph, and who confirmed it", run: runDeskConcordance})
}

func runDeskTranslate(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk translate", "CHANNEL --text ID (--languages FILE | --lang L --para P --wording W)", `
Submits the wording of a text in another language for concordance: the
language versions of a text are equally authentic (Vienna Convention on the
Law of Treaties, art. 33), so before adoption every party confirms each
paragraph of each version ('desk concord'). Submitting a wording confirms
it for your delegation; a new wording clears the other parties'
confirmations of that paragraph.

--languages is a JSON file with whole language versions, the title and
every paragraph in the text's order:
  [{"lang":"fr","title":"Déclaration commune","paragraphs":["…","…"]},
   {"lang":"ru","title":"Совместное заявление","paragraphs":["…","…"]}]
--lang, --para and --wording change one paragraph ("title" for the title).`+deskPassphraseHelp)
	f := addDeskFlags(fs, true)
	text := fs.String("text", "", "text `ID`")
	file := fs.String("languages", "", "JSON `file` with whole language versions")
	lang := fs.String("lang", "", "the `language` of one wording")
	para := fs.String("para", "", "the `paragraph` ID (p2, or 2) or \"title\"")
	wording := fs.String("wording", "", "the paragraph's `wording` in --lang")
	host := hostFlag(fs)
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	syncFirst(ctx, env, d, false)
	if *text == "" || (*file == "") == (*lang == "") {
		return &UsageError{Msg: "--text and either --languages or --lang are required"}
	}
	if *file != "" {
		data, err := readLimited(*file, negotiation.MaxPayloadBytes)
		if err != nil {
			return err
		}
		var langs []negotiation.Language
		if err := json.Unmarshal(data, &langs); err != nil {
			return &UsageError{Msg: fmt.Sprintf("%s: not a JSON list of language versions: %v", *file, err)}
		}
		syncFirst(ctx, env, d, false)
		idx, err := d.Translate(ctx, ch, *host, *text, langs)
		if err != nil {
			return alarmErr(err)
		}
		if *f.json {
			return deskJSON(env.Stdout, map[string]any{"channel": ch, "indexes": idx})
		}
		for i, l := range langs {
			fmt.Fprintf(env.Stdout, "%s version of %s sent to %s (entry %d)\n", l.Lang, *text, ch, idx[i])
		}
		return nil
	}
	if *para == "" || *wording == "" {
		return &UsageError{Msg: "--lang needs --para and --wording"}
	}
	var title string
	var paras []negotiation.TranslatedParagraph
	if *para == "title" {
		title = *wording
	} else {
		paras = []negotiation.TranslatedParagraph{{Para: paraID(*para), Text: *wording}}
	}
	return sendEvent(ctx, env, d, ch, *host, negotiation.NewTranslation(*text, *lang, title, paras), *f.json)
}

func runDeskConcord(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk concord", "CHANNEL --text ID --lang L [--para P,...]", `
Confirms, for your delegation, that the current wordings of a language
version concord with the negotiated text: the title and every paragraph
your delegation has not confirmed yet, or only those --para names (p2 or 2;
"title" for the title). A wording that renders an older version of the
original paragraph cannot be confirmed: it must be updated first.`+deskPassphraseHelp)
	f := addDeskFlags(fs, true)
	text := fs.String("text", "", "text `ID`")
	lang := fs.String("lang", "", "the `language` version")
	para := fs.String("para", "", "comma-separated `paragraphs` (default: all not yet confirmed)")
	host := hostFlag(fs)
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	syncFirst(ctx, env, d, false)
	if *text == "" || *lang == "" {
		return &UsageError{Msg: "--text and --lang are required"}
	}
	var paras []string
	if *para != "" {
		for _, p := range strings.Split(*para, ",") {
			paras = append(paras, paraID(strings.TrimSpace(p)))
		}
	}
	syncFirst(ctx, env, d, false)
	idx, parts, err := d.Concord(ctx, ch, *host, *text, *lang, paras)
	if err != nil {
		return alarmErr(err)
	}
	if *f.json {
		return deskJSON(env.Stdout, map[string]any{"channel": ch, "index": idx, "confirmed": parts})
	}
	fmt.Fprintf(env.Stdout, "concordance of %d %s wordings of %s confirmed in %s (entry %d)\n", len(parts), *lang, *text, ch, idx)
	return nil
}

func runDeskConcordance(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk concordance", "CHANNEL --text ID [--json]", `
Shows every language version of a text side by side, paragraph by
paragraph, and which parties have confirmed each wording: concordant,
pending (waiting for a party), stale (the original changed since) or
missing. A text is adopted only in concordant versions.`+deskPassphraseHelp)
	f := addDeskFlags(fs, true)
	text := fs.String("text", "", "text `ID`")
	host := hostFlag(fs)
	offline := offlineFlag(fs)
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	syncFirst(ctx, env, d, false)
	if *text == "" {
		return &UsageError{Msg: "--text is required"}
	}
	syncFirst(ctx, env, d, *offline)
	st, err := d.Talks(ctx, ch, *host)
	if err != nil {
		return err
	}
	table := st.Concordance(*text)
	if table == nil {
		return fmt.Errorf("no text %q in %s", *text, ch)
	}
	if *f.json {
		return deskJSON(env.Stdout, table)
	}
	if len(table.Langs) == 0 {
		fmt.Fprintf(env.Stdout, "%s: no other language version submitted yet (desk translate)\n", *text)
		return nil
	}
	for _, r := range table.Rows {
		name := fmt.Sprintf("%d. (%s)", r.Number, r.Para)
		if r.Para == "" {
			name = "title"
		}
		fmt.Fprintf(env.Stdout, "%s\n  %s: %s\n", name, table.Language, r.Original)
		for _, c := range r.Cells {
			state := string(c.Status)
			if c.Status == negotiation.ConcordancePending {
				state += ", waiting for " + strings.Join(c.Waiting, ", ")
			}
			if c.Text == "" {
				fmt.Fprintf(env.Stdout, "  %s: [%s]\n", c.Lang, state)
				continue
			}
			fmt.Fprintf(env.Stdout, "  %s: %s  [%s]\n", c.Lang, c.Text, state)
		}
	}
	if len(table.Concordant) > 0 {
		fmt.Fprintf(env.Stdout, "concordant, ready for adoption: %s\n", strings.Join(table.Concordant, ", "))
	} else {
		fmt.Fprintln(env.Stdout, "no language version is concordant yet")
	}
	return nil
}

func runDeskAdoptPackage(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk adopt-package", "CHANNEL --package ID --title T --text ID --text ID [...] [--lang fr,ru] [--json]", `
Adopts several texts together as one package under one digest: nothing is
agreed until everything is agreed, so every text must be agreed by every
party on every paragraph, and each is adopted in its negotiated language
and its concordant language versions (all of them, or those --lang names).
Each party's root key then signs the package once (desk signing-request
--text with any text of the package, delegation sign-outcome, desk
post-signature); 'desk export-outcome --text' with any of its texts exports
the package, and 'goodoffices verify' says which documents it holds.`+deskPassphraseHelp)
	f := addDeskFlags(fs, true)
	id := fs.String("package", "", "the package's `ID`, e.g. caspia-package")
	title := fs.String("title", "", "the package's `title`")
	var texts multiFlag
	fs.Var(&texts, "text", "a text `ID` of the package (repeat, in order)")
	langCodes := fs.String("lang", "", "adopt in these concordant `languages` only, e.g. fr,ru (default: all concordant)")
	host := hostFlag(fs)
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	syncFirst(ctx, env, d, false)
	if *id == "" || *title == "" || len(texts) < 2 {
		return &UsageError{Msg: "--package, --title and at least two --text are required"}
	}
	var langs []string
	if *langCodes != "" {
		langs = strings.Split(*langCodes, ",")
	}
	syncFirst(ctx, env, d, false)
	idx, b, err := d.AdoptPackage(ctx, ch, *host, *id, *title, texts, langs)
	if err != nil {
		return alarmErr(err)
	}
	if *f.json {
		return deskJSON(env.Stdout, map[string]any{"channel": ch, "index": idx, "package": b.Package, "texts": []string(texts), "digest": b.Digest})
	}
	fmt.Fprintf(env.Stdout, "adoption of package %s (%s) sent to %s (entry %d)\ndigest %s\nnext: goodoffices desk signing-request %s --text %s\n",
		b.Package, strings.Join(texts, ", "), ch, idx, b.Digest, ch, texts[0])
	return nil
}
