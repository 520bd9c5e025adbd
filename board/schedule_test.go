package board_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"crieur/board"
	"crieur/board/boardtest"
	"crieur/board/locale"
)

func at(t time.Time, d time.Duration) *time.Time { x := t.Add(d); return &x }

func TestDraftIsSentNowhereUntilPublished(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	rig.Clock.Set(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	c := rig.Clock

	a, _, err := svc.Create(ctx, board.System, b, board.Draft{Title: "Assemblée générale", Body: "first words", KeepDraft: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != board.StatusDraft || len(rig.Pending(t)) != 0 || len(rig.Listed(t, b)) != 0 {
		t.Fatalf("a draft: status %q, outbox %v, listed %v; want draft, nothing sent, not listed", a.Status, rig.Pending(t), rig.Listed(t, b))
	}
	rig.Clock.Advance(time.Hour)
	a, err = svc.Update(ctx, board.System, b, a.ID, func(d *board.Draft) error { d.Body = "second words"; return nil })
	if err != nil || a.Status != board.StatusDraft || a.Version != 1 || len(rig.Pending(t)) != 0 {
		t.Fatalf("edited draft: %v status %q version %d outbox %v; want still a draft, version 1, nothing sent", err, a.Status, a.Version, rig.Pending(t))
	}
	rig.Clock.Advance(time.Hour)
	a, err = svc.Update(ctx, board.System, b, a.ID, func(d *board.Draft) error { d.KeepDraft = false; return nil })
	if err != nil {
		t.Fatal(err)
	}
	out := rig.Pending(t)
	if a.Status != board.StatusPublished || len(out) != 1 || out[0].Verb != board.VerbCreate || out[0].Version != 1 {
		t.Fatalf("published draft: status %q outbox %+v; want published and one Create of version 1", a.Status, out)
	}
	if !a.CreatedAt.Equal(c.Now()) {
		t.Errorf("published draft is dated %v, want its publication time %v", a.CreatedAt, c.Now())
	}
	if ids := rig.Listed(t, b); len(ids) != 1 || ids[0] != a.ID {
		t.Errorf("listed %v, want the published draft", ids)
	}
	if _, err := svc.Update(ctx, board.System, b, a.ID, func(d *board.Draft) error { d.KeepDraft = true; return nil }); !isField(err, "draft") {
		t.Errorf("published back to draft: %v, want a refusal naming draft", err)
	}
}

func isField(err error, field string) bool {
	var ve *board.ValidationError
	if !errors.As(err, &ve) {
		return false
	}
	_, ok := ve.Fields[field]
	return ok
}

func TestScheduledPublishesOnTimeAndExpiryTellsFollowers(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	rig.Clock.Set(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	c := rig.Clock
	paris, _ := time.LoadLocation("Europe/Paris")
	publish := c.Now().Add(2 * time.Hour).In(paris)
	expires := c.Now().Add(5 * time.Hour).In(paris)

	a, _, err := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindOutage, Title: "Mail down", Outage: &board.Outage{Service: "mail", From: c.Now().Add(3 * time.Hour)},
		PublishAt: &publish, ExpiresAt: &expires}, "")
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != board.StatusScheduled || len(rig.Pending(t)) != 0 {
		t.Fatalf("scheduled: status %q outbox %v", a.Status, rig.Pending(t))
	}
	if next, ok, _ := rig.Store.NextDue(ctx); !ok || !next.Equal(publish) {
		t.Errorf("next due %v %v, want %v", next, ok, publish)
	}
	rig.Clock.Advance(2*time.Hour - time.Second)
	if err := svc.PublishDue(ctx); err != nil || len(rig.Pending(t)) != 0 {
		t.Fatalf("a second early: %v, outbox %v; want nothing sent", err, rig.Pending(t))
	}
	rig.Clock.Advance(time.Second)
	if err := svc.PublishDue(ctx); err != nil {
		t.Fatal(err)
	}
	a, _ = rig.Store.Announcement(ctx, b.ID, a.ID)
	if out := rig.Pending(t); a.Status != board.StatusPublished || len(out) != 1 || out[0].Verb != board.VerbCreate {
		t.Fatalf("on time: status %q outbox %+v; want published with one Create", a.Status, out)
	}
	if a.PublishAt == nil || a.PublishAt.Location().String() == "UTC" || !a.PublishAt.Equal(publish) {
		t.Errorf("publish_at read back as %v, want %v in its own offset", a.PublishAt, publish)
	}
	_ = rig.Store.MarkDispatched(ctx, rig.Pending(t)[0].ID)

	// Moving the expiry is the editor's business, not the readers': no
	// new version, nothing sent.
	later := expires.Add(time.Hour)
	a, err = svc.Update(ctx, board.System, b, a.ID, func(d *board.Draft) error { d.ExpiresAt = &later; return nil })
	if err != nil || a.Version != 1 || len(rig.Pending(t)) != 0 {
		t.Fatalf("new expiry: %v version %d outbox %v; want version 1, nothing sent", err, a.Version, rig.Pending(t))
	}
	rig.Clock.Advance(4 * time.Hour)
	if err := svc.PublishDue(ctx); err != nil {
		t.Fatal(err)
	}
	a, _ = rig.Store.Announcement(ctx, b.ID, a.ID)
	out := rig.Pending(t)
	if a.Status != board.StatusExpired || a.Version != 2 || len(out) != 1 || out[0].Verb != board.VerbUpdate {
		t.Fatalf("expired: status %q version %d outbox %+v; want expired, version 2, one Update", a.Status, a.Version, out)
	}
	if f := locale.For("en").Facts(a); len(f) == 0 || f[0].Label != "Ended" {
		t.Errorf("expired facts %+v, want Ended first", f)
	}
	if ids := rig.Listed(t, b); len(ids) != 0 {
		t.Errorf("expired still listed: %v", ids)
	}
	if !a.Public() {
		t.Error("an expired announcement's own page should stay for those who have its link")
	}
	if _, err := svc.Pin(ctx, board.System, b, a.ID, true); !isField(err, "pinned") {
		t.Errorf("pinning an expired one: %v, want refused", err)
	}
}

func TestScheduleRefusesPastExpiryAndCatchesUpAfterDowntime(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	rig.Clock.Set(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	c := rig.Clock
	if _, _, err := svc.Create(ctx, board.System, b, board.Draft{Title: "late", ExpiresAt: at(c.Now(), -time.Minute)}, ""); !isField(err, "expires_at") {
		t.Errorf("past expiry: %v, want refused", err)
	}
	if _, _, err := svc.Create(ctx, board.System, b, board.Draft{Title: "backwards", PublishAt: at(c.Now(), 2*time.Hour), ExpiresAt: at(c.Now(), time.Hour)}, ""); !isField(err, "expires_at") {
		t.Errorf("expiry before publication: %v, want refused", err)
	}
	a, _, err := svc.Create(ctx, board.System, b, board.Draft{Title: "short-lived", PublishAt: at(c.Now(), time.Hour), ExpiresAt: at(c.Now(), 2*time.Hour)}, "")
	if err != nil {
		t.Fatal(err)
	}
	// The server was down through both times: it ends without ever
	// being sent (a Create then an Update would be noise).
	rig.Clock.Advance(3 * time.Hour)
	svc2 := rig.Restart() // a restart
	if err := svc2.PublishDue(ctx); err != nil {
		t.Fatal(err)
	}
	a, _ = rig.Store.Announcement(ctx, b.ID, a.ID)
	if a.Status != board.StatusExpired || len(rig.Pending(t)) != 0 {
		t.Fatalf("after downtime: status %q outbox %v; want expired, nothing sent", a.Status, rig.Pending(t))
	}
	// Deleting a draft tells nobody: nobody had it.
	d, _, _ := svc2.Create(ctx, board.System, b, board.Draft{Title: "never mind", KeepDraft: true}, "")
	if err := svc2.Delete(ctx, board.System, b, d.ID); err != nil || len(rig.Pending(t)) != 0 {
		t.Errorf("deleting a draft: %v outbox %v; want nothing sent", err, rig.Pending(t))
	}
}

func TestSchedulerWakesForANewSchedule(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	done := make(chan struct{})
	go func() { svc.RunScheduler(ctx, slog.New(slog.DiscardHandler)); close(done) }()
	defer func() { cancel(); <-done }()
	a, _, err := svc.Create(ctx, board.System, b, board.Draft{Title: "soon", PublishAt: at(time.Now(), 300*time.Millisecond)}, "")
	if err != nil || a.Status != board.StatusScheduled {
		t.Fatalf("create: %v %q", err, a.Status)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if a, _ = rig.Store.Announcement(ctx, b.ID, a.ID); a.Status == board.StatusPublished {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("status %q 5 s after its time, want published", a.Status)
}

func TestExpiredOutageSaysNoUnknownEnd(t *testing.T) {
	from := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	a := board.Announcement{Kind: board.KindOutage, Outage: &board.Outage{Service: "mail", From: from}}
	if f := locale.For("en").Facts(a); f[len(f)-1].Value != "not known yet" {
		t.Fatalf("a running outage without an end: %+v", f)
	}
	a.Status, a.ExpiresAt = board.StatusExpired, at(from, time.Hour)
	for _, f := range locale.For("en").Facts(a) {
		if f.Value == "not known yet" {
			t.Errorf("an ended notice still says its end is not known: %+v", locale.For("en").Facts(a))
		}
	}
}

// At a call's deadline every destination is told, once: a refresh goes
// out (the Question's closed time, the Matrix poll's end), and again only
// for a deadline moved later (issue 22, points 5 and 8).
func TestCallClosesEverywhereAtItsDeadline(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	rig.Clock.Set(start)
	a, _, err := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindCall, Title: "Cooks wanted",
		Call: &board.Call{Roles: []board.Role{{Name: "cook", Places: 2}}, Contact: "ana@example.org", Deadline: at(start, time.Hour)}}, "")
	if err != nil {
		t.Fatal(err)
	}
	refreshes := func() int {
		n := 0
		for _, e := range rig.Pending(t) {
			if e.AnnouncementID == a.ID && e.Verb == board.VerbRefresh {
				n++
			}
		}
		return n
	}
	if next, ok, err := svc.NextDeadline(ctx); err != nil || !ok || !next.Equal(start.Add(time.Hour)) {
		t.Fatalf("next deadline: %v %v %v", next, ok, err)
	}
	rig.Clock.Advance(59 * time.Minute)
	if err := svc.PublishDue(ctx); err != nil || refreshes() != 0 {
		t.Fatalf("before the deadline: %v, %d refreshes", err, refreshes())
	}
	rig.Clock.Advance(2 * time.Minute)
	for range 2 { // a second pass (or a restart) sends nothing more
		if err := svc.PublishDue(ctx); err != nil || refreshes() != 1 {
			t.Fatalf("after the deadline: %v, %d refreshes, want 1", err, refreshes())
		}
	}
	if _, ok, _ := svc.NextDeadline(ctx); ok {
		t.Error("a deadline whose closing went out is still due")
	}
	// The editors move the deadline later: it closes again when it comes.
	if _, err := svc.Update(ctx, board.System, b, a.ID, func(d *board.Draft) error {
		d.Call.Deadline = at(rig.Clock.Now(), time.Hour)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	rig.Clock.Advance(61 * time.Minute)
	if err := svc.PublishDue(ctx); err != nil || refreshes() != 2 {
		t.Fatalf("after the new deadline: %v, %d refreshes, want 2", err, refreshes())
	}
}

// A publication time already past is refused, not published at once
// without a word (issue 25, point 9): typed so, or kept on a draft being
// published. Within a minute it means now (a form gives minutes); a
// scheduled one whose time has just come is edited as planned.
func TestPastPublishTimeIsRefused(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	rig.Clock.Set(time.Date(2026, 11, 26, 9, 0, 30, 0, time.UTC))
	c := rig.Clock
	if _, _, err := svc.Create(ctx, board.System, b, board.Draft{Title: "late", PublishAt: at(c.Now(), -time.Hour)}, ""); !isField(err, "publish_at") {
		t.Errorf("a publication time an hour ago: %v, want refused", err)
	}
	if _, _, err := svc.Create(ctx, board.System, b, board.Draft{Title: "late draft", KeepDraft: true, PublishAt: at(c.Now(), -time.Hour)}, ""); !isField(err, "publish_at") {
		t.Errorf("a draft with a publication time an hour ago: %v, want refused", err)
	}
	if a, _, err := svc.Create(ctx, board.System, b, board.Draft{Title: "this minute", PublishAt: at(c.Now(), -30*time.Second)}, ""); err != nil || a.Status != board.StatusPublished {
		t.Errorf("the current minute typed: %v %q, want published", err, a.Status)
	}

	draft, _, err := svc.Create(ctx, board.System, b, board.Draft{Title: "for tomorrow", KeepDraft: true, PublishAt: at(c.Now(), time.Hour)}, "")
	if err != nil {
		t.Fatal(err)
	}
	sched, _, err := svc.Create(ctx, board.System, b, board.Draft{Title: "scheduled", PublishAt: at(c.Now(), time.Hour)}, "")
	if err != nil || sched.Status != board.StatusScheduled {
		t.Fatalf("scheduled: %v %q", err, sched.Status)
	}
	rig.Clock.Advance(2 * time.Hour) // the scheduler has not run yet
	publish := func(d *board.Draft) error { d.KeepDraft = false; return nil }
	if _, err := svc.Update(ctx, board.System, b, draft.ID, publish); !isField(err, "publish_at") {
		t.Errorf("publishing a draft whose time has passed: %v, want refused", err)
	}
	if a, err := svc.Update(ctx, board.System, b, draft.ID, func(d *board.Draft) error { d.KeepDraft = true; d.Title = "kept"; return nil }); err != nil || a.Status != board.StatusDraft {
		t.Errorf("saving that draft again: %v %q, want kept as a draft", err, a.Status)
	}
	if a, err := svc.Update(ctx, board.System, b, draft.ID, func(d *board.Draft) error { d.KeepDraft, d.PublishAt = false, nil; return nil }); err != nil || a.Status != board.StatusPublished {
		t.Errorf("publishing it now: %v %q", err, a.Status)
	}
	if a, err := svc.Update(ctx, board.System, b, sched.ID, func(d *board.Draft) error { d.Title = "scheduled, edited"; return nil }); err != nil || a.Status != board.StatusPublished {
		t.Errorf("editing a scheduled one whose time has come: %v %q, want published as planned", err, a.Status)
	}
}
