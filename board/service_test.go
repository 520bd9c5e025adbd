package board

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newTestService(t *testing.T) (*Service, Board) {
	t.Helper()
	ctx := context.Background()
	db, err := OpenDB(filepath.Join(t.TempDir(), "crieur.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store, err := NewStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	svc := NewService(store, nil)
	b, created, err := svc.EnsureBoard(ctx, "news", "News")
	if err != nil || !created {
		t.Fatalf("ensure board: %v %v", created, err)
	}
	return svc, b
}

func TestValidationNamesEachField(t *testing.T) {
	start := time.Date(2026, 12, 5, 14, 0, 0, 0, time.UTC)
	before := start.Add(-time.Hour)
	cases := []struct {
		name   string
		draft  Draft
		fields []string
	}{
		{"empty", Draft{}, []string{"title"}},
		{"unknown kind", Draft{Kind: "party", Title: "x"}, []string{"kind"}},
		{"long title", Draft{Title: strings.Repeat("é", MaxTitle+1)}, []string{"title"}},
		{"bad tag", Draft{Title: "x", Tags: []string{"two words"}}, []string{"tags"}},
		{"bad language", Draft{Title: "x", Language: "French"}, []string{"language"}},
		{"control chars", Draft{Title: "x\x00y"}, []string{"title"}},
		{"event without details", Draft{Kind: KindEvent, Title: "x"}, []string{"event"}},
		{"event ends before start", Draft{Kind: KindEvent, Title: "x", Event: &Event{Start: start, End: &before, URL: "javascript:alert(1)"}}, []string{"event.end", "event.url"}},
		{"call without roles or contact", Draft{Kind: KindCall, Title: "x", Call: &Call{}}, []string{"call.roles", "call.contact"}},
		{"call with zero places", Draft{Kind: KindCall, Title: "x", Call: &Call{Roles: []Role{{Name: "cook"}}, Contact: "me"}}, []string{"call.roles[0].places"}},
		{"outage without service", Draft{Kind: KindOutage, Title: "x", Outage: &Outage{}}, []string{"outage.service", "outage.from"}},
		{"details of another kind", Draft{Kind: KindNews, Title: "x", Outage: &Outage{Service: "mail", From: start}}, []string{"outage"}},
	}
	for _, c := range cases {
		err := c.draft.Normalize()
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%s: error %v, want a ValidationError", c.name, err)
			continue
		}
		for _, f := range c.fields {
			if ve.Fields[f] == "" {
				t.Errorf("%s: no message for %s in %v", c.name, f, ve.Fields)
			}
		}
	}
	ok := Draft{Title: "  Hello ", Tags: []string{"#Food", "food", "Fête"}}
	if err := ok.Normalize(); err != nil {
		t.Fatal(err)
	}
	if ok.Title != "Hello" || ok.Kind != KindNews || strings.Join(ok.Tags, ",") != "Food,Fête" {
		t.Fatalf("normalized draft = %+v", ok)
	}
}

func TestMarkdownIsSanitised(t *testing.T) {
	r := NewRenderer()
	for in, bad := range map[string]string{
		"<script>alert(1)</script>":           "<script",
		"[x](javascript:alert(1))":            "javascript:",
		"<img src=x onerror=alert(1)>":        "onerror",
		`<a href="https://x" style="a">y</a>`: "style",
	} {
		out, err := r.HTML(in)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, bad) {
			t.Errorf("%q rendered as %q, which keeps %q", in, out, bad)
		}
	}
	out, _ := r.HTML("**bold** and https://example.org")
	if !strings.Contains(out, "<strong>bold</strong>") || !strings.Contains(out, `href="https://example.org"`) || !strings.Contains(out, `rel="nofollow`) {
		t.Errorf("markdown rendered as %q", out)
	}
}

