package main

// Acceptance tests of Matrix publishing against a real Dendrite.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

const (
	botPassword    = "bot-password-1"
	readerPassword = "reader-password-1"
)

type matrixRig struct {
	c      *crieurProc
	d      *dendrite
	reader *mautrix.Client
	rooms  []id.RoomID // as the reader sees them
	conf   []string    // as configured in crieur (an id and an alias)
}

// newMatrixRig starts Dendrite with two rooms and crieur (with extra
// environment variables) posting to them.
func newMatrixRig(t *testing.T, env ...string) *matrixRig {
	t.Helper()
	ctx := context.Background()
	d := startDendrite(t)
	d.createAccount("crieur", botPassword)
	d.createAccount("reader", readerPassword)
	reader := d.login("reader", readerPassword)
	r1, err := reader.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", Name: "Members", Invite: []id.UserID{userID("crieur")}})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := reader.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat", Name: "News", RoomAliasName: "news"})
	if err != nil {
		t.Fatal(err)
	}
	rig := &matrixRig{d: d, reader: reader, rooms: []id.RoomID{r1.RoomID, r2.RoomID},
		conf: []string{r1.RoomID.String(), "#news:" + dendriteServer}}
	rig.c = startCrieur(t, t.TempDir(), 0, env...)
	out := rig.configure(t, map[string]any{"password": botPassword}, 200)
	status, _ := out["rooms_status"].(map[string]any) // checked: a panic would end every test of the package
	for _, room := range rig.conf {
		if st := status[room]; st != "ok" {
			t.Fatalf("room %s: %v", room, st)
		}
	}
	return rig
}

func (m *matrixRig) configure(t *testing.T, cred map[string]any, want int) map[string]any {
	t.Helper()
	body := map[string]any{"homeserver": m.d.URL, "user_id": userID("crieur").String(), "rooms": m.conf}
	for k, v := range cred {
		body[k] = v
	}
	var out map[string]any
	if code := m.c.api("PUT", "/api/v1/boards/news/matrix", body, nil, &out); code != want {
		t.Fatalf("PUT matrix: %d, want %d: %v", code, want, out)
	}
	return out
}

