package matrix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"

	"crieur/board"
	"crieur/board/locale"
	"crieur/board/markdown"
	"crieur/federation/delivery"
)

// The log keeps a minute of sends; once the bot is removed it keeps those
// from a minute before the removal until the bot returns, sends answered
// for after the removal included (a send a kick overtook is answered late).
func TestSentLogKeepsWhatARemovalMayHaveDropped(t *testing.T) {
	const room = id.RoomID("!r:example.org")
	t0 := time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)
	now := t0
	l := newSentLog()
	l.now = func() time.Time { return now }
	send := func(at time.Duration, ev string) {
		now = t0.Add(at)
		l.record(room, "crieur-1-h-"+ev, id.EventID(ev))
	}
	evs := func(s []sentEvent) (out []string) {
		for _, e := range s {
			out = append(out, string(e.ev))
		}
		return out
	}
	send(0, "$old")
	send(30*time.Second, "$before")
	send(90*time.Second, "$near") // $old is more than a minute old: gone
	if got := evs(l.rooms[room].sent); !slices.Equal(got, []string{"$before", "$near"}) {
		t.Errorf("kept %v, want the last minute's", got)
	}
	if by, _, d := l.returned(room); by != "" || d != nil {
		t.Errorf("a room the bot was not removed from gave %s %v", by, d)
	}
	kick := t0.Add(100 * time.Second)
	l.removed(room, "$kick", kick)
	send(400*time.Second, "$late") // minutes later: kept, the bot being out
	by, at, d := l.returned(room)
	if by != "$kick" || !at.Equal(kick) || !slices.Equal(evs(d), []string{"$near", "$late"}) {
		t.Errorf("returned %s %v %v; want $kick, the kick's time, and what came from a minute before it", by, at, evs(d))
	}
	if by, _, d := l.returned(room); by != "" || d != nil {
		t.Errorf("a second return gave %s %v", by, d)
	}

	// A removal with nothing sent before it still waits for what is on
	// its way.
	const other = id.RoomID("!o:example.org")
	l.removed(other, "$kick2", now)
	now = now.Add(time.Second)
	l.record(other, "crieur-1-h-create", "$answered")
	if by, _, d := l.returned(other); by != "$kick2" || len(d) != 1 {
		t.Errorf("a send answered after the removal: %s %v", by, evs(d))
	}
}

// A retake's transaction ids are new ones, and read back as what they send.
func TestRetakeTransactionIDs(t *testing.T) {
	p := sendPayload{AnnouncementID: 3, Room: "#news:example.org"}
	first := txnID(p, "pollend-$p")
	p.Retake = "ab12"
	again := txnID(p, "pollend-$p")
	if first == again {
		t.Fatalf("a retake reuses the transaction id %s", first)
	}
	if ann, hash, what, ok := parseTxnID(again); !ok || ann != 3 || hash != roomHash(p.Room) || what != "pollend-$p" {
		t.Errorf("parseTxnID(%s): %d %s %s %v", again, ann, hash, what, ok)
	}
}

