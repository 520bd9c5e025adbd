package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"strings"
	"testing"
	"time"

	"crieur/board/boardtest"
)

func TestEditorPictureKeptThroughAMistake(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t, boardtest.WithPictures(t.TempDir()))
	b := rig.Board
	e := signIn(t, rig, time.UTC)
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
	code, page := post("/edit/news/new", fields, boardtest.Photo(t))
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
	list, _ := rig.Store.Announcements(ctx, b.ID, 0, 1)
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
	if a, _ := rig.Store.Announcement(ctx, b.ID, id); len(a.Images) != 0 || a.Version != 2 {
		t.Errorf("after removing the picture: %d images, version %d", len(a.Images), a.Version)
	}
}
