package discourse_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"crieur/board"
	"crieur/board/boardtest"
	"crieur/board/store"
	"crieur/board/store/storetest"
	"crieur/federation/delivery"
	"crieur/federation/discourse"
)

// forumCounts is a forum that counts what it is asked to do.
type forumCounts struct {
	mu                               sync.Mutex
	topics, replies, edits, statuses int
	failStatus                       int // the next n status changes get a 500
}

func (f *forumCounts) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("Api-Key") != "k" || r.Header.Get("Api-Username") != "crieur" {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/t/external_id/"):
		http.NotFound(w, r)
	case r.Method == http.MethodGet && r.URL.Path == "/categories.json":
		fmt.Fprint(w, `{"category_list": {"categories": [{"id": 5, "name": "Annonces", "slug": "annonces"}]}}`)
	case r.Method == http.MethodPost && r.URL.Path == "/posts.json" && body["topic_id"] != nil:
		f.replies++
		fmt.Fprintf(w, `{"id": %d, "topic_id": 1}`, 100+f.replies)
	case r.Method == http.MethodPost && r.URL.Path == "/posts.json":
		f.topics++
		fmt.Fprintf(w, `{"id": %d, "topic_id": %d}`, f.topics*10, f.topics)
	case r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/status.json"):
		if f.failStatus > 0 {
			f.failStatus--
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		f.statuses++
		fmt.Fprint(w, `{"success": "OK"}`)
	case r.Method == http.MethodPut:
		f.edits++
		fmt.Fprint(w, `{}`)
	default:
		http.NotFound(w, r)
	}
}

// A job handled twice (a worker stopped between the forum's answer and
// the acknowledgement; a duplicate in the queue) makes one topic, one
// reply, one status change: the ledger keys each effect by its origin. A
// failed status change is done when tried again.
func TestEachEffectOnce(t *testing.T) {
	ctx := context.Background()
	db, st, svc, b := newStore(t)
	a, _, err := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindNews, Title: "A new server for everyone", Body: "It is here."}, "")
	if err != nil {
		t.Fatal(err)
	}
	counts := &forumCounts{failStatus: 1}
	srv := httptest.NewServer(http.HandlerFunc(counts.serve))
	t.Cleanup(srv.Close)
	d := discourse.New(db, st, boardtest.Links{}, srv.Client())
	if err := d.Save(ctx, b.ID, discourse.Setup{URL: srv.URL, APIKey: "k", Username: "crieur", Category: "annonces", Replies: true}); err != nil {
		t.Fatal(err)
	}
	handle := func(e board.OutboxEntry, times int) error {
		t.Helper()
		jobs, err := d.Expand(ctx, e)
		if err != nil || len(jobs) != 1 || jobs[0].Target != "discourse:"+strings.TrimPrefix(srv.URL, "http://") {
			t.Fatalf("expand %s: %v %+v", e.Verb, err, jobs)
		}
		var last error
		for range times {
			last = d.Handle(ctx, jobs[0])
		}
		return last
	}
	entry := board.OutboxEntry{ID: 1, BoardID: b.ID, AnnouncementID: a.ID, Verb: board.VerbCreate, Version: 1}
	if err := handle(entry, 3); err != nil {
		t.Fatal(err)
	}
	entry = board.OutboxEntry{ID: 2, BoardID: b.ID, AnnouncementID: a.ID, Verb: board.VerbUpdate, Version: 2, FollowUp: true}
	if err := handle(entry, 2); err != nil {
		t.Fatal(err)
	}
	// Pins mean nothing on a forum.
	if jobs, _ := d.Expand(ctx, board.OutboxEntry{ID: 3, BoardID: b.ID, AnnouncementID: a.ID, Verb: board.VerbPin}); len(jobs) != 0 {
		t.Errorf("a pin made %d jobs", len(jobs))
	}
	entry = board.OutboxEntry{ID: 4, BoardID: b.ID, AnnouncementID: a.ID, Verb: board.VerbDelete, Version: 3}
	if err := handle(entry, 1); err == nil {
		t.Error("a 500 on the status change was taken as done")
	} else if perm := (*delivery.PermanentError)(nil); errors.As(err, &perm) {
		t.Errorf("a 500 is given up: %v", err)
	}
	if err := handle(entry, 2); err != nil {
		t.Fatal(err)
	}
	counts.mu.Lock()
	defer counts.mu.Unlock()
	// One topic; its title and first post edited once by the update; one
	// reply; one status change.
	if counts.topics != 1 || counts.replies != 1 || counts.edits != 2 || counts.statuses != 1 {
		t.Errorf("topics %d, replies %d, edits %d, status changes %d; want 1, 1, 2, 1", counts.topics, counts.replies, counts.edits, counts.statuses)
	}
}

// A category the forum does not have is given up at once, with what to
// write instead; nothing is posted.
func TestUnknownCategoryIsPermanent(t *testing.T) {
	ctx := context.Background()
	db, st, svc, b := newStore(t)
	a, _, err := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindNews, Title: "A new server for everyone", Body: "It is here."}, "")
	if err != nil {
		t.Fatal(err)
	}
	counts := &forumCounts{}
	srv := httptest.NewServer(http.HandlerFunc(counts.serve))
	t.Cleanup(srv.Close)
	d := discourse.New(db, st, boardtest.Links{}, srv.Client())
	if err := d.Save(ctx, b.ID, discourse.Setup{URL: srv.URL, APIKey: "k", Username: "crieur", Category: "annoncse"}); err != nil {
		t.Fatal(err)
	}
	jobs, _ := d.Expand(ctx, board.OutboxEntry{ID: 1, BoardID: b.ID, AnnouncementID: a.ID, Verb: board.VerbCreate, Version: 1})
	err = d.Handle(ctx, jobs[0])
	var perm *delivery.PermanentError
	if !errors.As(err, &perm) || !strings.Contains(err.Error(), `no category "annoncse"`) || !strings.Contains(err.Error(), "/c/SLUG/ID") {
		t.Errorf("an unknown category: %v", err)
	}
	if counts.topics != 0 {
		t.Errorf("%d topics posted", counts.topics)
	}
}

// newStore is a store with its migrations (Discourse's tables among them)
// and a board, news.
func newStore(t *testing.T) (*sql.DB, *store.Store, *board.Service, board.Board) {
	t.Helper()
	ctx := context.Background()
	st, db := storetest.Open(t)
	svc := board.NewService(boardtest.Options(st))
	b, _, err := svc.EnsureBoard(ctx, "news", "News")
	if err != nil {
		t.Fatal(err)
	}
	return db, st, svc, b
}
