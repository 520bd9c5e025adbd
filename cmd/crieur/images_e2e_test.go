package main

// Acceptance tests of pictures: uploaded through the API, received with
// their descriptions by a Fedify follower and as m.image in Dendrite rooms.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// testJPEG is a 120×80 photo.
func testJPEG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 120, 80))
	for x := range 120 {
		for y := range 80 {
			img.Set(x, y, color.RGBA{uint8(x * 2), uint8(y * 3), 90, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type uploaded struct {
	ID     string `json:"id"`
	Path   string `json:"path"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

// upload sends a picture to the board's media endpoint as multipart.
func (c *crieurProc) upload(data []byte) uploaded {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "photo.jpg")
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", c.URL+"/api/v1/boards/news/media", &body)
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var up uploaded
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 || json.Unmarshal(raw, &up) != nil {
		c.t.Fatalf("upload: %d %s", resp.StatusCode, raw)
	}
	return up
}

func TestPictureReachesFedifyWithItsDescription(t *testing.T) {
	t.Parallel() // waits more than it computes
	c := startCrieur(t, t.TempDir(), 0)
	p := startPeer(t)
	p.follow(c)
	up := c.upload(testJPEG(t))
	const alt = "Our stall at the fair, with jam jars"
	a, code := c.post(map[string]any{"title": "Thank you!", "body": "We sold everything.", "images": []map[string]any{{"id": up.ID, "alt": alt}}}, nil)
	if code != 201 {
		t.Fatalf("post: %d", code)
	}
	create := p.waitActivity("Create", c.objectURL(a.ID))
	if len(create.Attachments) != 1 {
		t.Fatalf("Fedify read %d attachments, want 1: %s", len(create.Attachments), create.Object)
	}
	got := create.Attachments[0]
	if got.Name != alt || got.MediaType != "image/jpeg" || got.Width != 120 || got.Height != 80 || got.Type != "Document" {
		t.Errorf("Fedify read the picture as %+v", got)
	}
	code, pic := page(t, got.URL, "")
	if code != 200 || !strings.HasPrefix(pic, "\xFF\xD8") {
		t.Errorf("the picture's address answers %d", code)
	}
	if _, own := page(t, c.objectURL(a.ID), "text/html"); !strings.Contains(own, `alt="`+alt+`"`) {
		t.Error("the announcement's page does not show the picture with its description")
	}
	c.waitQueueIdle()
	before := len(p.state().Received)
	if code := c.api("PATCH", fmt.Sprintf("/api/v1/boards/news/announcements/%d", a.ID), map[string]any{}, nil, nil); code != 200 {
		t.Fatalf("unchanged save: %d", code)
	}
	c.waitQueueIdle()
	time.Sleep(300 * time.Millisecond)
	if n := len(p.state().Received); n != before {
		t.Errorf("an unchanged save sent %d activities", n-before)
	}
}

// The picture as an m.image in both rooms, read back from the
// homeserver's media repository; a deletion takes it back too.
func TestMatrixPictureAsImageEvent(t *testing.T) {
	t.Parallel() // waits more than it computes
	m := newMatrixRig(t)
	data := testJPEG(t)
	up := m.c.upload(data)
	_, served := page(t, m.c.URL+up.Path, "")
	const alt = "Our stall at the fair, with jam jars"
	deco := m.c.upload(testJPEG(t))
	a, code := m.c.post(map[string]any{"title": "Thank you!", "body": "We sold everything.", "images": []map[string]any{{"id": up.ID, "alt": alt}, {"id": deco.ID, "decorative": true}}}, nil)
	if code != 201 {
		t.Fatalf("post: %d", code)
	}
	images := map[id.RoomID]*event.Event{}
	for _, room := range m.rooms {
		m.waitPost(t, room, "Thank you!")
		var pictures []*event.Event
		waitFor(t, 20*time.Second, "the pictures in "+room.String(), func() bool {
			pictures = nil
			for _, evt := range m.botMessages(t, room) {
				if msg := evt.Content.AsMessage(); msg.MsgType == event.MsgImage {
					pictures = append(pictures, evt)
				}
			}
			return len(pictures) == 2
		})
		images[room] = pictures[0]
		msg := images[room].Content.AsMessage()
		if msg.Body != alt || msg.Info == nil || msg.Info.MimeType != "image/jpeg" || msg.Info.Width != 120 || msg.Info.Height != 80 || msg.Info.Blurhash == "" {
			t.Errorf("m.image in %s: %+v %+v", room, msg, msg.Info)
		}
		// Issue 24, point 6: what a Matrix 1.10 client shows: a caption
		// only when filename is set and differs from body. The
		// description is the picture's alternative text, not a caption;
		// a decorative picture has none to read aloud.
		if msg.FileName != "" && msg.FileName != msg.Body {
			t.Errorf("room %s shows %q as a caption under the picture (filename %q)", room, msg.Body, msg.FileName)
		}
		if d := pictures[1].Content.AsMessage(); d.Body != "" || d.FileName != "" {
			t.Errorf("the decorative picture reads %q (filename %q)", d.Body, d.FileName)
		}
		mxc, err := msg.URL.Parse()
		if err != nil {
			t.Fatalf("mxc %q: %v", msg.URL, err)
		}
		got, err := m.reader.DownloadBytes(context.Background(), mxc)
		if err != nil || !bytes.Equal(got, []byte(served)) {
			t.Errorf("downloading %s from the homeserver: %v (%d bytes, want %d)", mxc, err, len(got), len(served))
		}
	}
	m.c.waitQueueIdle()
	if code := m.c.api("PATCH", fmt.Sprintf("/api/v1/boards/news/announcements/%d", a.ID), map[string]any{}, nil, nil); code != 200 {
		t.Fatalf("unchanged save: %d", code)
	}
	m.c.waitQueueIdle()
	for _, room := range m.rooms {
		if n := len(m.botMessages(t, room)); n != 3 {
			t.Errorf("room %s has %d messages from the bot, want the text and the two pictures", room, n)
		}
	}
	if code := m.c.api("DELETE", fmt.Sprintf("/api/v1/boards/news/announcements/%d", a.ID), nil, nil, nil); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	for _, room := range m.rooms {
		waitFor(t, 20*time.Second, "the picture's redaction in "+room.String(), func() bool {
			evt, err := m.reader.GetEvent(context.Background(), room, images[room].ID)
			return err == nil && evt.Unsigned.RedactedBecause != nil
		})
	}
}
