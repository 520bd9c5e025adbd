package discourse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"crieur/federation/delivery"
)

// forum is one board's forum, as its API answers (read from Discourse's
// source, github.com/discourse/discourse, and docs.discourse.org):
//
//   - Authentication: the Api-Key and Api-Username headers
//     (HEADER_API_KEY and HEADER_API_USERNAME, read by
//     lib/auth/default_current_user_provider.rb for every controller of
//     app/controllers/application_controller.rb). A key that is unknown,
//     revoked, or bound to another user is refused with 403 and
//     error_type "invalid_access" (Discourse::InvalidAccess); a key
//     without the scope of an action too. The scopes Crieur needs
//     (app/models/api_key_scope.rb): topics "write" (posts#create) and
//     "update" (topics#update, topics#status), posts "edit"
//     (posts#update), and global "read" (every GET: the look-up by
//     external_id, the category, the checks).
//   - POST /posts.json with title, raw, category (an id), tags[] and
//     external_id makes a topic and its first post, answering the post
//     (id, topic_id); with topic_id instead it makes a reply
//     (PostsController#create, app/controllers/posts_controller.rb).
//   - PUT /t/{id}.json with title and category_id changes the topic
//     (TopicsController#update); PUT /posts/{id}.json with post[raw]
//     rewrites a post (PostsController#update); PUT /t/{id}/status.json
//     with status (visible, closed, pinned, archived) and enabled
//     (true/false) unlists or closes (TopicsController#status,
//     check_for_status_presence).
//   - GET /t/external_id/{id}.json finds a topic by its external_id
//     (TopicsController#show_by_external_id), redirecting to the topic.
//   - Errors: {"errors": ["..."], "error_type": "..."}: 403 for access,
//     404 for what is not there (or not visible to the user), 422 for what
//     the models refuse (a title too short, a category that does not
//     exist, an external_id taken), 429 with Retry-After (seconds) and
//     extras.wait_seconds when a rate limit (RateLimiter::LimitExceeded,
//     rate_limit_create_topic, max_topics_per_day, the admin API's
//     max_admin_api_reqs_per_key_per_minute) refuses: its rescue_from in
//     app/controllers/application_controller.rb, render_json_error
//     type rate_limit.
type forum struct {
	base, key, user string
	http            *http.Client
	now             func() time.Time
}

func (d *Destination) forum(s Setup) forum {
	return forum{base: strings.TrimRight(s.URL, "/"), key: s.APIKey, user: s.Username, http: d.http, now: d.now}
}

// errNotFound is a 404: what was asked for is not on the forum.
var errNotFound = errors.New("not found on the forum")

// refusal is an answer of the forum that is not a success, with its words.
type refusal struct {
	Status int
	Type   string
	Words  string
}

func (r *refusal) Error() string {
	s := fmt.Sprintf("the forum answered %d %s", r.Status, http.StatusText(r.Status))
	if r.Words != "" {
		s += ": " + r.Words
	}
	return s
}

// do sends one request; what it answers with 2xx is decoded into out.
// Errors name the forum's host and say what to fix; they never carry the
// key, which only ever travels in a header.
func (f forum) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return delivery.Permanent(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, f.base+path, rd)
	if err != nil {
		return delivery.Permanent(fmt.Errorf("the forum's address is not valid: %w", err))
	}
	req.Header.Set("Api-Key", f.key)
	req.Header.Set("Api-Username", f.user)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := f.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("forum %s: %w", req.URL.Host, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 == 2 {
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(answer, out); err != nil {
			return fmt.Errorf("forum %s: %s %s: an answer that is not Discourse's JSON: %w", req.URL.Host, method, path, err)
		}
		return nil
	}
	r := &refusal{Status: resp.StatusCode}
	var e struct {
		Errors    []string `json:"errors"`
		ErrorType string   `json:"error_type"`
		Extras    struct {
			WaitSeconds float64 `json:"wait_seconds"`
		} `json:"extras"`
	}
	if json.Unmarshal(answer, &e) == nil {
		r.Type, r.Words = e.ErrorType, strings.Join(e.Errors, " ")
	}
	r.Words = strings.ReplaceAll(r.Words, f.key, "(API key)")
	if len(r.Words) > 300 {
		r.Words = r.Words[:300] + "…"
	}
	msg := fmt.Errorf("forum %s: %s %s: %w", req.URL.Host, method, path, r)
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests:
		after := delivery.RetryAfter(resp.Header.Get("Retry-After"), f.now())
		if after == 0 && e.Extras.WaitSeconds > 0 {
			after = time.Duration(e.Extras.WaitSeconds * float64(time.Second))
		}
		return &delivery.RetryAfterError{Err: msg, After: after}
	case code >= 500 || code == http.StatusRequestTimeout:
		return msg
	case code == http.StatusNotFound:
		return fmt.Errorf("%w (%w)", errNotFound, delivery.Permanent(msg))
	case code == http.StatusForbidden || code == http.StatusUnauthorized:
		return delivery.Permanent(fmt.Errorf("%w (check the API key and the user it posts as: on the forum, Admin, API, Keys, a key for that user with the scopes topics write and update, posts edit and global read; unlisting and closing need a moderator)", msg))
	default:
		// 400 (a parameter), 422 (a title too short, a category that is
		// not there, a post too long): the same request meets the same
		// refusal.
		return delivery.Permanent(msg)
	}
}

