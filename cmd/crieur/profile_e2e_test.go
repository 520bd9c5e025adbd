package main

import (
	"image/color"
	"strings"
	"testing"
	"time"
)

// A follower on a real ActivityPub server (Fedify) gets the board's new
// name, summary and logo as an Update of its actor, signed and verified,
// within seconds of the change through the API; a change that leaves the
// profile as it was sends nothing.
func TestProfileChangeReachesAFollower(t *testing.T) {
	t.Parallel()
	c := startCrieur(t, t.TempDir(), 0)
	p := startPeer(t)
	p.follow(c)
	actorID := c.URL + "/boards/news"
	up := c.upload(logoPNG(t, 200, 200, color.NRGBA{0, 150, 0, 255}))
	var settings map[string]any
	if code := c.api("PATCH", "/api/v1/boards/news", map[string]any{"display_name": "Repair café", "summary": "Every Tuesday.", "logo": up.ID}, nil, &settings); code != 200 {
		t.Fatalf("PATCH the board: %d %v", code, settings)
	}
	got := p.waitActivity("Update", actorID)
	obj := got.object()
	icon, _ := obj["icon"].(map[string]any)
	if !got.Verified || obj["type"] != "Organization" || obj["name"] != "Repair café" || !strings.Contains(obj["summary"].(string), "Every Tuesday.") ||
		!strings.Contains(stringOf(icon["url"]), "/boards/news/icon.png?v=") {
		t.Fatalf("the follower got %s", got.Object)
	}
	// Only the accent colour, which the profile does not show: nothing.
	if code := c.api("PATCH", "/api/v1/boards/news", map[string]any{"accent": "#0a5c36"}, nil, nil); code != 200 {
		t.Fatalf("PATCH the accent: %d", code)
	}
	if code := c.api("PATCH", "/api/v1/boards/news", map[string]any{"summary": "Every Tuesday and Thursday."}, nil, nil); code != 200 {
		t.Fatalf("PATCH the summary: %d", code)
	}
	waitFor(t, 20*time.Second, "the second profile Update", func() bool { return len(p.state().received("Update", actorID)) >= 2 })
	updates := p.state().received("Update", actorID)
	if len(updates) != 2 || !strings.Contains(updates[1].object()["summary"].(string), "Thursday") {
		t.Errorf("the follower got %d profile Updates, want 2, the last with the new summary", len(updates))
	}
}

func stringOf(v any) string { s, _ := v.(string); return s }
