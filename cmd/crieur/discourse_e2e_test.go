package main

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// discourseServer follows Discourse's API contract as its source has it
// (github.com/discourse/discourse):
//   - every request authenticates with the Api-Key and Api-Username
//     headers (lib/auth/default_current_user_provider.rb); a key it does
//     not know, or bound to another user, is refused with 403
//     {"errors": [...], "error_type": "invalid_access"};
//   - POST /posts.json makes a topic (title, raw, category, tags[],
//     external_id) or, with topic_id, a reply (app/controllers/posts_controller.rb);
//     PUT /t/{id}.json changes title and category_id, PUT /posts/{id}.json
//     post[raw], PUT /t/{id}/status.json status (visible, closed, pinned,
//     archived) with enabled true or false (app/controllers/topics_controller.rb);
//     GET /t/external_id/{id}.json redirects to the topic's JSON;
//   - the default site settings (config/site_settings.yml, posting):
//     titles of 15 to 255 characters, a first post and a reply of at least
//     20, any post at most 32,000, no two topics with the same title
//     (allow_duplicate_topic_titles false), an external_id unique, at
//     most 50 characters; refusals are 422 {"errors": [...]};
//   - a rate limit answers 429 with Retry-After in seconds and
//     extras.wait_seconds.
type discourseServer struct {
	*httptest.Server
	mu      sync.Mutex
	keys    map[string]string // key -> the user it is bound to
	tagging bool
	topics  []*dTopic
	posts   map[int64]*dPost
	nextID  int64
	limited int // the next n writes start a 2-second window of 429s
	// limitedUntil ends the window: Discourse's RateLimiter refuses the
	// user's every write until then, whichever topic it is for.
	limitedUntil time.Time
	loseNext     bool // the next topic is made, but the answer is a 502
	// what happened, for the test
	writes     []time.Time // when each write arrived (refused or not)
	accepted   []time.Time // when each write was let through
	limitedAt  []time.Time
	noHeaders  int // requests without Api-Key or Api-Username
	categories []map[string]any
}

type dTopic struct {
	ID         int64
	Title      string
	Category   int64
	Tags       []string
	ExternalID string
	Visible    bool
	Closed     bool
	Posts      []int64
}

type dPost struct {
	ID, Topic int64
	Number    int
	Raw       string
}

const (
	discourseMinTitle     = 15
	discourseMaxTitle     = 255
	discourseMinFirstPost = 20
	discourseMinPost      = 20
	discourseMaxPost      = 32_000
)

var (
	dTopicPath  = regexp.MustCompile(`^/t/(\d+)\.json$`)
	dStatusPath = regexp.MustCompile(`^/t/(\d+)/status\.json$`)
	dPostPath   = regexp.MustCompile(`^/posts/(\d+)\.json$`)
	dExtPath    = regexp.MustCompile(`^/t/external_id/([\w-]+)\.json$`)
	dSlugPath   = regexp.MustCompile(`^/t/[\w-]+/(\d+)\.json$`)
)

func startDiscourse(t *testing.T) *discourseServer {
	t.Helper()
	d := &discourseServer{keys: map[string]string{}, posts: map[int64]*dPost{}, tagging: true, nextID: 100,
		categories: []map[string]any{
			{"id": 5, "name": "Annonces", "slug": "annonces"},
			{"id": 7, "name": "CHATONS", "slug": "chatons", "subcategory_list": []map[string]any{{"id": 9, "name": "Entraide", "slug": "entraide"}}},
		}}
	d.Server = httptest.NewServer(http.HandlerFunc(d.serve))
	t.Cleanup(d.Close)
	return d
}

func dErrors(w http.ResponseWriter, status int, typ string, errs ...string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body := map[string]any{"errors": errs}
	if typ != "" {
		body["error_type"] = typ
	}
	json.NewEncoder(w).Encode(body)
}

func dJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (d *discourseServer) serve(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	key, user := r.Header.Get("Api-Key"), r.Header.Get("Api-Username")
	if key == "" || user == "" {
		d.noHeaders++
	}
	if bound, ok := d.keys[key]; !ok || !strings.EqualFold(bound, user) {
		dErrors(w, http.StatusForbidden, "invalid_access", "You are not permitted to view the requested resource. The API username or key is invalid.")
		return
	}
	write := r.Method != http.MethodGet
	if write {
		now := time.Now()
		d.writes = append(d.writes, now)
		if d.limited > 0 {
			d.limited--
			d.limitedUntil = now.Add(2 * time.Second)
		}
		if now.Before(d.limitedUntil) {
			d.limitedAt = append(d.limitedAt, now)
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(d.limitedUntil.Sub(now).Seconds()))))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			json.NewEncoder(w).Encode(map[string]any{"errors": []string{"You’ve performed this action too many times. Please wait 2 seconds before trying again."},
				"error_type": "rate_limit", "extras": map[string]any{"wait_seconds": 2, "time_left": "2 seconds"}})
			return
		}
	}
	if write {
		d.accepted = append(d.accepted, time.Now())
	}
	var body map[string]any
	if write {
		if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&body) != nil {
			dErrors(w, http.StatusBadRequest, "invalid_parameters", "invalid parameters")
			return
		}
	}
	str := func(k string) string { s, _ := body[k].(string); return s }
	num := func(k string) int64 {
		switch v := body[k].(type) {
		case float64:
			return int64(v)
		case string:
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
		return 0
	}
	switch p := r.URL.Path; {
	case r.Method == http.MethodGet && p == "/session/current.json":
		dJSON(w, map[string]any{"current_user": map[string]any{"id": 2, "username": d.keys[key]}})
	case r.Method == http.MethodGet && p == "/site.json":
		dJSON(w, map[string]any{"can_tag_topics": d.tagging})
	case r.Method == http.MethodGet && p == "/categories.json":
		dJSON(w, map[string]any{"category_list": map[string]any{"categories": d.categories}})
	case r.Method == http.MethodGet && dExtPath.MatchString(p):
		ext := dExtPath.FindStringSubmatch(p)[1]
		for _, t := range d.topics {
			if strings.EqualFold(t.ExternalID, ext) {
				http.Redirect(w, r, fmt.Sprintf("/t/topic-%d/%d.json", t.ID, t.ID), http.StatusFound)
				return
			}
		}
		dErrors(w, http.StatusNotFound, "not_found", "The requested URL or resource could not be found.")
	case r.Method == http.MethodGet && dSlugPath.MatchString(p):
		id, _ := strconv.ParseInt(dSlugPath.FindStringSubmatch(p)[1], 10, 64)
		t := d.topic(id)
		if t == nil {
			dErrors(w, http.StatusNotFound, "not_found", "The requested URL or resource could not be found.")
			return
		}
		var posts []map[string]any
		for _, pid := range t.Posts {
			posts = append(posts, map[string]any{"id": pid, "post_number": d.posts[pid].Number})
		}
		dJSON(w, map[string]any{"id": t.ID, "title": t.Title, "post_stream": map[string]any{"posts": posts}})
	case r.Method == http.MethodPost && p == "/posts.json":
		raw := str("raw")
		if tid := num("topic_id"); tid != 0 {
			t := d.topic(tid)
			switch n := utf8.RuneCountInString(strings.TrimSpace(raw)); {
			case t == nil:
				dErrors(w, http.StatusNotFound, "not_found", "The requested URL or resource could not be found.")
			case n < discourseMinPost:
				dErrors(w, http.StatusUnprocessableEntity, "", fmt.Sprintf("Body is too short (minimum is %d characters)", discourseMinPost))
			case n > discourseMaxPost:
				dErrors(w, http.StatusUnprocessableEntity, "", fmt.Sprintf("Body is too long (maximum is %d characters)", discourseMaxPost))
			default:
				post := d.addPost(t, raw)
				dJSON(w, map[string]any{"id": post.ID, "topic_id": t.ID, "post_number": post.Number})
			}
			return
		}
		title := strings.Join(strings.Fields(str("title")), " ")
		var tags []string
		if list, ok := body["tags"].([]any); ok {
			for _, x := range list {
				s, _ := x.(string)
				tags = append(tags, s)
			}
		}
		ext, cat := str("external_id"), num("category")
		var errs []string
		if n := utf8.RuneCountInString(title); n < discourseMinTitle || n > discourseMaxTitle {
			errs = append(errs, fmt.Sprintf("Title must be between %d and %d characters", discourseMinTitle, discourseMaxTitle))
		}
		if n := utf8.RuneCountInString(strings.TrimSpace(raw)); n < discourseMinFirstPost || n > discourseMaxPost {
			errs = append(errs, fmt.Sprintf("Body must be between %d and %d characters", discourseMinFirstPost, discourseMaxPost))
		}
		if !d.hasCategory(cat) {
			errs = append(errs, "Category can't be blank")
		}
		for _, t := range d.topics {
			if strings.EqualFold(t.Title, title) {
				errs = append(errs, "Title has already been used")
			}
			if ext != "" && strings.EqualFold(t.ExternalID, ext) {
				errs = append(errs, "External ID has already been taken")
			}
		}
		if len(ext) > 50 || !regexp.MustCompile(`^[\w-]*$`).MatchString(ext) {
			errs = append(errs, "External ID is invalid")
		}
		if len(tags) > 0 && !d.tagging {
			errs = append(errs, "You are not allowed to tag topics.")
		}
		if len(tags) > 5 {
			errs = append(errs, "Sorry, you can't have more than 5 tags.")
		}
		if len(errs) > 0 {
			dErrors(w, http.StatusUnprocessableEntity, "", errs...)
			return
		}
		t := &dTopic{ID: d.id(), Title: title, Category: cat, Tags: tags, ExternalID: ext, Visible: true}
		d.topics = append(d.topics, t)
		post := d.addPost(t, raw)
		if d.loseNext {
			d.loseNext = false
			dErrors(w, http.StatusBadGateway, "", "Bad gateway")
			return
		}
		dJSON(w, map[string]any{"id": post.ID, "topic_id": t.ID, "post_number": 1, "topic_slug": "topic"})
	case r.Method == http.MethodPut && dTopicPath.MatchString(p):
		id, _ := strconv.ParseInt(dTopicPath.FindStringSubmatch(p)[1], 10, 64)
		t := d.topic(id)
		if t == nil {
			dErrors(w, http.StatusNotFound, "not_found", "The requested URL or resource could not be found.")
			return
		}
		title := strings.Join(strings.Fields(str("title")), " ")
		if n := utf8.RuneCountInString(title); n < discourseMinTitle || n > discourseMaxTitle {
			dErrors(w, http.StatusUnprocessableEntity, "", fmt.Sprintf("Title must be between %d and %d characters", discourseMinTitle, discourseMaxTitle))
			return
		}
		if c := num("category_id"); c != 0 {
			if !d.hasCategory(c) {
				dErrors(w, http.StatusUnprocessableEntity, "", "Category can't be blank")
				return
			}
			t.Category = c
		}
		t.Title = title
		dJSON(w, map[string]any{"basic_topic": map[string]any{"id": t.ID, "title": t.Title}})
	case r.Method == http.MethodPut && dPostPath.MatchString(p):
		id, _ := strconv.ParseInt(dPostPath.FindStringSubmatch(p)[1], 10, 64)
		post := d.posts[id]
		inner, _ := body["post"].(map[string]any)
		raw, _ := inner["raw"].(string)
		min := discourseMinPost
		if post != nil && post.Number == 1 {
			min = discourseMinFirstPost
		}
		switch n := utf8.RuneCountInString(strings.TrimSpace(raw)); {
		case post == nil:
			dErrors(w, http.StatusNotFound, "not_found", "The requested URL or resource could not be found.")
		case inner == nil:
			dErrors(w, http.StatusBadRequest, "invalid_parameters", "param is missing or the value is empty: post")
		case n < min || n > discourseMaxPost:
			dErrors(w, http.StatusUnprocessableEntity, "", "Body is too short or too long")
		default:
			post.Raw = raw
			dJSON(w, map[string]any{"post": map[string]any{"id": post.ID, "raw": post.Raw}})
		}
	case r.Method == http.MethodPut && dStatusPath.MatchString(p):
		id, _ := strconv.ParseInt(dStatusPath.FindStringSubmatch(p)[1], 10, 64)
		t := d.topic(id)
		status, enabled := str("status"), str("enabled")
		switch {
		case t == nil:
			dErrors(w, http.StatusNotFound, "not_found", "The requested URL or resource could not be found.")
		case !slices.Contains([]string{"pinned", "pinned_globally", "visible", "closed", "archived"}, status):
			dErrors(w, http.StatusBadRequest, "invalid_parameters", "You supplied invalid parameters to the request: status")
		case enabled != "true" && enabled != "false":
			dErrors(w, http.StatusBadRequest, "invalid_parameters", "param is missing or the value is empty: enabled")
		default:
			on := enabled == "true"
			switch status {
			case "visible":
				t.Visible = on
			case "closed":
				t.Closed = on
			}
			dJSON(w, map[string]any{"success": "OK", "topic_status_update": nil})
		}
	default:
		dErrors(w, http.StatusNotFound, "not_found", "The requested URL or resource could not be found.")
	}
}

