package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/desk"
	"github.com/good-offices/goodoffices/internal/docx"
	"github.com/good-offices/goodoffices/negotiation"
	"github.com/good-offices/goodoffices/outcome"
)

// The end of the demo's story: Borealia drafts its Protocol in Word, a new
// Arden delegate reads working group 1's history through a hand-over on
// "day 40", the ministers adopt the Caspia package (the Joint Statement in
// its final wording and the Protocol taken up from the working group) in
// English and French, both root keys sign it, and the demo writes the
// signed package and the Word documents where people can take them.

// A Document is a file the demo wrote for people to take away.
type Document struct {
	What string // what it is, in words
	Path string
}

// The package the ministers adopt, and where.
const (
	ministerial    = "ministerial"
	host           = "caspia"
	packageID      = "caspia-package"
	packageTitle   = "Caspia package"
	finalStatement = "final-statement"
	protocolTaken  = "protocol-ministerial" // the Protocol, taken up from working group 1 (escalate)
)

// newcomer is the delegate who joins Arden's delegation on day 40: a legal
// adviser, whose new desk reads nothing said before until Arden's head
// hands the history over.
var newcomer = Delegate{Key: "arden-adviser", Delegation: "arden", Person: "Pieter Ost", Role: "adviser", Level: "ministerial", Zone: "Europe/Vienna"}

// addDocument records a file written in d.Out.
func (d *Demo) addDocument(what, name string, data []byte) (string, error) {
	p := filepath.Join(d.Out, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return "", fmt.Errorf("failed to write %s: %w", p, err)
	}
	d.Documents = append(d.Documents, Document{What: what, Path: p})
	return p, nil
}

// protocolFromWord writes the Protocol as Borealia's expert drafted it in
// Word (numbered paragraphs, the alternatives in square brackets) and
// imports it as desk import does: it returns the file and the payload that
// tables the text, its brackets attributed to Borealia, which tables it.
func (d *Demo) protocolFromWord() (string, []byte, error) {
	draft := &docx.Document{Title: "Protocol on the ceasefire line", Author: "Iryna Holt (Borealia)", Blocks: []docx.Block{
		{Numbered: true, Runs: []docx.Run{{Text: "The line of contact is as shown on the map annexed to this Protocol."}}},
		{Numbered: true, Runs: []docx.Run{{Text: "Monitors report "}, {Text: "[weekly] [monthly]", Bold: true}, {Text: " to both Parties."}}},
	}}
	data, err := docx.Write(draft)
	if err != nil {
		return "", nil, err
	}
	p, err := d.addDocument("Borealia's Protocol, drafted in Word and tabled with desk import", "protocol.docx", data)
	if err != nil {
		return "", nil, err
	}
	im, err := docx.Import(data)
	if err != nil {
		return "", nil, fmt.Errorf("demo: cannot import %s: %w", p, err)
	}
	if len(im.Issues) > 0 {
		return "", nil, fmt.Errorf("demo: internal error: importing %s: %v", p, im.Issues)
	}
	return p, negotiation.NewTableText(negotiation.TableText{
		ID: "protocol", Title: im.Title, Item: "ceasefire", Level: negotiation.LevelExpert, Language: "en", Paragraphs: im.Paragraphs,
	}), nil
}

// retry runs f until it succeeds, bringing every desk up to date between
// attempts when another desk's commit took the epoch first.
func (d *Demo) retry(ctx context.Context, what string, f func() error) error {
	var err error
	for attempt := range 5 {
		if err = f(); err == nil {
			return d.syncAll(ctx)
		}
		if !errors.Is(err, desk.ErrEpochTaken) && !errors.Is(err, desk.ErrNoGroup) {
			break
		}
		d.log.Debug("retrying", "what", what, "attempt", attempt, "err", err)
		if err := d.syncAll(ctx); err != nil {
			return err
		}
	}
	return fmt.Errorf("demo: %s: %w", what, err)
}