// botMessages lists the bot's messages in a room, oldest first, as the
// reader sees them.
func (m *matrixRig) botMessages(t *testing.T, room id.RoomID) []*event.Event {
	t.Helper()
	resp, err := m.reader.Messages(context.Background(), room, "", "", mautrix.DirectionBackward, nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []*event.Event
	for i := len(resp.Chunk) - 1; i >= 0; i-- {
		evt := resp.Chunk[i]
		if evt.Sender != userID("crieur") || evt.Type != event.EventMessage {
			continue
		}
		_ = evt.Content.ParseRaw(evt.Type)
		out = append(out, evt)
	}
	return out
}

// posts returns the bot's original messages (not edits) whose body has s.
func (m *matrixRig) posts(t *testing.T, room id.RoomID, s string) []*event.Event {
	var out []*event.Event
	for _, evt := range m.botMessages(t, room) {
		msg := evt.Content.AsMessage()
		if msg.RelatesTo == nil && strings.Contains(msg.Body, s) {
			out = append(out, evt)
		}
	}
	return out
}

func (m *matrixRig) waitPost(t *testing.T, room id.RoomID, s string) *event.Event {
	t.Helper()
	var got *event.Event
	waitFor(t, 20*time.Second, fmt.Sprintf("%q in %s", s, room), func() bool {
		if p := m.posts(t, room, s); len(p) > 0 {
			got = p[0]
		}
		return got != nil
	})
	return got
}

// Acceptance 1: one announcement, two rooms, read by a second account;
// an edit is an m.replace of it; a delete redacts it.
func TestMatrixPostEditDelete(t *testing.T) {
	t.Parallel()
	m := newMatrixRig(t)
	a, code := m.c.post(map[string]any{"kind": "call", "title": "Cooks wanted", "body": "Ping @room and @alice:localhost, write to fair@example.org",
		"call": map[string]any{"roles": []map[string]any{{"name": "cook", "places": 2}}, "contact": "fair@example.org"}}, nil)
	if code != 201 {
		t.Fatalf("post: %d", code)
	}
	var originals []*event.Event
	for _, room := range m.rooms {
		evt := m.waitPost(t, room, "Cooks wanted")
		msg := evt.Content.AsMessage()
		if msg.MsgType != event.MsgNotice || msg.Format != event.FormatHTML ||
			!strings.Contains(msg.FormattedBody, "<strong>Call for volunteers: Cooks wanted</strong>") ||
			!strings.Contains(msg.FormattedBody, "cook (2 of 2 places left)") || !strings.Contains(msg.Body, m.c.objectURL(a.ID)) {
			t.Fatalf("message in %s: %+v", room, msg)
		}
		if strings.Contains(msg.Body, "@room") || strings.Contains(msg.FormattedBody, "@room") || strings.Contains(msg.Body, "@alice") ||
			!strings.Contains(msg.Body, "fair@example.org") || msg.Mentions == nil || msg.Mentions.Room || len(msg.Mentions.UserIDs) != 0 {
			t.Fatalf("mentions not neutralised in %s: %q / %+v", room, msg.Body, msg.Mentions)
		}
		originals = append(originals, evt)
	}

	if code := m.c.api("PATCH", fmt.Sprintf("/api/v1/boards/news/announcements/%d", a.ID), map[string]any{"title": "Cooks and drivers wanted"}, nil, nil); code != 200 {
		t.Fatalf("edit: %d", code)
	}
	for i, room := range m.rooms {
		waitFor(t, 20*time.Second, "the edit in "+room.String(), func() bool {
			for _, evt := range m.botMessages(t, room) {
				msg := evt.Content.AsMessage()
				if msg.RelatesTo != nil && msg.RelatesTo.GetReplaceID() == originals[i].ID && msg.NewContent != nil &&
					strings.Contains(msg.NewContent.Body, "Cooks and drivers wanted") {
					return true
				}
			}
			return false
		})
	}

	if code := m.c.api("DELETE", fmt.Sprintf("/api/v1/boards/news/announcements/%d", a.ID), nil, nil, nil); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	for i, room := range m.rooms {
		waitFor(t, 20*time.Second, "the redaction in "+room.String(), func() bool {
			evt, err := m.reader.GetEvent(context.Background(), room, originals[i].ID)
			return err == nil && evt.Unsigned.RedactedBecause != nil
		})
	}
	m.c.waitQueueIdle()
	if d := m.c.deliveries(a.ID); d.Counts["delivered"] != 6 {
		t.Errorf("deliveries = %+v, want 3 verbs x 2 rooms delivered", d.Counts)
	}
}

// Acceptance 2: the homeserver is down while an announcement is
// published; once it is back, the message arrives exactly once.
func TestMatrixHomeserverDownThenUp(t *testing.T) {
	t.Parallel()
	m := newMatrixRig(t)
	m.d.Stop()
	a, _ := m.c.post(map[string]any{"title": "Assembly on Thursday"}, nil)
	waitFor(t, 10*time.Second, "failed attempts while the homeserver is down", func() bool {
		return m.c.deliveries(a.ID).Counts["retrying"] == 2
	})
	d := m.c.deliveries(a.ID)
	if !strings.Contains(d.Deliveries[0].LastError, "unreachable") {
		t.Errorf("last error %q does not say the homeserver is unreachable", d.Deliveries[0].LastError)
	}
	m.d.Start()
	for _, room := range m.rooms {
		m.waitPost(t, room, "Assembly on Thursday")
	}
	m.c.waitQueueIdle()
	time.Sleep(500 * time.Millisecond)
	for _, room := range m.rooms {
		if n := len(m.posts(t, room, "Assembly on Thursday")); n != 1 {
			t.Errorf("%s: %d messages, want exactly 1", room, n)
		}
	}
}

// Acceptance 3: a reaction and a threaded reply become interactions.
func TestMatrixReactionsAndReplies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := newMatrixRig(t)
	a, _ := m.c.post(map[string]any{"title": "Repair café"}, nil)
	evt := m.waitPost(t, m.rooms[0], "Repair café")
	if _, err := m.reader.SendReaction(ctx, m.rooms[0], evt.ID, "👍"); err != nil {
		t.Fatal(err)
	}
	reply := &event.MessageEventContent{MsgType: event.MsgText, Body: "I can fix bikes"}
	reply.SetRelatesTo((&event.RelatesTo{}).SetThread(evt.ID, evt.ID))
	if _, err := m.reader.SendMessageEvent(ctx, m.rooms[0], event.EventMessage, reply); err != nil {
		t.Fatal(err)
	}
	var inter []map[string]any
	waitFor(t, 20*time.Second, "two interactions", func() bool {
		inter = nil
		m.c.api("GET", fmt.Sprintf("/api/v1/boards/news/announcements/%d/interactions", a.ID), nil, nil, &inter)
		return len(inter) == 2
	})
	kinds := map[string]string{}
	for _, in := range inter {
		kinds[in["kind"].(string)] = in["content"].(string)
		if in["actor"] != userID("reader").String() {
			t.Errorf("interaction by %v", in["actor"])
		}
	}
	if kinds["reaction"] != "👍" || kinds["reply"] != "I can fix bikes" {
		t.Fatalf("interactions = %v", inter)
	}
}

