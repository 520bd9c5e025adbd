package board

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestEditorRoleWritesDraftsOnly(t *testing.T) {
	ctx := context.Background()
	svc, b := newTestService(t)
	as := func(role string, id int64) context.Context { return WithActor(ctx, Token{ID: id, Role: role}) }
	ed := as(RoleEditor, 7)
	if _, _, err := svc.Create(ed, b, Draft{Title: "Straight out"}, ""); !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "saves drafts") {
		t.Fatalf("an editor publishing: %v, want forbidden saying it saves drafts", err)
	}
	d, _, err := svc.Create(ed, b, Draft{Title: "First try", KeepDraft: true}, "")
	if err != nil || d.Status != StatusDraft {
		t.Fatalf("an editor's draft: %v %q", err, d.Status)
	}
	if _, err := svc.Update(ed, b, d.ID, func(x *Draft) error { x.Title = "Second try"; return nil }); err != nil {
		t.Fatalf("an editor editing a draft: %v", err)
	}
	if _, err := svc.Update(ed, b, d.ID, func(x *Draft) error { x.KeepDraft = false; return nil }); !errors.Is(err, ErrForbidden) {
		t.Fatalf("an editor publishing a draft: %v", err)
	}
	if _, err := svc.Update(ed, b, d.ID, func(x *Draft) error { x.KeepDraft, x.PublishAt = false, at(time.Now(), time.Hour); return nil }); !errors.Is(err, ErrForbidden) {
		t.Fatalf("an editor scheduling a draft: %v", err)
	}
	pub := as(RolePublisher, 8)
	p, err := svc.Update(pub, b, d.ID, func(x *Draft) error { x.KeepDraft = false; return nil })
	if err != nil || p.Status != StatusPublished || p.Title != "Second try" {
		t.Fatalf("a publisher publishing the editor's draft: %v %q %q", err, p.Status, p.Title)
	}
	if _, err := svc.Update(ed, b, p.ID, func(x *Draft) error { x.Title = "Changed"; return nil }); !errors.Is(err, ErrForbidden) {
		t.Errorf("an editor changing a published one: %v", err)
	}
	if err := svc.Delete(ed, b, p.ID); !errors.Is(err, ErrForbidden) {
		t.Errorf("an editor deleting a published one: %v", err)
	}
	if _, err := svc.Pin(ed, b, p.ID, true); !errors.Is(err, ErrForbidden) {
		t.Errorf("an editor pinning: %v", err)
	}
	other, _, _ := svc.Create(ed, b, Draft{Title: "Never mind", KeepDraft: true}, "")
	if err := svc.Delete(ed, b, other.ID); err != nil {
		t.Errorf("an editor deleting a draft: %v", err)
	}
}

func TestSecondPublisherApproves(t *testing.T) {
	ctx := context.Background()
	svc, b := newTestService(t)
	b.Approval = true
	if _, err := svc.SetBoard(ctx, b); err != nil {
		t.Fatal(err)
	}
	b, _ = svc.store.BoardByName(ctx, b.Name)
	alice := WithActor(ctx, Token{ID: 1, Role: RolePublisher})
	bob := WithActor(ctx, Token{ID: 2, Role: RolePublisher})
	a, _, err := svc.Create(alice, b, Draft{Kind: KindOutage, Title: "Mail down tonight", Outage: &Outage{Service: "mail", From: time.Now().Add(time.Hour)}}, "")
	if err != nil || a.Status != StatusPending || len(pending(t, svc)) != 0 {
		t.Fatalf("a publication on an approval board: %v %q, outbox %v; want pending, nothing sent", err, a.Status, pending(t, svc))
	}
	if _, err := svc.Approve(alice, b, a.ID); !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "another publisher") {
		t.Errorf("approving one's own: %v", err)
	}
	if _, err := svc.Approve(WithActor(ctx, Token{ID: 3, Role: RoleEditor}), b, a.ID); !errors.Is(err, ErrForbidden) {
		t.Errorf("an editor approving: %v", err)
	}
	// Saving it unchanged is not approving it.
	if x, err := svc.Update(bob, b, a.ID, func(*Draft) error { return nil }); err != nil || x.Status != StatusPending {
		t.Fatalf("an unchanged save by another publisher: %v %q", err, x.Status)
	}
	// A change asks again, in the name of who changed it.
	x, err := svc.Update(bob, b, a.ID, func(d *Draft) error { d.Title = "Mail down tonight, 22:00"; return nil })
	if err != nil || x.Status != StatusPending || x.RequestedBy == nil || *x.RequestedBy != 2 {
		t.Fatalf("a change while pending: %v %q %v", err, x.Status, x.RequestedBy)
	}
	if _, err := svc.Approve(bob, b, a.ID); !errors.Is(err, ErrForbidden) {
		t.Errorf("approving one's own change: %v", err)
	}
	x, err = svc.Approve(alice, b, a.ID)
	if out := pending(t, svc); err != nil || x.Status != StatusPublished || len(out) != 1 || out[0].Verb != VerbCreate || x.RequestedBy != nil {
		t.Fatalf("approved: %v %q %+v", err, x.Status, out)
	}
	// Edits of what is out need no second look.
	if x, err = svc.Update(alice, b, a.ID, func(d *Draft) error { d.Body = "Back at 23:00."; return nil }); err != nil || x.Status != StatusPublished {
		t.Errorf("an edit after publication: %v %q", err, x.Status)
	}
	if _, err := svc.Approve(bob, b, a.ID); err == nil {
		t.Error("approving a published announcement again")
	}
}

