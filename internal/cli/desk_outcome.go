package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/good-offices/goodoffices/negotiation"
	"github.com/good-offices/goodoffices/outcome"
)

func init() {
	register(&command{name: "desk adopt", summary: "adopt an agreed text in its authentic languages", run: runDeskAdopt})
	register(&command{name: "desk signing-request", summary: "export an adopted text's digest for the root key to sign offline", run: runDeskSigningRequest})
	register(&command{name: "desk post-signature", summary: "post a root-key signature of an outcome into its channel", run: runDeskPostSignature})
	register(&command{name: "desk export-outcome", summary: "export the signed outcome bundle, with the venue's evidence", run: runDeskExportOutcome})
}

func runDeskAdopt(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk adopt", "CHANNEL --text ID [--lang fr,ru] [--host NAME] [--json]", `
Adopts a text that every party has agreed, paragraph by paragraph: the text
is frozen and its authentic language versions are attached. A canonical
digest of all of them is computed; each party's root key then signs it
(desk signing-request, delegation sign-outcome, desk post-signature).

Every language version other than the language of the negotiation must be
concordant first: submitted with 'desk translate' and confirmed by every
party with 'desk concord' ('desk concordance' shows the table). By default
the text is adopted in every language submitted, and the adoption is
refused while any is not concordant; --lang fr,ru adopts in those only.
The version in the language of the negotiation is the agreed wording.
Every desk refuses an adoption whose language versions differ from the
agreed text or the concordant wordings.`+deskPassphraseHelp)
	f := addDeskFlags(fs, true)
	text := fs.String("text", "", "text `ID`")
	langFile := fs.String("languages", "", "JSON `file` with the other language versions (each must be concordant)")
	langCodes := fs.String("lang", "", "adopt in these concordant `languages` only, e.g. fr,ru (default: every language submitted)")
	host := fs.String("host", "", "the host's delegation, not a party (if it is in the channel)")
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	syncFirst(ctx, env, d, false)
	if *text == "" {
		return &UsageError{Msg: "--text is required"}
	}
	var langs []negotiation.Language
	if *langFile != "" && *langCodes != "" {
		return &UsageError{Msg: "give --languages or --lang, not both"}
	}
	if *langCodes != "" {
		if langs, err = d.ConcordantVersions(ctx, ch, *host, *text, strings.Split(*langCodes, ",")); err != nil {
			return fmt.Errorf("nothing sent: %w", err)
		}
	}
	if *langFile != "" {
		data, err := readLimited(*langFile, negotiation.MaxPayloadBytes)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(data, &langs); err != nil {
			return &UsageError{Msg: fmt.Sprintf("%s: not a JSON list of language versions: %v", *langFile, err)}
		}
	}
	idx, b, err := d.Adopt(ctx, ch, *host, *text, langs)
	if err != nil {
		return alarmErr(err)
	}
	if *f.json {
		return deskJSON(env.Stdout, map[string]any{"channel": ch, "index": idx, "text": b.Text, "version": b.Version, "digest": b.Digest})
	}
	fmt.Fprintf(env.Stdout, "adoption of %s v%d sent to %s (entry %d)\ndigest %s\nnext: goodoffices desk signing-request %s --text %s\n",
		b.Text, b.Version, ch, idx, b.Digest, ch, b.Text)
	return nil
}

func runDeskSigningRequest(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk signing-request", "CHANNEL --text ID [--out FILE] [--host NAME] [--json]", `
Exports the signing request of an adopted text: the text in every authentic
language and the digest your delegation's root key is to sign. Carry the
file to the air-gapped machine with the root key and run
'goodoffices delegation sign-outcome' there. Sync first (desk sync) so that
this desk has seen the adoption.`+deskPassphraseHelp)
	f := addDeskFlags(fs, true)
	text := fs.String("text", "", "text `ID`")
	out := fs.String("out", "", "request `file` (default <text>.signing-request.json)")
	host := fs.String("host", "", "the host's delegation, not a party (if it is in the channel)")
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	syncFirst(ctx, env, d, false)
	if *text == "" {
		return &UsageError{Msg: "--text is required"}
	}
	req, err := d.SigningRequest(ctx, ch, *host, *text)
	if err != nil {
		return alarmErr(err)
	}
	if *out == "" {
		*out = *text + ".signing-request.json"
	}
	if err := os.WriteFile(*out, req.Marshal(), 0o644); err != nil {
		return fmt.Errorf("failed to write the request: %w", err)
	}
	if *f.json {
		return deskJSON(env.Stdout, map[string]any{"file": *out, "text": req.Bundle.Text, "version": req.Bundle.Version, "digest": req.Bundle.Digest})
	}
	fmt.Fprintf(env.Stdout, "signing request written to %s (digest %s)\non the root key's machine: goodoffices delegation sign-outcome --key <root key> %s\n",
		*out, req.Bundle.Digest, filepath.Base(*out))
	return nil
}

func runDeskPostSignature(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk post-signature", "SIGNATURE-FILE [--host NAME] [--json]", `
Posts your delegation's root-key signature of an adopted text, as made by
'goodoffices delegation sign-outcome', into the text's channel. The desk
first checks that it is a valid signature of the adopted digest by your
delegation's root key as the verified register holds it; every other desk
checks it again. When every party has signed, the text is adopted and
'desk export-outcome' exports the bundle.`+deskPassphraseHelp)
	f := addDeskFlags(fs, true)
	host := fs.String("host", "", "the host's delegation, not a party (if it is in the channel)")
	file, err := parseOneArg(fs, args)
	if err != nil {
		return err
	}
	if file == "" {
		fs.Usage()
		return &UsageError{Msg: "the SIGNATURE-FILE is required"}
	}
	data, err := readLimited(file, outcome.MaxFileBytes)
	if err != nil {
		return err
	}
	sf, err := outcome.ParseSignatureFile(data)
	if err != nil {
		return &UsageError{Msg: fmt.Sprintf("%s: %v", file, err)}
	}
	d, err := f.open(ctx, env)
	if err != nil {
		return err
	}
	defer d.Close()
	syncFirst(ctx, env, d, false)
	idx, err := d.PostSignature(ctx, *host, sf)
	if err != nil {
		return alarmErr(err)
	}
	if *f.json {
		return deskJSON(env.Stdout, map[string]any{"channel": sf.Channel, "index": idx, "text": sf.Text, "party": sf.Party})
	}
	fmt.Fprintf(env.Stdout, "signature of %s on %s posted to %s (entry %d)\n", sf.Party, sf.Text, sf.Channel, idx)
	return nil
}

func runDeskExportOutcome(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk export-outcome", "CHANNEL --text ID [--out FILE] [--host NAME] [--json]", `
Exports the outcome bundle of a text that every party has signed: the text
in each authentic language, every party's root-key signature, and the
venue's evidence (the channel's checkpoint, signed by the venue and
cosigned by the parties' desks, the log entries of the adoption and of the
signatures with their inclusion proofs, and the device certificates of
their senders). Anyone checks it offline with 'goodoffices verify'.`+deskPassphraseHelp)
	f := addDeskFlags(fs, true)
	text := fs.String("text", "", "text `ID`")
	out := fs.String("out", "", "bundle `file` (default <text>.outcome.json)")
	pdfOut := fs.String("pdf", "", "also render the outcome as PDF to `file`: each language (of each text, for a package), then a signature page")
	font := fs.String("font", "", "TrueType font `file` to embed in the PDF instead of the built-in DejaVu Sans (which covers Latin, Cyrillic and Kazakh)")
	host := fs.String("host", "", "the host's delegation, not a party (if it is in the channel)")
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	syncFirst(ctx, env, d, false)
	if *text == "" {
		return &UsageError{Msg: "--text is required"}
	}
	b, err := d.ExportOutcome(ctx, ch, *host, *text)
	if err != nil {
		return alarmErr(err)
	}
	if *out == "" {
		*out = *text + ".outcome.json"
	}
	if err := os.WriteFile(*out, b.Marshal(), 0o644); err != nil {
		return fmt.Errorf("failed to write the bundle: %w", err)
	}
	if *pdfOut != "" {
		o, err := pdfOptions(*font)
		if err != nil {
			return err
		}
		r, err := b.Verify(outcome.Options{TrustEmbeddedKeys: true, VenueKey: d.Venue().VerifierKey})
		if err != nil {
			return err
		}
		pdf, err := b.PDF(r, o)
		if err != nil {
			return err
		}
		if err := os.WriteFile(*pdfOut, pdf, 0o644); err != nil {
			return fmt.Errorf("failed to write the PDF: %w", err)
		}
	}
	if *f.json {
		return deskJSON(env.Stdout, map[string]any{"file": *out, "text": b.Text, "version": b.Version, "digest": b.Digest, "signatures": len(b.Signatures)})
	}
	fmt.Fprintf(env.Stdout, "outcome bundle written to %s: %s v%d, %d languages, %d signatures, %d log entries as evidence\n",
		*out, b.Text, b.Version, len(b.Languages), len(b.Signatures), len(b.Evidence.Entries))
	return nil
}

func init() {
	register(&command{name: "desk brief", summary: "export a briefing: chosen messages of a channel, with proof, and nothing else", run: runDeskBrief})
	register(&command{name: "desk render", summary: "render a negotiating text as PDF (brackets and attributions visible)", run: runDeskRender})
	register(&command{name: "desk brief-outcome", summary: "export a briefing on chosen paragraphs of a signed outcome", run: runDeskBriefOutcome})
}

func runDeskBrief(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk brief", "CHANNEL (--entries N,N,... | --text ID --para P) [--out FILE] [--json]", `
Exports a briefing that shows a third party chosen messages of a channel
and nothing else: for each message the log entry as the venue logged it,
the keys that decrypt exactly that message and no other (MLS gives one key
per message), its inclusion proof in the channel's checkpoint cosigned by
the parties' desks, and the sender's device certificate. The third party
checks it offline with 'goodoffices verify', pinning your root key's
fingerprint.

