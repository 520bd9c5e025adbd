// Package discourse publishes boards' announcements to a Discourse forum
// (the CHATONS forum runs one) as topics, through the same delivery queue
// as every other destination: retried, dead-lettered, shown on the
// deliveries dashboard.
//
// An announcement becomes a topic in the board's category; an edit
// rewrites the topic's title and first post and, when the board asks for
// it, answers with a reply saying what changed; a deletion unlists or
// closes the topic (the board chooses). Every effect is recorded under its
// origin (the announcement, and the outbox entry's version and verb) before
// the job is acknowledged, and a topic carries an external_id derived
// from its announcement, so that retries, restarts and duplicate jobs never
// make a second topic.
//
// The API key is a secret: the store keeps it, the API and the editor
// never show it back, and no error or log line carries it (it travels in
// a header, never in an address).
//
// Its tables are made by the store's registry; it reads boards through
// its Boards interface and dials through federation/outbound's client.
package discourse

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"crieur/board"
	"crieur/board/locale"
	"crieur/federation/delivery"
)

// KindSend is the job kind of one announcement's effect on a forum.
const KindSend = "discourse.send"

// What a deletion does to the topic.
const (
	OnDeleteUnlist = "unlist"
	OnDeleteClose  = "close"
)

// Setup is a board's forum.
type Setup struct {
	// URL is the forum's base address (https://forum.example.org).
	URL string `json:"url"`
	// APIKey is the secret key; never shown back.
	APIKey string `json:"-"`
	// Username is the forum user the key posts as.
	Username string `json:"username"`
	// Category is the category as the editor wrote it: an id or a slug.
	Category string `json:"category"`
	// CategoryID is Category resolved (0 until it is).
	CategoryID int64 `json:"category_id,omitempty"`
	// OnDelete is what a deletion does: unlist (the default) or close.
	OnDelete string `json:"on_delete"`
	// Replies sends an edit's follow-up as a reply in the topic.
	Replies bool `json:"replies"`
	// TagsOff says the forum refused tags: topics go without them.
	TagsOff bool `json:"tags_off,omitempty"`
}

// ErrNoSetup is a board without a forum.
var ErrNoSetup = errors.New("this board posts to no Discourse forum")

// Links gives the public URL of an announcement.
type Links interface {
	AnnouncementURL(board string, id int64) string
}

// Boards is what the destination reads of the board store.
type Boards interface {
	BoardByName(ctx context.Context, name string) (board.Board, error)
	BoardByID(ctx context.Context, id int64) (board.Board, error)
	Announcement(ctx context.Context, boardID, id int64) (board.Announcement, error)
}

// Destination posts to boards' forums.
type Destination struct {
	db     *sql.DB
	boards Boards
	links  Links
	http   *http.Client
	now    func() time.Time
}

// New is the forum destination on db (the board store's file, whose
// registry made its tables). client must be federation/outbound's.
func New(db *sql.DB, boards Boards, links Links, client *http.Client) *Destination {
	c := *client
	// The key travels in a header Go's client forwards on every redirect,
	// even to another host (it strips only Authorization and cookies):
	// follow a redirect only on the forum's own host (the one Discourse
	// makes from /t/external_id/… to the topic).
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 || req.URL.Host != via[0].URL.Host {
			return http.ErrUseLastResponse
		}
		return nil
	}
	return &Destination{db: db, boards: boards, links: links, http: &c, now: time.Now}
}

// Setup reads a board's forum, ErrNoSetup when it has none.
func (d *Destination) Setup(ctx context.Context, boardID int64) (Setup, error) {
	var s Setup
	var replies, tagsOff int
	err := d.db.QueryRowContext(ctx, `SELECT url, api_key, username, category, category_id, on_delete, replies, tags_off FROM discourse_setups WHERE board_id = ?`, boardID).
		Scan(&s.URL, &s.APIKey, &s.Username, &s.Category, &s.CategoryID, &s.OnDelete, &replies, &tagsOff)
	if errors.Is(err, sql.ErrNoRows) {
		return Setup{}, ErrNoSetup
	}
	if err != nil {
		return Setup{}, fmt.Errorf("discourse set-up: %w", err)
	}
	s.Replies, s.TagsOff = replies != 0, tagsOff != 0
	return s, nil
}