func (d *discourseServer) id() int64 { d.nextID++; return d.nextID }

func (d *discourseServer) topic(id int64) *dTopic {
	for _, t := range d.topics {
		if t.ID == id {
			return t
		}
	}
	return nil
}

func (d *discourseServer) hasCategory(id int64) bool {
	for _, c := range d.categories {
		if int64(c["id"].(int)) == id {
			return true
		}
		if subs, ok := c["subcategory_list"].([]map[string]any); ok {
			for _, s := range subs {
				if int64(s["id"].(int)) == id {
					return true
				}
			}
		}
	}
	return false
}

func (d *discourseServer) addPost(t *dTopic, raw string) *dPost {
	p := &dPost{ID: d.id(), Topic: t.ID, Number: len(t.Posts) + 1, Raw: raw}
	d.posts[p.ID] = p
	t.Posts = append(t.Posts, p.ID)
	return p
}

// snapshot is a copy of the forum's topics, with their posts' raw text.
type dView struct {
	dTopic
	Raws []string
}

func (d *discourseServer) view() []dView {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []dView
	for _, t := range d.topics {
		v := dView{dTopic: *t}
		v.Tags = slices.Clone(t.Tags)
		for _, p := range t.Posts {
			v.Raws = append(v.Raws, d.posts[p].Raw)
		}
		out = append(out, v)
	}
	return out
}

