package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"crieur/board"
	"crieur/board/boardtest"
	"crieur/board/httpx"
	"crieur/board/media"
)

// linkCard is the preview card Mastodon builds from a page (title,
// description, image URL and its description, and whether the page is an
// article).
type linkCard struct {
	Title, Description, Image, ImageAlt string
	Article                             bool
	StructuredType                      string // the JSON-LD it read, if any
}

// mastodonCard reads page the way Mastodon's LinkDetailsExtractor does
// (app/lib/link_details_extractor.rb, read 2026-12-05):
//   - opengraph_tag(name): the first <meta property=name or name=name>'s
//     content; meta_tag(name): the first <meta name=name>;
//   - structured data: the first <script type="application/ld+json"> whose
//     JSON (an object, or an array of them) holds an object whose @type is
//     exactly the string "NewsArticle" or "WebPage" (SUPPORTED_TYPES);
//     other types are ignored;
//   - title = structured headline || og:title || <title>, stripped;
//   - description = structured description || og:description ||
//     meta description;
//   - image = og:image only (never the JSON-LD's), resolved against the
//     page's URL, http(s) only; image_description = og:image:alt;
//   - link_type :article when the JSON-LD is a NewsArticle or og:type is
//     "article".
func mastodonCard(t *testing.T, pageURL, page string) linkCard {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var metas [][2]string // (property or name, content), in document order
	var metaNames [][2]string
	var scripts []string
	var title string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attr := map[string]string{}
			for _, a := range n.Attr {
				attr[a.Key] = a.Val
			}
			switch n.Data {
			case "meta":
				if p, ok := attr["property"]; ok {
					metas = append(metas, [2]string{p, attr["content"]})
				} else if nm, ok := attr["name"]; ok {
					metas = append(metas, [2]string{nm, attr["content"]})
				}
				if nm, ok := attr["name"]; ok {
					metaNames = append(metaNames, [2]string{nm, attr["content"]})
				}
			case "script":
				if attr["type"] == "application/ld+json" && n.FirstChild != nil {
					scripts = append(scripts, n.FirstChild.Data)
				}
			case "title":
				if title == "" && n.FirstChild != nil {
					title = n.FirstChild.Data
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	og := func(name string) (string, bool) {
		for _, m := range metas {
			if m[0] == name {
				return m[1], true
			}
		}
		return "", false
	}
	var sd map[string]any
	for _, s := range scripts {
		var root any
		if json.Unmarshal([]byte(html.UnescapeString(s)), &root) != nil {
			continue
		}
		list, ok := root.([]any)
		if !ok {
			list = []any{root}
		}
		for _, o := range list {
			if obj, ok := o.(map[string]any); ok {
				if typ, _ := obj["@type"].(string); typ == "NewsArticle" || typ == "WebPage" {
					sd = obj
					break
				}
			}
		}
		if sd != nil {
			break
		}
	}
	first := func(vals ...any) string {
		for _, v := range vals {
			if s, ok := v.(string); ok {
				return s
			}
		}
		return ""
	}
	var c linkCard
	var headline, desc any
	if sd != nil {
		headline, desc = sd["headline"], sd["description"]
		c.StructuredType, _ = sd["@type"].(string)
	}
	ogTitle, okT := og("og:title")
	ogDesc, okD := og("og:description")
	var metaDesc any
	for _, m := range metaNames {
		if m[0] == "description" {
			metaDesc = m[1]
			break
		}
	}
	var t1, d1 any
	if okT {
		t1 = ogTitle
	}
	if okD {
		d1 = ogDesc
	}
	c.Title = strings.TrimSpace(first(headline, t1, title))
	c.Description = first(desc, d1, metaDesc)
	if img, ok := og("og:image"); ok && img != "" {
		base, _ := url.Parse(pageURL)
		if u, err := base.Parse(img); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
			c.Image = u.String()
		}
	}
	c.ImageAlt, _ = og("og:image:alt")
	ogType, _ := og("og:type")
	c.Article = c.StructuredType == "NewsArticle" || ogType == "article"
	return c
}

// photoJPEG is a w×h photo: red on the left, blue on the right.
func photoJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{200, 0, 0, 255}
			if x >= w/2 {
				c = color.RGBA{0, 0, 200, 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pagesServer serves rig's public pages; links point at board.example,
// fetch maps them to the test server.
type pagesServer struct {
	t   *testing.T
	srv *httptest.Server
}

func newPagesServer(t *testing.T, rig *boardtest.Rig, mediaDir string) *pagesServer {
	mux := httpx.NewRoutes()
	p := NewPages(rig.Store, rig.Service, boardtest.Links{}, media.Dir(mediaDir), slog.New(slog.DiscardHandler))
	p.Register(mux)
	// The announcement's page is served by activitypub by the Accept
	// header; here, by the pages alone.
	mux.Handle("GET /boards/{board}/a/{id}", httpx.Public, p.withAnnouncement(p.Announcement))
	mux.Handle("GET /boards/{board}", httpx.Public, p.withBoard(p.Board))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &pagesServer{t: t, srv: srv}
}

func (s *pagesServer) get(link string, header ...string) (*http.Response, []byte) {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.srv.URL+strings.TrimPrefix(link, "https://board.example"), nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func TestMastodonLinkCard(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	rig := boardtest.New(t, boardtest.WithPictures(dir))
	b := rig.Board
	im, err := rig.Service.Upload(ctx, b, photoJPEG(t, 900, 900))
	if err != nil {
		t.Fatal(err)
	}
	im.Alt = "Jam jars on a stall"
	news, _, err := rig.Service.Create(ctx, board.System, b, board.Draft{Kind: board.KindNews, Title: "Market day",
		Body: "We sold **everything** by noon.", Images: []board.Image{im}}, "")
	if err != nil {
		t.Fatal(err)
	}
	hidden, _, err := rig.Service.Create(ctx, board.System, b, board.Draft{Kind: board.KindNews, Title: "Committee news",
		Body: "The treasurer resigned over the accounts.", ContentWarning: "internal matters", Images: []board.Image{im}}, "")
	if err != nil {
		t.Fatal(err)
	}
	s := newPagesServer(t, rig, dir)

	link := fmt.Sprintf("https://board.example/boards/news/a/%d", news.ID)
	_, page := s.get(link)
	c := mastodonCard(t, link, string(page))
	if c.Title != "Market day" || !strings.Contains(c.Description, "We sold everything by noon.") || !c.Article || c.StructuredType != "NewsArticle" {
		t.Errorf("card of a news item: %+v", c)
	}
	if c.ImageAlt != "Jam jars on a stall" {
		t.Errorf("image alt %q", c.ImageAlt)
	}
	resp, data := s.get(c.Image)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" || !strings.Contains(resp.Header.Get("Cache-Control"), "max-age=31536000") {
		t.Fatalf("og:image %s: %d %q %q", c.Image, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"))
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || format != "jpeg" || cfg.Width != 1200 || cfg.Height != 630 {
		t.Fatalf("og:image is %s %dx%d (%v), want a 1200x630 JPEG", format, cfg.Width, cfg.Height, err)
	}
	for _, want := range []string{`<meta property="og:image:width" content="1200">`, `<meta property="og:image:height" content="630">`, `<meta property="og:image:type" content="image/jpeg">`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	var ld map[string]any
	if err := json.Unmarshal([]byte(between(t, string(page), `<script type="application/ld+json">`, `</script>`)), &ld); err != nil || ld["image"] != c.Image {
		t.Errorf("JSON-LD image %v, want %s (%v)", ld["image"], c.Image, err)
	}

	// Behind a content warning: the warning, never the text or picture.
	link = fmt.Sprintf("https://board.example/boards/news/a/%d", hidden.ID)
	_, page = s.get(link)
	c = mastodonCard(t, link, string(page))
	if strings.Contains(string(page[:strings.Index(string(page), "</head>")]), "treasurer") {
		t.Error("the head shows the text a content warning hides")
	}
	if c.Title != "Committee news" || c.Description != "internal matters" {
		t.Errorf("card behind a content warning: %+v", c)
	}
	if strings.Contains(c.Image, "/card.jpg") || c.ImageAlt == im.Alt {
		t.Errorf("the card shows the hidden picture: %s %q", c.Image, c.ImageAlt)
	}
	resp, data = s.get(c.Image)
	cfg, format, err = image.DecodeConfig(bytes.NewReader(data))
	if resp.StatusCode != 200 || format != "png" || cfg.Width != 400 || cfg.Height != 400 {
		t.Errorf("the board's icon instead: %d %s %dx%d %v", resp.StatusCode, format, cfg.Width, cfg.Height, err)
	}

	// An event stays an Event: Mastodon reads no JSON-LD there and builds
	// the same card from the og: tags.
	start := time.Now().Add(48 * time.Hour)
	ev, _, err := rig.Service.Create(ctx, board.System, b, board.Draft{Kind: board.KindEvent, Title: "Repair café",
		Body: "Bring a toaster.", Event: &board.Event{Start: start, Place: "Town hall"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	link = fmt.Sprintf("https://board.example/boards/news/a/%d", ev.ID)
	_, page = s.get(link)
	c = mastodonCard(t, link, string(page))
	if c.StructuredType != "" || c.Title != "Repair café" || !strings.Contains(c.Description, "Bring a toaster.") || !strings.Contains(c.Description, "Town hall") || c.Image == "" {
		t.Errorf("card of an event: %+v", c)
	}
	if !strings.Contains(string(page), `"@type":"Event"`) {
		t.Error("the event's page lost its Event JSON-LD")
	}
}

func between(t *testing.T, s, from, to string) string {
	t.Helper()
	_, after, ok := strings.Cut(s, from)
	if !ok {
		t.Fatalf("no %s in the page", from)
	}
	in, _, _ := strings.Cut(after, to)
	return in
}

func TestBoardIcons(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	rig := boardtest.New(t, boardtest.WithPictures(dir))
	s := newPagesServer(t, rig, dir)
	_, page := s.get("/boards/news")
	fav := between(t, string(page), `<link rel="icon" type="image/png" sizes="48x48" href="`, `"`)
	touch := between(t, string(page), `<link rel="apple-touch-icon" sizes="180x180" href="`, `"`)
	check := func(link string, size int) *http.Response {
		t.Helper()
		resp, data := s.get(strings.ReplaceAll(link, "&amp;", "&"))
		cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || format != "png" || cfg.Width != size || cfg.Height != size {
			t.Fatalf("%s: %d %q %s %dx%d %v", link, resp.StatusCode, resp.Header.Get("Content-Type"), format, cfg.Width, cfg.Height, err)
		}
		return resp
	}
	if resp := check(fav, FaviconSize); !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("versioned favicon not kept: %q", resp.Header.Get("Cache-Control"))
	}
	check(touch, TouchIconSize)
	resp := check("/boards/news/icon.png", AvatarSize)
	etag := resp.Header.Get("ETag")
	if strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || etag == "" {
		t.Errorf("the bare avatar address: %q, ETag %q", resp.Header.Get("Cache-Control"), etag)
	}
	if resp, _ := s.get("/boards/news/icon.png", "If-None-Match", etag); resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", resp.StatusCode)
	}
	check("/favicon.ico", FaviconSize)

	// A logo changes every icon and their addresses.
	b := rig.Board
	logo, err := rig.Service.Upload(ctx, b, photoJPEG(t, 300, 150))
	if err != nil {
		t.Fatal(err)
	}
	b.Logo = logo.ID
	if _, err := rig.Service.SetBoard(ctx, b); err != nil {
		t.Fatal(err)
	}
	_, page = s.get("/boards/news")
	if fav2 := between(t, string(page), `<link rel="icon" type="image/png" sizes="48x48" href="`, `"`); fav2 == fav {
		t.Error("the favicon's address did not change with the logo")
	}
	if resp, _ := s.get("/boards/news/icon.png", "If-None-Match", etag); resp.StatusCode != 200 {
		t.Errorf("the old ETag still matches after a new logo: %d", resp.StatusCode)
	}
	_, data := s.get("/boards/news/icon.png")
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	// Fitted and centred on white: the top margin is white, the middle
	// holds the logo's red (left) and blue (right).
	if r, g, bl, _ := img.At(200, 10).RGBA(); r>>8 < 245 || g>>8 < 245 || bl>>8 < 245 {
		t.Errorf("top margin %v, want white", img.At(200, 10))
	}
	if r, _, _, _ := img.At(120, 200).RGBA(); r>>8 < 150 {
		t.Errorf("left of centre %v, want the logo's red", img.At(120, 200))
	}
	if _, _, bl, _ := img.At(280, 200).RGBA(); bl>>8 < 150 {
		t.Errorf("right of centre %v, want the logo's blue", img.At(280, 200))
	}
}
