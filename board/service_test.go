package board_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"crieur/board"
	"crieur/board/boardtest"
	"crieur/board/locale"
)

func TestValidationNamesEachField(t *testing.T) {
	start := time.Date(2026, 12, 5, 14, 0, 0, 0, time.UTC)
	before := start.Add(-time.Hour)
	cases := []struct {
		name   string
		draft  board.Draft
		fields []string
	}{
		{"empty", board.Draft{}, []string{"title"}},
		{"unknown kind", board.Draft{Kind: "party", Title: "x"}, []string{"kind"}},
		{"long title", board.Draft{Title: strings.Repeat("é", board.MaxTitle+1)}, []string{"title"}},
		{"bad tag", board.Draft{Title: "x", Tags: []string{"two words"}}, []string{"tags"}},
		// Mastodon drops a tag without a letter (app/models/tag.rb).
		{"digit-only tag", board.Draft{Title: "x", Tags: []string{"2026"}}, []string{"tags"}},
		{"bad language", board.Draft{Title: "x", Language: "French"}, []string{"language"}},
		{"control chars", board.Draft{Title: "x\x00y"}, []string{"title"}},
		{"event without details", board.Draft{Kind: board.KindEvent, Title: "x"}, []string{"event"}},
		{"event ends before start", board.Draft{Kind: board.KindEvent, Title: "x", Event: &board.Event{Start: start, End: &before, URL: "javascript:alert(1)"}}, []string{"event.end", "event.url"}},
		{"call without roles or contact", board.Draft{Kind: board.KindCall, Title: "x", Call: &board.Call{}}, []string{"call.roles", "call.contact"}},
		{"call with zero places", board.Draft{Kind: board.KindCall, Title: "x", Call: &board.Call{Roles: []board.Role{{Name: "cook"}}, Contact: "me"}}, []string{"call.roles[0].places"}},
		{"outage without service", board.Draft{Kind: board.KindOutage, Title: "x", Outage: &board.Outage{}}, []string{"outage.service", "outage.from"}},
		{"details of another kind", board.Draft{Kind: board.KindNews, Title: "x", Outage: &board.Outage{Service: "mail", From: start}}, []string{"outage"}},
	}
	for _, c := range cases {
		err := c.draft.Normalize()
		var ve *board.ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%s: error %v, want a ValidationError", c.name, err)
			continue
		}
		for _, f := range c.fields {
			if ve.Fields[f].Key == "" {
				t.Errorf("%s: no message for %s in %v", c.name, f, ve.Fields)
			}
		}
	}
	var ve *board.ValidationError
	if err := (&board.Draft{Title: "x", Tags: []string{"2026"}}).Normalize(); !errors.As(err, &ve) || ve.Fields["tags"].Key != "problem.tag_letter" {
		t.Errorf("a digit-only tag: %v, want the message that says it needs a letter", err)
	}
	ok := board.Draft{Title: "  Hello ", Tags: []string{"#Food", "food", "Fête", "Lyon2026"}}
	if err := ok.Normalize(); err != nil {
		t.Fatal(err)
	}
	if ok.Title != "Hello" || ok.Kind != board.KindNews || strings.Join(ok.Tags, ",") != "Food,Fête,Lyon2026" {
		t.Fatalf("normalized draft = %+v", ok)
	}
}

