package board_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
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
	res, err := svc.SignUp(ctx, b, a.ID, alice, []string{"cook", "driver"})
	if err != nil || len(res.Confirmed) != 2 || res.WithdrawToken == "" {
		t.Fatalf("first answer: %+v %v", res, err)
	}
	// The same vote again (redelivered) changes nothing.
	if res, _ := svc.SignUp(ctx, b, a.ID, alice, []string{"cook"}); res.Changed() || len(res.Already) != 1 {
		t.Fatalf("repeat: %+v", res)
	}
	bob := board.Person{Kind: board.PersonMatrix, ID: "@bob:example.org"}
	if res, _ := svc.SignUp(ctx, b, a.ID, bob, []string{"driver"}); len(res.Full) != 1 {
		t.Fatalf("a full role took one more: %+v", res)
	}
	if _, err := svc.SignUp(ctx, b, a.ID, bob, []string{"juggler"}); !errors.As(err, new(*board.UnknownRoleError)) {
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
	// Every change wrote a refresh row, and so did the vote for a full
	// role (its voter's server counted it: issue 22, point 9); repeats
	// wrote none.
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
	if n := refreshes(); n != 3 {
		t.Fatalf("%d refresh rows, want 3 (a sign-up, a vote for a full role, a withdrawal)", n)
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
	if _, err := svc.SignUp(ctx, b, a.ID, bob, []string{"cook"}); !errors.Is(err, board.ErrCallClosed) || refreshes() != before+1 {
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
	svc.SignUp(ctx, b, a.ID, p("ann"), []string{"cook"})
	if res, _ := svc.SignUp(ctx, b, a.ID, p("ben"), []string{"cook"}); len(res.Waiting) != 1 {
		t.Fatalf("ben should wait: %+v", res)
	}
	// One role each: ann switching to driver frees cook, and ben moves up.
	if res, _ := svc.SignUp(ctx, b, a.ID, p("ann"), []string{"driver"}); len(res.Confirmed) != 1 || len(res.Dropped) != 1 {
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
	if _, err := svc.SignUp(ctx, b, a.ID, p("cat"), []string{"cook", "driver"}); err == nil {
		t.Fatal("two roles on a one-role call")
	}
}

func TestClosedCallsTakeNobody(t *testing.T) {
	ctx := context.Background()
	past := time.Now().Add(-time.Hour)
	_, svc, b, a := newCall(t, board.Call{Roles: []board.Role{{Name: "cook", Places: 1}}, Deadline: &past})
	if _, err := svc.SignUp(ctx, b, a.ID, board.Person{Kind: board.PersonWeb, ID: "x"}, []string{"cook"}); !errors.Is(err, board.ErrCallClosed) {
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
			res, err := svc.SignUp(ctx, b, a.ID, board.Person{Kind: board.PersonWeb, ID: fmt.Sprint(i)}, []string{"cook"})
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

type promotions []board.Signup

func (p *promotions) Promoted(_ context.Context, _ board.Board, _ int64, su board.Signup) {
	*p = append(*p, su)
}

// Editors remove a sign-up, add one taken by phone, close and reopen.
func TestEditorsManageSignups(t *testing.T) {
	ctx := context.Background()
	rig, svc, b, a := newCall(t, board.Call{Roles: []board.Role{{Name: "cook", Places: 1}}, Waitlist: true})
	var told promotions
	svc.Connect(board.Destinations{Promotions: &told})
	first := board.Person{Kind: board.PersonEditor, ID: "editor:1", Name: "Jo (by phone)"}
	second := board.Person{Kind: board.PersonFediverse, ID: "https://a.example/users/kim"}
	svc.SignUp(ctx, b, a.ID, first, []string{"cook"})
	svc.SignUp(ctx, b, a.ID, second, []string{"cook"})
	list, _ := rig.Store.Signups(ctx, a.ID)
	if err := svc.RemoveSignup(ctx, board.System, b, a.ID, list[0].ID); err != nil {
		t.Fatal(err)
	}
	if len(told) != 1 || told[0].Person.ID != second.ID || told[0].State != board.SignupConfirmed {
		t.Fatalf("the waiting volunteer was not told: %+v", told)
	}
	if err := svc.RemoveSignup(ctx, board.System, b, a.ID, list[0].ID); !errors.Is(err, board.ErrNotFound) {
		t.Fatalf("removing twice: %v", err)
	}
	closed, err := svc.SetClosed(ctx, board.System, b, a.ID, true)
	if err != nil || !closed.Call.Closed || closed.Version != 2 {
		t.Fatalf("close: %+v %v", closed.Call, err)
	}
	if _, err := svc.SignUp(ctx, b, a.ID, board.Person{Kind: board.PersonWeb, ID: "late"}, []string{"cook"}); !errors.Is(err, board.ErrCallClosed) {
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
	svc.SignUp(ctx, b, a.ID, board.Person{Kind: board.PersonWeb, ID: "x"}, []string{"cook"})
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
	svc.Connect(board.Destinations{Promotions: &told})
	svc.SignUp(ctx, b, a.ID, board.Person{Kind: board.PersonWeb, ID: "ann"}, []string{"cook"})
	svc.SignUp(ctx, b, a.ID, board.Person{Kind: board.PersonWeb, ID: "ben"}, []string{"cook"})
	svc.SignUp(ctx, b, a.ID, board.Person{Kind: board.PersonWeb, ID: "ann"}, []string{"driver"})
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
