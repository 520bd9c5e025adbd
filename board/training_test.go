package board_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"crieur/board"
	"crieur/board/boardtest"
	"crieur/board/locale"
)

func trainingDraft(start time.Time, seats int) board.Draft {
	return board.Draft{Kind: board.KindTraining, Title: "Git for beginners", Body: "Bring your questions.",
		Event:    &board.Event{Start: start, Place: "Room B12"},
		Training: &board.Training{Seats: seats, Waitlist: true, Level: "beginners", Bring: "a laptop", Online: "https://meet.example.org/git", Reminder: true}}
}

// trainingNotes records what registrants were told.
type trainingNotes struct {
	mu        sync.Mutex
	reminded  []string
	cancelled []string
	backOn    []string
}

func (n *trainingNotes) Tell(_ context.Context, _ board.Board, _ board.Announcement, no board.Notice) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch no.What {
	case board.ToldReminder:
		n.reminded = append(n.reminded, no.Person.ID)
	case board.ToldCancelled:
		n.cancelled = append(n.cancelled, no.Person.ID)
	case board.ToldBackOn:
		n.backOn = append(n.backOn, no.Person.ID)
	}
}

func TestTrainingDetailsAndFacts(t *testing.T) {
	start := time.Date(2026, 12, 5, 14, 0, 0, 0, time.UTC)
	d := trainingDraft(start, 12)
	if err := d.Normalize(); err != nil {
		t.Fatal(err)
	}
	// The sign-ups are derived: one option, the seats, open until it starts.
	if c := d.Call; c == nil || len(c.Roles) != 1 || c.Roles[0] != (board.Role{board.TrainingRole, 12}) || !c.Waitlist || c.Deadline == nil || !c.Deadline.Equal(start) {
		t.Fatalf("derived sign-ups %+v", d.Call)
	}
	a := board.Announcement{Kind: board.KindTraining, Event: d.Event, Call: d.Call, Training: d.Training, Status: board.StatusPublished}
	a.Call.Taken = map[string]int{board.TrainingRole: 9}
	en := locale.For("en").FactsText(locale.For("en").Facts(a))
	for _, want := range []string{"When: ", "Where: Room B12", "Online: https://meet.example.org/git", "Level: beginners", "What to bring: a laptop", "Seats: 3 of 12 available"} {
		if !strings.Contains(en, want) {
			t.Errorf("English facts lack %q:\n%s", want, en)
		}
	}
	fr := locale.For("fr").FactsText(locale.For("fr").Facts(a))
	for _, want := range []string{"Niveau\u202f: beginners", "À apporter\u202f: a laptop", "Places\u202f: 3 disponibles sur 12"} {
		if !strings.Contains(fr, want) {
			t.Errorf("French facts lack %q:\n%s", want, fr)
		}
	}
	a.Call.Taken[board.TrainingRole] = 12
	if got := locale.For("en").FactsText(locale.For("en").Facts(a)); !strings.Contains(got, "Seats: full (12): waiting list open") {
		t.Errorf("a full training:\n%s", got)
	}
	a.Training.Cancelled = true
	if f := locale.For("en").Facts(a); f[0].Label != "Cancelled" || strings.Contains(locale.For("en").FactsText(f), "Seats") {
		t.Errorf("a cancelled training says so first and offers no seats: %+v", f)
	}
	if a.SignupsOpen(start.Add(-time.Hour)) {
		t.Error("a cancelled training takes registrations")
	}

	for _, c := range []struct {
		d     board.Draft
		field string
	}{
		{board.Draft{Kind: board.KindTraining, Title: "x", Event: &board.Event{Start: start}}, "training"},
		{board.Draft{Kind: board.KindTraining, Title: "x", Training: &board.Training{Seats: 3}}, "event"},
		{board.Draft{Kind: board.KindTraining, Title: "x", Event: &board.Event{Start: start}, Training: &board.Training{Seats: 0}}, "training.seats"},
		{board.Draft{Kind: board.KindTraining, Title: "x", Event: &board.Event{Start: start}, Training: &board.Training{Seats: 3, Online: "meet.example.org"}}, "training.online"},
		{board.Draft{Kind: board.KindNews, Title: "x", Training: &board.Training{Seats: 3}}, "training"},
	} {
		if err := c.d.Normalize(); !isField(err, c.field) {
			t.Errorf("%+v: want an error on %s, got %v", c.d, c.field, err)
		}
	}
}

