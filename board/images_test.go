package board

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
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// testPhoto is a small JPEG.
func testPhoto(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := range 64 {
		img.Set(x, 10, color.RGBA{0, 100, 200, 255})
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func multipartBody(t *testing.T, field string, data []byte) (string, *bytes.Buffer) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile(field, "photo.jpg")
	fw.Write(data)
	mw.Close()
	return mw.FormDataContentType(), &body
}

func TestImagesUploadAttachServe(t *testing.T) {
	ctx := context.Background()
	svc, b := newTestService(t)
	svc.SetMediaDir(t.TempDir())
	admin, _ := svc.Store().CreateToken(ctx, nil, "admin")
	mux := http.NewServeMux()
	NewAPI(svc, nil, 4096, slog.New(slog.DiscardHandler)).Register(mux)
	pages := NewPages(svc.Store(), testLinks{}, slog.New(slog.DiscardHandler))
	pages.SetService(svc)
	mux.HandleFunc("GET /boards/{board}/media/{name}", func(w http.ResponseWriter, r *http.Request) { pages.Media(w, r, b) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	upload := func(ct string, body io.Reader) (int, map[string]any) {
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/boards/news/media", body)
		req.Header.Set("Authorization", "Bearer "+admin)
		req.Header.Set("Content-Type", ct)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if code, out := upload(multipartBody(t, "file", []byte("%PDF-1.7"))); code != 400 || !strings.Contains(fmt.Sprint(out), "JPEG, PNG, GIF or WebP") {
		t.Errorf("a PDF: %d %v", code, out)
	}
	if code, _ := upload("application/json", strings.NewReader(`{}`)); code != 415 {
		t.Errorf("JSON instead of a picture: %d", code)
	}
	code, up := upload(multipartBody(t, "file", testPhoto(t)))
	if code != 201 || up["width"] != float64(64) || up["media_type"] != "image/jpeg" || up["blurhash"] == "" {
		t.Fatalf("upload: %d %v", code, up)
	}
	id := up["id"].(string)

	const path = "/api/v1/boards/news/announcements"
	for _, c := range []struct{ body, field string }{
		{`{"title":"Fair","images":[{"id":"` + id + `"}]}`, "images[0].alt"},
		{`{"title":"Fair","images":[{"id":"` + id + `","alt":"x","decorative":true}]}`, "images[0].alt"},
		{`{"title":"Fair","images":[{"id":"` + strings.Repeat("a", 64) + `.jpg","alt":"x"}]}`, "images[0].id"},
	} {
		if code, out := call(t, srv, "POST", path, admin, "application/json", c.body); code != 400 || out["fields"].(map[string]any)[c.field] == nil {
			t.Errorf("%s: %d %v, want 400 naming %s", c.body, code, out, c.field)
		}
	}
	code, a := call(t, srv, "POST", path, admin, "application/json", `{"title":"Fair","images":[{"id":"`+id+`","alt":"Our stall, with jam jars"}]}`)
	if code != 201 {
		t.Fatalf("create with an image: %d %v", code, a)
	}
	im := a["images"].([]any)[0].(map[string]any)
	if im["alt"] != "Our stall, with jam jars" || im["width"] != float64(64) || im["height"] != float64(48) || im["blurhash"] != up["blurhash"] {
		t.Errorf("stored image %v", im)
	}

	resp, err := http.Get(srv.URL + "/boards/news/media/" + id)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || len(got) != int(up["size"].(float64)) {
		t.Errorf("serving the picture: %d %v, %d bytes", resp.StatusCode, resp.Header, len(got))
	}
	if resp, _ := http.Get(srv.URL + "/boards/news/media/" + strings.Repeat("b", 64) + ".jpg"); resp.StatusCode != 404 {
		t.Errorf("an unknown picture: %d", resp.StatusCode)
	}
}

func TestEditorPictureKeptThroughAMistake(t *testing.T) {
	ctx := context.Background()
	svc, b := newTestService(t)
	svc.SetMediaDir(t.TempDir())
	e := signIn(t, svc, time.UTC)
	csrf := hiddenValue(t, e.home, "csrf")
	post := func(path string, fields map[string]string, file []byte) (int, string) {
		t.Helper()
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		for k, v := range fields {
			mw.WriteField(k, v)
		}
		if file != nil {
			fw, _ := mw.CreateFormFile("image", "photo.jpg")
			fw.Write(file)
		}
		mw.Close()
		resp, err := e.client.Post(e.url+path, mw.FormDataContentType(), &body)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		page, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(page)
	}
	fields := map[string]string{"csrf": csrf, "kind": "news", "title": "Thank you!", "body": "We sold everything.", "action": "publish"}
	code, page := post("/edit/news/new", fields, testPhoto(t))
	if code != 400 || !strings.Contains(page, "Describe the picture for people who cannot see it, or tick Decorative.") {
		t.Fatalf("a picture without a description: %d\n%s", code, page)
	}
	imageID := hiddenValue(t, page, "image_id")
	if !strings.Contains(page, `src="/boards/news/media/`+imageID+`"`) {
		t.Error("the form forgot the picture it was sent")
	}
	fields["image_id"], fields["alt"] = imageID, "Our stall, with jam jars"
	if code, page = post("/edit/news/new", fields, nil); code != 200 || !strings.Contains(page, "Published: Thank you!") {
		t.Fatalf("publish with the picture: %d\n%s", code, page)
	}
	list, _ := svc.store.Announcements(ctx, b.ID, 0, 1)
	if len(list) != 1 || len(list[0].Images) != 1 || list[0].Images[0].Alt != "Our stall, with jam jars" || list[0].Images[0].Width != 64 {
		t.Fatalf("published: %+v", list)
	}
	if code, page = post("/edit/news/new", map[string]string{"csrf": csrf, "title": "x", "action": "publish"}, []byte("not a picture")); code != 400 || !strings.Contains(page, "JPEG, PNG, GIF or WebP") {
		t.Errorf("a file that is not a picture: %d", code)
	}
	// Removing it from the edit page.
	id := list[0].ID
	edit := e.get(fmt.Sprintf("/edit/news/%d", id))
	if !strings.Contains(edit, "Our stall, with jam jars") || !strings.Contains(edit, `name="remove_image"`) {
		t.Fatal("the edit page does not show the picture and its description")
	}
	if code, page = post(fmt.Sprintf("/edit/news/%d", id), map[string]string{"csrf": csrf, "kind": "news", "title": "Thank you!", "body": "We sold everything.",
		"image_id": imageID, "alt": "Our stall, with jam jars", "remove_image": "on", "action": "publish"}, nil); code != 200 {
		t.Fatalf("remove the picture: %d\n%s", code, page)
	}
	if a, _ := svc.store.Announcement(ctx, b.ID, id); len(a.Images) != 0 || a.Version != 2 {
		t.Errorf("after removing the picture: %d images, version %d", len(a.Images), a.Version)
	}
}
