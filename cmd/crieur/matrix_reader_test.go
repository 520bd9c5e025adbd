package main

// What Matrix readers see, against a real Dendrite: long texts, deleted
// edits, links with @, order after an outage, kicks, login errors and
// devices, room status, redacted reactions and quoted replies.

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"crieur/board/boardtest"
	"crieur/federation/delivery/redistest"
)

// A text the API accepts never dies for its size: 19,900 Cyrillic
// characters (about 37,000 bytes, twice in an event with its HTML) arrive
// cut at a paragraph with a link, and the editor is told.
func TestMatrixLongTextIsCutWithALink(t *testing.T) {
	t.Parallel()
	m := newMatrixRig(t)
	para := strings.TrimSpace(strings.Repeat("Привет всем участникам ", 40)) // 919 characters
	var paras []string
	for len([]rune(strings.Join(paras, "\n\n"))) < 19900-len([]rune(para))-2 {
		paras = append(paras, para)
	}
	body := strings.Join(paras, "\n\n")
	body += "\n\n" + strings.Repeat("ж", 19900-len([]rune(body))-2)
	if n := len([]rune(body)); n != 19900 {
		t.Fatalf("body is %d characters", n)
	}
	var a struct {
		ID       int64    `json:"id"`
		Warnings []string `json:"warnings"`
	}
	if code := m.c.api("POST", "/api/v1/boards/news/announcements", map[string]any{"title": "Длинный текст", "body": body}, nil, &a); code != 201 {
		t.Fatalf("post: %d", code)
	}
	if len(a.Warnings) != 1 || !strings.Contains(a.Warnings[0], "Matrix") {
		t.Errorf("the editor is not told the text will be cut: %v", a.Warnings)
	}
	link := m.c.objectURL(a.ID)
	for _, room := range m.rooms {
		msg := m.waitPost(t, room, "Длинный текст").Content.AsMessage()
		if !strings.Contains(msg.Body, "… read more: "+link) || !strings.Contains(msg.FormattedBody, `<a href="`+link+`">read more</a>`) {
			t.Errorf("%s: no read-more link", room)
		}
		if !strings.Contains(msg.Body, para+"\n\n… read more") || !strings.Contains(msg.Body, para) {
			t.Errorf("%s: not cut at a paragraph", room)
		}
	}
	m.c.waitQueueIdle()
	if d := m.c.deliveries(a.ID); d.Counts["delivered"] != 2 {
		t.Fatalf("deliveries: %+v", d)
	}
	// An edit of it fits too.
	if code := m.c.api("PATCH", fmt.Sprintf("/api/v1/boards/news/announcements/%d", a.ID), map[string]any{"title": "Длинный текст (2)"}, nil, nil); code != 200 {
		t.Fatalf("edit: %d", code)
	}
	m.c.waitQueueIdle()
	if d := m.c.deliveries(a.ID); d.Counts["delivered"] != 4 || d.Counts["dead"] != 0 {
		t.Fatalf("deliveries after the edit: %+v", d)
	}
}

// Deleting an edited call leaves no readable text in any event Crieur
// sent: the original, every edit and the poll are redacted (a poll left
// would stay open to answers for a call that is gone: issue 22, point 3).
func TestMatrixDeleteRedactsEdits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := newMatrixRig(t)
	a, _ := m.c.post(map[string]any{"kind": "call", "title": "Secret plan", "body": "first text",
		"call": map[string]any{"roles": []map[string]any{{"name": "lookout", "places": 2}}, "contact": "Ask Ana"}}, nil)
	room := m.rooms[0]
	m.waitPost(t, room, "Secret plan")
	poll := m.pollOf(t, room, `"id":"lookout"`)
	for i, title := range []string{"Secret plan v2", "Secret plan v3"} {
		m.c.api("PATCH", fmt.Sprintf("/api/v1/boards/news/announcements/%d", a.ID), map[string]any{"title": title}, nil, nil)
		waitFor(t, 20*time.Second, "edit "+title, func() bool { return len(m.botMessages(t, room)) == i+2 })
	}
	m.c.api("DELETE", fmt.Sprintf("/api/v1/boards/news/announcements/%d", a.ID), nil, nil, nil)
	m.c.waitQueueIdle()
	sent := m.botMessages(t, room)
	if len(sent) != 3 {
		t.Fatalf("%d bot events, want the original and two edits", len(sent))
	}
	for _, evt := range append(sent, poll) {
		waitFor(t, 20*time.Second, "redaction of "+evt.ID.String(), func() bool {
			got, err := m.reader.GetEvent(ctx, room, evt.ID)
			return err == nil && got.Unsigned.RedactedBecause != nil && !strings.Contains(string(got.Content.VeryRaw), "lookout")
		})
	}
}

