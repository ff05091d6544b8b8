package demo

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
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
	waitText(t, borealia, "ul.msgs", "Arden can accept 20 km", 90*time.Second)
	shot(t, borealia, dir, "desk-channel.png")

	// The venue UI: the week calendar with the pending summit.
	venue := b
	run(t, venue, chromedp.Navigate(d.VenueUI.LoginURL()), chromedp.Navigate(d.VenueUI.URL()+"/schedule"))
	waitText(t, venue, "main", "Leaders' summit", 20*time.Second)
	waitText(t, venue, "main", "not yet ready", 5*time.Second)
	shot(t, venue, dir, "venue-schedule.png")

	// The venue turns hostile: it forges the working group's checkpoint.
	// Borealia's trust panel shows the alarm, in red, with its evidence.
	run(t, borealia, chromedp.Navigate(iryna.UI.URL()+"/trust"))
	waitText(t, borealia, "main", "Delegations' root keys", 20*time.Second)
	d.Tamper(ForgeCheckpoint("wg1-ceasefire"))
	run(t, arden, chromedp.Navigate(tomas.UI.URL()+"/channels/wg1-ceasefire"),
		chromedp.SendKeys(chromedp.CSS("#body"), "One more thing on paragraph 2."),
		chromedp.Submit(chromedp.CSS("#body")))
	waitText(t, borealia, "main .alarm", "ALARM on wg1-ceasefire", 120*time.Second)
	shot(t, borealia, dir, "desk-trust-alarm.png")
	unlabelled(t, borealia)
	d.Tamper(nil)

	// Readable on a tablet: the text at 820 px, nothing wider than the
	// viewport.
	run(t, arden, chromedp.EmulateViewport(820, 1180), chromedp.Navigate(tomas.UI.URL()+"/texts/joint-statement"))
	waitText(t, arden, "#p4", "[20] km", 20*time.Second)
	if w := eval[int](t, arden, "document.documentElement.scrollWidth"); w > 820 {
		t.Errorf("the text page is %d px wide on an 820 px tablet", w)
	}
	shot(t, arden, dir, "desk-text-tablet.png")
}