// ForgetLost undoes each kind of record, and only a record that still
// names the lost event.
func TestForgetLostUndoesOnlyTheLostRecord(t *testing.T) {
	ctx := context.Background()
	r := newBridgeRig(t, http.NotFoundHandler())
	b, s := r.board, r.store
	a, _, err := r.svc.Create(ctx, board.System, b, board.Draft{Title: "Cooks wanted"}, "")
	if err != nil {
		t.Fatal(err)
	}
	const room, rid = "#news:example.org", id.RoomID("!r:example.org")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.SaveEventID(ctx, a.ID, room, rid, "$msg"))
	must(s.SavePoll(ctx, b.ID, a.ID, room, rid, "$poll", "asks1"))
	must(s.SetPollEnded(ctx, a.ID, room, true))
	must(s.SaveImageEvent(ctx, a.ID, room, "k", "$img"))

	// Records that name another event stay.
	must(s.ForgetLost(ctx, a.ID, room, "create", "$other"))
	must(s.ForgetLost(ctx, a.ID, room, "img-k", "$other"))
	must(s.ForgetLost(ctx, a.ID, room, "pedit-asks0", "$other"))
	if _, posted, _ := s.EventID(ctx, a.ID, room); !posted {
		t.Error("the message's record went for another event")
	}
	if imgs, _ := s.ImageEvents(ctx, a.ID, room); imgs["k"] != "$img" {
		t.Error("the picture's record went for another event")
	}
	if asks, _ := s.PollAsks(ctx, a.ID, room); asks != "asks1" {
		t.Errorf("the poll's asks changed for another edit: %q", asks)
	}

	must(s.SetShown(ctx, a.ID, room, "shown1"))
	must(s.ForgetLost(ctx, a.ID, room, "r12", "$edit"))
	if shown, _ := s.Shown(ctx, a.ID, room); shown != "" {
		t.Errorf("after a lost edit the room still counts as showing %q: the next send would not edit", shown)
	}
	must(s.ForgetLost(ctx, a.ID, room, "pollend-$poll", "$end"))
	if ended, _ := s.PollEnded(ctx, a.ID, room); ended {
		t.Error("a lost poll end still counts as sent")
	}
	if _, has, _ := s.Poll(ctx, a.ID, room); !has {
		t.Error("a lost poll end took the poll with it")
	}
	must(s.ForgetLost(ctx, a.ID, room, "pedit-asks1", "$pedit"))
	if asks, _ := s.PollAsks(ctx, a.ID, room); asks == "asks1" || asks == "" {
		t.Errorf("a lost poll edit leaves asks %q: it would not be sent again", asks)
	}
	must(s.ForgetLost(ctx, a.ID, room, "img-k", "$img"))
	if imgs, _ := s.ImageEvents(ctx, a.ID, room); len(imgs) != 0 {
		t.Errorf("a lost picture is still recorded: %v", imgs)
	}
	must(s.ForgetLost(ctx, a.ID, room, "poll", "$poll"))
	if _, has, _ := s.Poll(ctx, a.ID, room); has {
		t.Error("a lost poll is still recorded")
	}
	must(s.ForgetLost(ctx, a.ID, room, "create", "$msg"))
	if _, posted, _ := s.EventID(ctx, a.ID, room); posted {
		t.Error("a lost message is still recorded")
	}
}

// A refresh that changes nothing the room shows sends no edit (each edit
// marks the message edited again); one that changes it does.
func TestRefreshEditsOnlyWhatChanged(t *testing.T) {
	ctx := context.Background()
	hs := &fakeHomeserver{byTxn: map[string]string{}, bodies: map[string]string{}}
	const room = "!room:example.org"
	r := newBridgeRig(t, hs, room)
	svc, b, bridge := r.svc, r.board, r.bridge
	a, _, err := svc.Create(ctx, board.System, b, board.Draft{Title: "Repair café"}, "")
	if err != nil {
		t.Fatal(err)
	}
	handle := func(verb board.Verb, outbox int64) {
		t.Helper()
		p, _ := json.Marshal(sendPayload{Board: "news", AnnouncementID: a.ID, Verb: verb, Room: room, Outbox: outbox})
		if err := bridge.Handle(ctx, delivery.Job{ID: fmt.Sprint("mx:", outbox), Kind: KindSend, Target: room, Payload: p}); err != nil {
			t.Fatalf("%s: %v", verb, err)
		}
	}
	sends := func() int {
		hs.mu.Lock()
		defer hs.mu.Unlock()
		return len(hs.byTxn)
	}
	handle(board.VerbCreate, 1)
	handle(board.VerbRefresh, 2)
	if n := sends(); n != 1 {
		t.Errorf("a refresh that changes nothing: %d sends, want the message's only", n)
	}
	if _, err := svc.Update(ctx, board.System, b, a.ID, func(d *board.Draft) error { d.Title = "Repair café, Saturday"; return nil }); err != nil {
		t.Fatal(err)
	}
	handle(board.VerbRefresh, 3)
	if n := sends(); n != 2 || !hs.shows("Repair café, Saturday") {
		t.Errorf("a refresh that changes the text: %d sends, the room shows it: %v", n, hs.shows("Repair café, Saturday"))
	}
	handle(board.VerbRefresh, 4)
	if n := sends(); n != 2 {
		t.Errorf("the same refresh again: %d sends, want 2", n)
	}
}

