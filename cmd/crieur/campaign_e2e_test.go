package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
)

// A donation campaign as a Fedify follower and a Dendrite room read it:
// its progress in words; fifty gifts within seconds give a handful of
// Updates and edits, the last with the last total; it is featured while it
// runs.
func TestCampaignProgressReachesFollowersAndRooms(t *testing.T) {
	t.Parallel() // mostly waiting for a time to come: it overlaps with the other waiting tests
	m := newMatrixRig(t, "CRIEUR_PROGRESS_EVERY=3s")
	c := m.c
	p := startPeer(t)
	p.follow(c)
	a, code := c.post(map[string]any{"kind": "campaign", "title": "Keep our servers running", "body": "Give what you can.",
		"campaign": map[string]any{"goal": 3000, "raised": 1240, "link": "https://liberapay.com/asso", "tax_note": "66 % deductible in France"}}, nil)
	if code != 201 {
		t.Fatalf("post: %d", code)
	}
	create := p.waitActivity("Create", c.objectURL(a.ID))
	const first = "1,240\u00a0€ of 3,000\u00a0€ (41 %)"
	if content, _ := create.object()["content"].(string); !strings.Contains(content, "Raised: "+first) || !strings.Contains(content, "liberapay.com/asso") {
		t.Errorf("the follower reads %q", content)
	}
	for _, room := range m.rooms {
		if msg := m.waitPost(t, room, "Keep our servers running").Content.AsMessage(); !strings.Contains(msg.Body, "Raised: "+first) {
			t.Errorf("room %s reads %q", room, msg.Body)
		}
	}
	// Featured while it runs: the collection Mastodon shows on the profile.
	if _, featured := page(t, c.URL+"/boards/news/featured", "application/activity+json"); !strings.Contains(featured, c.objectURL(a.ID)) {
		t.Errorf("the running campaign is not in the featured collection: %s", featured)
	}

	path := fmt.Sprintf("/api/v1/boards/news/announcements/%d/raised", a.ID)
	start := time.Now()
	for i := range 50 {
		if code := c.api("PUT", path, map[string]any{"raised": 1250 + 10*i}, nil, nil); code != 200 {
			t.Fatalf("raised: %d", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
	const last = "1,740\u00a0€ of 3,000\u00a0€ (58 %)"
	if _, page := page(t, c.objectURL(a.ID), "text/html"); !strings.Contains(page, "1,740") {
		t.Error("the page does not show the last total at once")
	}
	var updates []peerActivity
	waitFor(t, 20*time.Second, "an Update with the last total", func() bool {
		updates = p.state().received("Update", c.objectURL(a.ID))
		if len(updates) == 0 {
			return false
		}
		content, _ := updates[len(updates)-1].object()["content"].(string)
		return strings.Contains(content, last)
	})
	t.Logf("50 gifts in %v gave %d Updates", time.Since(start).Round(time.Millisecond), len(updates))
	if len(updates) > 5 {
		t.Errorf("50 gifts gave %d Updates; want a handful at most (one per 3 s here)", len(updates))
	}
	for _, room := range m.rooms {
		waitFor(t, 20*time.Second, "the room's edit with the last total", func() bool {
			edits := 0
			found := false
			for _, evt := range m.botMessages(t, room) {
				if msg := evt.Content.AsMessage(); msg.RelatesTo != nil && msg.RelatesTo.Type == event.RelReplace {
					edits++
					found = found || strings.Contains(msg.NewContent.Body, last)
				}
			}
			if found && edits > 5 {
				t.Errorf("room %s got %d edits for 50 gifts", room, edits)
			}
			return found
		})
	}
}

// Featured while it runs, no longer once its deadline passed, though the
// server was down at that moment.
func TestCampaignUnpinnedAfterItsDeadlineAcrossARestart(t *testing.T) {
	t.Parallel() // mostly waiting for a time to come: it overlaps with the other waiting tests
	data := t.TempDir()
	c := startCrieur(t, data, 0)
	deadline := time.Now().Add(3 * time.Second)
	a, code := c.post(map[string]any{"kind": "campaign", "title": "Winter fund",
		"campaign": map[string]any{"goal": 500, "link": "https://liberapay.com/asso", "deadline": deadline.Format(time.RFC3339), "thank_you": "Thanks to all 12 of you!"}}, nil)
	if code != 201 {
		t.Fatalf("post: %d", code)
	}
	featured := func() string {
		_, f := page(t, c.URL+"/boards/news/featured", "application/activity+json")
		return f
	}
	if !strings.Contains(featured(), c.objectURL(a.ID)) {
		t.Fatal("the campaign is not featured while it runs")
	}
	token := c.Token
	c.Kill()
	time.Sleep(time.Until(deadline) + time.Second)
	c = startCrieur(t, data, c.Port)
	c.Token = token
	waitFor(t, 10*time.Second, "the campaign to leave the featured collection", func() bool { return !strings.Contains(featured(), c.objectURL(a.ID)) })
	_, board := page(t, c.URL+"/boards/news", "")
	if !strings.Contains(board, "Winter fund") || strings.Count(board, "Thank you: Winter fund") != 1 {
		t.Error("after its deadline the board should show the campaign and its thank-you, once")
	}
}

// A campaign whose link is a Liberapay page follows the page's total, as
// its public.json gives it, within one polling interval.
func TestCampaignReadsLiberapay(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	amount := "1500.00"
	lp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/asso/public.json" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		// The shape of https://liberapay.com/USERNAME/public.json.
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"avatar": null, "display_name": "Asso", "giving": null, "goal": {"amount": "3000.00", "currency": "EUR"}, "id": 1234,
			"kind": "organization", "npatrons": 12, "receiving": {"amount": %q, "currency": "EUR"}, "summary": "", "username": "asso"}`, amount)
	}))
	defer lp.Close()
	c := startCrieur(t, t.TempDir(), 0, "CRIEUR_LIBERAPAY_URL="+lp.URL, "CRIEUR_LIBERAPAY_EVERY=1s")
	a, code := c.post(map[string]any{"kind": "campaign", "title": "Keep our servers running",
		"campaign": map[string]any{"goal": 3000, "link": lp.URL + "/asso/donate"}}, nil)
	if code != 201 {
		t.Fatalf("post: %d", code)
	}
	raised := func() float64 {
		var got struct{ Campaign struct{ Raised float64 } }
		c.api("GET", fmt.Sprintf("/api/v1/boards/news/announcements/%d", a.ID), nil, nil, &got)
		return got.Campaign.Raised
	}
	waitFor(t, 5*time.Second, "the Liberapay total", func() bool { return raised() == 1500 })
	mu.Lock()
	amount = "1612.50"
	mu.Unlock()
	changed := time.Now()
	waitFor(t, 5*time.Second, "the new Liberapay total", func() bool { return raised() == 1612.5 })
	if took := time.Since(changed); took > 2*time.Second {
		t.Errorf("the new total took %v, more than one polling interval (1 s) and a bit", took)
	}
	if _, page := page(t, c.objectURL(a.ID), "text/html"); !strings.Contains(page, "1,612.50") {
		t.Error("the page does not show the Liberapay total")
	}
}