// URLs keep their @, real mentions are defused, user links are no pills.
func TestMatrixLinksAndMentions(t *testing.T) {
	t.Parallel()
	m := newMatrixRig(t)
	m.c.post(map[string]any{"title": "Links", "body": "Follow https://mastodon.social/@alice and all.@room, ask [Bob](https://matrix.to/#/@bob:localhost) or @carol:localhost."}, nil)
	msg := m.waitPost(t, m.rooms[0], "Links").Content.AsMessage()
	if !strings.Contains(msg.Body, "https://mastodon.social/@alice") || !strings.Contains(msg.FormattedBody, `href="https://mastodon.social/@alice"`) {
		t.Errorf("the URL was broken: %q", msg.Body)
	}
	if strings.Contains(msg.Body, "@room") || strings.Contains(msg.FormattedBody, "@room") || strings.Contains(msg.Body, "@carol:") {
		t.Errorf("mentions left: %q / %q", msg.Body, msg.FormattedBody)
	}
	if strings.Contains(msg.FormattedBody, "matrix.to") || !strings.Contains(msg.FormattedBody, "Bob") {
		t.Errorf("a user link is left for clients to make a pill of: %s", msg.FormattedBody)
	}
	if msg.Mentions == nil || msg.Mentions.Room || len(msg.Mentions.UserIDs) != 0 {
		t.Errorf("m.mentions = %+v", msg.Mentions)
	}
}

// A room gets its messages in the order they were published, even after
// the homeserver was down while they were.
func TestMatrixOrderAfterOutage(t *testing.T) {
	t.Parallel() // mostly waiting (retries, coalescing): it overlaps with the other waiting tests
	m := newMatrixRig(t, "CRIEUR_DELIVERY_RETRY_BASE=200ms", "CRIEUR_DELIVERY_RETRY_MAX=2s", "CRIEUR_DELIVERY_PARK_AFTER=1000")
	m.d.Stop()
	var titles []string
	for i := range 5 {
		title := fmt.Sprintf("Ordered %d", i)
		a, _ := m.c.post(map[string]any{"title": title}, nil)
		titles = append(titles, title)
		if i == 0 {
			waitFor(t, 10*time.Second, "a failed attempt of "+title, func() bool { return m.c.deliveries(a.ID).Counts["retrying"] >= 1 })
		}
	}
	time.Sleep(1500 * time.Millisecond) // several retries each, their jitter spreading them
	m.d.Start()
	for _, room := range m.rooms {
		m.waitPost(t, room, titles[len(titles)-1])
		waitFor(t, 20*time.Second, "every message in "+room.String(), func() bool { return len(m.botMessages(t, room)) == len(titles) })
		var got []string
		for _, evt := range m.botMessages(t, room) {
			got = append(got, strings.SplitN(evt.Content.AsMessage().Body, "\n", 2)[0])
		}
		for i, g := range got {
			if !strings.HasSuffix(g, titles[i]) {
				t.Fatalf("%s shows %v, want the order %v", room, got, titles)
			}
		}
	}
}

