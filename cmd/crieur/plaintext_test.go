package main

import (
	"strings"
	"testing"

	"maunium.net/go/mautrix/event"

	"crieur/board"
	"crieur/board/locale"
	"crieur/board/markdown"
	"crieur/federation/discourse"
	"crieur/federation/email"
	"crieur/federation/matrix"
	"crieur/federation/mattermost"
)

// Issue 23, point 9: one table for every destination that reads the
// editor's Markdown source rather than the sanitised HTML: Mattermost
// (Markdown, through Slack-compatible webhooks), a Discourse topic
// (Markdown), an e-mail's text part
// and a Matrix event's body. Each follows the HTML rendering's rules.
func TestPlainTextDestinationsFollowTheHTMLRules(t *testing.T) {
	md := markdown.New()
	renderers := map[string]func(a board.Announcement) string{
		"mattermost": func(a board.Announcement) string {
			return mattermost.Render(locale.Of(board.Board{}, a), a, "https://board.example/a/1", false, nil)
		},
		"discourse": func(a board.Announcement) string {
			return discourse.Body(locale.Of(board.Board{}, a), a, "https://board.example/a/1")
		},
		"e-mail text": func(a board.Announcement) string {
			text, _ := email.Render(board.Board{DisplayName: "News"}, a, "https://board.example/a/1", false, nil)
			return text
		},
		"matrix body": func(a board.Announcement) string {
			c, _, err := matrix.Render(locale.Of(board.Board{}, a), a, "https://board.example/a/1", event.MsgText, "", md.HTML)
			if err != nil {
				t.Fatal(err)
			}
			return c.Body
		},
	}
	for _, c := range []struct {
		name, body string
		gone       []string // must not reach a reader
		kept       []string // must
	}{
		{"a script link", "Sign up [here](javascript:alert(document.cookie)) today.", []string{"javascript:"}, []string{"Sign up here today."}},
		{"a data link", "[Open](data:text/html;base64,PHNjcmlwdD4=)", []string{"data:"}, []string{"Open"}},
		{"a tracking picture", "![Our stall](https://tracker.example/p.png)", []string{"![", "!["}, []string{"[Our stall](https://tracker.example/p.png)"}},
		{"a reference picture", "![logo][l]\n\n[l]: https://tracker.example/p.png", []string{"!["}, []string{"[logo][l]"}},
		{"a reference to a script", "[Click][x]\n\n[x]: javascript:alert(1)", []string{"javascript:"}, []string{"Click"}},
		{"an autolink to a script", "Go <javascript:alert(1)> now", []string{"javascript:"}, []string{"Go  now"}},
		{"Slack's mentions", "Hello <!channel> and <!here>, <!everyone>, <@U024BE7LH>", []string{"<!", "<@"}, []string{"<\u2060!channel>", "<\u2060!here>", "<\u2060@"}},
		{"a plain link", "Read [the minutes](https://asso.example/minutes) and write to [us](mailto:a@asso.example).",
			nil, []string{"[the minutes](https://asso.example/minutes)", "[us](mailto:a@asso.example)"}},
	} {
		a := board.Announcement{ID: 1, Kind: board.KindNews, Title: "Fair", Body: c.body, Language: "en"}
		html, err := md.HTML(c.body)
		if err != nil {
			t.Fatal(err)
		}
		a.HTML = html
		for name, render := range renderers {
			out := render(a)
			for _, g := range c.gone {
				if strings.Contains(out, g) {
					t.Errorf("%s, %s: %q reaches the reader:\n%s", c.name, name, g, out)
				}
			}
			for _, k := range c.kept {
				if !strings.Contains(out, k) {
					t.Errorf("%s, %s: %q is missing:\n%s", c.name, name, k, out)
				}
			}
			if name == "mattermost" || name == "discourse" {
				if bad := markdown.Unsafe(out); bad != "" {
					t.Errorf("%s: %s would show %s:\n%s", c.name, name, bad, out)
				}
			}
		}
		// The HTML rendering, which the others now follow, links none.
		if strings.Contains(html, `href="javascript`) || strings.Contains(html, `href="data`) || strings.Contains(html, "<img") {
			t.Errorf("%s: the HTML rendering keeps it: %s", c.name, html)
		}
	}
}
