package board_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"crieur/board"
	"crieur/board/boardtest"
	"crieur/board/locale"
)

func newCall(t *testing.T, call board.Call) (*boardtest.Rig, *board.Service, board.Board, board.Announcement) {
	t.Helper()
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	if call.Contact == "" {
		call.Contact = "fair@example.org"
	}
	a, _, err := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindCall, Title: "Cooks wanted", Call: &call}, "")
	if err != nil {
		t.Fatal(err)
	}
	return rig, svc, b, a
}

func TestSignUpsKeepCountsAndPeopleOnce(t *testing.T) {
	ctx := context.Background()
	rig, svc, b, a := newCall(t, board.Call{Roles: []board.Role{{Name: "cook", Places: 2}, {Name: "driver", Places: 1}}, Multiple: true})
	alice := board.Person{Kind: board.PersonFediverse, ID: "https://a.example/users/alice"}
	res, err := svc.SignUp(ctx, b, a.ID, alice, []string{"cook", "driver"}, anew())
	if err != nil || len(res.Confirmed) != 2 || res.WithdrawToken == "" {
		t.Fatalf("first answer: %+v %v", res, err)
	}
	// The same vote again (redelivered) changes nothing.
	if res, _ := svc.SignUp(ctx, b, a.ID, alice, []string{"cook"}, anew()); res.Changed() || len(res.Already) != 1 {
		t.Fatalf("repeat: %+v", res)
	}
	bob := board.Person{Kind: board.PersonMatrix, ID: "@bob:example.org"}
	if res, _ := svc.SignUp(ctx, b, a.ID, bob, []string{"driver"}, anew()); len(res.Full) != 1 {
		t.Fatalf("a full role took one more: %+v", res)
	}
	if _, err := svc.SignUp(ctx, b, a.ID, bob, []string{"juggler"}, anew()); !errors.As(err, new(*board.UnknownRoleError)) {
		t.Fatalf("unknown role: %v", err)
	}
	got, _ := rig.Store.Announcement(ctx, b.ID, a.ID)
	if got.Call.Taken["cook"] != 1 || got.Call.Taken["driver"] != 1 || got.Call.PlacesLeft("cook") != 1 {
		t.Fatalf("counts: %v", got.Call.Taken)
	}
	if f := locale.For("en").Facts(got)[0].Value; f != "cook (1 of 2 places left), driver (full: 1 of 1)" {
		t.Fatalf("facts say %q", f)
	}
	// Withdrawing by the private link frees the place.
	if n, err := svc.WithdrawByToken(ctx, b, a.ID, res.WithdrawToken); err != nil || n != 2 {
		t.Fatalf("withdraw: %d %v", n, err)
	}
	got, _ = rig.Store.Announcement(ctx, b.ID, a.ID)
	if got.Call.Taken["driver"] != 0 {
		t.Fatalf("counts after withdrawal: %v", got.Call.Taken)
	}
	// Every change wrote a refresh row, and so did every refused vote
	// (its voter's server counted it: issue 22, point 9); repeats wrote
	// none.
	refreshes := func() int {
		entries, _ := rig.Store.PendingOutbox(ctx, 100)
		n := 0
		for _, e := range entries {
			if e.Verb == board.VerbRefresh {
				n++
			}
		}
		return n
	}
	if n := refreshes(); n != 4 {
		t.Fatalf("%d refresh rows, want 4 (a sign-up, a vote for a full role, one for a role the call lacks, a withdrawal)", n)
	}
	// An unchanged save of the call keeps its version despite the counts.
	if u, _ := svc.Update(ctx, board.System, b, a.ID, func(*board.Draft) error { return nil }); u.Version != 1 {
		t.Fatalf("an unchanged save of a call with sign-ups bumped the version to %d", u.Version)
	}
	// A vote after the close is refused, and the counts go out again too.
	if _, err := svc.SetClosed(ctx, board.System, b, a.ID, true); err != nil {
		t.Fatal(err)
	}
	before := refreshes()
	if _, err := svc.SignUp(ctx, b, a.ID, bob, []string{"cook"}, anew()); !errors.Is(err, board.ErrCallClosed) || refreshes() != before+1 {
		t.Fatalf("a vote after the close: %v, %d refresh rows, want %d", err, refreshes(), before+1)
	}
	if _, err := svc.SetClosed(ctx, board.System, b, a.ID, false); err != nil {
		t.Fatal(err)
	}
}