// A kick is the room's decision: the bot stops posting there and does not
// rejoin by itself (the room is public), says so in rooms_status, and
// resumes once invited again.
func TestMatrixKickIsRespected(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := newMatrixRig(t)
	public := m.rooms[1]
	// The kick comes right after the set-up: before the bot's first sync
	// answers or after, it is the room's decision either way (the first
	// sync leaves out the rooms the bot has left; a running one shows them).
	if _, err := m.reader.KickUser(ctx, public, &mautrix.ReqKickUser{UserID: userID("crieur"), Reason: "too noisy"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "rooms_status to show the kick", func() bool {
		var acct map[string]any
		m.c.api("GET", "/api/v1/boards/news/matrix", nil, nil, &acct)
		st, _ := acct["rooms_status"].(map[string]any)
		s, _ := st[m.conf[1]].(string)
		return strings.Contains(s, "kicked") && strings.Contains(s, "too noisy")
	})
	a, _ := m.c.post(map[string]any{"title": "After the kick"}, nil)
	m.waitPost(t, m.rooms[0], "After the kick")
	time.Sleep(2 * time.Second) // several retries at the test's pace
	members, err := m.reader.JoinedMembers(ctx, public)
	if err != nil {
		t.Fatal(err)
	}
	if _, in := members.Joined[userID("crieur")]; in {
		t.Fatal("the kicked bot rejoined the public room by itself")
	}
	for _, d := range m.c.deliveries(a.ID).Deliveries {
		if d.Target == m.conf[1] && (d.State == "delivered" || !strings.Contains(d.LastError, "kicked")) {
			t.Fatalf("delivery to the room the bot was kicked from: %+v", d)
		}
	}
	if _, err := m.reader.InviteUser(ctx, public, &mautrix.ReqInviteUser{UserID: userID("crieur")}); err != nil {
		t.Fatal(err)
	}
	m.waitPost(t, public, "After the kick")
}

// A wrong password says so; saving the set-up with a password again and
// again leaves one device, not one per save.
func TestMatrixLoginErrorsAndDevices(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := newMatrixRig(t)
	out := m.configure(t, map[string]any{"password": "wrong-password"}, 400)
	if msg := fmt.Sprint(out["error"]); !strings.Contains(msg, "wrong user id or password") || strings.Contains(msg, "may not post") {
		t.Errorf("wrong password: %q", msg)
	}
	for range 4 {
		m.configure(t, map[string]any{"password": botPassword}, 200)
	}
	bot := m.d.login("crieur", botPassword)
	// The homeserver removes a logged-out device shortly after the logout.
	var ours []string
	var all any
	deadline := time.Now().Add(5 * time.Second)
	for {
		devices, err := bot.GetDevicesInfo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ours, all = nil, devices.Devices
		for _, d := range devices.Devices {
			// Not this test's own login, nor the account's registration.
			if d.DeviceID != bot.DeviceID && d.DeviceID != "shared_secret_registration" {
				ours = append(ours, d.DeviceID.String())
			}
		}
		if len(ours) == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(ours) != 1 {
		t.Errorf("%d devices of Crieur's after 5 saves with a password, want 1: %+v", len(ours), all)
	}
	// The set-up still works with the last token.
	m.c.post(map[string]any{"title": "Still posting"}, nil)
	m.waitPost(t, m.rooms[0], "Still posting")
}

// rooms_status lists the configured rooms only, and an unknown alias is
// reported as such.
func TestMatrixRoomStatus(t *testing.T) {
	t.Parallel()
	m := newMatrixRig(t)
	m.conf = []string{m.conf[0], "#nowhere:" + dendriteServer}
	out := m.configure(t, map[string]any{"password": botPassword}, 200)
	st, _ := out["rooms_status"].(map[string]any)
	if len(st) != 2 || st[m.conf[0]] != "ok" || !strings.Contains(fmt.Sprint(st[m.conf[1]]), "no such room") {
		t.Fatalf("rooms_status = %v", st)
	}
}

// A removed reaction leaves the interactions; a reply is kept without the
// quote of the announcement that clients add.
func TestMatrixRedactedReactionAndQuotedReply(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := newMatrixRig(t)
	a, _ := m.c.post(map[string]any{"title": "Picnic"}, nil)
	evt := m.waitPost(t, m.rooms[0], "Picnic")
	reaction, err := m.reader.SendReaction(ctx, m.rooms[0], evt.ID, "🎉")
	if err != nil {
		t.Fatal(err)
	}
	reply := &event.MessageEventContent{MsgType: event.MsgText,
		Body:          fmt.Sprintf("> <%s> Event: Picnic\n> more\n\nI bring bread", userID("crieur")),
		Format:        event.FormatHTML,
		FormattedBody: "<mx-reply><blockquote>Event: Picnic</blockquote></mx-reply>I bring bread"}
	reply.RelatesTo = (&event.RelatesTo{}).SetReplyTo(evt.ID)
	if _, err := m.reader.SendMessageEvent(ctx, m.rooms[0], event.EventMessage, reply); err != nil {
		t.Fatal(err)
	}
	interactions := func() map[string]string {
		var inter []map[string]any
		m.c.api("GET", fmt.Sprintf("/api/v1/boards/news/announcements/%d/interactions", a.ID), nil, nil, &inter)
		out := map[string]string{}
		for _, in := range inter {
			out[in["kind"].(string)] = fmt.Sprint(in["content"])
		}
		return out
	}
	waitFor(t, 20*time.Second, "the reaction and the reply", func() bool { return len(interactions()) == 2 })
	if got := interactions()["reply"]; got != "I bring bread" {
		t.Errorf("reply stored as %q", got)
	}
	if _, err := m.reader.RedactEvent(ctx, m.rooms[0], reaction.EventID, mautrix.ReqRedact{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the redacted reaction to leave", func() bool {
		in := interactions()
		_, has := in["reaction"]
		return !has && in["reply"] != ""
	})
}

// The Matrix set-up names a homeserver: it is an outbound request like any
// other, through the SSRF guard, and what answers is never echoed.
func TestMatrixSetUpIsNoSSRFOracle(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	secret := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if strings.Contains(r.URL.Path, "whoami") {
			w.WriteHeader(http.StatusInternalServerError)
		}
		w.Write([]byte(`SECRET-METADATA {"AccessKeyId":"AKIA-SECRET"}`))
	}))
	defer secret.Close()
	put := func(c *crieurProc) (int, string) {
		var out map[string]any
		code := c.api("PUT", "/api/v1/boards/news/matrix", map[string]any{"homeserver": secret.URL, "user_id": "@bot:example.org",
			"access_token": "whatever", "rooms": []string{"!r:example.org"}}, nil, &out)
		return code, fmt.Sprint(out)
	}
	guarded := startCrieur(t, t.TempDir(), 0, "CRIEUR_ALLOW_PRIVATE_ADDRESSES=false")
	code, out := put(guarded)
	if code != 400 || !strings.Contains(out, "not allowed") || hits.Load() != 0 {
		t.Fatalf("a loopback homeserver with the guard on: %d %s, %d requests reached it", code, out, hits.Load())
	}
	// Even where private addresses are allowed, the answer's body stays out.
	open := startCrieur(t, t.TempDir(), 0)
	code, out = put(open)
	if code != 400 || strings.Contains(out, "SECRET") || hits.Load() == 0 {
		t.Fatalf("the remote body came back: %d %s", code, out)
	}
}

