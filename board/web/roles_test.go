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

	// An edit of what is out waits beside it (issue 23, point 2): its
	// author is told so, readers keep the approved text, a second
	// publisher reads the edit in the form and sends it.
	p = alice.get(path)
	code, page = alice.post(path, url.Values{"csrf": {hiddenValue(t, p, "csrf")}, "title": {"Mail down tonight"}, "body": {"Back at 23:00."}, "action": {"publish"}})
	if code != 200 || !strings.Contains(page, "Your edit of “Mail down tonight” waits for another publisher of this board") {
		t.Fatalf("an edit after publication: %d\n%s", code, page)
	}
	if live, _ := rig.Store.Announcement(ctx, b.ID, list[0].ID); live.Body == "Back at 23:00." || live.PendingEdit == nil {
		t.Fatalf("the edit reached readers before approval: %q", live.Body)
	}
	if p := alice.get(path); !strings.Contains(p, "An edit of this announcement waits for a second publisher") || strings.Contains(p, "Approve the edit") ||
		!strings.Contains(p, "see the edit once another publisher of this board approves it") {
		t.Error("its author is not told it waits (and that followers see it only once approved), or is offered to approve it")
	}
	// Its author forcing the approval is told why, as a refusal (not in a
	// success's colours, not as "your token may not").
	if code, page = alice.post(path+"/approve", url.Values{"csrf": {hiddenValue(t, p, "csrf")}}); code != 200 ||
		!strings.Contains(page, `<p class="refused" role="status">Not approved: you made this edit yourself; another publisher of this board approves it.</p>`) {
		t.Errorf("approving one's own edit in the editor: %d\n%s", code, page)
	}
	if home := bob.get("/edit"); !strings.Contains(home, "an edit awaits approval") {
		t.Error("the editor's list does not say an edit waits")
	}
	p = bob.get(path)
	if !strings.Contains(p, "Approve the edit and send it") || !strings.Contains(p, "Back at 23:00.</textarea>") {
		t.Fatalf("a second publisher does not see the edit to approve:\n%s", p)
	}
	if code, page = bob.post(path+"/approve", url.Values{"csrf": {hiddenValue(t, p, "csrf")}}); code != 200 || !strings.Contains(page, "Approved: the edit of “Mail down tonight” is sent where the announcement went.") {
		t.Fatalf("approving the edit: %d\n%s", code, page)
	}
	if live, _ := rig.Store.Announcement(ctx, b.ID, list[0].ID); live.Body != "Back at 23:00." || live.PendingEdit != nil {
		t.Fatalf("after approval: %q, pending %v", live.Body, live.PendingEdit)
	}
}
