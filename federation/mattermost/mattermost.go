// Package mattermost posts boards' announcements to Mattermost (and
// Slack-compatible) channels through incoming webhooks, as jobs of the
// same delivery queue as ActivityPub and Matrix: retried, dead-lettered,
// recorded.
//
// A webhook message cannot be edited or deleted: a new announcement is
// posted; an edit posts a short "Updated" follow-up only when the editor
// asked for one; a deletion posts nothing. Webhook URLs are secrets: the
// store keeps them, the API never shows them, and errors name the hook,
// never its URL.
//
// Its table is made by the store's registry; it reads boards through its
// Boards interface.
package mattermost

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"crieur/board"
	"crieur/board/locale"
	"crieur/federation/delivery"
)

// KindPost is the job kind of one webhook message.
const KindPost = "mattermost.post"

// Hook is one incoming webhook of a board.
type Hook struct {
	// Name is how editors and deliveries call it ("members", "tech").
	Name string `json:"name"`
	// URL is the secret webhook address; never shown back.
	URL string `json:"-"`
	// Channel, Username and IconURL override the webhook's defaults.
	Channel  string `json:"channel,omitempty"`
	Username string `json:"username,omitempty"`
	IconURL  string `json:"icon_url,omitempty"`
}

// Links gives the public URL of an announcement.
type Links interface {
	AnnouncementURL(board string, id int64) string
}

// Destination posts to a board's webhooks.
type Destination struct {
	db     *sql.DB
	boards Boards
	links  Links
	http   *http.Client
}

// Boards is what the destination reads of the board store.
type Boards interface {
	BoardByName(ctx context.Context, name string) (board.Board, error)
	BoardByID(ctx context.Context, id int64) (board.Board, error)
	Announcement(ctx context.Context, boardID, id int64) (board.Announcement, error)
}

// New is the webhook destination on db (the board store's file, whose
// registry made its table).
func New(db *sql.DB, boards Boards, links Links, client *http.Client) *Destination {
	return &Destination{db: db, boards: boards, links: links, http: client}
}

// Hooks lists a board's webhooks, by name.
func (d *Destination) Hooks(ctx context.Context, boardID int64) ([]Hook, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT name, url, channel, username, icon_url FROM mattermost_hooks WHERE board_id = ? ORDER BY name`, boardID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Hook
	for rows.Next() {
		var h Hook
		if err := rows.Scan(&h.Name, &h.URL, &h.Channel, &h.Username, &h.IconURL); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// SetHooks replaces a board's webhooks. A hook given without a URL keeps
// the one it had (so a set-up can be changed without typing the secret
// again).
func (d *Destination) SetHooks(ctx context.Context, boardID int64, hooks []Hook) error {
	old, err := d.Hooks(ctx, boardID)
	if err != nil {
		return err
	}
	known := map[string]string{}
	for _, h := range old {
		known[h.Name] = h.URL
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM mattermost_hooks WHERE board_id = ?`, boardID); err != nil {
		return err
	}
	for _, h := range hooks {
		if h.URL == "" {
			h.URL = known[h.Name]
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO mattermost_hooks (board_id, name, url, channel, username, icon_url) VALUES (?, ?, ?, ?, ?, ?)`,
			boardID, h.Name, h.URL, h.Channel, h.Username, h.IconURL); err != nil {
			return err
		}
	}
	return tx.Commit()
}

var nameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)

// Check says what is wrong with a set-up, field by field; hooks without a
// URL must be known already.
func Check(hooks []Hook, known map[string]bool) board.Problems {
	errs := board.Problems{}
	seen := map[string]bool{}
	for i, h := range hooks {
		key := fmt.Sprintf("hooks[%d]", i)
		switch {
		case !nameRe.MatchString(h.Name):
			errs[key+".name"] = board.Problemf("problem.hook_name")
		case seen[h.Name]:
			errs[key+".name"] = board.Problemf("problem.twice", h.Name)
		}
		seen[h.Name] = true
		if h.URL == "" {
			if !known[h.Name] {
				errs[key+".url"] = board.Problemf("problem.hook_url_needed")
			}
		} else if u, err := url.Parse(h.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs[key+".url"] = board.Problemf("problem.hook_url")
		}
		if h.IconURL != "" {
			if u, err := url.Parse(h.IconURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") {
				errs[key+".icon_url"] = board.Problemf("problem.icon_url")
			}
		}
		if len(h.Channel) > 64 || strings.ContainsAny(h.Channel, " \t\n") {
			errs[key+".channel"] = board.Problemf("problem.channel")
		}
		if len(h.Username) > 64 {
			errs[key+".username"] = board.Problemf("problem.at_most_chars", 64)
		}
	}
	return errs
}

type postPayload struct {
	Board          string   `json:"board"`
	AnnouncementID int64    `json:"announcement"`
	Hook           string   `json:"hook"`
	FollowUp       bool     `json:"follow_up,omitempty"`
	Changes        []string `json:"changes,omitempty"`
}

// Expand implements delivery.Expander: a new announcement goes to every
// hook; an edit only when the editor asked for a follow-up.
func (d *Destination) Expand(ctx context.Context, e board.OutboxEntry) ([]delivery.Job, error) {
	if !e.ForWriteOnce() {
		return nil, nil
	}
	hooks, err := d.Hooks(ctx, e.BoardID)
	if err != nil || len(hooks) == 0 {
		return nil, err
	}
	bd, err := d.boards.BoardByID(ctx, e.BoardID)
	if err != nil {
		return nil, err
	}
	var jobs []delivery.Job
	for _, h := range hooks {
		p, _ := json.Marshal(postPayload{Board: bd.Name, AnnouncementID: e.AnnouncementID, Hook: h.Name, FollowUp: e.Verb == board.VerbUpdate, Changes: e.Changes})
		jobs = append(jobs, delivery.Job{ID: fmt.Sprintf("mm:%d:%s", e.ID, h.Name), Kind: KindPost, OutboxID: e.ID, Target: "mattermost:" + h.Name, Payload: p})
	}
	return jobs, nil
}

// Handle implements delivery.Handler for KindPost.
func (d *Destination) Handle(ctx context.Context, job delivery.Job) error {
	var p postPayload
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return delivery.Permanent(fmt.Errorf("bad mattermost job: %w", err))
	}
	bd, err := d.boards.BoardByName(ctx, p.Board)
	if err != nil {
		return delivery.Permanent(err)
	}
	a, err := d.boards.Announcement(ctx, bd.ID, p.AnnouncementID)
	if err != nil {
		return delivery.Permanent(err)
	}
	if a.DeletedAt != nil {
		return nil // deleted before it went out: nothing to say
	}
	hook, err := d.hook(ctx, bd.ID, p.Hook)
	if err != nil {
		return err
	}
	l := locale.Of(bd, a)
	for i, text := range Posts(l, Render(l, a, d.links.AnnouncementURL(bd.Name, a.ID), p.FollowUp, p.Changes)) {
		// A text in several posts: each posted once, in order, though a
		// later one fails and the job is tried again.
		var sent bool
		if err := d.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM mattermost_parts WHERE job_id = ? AND part = ?)`, job.ID, i).Scan(&sent); err != nil {
			return fmt.Errorf("mattermost parts: %w", err)
		}
		if sent {
			continue
		}
		if err := d.post(ctx, hook, text); err != nil {
			return err
		}
		if _, err := d.db.ExecContext(ctx, `INSERT OR IGNORE INTO mattermost_parts (job_id, part) VALUES (?, ?)`, job.ID, i); err != nil {
			return fmt.Errorf("mattermost parts: %w", err)
		}
	}
	return nil
}