func TestPublishWritesOutboxInTheSameTransaction(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	a, _, err := svc.Create(ctx, board.System, b, board.Draft{Title: "Hello", Body: "*hi*"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Create(ctx, board.System, b, board.Draft{}, ""); err == nil {
		t.Fatal("an invalid draft was stored")
	}
	a2, err := svc.Update(ctx, board.System, b, a.ID, func(d *board.Draft) error { d.Title = "Hello again"; return nil })
	if err != nil || a2.Version != 2 || !a2.UpdatedAt.After(a2.CreatedAt) {
		t.Fatalf("update: %+v %v", a2, err)
	}
	if err := svc.Delete(ctx, board.System, b, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := svc.Delete(ctx, board.System, b, a.ID); !errors.Is(err, board.ErrGone) {
		t.Fatalf("second delete: %v, want board.ErrGone", err)
	}
	if _, err := svc.Update(ctx, board.System, b, a.ID, func(*board.Draft) error { return nil }); !errors.Is(err, board.ErrGone) {
		t.Fatalf("edit after delete: %v, want board.ErrGone", err)
	}
	entries, err := rig.Store.PendingOutbox(ctx, 10)
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
	got, err := rig.Store.Announcement(ctx, b.ID, a.ID)
	if err != nil || got.DeletedAt == nil || got.Title != "Hello again" {
		t.Fatalf("stored: %+v %v", got, err)
	}
}

func TestIdempotencyKey(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	d := board.Draft{Title: "Assembly"}
	a1, replay1, err := svc.Create(ctx, board.System, b, d, "k1")
	if err != nil || replay1 {
		t.Fatal(err, replay1)
	}
	a2, replay2, err := svc.Create(ctx, board.System, b, d, "k1")
	if err != nil || !replay2 || a2.ID != a1.ID {
		t.Fatalf("replay: %+v %v %v", a2, replay2, err)
	}
	if _, _, err := svc.Create(ctx, board.System, b, board.Draft{Title: "Other"}, "k1"); !errors.Is(err, board.ErrIdempotencyConflict) {
		t.Fatalf("other request, same key: %v", err)
	}
	if n, _ := rig.Store.CountAnnouncements(ctx, b.ID); n != 1 {
		t.Fatalf("%d announcements, want 1", n)
	}
	if n, _ := rig.Store.CountPendingOutbox(ctx); n != 1 {
		t.Fatalf("%d outbox rows, want 1", n)
	}
}

func TestAnnouncementsByTag(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	svc.Create(ctx, board.System, b, board.Draft{Title: "a", Tags: []string{"Food", "fair"}}, "")
	svc.Create(ctx, board.System, b, board.Draft{Title: "b", Tags: []string{"foodbank"}}, "")
	svc.Create(ctx, board.System, b, board.Draft{Title: "c"}, "")
	list, err := rig.Store.AnnouncementsTagged(ctx, b.ID, "food", 0, 10)
	if err != nil || len(list) != 1 || list[0].Title != "a" {
		t.Fatalf("tagged food: %+v %v", list, err)
	}
	if all, _ := rig.Store.Announcements(ctx, b.ID, 0, 10); len(all) != 3 {
		t.Fatalf("all: %d", len(all))
	}
}

// A late outcome (a worker that lost its lease, a repeat after a crash)
// never turns a delivered delivery back into a pending or dead one.
func TestDeliveredIsFinal(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	a, _, err := svc.Create(ctx, board.System, b, board.Draft{Title: "Hello"}, "")
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := rig.Store.PendingOutbox(ctx, 1)
	st := rig.Store
	const inbox = "https://a.example/inbox"
	for _, step := range []struct {
		state    string
		attempts int
	}{{board.DeliveryPending, 1}, {board.DeliveryDelivered, 2}, {board.DeliveryPending, 1}, {board.DeliveryDead, 3}} {
		if err := st.RecordDelivery(ctx, board.DeliveryRecord{OutboxID: entries[0].ID, Target: inbox, State: step.state, Attempts: step.attempts, LastError: "late"}); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := st.Deliveries(ctx, a.ID)
	if err != nil || len(ds) != 1 || ds[0].State != board.DeliveryDelivered || ds[0].Attempts != 2 {
		t.Fatalf("deliveries = %+v %v, want delivered after 2 attempts", ds, err)
	}
}

// A save that changes nothing bumps no version and sends nothing.
func TestUnchangedSaveChangesNothing(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	store := rig.Store
	start := time.Date(2026, 12, 5, 14, 0, 0, 0, time.FixedZone("", 3600))
	a, _, err := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindEvent, Title: " Party ", Body: "Come", Tags: []string{"#fun"}, Event: &board.Event{Start: start}}, "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := svc.Update(ctx, board.System, b, a.ID, func(*board.Draft) error { return nil })
	if err != nil || got.Version != 1 || !got.UpdatedAt.Equal(a.UpdatedAt) {
		t.Fatalf("unchanged save: version %d, updated %v (was %v), %v", got.Version, got.UpdatedAt, a.UpdatedAt, err)
	}
	if n, _ := store.CountPendingOutbox(ctx); n != 1 {
		t.Fatalf("%d outbox rows after an unchanged save, want the Create only", n)
	}
	got, _ = svc.Update(ctx, board.System, b, a.ID, func(d *board.Draft) error { d.Title = "Party!"; return nil })
	if got.Version != 2 {
		t.Fatalf("a real edit: version %d", got.Version)
	}
}

// A store made before the versioned migrations (schema only, user_version
// 0) upgrades in place and keeps its data; opening it again changes nothing.
// One validation for every text field: no control characters in one-line
// fields, no bidirectional overrides, no text made only of invisible
// characters.
func TestTextFieldsRefuseInvisibleAndControlCharacters(t *testing.T) {
	call := func(role, title string) board.Draft {
		return board.Draft{Kind: board.KindCall, Title: title, Call: &board.Call{Roles: []board.Role{{Name: role, Places: 1}}, Contact: "a@b.org"}}
	}
	for name, c := range map[string]struct {
		d     board.Draft
		field string
	}{
		"NUL in a role":           {call("cook\x00", "Cooks"), "call.roles[0].name"},
		"ESC in a role":           {call("cook\x1b[31m", "Cooks"), "call.roles[0].name"},
		"BEL in a role":           {call("cook\a", "Cooks"), "call.roles[0].name"},
		"invisible title":         {board.Draft{Title: "\u200b"}, "title"},
		"invisible title 2":       {board.Draft{Title: "\u200b\u2060\ufeff \u3164"}, "title"},
		"RTL override in title":   {board.Draft{Title: "invoice\u202Egpj.exe"}, "title"},
		"isolate in a CW":         {board.Draft{Title: "ok", ContentWarning: "a\u2066b"}, "content_warning"},
		"newline in a title":      {board.Draft{Title: "one\ntwo"}, "title"},
		"override in the body":    {board.Draft{Title: "ok", Body: "a\u202Eb"}, "body"},
		"invisible content warn.": {board.Draft{Title: "ok", ContentWarning: "\u200b"}, "content_warning"},
		"invisible place":         {board.Draft{Kind: board.KindEvent, Title: "ok", Event: &board.Event{Start: time.Now(), Place: "\u200b"}}, "event.place"},
	} {
		err := c.d.Normalize()
		var ve *board.ValidationError
		if !errors.As(err, &ve) || ve.Fields[c.field].Key == "" {
			t.Errorf("%s: %v, want an error on %s", name, err, c.field)
		}
	}
	ok := board.Draft{Title: "Fête de l'école – مرحبا", Body: "Line one\n\tindented\r\nשלום", ContentWarning: "food"}
	if err := ok.Normalize(); err != nil {
		t.Errorf("ordinary text refused: %v", err)
	}
}

// ?tag= matches a tag exactly: _ and % are no wildcards.
func TestTagFilterIsExact(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	store := rig.Store
	svc.Create(ctx, board.System, b, board.Draft{Title: "A", Tags: []string{"ok"}}, "")
	svc.Create(ctx, board.System, b, board.Draft{Title: "B", Tags: []string{"o_k", "Libre"}}, "")
	for tag, want := range map[string]int{"o_": 0, "o%": 0, "%": 0, "ok": 1, "o_k": 1, "libre": 1, "LIBRE": 1} {
		got, err := store.AnnouncementsTagged(ctx, b.ID, tag, 0, 10)
		if err != nil || len(got) != want {
			t.Errorf("?tag=%s: %d announcements, want %d (%v)", tag, len(got), want, err)
		}
	}
	// An edit moves the tag.
	svc.Update(ctx, board.System, b, 2, func(d *board.Draft) error { d.Tags = []string{"other"}; return nil })
	if got, _ := store.AnnouncementsTagged(ctx, b.ID, "libre", 0, 10); len(got) != 0 {
		t.Errorf("an edited-out tag still lists the announcement")
	}
}

func TestOnlyCanonicalIDs(t *testing.T) {
	for s, ok := range map[string]bool{"1": true, "42": true, "+1": false, "00001": false, "0": false, "-1": false, "1e3": false, "": false} {
		if _, got := board.ParseID(s); got != ok {
			t.Errorf("ParseID(%q) = %v, want %v", s, got, ok)
		}
	}
}

// A partial edit of a detail (an event's place) is an edit: the draft is a
// copy, so the change is seen and published.
func TestPartialEditOfDetailsIsSaved(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	a, _, _ := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindEvent, Title: "Party", Event: &board.Event{Start: time.Now().Add(time.Hour), Place: "Hall"}}, "")
	got, err := svc.Update(ctx, board.System, b, a.ID, func(d *board.Draft) error { d.Event.Place = "Garden"; return nil })
	if err != nil || got.Version != 2 || got.Event.Place != "Garden" {
		t.Fatalf("edit of the place: version %d, place %q, %v", got.Version, got.Event.Place, err)
	}
}

func TestMarkdownPictureKeepsItsWordsAndWarns(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	a, _, err := svc.Create(ctx, board.System, b, board.Draft{Title: "Fair", Body: "Look: ![the **stall** at noon](https://example.org/p.jpg) and come."}, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(a.HTML, `<a href="https://example.org/p.jpg" rel="nofollow noopener" target="_blank">the stall at noon</a>`) || strings.Contains(a.HTML, "<img") {
		t.Errorf("a Markdown picture became %s, want its description as a link", a.HTML)
	}
	w := svc.Warnings(ctx, b, a)
	if len(w) != 1 || !strings.Contains(locale.For("en").Problem(w[0]), "1 picture written as ![description](address)") {
		t.Errorf("warnings %q, want one about the picture in the text", w)
	}
}
