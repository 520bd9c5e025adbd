package main

// Acceptance tests of drafts, scheduled publication and expiry: what a
// Fedify follower receives, and what the board's page and feed list,
// across a crash and a restart.

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

type statusAnswer struct {
	ID      int64  `json:"id"`
	Status  string `json:"status"`
	Version int    `json:"version"`
}

// page fetches a public page and returns its status and text.
func page(t *testing.T, url string, accept string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestScheduledAndExpiringAcrossRestart(t *testing.T) {
	t.Parallel() // mostly waiting for a time to come: it overlaps with the other waiting tests
	data := t.TempDir()
	c := startCrieur(t, data, 0)
	p := startPeer(t)
	p.follow(c)

	publishAt := time.Now().Add(4 * time.Second).Truncate(time.Second)
	expiresAt := publishAt.Add(6 * time.Second)
	var sched statusAnswer
	if code := c.api("POST", "/api/v1/boards/news/announcements", map[string]any{
		"title": "Mail maintenance tonight", "kind": "outage", "body": "Webmail will be down.",
		"outage":     map[string]any{"service": "mail", "from": publishAt.Add(time.Hour).Format(time.RFC3339)},
		"publish_at": publishAt.Format(time.RFC3339), "expires_at": expiresAt.Format(time.RFC3339),
	}, nil, &sched); code != http.StatusCreated || sched.Status != "scheduled" {
		t.Fatalf("schedule: %d %+v", code, sched)
	}
	var draft statusAnswer
	if code := c.api("POST", "/api/v1/boards/news/announcements", map[string]any{"title": "Half-written thoughts", "draft": true}, nil, &draft); code != http.StatusCreated || draft.Status != "draft" {
		t.Fatalf("draft: %d %+v", code, draft)
	}
	for _, id := range []int64{sched.ID, draft.ID} {
		if code, _ := page(t, c.objectURL(id), "application/activity+json"); code != http.StatusNotFound {
			t.Errorf("unpublished %d: its object answers %d, want 404", id, code)
		}
	}
	if _, board := page(t, c.URL+"/boards/news", ""); strings.Contains(board, "Mail maintenance") || strings.Contains(board, "Half-written") {
		t.Error("the board's page lists an unpublished announcement")
	}

	var pv struct {
		Previews []struct{ Channel, HTML string } `json:"previews"`
	}
	if code := c.api("POST", fmt.Sprintf("/api/v1/boards/news/announcements/%d/preview", sched.ID), map[string]any{}, nil, &pv); code != 200 || len(pv.Previews) == 0 {
		t.Fatalf("preview: %d %+v", code, pv)
	}
	previewed := pv.Previews[0].HTML

	// A crash before the time, a restart after it.
	token := c.Token
	c.Kill()
	time.Sleep(time.Until(publishAt) + 500*time.Millisecond)
	c = startCrieur(t, data, c.Port)
	c.Token = token
	restarted := time.Now()
	create := p.waitActivity("Create", c.objectURL(sched.ID))
	t.Logf("published %v after the restart, %v after its time", time.Since(restarted).Round(time.Millisecond), time.Since(publishAt).Round(time.Millisecond))
	if content, _ := create.object()["content"].(string); content != previewed || strings.Contains(content, "Ended") {
		t.Errorf("the Create shows\n%q\nthe preview said\n%q", content, previewed)
	}
	if _, board := page(t, c.URL+"/boards/news", ""); !strings.Contains(board, "Mail maintenance tonight") {
		t.Error("the published announcement is not on the board's page")
	}

	// An unchanged save sends nothing.
	c.waitQueueIdle()
	before := len(p.state().Received)
	var same statusAnswer
	if code := c.api("PATCH", fmt.Sprintf("/api/v1/boards/news/announcements/%d", sched.ID), map[string]any{}, nil, &same); code != 200 || same.Version != 1 {
		t.Fatalf("PATCH {}: %d %+v, want version 1", code, same)
	}

	// A crash before the expiry, a restart after it: followers get an
	// Update saying it ended.
	c.waitQueueIdle()
	c.Kill()
	time.Sleep(time.Until(expiresAt) + 500*time.Millisecond)
	c = startCrieur(t, data, c.Port)
	c.Token = token
	update := p.waitActivity("Update", c.objectURL(sched.ID))
	t.Logf("withdrawn %v after its time", time.Since(expiresAt).Round(time.Millisecond))
	if content, _ := update.object()["content"].(string); !strings.Contains(content, "Ended: ") || !strings.Contains(content, "Mail maintenance tonight") {
		t.Errorf("the expiry's Update shows %q, want the post with Ended first", content)
	}
	if n := len(p.state().Received); n != before+1 {
		t.Errorf("the peer received %d activities after the unchanged save and the expiry, want only the expiry's Update", n-before)
	}
	if _, board := page(t, c.URL+"/boards/news", ""); strings.Contains(board, "Mail maintenance tonight") {
		t.Error("the expired announcement is still on the board's page")
	}
	if _, feed := page(t, c.URL+"/boards/news/feed.atom", ""); strings.Contains(feed, "Mail maintenance tonight") {
		t.Error("the expired announcement is still in the feed")
	}
	if code, own := page(t, c.objectURL(sched.ID), "text/html"); code != 200 || !strings.Contains(own, "Ended") {
		t.Errorf("the expired announcement's own page: %d, want it saying it ended", code)
	}
	if st := p.state(); len(st.received("Create", c.objectURL(draft.ID))) != 0 {
		t.Error("the draft reached a follower")
	}
}
