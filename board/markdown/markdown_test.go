package markdown

import (
	"regexp"
	"strings"
	"testing"
)

var (
	scriptRe  = regexp.MustCompile(`(?i)<\s*(script|iframe|object|embed|style|img|form|input)`)
	handlerRe = regexp.MustCompile(`(?i)<[^>]*\son[a-z]+\s*=`)
	jsURLRe   = regexp.MustCompile(`(?i)(href|src)\s*=\s*"\s*(javascript|data|vbscript):`)
	plainRe   = regexp.MustCompile(`[^A-Za-z ,\n]`)
)

// Markdown rendering: the output is always safe to show, and plain text
// (words and sentences, no markup) comes out whole.

func FuzzMarkdown(f *testing.F) {
	f.Add("Hello **world**, see https://example.org and <script>alert(1)</script>")
	f.Add("[x](javascript:alert(1)) ![alt](http://x/i.png) <a href=x onclick=y>z</a>")
	f.Add("# Title\n\n- a\n- b\n\n```\ncode\n```\n")
	r := New()
	f.Fuzz(func(t *testing.T, md string) {
		out, err := r.HTML(md)
		if err != nil {
			t.Fatal(err)
		}
		if scriptRe.MatchString(out) || handlerRe.MatchString(out) || jsURLRe.MatchString(out) {
			t.Fatalf("unsafe HTML out of %q:\n%s", md, out)
		}
		plain := plainRe.ReplaceAllString(md, "")
		pout, _ := r.HTML(plain)
		text := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(pout, " ")
		for _, w := range strings.Fields(plain) {
			w = strings.Trim(w, ".,")
			if w != "" && !strings.Contains(text, w) {
				t.Fatalf("the word %q of plain text %q was lost: %s", w, plain, pout)
			}
		}
	})
}

func TestMarkdownIsSanitised(t *testing.T) {
	r := New()
	for in, bad := range map[string]string{
		"<script>alert(1)</script>":           "<script",
		"[x](javascript:alert(1))":            "javascript:",
		"<img src=x onerror=alert(1)>":        "onerror",
		`<a href="https://x" style="a">y</a>`: "style",
	} {
		out, err := r.HTML(in)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, bad) {
			t.Errorf("%q rendered as %q, which keeps %q", in, out, bad)
		}
	}
	out, _ := r.HTML("**bold** and https://example.org")
	if !strings.Contains(out, "<strong>bold</strong>") || !strings.Contains(out, `href="https://example.org"`) || !strings.Contains(out, `rel="nofollow`) {
		t.Errorf("markdown rendered as %q", out)
	}
}
