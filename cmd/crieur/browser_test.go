package main

// Tests that drive the pages in headless Chromium (Debian's package, which
// the test command installs), as a visitor would.
//
// They prefer chromium-headless-shell, Chromium's headless-only build (the
// old headless mode, which Puppeteer also runs its tests in): the same
// Blink renders, lays out and runs axe-core, without the desktop browser's
// layers. The browser tests took 73 s of its processor time against 133 s
// of the full chromium's (85 s wall against 51 s, one run each on this
// machine), and Chromium was the largest consumer of the end-to-end
// package's processor time. A developer machine with the full browser
// alone still runs them.

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// sharedBrowser is one headless Chromium for all the browser tests of a
// run, started by the first that needs it and stopped by TestMain: a
// Chromium of its own per test was ten starts, each a second or more of
// processor time on a machine the other tests share. Each test still gets
// a browser context of its own (newBrowser), as a private window is: its
// own cookies, storage and cache.
type sharedBrowser struct {
	once sync.Once
	ctx  context.Context
	stop func()
	err  error
}

var chromium sharedBrowser

func (b *sharedBrowser) get() (context.Context, error) {
	b.once.Do(func() {
		path, err := browserPath()
		if err != nil {
			b.err = err
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.WindowSize(390, 900),
		)
		actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(actx)
		b.ctx, b.stop = ctx, func() { cancel(); cancelAlloc() }
		b.err = chromedp.Do(ctx) // starts the browser, whose first tab stays blank
	})
	return b.ctx, b.err
}

// browserPath is the headless shell if installed, else the full browser.
func browserPath() (string, error) {
	if path, err := exec.LookPath("chromium-headless-shell"); err == nil {
		return path, nil
	}
	return exec.LookPath("chromium")
}

// close stops the browser, if one was started.
func (b *sharedBrowser) close() {
	if b.stop != nil {
		b.stop()
	}
}

// newBrowser opens a private window of the shared Chromium for one test,
// 390 px wide (a phone) until the test says otherwise; it closes with the
// test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := browserPath(); err != nil {
		requireTool(t, "chromium-headless-shell") // fails in CI, skips elsewhere
	}
	bctx, err := chromium.get()
	if err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
	// A bound that stops a hung browser, far above what a test takes on
	// a loaded two-core machine.
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel() })
	if err := chromedp.Do(ctx, emulateWidth(390)); err != nil {
		t.Fatalf("open a window in chromium: %v", err)
	}
	return ctx
}

