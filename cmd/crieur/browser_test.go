package main

// Tests that drive the pages in headless Chromium (Debian's package, which
// the test command installs), as a visitor would.

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// newBrowser starts headless Chromium for one test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	requireTool(t, "chromium")
	path, _ := exec.LookPath("chromium")
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
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	return ctx
}

// Acceptance 3 of the sign-ups: a visitor signs up on the call's page and
// withdraws through the private link, in a browser at 390 px.
func TestBrowserSignUpAndWithdraw(t *testing.T) {
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
	scrollWidth, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	clientWidth, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.clientWidth`))
	if scrollWidth > clientWidth {
		t.Errorf("the call's page scrolls sideways at 390 px: %d > %d", scrollWidth, clientWidth)
	}
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
}
