package demo

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/desk"
	"github.com/good-offices/goodoffices/internal/docx"
	"github.com/good-offices/goodoffices/outcome"
	"github.com/good-offices/goodoffices/proof"
	"github.com/good-offices/goodoffices/web/deskui"
	"github.com/good-offices/goodoffices/web/i18n"
)

// chromium finds Debian's chromium. Without it the browser test skips on a
// laptop and fails in CI (env CI set).
func chromium(t *testing.T) string {
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is missing (apt-get install -y chromium); the browser tests must run in CI")
	}
	t.Skip("chromium not installed; skipping the browser test")
	return ""
}

// shots is where screenshots go: docs/screenshots with SCREENSHOTS=1,
// else a temporary directory.
func shots(t *testing.T) string {
	if os.Getenv("SCREENSHOTS") != "" {
		dir := filepath.Join("..", "..", "docs", "screenshots")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

func browser(t *testing.T, ctx context.Context, path string) context.Context {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancel)
	bctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("failed to start chromium: %v", err)
	}
	return bctx
}

// waitText polls the text of sel until it contains want.
func waitText(t *testing.T, ctx context.Context, sel, want string, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	var got string
	for time.Now().Before(deadline) {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		txt, err := chromedp.Run(cctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
		cancel()
		if err == nil {
			got = txt
		}
		if err == nil && strings.Contains(got, want) {
			return got
		}
		time.Sleep(300 * time.Millisecond)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	where, _ := chromedp.Run(cctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText.slice(0, 1500)`))
	t.Fatalf("%s: %q never appeared; last text: %q\npage: %s", sel, want, got, where)
	return ""
}

func shot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	buf, err := chromedp.Run(cctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(cctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// unlabelled fails the test if a form control of the page has no label.
func unlabelled(t *testing.T, ctx context.Context) {
	t.Helper()
	js := `Array.from(document.querySelectorAll("input:not([type=hidden]), select, textarea")).filter(e => e.labels.length === 0 && !e.getAttribute("aria-label")).map(e => e.id || e.name).join(",")`
	if got := eval[string](t, ctx, js); got != "" {
		t.Errorf("form controls without a label: %s", got)
	}
	if lang := eval[string](t, ctx, "document.documentElement.lang"); lang == "" {
		t.Error("the page has no lang")
	}
}

func httpGet(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", u, resp.Status)
	}
	return string(b)
}

// untilText reloads url, asking the desk to check the venue (the trust
// panel's button) when the page has it, until sel contains want.
func untilText(t *testing.T, ctx context.Context, url, sel, want string, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	var got string
	for time.Now().Before(deadline) {
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		chromedp.Do(cctx, chromedp.Navigate(url))
		chromedp.Do(cctx, chromedp.Evaluate[chromedp.Void](`(b => b && b.click())(document.getElementById("check-now"))`))
		chromedp.Do(cctx, chromedp.WaitVisible(chromedp.CSS("main h1")))
		txt, err := chromedp.Run(cctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
		cancel()
		if err == nil {
			got = txt
			if strings.Contains(got, want) {
				return got
			}
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("%s on %s: %q never appeared; last text: %q", sel, url, want, got)
	return ""
}

func run(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(cctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// TestBrowser drives headless Chromium against the real demo: a venue and
// five desks with MLS channels, their UIs on loopback. Arden's expert and
// Borealia's expert each have a tab.
func TestBrowser(t *testing.T) {
	chrome := chromium(t)
	dir := shots(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logger *slog.Logger
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	} else {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	d, err := Start(ctx, Config{Dir: t.TempDir(), Logger: logger, Progress: func(s string) { t.Log(s) }})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- d.Serve(ctx) }()
	defer func() {
		cancel()
		<-served
		d.Close()
	}()

	b := browser(t, ctx, chrome)
	arden := b
	borealia, cancelB := chromedp.NewContext(b)
	defer cancelB()
	if err := chromedp.Do(borealia); err != nil { // opens the tab for the test's lifetime
		t.Fatal(err)
	}
	tomas, iryna := d.Delegate("arden-expert"), d.Delegate("borealia-expert")

	// A used or missing token opens nothing.
	login := tomas.UI.LoginURL()
	run(t, arden, chromedp.Navigate(login))
	waitText(t, arden, "main h1", "Talks on the settlement", 20*time.Second)
	run(t, borealia, chromedp.Navigate(login))
	body := eval[string](t, borealia, "document.body.innerText")
	if !strings.Contains(body, "invalid or was used") {
		t.Fatalf("a used login link opened a session: %q", body)
	}
	// The sign-in page is styled like the others and says how to get a
	// new link.
	if !strings.Contains(body, "type links and press Enter") || eval[int](t, borealia, `document.querySelectorAll("link[rel=stylesheet]").length`) != 1 ||
		eval[string](t, borealia, `getComputedStyle(document.querySelector(".signin")).maxWidth`) == "none" {
		t.Errorf("the sign-in page after a used link is not the styled page with advice: %q", body)
	}
	shot(t, borealia, dir, "desk-signin.png")

	// Both delegates read the Joint Statement: brackets and positions.
	run(t, arden, chromedp.Navigate(tomas.UI.URL()+"/texts/joint-statement"))
	p3 := waitText(t, arden, "#p4", "[15] [30]", 20*time.Second)
	if !strings.Contains(p3, "needs consultation with the general staff") {
		t.Errorf("paragraph 3 lacks Arden's position: %q", p3)
	}
	chips := eval[int](t, arden, `document.querySelectorAll("#p4 .opt.party-1").length`)
	if chips != 3 {
		t.Errorf("paragraph 3 has %d options coloured as Borealia's, want 3", chips)
	}
	shot(t, arden, dir, "desk-text.png")
	unlabelled(t, arden)
	// Keyboard: the first Tab reaches the skip link.
	run(t, arden, chromedp.KeyEvent("\t"))
	if got := eval[string](t, arden, "document.activeElement.className"); got != "skip" {
		t.Errorf("the first Tab focuses %q, want the skip link", got)
	}

	run(t, borealia, chromedp.Navigate(iryna.UI.LoginURL()+"&next=/texts/joint-statement"))
	waitText(t, borealia, "#p4", "general staff", 20*time.Second)

	// Arden takes a position through the UI; Borealia sees it live.
	run(t, arden,
		chromedp.Click(chromedp.CSS(`#p4 details.act:first-of-type summary`)),
		chromedp.SetValue(chromedp.CSS(`#stance-p4`), "object"),
		chromedp.SendKeys(chromedp.CSS(`#pnote-p4`), "15 km is not acceptable to Arden"),
		chromedp.Click(chromedp.CSS(`#take-p4`)),
	)
	waitText(t, arden, ".flash", "Your position on paragraph 3: object", 60*time.Second)
	waitText(t, arden, "#p4", "15 km is not acceptable", 10*time.Second)
	waitText(t, borealia, "#p4", "15 km is not acceptable", 90*time.Second)

	// The package dashboard shows who blocks what.
	run(t, borealia, chromedp.Navigate(iryna.UI.URL()+"/texts/joint-statement/package"))
	row := waitText(t, borealia, "#row-p4", "object", 20*time.Second)
	if !strings.Contains(strings.ToLower(row), "objected") {
		t.Errorf("package row of paragraph 3: %q", row)
	}
	fits(t, borealia, "desk package dashboard at 1280 px")
	shot(t, borealia, dir, "desk-package.png")

	// Arden proposes an amendment; Borealia sees it live and accepts it.
	run(t, arden, chromedp.Navigate(tomas.UI.URL()+"/texts/joint-statement"),
		chromedp.WaitVisible(chromedp.CSS(`#p4`)),
		chromedp.Click(chromedp.CSS(`#p4 details.act:last-of-type summary`)),
		chromedp.SetValue(chromedp.CSS(`#notation-p4`), "[The Parties agree to withdraw heavy weapons [20]{arden} km from the line of contact.]{borealia}"),
		chromedp.Click(chromedp.CSS(`#p4 form.stack button[type=submit]`)),
	)
	waitText(t, arden, ".flash", "Amendment to paragraph 3 proposed", 60*time.Second)
	run(t, arden, chromedp.Navigate(tomas.UI.URL()+"/texts/joint-statement/package"))
	waitText(t, arden, "#row-p4", "[15]", 20*time.Second)
	run(t, borealia, chromedp.Navigate(iryna.UI.URL()+"/texts/joint-statement"))
	waitText(t, borealia, "#prop-A3", "[20]", 90*time.Second)
	run(t, borealia, chromedp.Click(chromedp.CSS(`#prop-A3 button[value=accept]`)))
	waitText(t, borealia, ".flash", "Answer to A3 sent", 60*time.Second)
	waitText(t, borealia, "#p4", "[20] km", 20*time.Second)
	// Arden's package dashboard changes live: the new wording, positions
	// cleared.
	row = waitText(t, arden, "#row-p4", "[20] km", 90*time.Second)
	if strings.Contains(row, "object") {
		t.Errorf("the new wording kept the old position: %q", row)
	}

	// Arden posts a message in the working group; Borealia reads it.
	run(t, arden, chromedp.Navigate(tomas.UI.URL()+"/channels/wg1-ceasefire"),
		chromedp.SendKeys(chromedp.CSS("#body"), "Arden can accept 20 km if paragraph 2 says the date of signature."),
		chromedp.Submit(chromedp.CSS("#body")))
	waitText(t, arden, ".flash", "Sent", 60*time.Second)
	run(t, borealia, chromedp.Navigate(iryna.UI.URL()+"/channels/wg1-ceasefire"))
	msgs := waitText(t, borealia, "ul.msgs", "Arden can accept 20 km", 90*time.Second)
	for _, jargon := range []string{"skipped:", "epoch", "#0 ", "consent_interpreter", "translate ", "concord "} {
		if strings.Contains(msgs, jargon) {
			t.Errorf("the channel page says %q", jargon)
		}
	}
	if !strings.Contains(msgs, "Added to the channel:") && !strings.Contains(msgs, "before this desk joined the channel") {
		t.Errorf("the channel page does not say in words who joined: %q", msgs)
	}
	// The host's interpreter, admitted by both parties, rendered Borealia's
	// statement into Russian: the interpretation names the statement it
	// renders, and the statement links to it.
	interp := waitText(t, borealia, "ul.msgs .interpretation", "interpretation of S", 20*time.Second)
	if !strings.Contains(interp, "into ru") {
		t.Errorf("the interpretation does not say its language: %q", interp)
	}
	waitText(t, borealia, "ul.msgs .interpretations", "(ru)", 20*time.Second)
	if n := eval[int](t, borealia, `document.querySelectorAll("ul.msgs p.body[lang=ru]").length`); n != 1 {
		t.Errorf("%d interpretation bodies marked lang=ru, want 1", n)
	}
	shot(t, borealia, dir, "desk-channel.png")
	// The changes of the Joint Statement: brackets as on the text page,
	// whole words.
	run(t, borealia, chromedp.Navigate(iryna.UI.URL()+"/texts/joint-statement/diff?from=1&to=2"))
	diff := waitText(t, borealia, "ol.diff", "km", 20*time.Second)
	if strings.Contains(diff, "{borealia}") || strings.Contains(diff, "{arden}") {
		t.Errorf("the diff page shows raw bracket notation: %q", diff)
	}
	if n := eval[int](t, borealia, `document.querySelectorAll("ol.diff .br.party-1").length`); n == 0 {
		t.Error("the diff page does not colour brackets by party")
	}
	shot(t, borealia, dir, "desk-diff.png")
	// The concordance table: the French version beside the English, per
	// paragraph, with who confirmed it.
	run(t, borealia, chromedp.Navigate(iryna.UI.URL()+"/texts/joint-statement/concordance"))
	if txt := waitText(t, borealia, "table.concordance", "Les Parties réaffirment", 20*time.Second); !strings.Contains(txt, "FR") {
		t.Errorf("the concordance table has no French column: %q", txt)
	}
	shot(t, borealia, dir, "desk-concordance.png")
	// Day 40: Arden's new adviser reads working group 1's history, handed
	// over by his head of delegation, each message marked; the plenary,
	// which was not handed over, names the entries his desk cannot read.
	pieter := d.Delegate(newcomer.Key)
	run(t, arden, chromedp.Navigate(pieter.UI.LoginURL()+"&next=/channels/wg1-ceasefire"))
	waitText(t, arden, "ul.msgs .badge-handover", "handed over by Ilse Marven", 20*time.Second)
	if n := eval[int](t, arden, `document.querySelectorAll("ul.msgs .msg .badge-handover").length`); n < 10 {
		t.Errorf("%d messages of working group 1 marked as handed over on the new adviser's desk", n)
	}
	if n := eval[int](t, arden, `document.querySelectorAll("#unreadable").length`); n != 0 {
		t.Error("the new adviser's desk names unreadable entries of working group 1 after the whole history was handed over")
	}
	run(t, arden, chromedp.Evaluate[chromedp.Void](`document.querySelector("ul.msgs .badge-handover").scrollIntoView({block: "center"})`))
	shot(t, arden, dir, "desk-handover.png")
	run(t, arden, chromedp.Navigate(pieter.UI.URL()+"/channels/plenary"))
	waitText(t, arden, "#unreadable", "no hand-over opened", 20*time.Second)
	// The read mark lives in the desk: a new UI over the same desk (as
	// after a restart) shows working group 1 read and the plenary unread.
	ui2, err := deskui.New(deskui.Options{Desk: iryna.Desk, Talks: Talks, Host: "caspia", Names: Names})
	if err != nil {
		t.Fatal(err)
	}
	ui2.SetHosts("desk.test")
	rec := httptest.NewRecorder()
	ui2.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "http://desk.test/login?token="+ui2.NewLoginToken(), nil))
	req := httptest.NewRequest("GET", "http://desk.test/", nil)
	for _, c := range rec.Result().Cookies() {
		req.AddCookie(c)
	}
	rec = httptest.NewRecorder()
	ui2.Handler().ServeHTTP(rec, req)
	unreadOf := func(ch string) bool {
		page := rec.Body.String()
		i := strings.Index(page, `<a href="/channels/`+ch+`">`)
		if i < 0 {
			t.Fatalf("the overview after a restart lacks %s: %d %s", ch, rec.Code, page)
		}
		li := page[i:]
		li = li[:strings.Index(li, "</li>")]
		return strings.Contains(li, `class="unread"`)
	}
	if unreadOf("wg1-ceasefire") || !unreadOf("plenary") {
		t.Errorf("after a restart: wg1 unread %v (want false), plenary unread %v (want true)", unreadOf("wg1-ceasefire"), unreadOf("plenary"))
	}

	// A delegate of Borealia works in Russian: her browser asks for Russian
	// (Accept-Language) and every label, button and message of her desk is
	// in Russian; the negotiating text stays as the parties wrote it.
	ru, cancelRu := chromedp.NewContext(b)
	defer cancelRu()
	if err := chromedp.Do(ru); err != nil { // opens the tab for the test's lifetime
		t.Fatal(err)
	}
	run(t, ru, acceptLanguage("ru-RU,ru;q=0.9,en;q=0.5"))
	run(t, ru, chromedp.Navigate(iryna.UI.LoginURL()+"&next=/texts/joint-statement"))
	waitText(t, ru, "#p4", "[20] km", 20*time.Second)
	waitText(t, ru, "#p4", "Занять позицию по пункту 3", 5*time.Second)
	if lang := eval[string](t, ru, "document.documentElement.lang"); lang != "ru" {
		t.Errorf("the Russian delegate's page is in %q", lang)
	}
	run(t, ru,
		chromedp.Click(chromedp.CSS(`#p4 details.act:first-of-type summary`)),
		chromedp.SetValue(chromedp.CSS(`#stance-p4`), "reserve"),
		chromedp.SendKeys(chromedp.CSS(`#pnote-p4`), "нужны консультации со столицей"),
		chromedp.Click(chromedp.CSS(`#take-p4`)),
	)
	waitText(t, ru, ".flash", "Ваша позиция по пункту 3: оговорка.", 60*time.Second)
	waitText(t, ru, "#p4", "нужны консультации со столицей", 10*time.Second)
	run(t, ru,
		chromedp.Click(chromedp.CSS(`#p4 details.act:last-of-type summary`)),
		chromedp.SetValue(chromedp.CSS(`#notation-p4`), "[The Parties agree to withdraw heavy weapons [20]{arden} [25]{borealia} km from the line of contact.]{borealia}"),
		chromedp.Click(chromedp.CSS(`#p4 form.stack button[type=submit]`)),
	)
	waitText(t, ru, ".flash", "Поправка к пункту 3 предложена.", 60*time.Second)
	prop := waitText(t, ru, "#p4 .proposal", "[25]", 20*time.Second)
	for _, want := range []string{"предлагает: заменить формулировку пункта", "ответов пока нет"} {
		if !strings.Contains(prop, want) {
			t.Errorf("the Russian proposal lacks %q: %q", want, prop)
		}
	}
	noEnglish(t, ru, "ru")
	unlabelled(t, ru)
	shot(t, ru, dir, "desk-ru-text.png")
	// Arden's expert, in English, sees the same proposal.
	run(t, arden, chromedp.Navigate(tomas.UI.URL()+"/texts/joint-statement"))
	waitText(t, arden, "#p4 .proposal", "proposes to replace the paragraph's wording", 60*time.Second)

	// The trust panel: every channel verified, and confirmed by all
	// parties once each member delegation has cosigned its checkpoint.
	trustURL := iryna.UI.URL() + "/trust"
	untilText(t, borealia, trustURL, "#trust-wg1-ceasefire .conf", "confirmed by all parties", 90*time.Second)
	untilText(t, borealia, trustURL, "#trust-plenary .conf", "confirmed by all parties", 60*time.Second)
	// Each channel's suite, by name, and whether it is post-quantum.
	waitText(t, borealia, "#trust-plenary .suite", "MLS_256_XWING_AES256GCM_SHA512_Ed25519", 10*time.Second)
	if txt := waitText(t, borealia, "#trust-wg1-ceasefire .suite", "MLS_256_XWING", 10*time.Second); !strings.HasPrefix(txt, "post-quantum") {
		t.Errorf("trust panel, wg1-ceasefire's suite: %q, want post-quantum", txt)
	}
	// The interpreter is listed apart from the parties' delegates.
	if txt := waitText(t, borealia, "#trust-wg1-ceasefire .interpreters", "Aigul Nur", 20*time.Second); !strings.Contains(txt, "not parties") {
		t.Errorf("trust panel, wg1-ceasefire's interpreters: %q", txt)
	}
	shot(t, borealia, dir, "desk-trust.png")
	unlabelled(t, borealia)
	run(t, borealia, chromedp.Navigate(iryna.UI.URL()+"/"))
	waitText(t, borealia, "main .chan-list", "confirmed by all", 20*time.Second)

	// The host accredits a new delegation from the venue UI: the
	// fingerprint is shown to compare before anything is registered.
	venue := b
	run(t, venue, chromedp.Navigate(d.VenueUI.LoginURL()))
	waitText(t, venue, "main h1", "Accreditation", 20*time.Second)
	dalmor, err := delegation.GenerateRoot("dalmor")
	if err != nil {
		t.Fatal(err)
	}
	fp := delegation.Fingerprint(dalmor.VerifierKey())
	run(t, venue,
		chromedp.SendKeys(chromedp.CSS("#acc-name"), "dalmor"),
		chromedp.SetValue(chromedp.CSS("#acc-key"), dalmor.VerifierKey()),
		chromedp.Click(chromedp.CSS("#accredit-check")))
	waitText(t, venue, "#preview-fp", fp, 20*time.Second)
	unlabelled(t, venue)
	shot(t, venue, dir, "venue-accredit.png")
	run(t, venue, chromedp.Click(chromedp.CSS("#compared")), chromedp.Click(chromedp.CSS("#accredit-confirm")))
	waitText(t, venue, ".flash", "dalmor accredited", 30*time.Second)

	// Borealia's expert sees the new delegation unconfirmed; a wrong
	// fingerprint is refused, the right one (as read out, in lower case
	// with spaces) confirms it (desk.VerifyParty).
	untilText(t, borealia, trustURL, "#party-dalmor", "not confirmed", 60*time.Second)
	wrong := []byte(fp)
	if wrong[0] == 'A' {
		wrong[0] = 'B'
	} else {
		wrong[0] = 'A'
	}
	run(t, borealia, chromedp.SetValue(chromedp.CSS("#fp-dalmor"), string(wrong)),
		chromedp.Click(chromedp.CSS("#party-dalmor button[type=submit]")))
	waitText(t, borealia, ".flash", "does NOT match", 30*time.Second)
	waitText(t, borealia, "#party-dalmor", "not confirmed", 10*time.Second)
	run(t, borealia, chromedp.SetValue(chromedp.CSS("#fp-dalmor"), strings.ToLower(strings.ReplaceAll(fp, "-", " "))),
		chromedp.Click(chromedp.CSS("#party-dalmor button[type=submit]")))
	waitText(t, borealia, ".flash", "Confirmed: the root key of dalmor", 30*time.Second)
	if got := waitText(t, borealia, "#party-dalmor", "confirmed", 10*time.Second); strings.Contains(got, "not confirmed") {
		t.Errorf("dalmor still unconfirmed: %q", got)
	}

	// Dalmor has no desk yet, so it cosigns nothing: the register entry
	// that accredited it stays pending on Borealia's desk, which now
	// requires Dalmor's cosignature. With a short withholding bound the
	// desk raises the withholding alarm, in red, without halting anything.
	if err := iryna.Desk.SetNeutrality(ctx, desk.NeutralityConfig{WithholdingBound: time.Second}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	untilText(t, borealia, trustURL, "main", "ALARM on register: confirmation withheld", 60*time.Second)
	waitText(t, borealia, `main .alarm[data-log="register"]`, "The log is still processed", 5*time.Second)
	waitText(t, borealia, ".alarm-banner", "confirmation withheld", 5*time.Second)
	shot(t, borealia, dir, "desk-trust-withholding.png")
	if err := iryna.Desk.SetNeutrality(ctx, desk.NeutralityConfig{WithholdingBound: -1}); err != nil {
		t.Fatal(err)
	}

	// The host proposes a ministerial meeting that breaks two rules: the
	// reasons are shown and nothing is booked; ticking exactly those
	// overrides books it.
	run(t, venue, chromedp.Navigate(d.VenueUI.URL()+"/schedule"))
	waitText(t, venue, "main", "Leaders' summit", 20*time.Second)
	waitText(t, venue, "main", "not yet ready", 5*time.Second)
	shot(t, venue, dir, "venue-schedule.png")
	unlabelled(t, venue)
	run(t, venue,
		chromedp.SendKeys(chromedp.CSS("#m-title"), "Ministers on item 2"),
		chromedp.SetValue(chromedp.CSS("#m-level"), "ministerial"),
		chromedp.SetValue(chromedp.CSS("#m-room"), "Library"),
		chromedp.SetValue(chromedp.CSS("#m-head"), "20"),
		chromedp.Click(chromedp.CSS("#m-del-arden")),
		chromedp.Click(chromedp.CSS("#m-del-borealia")),
		chromedp.Click(chromedp.CSS("#propose-submit")))
	refused := waitText(t, venue, ".refusal", "Not proposed", 30*time.Second)
	for _, want := range []string{"room too small", "delegation busy"} {
		if !strings.Contains(refused, want) {
			t.Errorf("the refusal does not give the %s reason: %q", want, refused)
		}
	}
	shot(t, venue, dir, "venue-conflict.png")
	unlabelled(t, venue)
	run(t, venue,
		chromedp.Click(chromedp.CSS("#override-capacity")),
		chromedp.Click(chromedp.CSS("#override-delegation-busy")),
		chromedp.Click(chromedp.CSS("#propose-submit")))
	waitText(t, venue, ".flash", "Overridden: room too small, delegation busy", 30*time.Second)
	waitText(t, venue, "#readiness", "not yet ready", 10*time.Second)

	// Readiness: Borealia's head signals it from the desk's schedule
	// (signed with the head's device key); the host sees it per party.
	var summit string
	ms, err := d.Schedule.Meetings(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Title == "Leaders' summit" {
			summit = m.ID
		}
	}
	// The host watches the summit's page; it updates live.
	run(t, venue, chromedp.Navigate(d.VenueUI.URL()+"/meetings/"+summit))
	waitText(t, venue, "#readiness", "Republic of Borealia not yet ready", 20*time.Second)
	oleh := d.Delegate("borealia-head")
	run(t, borealia, chromedp.Navigate(oleh.UI.LoginURL()+"&next=/schedule"))
	waitText(t, borealia, "#meeting-"+summit, "has not signalled readiness", 20*time.Second)
	run(t, borealia, chromedp.Click(chromedp.CSS("#ready-"+summit)))
	waitText(t, borealia, ".flash", "Readiness for", 30*time.Second)
	waitText(t, borealia, "#meeting-"+summit, "your delegation signalled readiness", 10*time.Second)
	shot(t, borealia, dir, "desk-schedule.png")
	unlabelled(t, borealia)
	// A private calendar link, shown once; the calendar application gets
	// the meetings; revoked, the link stops working.
	run(t, borealia, chromedp.Click(chromedp.CSS("#feed-create")))
	waitText(t, borealia, "#feeds", "Link created", 30*time.Second)
	feed := eval[string](t, borealia, `document.getElementById("feed-url").value`)
	ics := httpGet(t, feed)
	if !strings.Contains(ics, "BEGIN:VCALENDAR") || !strings.Contains(ics, "Leaders' summit") {
		t.Errorf("calendar feed: %.300q", ics)
	}
	run(t, borealia, chromedp.Click(chromedp.CSS("#feeds button")))
	waitText(t, borealia, ".flash", "revoked", 30*time.Second)
	if resp, err := http.Get(feed); err != nil {
		t.Error(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("a revoked calendar link still works")
		}
	}
	ready := waitText(t, venue, "#readiness", "Republic of Borealia ready", 30*time.Second)
	if !strings.Contains(ready, "Federation of Arden not yet ready") {
		t.Errorf("readiness per party: %q", ready)
	}
	// The Protocol went up from the working group: the ministerial
	// channel's package dashboard shows where it came from and what was
	// carried; the working group's shows both referrals.
	run(t, borealia, chromedp.Navigate(oleh.UI.URL()+"/texts/protocol-ministerial/package"))
	ref := waitText(t, borealia, "#referrals", "Taken up from a lower level", 20*time.Second)
	// Paragraphs by number and the text by title, not by their IDs.
	if !strings.Contains(ref, "wg1-ceasefire") || !strings.Contains(ref, "Carried open: ¶1, ¶2") || !strings.Contains(ref, "text Protocol on the ceasefire line") {
		t.Errorf("referral history of the taken-up Protocol: %q", ref)
	}
	shot(t, borealia, dir, "desk-referral.png")
	run(t, borealia, chromedp.Navigate(oleh.UI.URL()+"/texts/protocol/package"))
	if ref := waitText(t, borealia, "#referrals", "R1", 20*time.Second); !strings.Contains(ref, "complete") {
		t.Errorf("referral history of the Protocol in the working group: %q", ref)
	}
	// The ministers' Caspia package: the final Joint Statement and the
	// Protocol, adopted together in English and French, signed by both
	// root keys. The desk offers the signed bundle, with the venue's
	// evidence, which verifies offline with both root keys and the venue's
	// key pinned, as does the file the demo wrote.
	run(t, borealia, chromedp.Navigate(oleh.UI.URL()+"/texts/"+finalStatement))
	adopted := waitText(t, borealia, "main", "Adoption and signatures", 20*time.Second)
	for _, want := range []string{"FR", "signed by Ilse Marven", "signed by Oleh Varta", "Download the signed outcome bundle",
		"Adopted as one package, “Caspia package”, with: Protocol on the ceasefire line."} {
		if !strings.Contains(adopted, want) {
			t.Errorf("the adopted Joint Statement's page lacks %q", want)
		}
	}
	shot(t, borealia, dir, "desk-outcome.png")
	pins := outcome.Pins{}
	for _, p := range []string{"arden", "borealia"} {
		pins[p] = delegation.Fingerprint(d.roots[p].VerifierKey())
	}
	rep, err := outcome.Verify(download(t, borealia, `main a[href*="/outcome.json?ch="]`), outcome.Options{Pins: pins, VenueKey: d.Venue.VerifierKey(), RequireEvidence: true})
	if err != nil || rep.Package != packageID || len(rep.Documents) != 2 {
		t.Errorf("the package downloaded from the desk: %+v, %v", rep, err)
	}
	if rep, err := outcome.Verify(readFile(t, d.PackageFile), outcome.Options{Pins: pins, VenueKey: d.Venue.VerifierKey(), RequireEvidence: true}); err != nil || len(rep.Documents) != 2 || rep.Evidence == nil {
		t.Errorf("the package the demo wrote: %+v, %v", rep, err)
	}
	// Word both ways: the Protocol was tabled from the .docx the demo
	// wrote; the desk hands the Joint Statement back as one, brackets and
	// all, and the demo wrote it too.
	if _, err := os.Stat(filepath.Join(d.Out, "protocol.docx")); err != nil {
		t.Error(err)
	}
	run(t, borealia, chromedp.Navigate(iryna.UI.URL()+"/texts/joint-statement"))
	waitText(t, borealia, "#p4", "[20] km", 20*time.Second)
	for _, b := range [][]byte{download(t, borealia, `main a[href*="/docx?ch="]`), readFile(t, filepath.Join(d.Out, "joint-statement.docx"))} {
		im, err := docx.Import(b)
		if err != nil || im.Title != "Joint Statement" || len(im.Paragraphs) != 4 || !strings.Contains(im.Paragraphs[2], "heavy weapons [") {
			t.Errorf("the Joint Statement as Word reads back as %+v, %v", im, err)
		}
	}
	// An expert's desk has no readiness button.
	run(t, arden, chromedp.Navigate(tomas.UI.URL()+"/schedule"))
	waitText(t, arden, "main", "Leaders' summit", 20*time.Second)
	if n := eval[int](t, arden, `document.querySelectorAll("button[id^=ready-]").length`); n != 0 {
		t.Errorf("an expert's desk offers %d readiness buttons", n)
	}
	if _, err := d.Delegate("arden-head").Desk.SignalReady(ctx, summit, desk.ScheduleOptions{HostDelegation: "caspia"}); err != nil {
		t.Fatal(err)
	}
	run(t, venue, chromedp.Navigate(d.VenueUI.URL()+"/meetings/"+summit))
	waitText(t, venue, "#readiness", "Federation of Arden ready", 20*time.Second)
	run(t, venue, chromedp.Click(chromedp.CSS("#confirm")))
	waitText(t, venue, ".flash", "Confirmed", 30*time.Second)
	if st := eval[string](t, venue, `document.getElementById("meeting-status").textContent`); st != "confirmed" {
		t.Errorf("meeting status after confirming: %q", st)
	}
	shot(t, venue, dir, "venue-meeting.png")
	unlabelled(t, venue)

	// The venue turns hostile: it signs, with its own key, another root
	// for working group 1's log at the size Borealia has verified (a split
	// view). Borealia's check raises the alarm, in red, with the evidence
	// and a proof that verifies offline.
	run(t, borealia, chromedp.Navigate(trustURL))
	waitText(t, borealia, "main", "Delegations' root keys", 20*time.Second)
	d.Tamper(d.ForkCheckpoint("wg1-ceasefire"))
	run(t, borealia, chromedp.Click(chromedp.CSS("#check-now")))
	waitText(t, borealia, "main .alarm", "ALARM on wg1-ceasefire", 60*time.Second)
	waitText(t, borealia, "main .alarm", "Download the proof of misbehaviour", 5*time.Second)
	shot(t, borealia, dir, "desk-trust-alarm.png")
	unlabelled(t, borealia)
	d.Tamper(nil)
	checkProof(t, borealia, d.Venue.VerifierKey())

	// The same alarm for the delegate who works in Russian: what the venue
	// did, in her language, and the proof to download.
	run(t, ru, chromedp.Navigate(iryna.UI.URL()+"/trust"))
	alarm := waitText(t, ru, "main .alarm", "ТРЕВОГА в wg1-ceasefire: раздвоение: две разные истории", 30*time.Second)
	for _, want := range []string{
		"Площадка подписала две разные версии этого журнала одинаковой длины: она показывает разным сторонам разную историю.",
		"Обработка этого журнала остановлена",
		"Скачать доказательство нарушения",
		"Я разобрался: возобновить wg1-ceasefire",
	} {
		if !strings.Contains(alarm, want) {
			t.Errorf("the Russian alarm lacks %q: %q", want, alarm)
		}
	}
	waitText(t, ru, ".alarm-banner", "Тревога:", 5*time.Second)
	noEnglish(t, ru, "ru")
	unlabelled(t, ru)
	shot(t, ru, dir, "desk-ru-trust-alarm.png")
	checkProof(t, ru, d.Venue.VerifierKey())

	// Readable on a tablet: the text at 820 px, nothing wider than the
	// viewport.
	run(t, arden, chromedp.EmulateViewport(820, 1180), chromedp.Navigate(tomas.UI.URL()+"/texts/joint-statement"))
	waitText(t, arden, "#p4", "[20] km", 20*time.Second)
	if w := eval[int](t, arden, "document.documentElement.scrollWidth"); w > 820 {
		t.Errorf("the text page is %d px wide on an 820 px tablet", w)
	}
	shot(t, arden, dir, "desk-text-tablet.png")
	for _, u := range []string{iryna.UI.URL() + "/trust", d.VenueUI.URL() + "/schedule", d.VenueUI.URL() + "/meetings/" + summit} {
		pg := borealia
		if strings.HasPrefix(u, d.VenueUI.URL()) {
			pg = venue
		}
		run(t, pg, chromedp.EmulateViewport(820, 1180), chromedp.Navigate(u))
		waitText(t, pg, "main h1", "", 20*time.Second)
		if w := eval[int](t, pg, "document.documentElement.scrollWidth"); w > 820 {
			t.Errorf("%s is %d px wide on an 820 px tablet", u, w)
		}
	}

	// The language menu: Arden's expert switches his desk to Kazakh, which
	// the desk remembers; the host switches the venue's UI to French.
	run(t, arden, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(tomas.UI.URL()+"/texts/joint-statement"))
	waitText(t, arden, "#p4", "[20] km", 20*time.Second)
	run(t, arden, chromedp.Click(chromedp.CSS("#lang-kk")))
	waitText(t, arden, "main .legend", "Жақшадағы мәтін оны ұсынған тараптың түсімен белгіленген.", 30*time.Second)
	waitText(t, arden, "#p4", "3-тармақ бойынша ұстаным білдіру", 5*time.Second)
	if lang := eval[string](t, arden, "document.documentElement.lang"); lang != "kk" {
		t.Errorf("after choosing Kazakh the page is in %q", lang)
	}
	if got := tomas.Desk.UILanguage(ctx); got != "kk" {
		t.Errorf("the desk remembers %q, want kk", got)
	}
	noEnglish(t, arden, "kk")
	shot(t, arden, dir, "desk-kk-text.png")
	run(t, arden, chromedp.Navigate(tomas.UI.URL()+"/texts/joint-statement/package"))
	waitText(t, arden, "main h1", "Пакет тақтасы", 20*time.Second)
	noEnglish(t, arden, "kk")
	fits(t, arden, "desk package dashboard in Kazakh at 1280 px")
	shot(t, arden, dir, "desk-kk-package.png")
	run(t, venue, chromedp.Navigate(d.VenueUI.URL()+"/schedule"))
	waitText(t, venue, "main h1", "Rooms & schedule", 20*time.Second)
	run(t, venue, chromedp.Click(chromedp.CSS("#lang-fr")))
	waitText(t, venue, "main h1", "Salles et calendrier", 30*time.Second)
	waitText(t, venue, "main", "Calendrier de la semaine", 5*time.Second)
	noEnglish(t, venue, "fr")
	unlabelled(t, venue)
	shot(t, venue, dir, "venue-fr-schedule.png")
	run(t, venue, chromedp.Navigate(d.VenueUI.URL()+"/"))
	waitText(t, venue, "main h1", "Accréditation et canaux", 20*time.Second)
	noEnglish(t, venue, "fr")
	shot(t, venue, dir, "venue-fr-accreditation.png")
}

// fits checks that nothing on the page is wider than the box it is in: the
// page no wider than the window, and every table no wider than its
// wrapper (no hidden or scrolled columns).
func fits(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	if w, vw := eval[int](t, ctx, "document.documentElement.scrollWidth"), eval[int](t, ctx, "window.innerWidth"); w > vw {
		t.Errorf("%s: the page is %d px wide in a %d px window", what, w, vw)
	}
	over := eval[[]string](t, ctx, `Array.from(document.querySelectorAll(".table-wrap")).filter(w => w.scrollWidth > w.clientWidth + 1).map(w => (w.closest("section") || w).id + ": " + w.scrollWidth + " > " + w.clientWidth)`)
	for _, o := range over {
		t.Errorf("%s: a table overflows its box (%s)", what, o)
	}
}

// acceptLanguage makes the tab ask for lang (an Accept-Language value), as
// a browser set to that language does.
func acceptLanguage(lang string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": lang}})
		return err
	})
}

