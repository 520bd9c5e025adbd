package activitypub

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"crieur/board/boardtest"
)

// On a French board, every kind reads French on Mastodon and GoToSocial,
// which read the object as plain JSON: content, content warning, poll
// options, and the language they file it under.
func TestEveryKindInFrenchOnTheFediverse(t *testing.T) {
	s, _, _ := newTestServer(t)
	b := boardtest.FrenchBoard()
	tags := regexp.MustCompile(`<[^>]*>`)
	for _, a := range boardtest.EveryKind(b, time.Date(2026, 12, 18, 18, 0, 0, 0, time.UTC)) {
		doc, err := s.note(b, a)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(doc)
		var obj struct {
			Content    string                  `json:"content"`
			ContentMap map[string]string       `json:"contentMap"`
			Summary    string                  `json:"summary"`
			OneOf      []struct{ Name string } `json:"oneOf"`
			AnyOf      []struct{ Name string } `json:"anyOf"`
		}
		if err := json.Unmarshal(raw, &obj); err != nil {
			t.Fatal(err)
		}
		boardtest.NoEnglish(t, string(a.Kind)+" content", tags.ReplaceAllString(obj.Content, " "))
		if _, ok := obj.ContentMap["fr"]; !ok || len(obj.ContentMap) != 1 {
			t.Errorf("%s: contentMap %v, want French", a.Kind, obj.ContentMap)
		}
		var options []string
		for _, o := range append(obj.OneOf, obj.AnyOf...) {
			options = append(options, o.Name)
		}
		boardtest.NoEnglish(t, string(a.Kind)+" poll", strings.Join(options, "\n"))
		if a.Training != nil && (len(options) != 1 || options[0] != "Je viens") {
			t.Errorf("training poll options %q, want Je viens", options)
		}
		if a.Event != nil && !strings.Contains(obj.Content, "Quand\u202f: ven. 18 déc. 2026, 19:00 – 22:00 (heure de Paris)") {
			t.Errorf("%s: the time is not in Paris time, in French:\n%s", a.Kind, obj.Content)
		}
	}
	actor, err := s.actor(b)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(actor)
	boardtest.NoEnglish(t, "the board's profile", string(raw))
}

// A closed poll's closed time is the same at every fetch (it was the time
// of the fetch for a cancelled training), and votersCount is a term of the
// context, as Mastodon's serializer names it, so a JSON-LD reader keeps it
// (issue 22, point 11).
func TestClosedPollIsStable(t *testing.T) {
	s, _, _ := newTestServer(t)
	b := boardtest.FrenchBoard()
	for _, a := range boardtest.EveryKind(b, time.Date(2026, 12, 18, 18, 0, 0, 0, time.UTC)) {
		if a.Training == nil {
			continue
		}
		a.Training.Cancelled = true
		first, err := s.note(b, a)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		again, _ := s.note(b, a)
		if first["closed"] == nil || first["closed"] != again["closed"] {
			t.Errorf("closed %v, then %v", first["closed"], again["closed"])
		}
	}
	ctx, _ := json.Marshal(jsonLDContext)
	if !strings.Contains(string(ctx), `"votersCount":"toot:votersCount"`) {
		t.Errorf("the context does not define votersCount: %s", ctx)
	}
}