func TestWaitingListMovesUpAndOneRoleEach(t *testing.T) {
	ctx := context.Background()
	rig, svc, b, a := newCall(t, board.Call{Roles: []board.Role{{Name: "cook", Places: 1}, {Name: "driver", Places: 1}}, Waitlist: true})
	p := func(n string) board.Person { return board.Person{Kind: board.PersonWeb, ID: n} }
	svc.SignUp(ctx, b, a.ID, p("ann"), []string{"cook"}, anew())
	if res, _ := svc.SignUp(ctx, b, a.ID, p("ben"), []string{"cook"}, anew()); len(res.Waiting) != 1 {
		t.Fatalf("ben should wait: %+v", res)
	}
	// One role each: ann switching to driver frees cook, and ben moves up.
	if res, _ := svc.SignUp(ctx, b, a.ID, p("ann"), []string{"driver"}, anew()); len(res.Confirmed) != 1 || len(res.Dropped) != 1 {
		t.Fatalf("switch: %+v", res)
	}
	list, _ := rig.Store.Signups(ctx, a.ID)
	states := map[string]string{}
	for _, su := range list {
		states[su.Person.ID+"/"+su.Role] = su.State
	}
	if states["ben/cook"] != board.SignupConfirmed || states["ann/cook"] != board.SignupWithdrawn || states["ann/driver"] != board.SignupConfirmed {
		t.Fatalf("states: %v", states)
	}
	if _, err := svc.SignUp(ctx, b, a.ID, p("cat"), []string{"cook", "driver"}, anew()); err == nil {
		t.Fatal("two roles on a one-role call")
	}
}

func TestClosedCallsTakeNobody(t *testing.T) {
	ctx := context.Background()
	soon := time.Now().Add(time.Hour)
	rig, svc, b, a := newCall(t, board.Call{Roles: []board.Role{{Name: "cook", Places: 1}}, Deadline: &soon})
	rig.Clock.Advance(2 * time.Hour)
	if _, err := svc.SignUp(ctx, b, a.ID, board.Person{Kind: board.PersonWeb, ID: "x"}, []string{"cook"}, anew()); !errors.Is(err, board.ErrCallClosed) {
		t.Fatalf("after the deadline: %v", err)
	}
}

// Twenty people race for the last place: exactly one gets it.
func TestLastPlaceRace(t *testing.T) {
	ctx := context.Background()
	rig, svc, b, a := newCall(t, board.Call{Roles: []board.Role{{Name: "cook", Places: 1}}})
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := range 20 {
		wg.Go(func() {
			res, err := svc.SignUp(ctx, b, a.ID, board.Person{Kind: board.PersonWeb, ID: fmt.Sprint(i)}, []string{"cook"}, anew())
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			won += len(res.Confirmed)
			mu.Unlock()
		})
	}
	wg.Wait()
	got, _ := rig.Store.Announcement(ctx, b.ID, a.ID)
	if won != 1 || got.Call.Taken["cook"] != 1 {
		t.Fatalf("%d won the last place, %d recorded", won, got.Call.Taken["cook"])
	}
}

// promotions keeps what people moving up from a waiting list were told.
type promotions []board.Notice

func (p *promotions) Tell(_ context.Context, _ board.Board, _ board.Announcement, n board.Notice) {
	if n.What == board.ToldPromoted {
		*p = append(*p, n)
	}
}

