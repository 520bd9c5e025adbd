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
	// However the Update got there first, the Create is still owed: an
	// Update of a post the receiver never had is dropped. A Delete that
	// got there first leaves it nothing to say.
	s.RecordDeliveries(ctx, []board.DeliveryRecord{{OutboxID: update, Target: other, State: "delivered", Attempts: 1}})
	if got := order(create, other); got != "go" {
		t.Errorf("a Create after its Update arrived: %s, want it sent", got)
	}
	del := add(0, board.VerbDelete)
	s.RecordDeliveries(ctx, []board.DeliveryRecord{{OutboxID: del, Target: other, State: "delivered", Attempts: 1}})
	if got := order(create, other); got != "go+superseded" {
		t.Errorf("a Create after its Delete arrived: %s, want it dropped", got)
	}
}

// A board's outbox entries are fanned out in the order they were made: a
// later one waits while an earlier one is handed out but its deliveries
// are not written down (nothing else could wait for them). One with no
// destination, or a refresh a later one replaced, holds nothing up, and
// another board is its own line.
func TestFanOutWaitsForTheBoardsEarlierEntries(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	s := rig.Store
	other, _, err := rig.Service.EnsureBoard(ctx, "other", "Other")
	if err != nil {
		t.Fatal(err)
	}
	var post int64
	add := func(b board.Board, verb board.Verb) board.OutboxEntry {
		t.Helper()
		var err error
		if verb == board.VerbCreate {
			var a board.Announcement
			a, _, err = rig.Service.Create(ctx, board.System, b, board.Draft{Title: "Hello", Body: "x"}, "")
			post = a.ID
		} else {
			err = s.InTx(ctx, func(tx board.Tx) error {
				return tx.AddOutbox(ctx, board.OutboxEntry{BoardID: b.ID, AnnouncementID: post, Verb: verb, Version: 1, CreatedAt: time.Now()})
			})
		}
		if err != nil {
			t.Fatal(err)
		}
		list, _ := s.PendingOutbox(ctx, 100)
		return list[len(list)-1]
	}
	waits := func(e board.OutboxEntry) bool {
		t.Helper()
		w, err := s.FanOutWaits(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	create, skipped, refresh := add(rig.Board, board.VerbCreate), add(rig.Board, board.VerbRefresh), add(rig.Board, board.VerbRefresh)
	elsewhere := add(other, board.VerbCreate)
	if waits(refresh) {
		t.Error("a refresh waits for entries not handed out yet")
	}
	for _, e := range []board.OutboxEntry{create, refresh, elsewhere} {
		s.MarkDispatched(ctx, e.ID)
	}
	s.MarkCoalesced(ctx, skipped.ID)
	if !waits(refresh) {
		t.Error("a refresh does not wait for its post's fan-out")
	}
	if waits(create) || waits(elsewhere) {
		t.Error("the first entry, or another board's, waits")
	}
	if err := s.AddPendingDeliveries(ctx, create.ID, nil); err != nil {
		t.Fatal(err)
	}
	if waits(refresh) {
		t.Error("a refresh still waits after its post was fanned out (to nobody), or for a coalesced one")
	}
}
