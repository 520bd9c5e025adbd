package board

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// openFixture copies a database made by an earlier release and opens it
// with this one.
func openFixture(t *testing.T, name string) *Store {
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
	store, err := NewStore(context.Background(), db)
	if err != nil {
		t.Fatalf("open a schema-13 database: %v", err)
	}
	return store
}

// schema-13.db was made by the release before drafts, schedules, pictures
// and roles (commit 7d835b5): four live announcements of each kind and a
// deleted one on board news, a board climate in Europe/Paris, one admin
// token. Its board keys were scrubbed.
func TestOldDatabaseUpgrades(t *testing.T) {
	ctx := context.Background()
	store := openFixture(t, "schema-13.db")
	var version int
	if err := store.db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil || version != len(migrations) {
		t.Fatalf("schema version %d (%v), want %d", version, err, len(migrations))
	}
	b, err := store.BoardByName(ctx, "news")
	if err != nil {
		t.Fatal(err)
	}
	list, err := store.Announcements(ctx, b.ID, 0, 10)
	if err != nil || len(list) != 4 {
		t.Fatalf("listed %d announcements (%v), want the 4 live ones", len(list), err)
	}
	kinds := map[Kind]Announcement{}
	for _, a := range list {
		if a.Status != StatusPublished || a.Version != 1 {
			t.Errorf("%q: status %q version %d, want published version 1", a.Title, a.Status, a.Version)
		}
		kinds[a.Kind] = a
	}
	if e := kinds[KindEvent].Event; e == nil || e.Place != "Room 101" || e.Start.Format("15:04 -07:00") != "14:00 +01:00" {
		t.Errorf("the event's details: %+v", e)
	}
	if c := kinds[KindCall].Call; c == nil || len(c.Roles) != 1 || c.Roles[0].Places != 2 {
		t.Errorf("the call's details: %+v", c)
	}
	if o := kinds[KindOutage].Outage; o == nil || o.Service != "mail" {
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
	if err != nil || len(toks) != 1 || toks[0].Role != RolePublisher {
		t.Errorf("tokens: %+v %v, want the admin token as a publisher", toks, err)
	}
	// And it works as today's: an edit is version 2 with an Update to send.
	svc := NewService(store, nil)
	a, err := svc.Update(ctx, b, kinds[KindNews].ID, func(d *Draft) error { d.Title = "Plain news, edited"; return nil })
	if err != nil || a.Version != 2 {
		t.Fatalf("edit an old announcement: %v version %d", err, a.Version)
	}
	d, _, err := svc.Create(ctx, b, Draft{Title: "A draft", KeepDraft: true}, "")
	if err != nil || d.Status != StatusDraft {
		t.Fatalf("a draft in an upgraded database: %v %q", err, d.Status)
	}
}
