package desk

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/mls"
	"github.com/good-offices/goodoffices/negotiation"
	"github.com/good-offices/goodoffices/outcome"
	"github.com/good-offices/goodoffices/tlog"
	"github.com/good-offices/goodoffices/venue/client"
)

// The scenario of ../shared/scenario.md, move by move, through real desks
// and a real venue (SQLite), ending in the Joint Statement adopted in
// English, French and Russian, signed by both delegations' root keys with
// the real binary's 'delegation sign-outcome' from exported signing
// requests, the bundle exported with the venue's evidence and checked by
// the real binary's 'goodoffices verify' — and refused after any one-byte
// change.

var scenarioTranslations = []negotiation.Language{
	{Lang: "fr", Title: "Déclaration commune", Paragraphs: []string{
		"Les Parties réaffirment leur attachement à un règlement négocié.",
		"Les Parties conviennent d'une cessation complète des hostilités à compter de la date de signature.",
		"Les Parties conviennent de retirer les armes lourdes à 20 km de la ligne de contact.",
		"Les Parties prient la République de Caspia de continuer à offrir ses bons offices en tant que lieu de nouvelles négociations à tous les niveaux.",
	}},
	{Lang: "ru", Title: "Совместное заявление", Paragraphs: []string{
		"Стороны подтверждают свою приверженность урегулированию путём переговоров.",
		"Стороны договариваются о полном прекращении боевых действий с даты подписания.",
		"Стороны договариваются об отводе тяжёлых вооружений на 20 км от линии соприкосновения.",
		"Стороны просят Республику Каспия продолжать предоставлять свои добрые услуги в качестве места проведения дальнейших переговоров на всех уровнях.",
	}},
}

var scenarioFinal = []string{
	"The Parties reaffirm their commitment to a negotiated settlement.",
	"The Parties agree to a complete cessation of hostilities from the date of signature.",
	"The Parties agree to withdraw heavy weapons 20 km from the line of contact.",
	"The Parties request the Republic of Caspia to continue to provide its good offices as a venue for further talks at all levels.",
}

// talksRun is working group 1 as the desks see it.
type talksRun struct {
	t     *testing.T
	desks []*Desk
}

// act sends payload from d, syncs every desk, checks that every desk
// computes the same state and that the event had the result want, and
// returns the state.
func (r *talksRun) act(d *Desk, payload []byte, want negotiation.Result) (*negotiation.State, negotiation.Record) {
	r.t.Helper()
	if _, err := d.Send(r.t.Context(), "wg1", payload); err != nil {
		r.t.Fatal(err)
	}
	return r.check(want)
}

func (r *talksRun) check(want negotiation.Result) (*negotiation.State, negotiation.Record) {
	r.t.Helper()
	syncAll(r.t, r.desks...)
	var first *negotiation.State
	for _, d := range r.desks {
		st, err := d.OutcomeTalks(r.t.Context(), "wg1", "")
		if err != nil {
			r.t.Fatal(err)
		}
		if first == nil {
			first = st
		} else if !bytes.Equal(st.Canonical(), first.Canonical()) {
			r.t.Fatalf("%s computes another state than %s", d.Profile().Person, r.desks[0].Profile().Person)
		}
	}
	rec := first.Log[len(first.Log)-1]
	if rec.Result != want {
		r.t.Fatalf("%s: %s (%s), want %s", rec.Type, rec.Result, rec.Reason, want)
	}
	return first, rec
}

func runBin(t *testing.T, bin string, env []string, want int, args ...string) (string, string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != want {
		t.Fatalf("goodoffices %s: exit %d, want %d\n%s\n%s", strings.Join(args, " "), code, want, stdout.String(), stderr.String())
	}
	return stdout.String(), stderr.String()
}

