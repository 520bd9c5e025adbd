package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"crieur/board/boardtest"
	"crieur/board/httpx"
	"crieur/board/media"
	"crieur/board/web"
)

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
	rig := boardtest.New(t, boardtest.WithPictures(t.TempDir()))
	svc := rig.Service
	admin, _ := rig.Store.CreateToken(ctx, nil, "admin")
	mux := httpx.NewRoutes()
	New(svc, rig.Store, nil, 4096, slog.New(slog.DiscardHandler)).Register(mux)
	web.NewPages(rig.Store, svc, boardtest.Links{}, rig.Options.Pictures.(media.Dir), slog.New(slog.DiscardHandler)).Register(mux)
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
	code, up := upload(multipartBody(t, "file", boardtest.Photo(t)))
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
		if code, out := do(t, srv, "POST", path, admin, "application/json", c.body); code != 400 || out["fields"].(map[string]any)[c.field] == nil {
			t.Errorf("%s: %d %v, want 400 naming %s", c.body, code, out, c.field)
		}
	}
	code, a := do(t, srv, "POST", path, admin, "application/json", `{"title":"Fair","images":[{"id":"`+id+`","alt":"Our stall, with jam jars"}]}`)
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