// noEnglish fails the test if the page, in locale code, shows an English
// message of the UI (i18n.Leaks), outside what is marked translate="no"
// (the parties' words, meeting titles, the desk's technical records).
func noEnglish(t *testing.T, ctx context.Context, code string) {
	t.Helper()
	body := eval[string](t, ctx, `(() => { const c = document.body.cloneNode(true); c.querySelectorAll('[translate="no"]').forEach(e => e.remove()); return c.textContent; })()`)
	for _, f := range i18n.Leaks(code, body) {
		t.Errorf("English left in a %s page: %q", code, f)
	}
}

// download fetches the file linked by the element sel of the page, as the
// delegate's browser does.
func download(t *testing.T, ctx context.Context, sel string) []byte {
	t.Helper()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	b64, err := chromedp.Run(cctx, chromedp.Evaluate[string](`fetch(document.querySelector(`+strconv.Quote(sel)+`).href).then(r => r.arrayBuffer()).then(b => { let s = ""; new Uint8Array(b).forEach(c => s += String.fromCharCode(c)); return btoa(s); })`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("download %s: %v", sel, err)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkProof downloads the proof of misbehaviour linked from the alarm on
// the page, as the delegate's browser does, and verifies it offline.
func checkProof(t *testing.T, ctx context.Context, venueKey string) {
	t.Helper()
	raw := download(t, ctx, "main .alarm a[download]")
	pr, err := proof.Parse(raw)
	if err != nil {
		t.Fatalf("the downloaded proof does not parse: %v", err)
	}
	if _, err := proof.Verify(pr, venueKey); err != nil {
		t.Fatalf("the downloaded proof does not verify: %v", err)
	}
}
