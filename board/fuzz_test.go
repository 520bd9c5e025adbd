package board_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"crieur/board"
)

// The admin API's JSON and the draft's checks: whatever comes in, decoding
// and validation end in a draft or a validation error, and a draft that
// passes satisfies the rules it was checked against.
func FuzzDraftJSON(f *testing.F) {
	f.Add([]byte(`{"kind":"call","title":"Cooks","call":{"roles":[{"name":"cook","places":2}],"contact":"a@b.org"}}`))
	f.Add([]byte(`{"kind":"event","title":"x","event":{"start":"2026-12-05T14:00:00+01:00","end":"2026-12-04T14:00:00Z"}}`))
	f.Add([]byte(`{"title":"\u200b","tags":["#a","a","A","b c"],"language":"fr-FR"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var d board.Draft
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if dec.Decode(&d) != nil {
			return
		}
		if err := d.Normalize(); err != nil {
			if _, ok := err.(*board.ValidationError); !ok {
				t.Fatalf("Normalize returned %T, not a ValidationError", err)
			}
			return
		}
		if d.Title == "" || !utf8.ValidString(d.Title) || utf8.RuneCountInString(d.Title) > board.MaxTitle || strings.ContainsAny(d.Title, "\x00\n\u202e") {
			t.Fatalf("a bad title passed: %q", d.Title)
		}
		if len(d.Tags) > board.MaxTags {
			t.Fatalf("%d tags passed", len(d.Tags))
		}
		if (d.Event != nil) != (d.Kind == board.KindEvent) || (d.Call != nil) != (d.Kind == board.KindCall) || (d.Outage != nil) != (d.Kind == board.KindOutage) {
			t.Fatalf("details of another kind passed: %+v", d)
		}
	})
}
