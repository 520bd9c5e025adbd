package store

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"crieur/board"
)

// upgradeAt is the clock of the copies in these tests.
var upgradeAt = time.Date(2026, 12, 5, 3, 19, 0, 0, time.UTC)

// fixtureFile copies a store an earlier release wrote into a data folder
// of its own, and opens it without migrating it.
func fixtureFile(t *testing.T, name string) (dir string, db *sql.DB) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "crieur.db"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if db, err = OpenDB(filepath.Join(dir, "crieur.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return dir, db
}

// openCopy opens a copy an upgrade took, read-only, and says its schema and
// how many announcements it holds.
func openCopy(t *testing.T, path string) (schema, announcements int) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatalf("the copy: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("the copy is %o; it holds private keys: want 600", st.Mode().Perm())
	}
	db, err := OpenReadDB(path, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if schema, err = Version(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT COUNT(*) FROM announcements`).Scan(&announcements); err != nil {
		t.Fatalf("the copy's announcements: %v", err)
	}
	return schema, announcements
}

// store-66863a9.db was written by the release at commit 66863a9, before
// the schema was counted (schema 0 with tables): board news with news, an
// event, an outage and a call (testdata/README). Upgrading it copies it
// first, whole and at its schema, into backups/, and says so in one line.
func TestUpgradeFrom66863a9(t *testing.T) {
	ctx := context.Background()
	dir, db := fixtureFile(t, "store-66863a9.db")
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	o := CopyOptions{Dir: filepath.Join(dir, "backups"), Keep: 3, Now: func() time.Time { return upgradeAt }}
	up, err := Upgrade(ctx, db, o, log)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "backups", "crieur-schema0-20261205T031900Z.db")
	if up.From != 0 || up.To != Known() || up.Copy != want || len(up.Changes) != Known() {
		t.Fatalf("upgraded %+v, want 0 → %d with a copy in %s", up, Known(), want)
	}
	if schema, n := openCopy(t, up.Copy); schema != 0 || n != 4 {
		t.Errorf("the copy is at schema %d with %d announcements, want 0 and 4", schema, n)
	}
	line := strings.TrimSpace(logged.String())
	for _, part := range []string{
		fmt.Sprintf(`msg="store upgraded: schema 0 → %d"`, Known()),
		`1 the first tables; pinned announcements; 2 a reply's object id;`,
		fmt.Sprintf("%d %s", Known(), steps[Known()-1].what),
		"copy=" + want,
	} {
		if !strings.Contains(line, part) {
			t.Errorf("the log says %q; want %q in it", line, part)
		}
	}
	if strings.Count(line, "\n") != 0 {
		t.Errorf("the upgrade logged several lines:\n%s", line)
	}
	s, err := New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.BoardByName(ctx, "news")
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.Announcements(ctx, b.ID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []board.Kind
	for _, a := range list {
		kinds = append(kinds, a.Kind)
	}
	slices.Sort(kinds)
	if !slices.Equal(kinds, []board.Kind{board.KindCall, board.KindEvent, board.KindNews, board.KindOutage}) {
		t.Errorf("after the upgrade the board has %v, want a call, an event, news and an outage", kinds)
	}
	// Started again, nothing to do: no second copy, nothing logged.
	logged.Reset()
	if up, err := Upgrade(ctx, db, o, log); err != nil || up.Copy != "" || logged.Len() != 0 {
		t.Errorf("a second start: %+v %v, logged %q", up, err, logged.String())
	}
	if entries, _ := os.ReadDir(o.Dir); len(entries) != 1 {
		t.Errorf("%d files in backups/, want the one copy", len(entries))
	}
}

// A store today's release wrote is copied at today's schema before the next
// release's step (one added here, as the next release will).
func TestUpgradeFromToday(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := OpenDB(filepath.Join(dir, "crieur.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	o := CopyOptions{Dir: filepath.Join(dir, "backups"), Keep: 3, Now: func() time.Time { return upgradeAt }}
	// A new store: made, not copied.
	if up, err := Upgrade(ctx, db, o, log); err != nil || up.Copy != "" || up.To != Known() {
		t.Fatalf("a new store: %+v %v", up, err)
	}
	if _, err := os.Stat(o.Dir); !os.IsNotExist(err) {
		t.Errorf("a new store made backups/ (%v)", err)
	}
	if !strings.Contains(logged.String(), fmt.Sprintf(`msg="store created" schema=%d`, Known())) {
		t.Errorf("a new store logged %q", logged.String())
	}
	s, err := New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	svc := service(s)
	b, err := s.CreateBoard(ctx, board.Board{Name: "news", DisplayName: "News"})
	if err != nil {
		t.Fatal(err)
	}
	for _, title := range []string{"One", "Two"} {
		if _, _, err := svc.Create(ctx, board.System, b, board.Draft{Title: title, Body: "Text."}, ""); err != nil {
			t.Fatal(err)
		}
	}
	// Already current: nothing copied, nothing logged.
	logged.Reset()
	if up, err := Upgrade(ctx, db, o, log); err != nil || up.Copy != "" || logged.Len() != 0 {
		t.Fatalf("a current store: %+v %v, logged %q", up, err, logged.String())
	}
	next := append(slices.Clone(steps), step{Known() + 1, "a step of the next release", exec(`ALTER TABLE boards ADD COLUMN next_release TEXT NOT NULL DEFAULT ''`)})
	up, err := upgrade(ctx, db, next, o, log)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "backups", fmt.Sprintf("crieur-schema%d-20261205T031900Z.db", Known()))
	if up.Copy != want || up.From != Known() || up.To != Known()+1 {
		t.Fatalf("upgraded %+v, want %d → %d with a copy in %s", up, Known(), Known()+1, want)
	}
	if schema, n := openCopy(t, up.Copy); schema != Known() || n != 2 {
		t.Errorf("the copy is at schema %d with %d announcements, want %d and 2", schema, n, Known())
	}
	wantLine := fmt.Sprintf(`msg="store upgraded: schema %d → %d" changes="%d a step of the next release" copy=%s`, Known(), Known()+1, Known()+1, want)
	if got := strings.TrimSpace(logged.String()); !strings.HasSuffix(got, wantLine) {
		t.Errorf("the log says %q, want it to end with %q", got, wantLine)
	}
	if list, err := s.Announcements(ctx, b.ID, 0, 10); err != nil || len(list) != 2 {
		t.Errorf("after the upgrade: %d announcements (%v), want 2", len(list), err)
	}
}

// Only the newest copies are kept; files of another name in backups/ (an
// operator's own) are left alone.
func TestKeepsTheNewestCopies(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	_, db := newStoreIn(t, dir)
	backups := filepath.Join(dir, "backups")
	os.MkdirAll(backups, 0o700)
	os.WriteFile(filepath.Join(backups, "mine.db"), []byte("x"), 0o600)
	var names []string
	for i := range 5 {
		at, schema := upgradeAt.Add(time.Duration(i)*time.Hour), 7+i
		if i == 4 { // the same schema in the same second as the one before
			at, schema = upgradeAt.Add(3*time.Hour), 10
		}
		o := CopyOptions{Dir: backups, Keep: 3, Now: func() time.Time { return at }}
		path, err := takeCopy(ctx, db, schema, o)
		if err != nil {
			t.Fatal(err)
		}
		if err := pruneCopies(backups, o.Keep); err != nil {
			t.Fatal(err)
		}
		names = append(names, filepath.Base(path))
	}
	entries, _ := os.ReadDir(backups)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	want := []string{names[2], names[3], names[4], "mine.db"}
	slices.Sort(want)
	if !slices.Equal(left, want) {
		t.Errorf("backups/ holds %v, want %v", left, want)
	}
	if names[4] != "crieur-schema10-20261205T061900Z-2.db" {
		t.Errorf("a second copy in the same second is %s", names[4])
	}
}