func (d *Destination) hook(ctx context.Context, boardID int64, name string) (Hook, error) {
	hooks, err := d.Hooks(ctx, boardID)
	if err != nil {
		return Hook{}, err
	}
	for _, h := range hooks {
		if h.Name == name {
			return h, nil
		}
	}
	return Hook{}, delivery.Permanent(fmt.Errorf("hook %q was removed from the board's set-up", name))
}

// SendTest posts a test message through one hook and returns the exact
// error, for the "send a test message" button.
func (d *Destination) SendTest(ctx context.Context, b board.Board, name string) error {
	h, err := d.hook(ctx, b.ID, name)
	if err != nil {
		return err
	}
	return d.post(ctx, h, locale.OfBoard(b).T("test.channel", "**"+escape(b.DisplayName)+"**"))
}

// post sends one message. The webhook answers (HandleIncomingWebhook in
// server/channels/app/webhook.go) 200 "ok"; a JSON error: 400 for a bad
// payload or an unknown hook ("Invalid webhook"), 404 for a channel it
// cannot find, 403 for a locked channel; 501 when the server's incoming
// webhooks are turned off; 429 with Retry-After when rate-limited; 5xx
// when the server is in trouble. Errors never carry the URL: it is the
// secret.
func (d *Destination) post(ctx context.Context, h Hook, text string) error {
	body, _ := json.Marshal(webhookBody{Text: text, Channel: h.Channel, Username: h.Username, IconURL: h.IconURL})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return delivery.Permanent(fmt.Errorf("hook %s: its URL is not valid", h.Name))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.http.Do(req)
	if err != nil {
		return fmt.Errorf("hook %s: %w", h.Name, redact(err, h.URL))
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	msg := fmt.Errorf("hook %s: the server answered %s%s", h.Name, resp.Status, serverMessage(answer))
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests:
		after := delivery.RetryAfter(resp.Header.Get("Retry-After"), time.Now())
		if reset := resp.Header.Get("X-Ratelimit-Reset"); after == 0 && reset != "" {
			after = delivery.RetryAfter(reset, time.Now())
		}
		return &delivery.RetryAfterError{Err: msg, After: after}
	case code == http.StatusNotImplemented:
		// An administrator's switch, which may be turned back on: tried
		// again, with backoff, and said plainly meanwhile.
		return fmt.Errorf("hook %s: incoming webhooks are turned off on this Mattermost server (System Console, Integrations, Integration Management); Crieur tries again: %w", h.Name, msg)
	case code >= 500 || code == http.StatusRequestTimeout:
		return msg
	default:
		// 400 (the payload, the channel), 403, 404/410 (the hook is gone):
		// retrying sends the same thing to the same refusal.
		return delivery.Permanent(msg)
	}
}

// webhookBody is the incoming webhook's JSON: text, and the overrides
// left out when empty (the webhook's own settings then apply).
type webhookBody struct {
	Text     string `json:"text"`
	Channel  string `json:"channel,omitempty"`
	Username string `json:"username,omitempty"`
	IconURL  string `json:"icon_url,omitempty"`
}

// serverMessage is the message of a Mattermost error answer
// ({"id": ..., "message": ..., "status_code": 400}), or its text.
func serverMessage(body []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		return ": " + e.Message
	}
	if s := strings.TrimSpace(string(body)); s != "" && len(s) < 200 {
		return ": " + s
	}
	return ""
}

// redact removes the webhook URL (and its path, the secret part) from an
// HTTP client error.
func redact(err error, secret string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return errors.New(strings.ReplaceAll(err.Error(), secret, "(webhook URL)"))
}
