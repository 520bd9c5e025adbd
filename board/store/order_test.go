package store_test

import (
	"context"
	"testing"
	"time"

	"crieur/board"
	"crieur/board/boardtest"
)

// One announcement's activities to one inbox go in the order they were
// made, and one a later activity superseded is not sent (issue 22, point
// 10): an unpin waits for its pin, a pin after a delivered unpin is dropped.
func TestDeliveryOrderPerAnnouncementAndTarget(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	s := rig.Store
	now := time.Now()
	var anns []int64
	for _, title := range []string{"One", "Two"} {
		a, _, err := rig.Service.Create(ctx, board.System, rig.Board, board.Draft{Title: title, Body: "x"}, "")
		if err != nil {
			t.Fatal(err)
		}
		anns = append(anns, a.ID)
	}
	if list, _ := s.PendingOutbox(ctx, 100); len(list) > 0 {
		for _, e := range list {
			s.MarkDispatched(ctx, e.ID)
		}
	}
	add := func(i int, verb board.Verb) int64 {
		t.Helper()
		err := s.InTx(ctx, func(tx board.Tx) error {
			return tx.AddOutbox(ctx, board.OutboxEntry{BoardID: rig.Board.ID, AnnouncementID: anns[i], Verb: verb, Version: 1, CreatedAt: now})
		})
		if err != nil {
			t.Fatal(err)
		}
		list, _ := s.PendingOutbox(ctx, 100)
		id := list[len(list)-1].ID
		if err := s.MarkDispatched(ctx, id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	const inbox, other = "https://a.example/inbox", "https://b.example/inbox"
	create, pin, unpin := add(0, board.VerbCreate), add(0, board.VerbPin), add(0, board.VerbUnpin)
	update, elsewhere := add(0, board.VerbUpdate), add(1, board.VerbCreate)
	for _, id := range []int64{create, pin, unpin, update, elsewhere} {
		if err := s.AddPendingDeliveries(ctx, id, []string{inbox, other}); err != nil {
			t.Fatal(err)
		}
	}
	order := func(id int64, target string) string {
		t.Helper()
		wait, superseded, err := s.DeliveryOrder(ctx, id, target)
		if err != nil {
			t.Fatal(err)
		}
		return map[bool]string{true: "wait", false: "go"}[wait] + map[bool]string{true: "+superseded", false: ""}[superseded]
	}
	for _, c := range []struct {
		id   int64
		want string
	}{{create, "go"}, {pin, "wait"}, {unpin, "wait"}, {update, "wait"}, {elsewhere, "go"}} {
		if got := order(c.id, inbox); got != c.want {
			t.Errorf("outbox %d: %s, want %s", c.id, got, c.want)
		}
	}
	// The unpin got through first (sent before this rule): the pin, older,
	// has nothing left to say, and is dropped rather than held.
	s.RecordDeliveries(ctx, []board.DeliveryRecord{{OutboxID: unpin, Target: inbox, State: "delivered", Attempts: 1}})
	if got := order(pin, inbox); got != "wait+superseded" {
		t.Errorf("a pin after its unpin arrived: %s, want superseded", got)
	}
	// The Create arrives, the pin is done with: the Update goes; the other
	// inbox is its own line.
	s.RecordDeliveries(ctx, []board.DeliveryRecord{{OutboxID: create, Target: inbox, State: "delivered", Attempts: 1}, {OutboxID: pin, Target: inbox, State: "delivered", Attempts: 1}})
	if got := order(update, inbox); got != "go" {
		t.Errorf("the Update after its Create arrived: %s", got)
	}
	if got := order(update, other); got != "wait" {
		t.Errorf("the Update to an inbox its Create has not reached: %s", got)
	}
}