// newTopic is POST /posts.json making a topic.
type newTopic struct {
	Title      string   `json:"title"`
	Raw        string   `json:"raw"`
	Category   int64    `json:"category"`
	Tags       []string `json:"tags,omitempty"`
	ExternalID string   `json:"external_id"`
}

type postAnswer struct {
	ID      int64 `json:"id"`
	TopicID int64 `json:"topic_id"`
}

func (f forum) createTopic(ctx context.Context, t newTopic) (topicRow, error) {
	var p postAnswer
	if err := f.do(ctx, http.MethodPost, "/posts.json", t, &p); err != nil {
		return topicRow{}, err
	}
	if p.ID == 0 || p.TopicID == 0 {
		return topicRow{}, fmt.Errorf("forum %s: the new topic's answer has no id", f.host())
	}
	return topicRow{TopicID: p.TopicID, PostID: p.ID}, nil
}

func (f forum) host() string {
	if u, err := url.Parse(f.base); err == nil {
		return u.Host
	}
	return "?"
}

// byExternalID finds the topic of an external_id, with its first post.
func (f forum) byExternalID(ctx context.Context, ext string) (topicRow, error) {
	var t struct {
		ID         int64  `json:"id"`
		Title      string `json:"title"`
		PostStream struct {
			Posts []struct {
				ID         int64 `json:"id"`
				PostNumber int   `json:"post_number"`
			} `json:"posts"`
		} `json:"post_stream"`
	}
	if err := f.do(ctx, http.MethodGet, "/t/external_id/"+url.PathEscape(ext)+".json", nil, &t); err != nil {
		return topicRow{}, err
	}
	for _, p := range t.PostStream.Posts {
		if p.PostNumber == 1 {
			return topicRow{TopicID: t.ID, PostID: p.ID, Title: t.Title}, nil
		}
	}
	return topicRow{}, fmt.Errorf("forum %s: topic %d has no first post in its answer", f.host(), t.ID)
}

func (f forum) editTitle(ctx context.Context, topic int64, title string, category int64) error {
	return f.do(ctx, http.MethodPut, fmt.Sprintf("/t/%d.json", topic), map[string]any{"title": title, "category_id": category}, nil)
}

func (f forum) editPost(ctx context.Context, post int64, raw string) error {
	return f.do(ctx, http.MethodPut, fmt.Sprintf("/posts/%d.json", post), map[string]any{"post": map[string]string{"raw": raw}}, nil)
}

func (f forum) reply(ctx context.Context, topic int64, raw string) error {
	return f.do(ctx, http.MethodPost, "/posts.json", map[string]any{"topic_id": topic, "raw": raw}, &postAnswer{})
}

// status unlists (visible=false) or closes (closed=true) a topic.
func (f forum) status(ctx context.Context, topic int64, onDelete string) error {
	body := map[string]string{"status": "visible", "enabled": "false"}
	if onDelete == OnDeleteClose {
		body = map[string]string{"status": "closed", "enabled": "true"}
	}
	return f.do(ctx, http.MethodPut, fmt.Sprintf("/t/%d/status.json", topic), body, nil)
}

type category struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Slug string `json:"slug"`
}

// category finds a category by its id or slug among those the user can
// see (GET /categories.json, CategoriesController#index, with its
// subcategories).
func (f forum) category(ctx context.Context, idOrSlug string) (category, error) {
	var list struct {
		CategoryList struct {
			Categories []struct {
				category
				Subcategories []category `json:"subcategory_list"`
			} `json:"categories"`
		} `json:"category_list"`
	}
	if err := f.do(ctx, http.MethodGet, "/categories.json?include_subcategories=true", nil, &list); err != nil {
		return category{}, err
	}
	id, _ := strconv.ParseInt(idOrSlug, 10, 64)
	for _, c := range list.CategoryList.Categories {
		for _, x := range append([]category{c.category}, c.Subcategories...) {
			if x.Slug == idOrSlug || id != 0 && x.ID == id {
				return x, nil
			}
		}
	}
	return category{}, delivery.Permanent(fmt.Errorf("forum %s: no category %q that %s can see: write its id or its slug as in its address (/c/SLUG/ID)", f.host(), idOrSlug, f.user))
}

// currentUser is the user the key acts as (GET /session/current.json,
// SessionController#current: 404 when no one is signed in).
func (f forum) currentUser(ctx context.Context) (string, error) {
	var s struct {
		CurrentUser struct {
			Username string `json:"username"`
		} `json:"current_user"`
	}
	if err := f.do(ctx, http.MethodGet, "/session/current.json", nil, &s); err != nil {
		if errors.Is(err, errNotFound) {
			return "", delivery.Permanent(fmt.Errorf("forum %s: the key signs no one in: check the API key and the user it posts as", f.host()))
		}
		return "", err
	}
	return s.CurrentUser.Username, nil
}

// canTag says whether the user may tag topics (GET /site.json,
// can_tag_topics of SiteSerializer: false when tagging_enabled is off or
// the user's trust level is below the one to tag).
func (f forum) canTag(ctx context.Context) (bool, error) {
	var s struct {
		CanTagTopics bool `json:"can_tag_topics"`
	}
	if err := f.do(ctx, http.MethodGet, "/site.json", nil, &s); err != nil {
		return false, err
	}
	return s.CanTagTopics, nil
}