func (d *discourseServer) byTitle(prefix string) (dView, bool) {
	for _, t := range d.view() {
		if strings.HasPrefix(t.Title, prefix) {
			return t, true
		}
	}
	return dView{}, false
}

func (d *discourseServer) set(f func(d *discourseServer)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(d)
}

func TestDiscourseTopics(t *testing.T) {
	t.Parallel()
	const key, wrongKey = "d1s2c3o4u5r6s7e8k9e0y1secret", "wrongwrongwrongwrongsecret77"
	forum := startDiscourse(t)
	forum.set(func(d *discourseServer) { d.keys[key] = "crieur" })
	c := startCrieur(t, t.TempDir(), 0)
	const path = "/api/v1/boards/news/discourse"

	var view map[string]any
	if code := c.api("GET", path, nil, nil, &view); code != 404 {
		t.Errorf("GET before a set-up: %d %v", code, view)
	}
	if code := c.api("PUT", path, map[string]any{"url": "ftp://x", "username": "a b", "category": "Not A Slug", "on_delete": "burn"}, nil, &view); code != 400 {
		t.Errorf("a bad set-up: %d %v", code, view)
	}
	setup := map[string]any{"url": forum.URL, "api_key": key, "username": "crieur", "category": "annonces", "on_delete": "unlist", "replies": true}
	if code := c.api("PUT", path, setup, nil, &view); code != 200 || view["api_key_set"] != true || view["category"] != "annonces" {
		t.Fatalf("PUT discourse: %d %v", code, view)
	}
	// The test posts nothing and says where topics go.
	var test map[string]any
	if code := c.api("POST", path+"/test", nil, nil, &test); code != 200 || test["posted"] != false {
		t.Fatalf("test: %d %v", code, test)
	}
	if checked, _ := test["checked"].(map[string]any); checked["category"] != "Annonces" || checked["category_id"] != float64(5) || checked["user"] != "crieur" || checked["tags"] != true ||
		checked["category_url"] != forum.URL+"/c/annonces/5" {
		t.Errorf("test answer: %v", test)
	}
	if n := len(forum.view()); n != 0 {
		t.Errorf("the test made %d topics", n)
	}

	// One announcement of each kind, the first through a 429 whose
	// Retry-After (2 s) is waited.
	forum.set(func(d *discourseServer) { d.limited = 1 })
	at := func(d time.Duration) string { return time.Now().Add(d).Format(time.RFC3339) }
	kinds := []map[string]any{
		{"kind": "news", "title": "Nouveau serveur", "body": "Bonjour @everyone, notre serveur est là.", "tags": []string{"Infra", "LogicielLibrePourTous2027"}},
		{"kind": "event", "title": "Install party", "body": "Bring a laptop.", "event": map[string]any{"start": at(48 * time.Hour), "place": "Salle des fêtes"}},
		{"kind": "call", "title": "Cooks wanted", "call": map[string]any{"roles": []map[string]any{{"name": "cook", "places": 2}}, "contact": "fair@example.org"}},
		{"kind": "outage", "title": "Mail down", "body": "We are on it.", "outage": map[string]any{"service": "mail", "from": at(-time.Hour)}},
		{"kind": "campaign", "title": "A new server", "body": "Ours is nine years old.", "campaign": map[string]any{"goal": 3000, "raised": 1240, "currency": "EUR", "link": "https://www.helloasso.com/associations/x"}},
		{"kind": "training", "title": "Git for beginners", "event": map[string]any{"start": at(96 * time.Hour), "place": "Room B12"}, "training": map[string]any{"seats": 8, "level": "beginners"}},
	}
	ids := map[string]int64{}
	for _, k := range kinds {
		a, code := c.post(k, nil)
		if code != 201 {
			t.Fatalf("post %v: %d", k["kind"], code)
		}
		ids[k["kind"].(string)] = a.ID
	}
	waitFor(t, 20*time.Second, "six topics", func() bool { return len(forum.view()) == 6 })
	c.waitQueueIdle()
	wantTitle := map[string]string{"news": "Nouveau serveur", "event": "Install party — Event", "call": "Cooks wanted — Call for volunteers",
		"outage": "Mail down — Service outage", "campaign": "A new server — Donation campaign", "training": "Git for beginners"}
	wantFact := map[string]string{"event": "Salle des fêtes", "call": "fair@example.org", "outage": "mail", "campaign": "3,000", "training": "Room B12"}
	for kind, id := range ids {
		topic, ok := forum.byTitle(wantTitle[kind])
		if !ok {
			t.Errorf("%s: no topic titled %q in %+v", kind, wantTitle[kind], forum.view())
			continue
		}
		raw := topic.Raws[0]
		if topic.Category != 5 || len(topic.Posts) != 1 || !strings.Contains(raw, c.objectURL(id)) || !strings.Contains(raw, wantFact[kind]) {
			t.Errorf("%s: topic %+v", kind, topic)
		}
	}
	news, _ := forum.byTitle("Nouveau serveur")
	if !slices.Equal(news.Tags, []string{"infra", "logiciellibrepourtou"}) || strings.Contains(news.Raws[0], "@everyone") || !strings.HasPrefix(news.Raws[0], "*News*") {
		t.Errorf("news topic: tags %v, raw %q", news.Tags, news.Raws[0])
	}
	// The 429 was waited: no write went through before its 2 s were over
	// (a write of another topic meanwhile was refused too, and waited).
	forum.mu.Lock()
	limitedAt, writes := slices.Clone(forum.limitedAt), slices.Clone(forum.accepted)
	forum.mu.Unlock()
	if len(limitedAt) == 0 {
		t.Fatal("never rate limited")
	}
	// Each of the six topics' jobs is refused at most once when it waits
	// as told; one that came back early (the rig's own backoff is 100 ms)
	// would be refused again and again within the window.
	if len(limitedAt) > 6 {
		t.Errorf("refused %d times within a 2-second window: a retry did not wait for Retry-After", len(limitedAt))
	}
	var after time.Time
	for _, w := range writes {
		if w.After(limitedAt[0]) {
			after = w
			break
		}
	}
	if gap := after.Sub(limitedAt[0]); gap < 1900*time.Millisecond {
		t.Errorf("the write after a 429 with Retry-After: 2 came %s later", gap)
	}

	// An edit rewrites the title and the first post and, asked for a
	// follow-up, replies; an edit without one only rewrites.
	apath := func(id int64) string { return fmt.Sprintf("/api/v1/boards/news/announcements/%d", id) }
	if code := c.api("PATCH", apath(ids["outage"]), map[string]any{"title": "Mail down until tonight", "body": "Still on it.", "follow_up": true}, nil, nil); code != 200 {
		t.Fatalf("edit: %d", code)
	}
	waitFor(t, 15*time.Second, "the reply", func() bool {
		o, ok := forum.byTitle("Mail down until tonight")
		return ok && len(o.Posts) == 2
	})
	c.waitQueueIdle()
	outage, _ := forum.byTitle("Mail down until tonight")
	if !strings.Contains(outage.Raws[0], "Still on it.") || strings.Contains(outage.Raws[0], "We are on it.") || !strings.HasPrefix(outage.Raws[1], "**Updated: Mail down until tonight**") {
		t.Errorf("after the edit: %q", outage.Raws)
	}
	c.api("PATCH", apath(ids["event"]), map[string]any{"body": "Bring a laptop and a charger."}, nil, nil)
	// Waited for at the forum: a job waiting for an earlier one is
	// scheduled, which an idle queue does not count.
	waitFor(t, 15*time.Second, "the event's edit", func() bool {
		ev, _ := forum.byTitle("Install party")
		return len(ev.Raws) > 0 && strings.Contains(ev.Raws[0], "a charger")
	})
	c.waitQueueIdle()
	if ev, _ := forum.byTitle("Install party"); len(ev.Posts) != 1 || !strings.Contains(ev.Raws[0], "a charger") {
		t.Errorf("an edit without follow-up: %q", ev.Raws)
	}

	// A topic made whose answer is lost (a 502 from a proxy) is found by
	// its external_id on the next try, not made twice.
	forum.set(func(d *discourseServer) { d.loseNext = true })
	lost, _ := c.post(map[string]any{"kind": "news", "title": "Assemblée générale 2027", "body": "Le 12 mars, salle B."}, nil)
	waitFor(t, 20*time.Second, "the lost answer's delivery", func() bool { return c.deliveries(lost.ID).Counts["delivered"] == 1 })
	c.api("PATCH", apath(lost.ID), map[string]any{"body": "Le 12 mars, salle C."}, nil, nil)
	// Waited for at the forum, not by an idle queue, which does not count
	// a job waiting for an earlier one of the board.
	waitFor(t, 15*time.Second, "the lost topic's edit", func() bool {
		for _, v := range forum.view() {
			if strings.HasPrefix(v.Title, "Assemblée générale 2027") && len(v.Raws) > 0 && strings.Contains(v.Raws[0], "salle C") {
				return true
			}
		}
		return false
	})
	c.waitQueueIdle()
	var same []dView
	for _, v := range forum.view() {
		if strings.HasPrefix(v.Title, "Assemblée générale 2027") {
			same = append(same, v)
		}
	}
	if len(same) != 1 || !strings.Contains(same[0].Raws[0], "salle C") {
		t.Errorf("after a lost answer: %+v", same)
	}

	// Tags refused (the user may not tag): the topic goes without them.
	forum.set(func(d *discourseServer) { d.tagging = false })
	tagged, _ := c.post(map[string]any{"kind": "news", "title": "Atelier réparation", "body": "Samedi au local.", "tags": []string{"repair"}}, nil)
	waitFor(t, 15*time.Second, "the topic without tags", func() bool { _, ok := forum.byTitle("Atelier réparation"); return ok })
	if v, _ := forum.byTitle("Atelier réparation"); len(v.Tags) != 0 {
		t.Errorf("tags: %v", v.Tags)
	}
	c.waitQueueIdle()
	if d := c.deliveries(tagged.ID); d.Counts["delivered"] != 1 {
		t.Errorf("tagged deliveries: %+v", d)
	}
	if code := c.api("POST", path+"/test", nil, nil, &test); code != 200 || test["checked"].(map[string]any)["tags"] != false {
		t.Errorf("the test should say tags are off: %v", test)
	}

	// The same title twice (a monthly meeting): the forum refuses a title
	// already used, so the second topic ends with its date, which its
	// edits keep.
	meetingTopics := func() int {
		n := 0
		for _, v := range forum.view() {
			if strings.HasPrefix(v.Title, "Réunion mensuelle du bureau") {
				n++
			}
		}
		return n
	}
	first, _ := c.post(map[string]any{"kind": "news", "title": "Réunion mensuelle du bureau", "body": "Ordre du jour à venir."}, nil)
	waitFor(t, 15*time.Second, "the first meeting's topic", func() bool { return meetingTopics() == 1 })
	second, _ := c.post(map[string]any{"kind": "news", "title": "Réunion mensuelle du bureau", "body": "Le compte rendu suivra."}, nil)
	waitFor(t, 15*time.Second, "the second meeting's topic", func() bool { return meetingTopics() == 2 })
	c.api("PATCH", apath(second.ID), map[string]any{"body": "Le compte rendu est en ligne."}, nil, nil)
	waitFor(t, 15*time.Second, "the second meeting's edit", func() bool {
		for _, v := range forum.view() {
			if strings.HasPrefix(v.Title, "Réunion mensuelle du bureau —") && len(v.Raws) > 0 && strings.Contains(v.Raws[0], "est en ligne") {
				return true
			}
		}
		return false
	})
	c.waitQueueIdle()
	var meetings []string
	for _, v := range forum.view() {
		if strings.HasPrefix(v.Title, "Réunion mensuelle du bureau") {
			meetings = append(meetings, v.Title+" | "+v.Raws[0])
		}
	}
	if len(meetings) != 2 || !strings.HasPrefix(meetings[0], "Réunion mensuelle du bureau | ") ||
		!regexp.MustCompile(`^Réunion mensuelle du bureau — \d+ \S+ \d{4} \| (?s).*compte rendu est en ligne`).MatchString(meetings[1]) {
		t.Errorf("two topics of the same title: %q", meetings)
	}
	for _, id := range []int64{first.ID, second.ID} {
		if d := c.deliveries(id); d.Counts["delivered"] != len(d.Deliveries) {
			t.Errorf("deliveries of a monthly meeting: %+v", d)
		}
	}

	// Deletions: unlisted, then (the set-up changed, its key kept) closed.
	c.api("DELETE", apath(ids["news"]), nil, nil, nil)
	waitFor(t, 15*time.Second, "the news topic unlisted", func() bool { v, _ := forum.byTitle("Nouveau serveur"); return !v.Visible })
	if v, _ := forum.byTitle("Nouveau serveur"); v.Visible || v.Closed {
		t.Errorf("deleted news: visible %v closed %v", v.Visible, v.Closed)
	}
	setup["on_delete"], setup["api_key"] = "close", ""
	if code := c.api("PUT", path, setup, nil, &view); code != 200 || view["api_key_set"] != true {
		t.Fatalf("PUT without the key: %d %v", code, view)
	}
	c.api("DELETE", apath(ids["campaign"]), nil, nil, nil)
	waitFor(t, 15*time.Second, "the campaign's topic closed", func() bool { v, _ := forum.byTitle("A new server"); return v.Closed })
	if v, _ := forum.byTitle("A new server"); !v.Visible || !v.Closed {
		t.Errorf("deleted campaign: visible %v closed %v", v.Visible, v.Closed)
	}

	// crieur check sees the forum (the rest of this loopback set-up, plain
	// http, fails its checks).
	if out, _ := runCLI("", nil, "check", "--data", c.DataDir); !strings.Contains(out, "ok    Discourse for news: posts as crieur in Annonces ("+forum.URL+"/c/annonces/5), without tags") {
		t.Errorf("crieur check on the forum:\n%s", out)
	}

	// The editor's Channels and lists page: the forum, its form (the key
	// never written into the page) and a test button that says where
	// topics go and that nothing was posted.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	page := func(resp *http.Response, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return html.UnescapeString(string(raw))
	}
	page(browser.PostForm(c.URL+"/edit/login", url.Values{"token": {c.Token}}))
	dest := page(browser.Get(c.URL + "/edit/news/destinations"))
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(dest)
	if !strings.Contains(dest, "Discourse forum") || !strings.Contains(dest, forum.URL+", category annonces, posts as crieur") || strings.Contains(dest, key) || csrf == nil {
		t.Fatalf("the editor's destinations page:\n%s", dest)
	}
	if after := page(browser.PostForm(c.URL+"/edit/news/destinations/discourse/test", url.Values{"csrf": {csrf[1]}, "item": {"forum"}})); !strings.Contains(after,
		"Nothing was posted: the forum accepts the key, and topics will go to the category Annonces ("+forum.URL+"/c/annonces/5), posted by crieur, without tags") {
		t.Errorf("the editor's test button:\n%s", after)
	}

	// A wrong key: the delivery is given up with what to fix, never the key.
	setup["api_key"] = wrongKey
	c.api("PUT", path, setup, nil, nil)
	checkOut, _ := runCLI("", nil, "check", "--data", c.DataDir)
	if !strings.Contains(checkOut, "FAIL  Discourse for news: forum 127.0.0.1") || !strings.Contains(checkOut, "API key") || strings.Contains(checkOut, wrongKey) {
		t.Errorf("crieur check with a wrong key:\n%s", checkOut)
	}
	bad, _ := c.post(map[string]any{"kind": "news", "title": "Never on the forum", "body": "The key is wrong."}, nil)
	c.waitQueueIdle()
	d := c.deliveries(bad.ID)
	var dead string
	for _, x := range d.Deliveries {
		if strings.HasPrefix(x.Target, "discourse:") && x.State == "dead" {
			dead = x.LastError
		}
	}
	if !strings.Contains(dead, "403") || !strings.Contains(dead, "API key") || d.ByDestination["discourse"]["dead"] != 1 {
		t.Errorf("a wrong key on the dashboard: %+v", d)
	}
	if code := c.api("POST", path+"/test", nil, nil, &test); code != 502 || !strings.Contains(fmt.Sprint(test["error"]), "invalid_access") && !strings.Contains(fmt.Sprint(test["error"]), "API key") {
		t.Errorf("test with a wrong key: %d %v", code, test)
	}
	if _, ok := forum.byTitle("Never on the forum"); ok {
		t.Errorf("posted with a wrong key")
	}

	// The keys are secrets: never in answers, deliveries or logs; every
	// request carried both headers.
	c.api("GET", path, nil, nil, &view)
	raw, _ := json.Marshal(view)
	var all []byte
	for _, id := range append(slices.Collect(maps.Values(ids)), bad.ID, lost.ID) {
		b, _ := json.Marshal(c.deliveries(id))
		all = append(all, b...)
	}
	for _, secret := range []string{key, wrongKey} {
		for where, text := range map[string]string{"GET discourse": string(raw), "deliveries": string(all), "test answer": fmt.Sprint(test), "log": c.stderr.String(), "check": checkOut} {
			if strings.Contains(text, secret) {
				t.Errorf("a key appears in the %s", where)
			}
		}
	}
	forum.mu.Lock()
	if forum.noHeaders != 0 {
		t.Errorf("%d requests without Api-Key and Api-Username", forum.noHeaders)
	}
	forum.mu.Unlock()
}
