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

func TestEditorRoleWritesDraftsOnly(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	as := func(role string, id int64) board.Actor {
		return board.TokenActor(board.Token{ID: id, Role: role})
	}
	ed := as(board.RoleEditor, 7)
	if _, _, err := svc.Create(ctx, ed, b, board.Draft{Title: "Straight out"}, ""); !errors.Is(err, board.ErrForbidden) || !strings.Contains(err.Error(), "saves drafts") {
		t.Fatalf("an editor publishing: %v, want forbidden saying it saves drafts", err)
	}
	d, _, err := svc.Create(ctx, ed, b, board.Draft{Title: "First try", KeepDraft: true}, "")
	if err != nil || d.Status != board.StatusDraft {
		t.Fatalf("an editor's draft: %v %q", err, d.Status)
	}
	if _, err := svc.Update(ctx, ed, b, d.ID, func(x *board.Draft) error { x.Title = "Second try"; return nil }); err != nil {
		t.Fatalf("an editor editing a draft: %v", err)
	}
	if _, err := svc.Update(ctx, ed, b, d.ID, func(x *board.Draft) error { x.KeepDraft = false; return nil }); !errors.Is(err, board.ErrForbidden) {
		t.Fatalf("an editor publishing a draft: %v", err)
	}
	if _, err := svc.Update(ctx, ed, b, d.ID, func(x *board.Draft) error { x.KeepDraft, x.PublishAt = false, at(time.Now(), time.Hour); return nil }); !errors.Is(err, board.ErrForbidden) {
		t.Fatalf("an editor scheduling a draft: %v", err)
	}
	pub := as(board.RolePublisher, 8)
	p, err := svc.Update(ctx, pub, b, d.ID, func(x *board.Draft) error { x.KeepDraft = false; return nil })
	if err != nil || p.Status != board.StatusPublished || p.Title != "Second try" {
		t.Fatalf("a publisher publishing the editor's draft: %v %q %q", err, p.Status, p.Title)
	}
	if _, err := svc.Update(ctx, ed, b, p.ID, func(x *board.Draft) error { x.Title = "Changed"; return nil }); !errors.Is(err, board.ErrForbidden) {
		t.Errorf("an editor changing a published one: %v", err)
	}
	if err := svc.Delete(ctx, ed, b, p.ID); !errors.Is(err, board.ErrForbidden) {
		t.Errorf("an editor deleting a published one: %v", err)
	}
	if _, err := svc.Pin(ctx, ed, b, p.ID, true); !errors.Is(err, board.ErrForbidden) {
		t.Errorf("an editor pinning: %v", err)
	}
	other, _, _ := svc.Create(ctx, ed, b, board.Draft{Title: "Never mind", KeepDraft: true}, "")
	if err := svc.Delete(ctx, ed, b, other.ID); err != nil {
		t.Errorf("an editor deleting a draft: %v", err)
	}
}

func TestSecondPublisherApproves(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	b.Approval = true
	if _, err := svc.SetBoard(ctx, b); err != nil {
		t.Fatal(err)
	}
	b, _ = rig.Store.BoardByName(ctx, b.Name)
	alice := board.TokenActor(board.Token{ID: 1, Role: board.RolePublisher})
	bob := board.TokenActor(board.Token{ID: 2, Role: board.RolePublisher})
	a, _, err := svc.Create(ctx, alice, b, board.Draft{Kind: board.KindOutage, Title: "Mail down tonight", Outage: &board.Outage{Service: "mail", From: time.Now().Add(time.Hour)}}, "")
	if err != nil || a.Status != board.StatusPending || len(rig.Pending(t)) != 0 {
		t.Fatalf("a publication on an approval board: %v %q, outbox %v; want pending, nothing sent", err, a.Status, rig.Pending(t))
	}
	if _, err := svc.Approve(ctx, alice, b, a.ID); !errors.Is(err, board.ErrForbidden) || !strings.Contains(err.Error(), "another publisher") {
		t.Errorf("approving one's own: %v", err)
	}
	if _, err := svc.Approve(ctx, board.TokenActor(board.Token{ID: 3, Role: board.RoleEditor}), b, a.ID); !errors.Is(err, board.ErrForbidden) {
		t.Errorf("an editor approving: %v", err)
	}
	// Saving it unchanged is not approving it.
	if x, err := svc.Update(ctx, bob, b, a.ID, func(*board.Draft) error { return nil }); err != nil || x.Status != board.StatusPending {
		t.Fatalf("an unchanged save by another publisher: %v %q", err, x.Status)
	}
	// A change asks again, in the name of who changed it.
	x, err := svc.Update(ctx, bob, b, a.ID, func(d *board.Draft) error { d.Title = "Mail down tonight, 22:00"; return nil })
	if err != nil || x.Status != board.StatusPending || x.RequestedBy == nil || *x.RequestedBy != 2 {
		t.Fatalf("a change while pending: %v %q %v", err, x.Status, x.RequestedBy)
	}
	if _, err := svc.Approve(ctx, bob, b, a.ID); !errors.Is(err, board.ErrForbidden) {
		t.Errorf("approving one's own change: %v", err)
	}
	x, err = svc.Approve(ctx, alice, b, a.ID)
	if out := rig.Pending(t); err != nil || x.Status != board.StatusPublished || len(out) != 1 || out[0].Verb != board.VerbCreate || x.RequestedBy != nil {
		t.Fatalf("approved: %v %q %+v", err, x.Status, out)
	}
	// Edits of what is out need no second look.
	if x, err = svc.Update(ctx, alice, b, a.ID, func(d *board.Draft) error { d.Body = "Back at 23:00."; return nil }); err != nil || x.Status != board.StatusPublished {
		t.Errorf("an edit after publication: %v %q", err, x.Status)
	}
	if _, err := svc.Approve(ctx, bob, b, a.ID); err == nil {
		t.Error("approving a published announcement again")
	}
}
