package main

// Acceptance test of a board's look: its colour and logo set from the CLI
// and the API, the icons made from them, and the link preview a Mastodon
// server builds of an announcement with a picture.

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// logoPNG is a w×h logo: a coloured disc on transparency.
func logoPNG(t *testing.T, w, h int, c color.NRGBA) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			dx, dy := x-w/2, y-h/2
			if dx*dx+dy*dy < (min(w, h)/2)*(min(w, h)/2) {
				img.Set(x, y, c)
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestBoardIdentity(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	logoFile := filepath.Join(dir, "logo.png")
	if err := os.WriteFile(logoFile, logoPNG(t, 300, 300, color.NRGBA{200, 0, 0, 255}), 0o600); err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) (string, error) { return runCLI("", nil, append(args, "--data", dir)...) }
	if out, err := cli("board", "create", "news", "--accent", "#ffcc00"); err == nil || !strings.Contains(out, "darker") || !strings.Contains(out, "1.51:1") {
		t.Fatalf("a light accent from the CLI: %v\n%s", err, out)
	}
	if out, err := cli("board", "create", "news", "--display-name", "News", "--accent", "#1d4ed8", "--logo", logoFile); err != nil {
		t.Fatalf("create with a logo: %v\n%s", err, out)
	}
	c := startCrieur(t, dir, 0)
	get := func(link string, accept string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", link, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	decoded := func(link, mediaType string) image.Image {
		t.Helper()
		resp, body := get(link, "")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != mediaType {
			t.Fatalf("%s: %d %q", link, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		img, _, err := image.Decode(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: %v", link, err)
		}
		return img
	}
	red := func(c color.Color) bool { r, g, b, _ := c.RGBA(); return r>>8 > 150 && g>>8 < 60 && b>>8 < 60 }
	// The CLI's logo, fitted on white, is the avatar.
	avatar := decoded(c.URL+"/boards/news/icon.png", "image/png")
	if b := avatar.Bounds(); b.Dx() != 400 || b.Dy() != 400 || !red(avatar.At(200, 200)) {
		t.Fatalf("avatar from the CLI's logo: %v, centre %v", avatar.Bounds(), avatar.At(200, 200))
	}

	// Through the API: a green logo and another colour.
	var settings map[string]any
	if code := c.api("PATCH", "/api/v1/boards/news", map[string]any{"accent": "#eeeeee"}, nil, &settings); code != 400 {
		t.Errorf("a light accent through the API: %d %v", code, settings)
	}
	up := c.upload(logoPNG(t, 200, 200, color.NRGBA{0, 150, 0, 255}))
	if code := c.api("PATCH", "/api/v1/boards/news", map[string]any{"accent": "#0a5c36", "logo": up.ID, "summary": "Our news"}, nil, &settings); code != 200 ||
		settings["accent_shown"] != "#0a5c36" || settings["logo"] != up.ID {
		t.Fatalf("PATCH the board: %d %v", code, settings)
	}

	const alt = "Jam jars on the stall"
	photo := c.upload(testJPEG(t))
	a, code := c.post(map[string]any{"title": "Market day", "body": "We sold **everything** by noon.", "images": []map[string]any{{"id": photo.ID, "alt": alt}}}, nil)
	if code != 201 {
		t.Fatalf("post: %d", code)
	}
	resp, page := get(c.objectURL(a.ID), "text/html")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("page: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	head, _, _ := strings.Cut(string(page), "</head>")
	meta := func(property string) string {
		t.Helper()
		m := regexp.MustCompile(`<meta property="` + regexp.QuoteMeta(property) + `" content="([^"]*)">`).FindStringSubmatch(head)
		if m == nil {
			t.Fatalf("no %s in the head:\n%s", property, head)
		}
		return strings.ReplaceAll(m[1], "&amp;", "&")
	}
	link := func(rel string) string {
		t.Helper()
		m := regexp.MustCompile(`<link rel="` + rel + `"[^>]* href="([^"]*)">`).FindStringSubmatch(head)
		if m == nil {
			t.Fatalf("no %s link in the head:\n%s", rel, head)
		}
		return strings.ReplaceAll(m[1], "&amp;", "&")
	}
	if meta("og:title") != "Market day" || meta("og:image:alt") != alt || meta("og:image:type") != "image/jpeg" || meta("og:image:width") != "1200" || meta("og:image:height") != "630" {
		t.Errorf("og tags:\n%s", head)
	}
	ld := regexp.MustCompile(`<script type="application/ld\+json">([^<]*)</script>`).FindStringSubmatch(head)
	var doc map[string]any
	if ld == nil || json.Unmarshal([]byte(ld[1]), &doc) != nil || doc["@type"] != "NewsArticle" || doc["image"] != meta("og:image") || doc["headline"] != "Market day" {
		t.Errorf("JSON-LD for Mastodon: %v", doc)
	}
	card := meta("og:image")
	resp, body := get(card, "")
	cfg, format, err := image.DecodeConfig(bytes.NewReader(body))
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" || err != nil || format != "jpeg" || cfg.Width != 1200 || cfg.Height != 630 ||
		!strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("og:image %s: %d %q %s %dx%d %v", card, resp.StatusCode, resp.Header.Get("Content-Type"), format, cfg.Width, cfg.Height, err)
	}
	green := func(c color.Color) bool { r, g, b, _ := c.RGBA(); return g>>8 > 100 && r>>8 < 60 && b>>8 < 60 }
	for _, ic := range []struct {
		rel  string
		size int
	}{{"icon", 48}, {"apple-touch-icon", 180}} {
		img := decoded(link(ic.rel), "image/png")
		if b := img.Bounds(); b.Dx() != ic.size || b.Dy() != ic.size || !green(img.At(ic.size/2, ic.size/2)) {
			t.Errorf("%s: %v, centre %v (want the API's green logo)", ic.rel, img.Bounds(), img.At(ic.size/2, ic.size/2))
		}
	}
	if avatar := decoded(c.URL+"/boards/news/icon.png", "image/png"); avatar.Bounds().Dx() != 400 || !green(avatar.At(200, 200)) {
		t.Errorf("the avatar after the API's logo: %v %v", avatar.Bounds(), avatar.At(200, 200))
	}
	if fav := decoded(c.URL+"/favicon.ico", "image/png"); fav.Bounds().Dx() != 48 || !green(fav.At(24, 24)) {
		t.Errorf("/favicon.ico: %v", fav.Bounds())
	}
	// The actor's icon is that avatar, and says what it is.
	var actor struct {
		Icon struct {
			URL       string `json:"url"`
			MediaType string `json:"mediaType"`
		} `json:"icon"`
	}
	_, raw := get(c.URL+"/boards/news", "application/activity+json")
	// Its address changes with the logo: Mastodon downloads an avatar
	// again only when its address changes (remotable.rb).
	if err := json.Unmarshal(raw, &actor); err != nil || !strings.HasPrefix(actor.Icon.URL, c.URL+"/boards/news/icon.png?v=") || actor.Icon.MediaType != "image/png" {
		t.Errorf("actor icon: %+v %v", actor.Icon, err)
	} else if avatar := decoded(actor.Icon.URL, "image/png"); avatar.Bounds().Dx() != 400 || !green(avatar.At(200, 200)) {
		t.Errorf("the actor's icon is not the logo's avatar: %v", avatar.Bounds())
	}
}