Choose the messages by log index (--entries, as 'desk read' shows them) or
take the history of one paragraph (--text and --para): the proposals that
tabled and amended it with their answers, the positions on it, and the
statements about it with their replies.

Only messages this desk sent or read since it keeps message keys can be
disclosed.`+deskPassphraseHelp)
	f := addDeskFlags(fs, true)
	entries := fs.String("entries", "", "comma-separated log `indexes` of the messages")
	text := fs.String("text", "", "text `ID` whose paragraph's history to disclose")
	para := fs.String("para", "", "paragraph `ID` as desk talks shows it: p4 (or 4)")
	host := fs.String("host", "", "the host's delegation, not a party (if it is in the channel)")
	out := fs.String("out", "", "briefing `file` (default <channel>.briefing.json)")
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	syncFirst(ctx, env, d, false)
	var idx []int64
	switch {
	case *entries != "" && *text == "" && *para == "":
		for _, s := range strings.Split(*entries, ",") {
			n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil || n < 0 {
				return &UsageError{Msg: "--entries: comma-separated log indexes, e.g. 7,8,12"}
			}
			idx = append(idx, n)
		}
	case *entries == "" && *text != "" && *para != "":
		if idx, err = d.ParagraphHistory(ctx, ch, *host, *text, paraID(*para)); err != nil {
			return err
		}
		if len(idx) == 0 {
			return fmt.Errorf("no message about paragraph %s of %s in %s", *para, *text, ch)
		}
	default:
		return &UsageError{Msg: "give either --entries, or --text and --para"}
	}
	cb, err := d.ExportBriefing(ctx, ch, idx)
	if err != nil {
		return alarmErr(err)
	}
	if *out == "" {
		*out = ch + ".briefing.json"
	}
	if err := os.WriteFile(*out, cb.Marshal(), 0o644); err != nil {
		return fmt.Errorf("failed to write the briefing: %w", err)
	}
	if *f.json {
		return deskJSON(env.Stdout, map[string]any{"file": *out, "channel": ch, "entries": idx})
	}
	fmt.Fprintf(env.Stdout, "briefing on %d messages of %s written to %s (entries %v)\n", len(idx), ch, *out, idx)
	return nil
}

func runDeskBriefOutcome(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk brief-outcome", "CHANNEL --text ID --ref LANG:N [--ref ...] [--out FILE] [--json]", `
Exports a briefing on chosen paragraphs of a signed outcome: each with its
salted commitment and inclusion proof in the tree every party's root key
signed. Nothing else of the text can be read from it. N is the paragraph
number (0 is the title).

