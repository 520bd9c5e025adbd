package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"crieur/board/boardtest"
	"crieur/board/httpx"
)

func TestBoardSettingsThroughTheAPI(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t, boardtest.WithPictures(t.TempDir()))
	b := rig.Board
	mux := httpx.NewRoutes()
	New(rig.Service, rig.Store, nil, 1<<16, slog.New(slog.DiscardHandler)).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	publisher, _ := rig.Store.CreateToken(ctx, &b.ID, "publisher")
	admin, _ := rig.Store.CreateToken(ctx, nil, "admin")
	_, et := do(t, srv, "POST", "/api/v1/tokens", admin, "application/json", `{"board":"news","label":"volunteer","role":"editor"}`)
	editor := et["token"].(string)

	code, got := do(t, srv, "GET", "/api/v1/boards/news", editor, "", "")
	if code != 200 || got["name"] != "news" || got["accent_shown"] != b.Accent() {
		t.Fatalf("GET settings: %d %v", code, got)
	}
	if code, _ := do(t, srv, "PATCH", "/api/v1/boards/news", editor, "application/json", `{"accent":"#1d4ed8"}`); code != http.StatusForbidden {
		t.Errorf("an editor changing the board's look: %d", code)
	}
	code, out := do(t, srv, "PATCH", "/api/v1/boards/news", publisher, "application/json", `{"accent":"#ffcc00"}`)
	if code != 400 || !strings.Contains(fmt.Sprint(out), "darker") {
		t.Errorf("a light accent: %d %v", code, out)
	}
	if code, out := do(t, srv, "PATCH", "/api/v1/boards/news", publisher, "application/json", `{"colour":"#1d4ed8"}`); code != 400 || !strings.Contains(fmt.Sprint(out), "colour") {
		t.Errorf("an unknown field: %d %v", code, out)
	}

	img := image.NewNRGBA(image.Rect(0, 0, 200, 100))
	img.Set(5, 5, color.NRGBA{0, 0, 0, 255})
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	ct, body := multipartBody(t, "file", buf.Bytes())
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/boards/news/media", body)
	req.Header.Set("Authorization", "Bearer "+publisher)
	req.Header.Set("Content-Type", ct)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 && resp.StatusCode != 200 {
		t.Fatalf("upload the logo: %v %v", resp.Status, err)
	}
	var up struct{ ID string }
	err = json.NewDecoder(resp.Body).Decode(&up)
	resp.Body.Close()
	if err != nil || up.ID == "" {
		t.Fatalf("upload answer: %v", err)
	}

	code, out = do(t, srv, "PATCH", "/api/v1/boards/news", publisher, "application/json",
		fmt.Sprintf(`{"accent":"#1D4ED8","logo":%q,"summary":"Our news","time_zone":"Europe/Paris"}`, up.ID))
	if code != 200 || out["accent"] != "#1d4ed8" || out["accent_shown"] != "#1d4ed8" || out["logo"] != up.ID || out["summary"] != "Our news" || out["display_name"] != "News" {
		t.Fatalf("PATCH settings: %d %v", code, out)
	}
	saved, _ := rig.Store.BoardByName(ctx, "news")
	if saved.Logo != up.ID || saved.AccentColour != "#1d4ed8" || saved.TimeZone != "Europe/Paris" {
		t.Errorf("stored: %+v", saved)
	}
	if code, out := do(t, srv, "PATCH", "/api/v1/boards/news", publisher, "application/json", `{"logo":"`+strings.Repeat("b", 64)+`.png"}`); code != 400 || !strings.Contains(fmt.Sprint(out), "upload it first") {
		t.Errorf("a logo never uploaded: %d %v", code, out)
	}
	if code, out := do(t, srv, "PATCH", "/api/v1/boards/news", publisher, "application/json", `{"accent":"","logo":""}`); code != 200 || out["logo"] != nil || out["accent_shown"] != b.Accent() {
		t.Errorf("back to the defaults: %d %v", code, out)
	}
}
