package board_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"crieur/board"
)

// A partial edit (PATCH) decodes its JSON into DraftOf(a); encoding/json
// writes through the pointers it finds. A new end, deadline, "until" or
// resolution must change the draft alone: the announcement as it was is
// what a follow-up compares with ("New end"), and a trial saw PATCH's
// follow-ups name no change when they shared the times.
func TestDraftOfSharesNothingWithTheAnnouncement(t *testing.T) {
	at := func(h int) *time.Time { v := time.Date(2026, 12, 12, h, 0, 0, 0, time.UTC); return &v }
	cases := []struct {
		name  string
		a     board.Announcement
		patch string
		want  string
	}{
		{"an event's end", board.Announcement{Kind: board.KindEvent, Event: &board.Event{Start: *at(14), End: at(17)}},
			`{"event":{"end":"2026-12-12T19:00:00Z"}}`, board.ChangeWhen},
		{"a call's deadline", board.Announcement{Kind: board.KindCall, Call: &board.Call{Roles: []board.Role{{Name: "cook", Places: 2}}, Deadline: at(10), ClosedFor: at(9)}},
			`{"call":{"deadline":"2026-12-12T12:00:00Z","closed_for":"2026-12-12T11:00:00Z","roles":[{"name":"baker","places":1}]}}`, board.ChangeAnswerBefore},
		{"an outage's end", board.Announcement{Kind: board.KindOutage, Outage: &board.Outage{Service: "mail", From: *at(8), Until: at(10)}},
			`{"outage":{"until":"2026-12-12T12:00:00Z"}}`, board.ChangeUntil},
		{"an outage resolved", board.Announcement{Kind: board.KindOutage, Outage: &board.Outage{Service: "mail", From: *at(8), Resolved: nil}},
			`{"outage":{"resolved":"2026-12-12T09:00:00Z"}}`, board.ChangeResolved},
		{"a campaign's deadline", board.Announcement{Kind: board.KindCampaign, Campaign: &board.Campaign{Goal: 100, Currency: "EUR", Deadline: at(23), Ended: at(22), Milestones: []int{50}, Reached: []int{50},
			SourceProblem: &board.SourceProblem{Args: []string{"x"}}}},
			`{"campaign":{"deadline":"2026-12-13T23:00:00Z","ended":"2026-12-13T22:00:00Z","milestones":[75],"reached":[75],"source_problem":{"args":["y"]}}}`, board.ChangeUntil},
		{"a training's reminder", board.Announcement{Kind: board.KindTraining, Event: &board.Event{Start: *at(14)}, Training: &board.Training{RemindedFor: at(14)}},
			`{"training":{"reminded_for":"2026-12-12T15:00:00Z"}}`, ""},
	}
	for _, c := range cases {
		before, _ := json.Marshal(c.a)
		d := board.DraftOf(c.a)
		if err := json.Unmarshal([]byte(c.patch), &d); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if after, _ := json.Marshal(c.a); string(after) != string(before) {
			t.Errorf("%s: the patch changed the announcement itself:\n%s\nwas\n%s", c.name, after, before)
		}
		edited := c.a
		edited.Event, edited.Call, edited.Outage, edited.Campaign, edited.Training = d.Event, d.Call, d.Outage, d.Campaign, d.Training
		if got := board.Changes(c.a, edited); c.want != "" && !reflect.DeepEqual(got, []string{c.want}) {
			t.Errorf("%s: the edit's changes are %v, want [%s]", c.name, got, c.want)
		}
	}
}