// Acceptance 3 of the sign-ups: a visitor signs up on the call's page and
// withdraws through the private link, in a browser at 390 px.
func TestBrowserSignUpAndWithdraw(t *testing.T) {
	t.Parallel()
	c := startCrieur(t, t.TempDir(), 0)
	a, _ := c.post(map[string]any{"kind": "call", "title": "Repair café", "body": "Come and help.", "call": map[string]any{
		"roles": []map[string]any{{"name": "fixer", "places": 2}, {"name": "welcome desk", "places": 1}}, "contact": "repair@example.org"}}, nil)
	ctx := newBrowser(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	err := chromedp.Do(ctx,
		chromedp.Navigate(c.objectURL(a.ID)),
		chromedp.WaitVisible(css(`#su-name`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	noSidewaysScroll(ctx, t, "the call's page scrolls sideways at 390 px")
	err = chromedp.Do(ctx,
		chromedp.Click(css(`input[name=role][value="welcome desk"]`)),
		chromedp.SendKeys(css(`#su-name`), "Zoé"),
		chromedp.SendKeys(css(`#su-contact`), "zoe@example.org"),
		chromedp.Click(css(`button[type=submit]`)),
		chromedp.WaitVisible(css(`.notice`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	notice, _ := chromedp.Run(ctx, chromedp.Text(css(`.notice`)))
	places, _ := chromedp.Run(ctx, chromedp.Text(css(`fieldset`)))
	withdraw, err := chromedp.Run(ctx, chromedp.AttributeValue(css(`.notice a`), "href"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(notice, "You are signed up as welcome desk") || !strings.Contains(places, "welcome desk – full") {
		t.Fatalf("after signing up: notice %q, roles %q", notice, places)
	}
	// The private link is long and has no spaces: it wraps in its box.
	noSidewaysScroll(ctx, t, "the page with the private link scrolls sideways at 390 px")
	err = chromedp.Do(ctx,
		chromedp.Navigate(withdraw.Value),
		chromedp.WaitVisible(css(`button[type=submit]`)),
		chromedp.Click(css(`button[type=submit]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	var done string
	waitFor(t, 10*time.Second, "the withdrawn page", func() bool {
		done, _ = chromedp.Run(ctx, chromedp.Text(css(`h1`)))
		return done == "Withdrawn"
	})
	var st struct{ Taken map[string]int }
	c.api("GET", "/api/v1/boards/news/announcements/1/signups", nil, nil, &st)
	if st.Taken["welcome desk"] != 0 {
		t.Fatalf("taken after the withdrawal: %v", st.Taken)
	}
	// The link opened again says it is done, and offers nothing more.
	if err := chromedp.Do(ctx, chromedp.Navigate(withdraw.Value), chromedp.WaitVisible(css(`h1`))); err != nil {
		t.Fatal(err)
	}
	again, _ := chromedp.Run(ctx, chromedp.Text(css(`h1`)))
	buttons, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("button[type=submit]").length`))
	if again != "Already withdrawn" || buttons > 0 {
		t.Errorf("the link opened after withdrawing: %q with %d buttons, want %q and none", again, buttons, "Already withdrawn")
	}
}

// axeViolations runs axe-core on the page ctx shows and returns its
// violations of every impact, one line each: a moderate one (content
// outside any landmark) still leaves a screen reader's user lost.
func axeViolations(t *testing.T, ctx context.Context) []string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "axe", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("axe-core is not installed (npm ci in testdata/axe): %v", err)
		}
		t.Skipf("axe-core not installed: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](string(src)+";true")); err != nil {
		t.Fatalf("inject axe-core: %v", err)
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`axe.run(document, {resultTypes: ["violations"]}).then(r =>
		r.violations.map(v => v.impact + " " + v.id + ": " + v.help + " (" + v.nodes.map(n => n.target.join(" ")).join(", ") + ")"))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("run axe-core: %v", err)
	}
	return out
}

// screenshotDir is where the browser tests leave screenshots to look at:
// CRIEUR_SCREENSHOTS, or a folder in the temporary directory.
func screenshotDir(t *testing.T) string {
	t.Helper()
	shots := os.Getenv("CRIEUR_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join(os.TempDir(), "crieur-screenshots")
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", shots)
	return shots
}

// Every type of public page, at 390 and 1280 px, in English and in
// French, and at 390 px in the dark scheme: axe-core finds no violation
// (axeViolations), nothing scrolls sideways on a phone, and a screenshot
// of each is kept (screenshotDir) to look at beside Gancio's and
// Mobilizon's lists.
func TestPublicPagesAreAccessible(t *testing.T) {
	t.Parallel() // the longest browser test: it overlaps tests that mostly wait
	c := startCrieur(t, t.TempDir(), 0)
	now := time.Now()
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	photo := c.upload(testJPEG(t))
	for slug, body := range map[string]map[string]any{
		"mail":  {"name": "Mail", "description": "Our mailboxes, with a description long enough to wrap on a phone.", "address": "https://mail.example.org", "position": 1},
		"cloud": {"name": "Cloud", "description": "Files and calendars.", "position": 2},
		"chat":  {"name": "Chat", "position": 3},
	} {
		if code := c.api("PUT", "/api/v1/boards/news/services/"+slug, body, nil, nil); code != 201 {
			t.Fatalf("add service %s: %d", slug, code)
		}
	}
	pages := map[string]string{}
	for name, body := range map[string]map[string]any{
		"news": {"title": "Welcome", "body": "# Agenda\n\nHello **all**, see https://example.org.", "tags": []string{"asso"}, "language": "en",
			"images": []map[string]any{{"id": photo.ID, "alt": "Volunteers around a table"}}},
		"event": {"kind": "event", "title": "Install party", "body": "Bring a laptop.", "event": map[string]any{"start": at(48 * time.Hour), "place": "Salle des fêtes", "url": "https://example.org/party"}},
		"call":  {"kind": "call", "title": "Cooks wanted", "call": map[string]any{"roles": []map[string]any{{"name": "cook", "places": 2}}, "contact": "fair@example.org"}},
		"outage": {"kind": "outage", "title": "Mail down", "content_warning": "outage", "body": "We are on it.",
			"outage": map[string]any{"service": "mail", "from": at(-time.Hour)}},
		"planned":  {"kind": "outage", "title": "Cloud upgrade", "outage": map[string]any{"service": "cloud", "from": at(5 * time.Hour)}},
		"campaign": {"kind": "campaign", "title": "A new server", "body": "Ours is nine years old.", "campaign": map[string]any{"goal": 3000, "raised": 1240, "currency": "EUR", "link": "https://www.helloasso.com/associations/x"}},
		"training": {"kind": "training", "title": "Git for beginners", "event": map[string]any{"start": at(96 * time.Hour), "place": "Room B12"}, "training": map[string]any{"seats": 8, "level": "beginners"}},
		"gone":     {"title": "A mistake"},
	} {
		a, code := c.post(body, nil)
		if code != 201 {
			t.Fatalf("post %s: %d", name, code)
		}
		pages[name] = c.objectURL(a.ID)
		if name == "gone" {
			c.api("DELETE", fmt.Sprintf("/api/v1/boards/news/announcements/%d", a.ID), nil, nil, nil)
		}
	}
	for name, path := range map[string]string{"home": "/", "entrance": "/boards/news", "news-list": "/boards/news/news", "calls": "/boards/news/calls",
		"all": "/boards/news/all?tag=asso", "events": "/boards/news/events", "status": "/boards/news/status", "widget": "/boards/news/widget", "not-found": "/boards/news/nimportequoi",
		"services": "/boards/news/services", "service": "/boards/news/services/mail"} {
		pages[name] = c.URL + path
	}
	shots := screenshotDir(t)
	// axe-core checks each page in each language, at each width and in
	// each scheme (what it finds depends on the words, the layout and the
	// colours, not on their combination); every look is photographed.
	type look struct {
		width int
		dark  bool
		lang  string
		axe   bool
	}
	looks := []look{{390, false, "en", true}, {390, false, "fr", false}, {1280, false, "en", false}, {1280, false, "fr", true}, {390, true, "en", true}}
	// The dark scheme changes colours only: a page of each layout.
	darkPages := map[string]bool{"entrance": true, "news": true, "call": true, "campaign": true, "status": true, "service": true, "widget": true}
	// Each look in a window of its own, side by side: one after the
	// other, the test took a minute and often ended a run alone.
	for _, lk := range looks {
		scheme := "light"
		if lk.dark {
			scheme = "dark"
		}
		t.Run(fmt.Sprintf("%d-%s-%s", lk.width, lk.lang, scheme), func(t *testing.T) {
			t.Parallel()
			ctx := newBrowser(t)
			if err := chromedp.Do(ctx, emulateWidth(lk.width), colourScheme(scheme)); err != nil {
				t.Fatal(err)
			}
			for name, page := range pages {
				if lk.dark && !darkPages[name] {
					continue
				}
				sep := "?"
				if strings.Contains(page, "?") {
					sep = "&"
				}
				if err := chromedp.Do(ctx, chromedp.Navigate(page+sep+"lang="+lk.lang), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
					t.Fatal(err)
				}
				what := fmt.Sprintf("%s (%s) at %d px in %s, %s", name, page, lk.width, lk.lang, scheme)
				if lk.axe {
					for _, v := range axeViolations(t, ctx) {
						t.Errorf("%s: %s", what, v)
					}
				}
				if img, err := chromedp.Run(ctx, chromedp.FullScreenshot(85)); err == nil { // JPEG: a fifth of the PNG's time and size
					_ = os.WriteFile(filepath.Join(shots, fmt.Sprintf("public-%s-%d-%s-%s.jpg", name, lk.width, lk.lang, scheme)), img, 0o644)
				}
				if lk.width == 390 {
					noSidewaysScroll(ctx, t, what+" scrolls sideways")
				}
			}
		})
	}
}

// colourScheme makes the page believe the reader's system is light or
// dark (prefers-color-scheme).
func colourScheme(scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		return err
	})
}

func emulateWidth(w int) chromedp.Action[chromedp.Void] {
	return chromedp.EmulateViewport(int64(w), 900)
}

// The editor in Chromium at 390 px: only the chosen kind's details are
// shown; a mistake comes back next to its field, focused, with what was
// typed; axe-core finds nothing serious and nothing scrolls sideways.
func TestBrowserEditorKindsAndErrors(t *testing.T) {
	t.Parallel()
	c := startCrieur(t, t.TempDir(), 0)
	ctx := newBrowser(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	err := chromedp.Do(ctx,
		signInEditor(c), // the only board's form is open
	)
	if err != nil {
		t.Fatal(err)
	}
	shown := func(sel string) bool {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`getComputedStyle(document.querySelector(`+"`"+sel+"`"+`)).display !== "none"`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if shown(".for-event") || shown(".for-call") || shown(".for-outage") {
		t.Error("news shows the event, call or outage fields")
	}
	for _, kind := range []string{"call", "outage", "campaign", "training", "event"} { // event last: the form below is one
		if err := chromedp.Do(ctx, chromedp.SetValue(css(`#news-kind`), kind)); err != nil {
			t.Fatal(err)
		}
		for _, other := range []string{"event", "call", "outage", "campaign", "training"} {
			// A training is an event too: its time and place are the event's.
			if shown(".for-"+other) != (other == kind || kind == "training" && other == "event") {
				t.Errorf("choosing %s: the %s fields shown %v", kind, other, shown(".for-"+other))
			}
		}
	}
	err = chromedp.Do(ctx,
		chromedp.SendKeys(css(`#news-title`), "Install party"),
		chromedp.SetValue(css(`#news-start`), "2026-12-05T14:00"),
		chromedp.SetValue(css(`#news-end`), "2026-12-05T12:00"),
		chromedp.Click(css(`form[action$="/new"] button[type=submit]`)),
		chromedp.WaitVisible(css(`.field-error`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	focused, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`))
	msg, _ := chromedp.Run(ctx, chromedp.Text(css(`#news-end-error`)))
	title, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#news-title").value`))
	if focused != "news-end" || msg != "Ends must be after Starts." || title != "Install party" {
		t.Errorf("after a mistake: focus on %q, message %q, title %q", focused, msg, title)
	}
	if !shown(".for-event") || shown(".for-call") {
		t.Error("the event's fields are hidden after the error")
	}
	for _, v := range axeViolations(t, ctx) {
		t.Errorf("editor: %s", v)
	}
	noSidewaysScroll(ctx, t, "the editor scrolls sideways at 390 px")
	// Targets a thumb can hit: every text field, menu and button 44 px tall.
	small, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("input:not([type=hidden]):not([type=radio]):not([type=checkbox]),select,button")]
		.filter(e => e.offsetParent !== null && e.getBoundingClientRect().height < 44).map(e => (e.id || e.name || e.textContent) + " " + e.getBoundingClientRect().height)`))
	for _, s := range small {
		t.Errorf("control under 44 px: %s", s)
	}
	if shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil { // 100: PNG
		_ = os.WriteFile(filepath.Join(screenshotDir(t), "editor-error-390.png"), shot, 0o644)
	}
	// The other editor pages: the list with its search, and a delete's
	// confirmation.
	c.post(map[string]any{"title": "Repair café"}, nil)
	for _, page := range []string{c.URL + "/edit/news/all?q=repair", c.URL + "/edit/news/1"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitReady(css("body"))); err != nil {
			t.Fatal(err)
		}
		for _, v := range axeViolations(t, ctx) {
			t.Errorf("%s: %s", page, v)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Click(css(`form[action$="/delete"] button`)), chromedp.WaitReady(css(`input[name=confirm]`))); err != nil {
		t.Fatal(err)
	}
	for _, v := range axeViolations(t, ctx) {
		t.Errorf("delete confirmation: %s", v)
	}

	// The same mistake in French: the switcher's choice holds, the
	// message is French and next to its field, the longer words still fit
	// at 390 px.
	err = chromedp.Do(ctx,
		chromedp.Navigate(c.URL+"/edit?lang=fr"),
		chromedp.WaitVisible(css(`#news-title`)),
		chromedp.SendKeys(css(`#news-title`), "Install party"),
		chromedp.SetValue(css(`#news-kind`), "event"),
		chromedp.SetValue(css(`#news-start`), "2026-12-05T14:00"),
		chromedp.SetValue(css(`#news-end`), "2026-12-05T12:00"),
		chromedp.Click(css(`form[action$="/new"] button[type=submit]`)),
		chromedp.WaitVisible(css(`.field-error`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	lang, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.lang`))
	msg, _ = chromedp.Run(ctx, chromedp.Text(css(`#news-end-error`)))
	label, _ := chromedp.Run(ctx, chromedp.Text(css(`label[for=news-end]`)))
	if lang != "fr" || msg != "La fin doit venir après le début." || label != "Fin" {
		t.Errorf("the French editor after a mistake: lang %q, message %q, label %q", lang, msg, label)
	}
	for _, v := range axeViolations(t, ctx) {
		t.Errorf("French editor: %s", v)
	}
	noSidewaysScroll(ctx, t, "the French editor scrolls sideways at 390 px")
	if shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile(filepath.Join(screenshotDir(t), "editor-error-fr-390.png"), shot, 0o644)
	}
}

// The newsroom's path in a browser at 390 px: a call for volunteers
// previewed (web page and Mastodon), saved as a draft, scheduled, then
// published now; the page stays accessible at each step.
func TestBrowserEditorPreviewDraftSchedulePublish(t *testing.T) {
	t.Parallel()
	c := startCrieur(t, t.TempDir(), 0, "CRIEUR_TIMEZONE=Europe/Paris")
	ctx := newBrowser(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	check := func(step string) {
		t.Helper()
		for _, v := range axeViolations(t, ctx) {
			t.Errorf("%s: %s", step, v)
		}
		noSidewaysScroll(ctx, t, fmt.Sprintf("%s: the page scrolls sideways at 390 px", step))
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(css(sel)))
		if err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		return s
	}
	err := chromedp.Do(ctx,
		signInEditor(c),
		chromedp.SetValue(css(`#news-kind`), "call"),
		chromedp.SendKeys(css(`#news-title`), "Cooks wanted for the fair"),
		chromedp.SendKeys(css(`#news-body`), "We need **three** cooks on Saturday."),
		chromedp.SendKeys(css(`#news-roles`), "cook: 3"),
		chromedp.SendKeys(css(`#news-contact`), "fair@example.org"),
		chromedp.Click(css(`form[action$="/new"] button[value=preview]`)),
		chromedp.WaitVisible(css(`#preview-h`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	pv := text(`.preview`)
	for _, want := range []string{"Cooks wanted for the fair", "Mastodon and the fediverse", "cook (3 places)", "cook (3 of 3 places left)", "three"} {
		if !strings.Contains(pv, want) {
			t.Errorf("the preview lacks %q:\n%s", want, pv)
		}
	}
	if v, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#news-roles").value`)); v != "cook: 3" {
		t.Errorf("after the preview the form holds roles %q", v)
	}
	check("preview")
	if shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile(filepath.Join(screenshotDir(t), "editor-preview-390.png"), shot, 0o644)
	}
	if code, board := page(t, c.URL+"/boards/news", ""); code != 200 || strings.Contains(board, "Cooks wanted") {
		t.Fatal("the preview published the call")
	}

	if err := chromedp.Do(ctx, chromedp.Click(css(`form[action$="/new"] button[value=draft]`)), chromedp.WaitVisible(css(`.notice`))); err != nil {
		t.Fatal(err)
	}
	if n := text(`.notice`); !strings.Contains(n, "Saved as a draft") {
		t.Errorf("after Save as draft: %q", n)
	}
	check("home with a draft")
	later := time.Now().In(mustZone(t, "Europe/Paris")).Add(48 * time.Hour).Format("2006-01-02T15:04")
	err = chromedp.Do(ctx,
		chromedp.Click(css(`a[href="/edit/news/1"]`)),
		chromedp.WaitVisible(css(`#publish_at`)),
		chromedp.SetValue(css(`#publish_at`), later),
		chromedp.Click(css(`button[value=publish]`)),
		chromedp.WaitVisible(css(`.notice`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if n := text(`.notice`); !strings.Contains(n, "Scheduled for") {
		t.Errorf("after scheduling: %q", n)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(css(`a[href="/edit/news/1"]`)),
		chromedp.WaitVisible(css(`#publish_at`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#publish_at").value`)); v != later {
		t.Errorf("the scheduled time shows as %q, want %q (the board's zone)", v, later)
	}
	check("a scheduled announcement's edit page")
	err = chromedp.Do(ctx,
		chromedp.SetValue(css(`#publish_at`), ""),
		chromedp.Click(css(`button[value=publish]`)),
		chromedp.WaitVisible(css(`.notice`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if n := text(`.notice`); !strings.Contains(n, "Published: Cooks wanted for the fair") {
		t.Errorf("after publishing: %q", n)
	}
	if _, board := page(t, c.URL+"/boards/news", ""); !strings.Contains(board, "Cooks wanted for the fair") {
		t.Error("the published call is not on the board's page")
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// A picture uploaded from the editor: refused without a description (the
// picture stays), published with one, shown on the page with it.
func TestBrowserEditorPicture(t *testing.T) {
	t.Parallel()
	c := startCrieur(t, t.TempDir(), 0)
	photo := filepath.Join(t.TempDir(), "stall.jpg")
	if err := os.WriteFile(photo, testJPEG(t), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := newBrowser(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	err := chromedp.Do(ctx,
		signInEditor(c),
		chromedp.SendKeys(css(`#news-title`), "Thank you!"),
		chromedp.SetUploadFiles(css(`#news-image`), []string{photo}),
		chromedp.Click(css(`form[action$="/new"] button[value=publish]`)),
		chromedp.WaitVisible(css(`#news-alt-error`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	focused, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`))
	thumb, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelector("img.thumb") ? document.querySelector("img.thumb").naturalWidth : 0`))
	if focused != "news-alt" || thumb != 120 {
		t.Errorf("after a picture without a description: focus on %q, thumbnail %d px wide (want the description focused, the picture kept)", focused, thumb)
	}
	for _, v := range axeViolations(t, ctx) {
		t.Errorf("editor with a picture: %s", v)
	}
	const alt = "Our stall at the fair, with jam jars"
	err = chromedp.Do(ctx,
		chromedp.SendKeys(css(`#news-alt`), alt),
		chromedp.Click(css(`form[action$="/new"] button[value=publish]`)),
		chromedp.WaitVisible(css(`.notice`)),
		chromedp.Navigate(c.URL+"/boards/news/a/1"),
		chromedp.WaitVisible(css(`figure.picture img`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	gotAlt, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("figure.picture img").alt`))
	loaded, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`(async () => { const i = document.querySelector("figure.picture img"); await i.decode(); return i.naturalWidth === 120; })()`, chromedp.EvalAwaitPromise))
	if gotAlt != alt || !loaded {
		t.Errorf("on the page: alt %q, loaded %v", gotAlt, loaded)
	}
	for _, v := range axeViolations(t, ctx) {
		t.Errorf("page with a picture: %s", v)
	}
	noSidewaysScroll(ctx, t, "the page with a picture scrolls sideways at 390 px")
}

// Channels and lists set up from the editor: a Mattermost hook added,
// tested (sent, then the server's own words for a wrong channel), an
// SMTP server and a list saved; the page passes axe at 390 px.
func TestBrowserEditorDestinations(t *testing.T) {
	t.Parallel()
	mm := startMattermost(t)
	const good, bad = "goodgoodgoodgoodgoodgood12", "badbadbadbadbadbadbadbad12"
	c := startCrieur(t, t.TempDir(), 0)
	ctx := newBrowser(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	notice := func() string {
		s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector(".notice") || {}).textContent || ""`))
		return s
	}
	// The page before a click also has a notice: wait for the new one.
	waitNotice := func(want string) string {
		t.Helper()
		var n string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if n = notice(); strings.Contains(n, want) {
				break
			}
		}
		return n
	}
	err := chromedp.Do(ctx,
		signInEditor(c),
		chromedp.Click(css(`a[href="/edit/news/destinations"]`)),
		chromedp.WaitVisible(css(`#mattermost-hook-name`)),
		chromedp.SendKeys(css(`#mattermost-hook-name`), "members"),
		chromedp.SendKeys(css(`#mattermost-hook-url`), mm.hook(good)),
		chromedp.Click(css(`#mattermost-hook-form button`)),
		chromedp.WaitVisible(css(`.notice`)),
		chromedp.Click(css(`form[action$="/mattermost/test"]:has(input[value=members]) button`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if n := waitNotice("Test message sent"); !strings.Contains(n, "Test message sent to members") || len(mm.received(good)) != 1 {
		t.Errorf("after the test button: %q, %d messages", n, len(mm.received(good)))
	}
	err = chromedp.Do(ctx,
		chromedp.SendKeys(css(`#mattermost-hook-name`), "typo"),
		chromedp.SendKeys(css(`#mattermost-hook-url`), mm.hook(bad)),
		chromedp.SendKeys(css(`#mattermost-hook-channel`), "no-such-channel"),
		chromedp.Click(css(`#mattermost-hook-form button`)),
		chromedp.WaitVisible(css(`form[action$="/mattermost/test"]:has(input[value=typo]) button`)),
		chromedp.Click(css(`form[action$="/mattermost/test"]:has(input[value=typo]) button`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if n := waitNotice("not sent"); !strings.Contains(n, "Couldn't find the channel") || strings.Contains(n, bad) {
		t.Errorf("a wrong channel's test: %q, want the server's words and no secret", n)
	}
	// A list before the server: said next to the form, nothing saved.
	err = chromedp.Do(ctx,
		chromedp.SendKeys(css(`#email-list-name`), "users"),
		chromedp.SendKeys(css(`#email-list-to`), "users@lists.example.org"),
		chromedp.Click(css(`#email-list-form button`)),
		chromedp.WaitVisible(css(`.error`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := chromedp.Run(ctx, chromedp.Text(css(`.error`))); !strings.Contains(e, "Set up the sending server first") {
		t.Errorf("a list before the server: %q", e)
	}
	err = chromedp.Do(ctx,
		chromedp.SendKeys(css(`#email-smtp-host`), "smtp.example.org"),
		chromedp.SendKeys(css(`#email-smtp-password`), "s3cret-9"),
		chromedp.SendKeys(css(`#email-smtp-from`), "Climate group <board@example.org>"),
		chromedp.Click(css(`#email-smtp-form button`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitNotice("Saved: Mailing lists")
	page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if strings.Contains(page, "s3cret-9") || strings.Contains(page, good) || !strings.Contains(page, "kept; type a new one") {
		t.Error("a secret shows on the page, or the kept password is not said")
	}
	for _, v := range axeViolations(t, ctx) {
		t.Errorf("channels and lists: %s", v)
	}
	noSidewaysScroll(ctx, t, "the page scrolls sideways at 390 px")
}

// signInEditor signs in to the editor with c's token and waits for the
// news board's form.
func signInEditor(c *crieurProc) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(c.URL+"/edit"),
		chromedp.WaitVisible(chromedp.CSS(`#token`)),
		chromedp.SendKeys(chromedp.CSS(`#token`), c.Token),
		chromedp.Submit(chromedp.CSS(`#token`)),
		chromedp.WaitVisible(chromedp.CSS(`#news-title`)),
	)
}

// A campaign's page in both languages: the progress bar has its words,
// axe finds nothing serious, nothing scrolls sideways at 390 px.
func TestBrowserCampaignPage(t *testing.T) {
	t.Parallel()
	c := startCrieur(t, t.TempDir(), 0)
	a, code := c.post(map[string]any{"kind": "campaign", "title": "Keep our servers running", "body": "Give what you can.",
		"campaign": map[string]any{"goal": 3000, "raised": 1240, "link": "https://www.helloasso.com/associations/asso", "tax_note": "66 % deductible in France"}}, nil)
	if code != 201 {
		t.Fatalf("post: %d", code)
	}
	ctx := newBrowser(t)
	for _, lang := range []string{"en", "fr"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(c.objectURL(a.ID)+"?lang="+lang), chromedp.WaitVisible(chromedp.CSS(`progress`))); err != nil {
			t.Fatal(err)
		}
		label, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("progress").getAttribute("aria-label") + " / " + document.querySelector("progress").value`))
		want := map[string]string{"en": "Raised: 41 % / 1240", "fr": "Collecté\u202f: 41 % / 1240"}[lang]
		if label != want {
			t.Errorf("%s: the progress bar says %q, want %q", lang, label, want)
		}
		for _, v := range axeViolations(t, ctx) {
			t.Errorf("campaign page (%s): %s", lang, v)
		}
		noSidewaysScroll(ctx, t, fmt.Sprintf("%s: the campaign page scrolls sideways at 390 px", lang))
	}
}

// noSidewaysScroll fails the test when the page is wider than the 390 px
// window: a reader on a phone would have to scroll sideways.
func noSidewaysScroll(ctx context.Context, t *testing.T, what string) {
	t.Helper()
	sw, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	cw, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.clientWidth`))
	if sw > cw {
		t.Errorf("%s: %d > %d", what, sw, cw)
	}
}

// A training as an editor writes it in the form and as people read it:
// registering in English and in French at 390 px (a seat, then the waiting
// list), the events view, then cancelled; axe finds nothing serious on any
// of these pages.
func TestBrowserTraining(t *testing.T) {
	t.Parallel()
	c := startCrieur(t, t.TempDir(), 0)
	ctx := newBrowser(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	start := time.Now().Add(72 * time.Hour).Format("2006-01-02T15:04")
	err := chromedp.Do(ctx,
		signInEditor(c),
		chromedp.SetValue(css(`#news-kind`), "training"),
		chromedp.SendKeys(css(`#news-title`), "Git for beginners"),
		chromedp.SetValue(css(`#news-start`), start),
		chromedp.SendKeys(css(`#news-place`), "Room B12"),
		chromedp.SendKeys(css(`#news-seats`), "1"),
		chromedp.Click(css(`input[name=training_waitlist]`)),
		chromedp.SendKeys(css(`#news-level`), "beginners"),
		chromedp.SendKeys(css(`#news-bring`), "a laptop"),
		chromedp.Click(css(`form[action$="/new"] button[value=publish]`)),
		chromedp.WaitVisible(css(`.notice`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Kind     string
		Training struct {
			Seats    int
			Waitlist bool
			Level    string
		}
	}
	if c.api("GET", "/api/v1/boards/news/announcements/1", nil, nil, &got); got.Kind != "training" || got.Training.Seats != 1 || !got.Training.Waitlist || got.Training.Level != "beginners" {
		t.Fatalf("the editor's form saved %+v", got)
	}
	page := c.objectURL(1)
	register := func(lang, name string) string {
		t.Helper()
		err := chromedp.Do(ctx,
			chromedp.Navigate(page+"?lang="+lang),
			chromedp.WaitVisible(css(`#su-name`)),
		)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range axeViolations(t, ctx) {
			t.Errorf("training page (%s): %s", lang, v)
		}
		noSidewaysScroll(ctx, t, fmt.Sprintf("%s: the training page scrolls sideways at 390 px", lang))
		err = chromedp.Do(ctx,
			chromedp.SendKeys(css(`#su-name`), name),
			chromedp.Click(css(`#signup-h ~ form button[type=submit]`)),
			chromedp.WaitVisible(css(`.notice`)),
		)
		if err != nil {
			t.Fatal(err)
		}
		notice, _ := chromedp.Run(ctx, chromedp.Text(css(`.notice`)))
		return notice
	}
	if n := register("en", "Zoé"); !strings.Contains(n, "You are registered. See you there!") {
		t.Errorf("the first registrant reads %q", n)
	}
	if n := register("fr", "Yann"); !strings.Contains(n, "vous êtes sur la liste d’attente") {
		t.Errorf("the second registrant (in French) reads %q", n)
	}
	if shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile(filepath.Join(screenshotDir(t), "training-fr-390.png"), shot, 0o644)
	}
	facts, _ := chromedp.Run(ctx, chromedp.Text(css(`main`)))
	for _, want := range []string{"formation", "niveau", "à apporter", "complet (1)\u202f: liste d’attente ouverte"} {
		if !strings.Contains(strings.ToLower(facts), want) { // the kind is in capitals
			t.Errorf("the French page lacks %q:\n%s", want, facts)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(c.URL+"/boards/news/events?lang=fr"), chromedp.WaitReady(css(`main`))); err != nil {
		t.Fatal(err)
	}
	if events, _ := chromedp.Run(ctx, chromedp.Text(css(`main`))); !strings.Contains(events, "Git for beginners") {
		t.Errorf("the events view does not list the training:\n%s", events)
	}
	for _, v := range axeViolations(t, ctx) {
		t.Errorf("events page: %s", v)
	}
	ics := func(path string) string {
		t.Helper()
		resp, err := http.Get(c.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		return readAll(t, resp)
	}
	if feed := ics("/boards/news/events.ics"); !strings.Contains(feed, "SUMMARY;LANGUAGE=en:Git for beginners") || strings.Contains(feed, "STATUS:CANCELLED") {
		t.Errorf("the calendar feed should have the training, not cancelled:\n%s", feed)
	}
	// Cancelled from the editor: the page says so, in both languages.
	err = chromedp.Do(ctx,
		chromedp.Navigate(c.URL+"/edit/news/1"),
		chromedp.WaitVisible(css(`#training-h`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range axeViolations(t, ctx) {
		t.Errorf("the training's edit page: %s", v)
	}
	// The history of answers, opened, as an editor reads it at 390 px.
	if err := chromedp.Do(ctx, chromedp.Click(css(`details.history summary`)), chromedp.WaitVisible(css(`details.history ol`))); err != nil {
		t.Fatal(err)
	}
	if hist, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("details.history ol").innerText`)); strings.Count(hist, "(web page)")+strings.Count(hist, "(page web)") < 2 {
		t.Errorf("the history does not show the registrations:\n%s", hist)
	}
	for _, v := range axeViolations(t, ctx) {
		t.Errorf("the training's edit page, its history open: %s", v)
	}
	noSidewaysScroll(ctx, t, "the edit page's history scrolls sideways at 390 px")
	if err := chromedp.Do(ctx, chromedp.Click(css(`form[action$="/cancelled"] button`)), chromedp.WaitVisible(css(`.notice`))); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/boards/news/events.ics", "/boards/news/a/1/event.ics"} {
		if cal := ics(path); !strings.Contains(cal, "STATUS:CANCELLED") || !strings.Contains(cal, "SEQUENCE:2") {
			t.Errorf("%s should say the training is cancelled, as a newer version:\n%s", path, cal)
		}
	}
	for lang, want := range map[string]string{"en": "Cancelled\nthis training will not take place", "fr": "Annulée\ncette formation n’aura pas lieu"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(page+"?lang="+lang), chromedp.WaitReady(css(`main`))); err != nil {
			t.Fatal(err)
		}
		text, err := chromedp.Run(ctx, chromedp.Text(css(`main`)))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, want) || strings.Contains(text, "Your name") || strings.Contains(text, "Votre nom") {
			t.Errorf("the cancelled training's page (%s) should say %q and offer no registration:\n%s", lang, want, text)
		}
		for _, v := range axeViolations(t, ctx) {
			t.Errorf("cancelled training page (%s): %s", lang, v)
		}
	}
}

// Every editor page (sign-in, home with two boards, a call's edit page
// with sign-ups, the list of all, the channels, a delete's confirmation, a
// form sent back with a mistake, a preview), at 390 and 1280 px: axe-core
// finds no violation of any impact and nothing scrolls sideways (issue
// 25). One Chromium, one tab: the suite runs on two cores.
func TestBrowserEditorAccessible(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cli := func(args ...string) string {
		t.Helper()
		out, err := runCLI("", nil, append(args, "--data", dir)...)
		if err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
		return out
	}
	cli("board", "create", "news", "--display-name", "News", "--time-zone", "Europe/Paris")
	cli("board", "create", "climat", "--display-name", "Climat en transition")
	c := startCrieur(t, dir, 0)
	out := cli("token", "create")
	c.Token = strings.Fields(out[strings.Index(out, "crieur_"):])[0]
	a, code := c.post(map[string]any{"kind": "call", "title": "Cooks wanted for the neighbourhood fair", "call": map[string]any{
		"roles": []map[string]any{{"name": "cook", "places": 3}, {"name": "welcome desk volunteer", "places": 2}}, "contact": "fair@example.org"}}, nil)
	if code != 201 {
		t.Fatalf("post: %d", code)
	}
	// Long names and contacts, as people type them: the table must not
	// widen the page.
	for _, su := range []map[string]any{
		{"name": "Marie-Christine Delacroix-Beaumont", "contact": "marie-christine.delacroix-beaumont@association-exemple.org", "roles": []string{"welcome desk volunteer"}},
		{"name": "Zoé", "contact": "06 12 34 56 78", "roles": []string{"cook"}},
	} {
		if code := c.api("POST", fmt.Sprintf("/api/v1/boards/news/announcements/%d/signups", a.ID), su, nil, nil); code != 201 && code != 200 {
			t.Fatalf("sign-up: %d", code)
		}
	}
	ctx := newBrowser(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	shots := screenshotDir(t)
	for _, width := range []int{390, 1280} {
		check := func(page string) {
			t.Helper()
			// axe on a phone for every page, on a computer for the pages
			// whose layout changes with the width (the rest is the same
			// markup and colours).
			if width == 390 || page == "home" || page == "call with sign-ups" {
				for _, v := range axeViolations(t, ctx) {
					t.Errorf("%s at %d px: %s", page, width, v)
				}
			}
			if width == 390 {
				noSidewaysScroll(ctx, t, page+" scrolls sideways at 390 px")
			}
			if img, err := chromedp.Run(ctx, chromedp.FullScreenshot(85)); err == nil { // JPEG, as the public pages'
				_ = os.WriteFile(filepath.Join(shots, fmt.Sprintf("editor-%s-%d.jpg", strings.ReplaceAll(page, " ", "-"), width)), img, 0o644)
			}
		}
		do("width", emulateWidth(width))
		if width == 390 {
			do("sign-in page", chromedp.Navigate(c.URL+"/edit"), chromedp.WaitVisible(css(`#token`)))
			check("sign-in")
			do("sign-in", signInEditor(c))
		} else {
			do("home", chromedp.Navigate(c.URL+"/edit"), chromedp.WaitVisible(css(`#news-title`)))
		}
		check("home")
		// The first board's form is open (boards come by name); the
		// second's preview must come back by its own form.
		do("a mistake",
			chromedp.SendKeys(css(`#climat-title`), "Install party"),
			chromedp.SetValue(css(`#climat-kind`), "event"),
			chromedp.SetValue(css(`#climat-start`), "2027-12-05T14:00"),
			chromedp.SetValue(css(`#climat-end`), "2027-12-05T12:00"),
			chromedp.Click(css(`form[action="/edit/climat/new"] button[value=publish]`)),
			chromedp.WaitVisible(css(`.field-error`)),
		)
		check("form with errors")
		do("a preview on the second board",
			chromedp.Navigate(c.URL+"/edit"),
			chromedp.WaitVisible(css(`#climat-title`)),
			chromedp.Click(css(`details:has(#news-title) summary`)),
			chromedp.SendKeys(css(`#news-title`), "Repair café"),
			chromedp.Click(css(`form[action="/edit/news/new"] button[value=preview]`)),
			chromedp.WaitVisible(css(`#preview-h`)),
		)
		// Where the member pressed Preview: by the second board's form,
		// the page taken there (its heading focused).
		where, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const pv = document.querySelector(".preview");
			const after = f => !!(pv.compareDocumentPosition(document.querySelector(f)) & Node.DOCUMENT_POSITION_FOLLOWING);
			return [after('form[action="/edit/news/new"]'), after('form[action="/edit/climat/new"]'), document.activeElement.id].join(" ") })()`))
		if where != "true false preview-h" {
			t.Errorf("at %d px, the preview: before News's form, before Climat's, focused: %s; want true false preview-h", width, where)
		}
		check("preview")
		do("a call's edit page", chromedp.Navigate(fmt.Sprintf("%s/edit/news/%d", c.URL, a.ID)), chromedp.WaitVisible(css(`#signups-h`)))
		check("call with sign-ups")
		// On a computer the whole table shows, nothing hidden to its right.
		if fits, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`(t => t.scrollWidth <= t.clientWidth)(document.querySelector("table.signups"))`)); width == 1280 && !fits {
			t.Error("the sign-ups table scrolls inside its box at 1280 px")
		}
		if width == 390 {
			// French words are longer; the choice then holds for the
			// pages after, at both widths.
			do("a call's edit page in French", chromedp.Navigate(fmt.Sprintf("%s/edit/news/%d?lang=fr", c.URL, a.ID)), chromedp.WaitVisible(css(`#signups-h`)))
			check("call with sign-ups in French")
		}
		do("delete confirmation", chromedp.Click(css(`form[action$="/delete"] button`)), chromedp.WaitReady(css(`input[name=confirm]`)))
		check("delete confirmation")
		do("list", chromedp.Navigate(c.URL+"/edit/news/all?q=cooks"), chromedp.WaitVisible(css(`#q`)))
		check("list")
		do("channels", chromedp.Navigate(c.URL+"/edit/news/destinations"), chromedp.WaitVisible(css(`#mattermost-hook-name`)))
		check("channels")
	}
}
