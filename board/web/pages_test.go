package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"crieur/board"
	"crieur/board/boardtest"
	"crieur/board/httpx"
)

func TestEditPageCountsRelays(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	a, _, _ := svc.Create(ctx, board.System, b, boardtest.CampaignDraft(nil), "")
	for i, kind := range []string{"announce", "announce", "like", "reply"} {
		if err := rig.Store.AddInteraction(ctx, b.ID, a.ID, board.Interaction{Kind: kind, Actor: "https://m.example/users/a", ActivityID: "https://m.example/act/" + string(rune('a'+i)), CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	e := signIn(t, rig, time.UTC)
	if p := e.get("/edit/news/1"); !strings.Contains(p, "On the fediverse: boosts 2 · likes 1 · replies 1") {
		t.Error("the edit page does not count the relays")
	}
}

// The stylesheet is linked at a versioned address and kept a year there;
// an address of another version is not served (a page cached before an
// upgrade loads the new one with its next visit).
func TestStylesheetIsVersionedAndCached(t *testing.T) {
	rig := boardtest.New(t)
	mux := httpx.NewRoutes()
	NewPages(rig.Store, rig.Service, boardtest.Links{}, "", slog.New(slog.DiscardHandler)).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	_, page := get("/")
	m := regexp.MustCompile(`<link rel="stylesheet" href="(/static/crieur\.[0-9a-f]{8}\.css)">`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the home page links no versioned stylesheet:\n%s", page)
	}
	resp, css := get(m[1])
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || !strings.Contains(css, "body{") {
		t.Errorf("%s: %d %q %q", m[1], resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"))
	}
	if resp, _ := get("/static/crieur.00000000.css"); resp.StatusCode != 404 {
		t.Errorf("another version: %d, want 404", resp.StatusCode)
	}
}
