package matrix

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"crieur/board"
	"crieur/board/cut"
	"crieur/board/locale"
	"crieur/board/markdown"
	"crieur/federation/delivery"
	"crieur/federation/outbound"
)

func TestRenderShowsTheKindAndDefusesMentions(t *testing.T) {
	start := time.Date(2026, 12, 5, 14, 0, 0, 0, time.FixedZone("CET", 3600))
	a := board.Announcement{ID: 3, Board: "news", Kind: board.KindEvent, Title: "Install party @room", Body: "Bring a laptop, @everyone!",
		HTML: `<p>Bring a laptop, @everyone! <a href="mailto:a@b.org">mail</a></p>`, Tags: []string{"libre"},
		Event: &board.Event{Start: start, Place: "Town hall"}}
	c, at, err := Render(enParis, a, "https://board.example/boards/news/a/3", event.MsgNotice, "", markdown.New().HTML)
	if err != nil || at != cut.Whole {
		t.Fatalf("render: cut %v, %v", at, err)
	}
	for _, want := range []string{"Event: Install party", "When: Sat 5 Dec 2026, 14:00 (Paris time)", "Where: Town hall", "#libre", "https://board.example/boards/news/a/3"} {
		if !strings.Contains(c.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, c.Body)
		}
	}
	if strings.Contains(c.Body, "@room") || strings.Contains(c.FormattedBody, "@room") {
		t.Errorf("mentions left in:\n%s\n%s", c.Body, c.FormattedBody)
	}
	if !strings.Contains(c.FormattedBody, `href="mailto:a@b.org"`) {
		t.Errorf("a link was broken: %s", c.FormattedBody)
	}
	if c.Mentions == nil || c.Mentions.Room || len(c.Mentions.UserIDs) != 0 || c.MsgType != event.MsgNotice {
		t.Errorf("content = %+v", c)
	}
	for in, want := range map[string]string{
		"write to fair@example.org or @bob:example.org": "write to fair@example.org or @" + wordJoiner + "bob:example.org",
		// URLs keep their @: they must still work.
		"see https://mastodon.social/@alice and all.@room": "see https://mastodon.social/@alice and all.@" + wordJoiner + "room",
		"(@Room) mailto:x@y.org":                           "(@" + wordJoiner + "Room) mailto:x@y.org",
		"@alice without a server is no Matrix mention":     "@alice without a server is no Matrix mention",
	} {
		if got := neutralise(in); got != want {
			t.Errorf("neutralise(%q) = %q, want %q", in, got, want)
		}
	}
	h := neutraliseHTML(`<p><a href="https://matrix.to/#/@bob:example.org">Bob</a> and <a href="https://mastodon.social/@alice">https://mastodon.social/@alice</a></p>`)
	if strings.Contains(h, "matrix.to") || !strings.Contains(h, "Bob and") || !strings.Contains(h, `<a href="https://mastodon.social/@alice">https://mastodon.social/@alice</a>`) {
		t.Errorf("neutraliseHTML = %s", h)
	}
}

func TestRenderWarningsLinksAndEdits(t *testing.T) {
	a := board.Announcement{ID: 4, Board: "news", Kind: board.KindCall, Title: "Cooks", Body: "Help", HTML: "<p>Help</p>", ContentWarning: `food <b>`,
		Call: &board.Call{Roles: []board.Role{{Name: "cook", Places: 2}}, Contact: "fair@example.org"}}
	link := "https://board.example/boards/news/a/4"
	c, _, _ := Render(enParis, a, link, event.MsgNotice, "", markdown.New().HTML)
	if !strings.Contains(c.FormattedBody, `<span data-mx-spoiler="food &lt;b&gt;">`) || !strings.Contains(c.FormattedBody, `<a href="mailto:fair@example.org">fair@example.org</a>`) {
		t.Errorf("formatted body: %s", c.FormattedBody)
	}
	// Issue 24, point 4: the plain body (notifications, text-only
	// clients) has no spoiler: it says there is hidden text and links to
	// it, and shows none of it.
	if strings.Contains(c.Body, "Help") || strings.Contains(c.Body, "fair@example.org") ||
		!strings.Contains(c.Body, "Content warning: food <b>") || !strings.Contains(c.Body, "hidden behind this warning") || !strings.HasSuffix(c.Body, link) {
		t.Errorf("plain body shows what the warning hides, or no way to it: %q", c.Body)
	}
	e, _, _ := Render(enParis, a, link, event.MsgNotice, "$orig", markdown.New().HTML)
	if e.RelatesTo.GetReplaceID() != "$orig" || e.NewContent == nil || e.NewContent.FormattedBody != c.FormattedBody {
		t.Fatalf("edit: %+v", e)
	}
	if !strings.HasPrefix(e.FormattedBody, "<p>* <strong>") || !strings.HasPrefix(e.Body, "* Call for volunteers: Cooks") {
		t.Errorf("edit fallback: %q / %q", e.Body, e.FormattedBody)
	}
}

