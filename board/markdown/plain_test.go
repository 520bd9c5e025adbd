package markdown

import "testing"

func TestPlainHTML(t *testing.T) {
	for in, want := range map[string]string{
		"":                                   "",
		"One line & more":                    "<p>One line &amp; more</p>",
		"Line one.\nLine two.":               "<p>Line one.<br>Line two.</p>",
		"First.\r\n\r\nSecond.":              "<p>First.</p><p>Second.</p>",
		"See https://example.org/a?b=1&c=2.": `<p>See <a href="https://example.org/a?b=1&amp;c=2" rel="nofollow noopener">https://example.org/a?b=1&amp;c=2</a>.</p>`,
		"(http://x.example/p) <b>":           `<p>(<a href="http://x.example/p" rel="nofollow noopener">http://x.example/p</a>) &lt;b&gt;</p>`,
		"javascript:alert(1) ftp://x":        "<p>javascript:alert(1) ftp://x</p>",
	} {
		if got := PlainHTML(in); got != want {
			t.Errorf("PlainHTML(%q) = %s, want %s", in, got, want)
		}
	}
}