func TestScenarioOutcome(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and plays the whole scenario")
	}
	bin := filepath.Join(t.TempDir(), "goodoffices")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/good-offices/goodoffices/cmd/goodoffices").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx := t.Context()
	tv := startVenue(t)

	// Move 1: the host accredits both delegations (and itself); every desk
	// compares the root-key fingerprints out of band (confirmAll).
	caspia, arden, borealia := tv.accredit("caspia"), tv.accredit("arden"), tv.accredit("borealia")
	dana := tv.newDesk(caspia, "Dana Seitkali")
	tomas := tv.newDesk(arden, "Tomas Reig")
	ilse := tv.newDesk(arden, "Ilse Marven")
	iryna := tv.newDesk(borealia, "Iryna Holt")
	oleh := tv.newDesk(borealia, "Oleh Varta")
	all := []*Desk{dana, tomas, ilse, iryna, oleh}
	for _, d := range all {
		confirmAll(t, d)
	}

	// Move 2: the host opens the plenary, the working group and the
	// logistics channel.
	for _, spec := range []client.ChannelSpec{
		{ID: "plenary", Kind: "plenary", Level: "expert", Members: []string{"arden", "borealia"}},
		{ID: "wg1", Kind: "working-group", Level: "expert", Members: []string{"arden", "borealia"}},
		{ID: "logistics", Kind: "logistics", Level: "expert", Members: []string{"caspia", "arden", "borealia"}},
	} {
		if _, err := tv.admin.CreateChannel(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := dana.Say(ctx, "logistics", "caspia", "Expert round: Room A, 09:30-12:30 Almaty time, interpretation EN/RU.", "", "", ""); err != nil {
		t.Fatal(err)
	}
	syncAll(t, all...)
	if got := texts(t, oleh, "logistics"); len(got) != 1 || !strings.Contains(got[0], "Room A") {
		t.Fatalf("logistics reads %q", got)
	}
	// The talks run on the post-quantum suite, the default.
	for _, d := range all {
		if si, err := d.ChannelSuite(ctx, "logistics"); err != nil || si.ID != 0x0053 || !si.PostQuantum {
			t.Fatalf("%s: logistics on %+v (%v), want X-Wing 0x0053", d.Profile().Person, si, err)
		}
	}

	r := &talksRun{t: t, desks: []*Desk{tomas, ilse, iryna, oleh}}
	for _, it := range [][2]string{{"ceasefire", "Ceasefire and separation of forces"}, {"humanitarian", "Humanitarian questions"}} {
		r.act(tomas, negotiation.NewAddItem(it[0], it[1], ""), negotiation.ResultApplied)
	}
	st, _ := r.act(tomas, negotiation.NewTableText(negotiation.TableText{
		ID: "joint-statement", Title: "Joint Statement", Item: "ceasefire", Level: negotiation.LevelExpert, Language: "en",
		Paragraphs: []string{
			"The Parties reaffirm their commitment to a negotiated settlement.",
			"The Parties agree to a [complete] [partial] cessation of hostilities from [00:00 on 1 December] [the date of signature].",
			"The Parties request the Republic of Caspia to continue to provide its good offices as a venue for further talks at all levels.",
		}}), negotiation.ResultApplied)
	if js := st.Text("joint-statement"); js == nil || js.Version != 1 || len(js.Paragraphs) != 3 || js.Package.Status != negotiation.PackageOpen {
		t.Fatalf("tabled: %+v", js)
	}

	// Move 3: Arden proposes "complete"; Borealia agrees ad referendum;
	// the date stays bracketed.
	_, rec := r.act(tomas, negotiation.NewProposal("joint-statement", negotiation.Amendment{Op: negotiation.OpRemoveBrackets, Para: "p2", Base: 1, Path: []int{1}, Option: 0}), negotiation.ResultApplied)
	a1 := rec.Ref
	st, _ = r.act(iryna, negotiation.NewResponse(a1, negotiation.AcceptAdReferendum, "subject to confirmation by the capital"), negotiation.ResultApplied)
	p2 := st.Text("joint-statement").Paragraph("p2")
	if st.Proposal(a1).Status != negotiation.ProposalAccepted || p2.Status != negotiation.ParaBracketed || !strings.Contains(p2.Text, "complete cessation") {
		t.Fatalf("after move 3: %s, p2 %s %q", st.Proposal(a1).Status, p2.Status, p2.Text)
	}
	// A position from a stale version is refused; state unchanged.
	before := st.Text("joint-statement").Version
	st, _ = r.act(iryna, negotiation.NewPosition("joint-statement", "p2", 1, negotiation.Reserve, ""), negotiation.ResultRejected)
	if st.Text("joint-statement").Version != before {
		t.Fatal("a refused position changed the text")
	}

	// Move 4: Borealia tables paragraph 3; Arden reserves, later proposes
	// "[20] km"; both agree.
	_, rec = r.act(iryna, negotiation.NewProposal("joint-statement", negotiation.Amendment{Op: negotiation.OpAddParagraph, After: "p2",
		Notation: "[The Parties agree to withdraw heavy weapons [15] [30] km from the line of contact.]"}), negotiation.ResultApplied)
	st, _ = r.act(tomas, negotiation.NewPosition("joint-statement", "p4", 1, negotiation.Reserve, "needs consultation with the general staff"), negotiation.ResultApplied)
	if p := st.Text("joint-statement").ParagraphByNumber(3); p.ID != "p4" || p.TabledBy != "borealia" || p.Status != negotiation.ParaReserved {
		t.Fatalf("paragraph 3: %s by %s, %s", p.ID, p.TabledBy, p.Status)
	}
	_, rec = r.act(iryna, negotiation.NewStatement("Borealia proposes a withdrawal of heavy weapons.", "", "joint-statement", "p4"), negotiation.ResultApplied)
	r.act(tomas, negotiation.NewStatement("Arden must consult its general staff.", rec.Ref, "", ""), negotiation.ResultApplied)
	r.act(tomas, negotiation.NewStatement("On paragraph 2, the date needs more work.", "", "joint-statement", "p2"), negotiation.ResultApplied)
	_, rec = r.act(tomas, negotiation.NewProposal("joint-statement", negotiation.Amendment{Op: negotiation.OpReplace, Para: "p4", Base: 1,
		Notation: "The Parties agree to withdraw heavy weapons [20] km from the line of contact."}), negotiation.ResultApplied)
	r.act(iryna, negotiation.NewResponse(rec.Ref, negotiation.Accept, ""), negotiation.ResultApplied)
	_, rec = r.act(iryna, negotiation.NewProposal("joint-statement", negotiation.Amendment{Op: negotiation.OpRemoveBrackets, Para: "p4", Base: 2, Path: []int{1}}), negotiation.ResultApplied)
	r.act(tomas, negotiation.NewResponse(rec.Ref, negotiation.Accept, ""), negotiation.ResultApplied)
	r.act(tomas, negotiation.NewPosition("joint-statement", "p4", 3, negotiation.Agree, ""), negotiation.ResultApplied)
	st, _ = r.act(iryna, negotiation.NewPosition("joint-statement", "p4", 3, negotiation.Agree, ""), negotiation.ResultApplied)
	if p := st.Text("joint-statement").Paragraph("p4"); p.Status != negotiation.ParaAgreed || p.Text != scenarioFinal[2] {
		t.Fatalf("p4 %s %q", p.Status, p.Text)
	}
	// The date, then positions on every paragraph; Borealia ad referendum.
	_, rec = r.act(tomas, negotiation.NewProposal("joint-statement", negotiation.Amendment{Op: negotiation.OpRemoveBrackets, Para: "p2", Base: 2, Path: []int{1}, Option: 1}), negotiation.ResultApplied)
	st, _ = r.act(iryna, negotiation.NewResponse(rec.Ref, negotiation.Accept, ""), negotiation.ResultApplied)
	for _, p := range []string{"p1", "p2", "p3"} {
		v := st.Text("joint-statement").Paragraph(p).Version
		r.act(tomas, negotiation.NewPosition("joint-statement", p, v, negotiation.Agree, ""), negotiation.ResultApplied)
		st, _ = r.act(iryna, negotiation.NewPosition("joint-statement", p, v, negotiation.AgreeAdReferendum, ""), negotiation.ResultApplied)
	}
	if st.Text("joint-statement").Package.Status != negotiation.PackageAgreedAdReferendum {
		t.Fatalf("package %s, want agreed ad referendum", st.Text("joint-statement").Package.Status)
	}
	// Nothing is adopted ad referendum.
	if _, _, err := tomas.Adopt(ctx, "wg1", "", "joint-statement", scenarioTranslations); err == nil {
		t.Fatal("adopted a text agreed only ad referendum")
	}

	// Move 5: both heads signal readiness for the leaders; Borealia's
	// capital confirms.
	r.act(ilse, negotiation.NewReadiness(negotiation.ScopeItem, "ceasefire", negotiation.LevelLeaders, ""), negotiation.ResultApplied)
	st, _ = r.act(oleh, negotiation.NewReadiness(negotiation.ScopeItem, "ceasefire", negotiation.LevelLeaders, "the capital confirms"), negotiation.ResultApplied)
	if !st.Readiness[0].Ready {
		t.Fatal("not ready with both heads' signals")
	}
	for _, p := range []string{"p1", "p2", "p3"} {
		st, _ = r.act(oleh, negotiation.NewPosition("joint-statement", p, st.Text("joint-statement").Paragraph(p).Version, negotiation.Agree, "confirmed by the capital"), negotiation.ResultApplied)
	}
	js := st.Text("joint-statement")
	if js.Package.Status != negotiation.PackageAgreed {
		t.Fatalf("package %s", js.Package.Status)
	}
	for i, p := range js.Paragraphs {
		if plain, _ := negotiation.PlainText(p.Segments); plain != scenarioFinal[i] {
			t.Fatalf("paragraph %d = %q", i+1, plain)
		}
	}

	// Move 6: adoption in English, French and Russian; a language version
	// with another number of paragraphs is refused before anything is sent.
	short := []negotiation.Language{{Lang: "fr", Title: "x", Paragraphs: []string{"x"}}}
	if _, _, err := tomas.Adopt(ctx, "wg1", "", "joint-statement", short); err == nil {
		t.Fatal("adopted a French version with one paragraph")
	}
	// Not before the French and Russian versions concord: Arden's
	// translators submit them, Borealia confirms each.
	if _, _, err := tomas.Adopt(ctx, "wg1", "", "joint-statement", scenarioTranslations); err == nil {
		t.Fatal("adopted in languages nobody submitted for concordance")
	}
	if _, err := tomas.Translate(ctx, "wg1", "", "joint-statement", scenarioTranslations); err != nil {
		t.Fatal(err)
	}
	st, _ = r.check(negotiation.ResultApplied)
	if _, _, err := tomas.Adopt(ctx, "wg1", "", "joint-statement", nil); err == nil || !strings.Contains(err.Error(), "not yet concordant") {
		t.Fatalf("adopted before Borealia confirmed the concordance: %v", err)
	}
	if _, _, err := tomas.Concord(ctx, "wg1", "", "joint-statement", "fr", nil); err == nil {
		t.Fatal("Arden confirmed its own submission twice")
	}
	for _, lang := range []string{"fr", "ru"} {
		if _, parts, err := iryna.Concord(ctx, "wg1", "", "joint-statement", lang, nil); err != nil || len(parts) != 5 { // the title and four paragraphs
			t.Fatalf("concord %s: %v %v", lang, parts, err)
		}
	}
	st, _ = r.check(negotiation.ResultApplied)
	if c := st.Concordance("joint-statement"); strings.Join(c.Concordant, ",") != "fr,ru" {
		t.Fatalf("concordant: %v", c.Concordant)
	}
	if _, _, err := tomas.Adopt(ctx, "wg1", "", "joint-statement", nil); err != nil {
		t.Fatal(err)
	}
	st, _ = r.check(negotiation.ResultApplied)
	if js := st.Text("joint-statement"); js.Status != negotiation.TextAdopting || len(js.Adoption.Languages) != 3 {
		t.Fatalf("after adoption: %s", js.Status)
	}

	// Each head takes the signing request to the root key's machine.
	dir := t.TempDir()
	roots := map[string]*delegation.RootKey{"arden": arden.root, "borealia": borealia.root}
	env := []string{"GOODOFFICES_PASSPHRASE=root secret of the head"}
	for _, d := range []*Desk{ilse, oleh} {
		del := d.Profile().Delegation
		req, err := d.SigningRequest(ctx, "wg1", "", "joint-statement")
		if err != nil {
			t.Fatal(err)
		}
		reqFile := filepath.Join(dir, del+".request.json")
		keyFile := filepath.Join(dir, del+".root")
		if err := os.WriteFile(reqFile, req.Marshal(), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := delegation.SaveRoot(keyFile, roots[del], []byte("root secret of the head")); err != nil {
			t.Fatal(err)
		}
		out, _ := runBin(t, bin, env, 0, "delegation", "sign-outcome", "--key", keyFile, reqFile)
		if !strings.Contains(out, "Совместное заявление") || !strings.Contains(out, "20 km") || !strings.Contains(out, "Signed for "+del) {
			t.Fatalf("sign-outcome says:\n%s", out)
		}
		// The other delegation's root key cannot sign for this one.
		other := map[string]string{"arden": "borealia", "borealia": "arden"}[del]
		sigFile := filepath.Join(dir, "joint-statement."+del+".signature.json")
		data, err := os.ReadFile(sigFile)
		if err != nil {
			t.Fatal(err)
		}
		sf, err := outcome.ParseSignatureFile(data)
		if err != nil {
			t.Fatal(err)
		}
		forged := *sf
		forged.Party = other
		if _, err := d.PostSignature(ctx, "", &forged); err == nil {
			t.Fatal("posted a signature for another delegation")
		}
		// A signature by a device key (not the root) is refused by the desk
		// and, sent raw, by every desk's engine.
		bad := *sf
		bad.Signature = outcome.Sign(d.key, mustDigest(t, req))
		if _, err := d.PostSignature(ctx, "", &bad); err == nil || !strings.Contains(err.Error(), "root key") {
			t.Fatalf("posted a signature by a device key: %v", err)
		}
		r.act(d, negotiation.NewSignature("joint-statement", mustDigest(t, req), bad.Signature), negotiation.ResultRejected)
		if _, err := d.PostSignature(ctx, "", sf); err != nil {
			t.Fatal(err)
		}
		st, _ = r.check(negotiation.ResultApplied)
	}
	if js := st.Text("joint-statement"); js.Status != negotiation.TextAdopted || len(js.Adoption.Signatures) != 2 {
		t.Fatalf("after signing: %s, %d signatures", js.Status, len(js.Adoption.Signatures))
	}
	// Let every desk cosign the latest checkpoint.
	syncAll(t, r.desks...)

	// The host cannot sign the outcome: it is not a party to wg1.
	b, err := tomas.ExportOutcome(ctx, "wg1", "", "joint-statement")
	if err != nil {
		t.Fatal(err)
	}
	if b.Evidence == nil || len(b.Evidence.Entries) != 3 {
		t.Fatalf("evidence: %+v", b.Evidence)
	}
	for _, e := range b.Evidence.Entries {
		if e.Disclosure == nil {
			t.Fatalf("entry %d of the evidence cannot be opened", e.Index)
		}
	}
	bundle := filepath.Join(dir, "joint-statement.outcome.json")
	data := b.Marshal()
	if err := os.WriteFile(bundle, data, 0o644); err != nil {
		t.Fatal(err)
	}
	pinArgs := []string{"verify", "--require-evidence", "--venue-key", tv.v.VerifierKey()}
	pins := outcome.Pins{}
	for _, p := range []*party{arden, borealia} {
		fp := delegation.Fingerprint(p.root.VerifierKey())
		pinArgs = append(pinArgs, "--pin", p.name+"="+fp)
		pins[p.name] = fp
	}
	out, _ := runBin(t, bin, nil, 0, append(pinArgs, bundle)...)
	for _, want := range []string{"VALID outcome", "en, fr, ru", "Federation of Arden", "PINNED", "cosigned by the desks of arden, borealia", "the signature of borealia", "Oleh Varta of borealia", "venue key PINNED", "decrypted with its message keys"} {
		if want == "Federation of Arden" {
			want = "arden (arden)" // party names are the delegation names in a desk's config
		}
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %q:\n%s", want, out)
		}
	}
	t.Logf("goodoffices verify:\n%s", out)

	// Any single-byte change fails verification (in process, every byte),
	// and the binary says ALARM and exits 3 (a sample of bytes).
	o := outcome.Options{Pins: pins, VenueKey: tv.v.VerifierKey(), RequireEvidence: true}
	if _, err := outcome.Verify(data, o); err != nil {
		t.Fatal(err)
	}
	buf := bytes.Clone(data)
	for i := range buf {
		buf[i] ^= 0x01
		if _, err := outcome.Verify(buf, o); err == nil {
			t.Fatalf("verified with byte %d changed", i)
		}
		buf[i] ^= 0x01
	}
	for _, i := range []int{0, len(data) / 3, len(data) / 2, len(data) - 2} {
		bad := bytes.Clone(data)
		bad[i] ^= 0x20
		f := filepath.Join(dir, "bad.json")
		os.WriteFile(f, bad, 0o644)
		_, errOut := runBin(t, bin, nil, 3, append(pinArgs, f)...)
		if !strings.Contains(errOut, "ALARM") {
			t.Fatalf("byte %d: %s", i, errOut)
		}
	}
	// A language version that differs from the signed digest.
	var tampered outcome.Bundle
	if err := json.Unmarshal(data, &tampered); err != nil {
		t.Fatal(err)
	}
	tampered.Languages[2].Paragraphs[2].Text = strings.Replace(tampered.Languages[2].Paragraphs[2].Text, "20", "30", 1)
	if _, err := outcome.Verify(tampered.Marshal(), o); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Fatalf("tampered Russian version: %v", err)
	}

	// Move 7: Arden briefs a third capital on paragraph 3 only: its
	// history in the channel, and the adopted paragraph.
	briefParagraph3(t, bin, tomas, pinArgs, o)
	br, err := b.Brief([]outcome.Ref{{Lang: "en", Number: 3}})
	if err != nil {
		t.Fatal(err)
	}
	brData := br.Marshal()
	rep, err := outcome.Verify(brData, o)
	if err != nil || len(rep.Disclosed) != 1 || rep.Disclosed[0].Text != scenarioFinal[2] {
		t.Fatalf("briefing: %v %+v", err, rep)
	}
	for _, other := range []string{scenarioFinal[0], scenarioFinal[1], scenarioFinal[3], "Déclaration"} {
		if bytes.Contains(brData, []byte(other)) {
			t.Fatalf("the briefing discloses %q", other)
		}
	}
}

