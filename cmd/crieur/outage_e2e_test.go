package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"
)

// An ongoing outage shows its banner; marking it resolved from the API
// changes what every reader sees: the page (no banner, "resolved"), the
// Atom feed, a follower on a real Fedify server (an Update saying
// "Resolved") and a Matrix room on Dendrite (an edit saying it).
func TestOutageResolvedEverywhere(t *testing.T) {
	t.Parallel()
	m := newMatrixRig(t)
	c := m.c
	p := startPeer(t)
	p.follow(c)
	from := time.Now().Add(-time.Hour).Truncate(time.Second).Format(time.RFC3339)
	a, code := c.post(map[string]any{"kind": "outage", "title": "Mail is down", "body": "We are on it.",
		"outage": map[string]any{"service": "mail", "from": from}}, nil)
	if code != 201 {
		t.Fatalf("post: %d", code)
	}
	p.waitActivity("Create", c.objectURL(a.ID))
	original := m.waitPost(t, m.rooms[0], "Mail is down")

	get := func(path string) string {
		t.Helper()
		_, body := page(t, c.URL+path, "text/html")
		return body
	}
	if page := get("/boards/news"); !strings.Contains(page, "Ongoing outage:") {
		t.Fatalf("no banner while the outage is ongoing:\n%s", page)
	}

	if code := c.api("PUT", fmt.Sprintf("/api/v1/boards/news/announcements/%d/resolved", a.ID), nil, nil, nil); code != 200 {
		t.Fatalf("resolve: %d", code)
	}

	if page := get("/boards/news"); strings.Contains(page, "Ongoing outage:") {
		t.Errorf("the board page still shows it ongoing")
	}
	if page := get("/boards/news/status"); !strings.Contains(page, "All services are working as usual.") || !inOrder(page, "Recent outages", "Mail is down", " – ", "</table>") {
		t.Errorf("the status page does not list it as resolved:\n%s", page)
	}
	if page := get(fmt.Sprintf("/boards/news/a/%d", a.ID)); !strings.Contains(page, "Resolved") {
		t.Errorf("the announcement page does not say it is resolved")
	}
	feed, err := gofeed.NewParser().ParseString(get("/boards/news/feed.atom"))
	if err != nil || len(feed.Items) != 1 || !strings.Contains(feed.Items[0].Content, "Resolved") {
		t.Errorf("the Atom feed does not say it is resolved: %v %+v", err, feed)
	}
	update := p.waitActivity("Update", c.objectURL(a.ID))
	if content, _ := update.object()["content"].(string); !strings.Contains(content, "Resolved") {
		t.Errorf("the follower's Update does not say it is resolved: %s", content)
	}
	for _, room := range m.rooms {
		orig := original
		if room != m.rooms[0] {
			orig = m.waitPost(t, room, "Mail is down")
		}
		waitFor(t, 20*time.Second, "the resolved edit in "+room.String(), func() bool {
			for _, evt := range m.botMessages(t, room) {
				msg := evt.Content.AsMessage()
				if msg.RelatesTo != nil && msg.RelatesTo.GetReplaceID() == orig.ID && msg.NewContent != nil &&
					strings.Contains(msg.NewContent.Body, "Resolved") {
					return true
				}
			}
			return false
		})
	}
}