// A message waiting for a room the operator has since taken out of the
// set-up is given up at its next try, with the reason, not retried for
// two days; the homeserver is not asked.
func TestRoomTakenOutOfTheSetUpIsNotRetried(t *testing.T) {
	ctx := context.Background()
	hs := &fakeHomeserver{byTxn: map[string]string{}, bodies: map[string]string{}}
	r := newBridgeRig(t, hs, "!kept:example.org")
	svc, b, bridge, mstore := r.svc, r.board, r.bridge, r.store
	a, _, err := svc.Create(ctx, board.System, b, board.Draft{Title: "Repair café"}, "")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := json.Marshal(sendPayload{Board: "news", AnnouncementID: a.ID, Verb: board.VerbCreate, Room: "#gone:example.org", Outbox: 1})
	err = bridge.Handle(ctx, delivery.Job{ID: "mx:1:#gone:example.org", Kind: KindSend, Target: "#gone:example.org", Payload: p})
	var perm *delivery.PermanentError
	if !errors.As(err, &perm) || !strings.Contains(err.Error(), "no longer one of the board's rooms") {
		t.Errorf("a job for a room taken out: %v; want a permanent error that says so", err)
	}
	if len(hs.byTxn) != 0 {
		t.Errorf("the homeserver was asked: %v", hs.byTxn)
	}
	if st, _ := mstore.RoomStatus(ctx, b.ID); st["#gone:example.org"] != "" {
		t.Errorf("a status came back for the room taken out: %q", st["#gone:example.org"])
	}
}

// slowPolls is a homeserver that takes a while over each poll, and, as
// Dendrite does, answers a transaction id it is still processing with a
// new event.
type slowPolls struct {
	fakeHomeserver
	polls atomic.Int32
}

func (f *slowPolls) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.URL.Path, "/send/org.matrix.msc3381.poll.start/") {
		time.Sleep(50 * time.Millisecond)
		n := f.polls.Add(1)
		json.NewEncoder(w).Encode(map[string]string{"event_id": fmt.Sprintf("$poll%d", n)})
		return
	}
	f.fakeHomeserver.ServeHTTP(w, r)
}

// Two jobs of one call handled at once (its message, and a refresh after
// a sign-up) post one poll between them, not two.
func TestOnePollWhenTwoJobsMeet(t *testing.T) {
	ctx := context.Background()
	hs := &slowPolls{fakeHomeserver: fakeHomeserver{byTxn: map[string]string{}, bodies: map[string]string{}}}
	const room = "!room:example.org"
	r := newBridgeRig(t, hs, room)
	svc, b, bridge, acct := r.svc, r.board, r.bridge, r.acct
	a, _, err := svc.Create(ctx, board.System, b, board.Draft{Title: "Cooks wanted", Kind: board.KindCall,
		Call: &board.Call{Roles: []board.Role{{Name: "cook", Places: 2}}, Contact: "Ask Ana"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	sess, err := bridge.sessionFor(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			p := sendPayload{Board: "news", AnnouncementID: a.ID, Verb: board.VerbRefresh, Room: room, Outbox: int64(i + 1)}
			if err := bridge.ensurePoll(ctx, sess, b, a, p, room, ""); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := hs.polls.Load(); n != 1 {
		t.Errorf("%d polls posted, want 1", n)
	}
}

// bridgeRig is a board, its Matrix account on a test homeserver with the
// given rooms, and a bridge; the service takes sign-ups.
type bridgeRig struct {
	svc    *board.Service
	board  board.Board
	store  *Store
	acct   Account
	bridge *Bridge
}

func newBridgeRig(t *testing.T, hs http.Handler, rooms ...string) bridgeRig {
	t.Helper()
	ctx := context.Background()
	db, bstore := openStore(t)
	svc := board.NewService(board.Options{Store: bstore, Markup: markdown.New(), Notices: locale.Notices{}})
	b, _, err := svc.EnsureBoard(ctx, "news", "News")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hs)
	t.Cleanup(srv.Close)
	mstore := NewStore(db)
	acct := Account{BoardID: b.ID, Homeserver: srv.URL, UserID: "@crieur:example.org", AccessToken: "t", Rooms: rooms, MsgType: "m.notice"}
	if err := mstore.SaveAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	return bridgeRig{svc: svc, board: b, store: mstore, acct: acct,
		bridge: NewBridge(mstore, bstore, svc, testLinks{}, nil, srv.Client(), slog.New(slog.DiscardHandler))}
}
