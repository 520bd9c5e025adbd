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

// Issue 22's "done when": two Matrix members, two fediverse followers and
// two web visitors answer a call with one place left; the bot is kicked
// and invited again; the deadline passes; one member changes their mind
// after it. Every channel then shows the same final count, nobody is
// counted twice or lost, and each person who was refused was told where
// they answered.
func TestSignUpsAgreeEverywhere(t *testing.T) {
	t.Parallel() // mostly waiting for the deadline
	ctx := context.Background()
	m := newMatrixRig(t)
	c := m.c
	room := m.rooms[1] // the public room
	m.d.createAccount("second", readerPassword)
	second := m.d.login("second", readerPassword)
	if _, err := second.JoinRoomByID(ctx, room); err != nil {
		t.Fatal(err)
	}
	p1, p2 := startPeer(t), startPeer(t)
	p1.follow(c)
	p2.follow(c)
	deadline := time.Now().Add(35 * time.Second).UTC().Truncate(time.Second)
	a, code := c.post(map[string]any{"kind": "call", "title": "Fair crew", "call": map[string]any{
		"roles":   []map[string]any{{"name": "cook", "places": 3}, {"name": "driver", "places": 1}},
		"contact": "Ask Ana", "deadline": deadline.Format(time.RFC3339)}}, nil)
	if code != 201 {
		t.Fatalf("post: %d", code)
	}
	path := fmt.Sprintf("/api/v1/boards/news/announcements/%d/signups", a.ID)
	// Three answered by phone: one cook's place is left, no driver's.
	for _, who := range []struct{ name, role string }{{"Jo", "cook"}, {"Lu", "cook"}, {"Mo", "driver"}} {
		if code := c.api("POST", path, map[string]any{"name": who.name, "roles": []string{who.role}}, nil, nil); code != 201 {
			t.Fatalf("phone sign-up: %d", code)
		}
	}
	q := c.objectURL(a.ID)
	m.waitPost(t, room, "Fair crew")
	poll := m.pollOf(t, room, `"id":"cook"`).ID
	p1.waitActivity("Create", q)
	p2.waitActivity("Create", q)
	var st struct {
		Taken   map[string]int
		Signups []struct {
			Role, State string
			Person      struct{ Kind, Name string }
		}
		Answers []struct{ Origin string }
	}
	signups := func() { st.Taken, st.Signups, st.Answers = nil, nil, nil; c.api("GET", path, nil, nil, &st) }

	// Two visitors open the page while a place is left.
	forms := map[string]string{}
	for _, name := range []string{"Vi", "Wu"} {
		resp, err := http.Get(q)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		key := regexp.MustCompile(`name="key" value="([^"]+)"`).FindStringSubmatch(string(b))
		if key == nil {
			t.Fatalf("no sign-up form for %s", name)
		}
		forms[name] = key[1]
	}
	// The reader takes the last place; everyone after her finds it full.
	pollAnswer(t, m.reader, room, poll, "cook")
	waitFor(t, 20*time.Second, "the reader's sign-up", func() bool { signups(); return st.Taken["cook"] == 3 })
	fullVote := pollAnswer(t, second, room, poll, "cook")
	p1.call("/_test/vote", map[string]any{"question": q, "option": "cook"})
	p2.call("/_test/vote", map[string]any{"question": q, "option": "cook"})
	for name, key := range forms {
		resp, err := http.PostForm(q+"/signup", url.Values{"name": {name}, "role": {"cook"}, "key": {key}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), "cook filled up just before you answered") {
			t.Errorf("%s, on the web, was not told the role had filled up: %d", name, resp.StatusCode)
		}
	}

	// The bot is kicked and invited back: the room's history, answers
	// included, comes in its sync again.
	m.kickAndInvite(t, 1)
	if time.Now().After(deadline) {
		t.Fatalf("the answers took past the deadline (%v): the test's margin is too short for this machine", time.Since(deadline))
	}

	// The deadline passes; then the reader changes her mind: refused, and
	// her place stays.
	time.Sleep(time.Until(deadline) + time.Second)
	late := pollAnswer(t, m.reader, room, poll, "driver")
	waitFor(t, 20*time.Second, "the refused change answered in the room", func() bool {
		return m.replyTo(t, room, late, "was not recorded")
	})
	if !m.replyTo(t, room, fullVote, "cook is already full") {
		t.Errorf("the second member was not told the role was full")
	}
	for _, p := range []*fedifyPeer{p1, p2} {
		waitFor(t, 20*time.Second, "a direct note saying the role was full", func() bool {
			for _, act := range p.state().Received {
				content, _ := act.object()["content"].(string)
				if act.Type == "Create" && strings.Contains(content, "already full") {
					return true
				}
			}
			return false
		})
	}

	// Every channel shows the same final count.
	signups()
	confirmed := map[string]int{}
	var names []string
	for _, su := range st.Signups {
		if su.State == "confirmed" {
			confirmed[su.Role]++
			names = append(names, su.Person.Name)
		}
	}
	if st.Taken["cook"] != 3 || st.Taken["driver"] != 1 || confirmed["cook"] != 3 || confirmed["driver"] != 1 || len(st.Signups) != 4 {
		t.Fatalf("the sign-ups: taken %v, %d rows, confirmed %v (%v)", st.Taken, len(st.Signups), confirmed, names)
	}
	origins := map[string]int{}
	for _, an := range st.Answers {
		origins[an.Origin]++
		if origins[an.Origin] > 1 {
			t.Errorf("answer %s is twice in the ledger", an.Origin)
		}
	}
	for _, p := range []*fedifyPeer{p1, p2} {
		waitFor(t, 30*time.Second, "the follower's poll: closed, cook 3, driver 1", func() bool {
			ups := p.state().received("Update", q)
			if len(ups) == 0 {
				return false
			}
			obj := ups[len(ups)-1].object()
			counts := map[string]float64{}
			for _, o := range asList(obj["oneOf"]) {
				opt, _ := o.(map[string]any)
				r, _ := opt["replies"].(map[string]any)
				counts[fmt.Sprint(opt["name"])], _ = r["totalItems"].(float64)
			}
			closed, _ := obj["closed"].(string)
			return counts["cook"] == 3 && counts["driver"] == 1 && closed != ""
		})
	}
	waitFor(t, 30*time.Second, "the room's message: cook 3 of 3, driver 1 of 1, and the poll's end", func() bool {
		var body string
		ended := false
		resp, err := m.reader.Messages(ctx, room, "", "", mautrix.DirectionBackward, nil, 100)
		if err != nil {
			t.Fatal(err)
		}
		for i := len(resp.Chunk) - 1; i >= 0; i-- {
			evt := resp.Chunk[i]
			if evt.Sender != userID("crieur") {
				continue
			}
			if evt.Type == event.EventUnstablePollEnd && strings.Contains(string(evt.Content.VeryRaw), string(poll)) {
				ended = true
			}
			if evt.Type == event.EventMessage {
				_ = evt.Content.ParseRaw(evt.Type)
				msg := evt.Content.AsMessage()
				if msg.NewContent != nil && strings.Contains(msg.NewContent.Body, "Fair crew") {
					body = msg.NewContent.Body
				}
			}
		}
		return ended && strings.Contains(body, "cook (full: 3 of 3)") && strings.Contains(body, "driver (full: 1 of 1)")
	})
	resp, err := http.Get(q)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "cook (full: 3 of 3)") || !strings.Contains(string(page), "driver (full: 1 of 1)") {
		t.Errorf("the page does not show both roles full")
	}
}

// replyTo reports whether the bot replied in room to evt with a body
// holding s.
func (m *matrixRig) replyTo(t *testing.T, room id.RoomID, evt id.EventID, s string) bool {
	t.Helper()
	for _, e := range m.botMessages(t, room) {
		msg := e.Content.AsMessage()
		if msg.RelatesTo != nil && msg.RelatesTo.GetReplyTo() == evt && strings.Contains(msg.Body, s) {
			return true
		}
	}
	return false
}