// Editors remove a sign-up, add one taken by phone, close and reopen.
func TestEditorsManageSignups(t *testing.T) {
	ctx := context.Background()
	rig, svc, b, a := newCall(t, board.Call{Roles: []board.Role{{Name: "cook", Places: 1}}, Waitlist: true})
	var told promotions
	svc.Connect(board.Destinations{People: []board.PersonNotifier{&told}})
	first := board.Person{Kind: board.PersonEditor, ID: "editor:1", Name: "Jo (by phone)"}
	second := board.Person{Kind: board.PersonFediverse, ID: "https://a.example/users/kim"}
	svc.SignUp(ctx, b, a.ID, first, []string{"cook"}, anew())
	svc.SignUp(ctx, b, a.ID, second, []string{"cook"}, anew())
	list, _ := rig.Store.Signups(ctx, a.ID)
	if err := svc.RemoveSignup(ctx, board.System, b, a.ID, list[0].ID); err != nil {
		t.Fatal(err)
	}
	if len(told) != 1 || told[0].Person.ID != second.ID || fmt.Sprint(told[0].Confirmed) != "[cook]" {
		t.Fatalf("the waiting volunteer was not told: %+v", told)
	}
	if err := svc.RemoveSignup(ctx, board.System, b, a.ID, list[0].ID); !errors.Is(err, board.ErrNotFound) {
		t.Fatalf("removing twice: %v", err)
	}
	closed, err := svc.SetClosed(ctx, board.System, b, a.ID, true)
	if err != nil || !closed.Call.Closed || closed.Version != 2 {
		t.Fatalf("close: %+v %v", closed.Call, err)
	}
	if _, err := svc.SignUp(ctx, b, a.ID, board.Person{Kind: board.PersonWeb, ID: "late"}, []string{"cook"}, anew()); !errors.Is(err, board.ErrCallClosed) {
		t.Fatalf("a closed call took a sign-up: %v", err)
	}
	if open, _ := svc.SetClosed(ctx, board.System, b, a.ID, false); open.Call.Closed {
		t.Fatal("reopen")
	}
	// Closing keeps the sign-ups.
	got, _ := rig.Store.Announcement(ctx, b.ID, a.ID)
	if got.Call.Taken["cook"] != 1 {
		t.Fatalf("taken after close and reopen: %v", got.Call.Taken)
	}
}

// Editing a call keeps the sign-ups of the roles that remain; dropping a
// role people signed up for needs a confirmation.
func TestEditingRolesKeepsSignups(t *testing.T) {
	ctx := context.Background()
	_, svc, b, a := newCall(t, board.Call{Roles: []board.Role{{Name: "cook", Places: 2}, {Name: "driver", Places: 1}}})
	svc.SignUp(ctx, b, a.ID, board.Person{Kind: board.PersonWeb, ID: "x"}, []string{"cook"}, anew())
	// Renaming driver (nobody signed up) and adding places to cook is fine.
	u, err := svc.Update(ctx, board.System, b, a.ID, func(d *board.Draft) error {
		d.Call.Roles = []board.Role{{Name: "cook", Places: 3}, {Name: "bus driver", Places: 1}}
		return nil
	})
	if err != nil || u.Call.Taken["cook"] != 1 {
		t.Fatalf("edit: %v, taken %v", err, u.Call.Taken)
	}
	_, err = svc.Update(ctx, board.System, b, a.ID, func(d *board.Draft) error { d.Call.Roles = d.Call.Roles[1:]; return nil })
	var ve *board.ValidationError
	if !errors.As(err, &ve) || ve.Fields["call.roles"].Key == "" {
		t.Fatalf("dropping a role with a sign-up: %v", err)
	}
	if _, err := svc.Update(ctx, board.System, b, a.ID, func(d *board.Draft) error {
		d.Call.Roles, d.RemoveRolesWithSignups = d.Call.Roles[1:], true
		return nil
	}); err != nil {
		t.Fatalf("confirmed: %v", err)
	}
}