// act sends a negotiation event from a delegate's desk after the engine
// has played it (desk.SendEvent refuses, sending nothing, what the rules
// refuse) and brings every desk up to date.
func (d *Demo) act(ctx context.Context, who, ch string, payload []byte) error {
	dl := d.Delegate(who)
	if dl == nil {
		return fmt.Errorf("demo: internal error: no delegate %q", who)
	}
	return d.retry(ctx, fmt.Sprintf("%s in %s", dl.Person, ch), func() error {
		_, err := dl.Desk.SendEvent(ctx, ch, host, payload)
		return err
	})
}

// handOver plays day 40: Arden's legal adviser joins with a new device,
// whose desk cannot read what was said before; Arden's head decides the
// policy (all of working group 1's and the ministerial channel's history)
// and hands the keys over; the new desk fetches the logged messages
// itself, checks them and replays the talks. The other channels stay
// unread before his arrival, and his desk says so.
func (d *Demo) handOver(ctx context.Context, wg string) error {
	d.progress("playing the scenario: day 40, Arden's legal adviser Pieter Ost joins with a new desk, which reads nothing said before")
	dl := newcomer
	if err := d.newDesk(ctx, filepath.Join(d.dir, "desks", dl.Key), &dl); err != nil {
		return fmt.Errorf("failed to set up the desk of %s: %w", dl.Person, err)
	}
	d.Delegates = append(d.Delegates, &dl)
	if err := d.syncAll(ctx); err != nil {
		return err
	}
	if err := confirmParties(ctx, &dl); err != nil {
		return err
	}
	if err := d.syncAll(ctx); err != nil {
		return err
	}
	if un, err := dl.Desk.Unreadable(ctx, wg); err != nil || len(un) == 0 {
		return fmt.Errorf("demo: internal error: before any hand-over, the new desk's unreadable entries of %s are %v (%v)", wg, un, err)
	}
	d.progress("playing the scenario: Arden's head, Ilse Marven, hands him the whole history of working group 1 and of the ministerial channel (policy: all); the other channels stay unread before his arrival")
	head := d.Delegate("arden-head")
	for _, ch := range []string{wg, ministerial} {
		rep, err := head.Desk.Handover(ctx, ch, dl.Desk.DeviceID(), desk.HandoverPolicy{Mode: desk.HandoverAll})
		if err != nil {
			return err
		}
		if err := d.syncAll(ctx); err != nil {
			return err
		}
		if un, err := dl.Desk.Unreadable(ctx, ch); err != nil || len(un) != 0 {
			return fmt.Errorf("demo: after a hand-over of %d messages, the new desk still cannot read %v of %s (%v)", rep.Messages, un, ch, err)
		}
	}
	return nil
}

// The Caspia package in French, the second authentic language.
var (
	finalParagraphs = []string{
		"The Parties reaffirm their commitment to a negotiated settlement.",
		"The Parties agree to a complete cessation of hostilities from the date of signature.",
		"The Parties agree to withdraw heavy weapons 20 km from the line of contact.",
		"The Parties request the Republic of Caspia to continue to provide its good offices as a venue for further talks at all levels.",
	}
	finalFrench = negotiation.Language{Lang: "fr", Title: "Déclaration commune", Paragraphs: []string{
		"Les Parties réaffirment leur attachement à un règlement négocié.",
		"Les Parties conviennent d'une cessation complète des hostilités à compter de la date de la signature.",
		"Les Parties conviennent de retirer les armes lourdes à 20 km de la ligne de contact.",
		"Les Parties prient la République de Caspia de continuer à offrir ses bons offices en tant que lieu de nouvelles négociations à tous les niveaux.",
	}}
	protocolFrench = negotiation.Language{Lang: "fr", Title: "Protocole sur la ligne de cessez-le-feu", Paragraphs: []string{
		"La ligne de contact est celle qui figure sur la carte annexée au présent Protocole.",
		"Les observateurs font rapport chaque mois aux deux Parties.",
	}}
)