// A text the API accepts always fits in one event: the longest body, in a
// script of two-byte letters, is cut at a paragraph with a link.
func TestRenderCutsToFitAnEvent(t *testing.T) {
	r := markdown.New()
	para := strings.Repeat("Привет мир ", 90) // about 1,000 characters
	var paras []string
	for len(strings.Join(paras, "\n\n")) < 2*board.MaxBody {
		paras = append(paras, strings.TrimSpace(para))
	}
	body := strings.Join(paras, "\n\n")
	body = string([]rune(body)[:board.MaxBody-100])
	h, _ := r.HTML(body)
	a := board.Announcement{ID: 5, Board: "news", Kind: board.KindNews, Title: "Long", Body: body, HTML: h}
	link := "https://board.example/boards/news/a/5"
	for _, orig := range []id.EventID{"", "$orig"} {
		c, at, err := Render(enParis, a, link, event.MsgNotice, orig, r.HTML)
		if err != nil || at != cut.Paragraph {
			t.Fatalf("cut %v, %v", at, err)
		}
		if raw := canonicalSize(c); raw > maxContentBytes {
			t.Fatalf("content is %d bytes", raw)
		}
		full := c
		if orig != "" {
			full = c.NewContent
		}
		if !strings.Contains(full.Body, "… read more: "+link) || !strings.Contains(full.FormattedBody, `<a href="`+link+`">read more</a>`) {
			t.Errorf("no read-more link")
		}
		// Cut at a paragraph: the kept text ends with a whole paragraph.
		if !strings.Contains(full.Body, strings.TrimSpace(para)+"\n\n… read more") {
			t.Errorf("not cut at a paragraph")
		}
		if len(full.Body) < 20000 {
			t.Errorf("cut far too early: %d bytes kept", len(full.Body))
		}
	}
	// One huge paragraph is cut at a word; one with no space (issue 24,
	// point 5: a 19,900-character word, 19,900 emoji), between two
	// characters, keeping as much as fits rather than nothing.
	for _, c := range []struct {
		name, body, kept string
		at               cut.Point
	}{
		{"words", strings.Repeat("слово ", board.MaxBody/6), "слово …", cut.Word},
		{"one word", strings.Repeat("ж", 19_900), "жжж …", cut.Grapheme},
		{"emoji", strings.Repeat("🙂", 19_900), "🙂🙂 …", cut.Word},
	} {
		h, _ = r.HTML(c.body)
		got, at, err := Render(enParis, board.Announcement{ID: 6, Board: "news", Title: "One", Body: c.body, HTML: h}, link, event.MsgNotice, "", r.HTML)
		if raw := canonicalSize(got); err != nil || at != c.at || raw > maxContentBytes || !strings.Contains(got.Body, c.kept) || len(got.Body) < 10_000 {
			t.Errorf("%s: cut at %v, err %v, %d bytes, body of %d bytes", c.name, at, err, raw, len(got.Body))
		}
	}
	// A short text is left whole.
	if _, at, _ := Render(enParis, board.Announcement{ID: 7, Board: "news", Title: "Short", Body: "Hi", HTML: "<p>Hi</p>"}, link, event.MsgNotice, "", r.HTML); at != cut.Whole {
		t.Error("a short text was cut")
	}
}

// A fake homeserver is enough to check how errors are read; the real
// behaviour is tested against Dendrite in cmd/crieur.
func TestExplainHomeserverErrors(t *testing.T) {
	answers := map[string]struct {
		status int
		body   string
	}{
		"/limited":   {429, `{"errcode":"M_LIMIT_EXCEEDED","error":"slow down","retry_after_ms":1500}`},
		"/forbidden": {403, `{"errcode":"M_FORBIDDEN","error":"no"}`},
		"/token":     {401, `{"errcode":"M_UNKNOWN_TOKEN","error":"who?"}`},
		"/toolarge":  {413, `{"errcode":"M_TOO_LARGE","error":"big"}`},
		"/down":      {502, `bad gateway`},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for prefix, a := range answers {
			if strings.HasPrefix(r.URL.Path, prefix) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(a.status)
				w.Write([]byte(a.body))
				return
			}
		}
	}))
	defer srv.Close()
	b := NewBridge(nil, nil, nil, nil, nil, outbound.NewClient(time.Second, true), slog.New(slog.DiscardHandler))
	for path, check := range map[string]func(error) bool{
		"/limited": func(err error) bool {
			var ra *delivery.RetryAfterError
			return errors.As(err, &ra) && ra.After == 1500*time.Millisecond
		},
		"/forbidden": func(err error) bool {
			return strings.Contains(err.Error(), "may not post") && !isPermanent(err) && isLocal(err)
		},
		"/token": func(err error) bool {
			return strings.Contains(err.Error(), "rejected the access token") && !isPermanent(err) && isLocal(err)
		},
		"/toolarge": isPermanent,
		"/down": func(err error) bool {
			return strings.Contains(err.Error(), "unreachable or failing") && !isPermanent(err) && !isLocal(err)
		},
	} {
		acct := Account{BoardID: 1, Homeserver: srv.URL + path, UserID: "@bot:example.org", AccessToken: "t", MsgType: "m.notice"}
		cli, _ := b.client(acct)
		_, err := cli.SendMessageEvent(context.Background(), id.RoomID("!r:example.org"), event.EventMessage, map[string]string{"body": "x"})
		if err == nil {
			t.Fatalf("%s: no error", path)
		}
		if got := b.explain(acct, "!r:example.org", err); !check(got) {
			t.Errorf("%s: explained as %v", path, got)
		}
	}
}