// Acceptance 2 of the sign-ups: two Matrix users answer the call's poll,
// one changes their answer, one withdraws with an empty answer; the store,
// the web page, the fediverse Question and the room's message all show
// the same counts afterwards.
func TestMatrixPollAnswersAreSignUps(t *testing.T) {
	t.Parallel() // waits more than it computes
	ctx := context.Background()
	m := newMatrixRig(t)
	m.d.createAccount("second", readerPassword)
	second := m.d.login("second", readerPassword)
	room := m.rooms[1] // the public room
	if _, err := second.JoinRoomByID(ctx, room); err != nil {
		t.Fatal(err)
	}
	p := startPeer(t)
	p.follow(m.c)
	a, code := m.c.post(map[string]any{"kind": "call", "title": "Picnic helpers", "call": map[string]any{
		"roles": []map[string]any{{"name": "cook", "places": 1}, {"name": "driver", "places": 2}}, "contact": "Ask Ana"}}, nil)
	if code != 201 {
		t.Fatalf("post: %d", code)
	}
	m.waitPost(t, room, "Picnic helpers")
	start := m.pollOf(t, room, `"id":"cook"`)
	if raw := string(start.Content.VeryRaw); !strings.Contains(raw, "org.matrix.msc3381.poll.disclosed") || !strings.Contains(raw, "the room’s members see who answered") {
		t.Errorf("the poll is not disclosed, or does not say who sees an answer: %s", raw)
	}
	poll := start.ID
	answer := func(cli *mautrix.Client, roles ...string) id.EventID {
		t.Helper()
		if roles == nil {
			roles = []string{}
		}
		// The reader's client sends the unstable names Element sends; the
		// second's, MSC3381's final ones, which matrix-js-sdk reads too.
		typ, key := event.EventUnstablePollResponse, "org.matrix.msc3381.poll.response"
		if cli == second {
			typ, key = event.Type{Type: "m.poll.response", Class: event.MessageEventType}, "m.poll.response"
		}
		resp, err := cli.SendMessageEvent(ctx, room, typ, map[string]any{
			"m.relates_to": map[string]any{"rel_type": "m.reference", "event_id": poll},
			key:            map[string]any{"answers": roles},
		})
		if err != nil {
			t.Fatal(err)
		}
		return resp.EventID
	}
	taken := func() map[string]int {
		var st struct{ Taken map[string]int }
		m.c.api("GET", fmt.Sprintf("/api/v1/boards/news/announcements/%d/signups", a.ID), nil, nil, &st)
		return st.Taken
	}
	answer(m.reader, "cook")
	waitFor(t, 20*time.Second, "the reader's sign-up", func() bool { return taken()["cook"] == 1 })
	full := answer(second, "cook") // full: not taken, and said so where it was given
	waitFor(t, 20*time.Second, "a reply saying the role is full", func() bool {
		for _, evt := range m.botMessages(t, room) {
			msg := evt.Content.AsMessage()
			if msg.RelatesTo != nil && msg.RelatesTo.GetReplyTo() == full && strings.Contains(msg.Body, "cook is already full") &&
				msg.Mentions != nil && slices.Contains(msg.Mentions.UserIDs, userID("second")) {
				return true
			}
		}
		return false
	})
	answer(second, "driver")
	waitFor(t, 20*time.Second, "the second user's sign-up", func() bool { return taken()["driver"] == 1 })
	answer(m.reader) // withdraws
	waitFor(t, 20*time.Second, "the withdrawal", func() bool { t := taken(); return t["cook"] == 0 && t["driver"] == 1 })

	// The web page.
	resp, err := http.Get(m.c.objectURL(a.ID))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "cook – 1 of 1 place left") || !strings.Contains(string(page), "driver – 1 of 2 places left") {
		t.Errorf("the web page shows other counts:\n%s", page)
	}
	// The room's message, as its latest edit shows it.
	waitFor(t, 20*time.Second, "an edit of the message with the counts", func() bool {
		msgs := m.botMessages(t, room)
		for i := len(msgs) - 1; i >= 0; i-- {
			msg := msgs[i].Content.AsMessage()
			if msg.NewContent != nil {
				return strings.Contains(msg.NewContent.Body, "cook (1 of 1 place left)") && strings.Contains(msg.NewContent.Body, "driver (1 of 2 places left)")
			}
		}
		return false
	})
	// The fediverse Question.
	q := m.c.objectURL(a.ID)
	waitFor(t, 20*time.Second, "an Update of the Question with the counts", func() bool {
		ups := p.state().received("Update", q)
		if len(ups) == 0 {
			return false
		}
		opts, _ := ups[len(ups)-1].object()["oneOf"].([]any)
		counts := map[string]float64{}
		for _, o := range opts {
			mm, _ := o.(map[string]any)
			r, _ := mm["replies"].(map[string]any)
			n, _ := r["totalItems"].(float64)
			counts[fmt.Sprint(mm["name"])] = n
		}
		return counts["cook"] == 0 && counts["driver"] == 1
	})
	// A new title and a role more: the poll follows (an edit of its start,
	// as Element edits a poll); a change to the text alone leaves it alone.
	base := fmt.Sprintf("/api/v1/boards/news/announcements/%d", a.ID)
	if code := m.c.api("PATCH", base, map[string]any{"title": "Picnic crew", "call": map[string]any{
		"roles": []map[string]any{{"name": "cook", "places": 1}, {"name": "driver", "places": 2}, {"name": "baker", "places": 1}}, "contact": "Ask Ana"}}, nil, nil); code != 200 {
		t.Fatalf("edit: %d", code)
	}
	if code := m.c.api("PATCH", base, map[string]any{"body": "Bring a hat."}, nil, nil); code != 200 {
		t.Fatalf("edit: %d", code)
	}
	pollEdits := func() (n int, last string) {
		resp, err := m.reader.Messages(ctx, room, "", "", mautrix.DirectionBackward, nil, 100)
		if err != nil {
			t.Fatal(err)
		}
		for i := len(resp.Chunk) - 1; i >= 0; i-- {
			evt := resp.Chunk[i]
			var c struct {
				New struct {
					Start struct {
						Question struct {
							Text string `json:"org.matrix.msc1767.text"`
						} `json:"question"`
						Answers []struct{ ID string } `json:"answers"`
					} `json:"org.matrix.msc3381.poll.start"`
				} `json:"m.new_content"`
				Rel struct {
					Type    string `json:"rel_type"`
					EventID string `json:"event_id"`
				} `json:"m.relates_to"`
			}
			if evt.Type == event.EventUnstablePollStart && json.Unmarshal(evt.Content.VeryRaw, &c) == nil && c.Rel.Type == "m.replace" && c.Rel.EventID == string(poll) {
				n++
				last = fmt.Sprint(c.New.Start.Question.Text, " ", len(c.New.Start.Answers))
			}
		}
		return n, last
	}
	waitFor(t, 20*time.Second, "the poll's question and answers edited", func() bool {
		n, last := pollEdits()
		return n == 1 && strings.Contains(last, "Picnic crew") && strings.HasSuffix(last, " 3")
	})
	waitFor(t, 20*time.Second, "the message's edit with the new text", func() bool {
		for _, evt := range m.botMessages(t, room) {
			if msg := evt.Content.AsMessage(); msg.NewContent != nil && strings.Contains(msg.NewContent.Body, "Bring a hat") {
				return true
			}
		}
		return false
	}) // the text's edit is there: no second poll edit came with it
	if n, _ := pollEdits(); n != 1 {
		t.Errorf("%d edits of the poll for one change of what it asks", n)
	}
	// Closing the call ends the poll, with the results.
	if code := m.c.api("PUT", fmt.Sprintf("/api/v1/boards/news/announcements/%d/closed", a.ID), nil, nil, nil); code != 200 {
		t.Fatalf("close: %d", code)
	}
	waitFor(t, 20*time.Second, "the poll's end", func() bool {
		resp, err := m.reader.Messages(ctx, room, "", "", mautrix.DirectionBackward, nil, 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, evt := range resp.Chunk {
			if evt.Type == event.EventUnstablePollEnd && strings.Contains(string(evt.Content.VeryRaw), "driver: 1 of 2") {
				return true
			}
		}
		return false
	})
}

