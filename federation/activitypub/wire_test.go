package activitypub

// The wire-shape suite reads what Crieur sends the way most fediverse
// servers do: as plain JSON, field by field, without JSON-LD expansion
// (docs/WIRE.md lists the rules and where they come from). It asserts what
// a follower's server would display, not only that the JSON is valid.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"image"
	"image/jpeg"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	xhtml "golang.org/x/net/html"
	"golang.org/x/text/unicode/norm"

	"crieur/board"
	"crieur/board/locale"
)

// shown is what a plain-JSON reader (Mastodon's StatusParser, GoToSocial's
// extractors) makes of a status.
type shown struct {
	URI, URL       string
	Text           string // the HTML body the server sanitises and shows
	ContentWarning string // the spoiler text, shown as it comes (plain text)
	Sensitive      bool
	Language       string
	Visibility     string
	Published      time.Time
	Edited         time.Time
	Tags           []string
	Problems       []string // what would make a server show it wrong
}

var (
	mastodonLanguageRe = regexp.MustCompile(`^[a-z]{2,3}$`)
	// The regional tags among Mastodon's post languages (SUPPORTED_LOCALES,
	// which StatusParser's NORMALIZED_LOCALE_NAMES is built from): only
	// ISO_639_1_REGIONAL's. pt-BR and the like are interface languages
	// (REGIONAL_LOCALE_NAMES), not languages a post or a filter has.
	mastodonRegionalLanguages = []string{"zh-CN", "zh-HK", "zh-TW", "zh-YUE"}
)

