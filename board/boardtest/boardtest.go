// Package boardtest builds what unit tests of the board service, its API and
// its pages need: a service on a real store in a temporary folder, with the
// real Markdown renderer and words, and a clock a test moves by hand.
//
// Tests only: no production code imports it.
package boardtest

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"sync"
	"testing"
	"time"

	"crieur/board"
	"crieur/board/locale"
	"crieur/board/markdown"
	"crieur/board/media"
	"crieur/board/store"
	"crieur/board/store/storetest"
)

// Clock is a test's time: the real time until a test sets or moves it,
// then moved by hand only.
type Clock struct {
	mu    sync.Mutex
	fixed bool
	t     time.Time
}

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.fixed {
		return time.Now()
	}
	return c.t
}

// Advance moves the clock by d (and stops it following the real time).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.fixed {
		c.t, c.fixed = time.Now(), true
	}
	c.t = c.t.Add(d)
}

// Set moves the clock to t (and stops it following the real time).
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t, c.fixed = t, true
}

// Links is where a test board's pages live.
type Links struct{}

// BoardURL is a board's address.
func (Links) BoardURL(b string) string { return "https://board.example/boards/" + b }

// AnnouncementURL is an announcement's address.
func (Links) AnnouncementURL(b string, id int64) string {
	return "https://board.example/boards/" + b + "/a/1"
}

// Handle is a board's fediverse handle.
func (Links) Handle(b string) string { return "@" + b + "@board.example" }

// Rig is a service on a fresh store, with one board, "news".
type Rig struct {
	Clock   *Clock
	Service *board.Service
	Store   *store.Store
	Board   board.Board
	Options board.Options
}

// New makes a rig; options, if any, change the service's options (a
// clock, pictures) before it is made.
func New(t testing.TB, options ...func(*board.Options)) *Rig {
	t.Helper()
	ctx := context.Background()
	store, _ := storetest.Open(t)
	r := &Rig{Store: store, Options: Options(store), Clock: &Clock{}}
	r.Options.Now = r.Clock.Now
	for _, o := range options {
		o(&r.Options)
	}
	r.Service = board.NewService(r.Options)
	b, created, err := r.Service.EnsureBoard(ctx, "news", "News")
	if err != nil || !created {
		t.Fatalf("ensure board: %v %v", created, err)
	}
	r.Board = b
	return r
}

// Restart is the same store under a new service, as after a restart.
func (r *Rig) Restart() *board.Service { return board.NewService(r.Options) }

// Options are a service's options on store with the real renderer and
// words.
func Options(store *store.Store) board.Options {
	return board.Options{Store: store, Markup: markdown.New(), Notices: locale.Notices{}, Links: Links{}}
}

// WithPictures keeps uploads in dir.
func WithPictures(dir string) func(*board.Options) {
	return func(o *board.Options) { o.Pictures = media.Dir(dir) }
}

// Photo is a small JPEG to upload.
func Photo(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := range 64 {
		img.Set(x, 10, color.RGBA{0, 100, 200, 255})
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// CampaignDraft is a donation campaign: 1,240 raised of a 3,000 goal.
func CampaignDraft(deadline *time.Time) board.Draft {
	return board.Draft{Kind: board.KindCampaign, Title: "Keep our servers running", Body: "Give what you can.",
		Campaign: &board.Campaign{Goal: 3000, Raised: 1240, Deadline: deadline, Link: "https://liberapay.com/asso", TaxNote: "66 % deductible in France"}}
}

// Pending is the outbox entries not handed to the queue yet.
func (r *Rig) Pending(t testing.TB) []board.OutboxEntry {
	t.Helper()
	list, err := r.Store.PendingOutbox(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// Listed is the ids of the board's listed announcements, newest first.
func (r *Rig) Listed(t testing.TB, b board.Board) []int64 {
	t.Helper()
	list, err := r.Store.Announcements(context.Background(), b.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, a := range list {
		ids = append(ids, a.ID)
	}
	return ids
}