// Acceptance 4 of the sign-ups: twenty people race for the last place,
// from the web, the fediverse and Matrix at once; exactly one gets it, with
// the embedded queue and with Redis.
func TestLastPlaceRaceFromEveryPath(t *testing.T) {
	t.Parallel() // waits more than it computes
	for _, queue := range []string{"embedded", "redis"} {
		t.Run(queue, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var env []string
			if queue == "redis" {
				env = append(env, "CRIEUR_REDIS_URL="+redistest.Start(t).URL())
			}
			m := newMatrixRig(t, env...)
			room := m.rooms[1]
			var matrixUsers []*mautrix.Client
			for i := range 6 {
				name := fmt.Sprintf("racer%d", i)
				m.d.createAccount(name, readerPassword)
				cli := m.d.login(name, readerPassword)
				if _, err := cli.JoinRoomByID(ctx, room); err != nil {
					t.Fatal(err)
				}
				matrixUsers = append(matrixUsers, cli)
			}
			var peers []*fedifyPeer
			for range 4 {
				p := startPeer(t)
				p.follow(m.c)
				peers = append(peers, p)
			}
			a, _ := m.c.post(map[string]any{"kind": "call", "title": "One seat left", "call": map[string]any{
				"roles": []map[string]any{{"name": "driver", "places": 1}}, "contact": "Ask Ana"}}, nil)
			q := m.c.objectURL(a.ID)
			poll := m.pollOf(t, room, "").ID
			for _, p := range peers {
				p.waitActivity("Create", q)
			}
			keys := make([]string, 10)
			for i := range keys { // each web visitor's own page and key
				page, _ := http.Get(q)
				html, _ := io.ReadAll(page.Body)
				page.Body.Close()
				keys[i] = string(regexp.MustCompile(`name="key" value="([^"]+)"`).FindSubmatch(html)[1])
			}

			var wg sync.WaitGroup
			for i := range 10 { // the web
				wg.Go(func() {
					resp, err := http.PostForm(q+"/signup", url.Values{"name": {fmt.Sprintf("Web %d", i)}, "role": {"driver"}, "key": {keys[i]}})
					if err == nil {
						resp.Body.Close()
					}
				})
			}
			for _, p := range peers { // the fediverse
				wg.Go(func() { p.call("/_test/vote", map[string]any{"question": q, "option": "driver"}) })
			}
			for _, cli := range matrixUsers { // Matrix
				wg.Go(func() {
					cli.SendMessageEvent(ctx, room, event.EventUnstablePollResponse, map[string]any{
						"m.relates_to":                     map[string]any{"rel_type": "m.reference", "event_id": poll},
						"org.matrix.msc3381.poll.response": map[string]any{"answers": []string{"driver"}},
					})
				})
			}
			wg.Wait()
			time.Sleep(2 * time.Second) // the sync loop takes the Matrix answers
			var st struct {
				Taken   map[string]int
				Signups []struct{ State string }
			}
			m.c.api("GET", fmt.Sprintf("/api/v1/boards/news/announcements/%d/signups", a.ID), nil, nil, &st)
			confirmed := 0
			for _, su := range st.Signups {
				if su.State == "confirmed" {
					confirmed++
				}
			}
			if confirmed != 1 || st.Taken["driver"] != 1 {
				t.Fatalf("%d confirmed sign-ups for one place (taken %v)", confirmed, st.Taken)
			}
		})
	}
}