// Acceptance 4: a bad token, a revoked token and a room the bot may not
// post in give clear errors and lose nothing; once fixed, the pending
// messages go out. Retries are a minute apart here, as in production they
// are minutes to hours apart: the messages go out within seconds because
// the operator's PUT of a new token, or the power level raised in the
// room, sends what waits at once.
func TestMatrixBadTokenAndForbiddenRoom(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := newMatrixRig(t, "CRIEUR_DELIVERY_RETRY_BASE=1m", "CRIEUR_DELIVERY_RETRY_MAX=1h")

	// A wrong token is refused up front and the working set-up stays.
	var out map[string]any
	if code := m.c.api("PUT", "/api/v1/boards/news/matrix", map[string]any{"homeserver": m.d.URL, "user_id": userID("crieur").String(),
		"access_token": "not-a-token", "rooms": m.conf}, nil, &out); code != 400 || !strings.Contains(fmt.Sprint(out["error"]), "access token") {
		t.Fatalf("bad token: %d %v", code, out)
	}
	// The token crieur holds is revoked behind its back.
	bot := m.d.login("crieur", botPassword)
	if _, err := bot.LogoutAll(ctx); err != nil {
		t.Fatal(err)
	}
	a, _ := m.c.post(map[string]any{"title": "Sent with a revoked token"}, nil)
	waitFor(t, 10*time.Second, "a clear token error", func() bool {
		d := m.c.deliveries(a.ID)
		return d.Counts["retrying"] == 2 && strings.Contains(d.Deliveries[0].LastError, "rejected the access token")
	})
	var acct map[string]any
	m.c.api("GET", "/api/v1/boards/news/matrix", nil, nil, &acct)
	if st := fmt.Sprint(acct["rooms_status"]); !strings.Contains(st, "rejected the access token") {
		t.Fatalf("room status does not show the token problem: %v", acct)
	}
	if _, ok := acct["access_token"]; ok {
		t.Fatal("the API shows the access token")
	}
	m.configure(t, map[string]any{"password": botPassword}, 200) // the fix
	for _, room := range m.rooms {
		m.waitPost(t, room, "Sent with a revoked token")
	}

	// A room where the bot may not speak.
	pl := &event.PowerLevelsEventContent{EventsDefault: 50, Users: map[id.UserID]int{userID("reader"): 100}}
	r3, err := m.reader.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", Name: "Quiet", Invite: []id.UserID{userID("crieur")}, PowerLevelOverride: pl})
	if err != nil {
		t.Fatal(err)
	}
	m.conf = append(m.conf, r3.RoomID.String())
	m.rooms = append(m.rooms, r3.RoomID)
	m.configure(t, map[string]any{"password": botPassword}, 200)
	b, _ := m.c.post(map[string]any{"title": "Quiet room test"}, nil)
	waitFor(t, 10*time.Second, "a clear permission error", func() bool {
		for _, d := range m.c.deliveries(b.ID).Deliveries {
			if d.Target == r3.RoomID.String() && d.State == "retrying" && strings.Contains(d.LastError, "may not post") {
				return true
			}
		}
		return false
	})
	pl.Users[userID("crieur")] = 50 // the fix
	if _, err := m.reader.SendStateEvent(ctx, r3.RoomID, event.StatePowerLevels, "", pl); err != nil {
		t.Fatal(err)
	}
	// No PUT this time: the sync loop sees the bot may post now.
	m.waitPost(t, r3.RoomID, "Quiet room test")
	m.c.waitQueueIdle()
	if d := m.c.deliveries(b.ID); d.Counts["delivered"] != 3 {
		t.Fatalf("deliveries after the fix: %+v", d.Counts)
	}
}

