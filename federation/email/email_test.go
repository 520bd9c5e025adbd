package email

import (
	"strings"
	"testing"
	"time"

	"crieur/board"
)

func TestCheckNamesEachFieldAndFillsPorts(t *testing.T) {
	s := Setup{SMTP: SMTP{Host: "smtp.example.org", Security: "tls", From: "Board <board@example.org>"},
		Lists: []List{{Name: "users", To: "users@lists.example.org", Kinds: []board.Kind{board.KindOutage}, ListUnsubscribe: "<mailto:u-unsub@lists.example.org>"}}}
	if errs := Check(&s); len(errs) != 0 || s.SMTP.Port != 465 {
		t.Fatalf("a good set-up: %v, port %d", errs, s.SMTP.Port)
	}
	bad := Setup{SMTP: SMTP{Host: "smtp example", Security: "ssl", From: "nobody"},
		Lists: []List{{Name: "a b", To: "x"}, {Name: "ok", To: "ok@example.org", Kinds: []board.Kind{"party"}, ListUnsubscribe: "mailto:x\r\nBcc: all"}}}
	errs := Check(&bad)
	for _, k := range []string{"smtp.host", "smtp.security", "smtp.from", "lists[0].name", "lists[0].to", "lists[1].kinds", "lists[1].list_unsubscribe"} {
		if errs[k].Key == "" {
			t.Errorf("no complaint about %s: %v", k, errs)
		}
	}
	// A password over an unencrypted connection is refused when saved,
	// not at each send ("the exchange failed", a trial); a local relay
	// without one is fine.
	clear := Setup{SMTP: SMTP{Host: "127.0.0.1", Security: "none", Username: "crieur", Password: "secret", From: "board@example.org"}}
	if errs := Check(&clear); errs["smtp.security"].Key != "problem.smtp_auth_in_clear" {
		t.Errorf("a username over no encryption: %v", errs)
	}
	relay := Setup{SMTP: SMTP{Host: "127.0.0.1", Security: "none", From: "board@example.org"}}
	if errs := Check(&relay); len(errs) != 0 || relay.SMTP.Port != 25 {
		t.Errorf("a local relay: %v, port %d", errs, relay.SMTP.Port)
	}
}

func TestRenderBothParts(t *testing.T) {
	b := board.Board{Name: "news", DisplayName: "Climate <group>"}
	a := board.Announcement{Kind: board.KindOutage, Title: "Mail <down>", Body: "We are **on it**.", HTML: "<p>We are <strong>on it</strong>.</p>",
		Outage: &board.Outage{Service: "mail"}, Images: []board.Image{{ID: "x.jpg", Alt: "The server room"}}}
	text, html := Render(b, a, "https://board.example/boards/news/a/1", false, nil)
	for _, want := range []string{"Service outage: Mail <down>", "Service: mail", "We are **on it**.", "[Picture: The server room]", "https://board.example/boards/news/a/1", "Climate <group>, published with Crieur"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	for _, want := range []string{"<h2>Service outage: Mail &lt;down&gt;</h2>", "<strong>on it</strong>", "Climate &lt;group&gt;"} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q:\n%s", want, html)
		}
	}
	if text, _ := Render(b, a, "L", true, nil); !strings.HasPrefix(text, "Mail <down> was updated") {
		t.Errorf("follow-up: %q", text)
	}
	tr := board.Announcement{Kind: board.KindTraining, Title: "Git", Training: &board.Training{Seats: 3, Cancelled: true}}
	if text, html := Render(b, tr, "L", true, nil); !strings.HasPrefix(text, "Git is cancelled: it will not take place.") || !strings.Contains(html, "<strong>Git</strong> is cancelled") {
		t.Errorf("a cancellation's follow-up: %q / %q", text, html)
	}
	tr.Training = &board.Training{Seats: 3, BackOn: true}
	if text, _ := Render(b, tr, "L", true, nil); !strings.HasPrefix(text, "Git is back on: it takes place after all.") {
		t.Errorf("an undone cancellation's follow-up: %q", text)
	}
}

// Issue 24, point 9: a follow-up mail says what changed, as it now reads.
func TestFollowUpMailSaysWhatChanged(t *testing.T) {
	b := board.Board{Name: "news", DisplayName: "News", TimeZone: "Europe/Paris"}
	start := time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)
	a := board.Announcement{Kind: board.KindEvent, Title: "Install party", Event: &board.Event{Start: start, Place: "Room 102"}}
	text, html := Render(b, a, "https://board.example/a/1", true, []string{board.ChangeWhen, board.ChangeWhere})
	for _, want := range []string{"Install party was updated.", "New time: Sat 5 Dec 2026, 19:00 (Paris time)", "New place: Room 102", "https://board.example/a/1"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(html, "New time:") {
		t.Errorf("HTML: %s", html)
	}
	if text, _ := Render(b, a, "https://board.example/a/1", true, nil); strings.Contains(text, "New time") {
		t.Errorf("nothing changed that a follow-up names, yet:\n%s", text)
	}
}