// adoptPackage plays the ministers' end of the case in the ministerial
// channel: they settle the Protocol taken up from working group 1 (monthly
// reports), table the Joint Statement in its final wording, agree every
// paragraph of both; Arden's legal adviser submits both in French and
// Borealia's head confirms the concordance; Arden's head adopts both as one
// package in English and French; each head has the delegation's root key
// sign the package's digest once; Borealia's desk exports the signed
// package with the venue's evidence, which the demo checks as 'goodoffices
// verify' does, with every key pinned.
func (d *Demo) adoptPackage(ctx context.Context) error {
	const ch = ministerial
	ilse, oleh := d.Delegate("arden-head"), d.Delegate("borealia-head")
	d.progress("playing the scenario: the ministers settle the Protocol (monthly reports) and table the Joint Statement in its final wording; working group 1's draft stays open for you to negotiate")
	st, err := ilse.Desk.Talks(ctx, ch, host)
	if err != nil {
		return err
	}
	t := st.Text(protocolTaken)
	if t == nil || len(t.Paragraphs) != 2 {
		return fmt.Errorf("demo: internal error: the ministerial channel has no two-paragraph %s", protocolTaken)
	}
	p2 := t.Paragraphs[1]
	if err := d.act(ctx, "arden-head", ch, negotiation.NewProposal(protocolTaken, negotiation.Amendment{
		Op: negotiation.OpRemoveBrackets, Para: p2.ID, Base: p2.Version, Path: []int{1}, Option: 1,
	})); err != nil {
		return err
	}
	if st, err = oleh.Desk.Talks(ctx, ch, host); err != nil {
		return err
	}
	i := slices.IndexFunc(st.Proposals, func(p *negotiation.Proposal) bool {
		return p.Text == protocolTaken && p.Status == negotiation.ProposalOpen
	})
	if i < 0 {
		return fmt.Errorf("demo: internal error: Arden's proposal on %s is not open", protocolTaken)
	}
	if err := d.act(ctx, "borealia-head", ch, negotiation.NewResponse(st.Proposals[i].ID, negotiation.Accept, "monitors' reports monthly, as Borealia said in working group 1")); err != nil {
		return err
	}
	if err := d.act(ctx, "arden-head", ch, negotiation.NewTableText(negotiation.TableText{
		ID: finalStatement, Title: "Joint Statement", Level: negotiation.LevelMinisterial, Language: "en", Paragraphs: finalParagraphs,
	})); err != nil {
		return err
	}
	for _, who := range []string{"arden-head", "borealia-head"} {
		if err := d.agreeAll(ctx, who, ch, protocolTaken, finalStatement); err != nil {
			return err
		}
	}
	d.progress("playing the scenario: Arden's legal adviser submits both texts in French; Borealia's head confirms the concordance of every paragraph")
	adviser := d.Delegate(newcomer.Key)
	for _, x := range []struct {
		text string
		lang negotiation.Language
	}{{finalStatement, finalFrench}, {protocolTaken, protocolFrench}} {
		if err := d.retry(ctx, "the French "+x.text, func() error {
			_, err := adviser.Desk.Translate(ctx, ch, host, x.text, []negotiation.Language{x.lang})
			return err
		}); err != nil {
			return err
		}
		if err := d.retry(ctx, "the concordance of "+x.text, func() error {
			_, _, err := oleh.Desk.Concord(ctx, ch, host, x.text, "fr", nil)
			return err
		}); err != nil {
			return err
		}
	}
	d.progress("playing the scenario: Arden's head adopts the Caspia package (Joint Statement and Protocol, English and French); both root keys sign it once")
	if err := d.retry(ctx, "the adoption of the package", func() error {
		_, _, err := ilse.Desk.AdoptPackage(ctx, ch, host, packageID, packageTitle, []string{finalStatement, protocolTaken}, nil)
		return err
	}); err != nil {
		return err
	}
	for _, dl := range []*Delegate{ilse, oleh} {
		// The head takes the signing request to the air-gapped machine
		// holding the root key ('goodoffices delegation sign-outcome')
		// and posts the signature it returns.
		req, err := dl.Desk.SigningRequest(ctx, ch, host, finalStatement)
		if err != nil {
			return err
		}
		root := d.roots[dl.Delegation]
		sf, err := outcome.SignRequest(req, root.Name, root.Signer().Sign)
		if err != nil {
			return err
		}
		if err := d.retry(ctx, "the signature of "+dl.Delegation, func() error {
			_, err := dl.Desk.PostSignature(ctx, host, sf)
			return err
		}); err != nil {
			return err
		}
	}
	b, err := oleh.Desk.ExportOutcome(ctx, ch, host, protocolTaken)
	if err != nil {
		return err
	}
	data := b.Marshal()
	d.VerifyArgs = []string{"verify"}
	pins := outcome.Pins{}
	for _, name := range []string{"arden", "borealia"} {
		fp := delegation.Fingerprint(d.roots[name].VerifierKey())
		pins[name] = fp
		d.VerifyArgs = append(d.VerifyArgs, "--pin", name+"="+fp)
	}
	r, err := outcome.Verify(data, outcome.Options{Pins: pins, VenueKey: d.Venue.VerifierKey(), RequireEvidence: true})
	if err != nil {
		return fmt.Errorf("demo: the signed package does not verify: %w", err)
	}
	if d.PackageFile, err = d.addDocument("the signed Caspia package (2 documents, en and fr), with the venue's evidence", packageID+".outcome.json", data); err != nil {
		return err
	}
	pdf, err := b.PDF(r, outcome.PDFOptions{})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if _, err := d.addDocument("the Caspia package as PDF, as desk outcome --pdf renders it (the proof is the bundle)", packageID+".pdf", pdf); err != nil {
		return err
	}
	d.VerifyArgs = append(d.VerifyArgs, "--venue-key", d.Venue.VerifierKey(), "--require-evidence", d.PackageFile)
	return nil
}