// The bot accepts invites to its configured rooms and from allowed
// inviters, and ignores others.
func TestMatrixInvites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := newMatrixRig(t)
	joined := func(room id.RoomID) bool {
		resp, err := m.reader.JoinedMembers(ctx, room)
		if err != nil {
			t.Fatal(err)
		}
		_, ok := resp.Joined[userID("crieur")]
		return ok
	}
	stranger, err := m.reader.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", Name: "Not configured", Invite: []id.UserID{userID("crieur")}})
	if err != nil {
		t.Fatal(err)
	}
	configured, err := m.reader.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", Name: "Configured later"})
	if err != nil {
		t.Fatal(err)
	}
	m.conf = append(m.conf, configured.RoomID.String())
	m.configure(t, map[string]any{"password": botPassword, "rooms": m.conf}, 200) // the bot is not invited yet: status says so
	if _, err := m.reader.InviteUser(ctx, configured.RoomID, &mautrix.ReqInviteUser{UserID: userID("crieur")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the bot to accept the invite to a configured room", func() bool { return joined(configured.RoomID) })
	time.Sleep(time.Second) // the sync loop has seen the stranger's invite by now
	if joined(stranger.RoomID) {
		t.Fatal("the bot joined a room that is not configured")
	}

	// An allowed inviter's invites are accepted.
	m.configure(t, map[string]any{"password": botPassword, "allowed_inviters": []string{userID("reader").String()}}, 200)
	other, err := m.reader.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", Name: "Invited by a trusted member", Invite: []id.UserID{userID("crieur")}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the bot to accept an allowed inviter's invite", func() bool { return joined(other.RoomID) })
}

// A draft reaches no room; its preview is exactly the message the room
// gets once it is published; a save that changes nothing sends nothing.
func TestMatrixDraftPreviewAndUnchangedSave(t *testing.T) {
	t.Parallel()
	m := newMatrixRig(t)
	var draft struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	if code := m.c.api("POST", "/api/v1/boards/news/announcements", map[string]any{"draft": true, "kind": "event", "title": "Repair café",
		"body": "Bring **your** toaster.", "event": map[string]any{"start": "2026-12-05T14:00:00+01:00", "place": "Salle des fêtes"}}, nil, &draft); code != 201 || draft.Status != "draft" {
		t.Fatalf("draft: %d %+v", code, draft)
	}
	var pv struct {
		Previews []struct{ Channel, HTML, Text string } `json:"previews"`
	}
	path := fmt.Sprintf("/api/v1/boards/news/announcements/%d", draft.ID)
	if code := m.c.api("POST", path+"/preview", map[string]any{"draft": false}, nil, &pv); code != 200 {
		t.Fatalf("preview: %d", code)
	}
	var want struct{ HTML, Text string }
	for _, p := range pv.Previews {
		if p.Channel == "Matrix rooms" {
			want.HTML, want.Text = p.HTML, p.Text
		}
	}
	if want.Text == "" {
		t.Fatalf("no Matrix preview in %+v", pv.Previews)
	}
	m.c.waitQueueIdle()
	if code := m.c.api("PATCH", path, map[string]any{"draft": false}, nil, nil); code != 200 {
		t.Fatalf("publish: %d", code)
	}
	for _, room := range m.rooms {
		msg := m.waitPost(t, room, "Repair café").Content.AsMessage()
		if msg.Body != want.Text || msg.FormattedBody != want.HTML {
			t.Errorf("room %s shows\n%q\n%q\nthe preview said\n%q\n%q", room, msg.Body, msg.FormattedBody, want.Text, want.HTML)
		}
	}
	m.c.waitQueueIdle()
	if code := m.c.api("PATCH", path, map[string]any{}, nil, nil); code != 200 {
		t.Fatalf("unchanged save: %d", code)
	}
	m.c.waitQueueIdle()
	time.Sleep(500 * time.Millisecond)
	// crieur check sees the bot logged in and posting (the rest of this
	// loopback set-up, plain http, fails its checks).
	out, _ := runCLI("", nil, "check", "--data", m.c.DataDir)
	if !strings.Contains(out, "ok    Matrix for news: @crieur:") || !strings.Contains(out, "posts to 2 rooms") {
		t.Errorf("crieur check on the Matrix set-up:\n%s", out)
	}
	for _, room := range m.rooms {
		if n := len(m.botMessages(t, room)); n != 1 {
			t.Errorf("room %s has %d messages from the bot, want the publication only (no draft, no edit for an unchanged save)", room, n)
		}
	}

	// Issue 24, point 4: what a content warning hides is not in the plain
	// body either, which notifications and text-only clients show.
	if _, code := m.c.post(map[string]any{"title": "Menu", "body": "Secret soup recipe", "content_warning": "food"}, nil); code != 201 {
		t.Fatalf("post with a content warning: %d", code)
	}
	for _, room := range m.rooms {
		msg := m.waitPost(t, room, "Menu").Content.AsMessage()
		if strings.Contains(msg.Body, "Secret soup") || !strings.Contains(msg.Body, "Content warning: food") || !strings.Contains(msg.Body, "hidden behind this warning") {
			t.Errorf("room %s: the plain body shows what the warning hides, or says nothing of it: %q", room, msg.Body)
		}
		if !strings.Contains(msg.FormattedBody, `<span data-mx-spoiler="food">`) || !strings.Contains(msg.FormattedBody, "Secret soup recipe") {
			t.Errorf("room %s: the text is not behind a spoiler: %q", room, msg.FormattedBody)
		}
	}
}

