package web

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"crieur/board"
	"crieur/board/boardtest"
)

type fakePreviewer struct{}

// fakePreviewer renders like a destination that slips in something the
// editor's page must not run.
func (fakePreviewer) Preview(_ context.Context, _ board.Board, a board.Announcement) (board.Preview, bool) {
	return board.Preview{Channel: "Elsewhere", HTML: "<p>" + a.Title + `</p><script>alert(1)</script>`, Text: "plain " + a.Title, Warning: a.ContentWarning}, true
}

func TestEditorPreviewsDraftsAndSchedules(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	svc.Connect(board.Destinations{Previewers: []board.Previewer{fakePreviewer{}}})
	e := signIn(t, rig, time.UTC)
	csrf := hiddenValue(t, e.home, "csrf")
	form := url.Values{"csrf": {csrf}, "kind": {"news"}, "title": {"Repair café"}, "body": {"Bring **your** toaster."}, "cw": {"food"}, "action": {"preview"}}

	code, page := e.post("/edit/news/new", form)
	if code != 200 || !strings.Contains(page, "Nothing is saved or sent yet") {
		t.Fatalf("preview: %d\n%s", code, page)
	}
	for _, want := range []string{"<strong>your</strong>", "<h3>Elsewhere</h3>", "<p>Repair café</p>", "plain Repair café", "Content warning: food", `value="Bring **your** toaster."`[:0] + "Bring **your** toaster."} {
		if !strings.Contains(page, want) {
			t.Errorf("preview lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>alert") {
		t.Error("a destination's preview runs a script in the editor")
	}
	// Not saved, it has no page: its title links nowhere (a tap would
	// leave the form for "not found").
	if strings.Contains(page, "/a/0") || !strings.Contains(page, "<h2>Repair café</h2>") {
		t.Errorf("the preview of a new announcement links its title to a page it does not have")
	}
	if n, _ := rig.Store.SearchAnnouncements(ctx, b.ID, "", 0, 10); len(n) != 0 || len(rig.Pending(t)) != 0 {
		t.Fatalf("a preview saved %d announcements and %d outbox rows", len(n), len(rig.Pending(t)))
	}

	form.Set("action", "draft")
	if code, page = e.post("/edit/news/new", form); code != 200 || !strings.Contains(page, "Saved as a draft") || !strings.Contains(page, `<span class="status">Draft</span>`) {
		t.Fatalf("draft: %d\n%s", code, page)
	}
	list, _ := rig.Store.SearchAnnouncements(ctx, b.ID, "", 0, 10)
	if len(list) != 1 || list[0].Status != board.StatusDraft || len(rig.Pending(t)) != 0 {
		t.Fatalf("after Save as draft: %+v, outbox %v", list, rig.Pending(t))
	}
	id := list[0].ID
	edit := e.get(fmt.Sprintf("/edit/news/%d", id))
	if !strings.Contains(edit, `value="draft"`) || !strings.Contains(edit, `name="publish_at"`) {
		t.Error("a draft's edit page should offer Save as draft and Publish at")
	}

	// Scheduling it: Publish with a time.
	form = url.Values{"csrf": {csrf}, "kind": {"news"}, "title": {"Repair café"}, "body": {"Bring **your** toaster."}, "action": {"publish"},
		"publish_at": {time.Now().Add(48 * time.Hour).UTC().Format(formTime)}, "expires_at": {"2020-01-01T10:00"}}
	if code, page = e.post(fmt.Sprintf("/edit/news/%d", id), form); code != 400 || !strings.Contains(page, "Take down at must be after Publish at.") {
		t.Fatalf("an expiry before publication: %d, want it refused next to its field\n%s", code, page)
	}
	form.Set("publish_at", "")
	if code, page = e.post(fmt.Sprintf("/edit/news/%d", id), form); code != 400 || !strings.Contains(page, "This time is already past; give a later one") {
		t.Fatalf("a past expiry: %d, want it refused next to its field\n%s", code, page)
	}
	form.Set("publish_at", time.Now().Add(48*time.Hour).UTC().Format(formTime))
	form.Set("expires_at", "")
	if code, page = e.post(fmt.Sprintf("/edit/news/%d", id), form); code != 200 || !strings.Contains(page, "Scheduled for") {
		t.Fatalf("schedule: %d\n%s", code, page)
	}
	a, _ := rig.Store.Announcement(ctx, b.ID, id)
	if a.Status != board.StatusScheduled || len(rig.Pending(t)) != 0 {
		t.Fatalf("scheduled: %q outbox %v", a.Status, rig.Pending(t))
	}

	// Published now: the edit page no longer offers a draft or a schedule.
	form.Set("publish_at", "")
	if code, page = e.post(fmt.Sprintf("/edit/news/%d", id), form); code != 200 || !strings.Contains(page, "Published: Repair café") {
		t.Fatalf("publish: %d\n%s", code, page)
	}
	edit = e.get(fmt.Sprintf("/edit/news/%d", id))
	if strings.Contains(edit, `value="draft"`) || strings.Contains(edit, `name="publish_at"`) || !strings.Contains(edit, "Save changes") {
		t.Error("a published announcement's edit page offers a draft or a schedule")
	}
	// Previewing an edit sends nothing.
	form.Set("title", "Repair café, new date")
	form.Set("action", "preview")
	if code, page = e.post(fmt.Sprintf("/edit/news/%d", id), form); code != 200 || !strings.Contains(page, "<p>Repair café, new date</p>") {
		t.Fatalf("preview of an edit: %d", code)
	}
	if a, _ = rig.Store.Announcement(ctx, b.ID, id); a.Title != "Repair café" || len(rig.Pending(t)) != 1 {
		t.Errorf("a preview of an edit changed %q or sent %d", a.Title, len(rig.Pending(t)))
	}
}

func TestEditorAsksForAFollowUp(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	a, _, _ := svc.Create(ctx, board.System, b, board.Draft{Title: "Mail down"}, "")
	_ = rig.Store.MarkDispatched(ctx, rig.Pending(t)[0].ID)
	e := signIn(t, rig, time.UTC)
	path := fmt.Sprintf("/edit/news/%d", a.ID)
	edit := e.get(path)
	if !strings.Contains(edit, `name="follow_up"`) {
		t.Fatal("a published announcement's edit page offers no follow-up")
	}
	form := url.Values{"csrf": {hiddenValue(t, edit, "csrf")}, "kind": {"news"}, "title": {"Mail down until 18:00"}, "action": {"publish"}}
	e.post(path, form)
	if out := rig.Pending(t); len(out) != 1 || out[0].FollowUp {
		t.Fatalf("an edit without the box: %+v", out)
	}
	_ = rig.Store.MarkDispatched(ctx, rig.Pending(t)[0].ID)
	form.Set("title", "Mail back")
	form.Set("follow_up", "on")
	e.post(path, form)
	if out := rig.Pending(t); len(out) != 1 || out[0].Verb != board.VerbUpdate || !out[0].FollowUp {
		t.Fatalf("an edit with the box: %+v", out)
	}
}

// With two boards on the editor's home, a preview sits with the form it
// belongs to: no other board's section comes between them (issue 25,
// point 5).
func TestEditorPreviewSitsWithItsForm(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	if _, _, err := rig.Service.EnsureBoard(ctx, "climat", "Climat"); err != nil {
		t.Fatal(err)
	}
	e := signIn(t, rig, time.UTC)
	// Boards come by name: Climat's section first, then News's.
	if strings.Index(e.home, `action="/edit/climat/new"`) > strings.Index(e.home, `action="/edit/news/new"`) {
		t.Fatal("the boards are not in the order this test expects")
	}
	for _, c := range []struct{ board, other string }{{"news", "climat"}, {"climat", "news"}} {
		code, page := e.post("/edit/"+c.board+"/new", url.Values{"csrf": {hiddenValue(t, e.home, "csrf")}, "kind": {"news"}, "title": {"Repair café"}, "action": {"preview"}})
		pv, form := strings.Index(page, `id="preview-h"`), strings.Index(page, `action="/edit/`+c.board+`/new"`)
		if code != 200 || pv < 0 || form < pv {
			t.Fatalf("%s: preview at %d, its form at %d (%d)", c.board, pv, form, code)
		}
		if between := page[pv:form]; strings.Contains(between, `action="/edit/`+c.other+`/new"`) || strings.Contains(between, "<section") {
			t.Errorf("%s: another board's section sits between the preview and its form:\n%s", c.board, between)
		}
	}
}