func TestTrainingRegistrationsAndWaitingList(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	rig.Clock.Set(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	c := rig.Clock
	var prom promotions
	svc.Connect(board.Destinations{People: []board.PersonNotifier{&prom}})
	a, _, err := svc.Create(ctx, board.System, b, trainingDraft(c.Now().Add(72*time.Hour), 2), "")
	if err != nil {
		t.Fatal(err)
	}
	people := []board.Person{{Kind: board.PersonFediverse, ID: "https://a.example/u/ann"}, {Kind: board.PersonMatrix, ID: "@bob:example.org"}, {Kind: board.PersonWeb, ID: "form-1", Name: "Cy"}}
	var states []string
	for _, p := range people {
		res, err := svc.SignUp(ctx, b, a.ID, p, []string{board.TrainingRole}, anew())
		if err != nil {
			t.Fatal(err)
		}
		states = append(states, strings.Join(append(res.Confirmed, res.Waiting...), "")+"/"+map[bool]string{true: "waiting", false: "seat"}[len(res.Waiting) > 0])
	}
	if states[0] != board.TrainingRole+"/seat" || states[1] != board.TrainingRole+"/seat" || states[2] != board.TrainingRole+"/waiting" {
		t.Fatalf("two seats, three people: %v", states)
	}
	got, _ := rig.Store.Announcement(ctx, b.ID, a.ID)
	if left := got.Call.PlacesLeft(board.TrainingRole); left != 0 {
		t.Errorf("seats left %d", left)
	}
	if _, _, err := svc.Withdraw(ctx, b, a.ID, people[0], nil, board.WhyLink); err != nil {
		t.Fatal(err)
	}
	if len(prom) != 1 || prom[0].Person.ID != "form-1" || len(prom[0].Confirmed) != 1 {
		t.Errorf("after a withdrawal, the first waiting moves up: %+v", prom)
	}
	// Once it started, registration is over.
	rig.Clock.Advance(73 * time.Hour)
	if _, err := svc.SignUp(ctx, b, a.ID, board.Person{Kind: board.PersonWeb, ID: "form-2", Name: "Late"}, []string{board.TrainingRole}, anew()); !errors.Is(err, board.ErrCallClosed) {
		t.Errorf("registering after the start: %v", err)
	}
}

func TestTrainingReminderOnceAcrossRestartAndNoneWhenCancelled(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	rig.Clock.Set(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	c := rig.Clock
	notes := &trainingNotes{}
	svc.Connect(board.Destinations{People: []board.PersonNotifier{notes}})
	start := c.Now().Add(72 * time.Hour)
	a, _, err := svc.Create(ctx, board.System, b, trainingDraft(start, 5), "")
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := svc.Create(ctx, board.System, b, trainingDraft(start.Add(time.Hour), 5), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{a.ID, other.ID} {
		if _, err := svc.SignUp(ctx, b, id, board.Person{Kind: board.PersonFediverse, ID: "https://a.example/u/ann"}, []string{board.TrainingRole}, anew()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Cancel(ctx, board.System, b, other.ID, true); err != nil {
		t.Fatal(err)
	}
	if len(notes.cancelled) != 1 {
		t.Errorf("the registrant of the cancelled training was told %d times", len(notes.cancelled))
	}
	out := rig.Pending(t)
	if last := out[len(out)-1]; last.AnnouncementID != other.ID || last.Verb != board.VerbUpdate || !last.FollowUp {
		t.Errorf("the cancellation's outbox row %+v; want an Update with a follow-up for channels and lists", last)
	}
	if next, ok, err := svc.NextReminder(ctx); err != nil || !ok || !next.Equal(start.Add(-board.ReminderLead)) {
		t.Fatalf("next reminder %v %v %v; want the day before the start", next, ok, err)
	}
	reminders := func(s *board.Service) int {
		list, _ := rig.Store.Announcements(ctx, b.ID, 0, 50)
		n := 0
		for _, x := range list {
			if strings.HasPrefix(x.Title, "Tomorrow:") {
				n++
				if !strings.Contains(x.Body, "Room B12") || !strings.Contains(x.Body, "https://meet.example.org/git") {
					t.Errorf("the reminder does not say where:\n%s", x.Body)
				}
			}
		}
		return n
	}
	// A minute early: nothing.
	c.Set(start.Add(-board.ReminderLead - time.Minute))
	if err := svc.PublishDue(ctx); err != nil {
		t.Fatal(err)
	}
	if n := reminders(svc); n != 0 {
		t.Fatalf("%d reminders before their time", n)
	}
	// On time, after a restart (a new service on the same store).
	rig.Clock.Advance(2 * time.Minute)
	svc2 := rig.Restart()
	svc2.Connect(board.Destinations{People: []board.PersonNotifier{notes}})
	for range 3 {
		if err := svc2.PublishDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := reminders(svc2); n != 1 {
		t.Errorf("%d reminders; want one, and none for the cancelled training", n)
	}
	if len(notes.reminded) != 1 {
		t.Errorf("the registrant got %d reminder notes", len(notes.reminded))
	}
	// An edit that keeps the date does not send it again; one that moves it
	// does, the day before the new date.
	if _, err := svc2.Update(ctx, board.System, b, a.ID, func(d *board.Draft) error {
		d.Body = "Bring your questions and a charger."
		d.Training.RemindedFor = nil
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	_ = svc2.PublishDue(ctx)
	if n := reminders(svc2); n != 1 || len(notes.reminded) != 1 {
		t.Errorf("an edit sent the reminder again: %d posts, %d notes", n, len(notes.reminded))
	}
	if _, err := svc2.Update(ctx, board.System, b, a.ID, func(d *board.Draft) error { d.Event.Start = start.Add(7 * 24 * time.Hour); return nil }); err != nil {
		t.Fatal(err)
	}
	c.Set(start.Add(6 * 24 * time.Hour))
	_ = svc2.PublishDue(ctx)
	if n := reminders(svc2); n != 2 || len(notes.reminded) != 2 {
		t.Errorf("after the date moved: %d reminders and %d notes, want 2 of each", n, len(notes.reminded))
	}
}

func TestTrainingPublishedWithinADayGetsNoReminder(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	rig.Clock.Set(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	c := rig.Clock
	if _, _, err := svc.Create(ctx, board.System, b, trainingDraft(c.Now().Add(5*time.Hour), 5), ""); err != nil {
		t.Fatal(err)
	}
	rig.Clock.Advance(time.Minute)
	if err := svc.PublishDue(ctx); err != nil {
		t.Fatal(err)
	}
	list, _ := rig.Store.Announcements(ctx, b.ID, 0, 50)
	if len(list) != 1 {
		t.Errorf("a training posted 5 hours before it starts got a reminder: %d posts", len(list))
	}
	if _, ok, _ := svc.NextReminder(ctx); ok {
		t.Error("its reminder is still due")
	}
}

// Registrants hear a cancellation and its undoing, each once; a sign-up
// itself is told with the key of its withdraw link (issue 22, point 12).
func TestRegistrantsHearCancelledAndBackOn(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	notes := &trainingNotes{}
	var all allNotices
	svc.Connect(board.Destinations{People: []board.PersonNotifier{notes, &all}})
	a, _, err := svc.Create(ctx, board.System, b, trainingDraft(time.Now().Add(72*time.Hour), 1), "")
	if err != nil {
		t.Fatal(err)
	}
	web := board.Person{Kind: board.PersonWeb, ID: "form-1", Name: "Cy", Contact: "cy@example.org", Lang: "fr"}
	res, err := svc.SignUp(ctx, b, a.ID, web, []string{board.TrainingRole}, anew())
	if err != nil || len(all) != 1 || all[0].What != board.ToldSignedUp || all[0].WithdrawToken != res.WithdrawToken || all[0].Person.Lang != "fr" {
		t.Fatalf("a sign-up told %+v (%v)", all, err)
	}
	late := board.Person{Kind: board.PersonWeb, ID: "form-2", Name: "Di"}
	if res, _ := svc.SignUp(ctx, b, a.ID, late, []string{board.TrainingRole}, anew()); len(res.Waiting) != 1 {
		t.Fatalf("the second of one seat: %+v", res)
	}
	for _, cancel := range []bool{true, true, false, false} {
		if _, err := svc.Cancel(ctx, board.System, b, a.ID, cancel); err != nil {
			t.Fatal(err)
		}
	}
	if cur, _ := rig.Store.Announcement(ctx, b.ID, a.ID); !cur.BackOn() || locale.For("en").Facts(cur)[0].Label != "Back on" {
		t.Errorf("a training whose cancellation was undone does not say it is back on: %+v", cur.Training)
	}
	if fmt.Sprint(notes.cancelled) != "[form-1 form-2]" || fmt.Sprint(notes.backOn) != "[form-1 form-2]" {
		t.Errorf("cancelled told %v, back on told %v; want each registrant once (the waiting one too)", notes.cancelled, notes.backOn)
	}
	got, _ := rig.Store.Signups(ctx, a.ID)
	if got[0].Person.Lang != "fr" {
		t.Errorf("the sign-up's language was not kept: %+v", got[0].Person)
	}
}

type allNotices []board.Notice

func (n *allNotices) Tell(_ context.Context, _ board.Board, _ board.Announcement, no board.Notice) {
	*n = append(*n, no)
}
