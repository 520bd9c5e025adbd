package web

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"crieur/board"
	"crieur/board/boardtest"
)

func TestEditorPagesFollowTheRoles(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	b.Approval = true
	_, _ = svc.SetBoard(ctx, b)
	alice := signIn(t, rig, time.UTC)
	bob := signIn(t, rig, time.UTC)
	editorTok, _, _ := rig.Store.CreateTokenUntil(ctx, &b.ID, "volunteer", nil, board.RoleEditor)
	ed := signIn(t, rig, time.UTC)
	_, ed.home = ed.post("/edit/login", url.Values{"token": {editorTok}})
	if strings.Contains(ed.home, `value="publish"`) || !strings.Contains(ed.home, "Your token writes drafts") {
		t.Error("an editor's form offers Publish")
	}
	code, page := ed.post("/edit/news/new", url.Values{"csrf": {hiddenValue(t, ed.home, "csrf")}, "title": {"Draft by a volunteer"}, "action": {"publish"}})
	if code != 400 || !strings.Contains(page, "ask a publisher of this board") {
		t.Errorf("an editor forcing Publish: %d", code)
	}
	code, page = alice.post("/edit/news/new", url.Values{"csrf": {hiddenValue(t, alice.home, "csrf")}, "title": {"Mail down tonight"}, "action": {"publish"}})
	if code != 200 || !strings.Contains(page, "another publisher of this board approves it") {
		t.Fatalf("asking for publication: %d\n%s", code, page)
	}
	list, _ := rig.Store.SearchAnnouncements(ctx, b.ID, "", 0, 10)
	path := fmt.Sprintf("/edit/news/%d", list[0].ID)
	if p := alice.get(path); strings.Contains(p, "Approve and publish") || !strings.Contains(p, "Awaiting approval") {
		t.Error("the one who asked is offered to approve")
	}
	if p := ed.get(path); strings.Contains(p, "Approve and publish") {
		t.Error("an editor is offered to approve")
	}
	p := bob.get(path)
	if !strings.Contains(p, "Approve and publish") {
		t.Fatal("a second publisher is not offered to approve")
	}
	if code, page = bob.post(path+"/approve", url.Values{"csrf": {hiddenValue(t, p, "csrf")}}); code != 200 || !strings.Contains(page, "Approved. Published: Mail down tonight") {
		t.Fatalf("approve: %d\n%s", code, page)
	}
}
