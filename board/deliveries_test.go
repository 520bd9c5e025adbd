package board_test

import (
	"testing"
	"time"

	"crieur/board"
)

func TestSummarizeDeliveries(t *testing.T) {
	now := time.Now()
	sum := board.SummarizeDeliveries(board.Announcement{CreatedAt: now}, []board.Delivery{
		{Target: "https://a.example/inbox", State: board.DeliveryDelivered, Attempts: 1, UpdatedAt: now},
		{Target: "https://a.example/users/2/inbox", State: board.DeliveryPending, Attempts: 2, LastError: "inbox answered 502", UpdatedAt: now},
		{Target: "https://b.example/inbox", State: board.DeliveryDead, Attempts: 1, LastError: "inbox answered 410", UpdatedAt: now.Add(time.Second)},
		{Target: "https://c.example/inbox", State: board.DeliveryPending, UpdatedAt: now},
		{Target: "!room:matrix.example", State: board.DeliveryDelivered, UpdatedAt: now},
		{Target: "mattermost:members", State: board.DeliveryDelivered, UpdatedAt: now},
		{Target: "email:users", State: board.DeliveryPending, UpdatedAt: now},
	})
	want := map[string]int{"pending": 2, "retrying": 1, "delivered": 3, "dead": 1}
	for k, v := range want {
		if sum.Counts[k] != v {
			t.Errorf("counts[%s] = %d, want %d (%v)", k, sum.Counts[k], v, sum.Counts)
		}
	}
	// Issue 24, point 10: each kind of destination by its name, none
	// lumped under "other".
	if sum.ByDestination["fediverse"]["delivered"] != 1 || sum.ByDestination["matrix"]["delivered"] != 1 ||
		sum.ByDestination["mattermost"]["delivered"] != 1 || sum.ByDestination["email"]["pending"] != 1 || sum.ByDestination["other"] != nil {
		t.Errorf("by destination = %v", sum.ByDestination)
	}
	if len(sum.Hosts) != 6 || sum.Hosts[5].Host != "mattermost:members" || sum.Hosts[3].Host != "email:users" || sum.Hosts[0].Host != "a.example" || sum.Hosts[0].LastError != "inbox answered 502" || sum.Hosts[1].LastError != "inbox answered 410" {
		t.Errorf("hosts = %+v", sum.Hosts)
	}
}

// Issue 26, item 5: a post that reached a Mastodon server more than six
// hours after it was published is kept there but never shown in home
// timelines (app/models/status.rb REAL_TIME_WINDOW): the summary says
// which deliveries came that late; an edit (an Update) is not affected.
func TestSummarySaysWhichDeliveriesCameTooLate(t *testing.T) {
	published := time.Now().Add(-8 * time.Hour)
	a := board.Announcement{CreatedAt: published}
	sum := board.SummarizeDeliveries(a, []board.Delivery{
		{Verb: board.VerbCreate, Target: "https://on-time.example/inbox", State: board.DeliveryDelivered, UpdatedAt: published.Add(5 * time.Hour)},
		{Verb: board.VerbCreate, Target: "https://late.example/inbox", State: board.DeliveryDelivered, UpdatedAt: published.Add(7 * time.Hour)},
		{Verb: board.VerbUpdate, Target: "https://late.example/inbox", State: board.DeliveryDelivered, UpdatedAt: published.Add(7 * time.Hour)},
		{Verb: board.VerbCreate, Target: "https://down.example/inbox", State: board.DeliveryPending, LastError: "502", UpdatedAt: published.Add(7 * time.Hour)},
		{Verb: board.VerbCreate, Target: "!room:matrix.example", State: board.DeliveryDelivered, UpdatedAt: published.Add(7 * time.Hour)},
	})
	if sum.Late != 1 {
		t.Errorf("late = %d, want 1", sum.Late)
	}
	for _, d := range sum.Deliveries {
		if want := d.Target == "https://late.example/inbox" && d.Verb == board.VerbCreate; d.Late != want {
			t.Errorf("%s %s: late %v", d.Verb, d.Target, d.Late)
		}
	}
}