func TestEditorPagesFollowTheRoles(t *testing.T) {
	ctx := context.Background()
	svc, b := newTestService(t)
	b.Approval = true
	_, _ = svc.SetBoard(ctx, b)
	alice := signIn(t, svc, time.UTC)
	bob := signIn(t, svc, time.UTC)
	editorTok, _, _ := svc.Store().CreateTokenUntil(ctx, &b.ID, "volunteer", nil, RoleEditor)
	ed := signIn(t, svc, time.UTC)
	_, ed.home = ed.post("/edit/login", url.Values{"token": {editorTok}})
	if strings.Contains(ed.home, `value="publish"`) || !strings.Contains(ed.home, "Your token writes drafts") {
		t.Error("an editor's form offers Publish")
	}
	code, page := ed.post("/edit/news/new", url.Values{"csrf": {hiddenValue(t, ed.home, "csrf")}, "title": {"Draft by a volunteer"}, "action": {"publish"}})
	if code != 400 || !strings.Contains(page, "saves drafts") {
		t.Errorf("an editor forcing Publish: %d", code)
	}
	code, page = alice.post("/edit/news/new", url.Values{"csrf": {hiddenValue(t, alice.home, "csrf")}, "title": {"Mail down tonight"}, "action": {"publish"}})
	if code != 200 || !strings.Contains(page, "another publisher of this board approves it") {
		t.Fatalf("asking for publication: %d\n%s", code, page)
	}
	list, _ := svc.store.SearchAnnouncements(ctx, b.ID, "", 0, 10)
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

func TestAPIRolesAndApproval(t *testing.T) {
	ctx := context.Background()
	svc, b := newTestService(t)
	b.Approval = true
	_, _ = svc.SetBoard(ctx, b)
	mux := http.NewServeMux()
	NewAPI(svc, nil, 1<<16, slog.New(slog.DiscardHandler)).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	admin, _ := svc.Store().CreateToken(ctx, nil, "admin")
	code, tok := call(t, srv, "POST", "/api/v1/tokens", admin, "application/json", `{"board":"news","label":"volunteer","role":"editor"}`)
	if code != 201 || tok["role"] != "editor" {
		t.Fatalf("create an editor token: %d %v", code, tok)
	}
	editor := tok["token"].(string)
	if code, _ := call(t, srv, "POST", "/api/v1/tokens", admin, "application/json", `{"label":"x","role":"boss"}`); code != 400 {
		t.Errorf("an unknown role: %d", code)
	}
	const path = "/api/v1/boards/news/announcements"
	if code, out := call(t, srv, "POST", path, editor, "application/json", `{"title":"Hi"}`); code != 403 || !strings.Contains(fmt.Sprint(out["error"]), "saves drafts") {
		t.Errorf("an editor publishing through the API: %d %v", code, out)
	}
	code, d := call(t, srv, "POST", path, editor, "application/json", `{"title":"Hi","draft":true}`)
	if code != 201 {
		t.Fatalf("an editor's draft: %d %v", code, d)
	}
	id := fmt.Sprint(d["id"])
	code, p := call(t, srv, "PATCH", path+"/"+id, admin, "application/json", `{"draft":false}`)
	if code != 200 || p["status"] != "pending" {
		t.Fatalf("a publisher asking: %d %v", code, p)
	}
	if code, _ := call(t, srv, "POST", path+"/"+id+"/approve", admin, "", ""); code != 403 {
		t.Errorf("approving one's own: %d", code)
	}
	second, _ := svc.Store().CreateToken(ctx, &b.ID, "second publisher")
	if code, p := call(t, srv, "POST", path+"/"+id+"/approve", second, "", ""); code != 200 || p["status"] != "published" {
		t.Errorf("a second publisher approving: %d %v", code, p)
	}
}