// Save stores a board's forum. An empty key keeps the one saved (a set-up
// can be changed without typing the secret again); a new category or
// forum is resolved again.
func (d *Destination) Save(ctx context.Context, boardID int64, s Setup) error {
	old, err := d.Setup(ctx, boardID)
	if err != nil && !errors.Is(err, ErrNoSetup) {
		return err
	}
	if s.APIKey == "" {
		s.APIKey = old.APIKey
	}
	if s.OnDelete == "" {
		s.OnDelete = OnDeleteUnlist
	}
	if s.CategoryID == 0 && old.Category == s.Category && old.URL == s.URL {
		s.CategoryID = old.CategoryID
	}
	if id, err := strconv.ParseInt(s.Category, 10, 64); err == nil {
		s.CategoryID = id
	}
	_, err = d.db.ExecContext(ctx, `INSERT INTO discourse_setups (board_id, url, api_key, username, category, category_id, on_delete, replies, tags_off)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (board_id) DO UPDATE SET url = excluded.url, api_key = excluded.api_key, username = excluded.username, category = excluded.category,
			category_id = excluded.category_id, on_delete = excluded.on_delete, replies = excluded.replies, tags_off = excluded.tags_off`,
		boardID, strings.TrimRight(s.URL, "/"), s.APIKey, s.Username, s.Category, s.CategoryID, s.OnDelete, b2i(s.Replies), b2i(s.TagsOff))
	if err != nil {
		return fmt.Errorf("discourse set-up: %w", err)
	}
	return nil
}