Example:
  goodoffices desk brief-outcome wg1 --text joint-statement --ref en:3 --ref ru:3`+deskPassphraseHelp)
	f := addDeskFlags(fs, true)
	text := fs.String("text", "", "text `ID`")
	var refs multiFlag
	fs.Var(&refs, "ref", "a paragraph: `LANG:N` (repeat)")
	host := fs.String("host", "", "the host's delegation, not a party (if it is in the channel)")
	out := fs.String("out", "", "briefing `file` (default <text>.briefing.json)")
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	syncFirst(ctx, env, d, false)
	if *text == "" || len(refs) == 0 {
		return &UsageError{Msg: "--text and at least one --ref are required"}
	}
	var rs []outcome.Ref
	for _, r := range refs {
		lang, n, ok := strings.Cut(r, ":")
		k, err := strconv.Atoi(n)
		if !ok || err != nil || lang == "" {
			return &UsageError{Msg: "--ref: LANG:N, e.g. en:3"}
		}
		rs = append(rs, outcome.Ref{Lang: lang, Number: k})
	}
	b, err := d.ExportOutcome(ctx, ch, *host, *text)
	if err != nil {
		return alarmErr(err)
	}
	br, err := b.Brief(rs)
	if err != nil {
		return err
	}
	if *out == "" {
		*out = *text + ".briefing.json"
	}
	if err := os.WriteFile(*out, br.Marshal(), 0o644); err != nil {
		return fmt.Errorf("failed to write the briefing: %w", err)
	}
	if *f.json {
		return deskJSON(env.Stdout, map[string]any{"file": *out, "text": *text, "paragraphs": len(rs)})
	}
	fmt.Fprintf(env.Stdout, "briefing on %d paragraphs of %s written to %s\n", len(rs), *text, *out)
	return nil
}

func runDeskRender(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk render", "CHANNEL --text ID [--out FILE] [--font FILE.ttf] [--host NAME] [--json]", `
Renders a negotiating text as PDF: the numbered paragraphs with the
unagreed text in [brackets] and the party that tabled each bracket named,
each paragraph's status and positions, and the adoption. (desk talks --text
prints the same as Markdown.)

