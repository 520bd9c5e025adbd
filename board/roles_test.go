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
	rig, svc, b, alice, bob := approvalBoard(t)
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
	// An edit of what is out waits for a second look too (issue 23,
	// point 2): readers keep the approved text, nothing is sent.
	sent := len(rig.Pending(t))
	if x, err = svc.Update(ctx, alice, b, a.ID, func(d *board.Draft) error { d.Body = "Back at 23:00."; return nil }); err != nil ||
		x.Status != board.StatusPublished || x.PendingEdit == nil || x.Body == "Back at 23:00." {
		t.Fatalf("an edit after publication: %v %q %+v", err, x.Status, x.PendingEdit)
	}
	if live, _ := rig.Store.Announcement(ctx, b.ID, a.ID); live.Body == "Back at 23:00." || live.Version != x.Version || len(rig.Pending(t)) != sent {
		t.Fatalf("the edit reached readers before approval: %q v%d, %d sent", live.Body, live.Version, len(rig.Pending(t))-sent)
	}
	if _, err := svc.Approve(ctx, alice, b, a.ID); !errors.Is(err, board.ErrForbidden) || !strings.Contains(err.Error(), "you made this edit") {
		t.Errorf("approving one's own edit: %v", err)
	}
	x, err = svc.Approve(ctx, bob, b, a.ID)
	if out := rig.Pending(t); err != nil || x.Body != "Back at 23:00." || x.PendingEdit != nil || len(out) != sent+1 || out[len(out)-1].Verb != board.VerbUpdate {
		t.Fatalf("the edit approved: %v %q %+v", err, x.Body, out)
	}
	if _, err := svc.Approve(ctx, bob, b, a.ID); err == nil {
		t.Error("approving a published announcement again")
	}
}

// The approval bypass of issue 23, point 2: a scheduled post approved by
// B, then rewritten by A, went out with text nobody approved.
func TestAnEditAfterApprovalIsApprovedAgain(t *testing.T) {
	ctx := context.Background()
	rig, svc, b, alice, bob := approvalBoard(t)
	at := rig.Clock.Now().Add(2 * time.Hour)
	a, _, err := svc.Create(ctx, alice, b, board.Draft{Title: "General assembly", Body: "Saturday, 14:00.", PublishAt: &at}, "")
	if err != nil || a.Status != board.StatusPending {
		t.Fatalf("a scheduled post: %v %q", err, a.Status)
	}
	if a, err = svc.Approve(ctx, bob, b, a.ID); err != nil || a.Status != board.StatusScheduled {
		t.Fatalf("approved: %v %q", err, a.Status)
	}
	a, err = svc.Update(ctx, alice, b, a.ID, func(d *board.Draft) error { d.Body = "Cancelled. Send money to IBAN FR76…"; return nil })
	if err != nil || a.Status != board.StatusPending || a.RequestedBy == nil || *a.RequestedBy != 1 {
		t.Fatalf("a rewrite of the approved, scheduled post: %v %q; want it pending again, asked by alice", err, a.Status)
	}
	rig.Clock.Advance(3 * time.Hour)
	if err := svc.PublishDue(ctx); err != nil {
		t.Fatal(err)
	}
	if live, _ := rig.Store.Announcement(ctx, b.ID, a.ID); live.Public() || len(rig.Pending(t)) != 0 {
		t.Fatalf("the unapproved rewrite went out: %q, %d sent", live.Status, len(rig.Pending(t)))
	}
}

// approvalBoard is a board that wants a second publisher, and two of its
// publishers.
func approvalBoard(t *testing.T) (rig *boardtest.Rig, svc *board.Service, b board.Board, alice, bob board.Actor) {
	t.Helper()
	rig = boardtest.New(t)
	svc, b = rig.Service, rig.Board
	b.Approval = true
	if _, err := svc.SetBoard(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	b, _ = rig.Store.BoardByName(context.Background(), b.Name)
	return rig, svc, b, board.TokenActor(board.Token{ID: 1, Role: board.RolePublisher}), board.TokenActor(board.Token{ID: 2, Role: board.RolePublisher})
}
