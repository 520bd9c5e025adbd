package board_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"crieur/board"
	"crieur/board/boardtest"
)

// The ledger under random interleavings of answers from every channel,
// changes of mind, withdrawals, redeliveries of answers already seen, the
// editors closing and reopening, the deadline passing and restarts: after
// every step the counts every channel shows equal the sign-ups, a replay
// or a refusal changes nothing, and every change leaves a refresh for the
// channels (issue 22: a property test of the ledger).
func TestLedgerUnderRandomInterleavings(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) { t.Parallel(); ledgerRun(t, seed) })
	}
}

func ledgerRun(t *testing.T, seed uint64) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 22))
	rig := boardtest.New(t)
	c := rig.Clock
	c.Set(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	svc, b := rig.Service, rig.Board
	deadline := c.Now().Add(6 * time.Hour)
	call := board.Call{Roles: []board.Role{{Name: "cook", Places: 2}, {Name: "driver", Places: 1}}, Contact: "fair@example.org",
		Waitlist: seed%2 == 0, Multiple: seed%3 == 0, Deadline: &deadline}
	a, _, err := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindCall, Title: "Helpers", Call: &call}, "")
	if err != nil {
		t.Fatal(err)
	}
	people := []board.Person{
		{Kind: board.PersonFediverse, ID: "https://a.example/users/ann", Name: "ann"},
		{Kind: board.PersonFediverse, ID: "https://b.example/users/ben", Name: "ben"},
		{Kind: board.PersonMatrix, ID: "@cy:example.org", Name: "cy"},
		{Kind: board.PersonMatrix, ID: "@di:example.org", Name: "di"},
		{Kind: board.PersonWeb, ID: "form-eve", Name: "eve"},
		{Kind: board.PersonWeb, ID: "form-fox", Name: "fox"},
	}
	roles := []string{"cook", "driver"}
	type sent struct {
		p     board.Person
		roles []string
		o     board.Origin
		whole bool
	}
	var seen []sent
	snapshot := func() string {
		list, err := rig.Store.Signups(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, su := range list {
			out = append(out, su.Person.Name+"/"+su.Role+"/"+su.State)
		}
		slices.Sort(out)
		return strings.Join(out, " ")
	}
	refreshed := func() bool {
		for _, e := range rig.Pending(t) {
			if e.Verb == board.VerbRefresh && e.AnnouncementID == a.ID {
				return true
			}
		}
		return false
	}
	dispatch := func() {
		for _, e := range rig.Pending(t) {
			if err := rig.Store.MarkDispatched(ctx, e.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	n := 0
	for step := range 200 {
		dispatch()
		before := snapshot()
		what := ""
		var err error
		replay, refusedOK := false, false
		switch k := rng.IntN(20); {
		case k < 9: // a new answer
			p := people[rng.IntN(len(people))]
			var rs []string
			for _, r := range roles {
				if rng.IntN(2) == 0 {
					rs = append(rs, r)
				}
			}
			n++
			s := sent{p: p, roles: rs, o: board.Origin{ID: fmt.Sprint("o", n), At: c.Now().Add(time.Duration(rng.IntN(120)-60) * time.Second)}, whole: p.Kind == board.PersonMatrix}
			if !s.whole && len(rs) == 0 {
				rs = []string{"cook"}
				s.roles = rs
			}
			seen = append(seen, s)
			what = fmt.Sprintf("%s answers %v", p.Name, rs)
			if s.whole {
				_, err = svc.SetAnswer(ctx, b, a.ID, p, rs, s.o)
			} else {
				_, err = svc.SignUp(ctx, b, a.ID, p, rs, s.o)
			}
			refusedOK = true
		case k < 13 && len(seen) > 0: // an answer already seen, again
			s := seen[rng.IntN(len(seen))]
			what, replay = fmt.Sprintf("%s's %s again", s.p.Name, s.o.ID), true
			var res board.SignupResult
			if s.whole {
				res, err = svc.SetAnswer(ctx, b, a.ID, s.p, s.roles, s.o)
			} else {
				res, err = svc.SignUp(ctx, b, a.ID, s.p, s.roles, s.o)
			}
			if err == nil && !res.Replayed {
				t.Fatalf("step %d: %s was not taken as a replay: %+v", step, what, res)
			}
		case k < 15: // a withdrawal by link, or by an editor
			p := people[rng.IntN(len(people))]
			what = p.Name + " withdraws"
			_, _, err = svc.Withdraw(ctx, b, a.ID, p, nil, board.WhyLink)
		case k < 17: // the editors close or reopen
			closed := rng.IntN(2) == 0
			what = fmt.Sprint("closed: ", closed)
			_, err = svc.SetClosed(ctx, board.System, b, a.ID, closed)
		case k < 18: // time passes (past the deadline, in the end)
			what = "an hour later"
			c.Advance(time.Hour)
			err = svc.PublishDue(ctx)
		default: // a restart
			what = "restart"
			svc = rig.Restart()
		}
		var unknown *board.UnknownRoleError
		var invalid *board.ValidationError
		refused := errors.Is(err, board.ErrCallClosed) || errors.As(err, &unknown) || errors.As(err, &invalid)
		if err != nil && !(refused && refusedOK) {
			t.Fatalf("step %d (%s): %v", step, what, err)
		}
		after := snapshot()
		if (replay || refused) && after != before {
			t.Fatalf("step %d (%s) changed the sign-ups:\n%s\n->\n%s", step, what, before, after)
		}
		if after != before && !refreshed() && !strings.HasPrefix(what, "closed") {
			t.Fatalf("step %d (%s) changed the sign-ups without a refresh for the channels", step, what)
		}
		if refused && !refreshed() {
			t.Fatalf("step %d (%s) was refused without a refresh (the voter's server counted it)", step, what)
		}
		checkCounts(t, rig, b, a.ID, step, what)
	}
	ledger, err := rig.Store.Answers(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	origins := map[string]bool{}
	for _, an := range ledger {
		if origins[an.ID] {
			t.Fatalf("origin %s twice in the ledger", an.ID)
		}
		origins[an.ID] = true
	}
	for _, s := range seen {
		if !origins[s.o.ID] {
			t.Fatalf("answer %s is not in the ledger", s.o.ID)
		}
	}
}

// checkCounts compares what the channels show (the announcement's counts,
// which the page, the poll and the Matrix message are rendered from) with
// the sign-ups themselves, and the rules every state keeps.
func checkCounts(t *testing.T, rig *boardtest.Rig, b board.Board, id int64, step int, what string) {
	t.Helper()
	ctx := context.Background()
	a, err := rig.Store.Announcement(ctx, b.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	list, err := rig.Store.Signups(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	confirmed, waiting := map[string]int{}, map[string]int{}
	held := map[string]bool{}
	people := map[string]bool{}
	for _, su := range list {
		key := su.Person.Kind + su.Person.ID + "/" + su.Role
		if held[key] {
			t.Fatalf("step %d (%s): %s holds %s twice", step, what, su.Person.Name, su.Role)
		}
		held[key] = true
		switch su.State {
		case board.SignupConfirmed:
			confirmed[su.Role]++
			people[su.Person.Kind+su.Person.ID] = true
		case board.SignupWaiting:
			waiting[su.Role]++
		}
	}
	for _, r := range a.Call.Roles {
		if a.Call.Taken[r.Name] != confirmed[r.Name] {
			t.Fatalf("step %d (%s): %s shows %d taken, the sign-ups say %d", step, what, r.Name, a.Call.Taken[r.Name], confirmed[r.Name])
		}
		if confirmed[r.Name] > r.Places {
			t.Fatalf("step %d (%s): %s has %d of %d places", step, what, r.Name, confirmed[r.Name], r.Places)
		}
		if waiting[r.Name] > 0 && (!a.Call.Waitlist || confirmed[r.Name] < r.Places) {
			t.Fatalf("step %d (%s): %d wait for %s with %d of %d places taken", step, what, waiting[r.Name], r.Name, confirmed[r.Name], r.Places)
		}
	}
	if a.Call.Voters != len(people) {
		t.Fatalf("step %d (%s): %d voters shown, %d people confirmed", step, what, a.Call.Voters, len(people))
	}
}
