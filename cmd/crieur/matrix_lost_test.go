package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// The homeserver's side of TestMatrixSendsAgainWhatAKickDropped: Dendrite
// answers 200 and an event id for a send that a kick overtakes, and the
// event never shows in the room (roomserver/internal/input/input_events.go:
// a soft-failed event returns no error). Sends race a kick until one is
// answered for and missing; a Dendrite that no longer does this fails here,
// and the proxy of the test below would then stand for nothing.
func TestDendriteAnswersForASendAKickOvertakes(t *testing.T) {
	t.Parallel()
	d := startDendrite(t)
	ctx := context.Background()
	d.createAccount("moderator", readerPassword)
	d.createAccount("bot", botPassword)
	mod := d.login("moderator", readerPassword)
	bot := d.login("bot", botPassword)
	for round := range 20 {
		r, err := mod.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bot.JoinRoomByID(ctx, r.RoomID); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var answered []id.EventID
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() {
				for j := range 10 {
					resp, err := bot.SendMessageEvent(ctx, r.RoomID, event.EventMessage, map[string]any{"msgtype": "m.text", "body": fmt.Sprint(i, j)})
					if err != nil {
						return // the kick is in: refused from now on
					}
					mu.Lock()
					answered = append(answered, resp.EventID)
					mu.Unlock()
				}
			})
		}
		if _, err := mod.KickUser(ctx, r.RoomID, &mautrix.ReqKickUser{UserID: bot.UserID}); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		msgs, err := mod.Messages(ctx, r.RoomID, "", "", mautrix.DirectionBackward, nil, 1000)
		if err != nil {
			t.Fatal(err)
		}
		shown := map[id.EventID]bool{}
		for _, e := range msgs.Chunk {
			shown[e.ID] = true
		}
		for _, ev := range answered {
			if !shown[ev] {
				t.Logf("round %d: %s answered for, not in the room", round, ev)
				return
			}
		}
	}
	t.Fatal("in 20 rounds, Dendrite showed every send it answered for: it no longer drops a send a kick overtakes")
}

// A call's last place is taken just as a moderator kicks the bot: the
// homeserver answers for the message's new counts and for the poll's end,
// and shows neither (as Dendrite does, above; a proxy in front of it drops
// them, since the race itself cannot be timed from outside). Invited back,
// the bot finds them missing from the room and sends them again: members
// read the call full and its poll ended.
func TestMatrixSendsAgainWhatAKickDropped(t *testing.T) {
	t.Parallel()
	m := newMatrixRig(t)
	ctx := context.Background()
	room := m.rooms[1]
	hs, err := url.Parse(m.d.URL)
	if err != nil {
		t.Fatal(err)
	}
	pass := httputil.NewSingleHostReverseProxy(hs)
	pass.ErrorLog = log.New(io.Discard, "", 0) // the syncs cut at the end
	var dropping atomic.Bool
	var dropped atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if dropping.Load() && r.Method == http.MethodPut && (strings.Contains(r.URL.Path, "/rooms/"+room.String()+"/send/") || strings.Contains(r.URL.Path, "/rooms/"+room.String()+"/redact/")) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"event_id":"$dropped%d"}`, dropped.Add(1))
			return
		}
		pass.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	m.configure(t, map[string]any{"password": botPassword, "homeserver": proxy.URL}, 200)

	a, code := m.c.post(map[string]any{"kind": "call", "title": "Soup kitchen", "call": map[string]any{
		"roles": []map[string]any{{"name": "cook", "places": 1}}, "contact": "Ask Ana"}}, nil)
	if code != 201 {
		t.Fatalf("post: %d", code)
	}
	m.waitPost(t, room, "Soup kitchen")
	poll := m.pollOf(t, room, `"id":"cook"`).ID
	m.c.waitQueueIdle() // the poll recorded

	dropping.Store(true)
	if code := m.c.api("POST", fmt.Sprintf("/api/v1/boards/news/announcements/%d/signups", a.ID), map[string]any{"name": "Jo", "roles": []string{"cook"}}, nil, nil); code != 201 {
		t.Fatalf("sign-up: %d", code)
	}
	waitFor(t, 20*time.Second, "the new counts and the poll's end answered for", func() bool { return dropped.Load() >= 2 })
	dropping.Store(false)
	full := func() (edited, ended bool) {
		resp, err := m.reader.Messages(ctx, room, "", "", mautrix.DirectionBackward, nil, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, evt := range resp.Chunk {
			if evt.Sender != userID("crieur") {
				continue
			}
			switch evt.Type {
			case event.EventUnstablePollEnd:
				ended = ended || strings.Contains(string(evt.Content.VeryRaw), string(poll))
			case event.EventMessage:
				_ = evt.Content.ParseRaw(evt.Type)
				if msg := evt.Content.AsMessage(); msg.NewContent != nil && strings.Contains(msg.NewContent.Body, "cook (full: 1 of 1)") {
					edited = true
				}
			}
		}
		return edited, ended
	}
	if edited, ended := full(); edited || ended {
		t.Fatalf("the proxy let through the new counts (%v) or the poll's end (%v)", edited, ended)
	}

	m.kickAndInvite(t, 1)
	waitFor(t, 30*time.Second, "the room's message full and its poll ended", func() bool {
		edited, ended := full()
		return edited && ended
	})

	// A vote for the full role is refused; its counts go out again for
	// the fediverse, but the room's message, which shows the same, is
	// not edited again.
	edits := func() int {
		n := 0
		for _, e := range m.botMessages(t, room) {
			if msg := e.Content.AsMessage(); msg.RelatesTo != nil && msg.RelatesTo.GetReplaceID() != "" {
				n++
			}
		}
		return n
	}
	before := edits()
	var res map[string]any
	if code := m.c.api("POST", fmt.Sprintf("/api/v1/boards/news/announcements/%d/signups", a.ID), map[string]any{"name": "Lu", "roles": []string{"cook"}}, nil, &res); code != 201 || res["full"] == nil {
		t.Fatalf("a sign-up for the full role: %d %v", code, res)
	}
	m.c.waitQueueIdle() // the refresh handled
	if after := edits(); after != before {
		t.Errorf("a refused vote edited the room's message again: %d edits, then %d", before, after)
	}

	// The post is deleted just as the bot is kicked again: its
	// redactions are answered for and not made; back in the room, the
	// bot takes the post back.
	msg := m.waitPost(t, room, "Soup kitchen").ID
	redacted := func() bool {
		evt, err := m.reader.GetEvent(ctx, room, msg)
		if err != nil {
			t.Fatal(err)
		}
		return evt.Unsigned.RedactedBecause != nil
	}
	dropped.Store(0)
	dropping.Store(true)
	if code := m.c.api("DELETE", fmt.Sprintf("/api/v1/boards/news/announcements/%d", a.ID), nil, nil, nil); code != 204 && code != 200 {
		t.Fatalf("delete: %d", code)
	}
	waitFor(t, 20*time.Second, "the redactions answered for", func() bool { return dropped.Load() >= 3 }) // the message, its edit, its poll
	dropping.Store(false)
	if redacted() {
		t.Fatal("the proxy let a redaction through")
	}
	m.kickAndInvite(t, 1)
	waitFor(t, 30*time.Second, "the deleted post taken back from the room", redacted)
}