// A French announcement reads French to a room's members, as their client
// shows it: its body and formatted body, labels and date included.
func TestMatrixFrenchAnnouncement(t *testing.T) {
	t.Parallel()
	m := newMatrixRig(t)
	m.c.post(map[string]any{"kind": "event", "title": "Réunion mensuelle", "body": "On se retrouve à 19 h.", "language": "fr",
		"event": map[string]any{"start": "2026-12-18T18:00:00Z", "place": "Le local"}}, nil)
	msg := m.waitPost(t, m.rooms[0], "Réunion mensuelle").Content.AsMessage()
	shown := html.UnescapeString(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(msg.FormattedBody, "")) // what an HTML client shows
	for _, want := range []string{"Événement\u202f: Réunion mensuelle", "Quand\u202f: ven. 18 déc. 2026, 18:00 (UTC)", "Où\u202f: Le local"} {
		if !strings.Contains(msg.Body, want) || !strings.Contains(shown, want) {
			t.Errorf("the room lacks %q:\n%s\n%s", want, msg.Body, shown)
		}
	}
	boardtest.NoEnglish(t, "the room's message", msg.Body)
	boardtest.NoEnglish(t, "the room's formatted message", shown)
}

// A room rejoined sends its history again: the poll answers in it were
// counted already and change nothing (issue 22, point 1: a sign-up the
// editor had removed came back confirmed when the bot rejoined).
func TestMatrixRejoinReplaysNoAnswer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := newMatrixRig(t)
	room := m.rooms[1] // the public room
	a, code := m.c.post(map[string]any{"kind": "call", "title": "Stall helpers", "call": map[string]any{
		"roles": []map[string]any{{"name": "cook", "places": 2}}, "contact": "Ask Ana"}}, nil)
	if code != 201 {
		t.Fatalf("post: %d", code)
	}
	msg := m.waitPost(t, room, "Stall helpers")
	poll := m.pollOf(t, room, `"id":"cook"`).ID
	pollAnswer(t, m.reader, room, poll, "cook")
	path := fmt.Sprintf("/api/v1/boards/news/announcements/%d/signups", a.ID)
	var st struct {
		Taken   map[string]int
		Signups []struct {
			ID    int64
			State string
		}
	}
	signups := func() {
		st.Taken, st.Signups = nil, nil // decoded afresh: a count of 0 may be left out
		m.c.api("GET", path, nil, nil, &st)
	}
	waitFor(t, 20*time.Second, "the reader's sign-up", func() bool { signups(); return st.Taken["cook"] == 1 })
	// She called to say she cannot come: the editor removes her.
	if code := m.c.api("DELETE", fmt.Sprintf("%s/%d", path, st.Signups[0].ID), nil, nil, nil); code != 204 && code != 200 {
		t.Fatalf("remove: %d", code)
	}
	if signups(); st.Taken["cook"] != 0 {
		t.Fatalf("after the removal: %+v", st)
	}
	// The bot is kicked and invited again: it rejoins, and the room's
	// history, her answer in it, comes in its sync again.
	m.kickAndInvite(t, 1)
	// A reaction after the rejoin: once it is recorded, the bot's sync has
	// gone past the history it was sent again.
	if _, err := m.reader.SendReaction(ctx, room, msg.ID, "👍"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the reaction after the rejoin", func() bool {
		var inter []map[string]any
		m.c.api("GET", fmt.Sprintf("/api/v1/boards/news/announcements/%d/interactions", a.ID), nil, nil, &inter)
		return len(inter) == 1
	})
	if signups(); st.Taken["cook"] != 0 || st.Signups[0].State != "withdrawn" {
		t.Fatalf("the answer synced again signed her up again: %+v", st)
	}
}