// Delete forgets a board's forum (the topics already posted stay there).
func (d *Destination) Delete(ctx context.Context, boardID int64) error {
	_, err := d.db.ExecContext(ctx, `DELETE FROM discourse_setups WHERE board_id = ?`, boardID)
	return err
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

var (
	// usernameRe is what Discourse accepts as a username (UsernameValidator,
	// lib/validators/username_validator.rb, with unicode_usernames off):
	// letters, digits, dot, dash, underscore.
	usernameRe = regexp.MustCompile(`^[\w.-]{1,60}$`)
	// slugRe is a category's slug (Slug.for, lib/slug.rb, in its ascii mode)
	// or its id.
	slugRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,99}$`)
)

// Check says what is wrong with a set-up, field by field; keySet says a
// key is already saved.
func Check(s Setup, keySet bool) board.Problems {
	errs := board.Problems{}
	if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.User != nil {
		errs["url"] = board.Problemf("problem.discourse_url")
	}
	if s.APIKey == "" && !keySet {
		errs["api_key"] = board.Problemf("problem.discourse_key_needed")
	} else if len(s.APIKey) > 200 || strings.ContainsAny(s.APIKey, " \t\r\n") {
		errs["api_key"] = board.Problemf("problem.discourse_key")
	}
	if !usernameRe.MatchString(s.Username) {
		errs["username"] = board.Problemf("problem.discourse_username")
	}
	if !slugRe.MatchString(s.Category) {
		errs["category"] = board.Problemf("problem.discourse_category")
	}
	if s.OnDelete != "" && s.OnDelete != OnDeleteUnlist && s.OnDelete != OnDeleteClose {
		errs["on_delete"] = board.Problemf("problem.discourse_on_delete")
	}
	return errs
}

type payload struct {
	Board          string     `json:"board"`
	AnnouncementID int64      `json:"announcement"`
	Verb           board.Verb `json:"verb"`
	Version        int        `json:"version"`
	OutboxID       int64      `json:"outbox"`
	FollowUp       bool       `json:"follow_up,omitempty"`
	Changes        []string   `json:"changes,omitempty"`
}

// Expand implements delivery.Expander: every new announcement, edit,
// refresh of counts and deletion is one job for the board's forum; pins
// mean nothing there.
func (d *Destination) Expand(ctx context.Context, e board.OutboxEntry) ([]delivery.Job, error) {
	switch e.Verb {
	case board.VerbCreate, board.VerbUpdate, board.VerbRefresh, board.VerbDelete:
	default:
		return nil, nil
	}
	s, err := d.Setup(ctx, e.BoardID)
	if errors.Is(err, ErrNoSetup) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	bd, err := d.boards.BoardByID(ctx, e.BoardID)
	if err != nil {
		return nil, err
	}
	p, _ := json.Marshal(payload{Board: bd.Name, AnnouncementID: e.AnnouncementID, Verb: e.Verb, Version: e.Version, OutboxID: e.ID, FollowUp: e.FollowUp, Changes: e.Changes})
	return []delivery.Job{{ID: fmt.Sprintf("dc:%d", e.ID), Kind: KindSend, OutboxID: e.ID, Target: target(s.URL), Payload: p}}, nil
}

// target names the forum on the deliveries dashboard (discourse:HOST).
func target(forum string) string {
	if u, err := url.Parse(forum); err == nil && u.Host != "" {
		return "discourse:" + u.Host
	}
	return "discourse:forum"
}

// Handle implements delivery.Handler for KindSend.
func (d *Destination) Handle(ctx context.Context, job delivery.Job) error {
	var p payload
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return delivery.Permanent(fmt.Errorf("bad discourse job: %w", err))
	}
	bd, err := d.boards.BoardByName(ctx, p.Board)
	if err != nil {
		return delivery.Permanent(err)
	}
	s, err := d.Setup(ctx, bd.ID)
	if errors.Is(err, ErrNoSetup) {
		return delivery.Permanent(errors.New("the board's Discourse set-up was removed"))
	}
	if err != nil {
		return err
	}
	a, err := d.boards.Announcement(ctx, bd.ID, p.AnnouncementID)
	if err != nil {
		return delivery.Permanent(err)
	}
	f := d.forum(s)
	t, found, err := d.topic(ctx, s.URL, a.ID)
	if err != nil {
		return err
	}
	l := locale.Of(bd, a)
	link := d.links.AnnouncementURL(bd.Name, a.ID)

	if p.Verb == board.VerbDelete || a.DeletedAt != nil {
		if !found {
			return nil // never reached the forum: nothing to take back
		}
		return d.once(ctx, a.ID, s.URL, fmt.Sprintf("v%d:delete", p.Version), func() error {
			return f.status(ctx, t.TopicID, s.OnDelete)
		})
	}
	if !found {
		// The topic is made with the announcement as it is now, by whichever
		// job comes first (an edit may overtake its creation in the queue);
		// the later ones see it in the ledger.
		if t, err = d.create(ctx, f, &s, bd, a, l, link); err != nil {
			return err
		}
	}
	if p.Verb == board.VerbCreate {
		return nil // made, or already made: a duplicate job
	}
	origin := fmt.Sprintf("v%d:%s:%d", p.Version, p.Verb, p.OutboxID)
	// A topic this job made already reads as the announcement now does.
	if err := d.once(ctx, a.ID, s.URL, origin+":edit", func() error {
		if !found {
			return nil
		}
		// The title, and the category: a board whose category changed
		// moves its topics there as they are edited.
		if err := d.resolveCategory(ctx, f, &s, bd.ID); err != nil {
			return err
		}
		if err := f.editTitle(ctx, t.TopicID, TitleWith(l, a, bd.DisplayName, t.TitleSuffix), s.CategoryID); err != nil {
			return err
		}
		return f.editPost(ctx, t.PostID, Body(l, a, link))
	}); err != nil {
		return err
	}
	if p.Verb == board.VerbUpdate && p.FollowUp && s.Replies {
		return d.once(ctx, a.ID, s.URL, origin+":reply", func() error {
			return f.reply(ctx, t.TopicID, FollowUp(l, a, link, p.Changes))
		})
	}
	return nil
}

// topicRow is the topic an announcement became on a forum.
type topicRow struct {
	TopicID, PostID int64
	// TitleSuffix is what its title ends with to differ from another
	// topic's (DateSuffix), kept by every edit.
	TitleSuffix string
	// Title is the topic's title when the forum said it (not stored).
	Title string
}

func (d *Destination) topic(ctx context.Context, forum string, announcement int64) (topicRow, bool, error) {
	var t topicRow
	err := d.db.QueryRowContext(ctx, `SELECT topic_id, post_id, title_suffix FROM discourse_topics WHERE announcement_id = ? AND forum = ?`, announcement, forum).Scan(&t.TopicID, &t.PostID, &t.TitleSuffix)
	if errors.Is(err, sql.ErrNoRows) {
		return t, false, nil
	}
	if err != nil {
		return t, false, fmt.Errorf("discourse topics: %w", err)
	}
	return t, true, nil
}

// create makes the topic, or finds the one an earlier try made (its
// answer lost, or Crieur stopped before recording it), and records it.
func (d *Destination) create(ctx context.Context, f forum, s *Setup, bd board.Board, a board.Announcement, l locale.Locale, link string) (topicRow, error) {
	if err := d.resolveCategory(ctx, f, s, bd.ID); err != nil {
		return topicRow{}, err
	}
	ext := ExternalID(d.links.AnnouncementURL(bd.Name, a.ID))
	// A topic made by an earlier try whose answer was lost: found by its
	// external_id, not made again.
	t, err := f.byExternalID(ctx, ext)
	if err != nil && !errors.Is(err, errNotFound) && !refusedWith(err, http.StatusForbidden) {
		return topicRow{}, err
	}
	// Not found, or a key whose scopes do not reach the look-up (it needs
	// "global: read", app/models/api_key_scope.rb): made now; the forum
	// refuses a second topic of the same external_id anyway.
	if err != nil {
		if t, err = d.createNew(ctx, f, s, bd, a, l, link, ext); err != nil {
			return topicRow{}, err
		}
	}
	if suffix := DateSuffix(l, a); t.TitleSuffix == "" && strings.HasSuffix(t.Title, suffix) {
		t.TitleSuffix = suffix // made by an earlier try, with its date
	}
	if _, err := d.db.ExecContext(ctx, `INSERT OR IGNORE INTO discourse_topics (announcement_id, forum, board_id, topic_id, post_id, title_suffix, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		a.ID, s.URL, bd.ID, t.TopicID, t.PostID, t.TitleSuffix, d.now().Unix()); err != nil {
		return topicRow{}, fmt.Errorf("discourse topics: %w", err)
	}
	// Another worker may have recorded its own first: the ledger's is the
	// one every later effect uses.
	got, _, err := d.topic(ctx, s.URL, a.ID)
	return got, err
}