func TestPublishWritesOutboxInTheSameTransaction(t *testing.T) {
	ctx := context.Background()
	svc, b := newTestService(t)
	a, _, err := svc.Create(ctx, b, Draft{Title: "Hello", Body: "*hi*"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Create(ctx, b, Draft{}, ""); err == nil {
		t.Fatal("an invalid draft was stored")
	}
	a2, err := svc.Update(ctx, b, a.ID, func(d *Draft) error { d.Title = "Hello again"; return nil })
	if err != nil || a2.Version != 2 || !a2.UpdatedAt.After(a2.CreatedAt) {
		t.Fatalf("update: %+v %v", a2, err)
	}
	if err := svc.Delete(ctx, b, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := svc.Delete(ctx, b, a.ID); !errors.Is(err, ErrGone) {
		t.Fatalf("second delete: %v, want ErrGone", err)
	}
	if _, err := svc.Update(ctx, b, a.ID, func(*Draft) error { return nil }); !errors.Is(err, ErrGone) {
		t.Fatalf("edit after delete: %v, want ErrGone", err)
	}
	entries, err := svc.Store().PendingOutbox(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var verbs []string
	for _, e := range entries {
		verbs = append(verbs, string(e.Verb)+":"+string(rune('0'+e.Version)))
	}
	if strings.Join(verbs, " ") != "create:1 update:2 delete:2" {
		t.Fatalf("outbox = %v", verbs)
	}
	got, err := svc.Store().Announcement(ctx, b.ID, a.ID)
	if err != nil || got.DeletedAt == nil || got.Title != "Hello again" {
		t.Fatalf("stored: %+v %v", got, err)
	}
}

func TestIdempotencyKey(t *testing.T) {
	ctx := context.Background()
	svc, b := newTestService(t)
	d := Draft{Title: "Assembly"}
	a1, replay1, err := svc.Create(ctx, b, d, "k1")
	if err != nil || replay1 {
		t.Fatal(err, replay1)
	}
	a2, replay2, err := svc.Create(ctx, b, d, "k1")
	if err != nil || !replay2 || a2.ID != a1.ID {
		t.Fatalf("replay: %+v %v %v", a2, replay2, err)
	}
	if _, _, err := svc.Create(ctx, b, Draft{Title: "Other"}, "k1"); !errors.Is(err, ErrIdempotencyConflict) {
		t.Fatalf("other request, same key: %v", err)
	}
	if n, _ := svc.Store().CountAnnouncements(ctx, b.ID); n != 1 {
		t.Fatalf("%d announcements, want 1", n)
	}
	if n, _ := svc.Store().CountPendingOutbox(ctx); n != 1 {
		t.Fatalf("%d outbox rows, want 1", n)
	}
}

func TestTokensAreStoredHashed(t *testing.T) {
	ctx := context.Background()
	svc, b := newTestService(t)
	plain, err := svc.Store().CreateToken(ctx, &b.ID, "editor")
	if err != nil {
		t.Fatal(err)
	}
	var stored string
	svc.Store().db.QueryRow(`SELECT hash FROM tokens`).Scan(&stored)
	if stored == plain || strings.Contains(stored, plain[7:]) {
		t.Fatal("token stored in clear")
	}
	tok, err := svc.Store().Authenticate(ctx, plain)
	if err != nil || tok.BoardID == nil || *tok.BoardID != b.ID {
		t.Fatalf("authenticate: %+v %v", tok, err)
	}
	if _, err := svc.Store().Authenticate(ctx, plain+"x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("wrong token: %v", err)
	}
}

func TestAnnouncementsByTag(t *testing.T) {
	ctx := context.Background()
	svc, b := newTestService(t)
	svc.Create(ctx, b, Draft{Title: "a", Tags: []string{"Food", "fair"}}, "")
	svc.Create(ctx, b, Draft{Title: "b", Tags: []string{"foodbank"}}, "")
	svc.Create(ctx, b, Draft{Title: "c"}, "")
	list, err := svc.Store().AnnouncementsTagged(ctx, b.ID, "food", 0, 10)
	if err != nil || len(list) != 1 || list[0].Title != "a" {
		t.Fatalf("tagged food: %+v %v", list, err)
	}
	if all, _ := svc.Store().Announcements(ctx, b.ID, 0, 10); len(all) != 3 {
		t.Fatalf("all: %d", len(all))
	}
}

// A late outcome (a worker that lost its lease, a repeat after a crash)
// never turns a delivered delivery back into a pending or dead one.
func TestDeliveredIsFinal(t *testing.T) {
	ctx := context.Background()
	svc, b := newTestService(t)
	a, _, err := svc.Create(ctx, b, Draft{Title: "Hello"}, "")
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := svc.Store().PendingOutbox(ctx, 1)
	st := svc.Store()
	const inbox = "https://a.example/inbox"
	for _, step := range []struct {
		state    string
		attempts int
	}{{DeliveryPending, 1}, {DeliveryDelivered, 2}, {DeliveryPending, 1}, {DeliveryDead, 3}} {
		if err := st.RecordDelivery(ctx, entries[0].ID, inbox, step.state, step.attempts, "late"); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := st.Deliveries(ctx, a.ID)
	if err != nil || len(ds) != 1 || ds[0].State != DeliveryDelivered || ds[0].Attempts != 2 {
		t.Fatalf("deliveries = %+v %v, want delivered after 2 attempts", ds, err)
	}
}

// A save that changes nothing bumps no version and sends nothing.
func TestUnchangedSaveChangesNothing(t *testing.T) {
	ctx := context.Background()
	svc, b := newTestService(t)
	store := svc.Store()
	start := time.Date(2026, 12, 5, 14, 0, 0, 0, time.FixedZone("", 3600))
	a, _, err := svc.Create(ctx, b, Draft{Kind: KindEvent, Title: " Party ", Body: "Come", Tags: []string{"#fun"}, Event: &Event{Start: start}}, "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := svc.Update(ctx, b, a.ID, func(*Draft) error { return nil })
	if err != nil || got.Version != 1 || !got.UpdatedAt.Equal(a.UpdatedAt) {
		t.Fatalf("unchanged save: version %d, updated %v (was %v), %v", got.Version, got.UpdatedAt, a.UpdatedAt, err)
	}
	if n, _ := store.CountPendingOutbox(ctx); n != 1 {
		t.Fatalf("%d outbox rows after an unchanged save, want the Create only", n)
	}
	got, _ = svc.Update(ctx, b, a.ID, func(d *Draft) error { d.Title = "Party!"; return nil })
	if got.Version != 2 {
		t.Fatalf("a real edit: version %d", got.Version)
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
	for _, stmt := range schema {
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
		store, err := NewStore(ctx, db)
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
		var v int
		db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v)
		if v != len(migrations) {
			t.Fatalf("schema version %d, want %d", v, len(migrations))
		}
	}
}

// One validation for every text field: no control characters in one-line
// fields, no bidirectional overrides, no text made only of invisible
// characters.
func TestTextFieldsRefuseInvisibleAndControlCharacters(t *testing.T) {
	call := func(role, title string) Draft {
		return Draft{Kind: KindCall, Title: title, Call: &Call{Roles: []Role{{Name: role, Places: 1}}, Contact: "a@b.org"}}
	}
	for name, c := range map[string]struct {
		d     Draft
		field string
	}{
		"NUL in a role":           {call("cook\x00", "Cooks"), "call.roles[0].name"},
		"ESC in a role":           {call("cook\x1b[31m", "Cooks"), "call.roles[0].name"},
		"BEL in a role":           {call("cook\a", "Cooks"), "call.roles[0].name"},
		"invisible title":         {Draft{Title: "\u200b"}, "title"},
		"invisible title 2":       {Draft{Title: "\u200b\u2060\ufeff \u3164"}, "title"},
		"RTL override in title":   {Draft{Title: "invoice\u202Egpj.exe"}, "title"},
		"isolate in a CW":         {Draft{Title: "ok", ContentWarning: "a\u2066b"}, "content_warning"},
		"newline in a title":      {Draft{Title: "one\ntwo"}, "title"},
		"override in the body":    {Draft{Title: "ok", Body: "a\u202Eb"}, "body"},
		"invisible content warn.": {Draft{Title: "ok", ContentWarning: "\u200b"}, "content_warning"},
		"invisible place":         {Draft{Kind: KindEvent, Title: "ok", Event: &Event{Start: time.Now(), Place: "\u200b"}}, "event.place"},
	} {
		err := c.d.Normalize()
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Fields[c.field] == "" {
			t.Errorf("%s: %v, want an error on %s", name, err, c.field)
		}
	}
	ok := Draft{Title: "Fête de l'école – مرحبا", Body: "Line one\n\tindented\r\nשלום", ContentWarning: "food"}
	if err := ok.Normalize(); err != nil {
		t.Errorf("ordinary text refused: %v", err)
	}
}

// ?tag= matches a tag exactly: _ and % are no wildcards.
func TestTagFilterIsExact(t *testing.T) {
	ctx := context.Background()
	svc, b := newTestService(t)
	store := svc.Store()
	svc.Create(ctx, b, Draft{Title: "A", Tags: []string{"ok"}}, "")
	svc.Create(ctx, b, Draft{Title: "B", Tags: []string{"o_k", "Libre"}}, "")
	for tag, want := range map[string]int{"o_": 0, "o%": 0, "%": 0, "ok": 1, "o_k": 1, "libre": 1, "LIBRE": 1} {
		got, err := store.AnnouncementsTagged(ctx, b.ID, tag, 0, 10)
		if err != nil || len(got) != want {
			t.Errorf("?tag=%s: %d announcements, want %d (%v)", tag, len(got), want, err)
		}
	}
	// An edit moves the tag.
	svc.Update(ctx, b, 2, func(d *Draft) error { d.Tags = []string{"other"}; return nil })
	if got, _ := store.AnnouncementsTagged(ctx, b.ID, "libre", 0, 10); len(got) != 0 {
		t.Errorf("an edited-out tag still lists the announcement")
	}
}

func TestOnlyCanonicalIDs(t *testing.T) {
	for s, ok := range map[string]bool{"1": true, "42": true, "+1": false, "00001": false, "0": false, "-1": false, "1e3": false, "": false} {
		if _, got := ParseID(s); got != ok {
			t.Errorf("ParseID(%q) = %v, want %v", s, got, ok)
		}
	}
}

// A partial edit of a detail (an event's place) is an edit: the draft is a
// copy, so the change is seen and published.
func TestPartialEditOfDetailsIsSaved(t *testing.T) {
	ctx := context.Background()
	svc, b := newTestService(t)
	a, _, _ := svc.Create(ctx, b, Draft{Kind: KindEvent, Title: "Party", Event: &Event{Start: time.Now().Add(time.Hour), Place: "Hall"}}, "")
	got, err := svc.Update(ctx, b, a.ID, func(d *Draft) error { d.Event.Place = "Garden"; return nil })
	if err != nil || got.Version != 2 || got.Event.Place != "Garden" {
		t.Fatalf("edit of the place: version %d, place %q, %v", got.Version, got.Event.Place, err)
	}
}

func TestMarkdownPictureKeepsItsWordsAndWarns(t *testing.T) {
	ctx := context.Background()
	svc, b := newTestService(t)
	a, _, err := svc.Create(ctx, b, Draft{Title: "Fair", Body: "Look: ![the **stall** at noon](https://example.org/p.jpg) and come."}, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(a.HTML, `<a href="https://example.org/p.jpg" rel="nofollow noopener" target="_blank">the stall at noon</a>`) || strings.Contains(a.HTML, "<img") {
		t.Errorf("a Markdown picture became %s, want its description as a link", a.HTML)
	}
	w := svc.Warnings(ctx, b, a)
	if len(w) != 1 || !strings.Contains(w[0], "1 picture written as ![description](address)") {
		t.Errorf("warnings %q, want one about the picture in the text", w)
	}
}