// agreeAll has who take the position agree on every paragraph of texts
// that its delegation does not agree with yet.
func (d *Demo) agreeAll(ctx context.Context, who, ch string, texts ...string) error {
	dl := d.Delegate(who)
	st, err := dl.Desk.Talks(ctx, ch, host)
	if err != nil {
		return err
	}
	for _, id := range texts {
		t := st.Text(id)
		if t == nil {
			return fmt.Errorf("demo: internal error: no text %s in %s", id, ch)
		}
		for _, p := range t.Paragraphs {
			if slices.ContainsFunc(p.Positions, func(x negotiation.Position) bool {
				return x.Party == dl.Delegation && x.Stance == negotiation.Agree && x.Version == p.Version
			}) {
				continue
			}
			if err := d.act(ctx, who, ch, negotiation.NewPosition(id, p.ID, p.Version, negotiation.Agree, "")); err != nil {
				return err
			}
		}
	}
	return nil
}

// exportWord writes, as desk export does, working group 1's Joint
// Statement as it stands (brackets in each party's colour, positions as
// comments) and the adopted Joint Statement's French version with its
// signature page.
func (d *Demo) exportWord(ctx context.Context, wg, text string) error {
	d.progress("writing Word documents: working group 1's Joint Statement as it stands, and the adopted one in French")
	st, err := d.Delegate("arden-expert").Desk.OutcomeTalks(ctx, wg, host)
	if err != nil {
		return err
	}
	b, err := docx.Export(st, text, docx.ExportOptions{})
	if err != nil {
		return err
	}
	if _, err := d.addDocument("working group 1's Joint Statement as it stands, as Word (desk export --docx)", text+".docx", b); err != nil {
		return err
	}
	if st, err = d.Delegate("arden-head").Desk.OutcomeTalks(ctx, ministerial, host); err != nil {
		return err
	}
	if b, err = docx.Export(st, finalStatement, docx.ExportOptions{Lang: "fr"}); err != nil {
		return err
	}
	_, err = d.addDocument("the adopted Joint Statement in French, with its signature page, as Word", finalStatement+".fr.docx", b)
	return err
}