// resolveCategory finds the id of a category given by its slug, once:
// the set-up keeps it until the category is changed.
func (d *Destination) resolveCategory(ctx context.Context, f forum, s *Setup, boardID int64) error {
	if s.CategoryID != 0 {
		return nil
	}
	c, err := f.category(ctx, s.Category)
	if err != nil {
		return err
	}
	s.CategoryID = c.ID
	if _, err := d.db.ExecContext(ctx, `UPDATE discourse_setups SET category_id = ? WHERE board_id = ? AND category = ?`, c.ID, boardID, s.Category); err != nil {
		return fmt.Errorf("discourse set-up: %w", err)
	}
	return nil
}

// createNew posts the topic. What the forum refuses (422) may be fixed on
// Crieur's side, tried in this order: the topic was made meanwhile by
// another try (found by its external_id); tags are refused (they are
// optional on a forum: tagging off, the user not allowed to tag or to
// make a new tag), so the topic goes without them, and later ones too;
// the title is already used (allow_duplicate_topic_titles is off by
// default, and boards repeat titles), so it gets its date. Anything else
// is the forum's refusal, said in its words.
func (d *Destination) createNew(ctx context.Context, f forum, s *Setup, bd board.Board, a board.Announcement, l locale.Locale, link, ext string) (topicRow, error) {
	topic := newTopic{Title: Title(l, a, bd.DisplayName), Raw: Body(l, a, link), Category: s.CategoryID, ExternalID: ext}
	if !s.TagsOff {
		topic.Tags = Tags(a)
	}
	t, err := f.createTopic(ctx, topic)
	if !refused(err) {
		return t, err
	}
	if found, ferr := f.byExternalID(ctx, ext); ferr == nil {
		return found, nil
	}
	tags := topic.Tags
	if len(tags) > 0 {
		topic.Tags = nil
		if t, err = f.createTopic(ctx, topic); err == nil {
			s.TagsOff = true
			if _, err := d.db.ExecContext(ctx, `UPDATE discourse_setups SET tags_off = 1 WHERE board_id = ?`, bd.ID); err != nil {
				return topicRow{}, fmt.Errorf("discourse set-up: %w", err)
			}
			return t, nil
		}
		if !refused(err) {
			return t, err
		}
		topic.Tags = tags
	}
	suffix := DateSuffix(l, a)
	topic.Title = TitleWith(l, a, bd.DisplayName, suffix)
	if t, err = f.createTopic(ctx, topic); refused(err) && len(tags) > 0 {
		topic.Tags = nil
		t, err = f.createTopic(ctx, topic)
	}
	if err != nil {
		return topicRow{}, err
	}
	t.TitleSuffix = suffix
	return t, nil
}

