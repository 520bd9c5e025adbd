package web

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"crieur/board/boardtest"
)

func TestEditorSettingsPage(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t, boardtest.WithPictures(t.TempDir()))
	e := signIn(t, rig, time.UTC)
	if !strings.Contains(e.home, `href="/edit/news/settings"`) {
		t.Fatal("the editor's home does not link the board's settings")
	}
	page := e.get("/edit/news/settings")
	for _, want := range []string{"<main>", `<label for="accent">`, `type="color"`, `<label for="logo">`, `type="file"`, `<label for="display_name">`,
		`<label for="summary">`, `<label for="language">`, `<label for="time_zone">`, "4.5 to 1", `value="` + rig.Board.Accent() + `"`, `rel="icon"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the settings page lacks %s", want)
		}
	}
	csrf := hiddenValue(t, page, "csrf")
	post := func(fields map[string]string, logo []byte) (int, string) {
		t.Helper()
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		for k, v := range fields {
			mw.WriteField(k, v)
		}
		if logo != nil {
			fw, _ := mw.CreateFormFile("logo", "logo.jpg")
			fw.Write(logo)
		}
		mw.Close()
		resp, err := e.client.Post(e.url+"/edit/news/settings", mw.FormDataContentType(), &body)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	fields := map[string]string{"csrf": csrf, "display_name": "Our news", "summary": "What happens", "language": "fr", "time_zone": "Europe/Paris", "accent": "#ffcc00"}
	// A light colour with a logo: the colour is refused next to its
	// field, the logo is kept with the form.
	code, page := post(fields, photoJPEG(t, 200, 200))
	if code != http.StatusBadRequest {
		t.Fatalf("a light colour: %d", code)
	}
	m := regexp.MustCompile(`<span class="error" id="accent-error">([^<]*)</span>`).FindStringSubmatch(page)
	if m == nil || !strings.Contains(m[1], "darker") || !strings.Contains(page, `aria-describedby="accent-rule accent-error"`) {
		t.Fatalf("the accent's error is not by its field:\n%s", page)
	}
	logo := hiddenValue(t, page, "logo_id")
	if logo == "" || !strings.Contains(page, `src="https://board.example/boards/news/media/`+logo+`"`) {
		t.Fatalf("the logo sent was not kept and shown (logo_id %q)", logo)
	}
	if b, _ := rig.Store.BoardByName(ctx, "news"); b.DisplayName != "News" || b.Logo != "" {
		t.Fatalf("a refused form changed the board: %+v", b)
	}
	fields["accent"], fields["logo_id"] = "#1d4ed8", logo
	if code, page = post(fields, nil); code != http.StatusOK || !strings.Contains(page, "The board’s settings are saved.") {
		t.Fatalf("save: %d\n%s", code, page)
	}
	b, _ := rig.Store.BoardByName(ctx, "news")
	if b.DisplayName != "Our news" || b.Summary != "What happens" || b.Language != "fr" || b.TimeZone != "Europe/Paris" || b.AccentColour != "#1d4ed8" || b.Logo != logo {
		t.Fatalf("saved: %+v", b)
	}
	fields["accent_default"], fields["remove_logo"] = "on", "on"
	if code, _ = post(fields, nil); code != http.StatusOK {
		t.Fatalf("back to defaults: %d", code)
	}
	if b, _ := rig.Store.BoardByName(ctx, "news"); b.AccentColour != "" || b.Logo != "" {
		t.Errorf("defaults: accent %q logo %q", b.AccentColour, b.Logo)
	}
}
