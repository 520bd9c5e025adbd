package board_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"crieur/board"
	"crieur/board/boardtest"
)

// Issue 26, item 5: an outage notice that reached Mastodon too late for
// home timelines is posted again, as a fresh post in its language that
// says what is down and links the first; once however often it is asked
// in a minute; never for an outage that is over or another kind.
func TestReannounceAnOutageNotice(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	// Both requests in one minute, whatever the test's own pace.
	rig.Clock.Set(time.Now().Truncate(time.Minute).Add(10 * time.Second))
	svc, b := rig.Service, boardtest.FrenchBoard()
	b, _, err := svc.EnsureBoard(ctx, b.Name, b.DisplayName)
	if err != nil {
		t.Fatal(err)
	}
	b.Language = "fr"
	if b, err = svc.SetBoard(ctx, b); err != nil {
		t.Fatal(err)
	}
	notice, _, err := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindOutage, Title: "Messagerie en panne", Body: "Nous cherchons.",
		Outage: &board.Outage{Service: "mail", From: rig.Clock.Now().Add(-7 * time.Hour)}}, "")
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := svc.Reannounce(ctx, board.System, b, notice.ID)
	if err != nil {
		t.Fatal(err)
	}
	link := boardtest.Links{}.AnnouncementURL(b.Name, notice.ID)
	if fresh.ID == notice.ID || fresh.Kind != board.KindNews || fresh.Title != "Toujours d’actualité\u202F: Messagerie en panne" ||
		!strings.Contains(fresh.Body, "mail") || !strings.Contains(fresh.Body, link) || !strings.Contains(fresh.Body, "L’avis, tenu à jour") {
		t.Errorf("re-announced as %q: %q", fresh.Title, fresh.Body)
	}
	boardtest.NoEnglish(t, "the re-announcement", fresh.Title+"\n"+fresh.Body)
	again, err := svc.Reannounce(ctx, board.System, b, notice.ID)
	if err != nil || again.ID != fresh.ID {
		t.Errorf("asked again at once: %d, %v; want the same post %d", again.ID, err, fresh.ID)
	}
	var ve *board.ValidationError
	if _, err := svc.Reannounce(ctx, board.System, b, fresh.ID); !errors.As(err, &ve) || ve.Fields["announcement"].Key != "problem.reannounce_outage" {
		t.Errorf("re-announcing news: %v", err)
	}
	if _, err := svc.ResolveOutage(ctx, board.System, b, notice.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Reannounce(ctx, board.System, b, notice.ID); !errors.As(err, &ve) || ve.Fields["announcement"].Key != "problem.reannounce_over" {
		t.Errorf("re-announcing an outage that is over: %v", err)
	}
}