// refused says the forum refused a request as it is (422).
func refused(err error) bool { return refusedWith(err, http.StatusUnprocessableEntity) }

func refusedWith(err error, status int) bool {
	var r *refusal
	return errors.As(err, &r) && r.Status == status
}

// once runs effect unless the ledger has origin done for the
// announcement on this forum, and records it when it succeeds.
func (d *Destination) once(ctx context.Context, announcement int64, forum, origin string, effect func() error) error {
	var done bool
	if err := d.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM discourse_effects WHERE announcement_id = ? AND forum = ? AND origin = ?)`, announcement, forum, origin).Scan(&done); err != nil {
		return fmt.Errorf("discourse effects: %w", err)
	}
	if done {
		return nil
	}
	if err := effect(); err != nil {
		return err
	}
	if _, err := d.db.ExecContext(ctx, `INSERT OR IGNORE INTO discourse_effects (announcement_id, forum, origin, done_at) VALUES (?, ?, ?, ?)`, announcement, forum, origin, d.now().Unix()); err != nil {
		return fmt.Errorf("discourse effects: %w", err)
	}
	return nil
}

// ExternalID is the topic's external_id for the announcement at link: the
// same on every try, different for every announcement of every Crieur.
// Discourse keeps it unique per forum, at most 50 characters of [\w-]
// (Topic::EXTERNAL_ID_MAX_LENGTH and the route's constraint, app/models/topic.rb,
// config/routes.rb).
func ExternalID(link string) string {
	sum := sha256.Sum256([]byte(link))
	return "crieur-" + hex.EncodeToString(sum[:16])
}

// Checked is what a test of the set-up found.
type Checked struct {
	User     string `json:"user"`
	Category string `json:"category"`
	// CategoryURL is where the topics will be listed.
	CategoryURL string `json:"category_url"`
	CategoryID  int64  `json:"category_id"`
	Tags        bool   `json:"tags"`
}

// Test checks the set-up without posting anything: the key and user are
// accepted, the category exists (its id is saved), and whether the user
// may tag topics. A test topic would stay on the forum for every member to
// read, and notify those who watch the category: a member testing the
// set-up expects to be told where announcements will go, not to have
// posted there.
func (d *Destination) Test(ctx context.Context, b board.Board) (Checked, error) {
	c, err := Probe(ctx, d.db, b.ID, d.http)
	if err != nil {
		return Checked{}, err
	}
	if _, err := d.db.ExecContext(ctx, `UPDATE discourse_setups SET category_id = ?, tags_off = ? WHERE board_id = ?`, c.CategoryID, b2i(!c.Tags), b.ID); err != nil {
		return Checked{}, fmt.Errorf("discourse set-up: %w", err)
	}
	return c, nil
}

// Probe is Test without saving what it found, for crieur check (which
// changes nothing): ErrNoSetup when the board has no forum.
func Probe(ctx context.Context, db *sql.DB, boardID int64, client *http.Client) (Checked, error) {
	d := &Destination{db: db, now: time.Now}
	s, err := d.Setup(ctx, boardID)
	if err != nil {
		return Checked{}, err
	}
	if client != nil {
		d.http = New(db, nil, nil, client).http
	}
	f := d.forum(s)
	user, err := f.currentUser(ctx)
	if err != nil {
		return Checked{}, err
	}
	c, err := f.category(ctx, s.Category)
	if err != nil {
		return Checked{}, err
	}
	tags, err := f.canTag(ctx)
	if err != nil {
		return Checked{}, err
	}
	return Checked{User: user, Category: c.Name, CategoryID: c.ID, CategoryURL: fmt.Sprintf("%s/c/%s/%d", s.URL, c.Slug, c.ID), Tags: tags}, nil
}