// canonicalSize is the JSON size as a homeserver counts it (no escaping
// of < > &).
func canonicalSize(v any) int {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return buf.Len()
}

func isLocal(err error) bool {
	var l *delivery.LocalError
	return errors.As(err, &l)
}

func isPermanent(err error) bool {
	var p *delivery.PermanentError
	return errors.As(err, &p)
}

// What arrives from the sync loop (a reply's body, any text an editor
// writes): defusing mentions keeps URLs, and a rendered message always fits.
func FuzzMatrixText(f *testing.F) {
	f.Add("> <@bot:example.org> Event: x\n> more\n\nI bring bread @room https://a.example/@alice")
	f.Add("@room@room @a:b:c:1 mailto:a@b @@ <a href=\"https://matrix.to/#/@x:y\">x</a>")
	r := markdown.New()
	f.Fuzz(func(t *testing.T, s string) {
		_ = replyText(s)
		n := neutralise(s)
		for _, u := range urlRe.FindAllString(s, -1) {
			if !strings.Contains(n, u) {
				t.Fatalf("the URL %q was changed in %q", u, n)
			}
		}
		_ = neutraliseHTML(s)
		body := s
		if len(body) > 40000 {
			body = body[:40000]
		}
		h, _ := r.HTML(body)
		c, _, err := Render(enParis, board.Announcement{ID: 1, Board: "news", Title: "T", Body: body, HTML: h}, "https://b.example/a/1", event.MsgNotice, "", r.HTML)
		if err == nil && canonicalSize(c) > maxContentBytes {
			t.Fatalf("%d bytes", canonicalSize(c))
		}
	})
}

// Events from the sync loop, as any client or server may shape them:
// parsing their content and reading their relations never panics.
func FuzzMatrixEvent(f *testing.F) {
	f.Add(`{"msgtype":"m.text","body":"> <@a:b> x\n\nhi","m.relates_to":{"rel_type":"m.thread","event_id":"$e","m.in_reply_to":{"event_id":"$r"}}}`, `{"m.relates_to":{"rel_type":"m.annotation","event_id":"$e","key":"👍"}}`)
	f.Add(`{"msgtype":"m.text","body":"* x","m.new_content":{"body":"x"},"m.relates_to":{"rel_type":"m.replace","event_id":"$e"}}`, `{"redacts":"$x"}`)
	f.Add(`{"m.relates_to":"x","body":5}`, `[]`)
	f.Fuzz(func(t *testing.T, message, other string) {
		for typ, raw := range map[event.Type]string{event.EventMessage: message, event.EventReaction: other, event.EventRedaction: other, event.StateMember: other, event.StatePowerLevels: other} {
			c := event.Content{VeryRaw: json.RawMessage(raw)}
			if c.ParseRaw(typ) != nil {
				continue
			}
			switch typ {
			case event.EventMessage:
				m := c.AsMessage()
				_ = m.RelatesTo.GetReplaceID()
				_ = m.RelatesTo.GetThreadParent()
				_ = m.RelatesTo.GetReplyTo()
				_ = replyText(m.Body)
				if m.NewContent != nil {
					_ = replyText(m.NewContent.Body)
				}
			case event.EventReaction:
				r := c.AsReaction()
				_ = r.RelatesTo.GetAnnotationID()
				_ = r.RelatesTo.GetAnnotationKey()
			case event.EventRedaction:
				_ = c.AsRedaction().Redacts
			case event.StateMember:
				_ = c.AsMember().Membership
			case event.StatePowerLevels:
				pl := c.AsPowerLevels()
				_ = pl.GetUserLevel("@bot:example.org") >= pl.GetEventLevel(event.EventMessage)
			}
		}
	})
}

// enParis is how a board in Paris renders an English announcement.
var enParis = func() locale.Locale {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	return locale.For("en").InZone(paris)
}()