var msTimeRe = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$`)

// readStatus applies the plain-JSON readers' rules to a Note.
func readStatus(obj map[string]any, followers string) shown {
	var s shown
	bad := func(format string, a ...any) { s.Problems = append(s.Problems, fmt.Sprintf(format, a...)) }
	s.URI, _ = obj["id"].(string)
	s.URL, _ = obj["url"].(string)
	// Mastodon: content if present, else the first contentMap value. A
	// content that is not a string is dropped by GoToSocial (empty post).
	switch c := obj["content"].(type) {
	case string:
		s.Text = c
	case nil:
	default:
		bad("content is %T, not a string: GoToSocial shows an empty post", c)
	}
	cm, hasMap := obj["contentMap"].(map[string]any)
	if obj["contentMap"] != nil && !hasMap {
		bad("contentMap is %T, not an object", obj["contentMap"])
	}
	if s.Text == "" && len(cm) > 0 {
		for _, v := range cm {
			s.Text, _ = v.(string)
			break
		}
	}
	if s.Text == "" {
		bad("no content: the post is empty")
	}
	// Mastodon: language is contentMap's first key, kept as it comes
	// unless it is one Mastodon lists (status_parser.rb, language). A
	// follower who reads only some languages chooses among those
	// (languages_helper.rb: ISO 639 codes, a few regional ones).
	for k := range cm {
		s.Language = k
		break
	}
	if s.Language != "" && !mastodonLanguageRe.MatchString(s.Language) && !slices.Contains(mastodonRegionalLanguages, s.Language) {
		bad("language %q is none Mastodon lists: a follower reading only its language never gets the post", s.Language)
	}
	if len(cm) > 1 {
		bad("contentMap has %d languages; Mastodon takes an arbitrary first one", len(cm))
	}
	// GoToSocial: the content warning is summary, or name when summary is
	// absent; Mastodon: summary.
	if sum, ok := obj["summary"].(string); ok {
		s.ContentWarning = sum
	} else if obj["summary"] != nil {
		bad("summary is %T, not a string", obj["summary"])
	}
	if name, ok := obj["name"].(string); ok && obj["type"] == "Note" {
		bad("a Note carries name %q: GoToSocial shows it as the content warning", name)
		if s.ContentWarning == "" {
			s.ContentWarning = name
		}
	}
	s.Sensitive, _ = obj["sensitive"].(bool)
	if s.ContentWarning != "" && !s.Sensitive {
		bad("a content warning without sensitive: true")
	}
	for _, field := range []string{"published", "updated"} {
		v, ok := obj[field].(string)
		if !ok {
			if field == "published" {
				bad("no published time")
			}
			continue
		}
		if !msTimeRe.MatchString(v) {
			bad("%s %q has no milliseconds: posts of one second sort in any order", field, v)
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			bad("%s %q does not parse", field, v)
		}
		if field == "published" {
			s.Published = t
		} else {
			s.Edited = t
		}
	}
	// Mastodon's visibility: Public in to, then cc, then followers.
	has := func(key, v string) bool {
		switch x := obj[key].(type) {
		case string:
			return x == v
		case []any:
			for _, e := range x {
				if e == v {
					return true
				}
			}
		}
		return false
	}
	switch {
	case has("to", publicAudience):
		s.Visibility = "public"
	case has("cc", publicAudience):
		s.Visibility = "unlisted"
	case has("to", followers):
		s.Visibility = "private"
	default:
		s.Visibility = "direct"
	}
	tags, _ := obj["tag"].([]any)
	for _, t := range tags {
		m, _ := t.(map[string]any)
		if m["type"] != "Hashtag" {
			continue
		}
		name, _ := m["name"].(string)
		if !strings.HasPrefix(name, "#") {
			bad("hashtag name %q without #", name)
		}
		if href, _ := m["href"].(string); href == "" {
			bad("hashtag %q without href", name)
		}
		s.Tags = append(s.Tags, strings.TrimPrefix(name, "#"))
	}
	return s
}

// wireCase is one announcement as an editor writes it.
type wireCase struct {
	name  string
	draft board.Draft
	// lang is the language a follower's server records, when it is not
	// the draft's as written.
	lang string
}

func wireCases() []wireCase {
	start := time.Date(2026, 12, 5, 14, 0, 0, 0, time.FixedZone("CET", 3600))
	end := start.Add(3 * time.Hour)
	return []wireCase{
		{"news", board.Draft{Title: "Plain news", Body: "Hello **all**."}, ""},
		{"news-fr-cw-tags", board.Draft{Title: "Réunion", Body: "On se retrouve à 18 h.", Language: "fr",
			ContentWarning: `<script>alert("x")</script> & food <talk>, don't`, Tags: []string{"asso", "réunion"}}, ""},
		{"event", board.Draft{Kind: board.KindEvent, Title: "Install party", Body: "Bring a laptop.", Language: "en",
			Event: &board.Event{Start: start, End: &end, Place: "Room 101", URL: "https://example.org/party"}}, ""},
		{"news-fr-FR", board.Draft{Title: "Permanence", Body: "Le mardi à la salle des fêtes.", Language: "fr-FR"}, "fr"},
		{"news-pt-BR", board.Draft{Title: "Plantão", Body: "Terça-feira.", Language: "pt-br"}, "pt"},
		{"news-zh-TW", board.Draft{Title: "公告", Body: "週二。", Language: "zh-tw"}, "zh-TW"},
		{"call", board.Draft{Kind: board.KindCall, Title: "Cooks wanted", Body: "Help us cook.", Tags: []string{"volunteers"},
			Call: &board.Call{Roles: []board.Role{{Name: "cook", Places: 2}}, Contact: "fair@example.org"}}, ""},
		{"outage", board.Draft{Kind: board.KindOutage, Title: "Mail down", Body: "We are on it.", ContentWarning: "outage",
			Outage: &board.Outage{Service: "mail", From: start}}, ""},
	}
}

