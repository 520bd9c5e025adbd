package matrix

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"crieur/board"
	"crieur/board/locale"
	"crieur/board/markdown"
	"crieur/board/store"
	"crieur/board/store/storetest"
	"crieur/federation/delivery"
)

// fakeHomeserver answers joins and sends the way Synapse and Dendrite do:
// a send repeated with the same transaction id is the same event, whatever
// its content.
type fakeHomeserver struct {
	mu     sync.Mutex
	byTxn  map[string]string
	bodies map[string]string // event id -> body (edits: the new content's)
}

func (f *fakeHomeserver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case strings.Contains(r.URL.Path, "/join/"):
		room := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		json.NewEncoder(w).Encode(map[string]string{"room_id": room})
	case strings.Contains(r.URL.Path, "/send/m.room.message/"):
		txn := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		ev, seen := f.byTxn[txn]
		if !seen {
			var c struct {
				Body       string `json:"body"`
				NewContent *struct {
					Body string `json:"body"`
				} `json:"m.new_content"`
			}
			raw, _ := io.ReadAll(r.Body)
			_ = json.Unmarshal(raw, &c)
			ev = "$ev" + txn
			f.byTxn[txn], f.bodies[ev] = ev, c.Body
			if c.NewContent != nil {
				f.bodies[ev] = c.NewContent.Body
			}
		}
		json.NewEncoder(w).Encode(map[string]string{"event_id": ev})
	default:
		// As a homeserver answers what it does not have (a room's
		// m.room.encryption state: the room is not encrypted).
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"errcode":"M_NOT_FOUND","error":"not here"}`)
	}
}

func (f *fakeHomeserver) shows(s string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, b := range f.bodies {
		if strings.Contains(b, s) {
			return true
		}
	}
	return false
}

type testLinks struct{}

func (testLinks) AnnouncementURL(b string, id int64) string { return "https://board.example/a" }

// An edit made while the room's first message is on its way (sent, its
// event id not yet recorded) is not lost: the Update waits for the Create
// instead of sending the Create's transaction again, which the homeserver
// answers with the first message, old title and all.
func TestEditWhileTheMessageIsOnItsWay(t *testing.T) {
	ctx := context.Background()
	db, bstore := openStore(t)
	svc := board.NewService(board.Options{Store: bstore, Markup: markdown.New(), Notices: locale.Notices{}})
	b, _, err := svc.EnsureBoard(ctx, "news", "News")
	if err != nil {
		t.Fatal(err)
	}
	mstore := NewStore(db)
	hs := &fakeHomeserver{byTxn: map[string]string{}, bodies: map[string]string{}}
	srv := httptest.NewServer(hs)
	defer srv.Close()
	const room = "!room:example.org"
	if err := mstore.SaveAccount(ctx, Account{BoardID: b.ID, Homeserver: srv.URL, UserID: "@crieur:example.org", AccessToken: "t", Rooms: []string{room}, MsgType: "m.notice"}); err != nil {
		t.Fatal(err)
	}
	bridge := NewBridge(mstore, bstore, nil, testLinks{}, nil, srv.Client(), slog.New(slog.DiscardHandler))

	a, _, err := svc.Create(ctx, board.System, b, board.Draft{Title: "Cooks wanted"}, "")
	if err != nil {
		t.Fatal(err)
	}
	jobsOf := func(verb board.Verb) delivery.Job {
		t.Helper()
		entries, err := bstore.PendingOutbox(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Verb == verb {
				jobs, err := bridge.Expand(ctx, e)
				if err != nil || len(jobs) != 1 {
					t.Fatalf("expand %s: %v %v", verb, jobs, err)
				}
				return jobs[0]
			}
		}
		t.Fatalf("no %s in the outbox", verb)
		return delivery.Job{}
	}
	create := jobsOf(board.VerbCreate)
	if err := bstore.AddPendingDeliveries(ctx, create.OutboxID, []string{room}); err != nil {
		t.Fatal(err)
	}
	// The Create job sent its message; the homeserver has it, Crieur has
	// not recorded its event id yet.
	var p sendPayload
	_ = json.Unmarshal(create.Payload, &p)
	req, _ := http.NewRequest("PUT", srv.URL+"/_matrix/client/v3/rooms/"+room+"/send/m.room.message/"+txnID(p, "create"), strings.NewReader(`{"body":"Cooks wanted"}`))
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var sent struct {
		EventID string `json:"event_id"`
	}
	json.NewDecoder(resp.Body).Decode(&sent)
	resp.Body.Close()

	if _, err := svc.Update(ctx, board.System, b, a.ID, func(d *board.Draft) error { d.Title = "Cooks and drivers wanted"; return nil }); err != nil {
		t.Fatal(err)
	}
	update := jobsOf(board.VerbUpdate)
	err = bridge.Handle(ctx, update)
	var wait *delivery.WaitError
	if !errors.As(err, &wait) {
		t.Fatalf("the edit, while the message is on its way: %v; want it to wait for the message", err)
	}
	// The Create job ends: its event id recorded, its delivery done.
	if err := mstore.SaveEventID(ctx, a.ID, room, room, id.EventID(sent.EventID)); err != nil {
		t.Fatal(err)
	}
	if err := bstore.RecordDelivery(ctx, board.DeliveryRecord{OutboxID: create.OutboxID, Target: room, State: "delivered", Attempts: 1, LastError: ""}); err != nil {
		t.Fatal(err)
	}
	if err := bridge.Handle(ctx, update); err != nil {
		t.Fatal(err)
	}
	if !hs.shows("Cooks and drivers wanted") {
		t.Error("the room never shows the edit")
	}
}

// The sync's echo of the bot's own message or poll tells which
// announcement it is, so a reaction or answer in the same sync batch is
// kept even when the send's own answer is not stored yet.
func TestEchoTellsTheAnnouncement(t *testing.T) {
	ctx := context.Background()
	db, bstore := openStore(t)
	mstore := NewStore(db)
	const room, bot = "!room:example.org", "@crieur:example.org"
	acct := Account{BoardID: 1, Homeserver: "https://matrix.example.org", UserID: bot, AccessToken: "t", Rooms: []string{room}, MsgType: "m.notice"}
	bridge := NewBridge(mstore, bstore, nil, testLinks{}, nil, http.DefaultClient, slog.New(slog.DiscardHandler))
	echo := func(sender, txn, ev string) {
		evt := &event.Event{ID: id.EventID(ev), RoomID: room, Sender: id.UserID(sender), Unsigned: event.Unsigned{TransactionID: txn}}
		bridge.onEcho(ctx, nil, acct, evt)
	}
	p := sendPayload{AnnouncementID: 7, Room: room}
	echo(bot, txnID(p, "create"), "$message")
	echo(bot, txnID(p, "poll"), "$poll")
	echo(bot, txnID(sendPayload{AnnouncementID: 8, Room: room}, "v2"), "$edit")                        // an edit is not the message
	echo("@mallory:example.org", txnID(sendPayload{AnnouncementID: 9, Room: room}, "create"), "$fake") // only the bot's own
	echo(bot, txnID(sendPayload{AnnouncementID: 10, Room: "!other:example.org"}, "create"), "$elsewhere")
	if ann, ok, err := mstore.AnnouncementOf(ctx, room, "$message"); err != nil || !ok || ann != 7 {
		t.Errorf("the message's echo: %d %v %v", ann, ok, err)
	}
	if boardID, ann, ok, err := mstore.PollOf(ctx, room, "$poll"); err != nil || !ok || ann != 7 || boardID != 1 {
		t.Errorf("the poll's echo: board %d, %d %v %v", boardID, ann, ok, err)
	}
	for _, ev := range []id.EventID{"$edit", "$fake", "$elsewhere"} {
		if ann, ok, _ := mstore.AnnouncementOf(ctx, room, ev); ok {
			t.Errorf("%s taken as announcement %d's message", ev, ann)
		}
	}
	if ann, hash, what, ok := parseTxnID(txnID(p, "img-redact-x")); !ok || ann != 7 || hash != roomHash(room) || what != "img-redact-x" {
		t.Errorf("parseTxnID: %d %s %s %v", ann, hash, what, ok)
	}
}

// A poll response is read under MSC3381's final name or the unstable one,
// as matrix-js-sdk reads it; one without its reference to the poll is not.
func TestPollAnswers(t *testing.T) {
	for _, c := range []struct {
		content string
		poll    id.EventID
		answers []string
		ok      bool
	}{
		{`{"m.relates_to":{"rel_type":"m.reference","event_id":"$p"},"org.matrix.msc3381.poll.response":{"answers":["cook"]}}`, "$p", []string{"cook"}, true},
		{`{"m.relates_to":{"rel_type":"m.reference","event_id":"$p"},"m.poll.response":{"answers":["driver"]}}`, "$p", []string{"driver"}, true},
		{`{"m.relates_to":{"rel_type":"m.reference","event_id":"$p"},"m.poll.response":{"answers":["a"]},"org.matrix.msc3381.poll.response":{"answers":["b"]}}`, "$p", []string{"a"}, true},
		{`{"m.relates_to":{"rel_type":"m.reference","event_id":"$p"},"m.poll.response":{"answers":[]}}`, "$p", []string{}, true}, // a withdrawal
		{`{"m.poll.response":{"answers":["cook"]}}`, "", nil, false},
		{`{"m.relates_to":{"rel_type":"m.annotation","event_id":"$p"},"m.poll.response":{"answers":["cook"]}}`, "", nil, false},
		{`{"m.relates_to":{"rel_type":"m.reference","event_id":"$p"},"m.poll.response":{"answers":[1]}}`, "", nil, false},
	} {
		evt := &event.Event{Content: event.Content{VeryRaw: json.RawMessage(c.content)}}
		poll, answers, ok := pollAnswers(evt)
		if ok != c.ok || poll != c.poll || fmt.Sprint(answers) != fmt.Sprint(c.answers) {
			t.Errorf("%s: %q %q %v", c.content, poll, answers, ok)
		}
	}
}

// openStore opens a fresh store, migrated, closed when the test ends.
func openStore(t *testing.T) (*sql.DB, *store.Store) {
	t.Helper()
	bstore, db := storetest.Open(t)
	return db, bstore
}

// A leave that reaches Crieur late (a lagging sync or state read hands it
// over after the next post joined the room again and said "ok") does not
// make the room's status say the bot left; a leave after the "ok" does.
func TestLateLeaveDoesNotUndoARejoin(t *testing.T) {
	ctx := context.Background()
	db, bstore := openStore(t)
	svc := board.NewService(board.Options{Store: bstore, Markup: markdown.New(), Notices: locale.Notices{}})
	b, _, err := svc.EnsureBoard(ctx, "news", "News")
	if err != nil {
		t.Fatal(err)
	}
	mstore := NewStore(db)
	const room = "!room:example.org"
	a := Account{BoardID: b.ID, Homeserver: "http://127.0.0.1:1", UserID: "@crieur:example.org", AccessToken: "t", Rooms: []string{room}}
	bridge := NewBridge(mstore, bstore, nil, testLinks{}, nil, http.DefaultClient, slog.New(slog.DiscardHandler))
	leave := func(at time.Time) {
		evt := &event.Event{Type: event.StateMember, RoomID: room, Sender: id.UserID(a.UserID), Timestamp: at.UnixMilli(),
			StateKey: &a.UserID, Content: event.Content{Parsed: &event.MemberEventContent{Membership: event.MembershipLeave}}}
		bridge.onMember(ctx, nil, a, evt)
	}
	status := func() string {
		st, err := mstore.RoomStatus(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		return st[room]
	}
	left := time.Now().Add(-2 * time.Second)
	if err := mstore.SetRoomStatus(ctx, b.ID, room, "ok"); err != nil { // the post that joined again
		t.Fatal(err)
	}
	leave(left)
	if st := status(); st != "ok" {
		t.Errorf("a leave from before the post that joined again: status %q, want ok", st)
	}
	leave(time.Now().Add(time.Second))
	if st := status(); !strings.Contains(st, "left "+room+" from another session") {
		t.Errorf("a leave after the post: status %q", st)
	}
}
