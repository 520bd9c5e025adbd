package activitypub

import (
	"bytes"
	"encoding/json"
	"testing"
)

// encodePayload writes the very bytes json.Marshal writes (so queues
// written before and after it read the same, both ways), and
// decodePayload reads them back, and reads json.Marshal's.
func TestPayloadIsWhatJSONWrites(t *testing.T) {
	activities := []any{
		map[string]any{"type": "Create", "object": map[string]any{"content": `<p>Tom & Jerry's "café" ,"activity":{} </p>`, "tag": []any{}}},
		map[string]any{"type": "Delete", "object": "https://b.example/a/1"},
		map[string]any{"type": "Note", "n": 1.5, "inner": map[string]any{"activity": map[string]any{"x": 1}}},
	}
	heads := []deliverPayload{
		{Board: "news", KeyID: "https://b.example/boards/news#main-key", Inbox: "https://m.example/inbox"},
		{Board: "café", KeyID: `https://b.example/"quoted",x#k`, Inbox: `https://m.example/in<b>ox?a=1&b=,"activity":2`},
		{Board: "", KeyID: "", Inbox: ""},
	}
	for _, a := range activities {
		body, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range heads {
			h.Activity = body
			want, err := json.Marshal(h)
			if err != nil {
				t.Fatal(err)
			}
			got, err := encodePayload(h)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("encodePayload:\n got %s\nwant %s", got, want)
			}
			back, err := decodePayload(got)
			if err != nil || back.Board != h.Board || back.KeyID != h.KeyID || back.Inbox != h.Inbox || !bytes.Equal(back.Activity, body) {
				t.Errorf("decodePayload(%s) = %+v, %v", got, back, err)
			}
		}
	}
}

// Payloads in another shape (another writer, spaces, the activity first)
// are read in full; what is not JSON is refused.
func TestPayloadOtherShapes(t *testing.T) {
	for _, raw := range []string{
		`{"activity":{"type":"Create"},"board":"news","key_id":"k","inbox":"https://m.example/inbox"}`,
		`{ "board": "news", "key_id": "k", "inbox": "https://m.example/inbox", "activity": {"type":"Create"} }`,
		`{"board":"news","key_id":"k","inbox":"https://m.example/inbox","activity":{"type":"Create"}}` + "\n",
		`{"board":"news","activity":{"type":"Update"},"key_id":"k","inbox":"https://m.example/inbox","activity":{"type":"Create"}}`,
	} {
		p, err := decodePayload([]byte(raw))
		if err != nil || p.Board != "news" || p.Inbox != "https://m.example/inbox" || p.KeyID != "k" {
			t.Errorf("decodePayload(%s) = %+v, %v", raw, p, err)
			continue
		}
		var a map[string]any
		if err := json.Unmarshal(p.Activity, &a); err != nil || a["type"] != "Create" {
			t.Errorf("decodePayload(%s): activity %s (%v)", raw, p.Activity, err)
		}
	}
	for _, raw := range []string{``, `{`, `{"board":"news","activity":{"type":"Create"}`, `{"board":1,"key_id":"k","inbox":"i","activity":{}}`, `null,"activity":{}}`} {
		if p, err := decodePayload([]byte(raw)); err == nil {
			t.Errorf("decodePayload(%q) = %+v, want an error", raw, p)
		}
	}
}

func BenchmarkPayloadDecode(b *testing.B) {
	body, _ := json.Marshal(map[string]any{"type": "Create", "object": map[string]any{"content": string(bytes.Repeat([]byte("We need help to run the repair café on Saturday. "), 24))}})
	raw, _ := encodePayload(deliverPayload{Board: "news", KeyID: "https://b.example/boards/news#main-key", Inbox: "https://m.example/inbox", Activity: body})
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			if _, err := decodePayload(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Unmarshal", func(b *testing.B) {
		for b.Loop() {
			var p deliverPayload
			if err := json.Unmarshal(raw, &p); err != nil {
				b.Fatal(err)
			}
		}
	})
}
