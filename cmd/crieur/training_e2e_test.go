package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

const trainingOption = "I'll come"

// directNote waits for a direct note to p whose text has want.
func directNote(t *testing.T, p *fedifyPeer, want string) {
	t.Helper()
	waitFor(t, 20*time.Second, "a direct note saying "+want, func() bool { return countNotes(p, want) > 0 })
}

// asList reads a property that JSON-LD compaction (the peer records what
// Fedify parsed) writes as a single value when it has one.
func asList(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	}
	return []any{v}
}

func countNotes(p *fedifyPeer, want string) int {
	n := 0
	for _, act := range p.state().Received {
		obj := act.object()
		content, _ := obj["content"].(string)
		if act.Type == "Create" && obj["type"] == "Note" && len(asList(obj["to"])) == 1 && strings.Contains(content, want) {
			n++
		}
	}
	return n
}

// pollOf waits for the bot's poll in room whose event has has (any poll:
// "") and returns it.
func (m *matrixRig) pollOf(t *testing.T, room id.RoomID, has string) *event.Event {
	t.Helper()
	var poll *event.Event
	waitFor(t, 20*time.Second, "the poll in the room", func() bool {
		resp, err := m.reader.Messages(context.Background(), room, "", "", mautrix.DirectionBackward, nil, 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, evt := range resp.Chunk {
			if evt.Type == event.EventUnstablePollStart && evt.Sender == userID("crieur") && strings.Contains(string(evt.Content.VeryRaw), has) {
				poll = evt
				return true
			}
		}
		return false
	})
	return poll
}

// Acceptance of trainings: people register from the fediverse (a poll
// with one option), from Matrix (a poll) and from the web form; the seats
// limit holds, the next one waits, and a withdrawal moves the first waiting
// up. Each reader sees the training as such: a Question with its start and
// place for Fedify, the facts and a poll in the room, an EducationEvent on
// the page.
func TestTrainingRegistrationFromThreePaths(t *testing.T) {
	t.Parallel() // mostly waiting for a time to come: it overlaps with the other waiting tests
	m := newMatrixRig(t)
	c := m.c
	room := m.rooms[1]
	p := startPeer(t)
	p.follow(c)
	start := time.Now().Add(72 * time.Hour).Truncate(time.Minute)
	a, code := c.post(map[string]any{"kind": "training", "title": "Git for beginners", "body": "Learn to commit, branch and merge.",
		"event":    map[string]any{"start": start.Format(time.RFC3339), "end": start.Add(2 * time.Hour).Format(time.RFC3339), "place": "Room B12"},
		"training": map[string]any{"seats": 2, "waitlist": true, "level": "beginners", "bring": "a laptop", "online": "https://meet.example.org/git"}}, nil)
	if code != 201 {
		t.Fatalf("post: %d", code)
	}
	q := c.objectURL(a.ID)

	// What each reader shows.
	obj := p.waitActivity("Create", q).object()
	opts := asList(obj["oneOf"])
	content, _ := obj["content"].(string)
	if obj["type"] != "Question" || len(opts) != 1 || opts[0].(map[string]any)["name"] != trainingOption || obj["startTime"] == nil {
		t.Errorf("the follower got %v with options %v and startTime %v; want a Question with one option %q and a start", obj["type"], opts, obj["startTime"], trainingOption)
	}
	for _, want := range []string{"Seats: 2 places, then a waiting list", "Level: beginners", "What to bring: a laptop", "Where: Room B12", `Online: <a href="https://meet.example.org/git"`} {
		if !strings.Contains(content, want) {
			t.Errorf("the follower's post lacks %q: %s", want, content)
		}
	}
	if msg := m.waitPost(t, room, "Git for beginners").Content.AsMessage(); !strings.Contains(msg.Body, "Seats: 2 available") || !strings.Contains(msg.Body, "Training") {
		t.Errorf("the room reads %q", msg.Body)
	}
	poll := m.pollOf(t, room, "Register: Git for beginners")
	_, html := page(t, q, "text/html")
	if !strings.Contains(html, `"@type":"EducationEvent"`) || !strings.Contains(html, `"maximumAttendeeCapacity":2`) {
		t.Errorf("the page's schema.org is not an EducationEvent with its seats:\n%s", html)
	}

	taken := func() (int, []string) {
		var st struct {
			Taken   map[string]int
			Signups []struct {
				State  string
				Person struct{ Kind string }
			}
		}
		c.api("GET", fmt.Sprintf("/api/v1/boards/news/announcements/%d/signups", a.ID), nil, nil, &st)
		var states []string
		for _, su := range st.Signups {
			states = append(states, su.Person.Kind+":"+su.State)
		}
		return st.Taken[trainingOption], states
	}
	// 1. The fediverse.
	p.call("/_test/vote", map[string]any{"question": q, "option": trainingOption})
	directNote(t, p, "You are registered for “Git for beginners”")
	// 2. Matrix.
	answer := func(answers ...string) { t.Helper(); pollAnswer(t, m.reader, room, poll.ID, answers...) }
	answer(trainingOption)
	waitFor(t, 20*time.Second, "the Matrix registration", func() bool { n, _ := taken(); return n == 2 })
	// 3. The web form, now that both seats are taken: the waiting list.
	key := regexp.MustCompile(`name="key" value="([^"]+)"`).FindStringSubmatch(html)
	if key == nil || !strings.Contains(html, ">Register</button>") || !strings.Contains(html, "Seats: 2 available") {
		t.Fatalf("the page has no registration form:\n%s", html)
	}
	resp, err := http.PostForm(q+"/signup", url.Values{"name": {"Cyril"}, "contact": {"cyril@example.org"}, "role": {trainingOption}, "key": {key[1]}})
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp)
	if !strings.Contains(body, "you are on the waiting list") || !strings.Contains(body, "full (2): waiting list open") {
		t.Errorf("the web registrant past the seats reads:\n%s", body)
	}
	if n, states := taken(); n != 2 || strings.Join(states, " ") != "fediverse:confirmed matrix:confirmed web:waiting" {
		t.Fatalf("after three registrations for two seats: %d taken, %v", n, states)
	}
	// The Matrix registrant withdraws (an empty answer): the web one moves up.
	answer()
	waitFor(t, 20*time.Second, "the waiting list to move up", func() bool {
		_, states := taken()
		return strings.Join(states, " ") == "fediverse:confirmed matrix:withdrawn web:confirmed"
	})
	// The Matrix member registers again, now past the seats: the reply
	// says they are on the waiting list (their client shows the vote
	// counted; a trial's member believed they had a seat).
	again := pollAnswer(t, m.reader, room, poll.ID, trainingOption)
	waitFor(t, 20*time.Second, "the reply saying the member is on the waiting list", func() bool {
		return m.replyTo(t, room, again, "you are on the waiting list")
	})
	// The follower's poll shows two of two seats taken; the text gives the
	// seats, not the count, which is the poll's (a text that moved with
	// every answer would mark the post "Edited" on Mastodon).
	waitFor(t, 20*time.Second, "an Update with both seats taken", func() bool {
		ups := p.state().received("Update", q)
		if len(ups) == 0 {
			return false
		}
		o := ups[len(ups)-1].object()
		opts := asList(o["oneOf"])
		content, _ := o["content"].(string)
		if len(opts) != 1 {
			return false
		}
		replies, _ := opts[0].(map[string]any)["replies"].(map[string]any)
		return replies["totalItems"] == float64(2) && strings.Contains(content, "2 places, then a waiting list")
	})
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Acceptance of the reminder: a training asks for one the day before; the
// server crashes before that moment and comes back after it; the reminder
// reaches the followers and the room once, and its fediverse registrant
// gets a direct note. A training cancelled before its day sends none: its
// registrant hears it is cancelled instead.
func TestTrainingReminderOnceAcrossARestart(t *testing.T) {
	t.Parallel() // mostly waiting for a time to come: it overlaps with the other waiting tests
	m := newMatrixRig(t)
	room := m.rooms[1]
	p := startPeer(t)
	p.follow(m.c)
	// The reminder falls due 20 s from now: the posts, votes, notes and the
	// cancellation below must come before it (4 s was seen too short on a
	// busy machine: both reminders went out before the cancellation).
	start := time.Now().Add(24*time.Hour + 20*time.Second)
	due := start.Add(-24 * time.Hour)
	post := func(title string) int64 {
		a, code := m.c.post(map[string]any{"kind": "training", "title": title,
			"event":    map[string]any{"start": start.Format(time.RFC3339Nano), "place": "Room B12"},
			"training": map[string]any{"seats": 5, "reminder": true}}, nil)
		if code != 201 {
			t.Fatalf("post: %d", code)
		}
		p.waitActivity("Create", m.c.objectURL(a.ID))
		p.call("/_test/vote", map[string]any{"question": m.c.objectURL(a.ID), "option": trainingOption})
		return a.ID
	}
	kept, cancelled := post("Pads workshop"), post("Mattermost workshop")
	directNote(t, p, "registered for “Pads workshop”")
	directNote(t, p, "registered for “Mattermost workshop”")
	if code := m.c.api("PUT", fmt.Sprintf("/api/v1/boards/news/announcements/%d/cancelled", cancelled), nil, nil, nil); code != 200 {
		t.Fatalf("cancel: %d", code)
	}
	directNote(t, p, "“Mattermost workshop” is cancelled")
	waitFor(t, 20*time.Second, "the room to read the cancellation", func() bool {
		for _, evt := range m.botMessages(t, room) {
			if msg := evt.Content.AsMessage(); msg.NewContent != nil && strings.Contains(msg.NewContent.Body, "Cancelled: this training will not take place") {
				return true
			}
		}
		return false
	})

	// A crash before the reminder's time, a restart after it.
	if time.Now().After(due) {
		t.Fatalf("the set-up ended %v after the reminder's time: the test's margin is too short for this machine", time.Since(due))
	}
	token := m.c.Token
	m.c.Kill()
	time.Sleep(time.Until(due) + time.Second)
	m.c = startCrieur(t, m.c.DataDir, m.c.Port)
	m.c.Token = token

	reminder := func() []peerActivity {
		var out []peerActivity
		for _, act := range p.state().Received {
			if content, _ := act.object()["content"].(string); act.Type == "Create" && strings.Contains(content, "Tomorrow: ") {
				out = append(out, act)
			}
		}
		return out
	}
	waitFor(t, 20*time.Second, "the reminder on the fediverse", func() bool { return len(reminder()) > 0 })
	t.Logf("the reminder reached the follower %v after its time (the restart was 1 s after it)", time.Since(due).Round(time.Millisecond))
	if content, _ := reminder()[0].object()["content"].(string); !strings.Contains(content, "Pads workshop") || !strings.Contains(content, "Room B12") ||
		!strings.Contains(content, m.c.objectURL(kept)) {
		t.Errorf("the reminder reads %s", content)
	}
	m.waitPost(t, room, "Tomorrow: Pads workshop")
	directNote(t, p, "Reminder: you are registered for “Pads workshop”")
	// Once: a while later, still one of each, and none for the cancelled one.
	time.Sleep(3 * time.Second)
	if n := len(reminder()); n != 1 {
		t.Errorf("%d reminders reached the follower; want 1", n)
	}
	if n := len(m.posts(t, room, "Tomorrow: ")); n != 1 {
		t.Errorf("%d reminders in the room; want 1", n)
	}
	if n := countNotes(p, "Reminder: "); n != 1 {
		t.Errorf("the registrant got %d reminder notes; want 1", n)
	}
	for _, act := range reminder() {
		if content, _ := act.object()["content"].(string); strings.Contains(content, "Mattermost workshop") {
			t.Error("the cancelled training sent a reminder")
		}
	}
}