// pollAnswer sends cli's answer to poll, under the names Element sends
// (MSC3381's unstable ones); no answer withdraws. It returns the answer's
// event id.
func pollAnswer(t testing.TB, cli *mautrix.Client, room id.RoomID, poll id.EventID, answers ...string) id.EventID {
	t.Helper()
	if answers == nil {
		answers = []string{}
	}
	resp, err := cli.SendMessageEvent(context.Background(), room, event.EventUnstablePollResponse, map[string]any{
		"m.relates_to":                     map[string]any{"rel_type": "m.reference", "event_id": poll},
		"org.matrix.msc3381.poll.response": map[string]any{"answers": answers},
	})
	if err != nil {
		t.Fatal(err)
	}
	return resp.EventID
}

// kickAndInvite has the reader kick the bot from configured room i, waits
// until Crieur records the kick, invites the bot back and waits until it
// is in the room again: the room's history comes in its sync once more.
func (m *matrixRig) kickAndInvite(t *testing.T, i int) {
	t.Helper()
	ctx := context.Background()
	room := m.rooms[i]
	if _, err := m.reader.KickUser(ctx, room, &mautrix.ReqKickUser{UserID: userID("crieur")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "rooms_status to show the kick", func() bool {
		var acct map[string]any
		m.c.api("GET", "/api/v1/boards/news/matrix", nil, nil, &acct)
		st, _ := acct["rooms_status"].(map[string]any)
		s, _ := st[m.conf[i]].(string)
		return strings.Contains(s, "kicked")
	})
	if _, err := m.reader.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: userID("crieur")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the bot back in the room", func() bool {
		members, err := m.reader.JoinedMembers(ctx, room)
		_, in := members.Joined[userID("crieur")]
		return err == nil && in
	})
}

