package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"crieur/board"
	"crieur/board/boardtest"
)

func TestEditPageCountsRelays(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	a, _, _ := svc.Create(ctx, board.System, b, boardtest.CampaignDraft(nil), "")
	for i, kind := range []string{"announce", "announce", "like", "reply"} {
		if err := rig.Store.AddInteraction(ctx, b.ID, a.ID, board.Interaction{Kind: kind, Actor: "https://m.example/users/a", ActivityID: "https://m.example/act/" + string(rune('a'+i)), CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	e := signIn(t, rig, time.UTC)
	if p := e.get("/edit/news/1"); !strings.Contains(p, "On the fediverse: boosts 2 · likes 1 · replies 1") {
		t.Error("the edit page does not count the relays")
	}
}
