package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"crieur/board"
	"crieur/board/locale"
	"crieur/board/markdown"
)

// openFixture copies a database made by an earlier release and opens it
// with this one.
func openFixture(t *testing.T, name string) (*Store, *sql.DB) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "crieur.db")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store, err := New(context.Background(), db)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	return store, db
}

func newTestStore(t *testing.T) (*Store, *sql.DB) {
	t.Helper()
	return newStoreIn(t, t.TempDir())
}

// newStoreIn is a new store in dir (crieur.db), closed when t ends.
func newStoreIn(t *testing.T, dir string) (*Store, *sql.DB) {
	t.Helper()
	db, err := OpenDB(filepath.Join(dir, "crieur.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store, err := New(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return store, db
}

func service(store *Store) *board.Service {
	return board.NewService(board.Options{Store: store, Markup: markdown.New(), Notices: locale.Notices{}})
}

func tables(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

func version(t *testing.T, db *sql.DB) int {
	t.Helper()
	v, err := Version(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// schema-13.db was made by the release before drafts, schedules, pictures
// and roles (commit 7d835b5): four live announcements of each kind and a
// deleted one on board news, a board climate in Europe/Paris, one admin
// token. Its board keys were scrubbed.
func TestSchema13Upgrades(t *testing.T) {
	ctx := context.Background()
	store, db := openFixture(t, "schema-13.db")
	if v := version(t, db); v != Known() {
		t.Fatalf("schema version %d, want %d", v, Known())
	}
	b, err := store.BoardByName(ctx, "news")
	if err != nil {
		t.Fatal(err)
	}
	list, err := store.Announcements(ctx, b.ID, 0, 10)
	if err != nil || len(list) != 4 {
		t.Fatalf("listed %d announcements (%v), want the 4 live ones", len(list), err)
	}
	kinds := map[board.Kind]board.Announcement{}
	for _, a := range list {
		if a.Status != board.StatusPublished || a.Version != 1 {
			t.Errorf("%q: status %q version %d, want published version 1", a.Title, a.Status, a.Version)
		}
		kinds[a.Kind] = a
	}
	if e := kinds[board.KindEvent].Event; e == nil || e.Place != "Room 101" || e.Start.Format("15:04 -07:00") != "14:00 +01:00" {
		t.Errorf("the event's details: %+v", e)
	}
	if c := kinds[board.KindCall].Call; c == nil || len(c.Roles) != 1 || c.Roles[0].Places != 2 {
		t.Errorf("the call's details: %+v", c)
	}
	if o := kinds[board.KindOutage].Outage; o == nil || o.Service != "mail" {
		t.Errorf("the outage's details: %+v", o)
	}
	if tagged, _ := store.AnnouncementsTagged(ctx, b.ID, "asso", 0, 10); len(tagged) != 1 {
		t.Errorf("tagged asso: %d", len(tagged))
	}
	if gone, err := store.Announcement(ctx, b.ID, 5); err != nil || gone.DeletedAt == nil {
		t.Errorf("the deleted one: %v %v", err, gone.DeletedAt)
	}
	if c, err := store.BoardByName(ctx, "climate"); err != nil || c.TimeZone != "Europe/Paris" || c.Approval {
		t.Errorf("board climate: %+v %v", c, err)
	}
	toks, err := store.Tokens(ctx)
	if err != nil || len(toks) != 1 || toks[0].Role != board.RolePublisher {
		t.Errorf("tokens: %+v %v, want the admin token as a publisher", toks, err)
	}
	// And it works as today's: an edit is version 2 with an Update to send.
	svc := service(store)
	a, err := svc.Update(ctx, board.System, b, kinds[board.KindNews].ID, func(d *board.Draft) error { d.Title = "Plain news, edited"; return nil })
	if err != nil || a.Version != 2 {
		t.Fatalf("edit an old announcement: %v version %d", err, a.Version)
	}
	d, _, err := svc.Create(ctx, board.System, b, board.Draft{Title: "A draft", KeepDraft: true}, "")
	if err != nil || d.Status != board.StatusDraft {
		t.Fatalf("a draft in an upgraded database: %v %q", err, d.Status)
	}
}

// schema-23.db was made by the release of 2026-11-26 (commit d69d641), the
// last whose destinations made their own tables: a board climate in French
// and Europe/Paris with one announcement of each kind and a draft, a
// sign-up, a pinned event and campaign, a Mattermost hook, a server-wide
// block, an admin and an editor token, and its queue's jobs. Its board keys
// were scrubbed.
func TestSchema23Upgrades(t *testing.T) {
	ctx := context.Background()
	store, db := openFixture(t, "schema-23.db")
	if v := version(t, db); v != Known() {
		t.Fatalf("schema version %d, want %d", v, Known())
	}
	b, err := store.BoardByName(ctx, "climate")
	if err != nil || b.Language != "fr" || b.TimeZone != "Europe/Paris" {
		t.Fatalf("board climate: %+v %v", b, err)
	}
	all, err := store.SearchAnnouncements(ctx, b.ID, "", 0, 20)
	if err != nil || len(all) != 7 {
		t.Fatalf("%d announcements (%v), want 7", len(all), err)
	}
	pinned, _ := store.Pinned(ctx, b.ID)
	if len(pinned) != 2 {
		t.Errorf("%d pinned, want the event and the campaign", len(pinned))
	}
	call, err := store.Announcement(ctx, b.ID, 3)
	if err != nil || call.Call == nil || call.Call.Taken["cuisine"] != 1 || !call.Call.Waitlist {
		t.Errorf("the call and its sign-up: %+v %v", call.Call, err)
	}
	tr, err := store.Announcement(ctx, b.ID, 6)
	if err != nil || tr.Training == nil || tr.Training.Seats != 3 || !tr.Training.Reminder || tr.Event.Start.Format("15:04 -07:00") != "14:00 +01:00" {
		t.Errorf("the training: %+v %v", tr.Training, err)
	}
	toks, err := store.Tokens(ctx)
	if err != nil || len(toks) != 2 || toks[1].Role != board.RoleEditor {
		t.Errorf("tokens: %+v %v", toks, err)
	}
	if blocks, _ := store.Blocks(ctx, nil); len(blocks) != 1 || blocks[0].Domain != "spam.example" {
		t.Errorf("blocks: %+v", blocks)
	}
	var hooks, jobs, ownsToken int
	db.QueryRow(`SELECT COUNT(*) FROM mattermost_hooks`).Scan(&hooks)
	db.QueryRow(`SELECT COUNT(*) FROM queue_jobs`).Scan(&jobs)
	db.QueryRow(`SELECT COUNT(*) FROM pragma_table_info('matrix_accounts') WHERE name = 'owns_token'`).Scan(&ownsToken)
	if hooks != 1 || jobs != 9 || ownsToken != 1 {
		t.Errorf("destinations kept: %d hooks, %d queue jobs, owns_token %d; want 1, 9, 1", hooks, jobs, ownsToken)
	}
	if !slices.Contains(tables(t, db), "health") {
		t.Error("the health probe's table was not made")
	}
	svc := service(store)
	a, err := svc.Update(ctx, board.System, b, 1, func(d *board.Draft) error { d.Title = "Nouvelles, modifiées"; return nil })
	if err != nil || a.Version != 2 || a.Language != "fr" {
		t.Fatalf("edit an old announcement: %v %+v", err, a)
	}
}

// A store made before the versioned migrations (schema only, user_version
// 0) upgrades in place and keeps its data; opening it again changes nothing.
func TestMigratesAnOldStore(t *testing.T) {
	ctx := context.Background()
	db, err := OpenDB(filepath.Join(t.TempDir(), "old.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range baseSchema {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	for _, stmt := range []string{
		`INSERT INTO boards (id, name, display_name, private_key_pem, public_key_pem, created_at) VALUES (1, 'news', 'News', 'k', 'p', 0)`,
		`INSERT INTO announcements (id, board_id, kind, title, body, body_html, tags, content_warning, language, details, version, created_at, updated_at)
			VALUES (1, 1, 'news', 'Old post', '', '', '[]', '', '', '{}', 1, 0, 0)`,
		`INSERT INTO interactions (board_id, announcement_id, kind, actor, activity_id, content, created_at) VALUES (1, 1, 'reply', 'https://a.example/u', 'https://a.example/c/1', 'hi', 0)`,
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		store, err := New(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		a, err := store.Announcement(ctx, 1, 1)
		if err != nil || a.Title != "Old post" || a.Pinned {
			t.Fatalf("old announcement after migration: %+v %v", a, err)
		}
		in, err := store.Interactions(ctx, 1)
		if err != nil || len(in) != 1 || in[0].Content != "hi" {
			t.Fatalf("old interaction after migration: %+v %v", in, err)
		}
		if v := version(t, db); v != Known() {
			t.Fatalf("schema version %d, want %d", v, Known())
		}
	}
}

// Every table, the destinations' and the queue's included, is made by the
// registry: a new store has them all, and the same as a store migrated
// from release 23.
func TestEveryTableFromTheRegistry(t *testing.T) {
	_, fresh := newTestStore(t)
	_, old := openFixture(t, "schema-23.db")
	got := tables(t, fresh)
	for _, want := range []string{"announcements", "signups", "queue_jobs", "matrix_accounts", "matrix_polls", "mattermost_hooks", "email_setups", "discourse_setups", "discourse_topics", "discourse_effects", "health"} {
		if !slices.Contains(got, want) {
			t.Errorf("a new store lacks table %s (has %v)", want, got)
		}
	}
	if upgraded := tables(t, old); !slices.Equal(got, upgraded) {
		t.Errorf("a new store's tables %v differ from an upgraded one's %v", got, upgraded)
	}
}

// A store written by a later release is refused, untouched, with the way
// back.
func TestRefusesANewerSchema(t *testing.T) {
	ctx := context.Background()
	_, db := newTestStore(t)
	if _, err := db.Exec(`PRAGMA user_version = 999`); err != nil {
		t.Fatal(err)
	}
	_, err := New(ctx, db)
	var newer *NewerSchemaError
	if !errors.As(err, &newer) || newer.Found != 999 || newer.Known != Known() || !strings.Contains(err.Error(), "newer Crieur") {
		t.Fatalf("opening a newer schema: %v", err)
	}
	if v := version(t, db); v != 999 {
		t.Errorf("the newer schema was changed to %d", v)
	}
}

// A step that fails leaves the store at the version before it: its
// transaction is rolled back, version update included.
func TestAFailingStepChangesNothing(t *testing.T) {
	ctx := context.Background()
	_, db := newTestStore(t)
	bad := step{version: Known() + 1, what: "a step that fails half-way", up: exec(
		`CREATE TABLE half_done (id INTEGER)`,
		`ALTER TABLE no_such_table ADD COLUMN x TEXT`)}
	if err := apply(ctx, db, bad); err == nil || !strings.Contains(err.Error(), "a step that fails half-way") {
		t.Fatalf("a failing step: %v", err)
	}
	if v := version(t, db); v != Known() || slices.Contains(tables(t, db), "half_done") {
		t.Errorf("after a failing step: version %d, tables %v", v, tables(t, db))
	}
}

func TestTokensAreStoredHashed(t *testing.T) {
	ctx := context.Background()
	store, db := newTestStore(t)
	b, err := store.CreateBoard(ctx, board.Board{Name: "news", DisplayName: "News"})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := store.CreateToken(ctx, &b.ID, "editor")
	if err != nil {
		t.Fatal(err)
	}
	var stored string
	db.QueryRow(`SELECT hash FROM tokens`).Scan(&stored)
	if stored == plain || strings.Contains(stored, plain[7:]) {
		t.Fatal("token stored in clear")
	}
	tok, err := store.Authenticate(ctx, plain)
	if err != nil || tok.BoardID == nil || *tok.BoardID != b.ID {
		t.Fatalf("authenticate: %+v %v", tok, err)
	}
	if _, err := store.Authenticate(ctx, plain+"x"); !errors.Is(err, board.ErrNotFound) {
		t.Fatalf("wrong token: %v", err)
	}
}