// Issue 24, point 3: a room's status follows the bot's membership, not
// only the failures of posts: the bot's account leaving from another
// session, and an administrator purging the room (Dendrite's
// /_dendrite/admin/purgeRoom, which tells no client), are said within
// one check, before anything is posted.
func TestRoomStatusFollowsMembership(t *testing.T) {
	t.Parallel()
	m := newMatrixRig(t, "CRIEUR_MATRIX_CHECK_EVERY=1s")
	ctx := context.Background()
	status := func() map[string]any {
		var out map[string]any
		m.c.api("GET", "/api/v1/boards/news/matrix", nil, nil, &out)
		st, _ := out["rooms_status"].(map[string]any)
		return st
	}
	private, public := m.conf[0], m.conf[1]
	other := m.d.login("crieur", botPassword) // the bot's account, another session
	if _, err := other.LeaveRoom(ctx, m.rooms[1]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "the public room's status to say the bot left", func() bool {
		st, _ := status()[public].(string)
		return strings.Contains(st, "left") && strings.Contains(st, "from another session")
	})
	if st := status()[private]; st != "ok" {
		t.Errorf("the private room's status changed too: %v", st)
	}
	m.d.createAccount("admin", "admin-password-1", "-admin")
	admin := m.d.login("admin", "admin-password-1")
	if _, err := admin.MakeFullRequest(ctx, mautrix.FullRequest{Method: http.MethodPost, URL: m.d.URL + "/_dendrite/admin/purgeRoom/" + url.PathEscape(m.rooms[0].String())}); err != nil {
		t.Fatalf("purge: %v", err)
	}
	waitFor(t, 15*time.Second, "the purged room's status", func() bool {
		st, _ := status()[private].(string)
		return strings.Contains(st, "no longer in")
	})
	// The next post says why it cannot go, and joins the public room again.
	if _, code := m.c.post(map[string]any{"title": "After the purge", "body": "Still here."}, nil); code != 201 {
		t.Fatalf("post: %d", code)
	}
	m.waitPost(t, m.rooms[1], "After the purge")
	waitFor(t, 15*time.Second, "the public room's status back to ok", func() bool { return status()[public] == "ok" })
}

// Issue 24, point 2: a homeserver that says "come back in 1.5 s"
// (M_LIMIT_EXCEEDED with retry_after_ms: Dendrite's rate limiter, here on
// joins with one request per 1.5 s) is tried again then, with at most a
// tenth more, not after Crieur's own backoff (4 to 36 s before); the
// dashboard says when.
func TestMatrixRateLimitIsHonouredAsAsked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := startDendriteWith(t, map[string]string{
		"rate_limiting:\n    enabled: false\n    threshold: 5\n    cooloff_ms: 500\n    exempt_user_ids: []": "rate_limiting:\n    enabled: true\n    threshold: 1\n    cooloff_ms: 1500\n    exempt_user_ids: [\"" + userID("reader").String() + "\"]",
	})
	d.createAccount("crieur", botPassword)
	d.createAccount("reader", readerPassword)
	reader := d.login("reader", readerPassword)
	var rooms []id.RoomID
	var conf []string
	for i := range 4 {
		r, err := reader.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat", Name: fmt.Sprintf("Room %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		rooms, conf = append(rooms, r.RoomID), append(conf, r.RoomID.String())
	}
	// The production backoff (30 s, then doubling), not the rig's quick
	// one: the hint must win over it.
	c := startCrieur(t, t.TempDir(), 0, "CRIEUR_DELIVERY_RETRY_BASE=30s", "CRIEUR_DELIVERY_RETRY_MAX=6h")
	m := &matrixRig{d: d, reader: reader, rooms: rooms, conf: conf, c: c}
	m.configure(t, map[string]any{"password": botPassword}, 200) // joins: the first goes, the others are told to wait
	time.Sleep(1600 * time.Millisecond)                          // the set-up's join slot frees
	start := time.Now()
	a, code := c.post(map[string]any{"title": "Rate limited", "body": "Four rooms."}, nil)
	if code != 201 {
		t.Fatalf("post: %d", code)
	}
	var seen []time.Duration
	waitFor(t, 30*time.Second, "the post in every room", func() bool {
		for _, x := range c.deliveries(a.ID).Deliveries {
			if x.State == "retrying" && x.NextAttemptAt != nil && strings.Contains(x.LastError, "rate limited") {
				seen = append(seen, x.NextAttemptAt.Sub(x.UpdatedAt))
			}
		}
		for _, r := range rooms {
			if len(m.botMessages(t, r)) == 0 {
				return false
			}
		}
		return true
	})
	t.Logf("four rooms, joins limited to one per 1.5 s: all posted in %v; %d retry schedules seen", time.Since(start).Round(10*time.Millisecond), len(seen))
	if len(seen) == 0 {
		t.Fatal("no delivery was seen waiting for the rate limit")
	}
	for _, after := range seen {
		if after < 1400*time.Millisecond || after > 1750*time.Millisecond {
			t.Errorf("asked to come back in 1.5 s, the next attempt was set %v later", after)
		}
	}
}
