package board

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"
)

// clock is a test's time, moved by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time                  { return c.t }
func (c *clock) advance(d time.Duration)         { c.t = c.t.Add(d) }
func at(t time.Time, d time.Duration) *time.Time { x := t.Add(d); return &x }

func pending(t *testing.T, svc *Service) []OutboxEntry {
	t.Helper()
	list, err := svc.store.PendingOutbox(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func listed(t *testing.T, svc *Service, b Board) []int64 {
	t.Helper()
	list, err := svc.store.Announcements(context.Background(), b.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, a := range list {
		ids = append(ids, a.ID)
	}
	return ids
}

func TestDraftIsSentNowhereUntilPublished(t *testing.T) {
	ctx := context.Background()
	svc, b := newTestService(t)
	c := &clock{time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
	svc.now = c.now

	a, _, err := svc.Create(ctx, b, Draft{Title: "Assemblée générale", Body: "first words", KeepDraft: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != StatusDraft || len(pending(t, svc)) != 0 || len(listed(t, svc, b)) != 0 {
		t.Fatalf("a draft: status %q, outbox %v, listed %v; want draft, nothing sent, not listed", a.Status, pending(t, svc), listed(t, svc, b))
	}
	c.advance(time.Hour)
	a, err = svc.Update(ctx, b, a.ID, func(d *Draft) error { d.Body = "second words"; return nil })
	if err != nil || a.Status != StatusDraft || a.Version != 1 || len(pending(t, svc)) != 0 {
		t.Fatalf("edited draft: %v status %q version %d outbox %v; want still a draft, version 1, nothing sent", err, a.Status, a.Version, pending(t, svc))
	}
	c.advance(time.Hour)
	a, err = svc.Update(ctx, b, a.ID, func(d *Draft) error { d.KeepDraft = false; return nil })
	if err != nil {
		t.Fatal(err)
	}
	out := pending(t, svc)
	if a.Status != StatusPublished || len(out) != 1 || out[0].Verb != VerbCreate || out[0].Version != 1 {
		t.Fatalf("published draft: status %q outbox %+v; want published and one Create of version 1", a.Status, out)
	}
	if !a.CreatedAt.Equal(c.t) {
		t.Errorf("published draft is dated %v, want its publication time %v", a.CreatedAt, c.t)
	}
	if ids := listed(t, svc, b); len(ids) != 1 || ids[0] != a.ID {
		t.Errorf("listed %v, want the published draft", ids)
	}
	if _, err := svc.Update(ctx, b, a.ID, func(d *Draft) error { d.KeepDraft = true; return nil }); !isField(err, "draft") {
		t.Errorf("published back to draft: %v, want a refusal naming draft", err)
	}
}

func isField(err error, field string) bool {
	var ve *ValidationError
	if !errors.As(err, &ve) {
		return false
	}
	_, ok := ve.Fields[field]
	return ok
}

func TestScheduledPublishesOnTimeAndExpiryTellsFollowers(t *testing.T) {
	ctx := context.Background()
	svc, b := newTestService(t)
	c := &clock{time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
	svc.now = c.now
	paris, _ := time.LoadLocation("Europe/Paris")
	publish := c.t.Add(2 * time.Hour).In(paris)
	expires := c.t.Add(5 * time.Hour).In(paris)

	a, _, err := svc.Create(ctx, b, Draft{Kind: KindOutage, Title: "Mail down", Outage: &Outage{Service: "mail", From: c.t.Add(3 * time.Hour)},
		PublishAt: &publish, ExpiresAt: &expires}, "")
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != StatusScheduled || len(pending(t, svc)) != 0 {
		t.Fatalf("scheduled: status %q outbox %v", a.Status, pending(t, svc))
	}
	if next, ok, _ := svc.store.nextDue(ctx); !ok || !next.Equal(publish) {
		t.Errorf("next due %v %v, want %v", next, ok, publish)
	}
	c.advance(2*time.Hour - time.Second)
	if err := svc.PublishDue(ctx); err != nil || len(pending(t, svc)) != 0 {
		t.Fatalf("a second early: %v, outbox %v; want nothing sent", err, pending(t, svc))
	}
	c.advance(time.Second)
	if err := svc.PublishDue(ctx); err != nil {
		t.Fatal(err)
	}
	a, _ = svc.store.Announcement(ctx, b.ID, a.ID)
	if out := pending(t, svc); a.Status != StatusPublished || len(out) != 1 || out[0].Verb != VerbCreate {
		t.Fatalf("on time: status %q outbox %+v; want published with one Create", a.Status, out)
	}
	if a.PublishAt == nil || a.PublishAt.Location().String() == "UTC" || !a.PublishAt.Equal(publish) {
		t.Errorf("publish_at read back as %v, want %v in its own offset", a.PublishAt, publish)
	}
	_ = svc.store.MarkDispatched(ctx, pending(t, svc)[0].ID)

	// Moving the expiry is the editor's business, not the readers': no
	// new version, nothing sent.
	later := expires.Add(time.Hour)
	a, err = svc.Update(ctx, b, a.ID, func(d *Draft) error { d.ExpiresAt = &later; return nil })
	if err != nil || a.Version != 1 || len(pending(t, svc)) != 0 {
		t.Fatalf("new expiry: %v version %d outbox %v; want version 1, nothing sent", err, a.Version, pending(t, svc))
	}
	c.advance(4 * time.Hour)
	if err := svc.PublishDue(ctx); err != nil {
		t.Fatal(err)
	}
	a, _ = svc.store.Announcement(ctx, b.ID, a.ID)
	out := pending(t, svc)
	if a.Status != StatusExpired || a.Version != 2 || len(out) != 1 || out[0].Verb != VerbUpdate {
		t.Fatalf("expired: status %q version %d outbox %+v; want expired, version 2, one Update", a.Status, a.Version, out)
	}
	if f := a.Facts(); len(f) == 0 || f[0].Label != "Ended" {
		t.Errorf("expired facts %+v, want Ended first", f)
	}
	if ids := listed(t, svc, b); len(ids) != 0 {
		t.Errorf("expired still listed: %v", ids)
	}
	if !a.Public() {
		t.Error("an expired announcement's own page should stay for those who have its link")
	}
	if _, err := svc.Pin(ctx, b, a.ID, true); !isField(err, "pinned") {
		t.Errorf("pinning an expired one: %v, want refused", err)
	}
}

func TestScheduleRefusesPastExpiryAndCatchesUpAfterDowntime(t *testing.T) {
	ctx := context.Background()
	svc, b := newTestService(t)
	c := &clock{time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
	svc.now = c.now
	if _, _, err := svc.Create(ctx, b, Draft{Title: "late", ExpiresAt: at(c.t, -time.Minute)}, ""); !isField(err, "expires_at") {
		t.Errorf("past expiry: %v, want refused", err)
	}
	if _, _, err := svc.Create(ctx, b, Draft{Title: "backwards", PublishAt: at(c.t, 2*time.Hour), ExpiresAt: at(c.t, time.Hour)}, ""); !isField(err, "expires_at") {
		t.Errorf("expiry before publication: %v, want refused", err)
	}
	a, _, err := svc.Create(ctx, b, Draft{Title: "short-lived", PublishAt: at(c.t, time.Hour), ExpiresAt: at(c.t, 2*time.Hour)}, "")
	if err != nil {
		t.Fatal(err)
	}
	// The server was down through both times: it ends without ever
	// being sent (a Create then an Update would be noise).
	c.advance(3 * time.Hour)
	svc2 := NewService(svc.store, nil) // a restart
	svc2.now = c.now
	if err := svc2.PublishDue(ctx); err != nil {
		t.Fatal(err)
	}
	a, _ = svc2.store.Announcement(ctx, b.ID, a.ID)
	if a.Status != StatusExpired || len(pending(t, svc2)) != 0 {
		t.Fatalf("after downtime: status %q outbox %v; want expired, nothing sent", a.Status, pending(t, svc2))
	}
	// Deleting a draft tells nobody: nobody had it.
	d, _, _ := svc2.Create(ctx, b, Draft{Title: "never mind", KeepDraft: true}, "")
	if err := svc2.Delete(ctx, b, d.ID); err != nil || len(pending(t, svc2)) != 0 {
		t.Errorf("deleting a draft: %v outbox %v; want nothing sent", err, pending(t, svc2))
	}
}

func TestSchedulerWakesForANewSchedule(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc, b := newTestService(t)
	done := make(chan struct{})
	go func() { svc.RunScheduler(ctx, slog.New(slog.DiscardHandler)); close(done) }()
	defer func() { cancel(); <-done }()
	a, _, err := svc.Create(ctx, b, Draft{Title: "soon", PublishAt: at(time.Now(), 300*time.Millisecond)}, "")
	if err != nil || a.Status != StatusScheduled {
		t.Fatalf("create: %v %q", err, a.Status)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if a, _ = svc.store.Announcement(ctx, b.ID, a.ID); a.Status == StatusPublished {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("status %q 5 s after its time, want published", a.Status)
}

// fakePreviewer renders like a destination that slips in something the
// editor's page must not run.
type fakePreviewer struct{}

func (fakePreviewer) Preview(_ context.Context, _ Board, a Announcement) (Preview, bool) {
	return Preview{Channel: "Elsewhere", HTML: "<p>" + a.Title + `</p><script>alert(1)</script>`, Text: "plain " + a.Title, Warning: a.ContentWarning}, true
}

func TestEditorPreviewsDraftsAndSchedules(t *testing.T) {
	ctx := context.Background()
	svc, b := newTestService(t)
	svc.AddPreviewer(fakePreviewer{})
	e := signIn(t, svc, time.UTC)
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
	if n, _ := svc.store.SearchAnnouncements(ctx, b.ID, "", 0, 10); len(n) != 0 || len(pending(t, svc)) != 0 {
		t.Fatalf("a preview saved %d announcements and %d outbox rows", len(n), len(pending(t, svc)))
	}

	form.Set("action", "draft")
	if code, page = e.post("/edit/news/new", form); code != 200 || !strings.Contains(page, "Saved as a draft") || !strings.Contains(page, `<span class="status">Draft</span>`) {
		t.Fatalf("draft: %d\n%s", code, page)
	}
	list, _ := svc.store.SearchAnnouncements(ctx, b.ID, "", 0, 10)
	if len(list) != 1 || list[0].Status != StatusDraft || len(pending(t, svc)) != 0 {
		t.Fatalf("after Save as draft: %+v, outbox %v", list, pending(t, svc))
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
	if code, page = e.post(fmt.Sprintf("/edit/news/%d", id), form); code != 400 || !strings.Contains(page, "Take down at is already past") {
		t.Fatalf("a past expiry: %d, want it refused next to its field\n%s", code, page)
	}
	form.Set("publish_at", time.Now().Add(48*time.Hour).UTC().Format(formTime))
	form.Set("expires_at", "")
	if code, page = e.post(fmt.Sprintf("/edit/news/%d", id), form); code != 200 || !strings.Contains(page, "Scheduled for") {
		t.Fatalf("schedule: %d\n%s", code, page)
	}
	a, _ := svc.store.Announcement(ctx, b.ID, id)
	if a.Status != StatusScheduled || len(pending(t, svc)) != 0 {
		t.Fatalf("scheduled: %q outbox %v", a.Status, pending(t, svc))
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
	if a, _ = svc.store.Announcement(ctx, b.ID, id); a.Title != "Repair café" || len(pending(t, svc)) != 1 {
		t.Errorf("a preview of an edit changed %q or sent %d", a.Title, len(pending(t, svc)))
	}
}

func TestEditorAsksForAFollowUp(t *testing.T) {
	ctx := context.Background()
	svc, b := newTestService(t)
	a, _, _ := svc.Create(ctx, b, Draft{Title: "Mail down"}, "")
	_ = svc.store.MarkDispatched(ctx, pending(t, svc)[0].ID)
	e := signIn(t, svc, time.UTC)
	path := fmt.Sprintf("/edit/news/%d", a.ID)
	edit := e.get(path)
	if !strings.Contains(edit, `name="follow_up"`) {
		t.Fatal("a published announcement's edit page offers no follow-up")
	}
	form := url.Values{"csrf": {hiddenValue(t, edit, "csrf")}, "kind": {"news"}, "title": {"Mail down until 18:00"}, "action": {"publish"}}
	e.post(path, form)
	if out := pending(t, svc); len(out) != 1 || out[0].FollowUp {
		t.Fatalf("an edit without the box: %+v", out)
	}
	_ = svc.store.MarkDispatched(ctx, pending(t, svc)[0].ID)
	form.Set("title", "Mail back")
	form.Set("follow_up", "on")
	e.post(path, form)
	if out := pending(t, svc); len(out) != 1 || out[0].Verb != VerbUpdate || !out[0].FollowUp {
		t.Fatalf("an edit with the box: %+v", out)
	}
}

func TestExpiredOutageSaysNoUnknownEnd(t *testing.T) {
	from := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	a := Announcement{Kind: KindOutage, Outage: &Outage{Service: "mail", From: from}}
	if f := a.Facts(); f[len(f)-1].Value != "not known yet" {
		t.Fatalf("a running outage without an end: %+v", f)
	}
	a.Status, a.ExpiresAt = StatusExpired, at(from, time.Hour)
	for _, f := range a.Facts() {
		if f.Value == "not known yet" {
			t.Errorf("an ended notice still says its end is not known: %+v", a.Facts())
		}
	}
}
