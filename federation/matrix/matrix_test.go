package matrix

import (
	"context"
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
	"crieur/federation/delivery"
)

func TestRenderShowsTheKindAndDefusesMentions(t *testing.T) {
	start := time.Date(2026, 12, 5, 14, 0, 0, 0, time.FixedZone("CET", 3600))
	a := board.Announcement{ID: 3, Board: "news", Kind: board.KindEvent, Title: "Install party @room", Body: "Bring a laptop, @everyone!",
		HTML: `<p>Bring a laptop, @everyone! <a href="mailto:a@b.org">mail</a></p>`, Tags: []string{"libre"},
		Event: &board.Event{Start: start, Place: "Town hall"}}
	c := Render(a, "https://board.example/boards/news/a/3", event.MsgNotice)
	for _, want := range []string{"Event: Install party", "When: Sat 5 Dec 2026, 14:00 (CET)", "Where: Town hall", "#libre", "https://board.example/boards/news/a/3"} {
		if !strings.Contains(c.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, c.Body)
		}
	}
	if strings.Contains(c.Body, "@room") || strings.Contains(c.Body, "@everyone") || strings.Contains(c.FormattedBody, "@room") || strings.Contains(c.FormattedBody, ">@everyone") {
		t.Errorf("mentions left in:\n%s\n%s", c.Body, c.FormattedBody)
	}
	if !strings.Contains(c.FormattedBody, `href="mailto:a@b.org"`) {
		t.Errorf("a link was broken: %s", c.FormattedBody)
	}
	if c.Mentions == nil || c.Mentions.Room || len(c.Mentions.UserIDs) != 0 || c.MsgType != event.MsgNotice {
		t.Errorf("content = %+v", c)
	}
	if got := neutralise("write to fair@example.org or @bob:example.org"); got != "write to fair@example.org or @"+wordJoiner+"bob:example.org" {
		t.Errorf("neutralise = %q", got)
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
	b := NewBridge(nil, nil, nil, nil, time.Second, slog.New(slog.DiscardHandler))
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

func isLocal(err error) bool {
	var l *delivery.LocalError
	return errors.As(err, &l)
}

func isPermanent(err error) bool {
	var p *delivery.PermanentError
	return errors.As(err, &p)
}