// Someone who switches roles frees their old place, and whoever waited
// for it is told.
func TestSwitchingRolesTellsWhoMovesUp(t *testing.T) {
	ctx := context.Background()
	_, svc, b, a := newCall(t, board.Call{Roles: []board.Role{{Name: "cook", Places: 1}, {Name: "driver", Places: 1}}, Waitlist: true})
	var told promotions
	svc.Connect(board.Destinations{People: []board.PersonNotifier{&told}})
	svc.SignUp(ctx, b, a.ID, board.Person{Kind: board.PersonWeb, ID: "ann"}, []string{"cook"}, anew())
	svc.SignUp(ctx, b, a.ID, board.Person{Kind: board.PersonWeb, ID: "ben"}, []string{"cook"}, anew())
	svc.SignUp(ctx, b, a.ID, board.Person{Kind: board.PersonWeb, ID: "ann"}, []string{"driver"}, anew())
	if len(told) != 1 || told[0].Person.ID != "ben" {
		t.Fatalf("told %+v", told)
	}
}

// The ledger of answers: an answer counts once per origin, never over a
// newer answer of the same person, and a refused one changes nothing held
// (issue 22, points 1 and 2).
func TestAnswersCountOnceAndInOrder(t *testing.T) {
	ctx := context.Background()
	rig, svc, b, a := newCall(t, board.Call{Roles: []board.Role{{Name: "cook", Places: 1}, {Name: "driver", Places: 2}}})
	ana := board.Person{Kind: board.PersonMatrix, ID: "@ana:example.org"}
	t0 := time.Now().Add(-time.Hour)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	held := func() []string {
		t.Helper()
		roles, err := rig.Store.CurrentRoles(ctx, a.ID, ana)
		if err != nil {
			t.Fatal(err)
		}
		return roles
	}
	if res, err := svc.SetAnswer(ctx, b, a.ID, ana, []string{"cook"}, board.Origin{ID: "matrix:$1", At: at(1)}); err != nil || len(res.Confirmed) != 1 {
		t.Fatalf("first answer: %+v %v", res, err)
	}
	// The editor removes her; the room is rejoined and its history synced
	// again: the same event changes nothing.
	list, _ := rig.Store.Signups(ctx, a.ID)
	rig.Clock.Set(at(1).Add(30 * time.Second)) // the removal comes after her answer, before her next
	rig.Clock.Set(at(1).Add(30 * time.Second)) // the removal comes after her answer, before her next
	if err := svc.RemoveSignup(ctx, board.System, b, a.ID, list[0].ID); err != nil {
		t.Fatal(err)
	}
	if res, err := svc.SetAnswer(ctx, b, a.ID, ana, []string{"cook"}, board.Origin{ID: "matrix:$1", At: at(1)}); err != nil || !res.Replayed || res.Changed() || len(held()) != 0 {
		t.Fatalf("a replayed answer: %+v %v, holds %v", res, err, held())
	}
	// A newer answer counts; an older one arriving after it does not.
	if res, err := svc.SetAnswer(ctx, b, a.ID, ana, []string{"driver"}, board.Origin{ID: "matrix:$3", At: at(3)}); err != nil || len(res.Confirmed) != 1 {
		t.Fatalf("a new answer: %+v %v", res, err)
	}
	if res, err := svc.SetAnswer(ctx, b, a.ID, ana, []string{"cook"}, board.Origin{ID: "matrix:$2", At: at(2)}); err != nil || !res.Replayed || fmt.Sprint(held()) != "[driver]" {
		t.Fatalf("an older answer after a newer one: %+v %v, holds %v", res, err, held())
	}
	// After the close a change is refused and her place stays; withdrawing
	// is still heard.
	if _, err := svc.SetClosed(ctx, board.System, b, a.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetAnswer(ctx, b, a.ID, ana, []string{"cook"}, board.Origin{ID: "matrix:$4", At: at(4)}); !errors.Is(err, board.ErrCallClosed) || fmt.Sprint(held()) != "[driver]" {
		t.Fatalf("a change after the close: %v, holds %v", err, held())
	}
	if _, err := svc.SetAnswer(ctx, b, a.ID, ana, []string{"cook"}, board.Origin{ID: "matrix:$4", At: at(4)}); err != nil {
		t.Fatalf("the refused answer again: %v (it is in the ledger: nothing to refuse twice)", err)
	}
	if res, err := svc.SetAnswer(ctx, b, a.ID, ana, []string{}, board.Origin{ID: "matrix:$5", At: at(5)}); err != nil || len(res.Dropped) != 1 || len(held()) != 0 {
		t.Fatalf("a withdrawal after the close: %+v %v, holds %v", res, err, held())
	}
	// An unknown role refuses the whole answer: nothing is withdrawn.
	if _, err := svc.SetClosed(ctx, board.System, b, a.ID, false); err != nil {
		t.Fatal(err)
	}
	svc.SetAnswer(ctx, b, a.ID, ana, []string{"cook"}, board.Origin{ID: "matrix:$6", At: at(6)})
	if _, err := svc.SetAnswer(ctx, b, a.ID, ana, []string{"juggler"}, board.Origin{ID: "matrix:$7", At: at(7)}); !errors.As(err, new(*board.UnknownRoleError)) || fmt.Sprint(held()) != "[cook]" {
		t.Fatalf("an unknown role: %v, holds %v", err, held())
	}
}

var origins atomic.Int64

// anew is a new answer's origin, another at each call, as each vote or
// form is.
func anew() board.Origin { return board.Origin{ID: fmt.Sprint("test:", origins.Add(1))} }

// Every channel's answers go through the one ledger: a fediverse vote
// redelivered, a web form sent twice, a refusal, a withdrawal by link and
// an editor's removal are each one entry, with what became of it
// (issue 22: one ledger, editors see each person's history).
func TestEveryChannelInTheLedger(t *testing.T) {
	ctx := context.Background()
	rig, svc, b, a := newCall(t, board.Call{Roles: []board.Role{{Name: "cook", Places: 1}, {Name: "driver", Places: 1}}})
	kim := board.Person{Kind: board.PersonFediverse, ID: "https://a.example/users/kim"}
	vote := board.Origin{ID: "https://a.example/users/kim/statuses/1"}
	first, err := svc.SignUp(ctx, b, a.ID, kim, []string{"cook"}, vote)
	if err != nil || len(first.Confirmed) != 1 {
		t.Fatalf("a vote: %+v %v", first, err)
	}
	again, err := svc.SignUp(ctx, b, a.ID, kim, []string{"cook"}, vote)
	if err != nil || !again.Replayed || again.Changed() || fmt.Sprint(again.Already) != "[cook]" || again.WithdrawToken != "" {
		t.Fatalf("the same vote redelivered: %+v %v", again, err)
	}
	form := board.Person{Kind: board.PersonWeb, ID: "form-key-0123456789", Name: "Lou"}
	sent := board.Origin{ID: "web:form-key-0123456789:driver"}
	svc.SignUp(ctx, b, a.ID, form, []string{"driver"}, sent)
	if res, _ := svc.SignUp(ctx, b, a.ID, form, []string{"driver"}, sent); !res.Replayed || fmt.Sprint(res.Already) != "[driver]" {
		t.Fatalf("the form sent twice: %+v", res)
	}
	// Someone else wants the full role: refused by the waiting list's
	// absence; then the role the call lacks.
	max := board.Person{Kind: board.PersonMatrix, ID: "@max:example.org"}
	if res, _ := svc.SignUp(ctx, b, a.ID, max, []string{"cook"}, anew()); fmt.Sprint(res.Full) != "[cook]" {
		t.Fatalf("a vote for a full role: %+v", res)
	}
	if _, err := svc.SignUp(ctx, b, a.ID, max, []string{"juggler"}, anew()); err == nil {
		t.Fatal("a role the call lacks was taken")
	}
	if _, err := svc.WithdrawByToken(ctx, b, a.ID, first.WithdrawToken); err != nil {
		t.Fatal(err)
	}
	list, _ := rig.Store.Signups(ctx, a.ID)
	for _, su := range list {
		if su.Person.ID == form.ID {
			if err := svc.RemoveSignup(ctx, board.System, b, a.ID, su.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	ledger, err := rig.Store.Answers(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, an := range ledger {
		origin, _, _ := strings.Cut(an.ID, ":")
		got = append(got, fmt.Sprintf("%s %s: %v %s/%s %v%v", an.Person.Kind, origin, an.Roles, an.Outcome, an.Why, an.Result.Confirmed, an.Result.Full))
	}
	want := []string{
		"fediverse https: [cook] applied/ [cook][]",
		"web web: [driver] applied/ [driver][]",
		"matrix test: [cook] applied/ [][cook]",
		"matrix test: [juggler] refused/no_such_role [][]",
		"fediverse withdraw: [cook] withdrawn/link [][]",
		"web withdraw: [driver] withdrawn/editor [][]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("the ledger holds\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A call whose deadline is already past would open closed: refused with
// the field to fix, as a past "publish at" is. A draft may keep it until
// it is published; a published call whose deadline passed is edited as it
// is (it closed).
func TestACallCannotOpenClosed(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	past := time.Now().Add(-24 * time.Hour)
	call := func() *board.Call {
		return &board.Call{Roles: []board.Role{{Name: "cook", Places: 2}}, Contact: "fair@example.org", Deadline: &past}
	}
	_, _, err := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindCall, Title: "Cooks", Call: call()}, "")
	var ve *board.ValidationError
	if !errors.As(err, &ve) || ve.Fields["call.deadline"].Key != "problem.deadline_past" {
		t.Fatalf("a call with a past deadline: %v", err)
	}
	draft, _, err := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindCall, Title: "Cooks", Call: call(), KeepDraft: true}, "")
	if err != nil {
		t.Fatalf("a draft with a past deadline: %v", err)
	}
	_, err = svc.Update(ctx, board.System, b, draft.ID, func(d *board.Draft) error { d.KeepDraft = false; return nil })
	if !errors.As(err, &ve) || ve.Fields["call.deadline"].Key != "problem.deadline_past" {
		t.Fatalf("publishing a draft whose deadline passed: %v", err)
	}
	soon := time.Now().Add(time.Hour).Truncate(time.Minute).Add(17 * time.Second)
	a, _, err := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindCall, Title: "Drivers", Call: &board.Call{Roles: []board.Role{{Name: "driver", Places: 1}}, Contact: "x@example.org", Deadline: &soon}}, "")
	if err != nil {
		t.Fatal(err)
	}
	rig.Clock.Advance(2 * time.Hour)
	if _, err := svc.Update(ctx, board.System, b, a.ID, func(d *board.Draft) error { d.Title = "Drivers (thank you)"; return nil }); err != nil {
		t.Fatalf("editing a call whose deadline passed: %v", err)
	}
	// The editor's form sends the deadline back as it showed it, in
	// minutes: the same deadline, kept to the second.
	shown := soon.Truncate(time.Minute)
	edited, err := svc.Update(ctx, board.System, b, a.ID, func(d *board.Draft) error { d.Title = "Drivers (merci)"; d.Call.Deadline = &shown; return nil })
	if err != nil {
		t.Fatalf("editing a call whose deadline passed, from the form: %v", err)
	}
	if !edited.Call.Deadline.Equal(soon) {
		t.Errorf("the deadline sent back in minutes became %v, want %v as it was", edited.Call.Deadline, soon)
	}
}

// A call kept as a draft may lack its contact (how to answer is often
// settled last); publishing it asks for one.
func TestADraftCallMayLackItsContact(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	d := board.Draft{Kind: board.KindCall, Title: "Cooks", KeepDraft: true, Call: &board.Call{Roles: []board.Role{{Name: "cook", Places: 2}}}}
	draft, _, err := svc.Create(ctx, board.System, b, d, "")
	if err != nil {
		t.Fatalf("a draft call without its contact: %v", err)
	}
	_, err = svc.Update(ctx, board.System, b, draft.ID, func(d *board.Draft) error { d.KeepDraft = false; return nil })
	var ve *board.ValidationError
	if !errors.As(err, &ve) || ve.Fields["call.contact"].Key != "problem.contact" {
		t.Fatalf("publishing a call without its contact: %v", err)
	}
	if _, err := svc.Update(ctx, board.System, b, draft.ID, func(d *board.Draft) error { d.KeepDraft, d.Call.Contact = false, "x@example.org"; return nil }); err != nil {
		t.Fatalf("publishing it with its contact: %v", err)
	}
}