The text is set in DejaVu Sans, built into the binary, which covers
English, French, Russian, Ukrainian, Kazakh and most other Latin and
Cyrillic languages; only the glyphs used are embedded, and the text can be
copied and searched. --font embeds another TrueType font instead (for a
script DejaVu Sans lacks).`+deskPassphraseHelp)
	f := addDeskFlags(fs, true)
	text := fs.String("text", "", "text `ID`")
	out := fs.String("out", "", "PDF `file` (default <text>.pdf)")
	font := fs.String("font", "", "TrueType font `file` to embed instead of the built-in DejaVu Sans")
	host := fs.String("host", "", "the host's delegation, not a party (if it is in the channel)")
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	syncFirst(ctx, env, d, false)
	if *text == "" {
		return &UsageError{Msg: "--text is required"}
	}
	o, err := pdfOptions(*font)
	if err != nil {
		return err
	}
	st, err := d.OutcomeTalks(ctx, ch, *host)
	if err != nil {
		return err
	}
	pdf, err := outcome.TextPDF(st, *text, o)
	if err != nil {
		return err
	}
	if *out == "" {
		*out = *text + ".pdf"
	}
	if err := os.WriteFile(*out, pdf, 0o644); err != nil {
		return fmt.Errorf("failed to write the PDF: %w", err)
	}
	if *f.json {
		return deskJSON(env.Stdout, map[string]any{"file": *out, "bytes": len(pdf)})
	}
	fmt.Fprintf(env.Stdout, "%s written (%d bytes)\n", *out, len(pdf))
	return nil
}

// pdfOptions reads the font file, if one is given.
func pdfOptions(font string) (outcome.PDFOptions, error) {
	if font == "" {
		return outcome.PDFOptions{}, nil
	}
	b, err := readLimited(font, 32<<20)
	if err != nil {
		return outcome.PDFOptions{}, err
	}
	return outcome.PDFOptions{Font: b}, nil
}
