package markdown

import (
	"strings"
	"testing"
)

// unsafeIn is what a reader would show of md that the HTML rendering
// does not (Unsafe), and Slack's markup.
func unsafeIn(md string) string {
	for _, s := range []string{"<!", "<@", "<#"} {
		if strings.Contains(md, s) {
			return "Slack markup " + s
		}
	}
	return Unsafe(md)
}

// Issue 23, point 9: what the HTML rendering drops does not reach the
// destinations that read the Markdown source (the table of all three
// renderers is in cmd/crieur, TestPlainTextDestinationsFollowTheHTMLRules).
func TestSafeSourceFollowsTheHTMLRules(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"See [our page](https://asso.example/join).", "See [our page](https://asso.example/join)."},
		{"Write to [us](mailto:hello@asso.example).", "Write to [us](mailto:hello@asso.example)."},
		{"[Click](javascript:alert(1)) now", "Click now"},
		{"[Click](JaVaScRiPt:alert(1))", "Click"},
		{"[Data](data:text/html;base64,PHNjcmlwdD4=)", "Data"},
		{"[relative](/boards/news)", "relative"},
		{"![The stall](https://tracker.example/pixel.png)", "[The stall](https://tracker.example/pixel.png)"},
		{"![](https://x.example/a.png)", "https://x.example/a.png"},
		{"![x](javascript:alert(1))", "x"},
		{"A [ref][r] and ![img][r]\n\n[r]: javascript:alert(1)\n", "A [ref][r] and [img][r]\n\n\n"},
		{"<javascript:alert(1)> and <https://ok.example>", " and <https://ok.example>"},
		{"<!channel> <!here> <@U123> <#C1>", "<\u2060!channel> <\u2060!here> <\u2060@U123> <\u2060#C1>"},
	} {
		got := SafeSource(c.in)
		if got != c.want {
			t.Errorf("SafeSource(%q) = %q, want %q", c.in, got, c.want)
		}
		if bad := unsafeIn(got); bad != "" {
			t.Errorf("SafeSource(%q) still has %s", c.in, bad)
		}
	}
}

func FuzzSafeSource(f *testing.F) {
	for _, s := range []string{"[a](javascript:x)", "![a](https://x/y.png)", "![a][r]\n\n[r]: https://x/y.png", "<!channel>", "[a]( <javascript:x> \"t\")",
		"[a](https://x) [b](vbscript:y)", "![![a](b)](c)", "[\\]](javascript:x)", "<mailto:a@b>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, md string) {
		if bad := unsafeIn(SafeSource(md)); bad != "" {
			t.Fatalf("SafeSource(%q) = %q still has %s", md, SafeSource(md), bad)
		}
	})
}

// Issue 24, point 8: a relative link points at the board's server in
// every destination, not at the reader's.
func TestAbsoluteLinks(t *testing.T) {
	const base = "https://crieur.example/boards/news"
	for md, want := range map[string]string{
		"See [our page](/boards/news).":                       "See [our page](https://crieur.example/boards/news).",
		"[next](page.html \"title\")":                         "[next](https://crieur.example/boards/page.html \"title\")",
		"[x](<../a b>)":                                       "[x](https://crieur.example/a%20b)",
		"![logo](/media/1)":                                   "![logo](https://crieur.example/media/1)",
		"[ref]\n\n[ref]: /boards/news/a/2":                    "[ref]\n\n[ref]: https://crieur.example/boards/news/a/2",
		"[kept](https://other.example/x) [m](mailto:a@b.org)": "[kept](https://other.example/x) [m](mailto:a@b.org)",
		"[anchor](#top) and no link":                          "[anchor](#top) and no link",
		// A site typed without its scheme is that site, not a page of
		// the board (a trial's link led to a "not found" page).
		"[our site](www.asso.example)":        "[our site](https://www.asso.example)",
		"[agenda](asso.example/agenda?y=1)":   "[agenda](https://asso.example/agenda?y=1)",
		"[ref2]\n\n[ref2]: www.asso.example":  "[ref2]\n\n[ref2]: https://www.asso.example",
		"[write to us](contact@asso.example)": "[write to us](mailto:contact@asso.example)",
		// A phone link is a link nowhere: its number is written out.
		"[call us](tel:+33612345678) or [+33 6 12 34 56 78](tel:+33612345678)": "call us (+33612345678) or +33 6 12 34 56 78",
	} {
		if got := Absolute(md, base); got != want {
			t.Errorf("%q: %q, want %q", md, got, want)
		}
	}
	h, _ := New().HTML(Absolute("See [our page](/boards/news).", base))
	if !strings.Contains(h, `href="https://crieur.example/boards/news"`) {
		t.Errorf("rendered: %s", h)
	}
}