// activities expands every pending outbox entry for one follower and
// returns the activities a follower's server receives, in order.
func activities(t *testing.T, s *Server, svc *board.Service) []map[string]any {
	t.Helper()
	ctx := context.Background()
	entries, err := storeOf(svc).PendingOutbox(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, e := range entries {
		jobs, err := s.Expand(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			var p deliverPayload
			if err := json.Unmarshal(j.Payload, &p); err != nil {
				t.Fatal(err)
			}
			var act map[string]any
			if err := json.Unmarshal(p.Activity, &act); err != nil {
				t.Fatal(err)
			}
			out = append(out, act)
		}
		if err := storeOf(svc).MarkDispatched(ctx, e.ID); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func text(h string) string {
	return html.UnescapeString(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(h, " "))
}

func TestWireShapeAsPlainJSON(t *testing.T) {
	s, hs, svc := newTestServer(t)
	ctx := context.Background()
	b, _ := storeOf(svc).BoardByName(ctx, "news")
	storeOf(svc).AddFollower(ctx, b.ID, board.Follower{ActorID: "https://peer.example/users/a", Inbox: "https://peer.example/users/a/inbox", SharedInbox: "https://peer.example/inbox"})
	actorID := hs.URL + "/boards/news"
	followers := actorID + "/followers"

	for _, c := range wireCases() {
		t.Run(c.name, func(t *testing.T) {
			a, _, err := svc.Create(ctx, board.System, b, c.draft, "")
			if err != nil {
				t.Fatal(err)
			}
			acts := activities(t, s, svc)
			a2, err := svc.Update(ctx, board.System, b, a.ID, func(d *board.Draft) error { d.Body += " Edited."; return nil })
			if err != nil {
				t.Fatal(err)
			}
			acts = append(acts, activities(t, s, svc)...)
			if err := svc.Delete(ctx, board.System, b, a.ID); err != nil {
				t.Fatal(err)
			}
			acts = append(acts, activities(t, s, svc)...)
			if len(acts) != 3 {
				t.Fatalf("%d activities for create, update, delete", len(acts))
			}
			objectID := s.urls.AnnouncementURL("news", a.ID)
			var created shown
			for i, act := range acts {
				if act["actor"] != actorID {
					t.Errorf("%s: actor %v", act["type"], act["actor"])
				}
				if id, _ := act["id"].(string); !strings.HasPrefix(id, actorID+"/") {
					t.Errorf("%s: id %q not under the actor", act["type"], id)
				}
				if p, _ := act["published"].(string); !msTimeRe.MatchString(p) {
					t.Errorf("%s: published %q without milliseconds", act["type"], p)
				}
				if i < 2 {
					obj, _ := act["object"].(map[string]any)
					got := readStatus(obj, followers)
					if len(got.Problems) > 0 {
						t.Errorf("%s is read wrong: %s", act["type"], strings.Join(got.Problems, "; "))
					}
					if got.URI != objectID || got.URL != objectID {
						t.Errorf("%s: object id %q url %q, want %q", act["type"], got.URI, got.URL, objectID)
					}
					if obj["attributedTo"] != actorID {
						t.Errorf("attributedTo %v", obj["attributedTo"])
					}
					if got.Visibility != "public" {
						t.Errorf("visibility %s", got.Visibility)
					}
					body := text(got.Text)
					cur, _ := storeOf(svc).Announcement(ctx, b.ID, a.ID)
					if i == 0 {
						cur = a
					}
					if !strings.Contains(body, c.draft.Title) || !strings.Contains(got.Text, cur.HTML) {
						t.Errorf("%s shows %q: title or text missing", act["type"], body)
					}
					// The text's language, else the board's (the labels'
					// words), else English: Mastodon filters by it.
					wantLang := cmp.Or(c.lang, c.draft.Language, b.Language)
					if got.Language != wantLang {
						t.Errorf("language shown %q, want %q", got.Language, wantLang)
					}
					if c.draft.ContentWarning != "" {
						// Mastodon shows summary as it comes (status_parser.rb
						// spoiler_text): "&amp;" would be read as such.
						if got.ContentWarning != c.draft.ContentWarning || !got.Sensitive {
							t.Errorf("content warning %q sensitive %v, want %q as typed", got.ContentWarning, got.Sensitive, c.draft.ContentWarning)
						}
					} else if got.ContentWarning != "" || got.Sensitive {
						t.Errorf("a post without content warning shows one: %q", got.ContentWarning)
					}
					if strings.Join(got.Tags, ",") != strings.Join(c.draft.Tags, ",") {
						t.Errorf("tags %v, want %v", got.Tags, c.draft.Tags)
					}
					for _, tag := range c.draft.Tags {
						if !strings.Contains(got.Text, `rel="tag"`) || !strings.Contains(got.Text, ">"+tag+"<") {
							t.Errorf("hashtag %s is not a link in content", tag)
						}
					}
					stored, _ := storeOf(svc).Announcement(ctx, b.ID, a.ID)
					facts := locale.Of(b, stored).Facts(stored)
					if stored.TakesSignups() {
						facts = locale.Of(b, stored).PollFacts(stored) // the counts are the poll's
					}
					for _, f := range facts {
						if !strings.Contains(body, f.Value) {
							t.Errorf("fact %s: %q not shown", f.Label, f.Value)
						}
						// Mastodon keeps http(s) links and turns a mailto: or
						// tel: one into its text (sanitize_config.rb,
						// LINK_PROTOCOLS): the address is written out and the
						// page, where it is a link, follows it.
						switch web := strings.HasPrefix(f.Link, "http"); {
						case f.Link == "":
						case web && !strings.Contains(got.Text, `href="`+html.EscapeString(f.Link)+`"`):
							t.Errorf("fact %s is not a link to %s", f.Label, f.Link)
						case !web && (strings.Contains(got.Text, `href="`+html.EscapeString(f.Link)+`"`) || !strings.Contains(got.Text, html.EscapeString(f.Value)+` (<a href="`+html.EscapeString(s.urls.AnnouncementURL("news", a.ID))+`"`)):
							t.Errorf("fact %s: a %s link that Mastodon would flatten, or no link to the page: %s", f.Label, f.Link, got.Text)
						}
					}
					if c.draft.Kind == board.KindCall {
						// Mastodon's poll parser: oneOf/anyOf items with a name
						// and replies.totalItems; votersCount; endTime/closed.
						opts, _ := obj["oneOf"].([]any)
						if obj["type"] != "Question" || len(opts) != len(c.draft.Call.Roles) || obj["votersCount"] == nil {
							t.Errorf("a call reads as %v with options %v", obj["type"], obj["oneOf"])
						}
						for j, o := range opts {
							m, _ := o.(map[string]any)
							r, _ := m["replies"].(map[string]any)
							if m["type"] != "Note" || m["name"] != c.draft.Call.Roles[j].Name || r["type"] != "Collection" || r["totalItems"] == nil {
								t.Errorf("poll option %d: %v", j, o)
							}
						}
					} else if obj["type"] != "Note" {
						t.Errorf("%s object is a %v", c.name, obj["type"])
					}
					if i == 0 {
						created = got
						if act["type"] != "Create" || !got.Edited.IsZero() {
							t.Errorf("first activity %v, edited %v", act["type"], got.Edited)
						}
						if !got.Published.Equal(a.CreatedAt.Truncate(time.Millisecond)) {
							t.Errorf("published %v, want %v", got.Published, a.CreatedAt)
						}
					} else {
						// Mastodon ignores an Update whose updated is not newer.
						if act["type"] != "Update" || !got.Edited.After(created.Published) || !got.Edited.Equal(a2.UpdatedAt.Truncate(time.Millisecond)) {
							t.Errorf("Update: type %v edited %v published %v", act["type"], got.Edited, created.Published)
						}
						if !strings.Contains(text(got.Text), "Edited.") {
							t.Errorf("the Update does not carry the new text")
						}
						if act["id"] == acts[0]["id"] {
							t.Errorf("Update reuses the Create's id")
						}
					}
					continue
				}
				// Delete names the object (what the server stored), as a Tombstone.
				obj, _ := act["object"].(map[string]any)
				if act["type"] != "Delete" || obj["id"] != objectID || obj["type"] != "Tombstone" {
					t.Errorf("Delete: %v", act)
				}
				if _, ok := obj["formerType"]; ok {
					t.Errorf("Tombstone carries formerType")
				}
			}
		})
	}
}

func TestFeaturedCollectionAndPins(t *testing.T) {
	s, hs, svc := newTestServer(t)
	ctx := context.Background()
	b, _ := storeOf(svc).BoardByName(ctx, "news")
	storeOf(svc).AddFollower(ctx, b.ID, board.Follower{ActorID: "https://peer.example/users/a", Inbox: "https://peer.example/users/a/inbox"})
	a, _, _ := svc.Create(ctx, board.System, b, board.Draft{Title: "Open call", Body: "Join us"}, "")
	other, _, _ := svc.Create(ctx, board.System, b, board.Draft{Title: "Other"}, "")
	activities(t, s, svc)

	_, _, body := get(t, hs.URL+"/boards/news", contentTypeAP)
	var actor map[string]any
	json.Unmarshal(body, &actor)
	featured, _ := actor["featured"].(string)
	if featured != hs.URL+"/boards/news/featured" {
		t.Fatalf("actor featured = %v", actor["featured"])
	}
	readFeatured := func() []any {
		code, ct, body := get(t, featured, contentTypeAP)
		var coll map[string]any
		json.Unmarshal(body, &coll)
		if code != 200 || !strings.HasPrefix(ct, contentTypeAP) || coll["id"] != featured || coll["type"] != "OrderedCollection" {
			t.Fatalf("featured: %d %s %s", code, ct, body)
		}
		items, _ := coll["orderedItems"].([]any)
		if coll["totalItems"] != float64(len(items)) {
			t.Fatalf("featured totalItems %v for %d items", coll["totalItems"], len(items))
		}
		return items
	}
	if n := len(readFeatured()); n != 0 {
		t.Fatalf("%d featured before any pin", n)
	}

	if _, err := svc.Pin(ctx, board.System, b, a.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Pin(ctx, board.System, b, a.ID, true); err != nil { // again: no second Add
		t.Fatal(err)
	}
	acts := activities(t, s, svc)
	if len(acts) != 1 || acts[0]["type"] != "Add" || acts[0]["object"] != s.urls.AnnouncementURL("news", a.ID) || acts[0]["target"] != featured {
		t.Fatalf("pin sent %v", acts)
	}
	// Mastodon keeps the items that are ids or Notes, pins them in the
	// order listed and shows the last pinned first
	// (fetch_featured_collection_service.rb, account/associations.rb): a
	// pinned call, a Question when embedded, must survive, and the newest
	// pin must come first.
	shownPins := func() []string {
		var kept []string
		for _, it := range readFeatured() {
			switch v := it.(type) {
			case string:
				kept = append(kept, v)
			case map[string]any:
				if v["type"] == "Note" {
					kept = append(kept, v["id"].(string))
				}
			}
		}
		slices.Reverse(kept)
		return kept
	}
	if got := shownPins(); len(got) != 1 || got[0] != s.urls.AnnouncementURL("news", a.ID) {
		t.Fatalf("Mastodon shows the pins %v", got)
	}
	call, _, err := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindCall, Title: "Cooks wanted", Call: &board.Call{Roles: []board.Role{{Name: "cook", Places: 2}}, Contact: "x@example.org"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond) // pins a few milliseconds apart, as people pin
	if _, err := svc.Pin(ctx, board.System, b, call.ID, true); err != nil {
		t.Fatal(err)
	}
	activities(t, s, svc)
	if got := shownPins(); len(got) != 2 || got[0] != s.urls.AnnouncementURL("news", call.ID) || got[1] != s.urls.AnnouncementURL("news", a.ID) {
		t.Fatalf("after pinning a call, Mastodon shows the pins %v; want the call, then %d", got, a.ID)
	}
	if _, err := svc.Pin(ctx, board.System, b, call.ID, false); err != nil {
		t.Fatal(err)
	}
	activities(t, s, svc)
	if got, _ := storeOf(svc).Announcement(ctx, b.ID, a.ID); !got.Pinned {
		t.Fatal("announcement not marked pinned")
	}

	if _, err := svc.Pin(ctx, board.System, b, a.ID, false); err != nil {
		t.Fatal(err)
	}
	acts = activities(t, s, svc)
	if len(acts) != 1 || acts[0]["type"] != "Remove" || acts[0]["target"] != featured {
		t.Fatalf("unpin sent %v", acts)
	}
	if n := len(readFeatured()); n != 0 {
		t.Fatalf("%d featured after unpin", n)
	}
	// A deleted announcement leaves the featured list.
	svc.Pin(ctx, board.System, b, other.ID, true)
	svc.Delete(ctx, board.System, b, other.ID)
	if n := len(readFeatured()); n != 0 {
		t.Fatalf("a deleted announcement is still featured")
	}
	if _, err := svc.Pin(ctx, board.System, b, other.ID, true); err != board.ErrGone {
		t.Fatalf("pinning a deleted announcement: %v", err)
	}
}

// The actor and the Accept of a follow, read as plain JSON: Mastodon's
// account parser wants single strings where it shows a value.
func TestWireShapeActorAndAccept(t *testing.T) {
	s, hs, svc := newTestServer(t)
	_, _, body := get(t, hs.URL+"/boards/news", contentTypeAP)
	var actor map[string]any
	json.Unmarshal(body, &actor)
	id := hs.URL + "/boards/news"
	str := func(m map[string]any, k string) string {
		v, ok := m[k].(string)
		if !ok {
			t.Errorf("actor %s is %T, not a string", k, m[k])
		}
		return v
	}
	if actor["type"] != "Organization" || str(actor, "id") != id || str(actor, "preferredUsername") != "news" || str(actor, "name") != "News" ||
		str(actor, "inbox") != id+"/inbox" || str(actor, "outbox") != id+"/outbox" || str(actor, "followers") != id+"/followers" ||
		str(actor, "featured") != id+"/featured" || str(actor, "url") != id {
		t.Errorf("actor: %s", body)
	}
	if sum := str(actor, "summary"); !strings.HasPrefix(sum, "<p>") {
		t.Errorf("summary %q is not HTML", sum)
	}
	if p := str(actor, "published"); !msTimeRe.MatchString(p) {
		t.Errorf("published %q", p)
	}
	ep, _ := actor["endpoints"].(map[string]any)
	pk, _ := actor["publicKey"].(map[string]any)
	icon, _ := actor["icon"].(map[string]any)
	if ep["sharedInbox"] != hs.URL+"/inbox" || pk["id"] != id+"#main-key" || pk["owner"] != id || icon["type"] != "Image" {
		t.Errorf("endpoints %v, publicKey %v, icon %v", ep, pk, icon)
	}
	b, _ := storeOf(svc).BoardByName(context.Background(), "news")
	if u, ok := icon["url"].(string); !ok || u != id+"/icon.png?v="+b.IconVersion(board.AvatarSize) {
		t.Errorf("icon url %v is not the PNG's URL as a string", icon["url"])
	}
	if actor["manuallyApprovesFollowers"] != false || actor["discoverable"] != true {
		t.Errorf("follow and discovery flags: %v %v", actor["manuallyApprovesFollowers"], actor["discoverable"])
	}
	// A summary of several lines and an address: Mastodon shows the HTML
	// as it comes (sanitised, never linkified), so the lines and the link
	// are in it.
	b.Summary = "Repair café every Tuesday.\nAgenda: https://example.org/agenda & more"
	if _, err := svc.SetBoard(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	_, _, body = get(t, hs.URL+"/boards/news", contentTypeAP)
	actor = nil
	json.Unmarshal(body, &actor)
	if want := `<p>Repair café every Tuesday.<br>Agenda: <a href="https://example.org/agenda" rel="nofollow noopener">https://example.org/agenda</a> &amp; more</p>`; actor["summary"] != want {
		t.Errorf("a summary of two lines with an address is sent as %q, want %q", actor["summary"], want)
	}
	if _, _, page := get(t, hs.URL+"/boards/news", "text/html"); !strings.Contains(string(page), `Repair café every Tuesday.<br>Agenda: <a href="https://example.org/agenda"`) {
		t.Errorf("the board's page shows its summary without its lines or its link")
	}

	follow := `{"@context":"https://www.w3.org/ns/activitystreams","id":"https://peer.example/follows/1","type":"Follow","actor":"https://peer.example/users/a","object":"` + id + `","signature":{"type":"RsaSignature2017"}}`
	acc := s.accept("news", json.RawMessage(follow), "https://peer.example/follows/1", "https://peer.example/users/a")
	raw, _ := json.Marshal(acc)
	var got map[string]any
	json.Unmarshal(raw, &got)
	obj, _ := got["object"].(map[string]any)
	if got["type"] != "Accept" || got["actor"] != id || !strings.HasPrefix(fmt.Sprint(got["id"]), id+"/") ||
		obj["id"] != "https://peer.example/follows/1" || obj["type"] != "Follow" || obj["actor"] != "https://peer.example/users/a" || obj["object"] != id {
		t.Errorf("Accept: %s", raw)
	}
	if _, ok := obj["signature"]; ok {
		t.Errorf("the Accept embeds the follower's LD signature")
	}
}

// attachmentShown is a picture as Mastodon's MediaAttachmentParser and
// GoToSocial's extractAttachments read it.
type attachmentShown struct{ URL, Description, MediaType, Blurhash string }

func readAttachments(obj map[string]any) (out []attachmentShown, problems []string) {
	list, ok := obj["attachment"].([]any)
	if !ok && obj["attachment"] != nil {
		list = []any{obj["attachment"]}
	}
	for _, x := range list {
		m, _ := x.(map[string]any)
		switch m["type"] {
		case "Document", "Image":
		default:
			problems = append(problems, fmt.Sprintf("attachment type %v: GoToSocial skips it", m["type"]))
		}
		var a attachmentShown
		var ok bool
		if a.URL, ok = m["url"].(string); !ok || a.URL == "" {
			problems = append(problems, fmt.Sprintf("attachment url %v is not a string: Mastodon skips it", m["url"]))
		}
		// Mastodon: summary, else name; GoToSocial: name.
		if s, _ := m["summary"].(string); s != "" {
			a.Description = s
		} else {
			a.Description, _ = m["name"].(string)
		}
		a.MediaType, _ = m["mediaType"].(string)
		a.Blurhash, _ = m["blurhash"].(string)
		// Mastodon drops a blurhash of more than 5×5 components.
		if a.Blurhash != "" {
			size := strings.IndexByte("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~", a.Blurhash[0])
			if x, y := size%9+1, size/9+1; x > 5 || y > 5 {
				problems = append(problems, fmt.Sprintf("blurhash of %d×%d components: Mastodon drops it", x, y))
			}
		}
		for _, k := range []string{"width", "height"} {
			if _, ok := m[k].(float64); !ok {
				problems = append(problems, "attachment without "+k+": clients cannot reserve its space")
			}
		}
		out = append(out, a)
	}
	return out, problems
}

func TestWireShapeOfPictures(t *testing.T) {
	_, hs, svc := newTestServer(t)
	ctx := context.Background()
	b, _ := storeOf(svc).BoardByName(ctx, "news")
	img := image.NewRGBA(image.Rect(0, 0, 80, 60))
	var buf bytes.Buffer
	_ = jpeg.Encode(&buf, img, nil)
	up, err := svc.Upload(ctx, b, buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := svc.Create(ctx, board.System, b, board.Draft{Title: "Fair", Body: "Come.", Images: []board.Image{
		{ID: up.ID, Alt: "Our stall, with jam jars"}, {ID: up.ID, Decorative: true}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	_, _, raw := get(t, hs.URL+"/boards/news/a/"+fmt.Sprint(a.ID), "application/activity+json")
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		t.Fatal(err)
	}
	got, problems := readAttachments(obj)
	for _, p := range problems {
		t.Error(p)
	}
	if len(got) != 2 || got[0].Description != "Our stall, with jam jars" || got[1].Description != "" || got[0].MediaType != "image/jpeg" || got[0].Blurhash != up.Blurhash {
		t.Fatalf("attachments read as %+v", got)
	}
	code, ct, body := get(t, got[0].URL, "")
	if code != 200 || ct != "image/jpeg" || !bytes.Equal(body[:2], []byte{0xFF, 0xD8}) {
		t.Errorf("the attachment's url answers %d %s", code, ct)
	}
}

// What Mastodon's sanitizer keeps (lib/sanitize_ext/sanitize_config.rb,
// MASTODON_STRICT): anything else is dropped, its text run into the
// paragraph around it.
var mastodonKeeps = map[string]bool{"p": true, "br": true, "span": true, "a": true, "del": true, "s": true, "pre": true, "blockquote": true,
	"code": true, "b": true, "strong": true, "u": true, "i": true, "em": true, "ul": true, "ol": true, "li": true, "ruby": true, "rt": true, "rp": true}

// A body with headings, a table, a rule and hashtags arrives as Mastodon
// keeps it: only elements on its list (headings as bold paragraphs, the
// table one line a row); hashtags typed in the text are links and Hashtag
// tags, as typed, and a tag Mastodon would not make (#2026, in code) stays
// text (app/models/tag.rb, HASHTAG_RE).
func TestWireShapeKeptByMastodonsSanitizer(t *testing.T) {
	s, _, svc := newTestServer(t)
	ctx := context.Background()
	b, _ := storeOf(svc).BoardByName(ctx, "news")
	storeOf(svc).AddFollower(ctx, b.ID, board.Follower{ActorID: "https://peer.example/users/a", Inbox: "https://peer.example/users/a/inbox"})
	body := "# Programme\n\nJoin us for #solidarité, #Lyon2026 and #JeudiSolidaire! Not #2026, nor `#incode`.\n\n" +
		"| Role | Places |\n|------|--------|\n| cook | 2 |\n| driver | 1 |\n\n---\n\n## Details\n\nMore."
	if _, _, err := svc.Create(ctx, board.System, b, board.Draft{Title: "Winter party", Body: body, Tags: []string{"fête", "solidarité"}}, ""); err != nil {
		t.Fatal(err)
	}
	acts := activities(t, s, svc)
	if len(acts) != 1 {
		t.Fatalf("%d activities", len(acts))
	}
	obj, _ := acts[0]["object"].(map[string]any)
	content, _ := obj["content"].(string)
	z := xhtml.NewTokenizer(strings.NewReader(content))
	for tt := z.Next(); tt != xhtml.ErrorToken; tt = z.Next() {
		if tt == xhtml.StartTagToken || tt == xhtml.SelfClosingTagToken {
			if name, _ := z.TagName(); !mastodonKeeps[string(name)] {
				t.Errorf("<%s> is not kept by Mastodon:\n%s", name, content)
			}
		}
	}
	for _, want := range []string{
		"<p><strong>Programme</strong></p>", "<p><strong>Details</strong></p>",
		"<p><strong>Role</strong> · <strong>Places</strong><br>cook · 2<br>driver · 1</p>",
		`Join us for <a href="` + s.urls.TagURL("news", "solidarité") + `" class="mention hashtag" rel="tag">#<span>solidarité</span></a>, `,
		`>#<span>Lyon2026</span></a> and `, `>#<span>JeudiSolidaire</span></a>!`, "Not #2026, nor <code>#incode</code>.",
		`>#<span>fête</span></a></p>`,
	} {
		if !strings.Contains(content, want) {
			t.Errorf("content lacks %s:\n%s", want, content)
		}
	}
	if n := strings.Count(content, "#<span>solidarité</span>"); n != 1 {
		t.Errorf("#solidarité, in the text and among the tags, is shown %d times", n)
	}
	var names []string
	tags, _ := obj["tag"].([]any)
	for _, tg := range tags {
		m, _ := tg.(map[string]any)
		if m["type"] == "Hashtag" {
			names = append(names, m["name"].(string))
		}
	}
	if want := []string{"#solidarité", "#Lyon2026", "#JeudiSolidaire", "#fête"}; !slices.Equal(names, want) {
		t.Errorf("Hashtag tags %v, want %v", names, want)
	}
	// GoToSocial keeps them all, as it stores them.
	if got, want := gotosocialHashtags(obj), []string{"solidarité", "lyon2026", "jeudisolidaire", "fête"}; !slices.Equal(got, want) {
		t.Errorf("GoToSocial would keep the hashtags %v, want %v", got, want)
	}
}

// gotosocialHashtags is what GoToSocial makes of a status's tags, read in
// its source: internal/ap/extract.go (ExtractHashtags: items whose type
// is Hashtag, the name without its "#", normalised, lower-cased, without
// repeats) and internal/text/normalize.go (NormalizeHashtag: NFC, under
// 100 bytes, letters, numbers, marks and "_" only, at least one letter).
// Its parser (its fork of go-fed) reads Crieur's tags as Hashtag: checked
// with github.com/superseriousbusiness/activity v1.11.0-gts, whose
// streams package is too big to compile in every test run.
func gotosocialHashtags(obj map[string]any) []string {
	var out []string
	tags, _ := obj["tag"].([]any)
	for _, tg := range tags {
		m, _ := tg.(map[string]any)
		name, _ := m["name"].(string)
		if m["type"] != "Hashtag" || name == "" {
			continue
		}
		normalized := norm.NFC.String(strings.TrimPrefix(name, "#"))
		letter, ok := false, len(normalized) <= 100
		for _, r := range normalized {
			switch {
			case unicode.IsLetter(r):
				letter = true
			case unicode.IsNumber(r), unicode.IsMark(r), r == '_':
			default:
				ok = false
			}
		}
		if name := strings.ToLower(normalized); ok && letter && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}