// briefParagraph3 is move 7 with the channel's history: Arden shows a
// third capital the history of paragraph 3 (p4) and the statements about
// it, with proof, and nothing else.
func briefParagraph3(t *testing.T, bin string, tomas *Desk, pinArgs []string, o outcome.Options) {
	ctx := t.Context()
	idx, err := tomas.ParagraphHistory(ctx, "wg1", "", "joint-statement", "p4")
	if err != nil {
		t.Fatal(err)
	}
	cb, err := tomas.ExportBriefing(ctx, "wg1", idx)
	if err != nil {
		t.Fatal(err)
	}
	data := cb.Marshal()
	f := filepath.Join(t.TempDir(), "p3-history.briefing.json")
	if err := os.WriteFile(f, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := runBin(t, bin, nil, 0, append(pinArgs[:1:1], append(pinArgs[2:], f)...)...)
	for _, want := range []string{"VALID channel briefing", "Borealia proposes a withdrawal", "Arden must consult", "[20] km", "Iryna Holt of borealia", "cosigned by the desks of arden, borealia"} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "paragraph 2, the date") || strings.Contains(string(data), "00:00 on 1 December") {
		t.Errorf("the briefing shows more than paragraph 3:\n%s", out)
	}
	t.Logf("goodoffices verify (briefing):\n%s", out)
	rep, err := outcome.Verify(data, o)
	if err != nil || len(rep.Messages) != len(idx) {
		t.Fatalf("briefing: %v", err)
	}
	// Every other message of the channel stays undecryptable with what
	// the briefing holds; its own open.
	ls, err := tomas.logState(ctx, tomas.store, "wg1")
	if err != nil {
		t.Fatal(err)
	}
	cp, err := tlog.ParseCheckpoint(checkpointBody(ls.Checkpoint))
	if err != nil {
		t.Fatal(err)
	}
	vv, _ := note.NewVerifier(tomas.venue.VerifierKey)
	all, err := tlog.NewClient(tomas.origin("wg1"), vv, tomas.api.fetcher("wg1")).Entries(ctx, cp, 0, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	opened := 0
	for i, e := range all {
		for _, m := range cb.Messages {
			d, err := mls.ParseDisclosure(m.Disclosure)
			if err != nil {
				t.Fatal(err)
			}
			_, err = mls.OpenDisclosed(e, d)
			if (err == nil) != (int64(i) == m.Index) {
				t.Fatalf("disclosure of entry %d on entry %d: %v", m.Index, i, err)
			}
			if err == nil {
				opened++
			}
		}
	}
	if opened != len(cb.Messages) || len(all) < 3*len(cb.Messages) {
		t.Fatalf("opened %d of %d entries with %d disclosures", opened, len(all), len(cb.Messages))
	}
	// Any single-byte change fails.
	buf := bytes.Clone(data)
	for i := range buf {
		buf[i] ^= 0x01
		if _, err := outcome.Verify(buf, o); err == nil {
			t.Fatalf("briefing verified with byte %d changed", i)
		}
		buf[i] ^= 0x01
	}
}

func mustDigest(t *testing.T, r *outcome.SigningRequest) []byte {
	d, err := r.DigestBytes()
	if err != nil {
		t.Fatal(err)
	}
	return d
}