// A call's deadline closes it everywhere at the time, with nobody acting:
// the Matrix poll gets its end, followers' servers an Update of the
// Question with its closed time (issue 22, points 5 and 8).
func TestCallClosesAtItsDeadlineEverywhere(t *testing.T) {
	t.Parallel() // mostly waiting for the deadline
	ctx := context.Background()
	m := newMatrixRig(t)
	room := m.rooms[1]
	p := startPeer(t)
	p.follow(m.c)
	// This board keeps its polls' results to the end (MSC3381's
	// undisclosed kind); the question says who sees an answer anyway.
	m.configure(t, map[string]any{"password": botPassword, "poll_results": "undisclosed"}, 200)
	m.configure(t, map[string]any{"password": botPassword, "poll_results": "secret"}, 400)
	deadline := time.Now().Add(12 * time.Second).UTC().Truncate(time.Second)
	a, code := m.c.post(map[string]any{"kind": "call", "title": "Setup crew", "call": map[string]any{
		"roles": []map[string]any{{"name": "setup", "places": 3}}, "contact": "Ask Ana", "deadline": deadline.Format(time.RFC3339)}}, nil)
	if code != 201 {
		t.Fatalf("post: %d", code)
	}
	m.waitPost(t, room, "Setup crew")
	start := m.pollOf(t, room, `"id":"setup"`)
	if raw := string(start.Content.VeryRaw); !strings.Contains(raw, "org.matrix.msc3381.poll.undisclosed") || !strings.Contains(raw, "results when it ends; the room’s members can still see who answered") {
		t.Errorf("the poll is not undisclosed, or does not say who sees an answer: %s", raw)
	}
	poll := start.ID
	q := m.c.objectURL(a.ID)
	p.waitActivity("Create", q)
	if time.Now().After(deadline) {
		t.Fatalf("the set-up took past the deadline (%v): the test's margin is too short for this machine", time.Since(deadline))
	}
	waitFor(t, 30*time.Second, "the poll's end at the deadline", func() bool {
		resp, err := m.reader.Messages(ctx, room, "", "", mautrix.DirectionBackward, nil, 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, evt := range resp.Chunk {
			if evt.Type == event.EventUnstablePollEnd && strings.Contains(string(evt.Content.VeryRaw), string(poll)) {
				return true
			}
		}
		return false
	})
	waitFor(t, 30*time.Second, "an Update of the Question, closed at the deadline", func() bool {
		for _, up := range p.state().received("Update", q) {
			if closed, _ := up.object()["closed"].(string); closed != "" {
				at, err := time.Parse(time.RFC3339, closed)
				return err == nil && at.Equal(deadline)
			}
		}
		return false
	})
}

// A training full without a waiting list ends its poll; when a seat frees
// up, a fresh poll goes out and takes answers (issue 22, point 4: the
// fresh poll reused the first one's transaction id, which the homeserver
// answers with the ended poll, so room members could not register).
func TestMatrixFreshPollWhenASeatFreesUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := newMatrixRig(t)
	room := m.rooms[1]
	start := time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339)
	a, code := m.c.post(map[string]any{"kind": "training", "title": "Git basics",
		"event": map[string]any{"start": start, "place": "Room B12"}, "training": map[string]any{"seats": 1}}, nil)
	if code != 201 {
		t.Fatalf("post: %d", code)
	}
	m.waitPost(t, room, "Git basics")
	first := m.pollOf(t, room, "").ID
	vote := func(poll id.EventID) { t.Helper(); pollAnswer(t, m.reader, room, poll, "I'll come") }
	path := fmt.Sprintf("/api/v1/boards/news/announcements/%d/signups", a.ID)
	var st struct {
		Taken   map[string]int
		Signups []struct{ ID int64 }
	}
	signups := func() { st.Taken, st.Signups = nil, nil; m.c.api("GET", path, nil, nil, &st) }
	vote(first)
	waitFor(t, 20*time.Second, "the registration", func() bool { signups(); return len(st.Signups) == 1 && st.Taken["I'll come"] == 1 })
	polls := func() (starts []id.EventID, ended map[id.EventID]bool) {
		resp, err := m.reader.Messages(ctx, room, "", "", mautrix.DirectionBackward, nil, 100)
		if err != nil {
			t.Fatal(err)
		}
		ended = map[id.EventID]bool{}
		for _, evt := range resp.Chunk {
			switch evt.Type {
			case event.EventUnstablePollStart:
				starts = append(starts, evt.ID)
			case event.EventUnstablePollEnd:
				var c struct {
					Rel struct {
						EventID id.EventID `json:"event_id"`
					} `json:"m.relates_to"`
				}
				_ = json.Unmarshal(evt.Content.VeryRaw, &c)
				ended[c.Rel.EventID] = true
			}
		}
		return starts, ended
	}
	waitFor(t, 20*time.Second, "the full training's poll to end", func() bool { _, ended := polls(); return ended[first] })
	// She cannot come after all: the editor removes her, a seat is free.
	if code := m.c.api("DELETE", fmt.Sprintf("%s/%d", path, st.Signups[0].ID), nil, nil, nil); code != 204 && code != 200 {
		t.Fatalf("remove: %d", code)
	}
	var fresh id.EventID
	waitFor(t, 20*time.Second, "a fresh poll, open", func() bool {
		starts, ended := polls()
		for _, s := range starts {
			if s != first && !ended[s] {
				fresh = s
				return true
			}
		}
		return false
	})
	vote(fresh)
	waitFor(t, 20*time.Second, "a registration through the fresh poll", func() bool { signups(); return st.Taken["I'll come"] == 1 })
}
