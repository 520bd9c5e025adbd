package activitypub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"crieur/board"
)

// incoming is the part of an activity Crieur reads. Unknown fields, LD
// signatures, proofs and any @context are ignored: nothing here fetches
// JSON-LD contexts.
type incoming struct {
	ID     string          `json:"id"`
	Type   any             `json:"type"`
	Actor  json.RawMessage `json:"actor"`
	Object json.RawMessage `json:"object"`
}

// ref is an object given either as an id or as an embedded object.
type ref struct {
	ID        string
	Type      string
	InReplyTo string
	Content   string
	Name      string // a poll vote's option
	Object    json.RawMessage
	Raw       json.RawMessage
}

func parseRef(raw json.RawMessage) ref {
	var r ref
	r.Raw = raw
	var s string
	if json.Unmarshal(raw, &s) == nil {
		r.ID = s
		return r
	}
	var o struct {
		ID        string          `json:"id"`
		Type      any             `json:"type"`
		InReplyTo json.RawMessage `json:"inReplyTo"`
		Content   string          `json:"content"`
		Name      json.RawMessage `json:"name"`
		Object    json.RawMessage `json:"object"`
	}
	if json.Unmarshal(raw, &o) == nil {
		r.ID, r.Type, r.Content, r.Object = o.ID, typeName(o.Type), o.Content, o.Object
		_ = json.Unmarshal(o.Name, &r.Name)
		if len(o.InReplyTo) > 0 {
			r.InReplyTo = parseRef(o.InReplyTo).ID
		}
	}
	return r
}

// typeName reads "type", which JSON-LD allows to be a list.
func typeName(t any) string {
	switch v := t.(type) {
	case string:
		return v
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				return s
			}
		}
	}
	return ""
}

func acceptableContentType(h string) bool {
	mt, _, err := mime.ParseMediaType(h)
	return err == nil && (mt == contentTypeAP || mt == "application/ld+json")
}

// serveInbox receives an activity for b (nil: the shared inbox). Every
// check happens before anything is stored: a request that fails one gets
// 401 (signature) or 4xx (shape) and leaves no trace.
func (s *Server) serveInbox(w http.ResponseWriter, r *http.Request, b *board.Board) {
	ctx := r.Context()
	if !acceptableContentType(r.Header.Get("Content-Type")) {
		http.Error(w, "send application/activity+json or application/ld+json", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, fmt.Sprintf("activity larger than %d bytes", mbe.Limit), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "could not read body", http.StatusBadRequest)
		return
	}
	// Blocked senders are turned away before anything is fetched for them.
	if blocked, err := s.senderBlocked(ctx, b, body); err != nil {
		s.log.ErrorContext(ctx, "inbox: check blocks", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	} else if blocked {
		http.Error(w, "not accepted here", http.StatusForbidden)
		return
	}
	owner, err := s.verify(ctx, r, body)
	if err != nil {
		if errors.Is(err, errGone) && s.forgetGoneActor(ctx, r, body) {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		// The key could not be fetched yet (the sender's host spent its
		// budget): not a bad signature, so the sender should come back.
		var later *board.TryLater
		if errors.As(err, &later) {
			w.Header().Set("Retry-After", strconv.Itoa(later.Seconds()))
			http.Error(w, later.Error(), http.StatusServiceUnavailable)
			return
		}
		if reason, log, suppressed := s.refused.note(r, err, time.Now()); log {
			s.log.InfoContext(ctx, "inbox: refused", "path", r.URL.Path, "kind", reason, "reason", err, "from", r.RemoteAddr,
				"similar_not_logged", suppressed)
		}
		// Tell a peer that can sign either way what an RFC 9421 signature
		// must cover (draft-cavage signatures are accepted as well).
		w.Header().Set("Accept-Signature", acceptSignature)
		http.Error(w, "signature check failed", http.StatusUnauthorized)
		return
	}
	var act incoming
	if err := json.Unmarshal(body, &act); err != nil {
		http.Error(w, "body is not a JSON object", http.StatusBadRequest)
		return
	}
	actor := parseRef(act.Actor).ID
	if actor != owner && s.fromRelay(ctx, owner) {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if actor != owner {
		s.log.InfoContext(ctx, "inbox: refused", "reason", "actor is not the key owner", "actor", actor, "owner", owner)
		http.Error(w, "signature check failed: actor is not the key's owner", http.StatusUnauthorized)
		return
	}
	if act.ID == "" || !sameHost(act.ID, actor) {
		http.Error(w, "activity id missing or not on the actor's host", http.StatusBadRequest)
		return
	}
	status, err := s.handleActivity(ctx, b, act, actor)
	if err != nil {
		s.log.WarnContext(ctx, "inbox: activity not handled", "type", typeName(act.Type), "id", act.ID, "err", err)
		if status >= 500 {
			http.Error(w, "internal error", status)
		} else {
			http.Error(w, err.Error(), status)
		}
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// senderBlocked reports whether the activity's actor is blocked on the
// whole server or, for a board's own inbox, on that board.
func (s *Server) senderBlocked(ctx context.Context, b *board.Board, body []byte) (bool, error) {
	var act incoming
	if json.Unmarshal(body, &act) != nil {
		return false, nil // refused later for its shape
	}
	actor := parseRef(act.Actor).ID
	var boardID int64
	if b != nil {
		boardID = b.ID
	}
	return s.store.Blocked(ctx, boardID, actor)
}

// FollowerRemoved implements board.FollowerNotifier: the follower's server
// gets a Reject of the follow, so it no longer shows the board as followed.
func (s *Server) FollowerRemoved(ctx context.Context, b board.Board, f board.Follower) error {
	follow := map[string]any{"type": "Follow", "actor": f.ActorID, "object": s.urls.BoardURL(b.Name)}
	reject := map[string]any{
		"@context": jsonLDContext,
		"id":       fmt.Sprintf("%s/rejects/%s-%d", s.urls.BoardURL(b.Name), hashID(f.ActorID), time.Now().UnixMilli()),
		"type":     "Reject",
		"actor":    s.urls.BoardURL(b.Name),
		"to":       []string{f.ActorID},
		"object":   follow,
	}
	job, err := s.deliveryJob("reject:"+hashID(fmt.Sprint(reject["id"])), 0, b.Name, f.Inbox, reject)
	if err != nil {
		return err
	}
	return s.queue.Enqueue(ctx, job)
}

// forgetGoneActor handles the one message that cannot be verified: a
// deleted account's Delete of itself, signed with a key its server no
// longer serves (410). We saw the 410 ourselves, so removing the account
// from the followers is safe even though the signature is not checked.
func (s *Server) forgetGoneActor(ctx context.Context, r *http.Request, body []byte) bool {
	var act incoming
	if json.Unmarshal(body, &act) != nil || typeName(act.Type) != "Delete" {
		return false
	}
	actor := parseRef(act.Actor).ID
	keyID, err := signatureKeyID(r)
	if err != nil || actor == "" || parseRef(act.Object).ID != actor || strings.SplitN(keyID, "#", 2)[0] != actor {
		return false
	}
	if err := s.store.RemoveActor(ctx, actor); err != nil {
		s.log.ErrorContext(ctx, "inbox: remove deleted actor", "err", err)
		return false
	}
	s.fetch.forget(actor)
	s.log.InfoContext(ctx, "inbox: deleted account removed", "actor", actor)
	return true
}

// verify checks the HTTP signature of an inbox POST and returns the key's
// owner. A failed verification re-fetches the key once, since keys rotate.
func (s *Server) verify(ctx context.Context, r *http.Request, body []byte) (string, error) {
	// The signature covers the host the sender meant: a request signed
	// for another server is not for us.
	if !strings.EqualFold(r.Host, s.urls.Host()) {
		return "", sigErr("request is for host %q, not %q", r.Host, s.urls.Host())
	}
	owner, seen, err := s.verifySignature(ctx, r, body)
	if err != nil {
		return "", err
	}
	first, err := s.replays.firstTime(ctx, seen, time.Now())
	if err != nil {
		// Not knowing whether it is a replay is no reason to refuse a
		// genuine request for good: the sender comes back.
		s.log.ErrorContext(ctx, "inbox: replay ledger", "err", err)
		return "", &board.TryLater{Err: board.ErrBusy, After: 30 * time.Second}
	}
	if !first {
		return "", sigErr("this signed request was already received (a replay)")
	}
	return owner, nil
}

// verifySignature checks either kind of signature and returns the key's
// owner and what identifies the signature for the replay cache: the key
// id and the signature bytes, whatever label, parameter order or extra
// parameters the header carries.
func (s *Server) verifySignature(ctx context.Context, r *http.Request, body []byte) (owner string, seen [32]byte, err error) {
	if isRFC9421(r) {
		return s.verify9421(ctx, r, body)
	}
	c, err := parseCavage(r.Header.Get("Signature"))
	if err != nil {
		return "", seen, err
	}
	if err := c.check(r, body, time.Now()); err != nil {
		return "", seen, err
	}
	owner, err = s.withKey(ctx, c.keyID, func(pemKey string) error {
		pub, err := parsePublicKey(pemKey)
		if err != nil {
			return sigErr("key %s: %v", c.keyID, err)
		}
		return c.verify(r, pub)
	})
	return owner, replayKey(c.keyID, c.signature), err
}

// verify9421 checks an RFC 9421 signature and returns the key's owner,
// re-fetching the key once when it fails, as for draft-cavage.
func (s *Server) verify9421(ctx context.Context, r *http.Request, body []byte) (owner string, seen [32]byte, err error) {
	m, err := parse9421(r)
	if err != nil {
		return "", seen, err
	}
	if err := check9421(m, r, body, time.Now()); err != nil {
		return "", seen, err
	}
	base, err := base9421(m, r, s.urls.Scheme())
	if err != nil {
		return "", seen, err
	}
	owner, err = s.withKey(ctx, m.keyID, func(pemKey string) error {
		pub, err := parseAnyPublicKey(pemKey)
		if err != nil {
			return sigErr("key %s: %v", m.keyID, err)
		}
		return verify9421(m, base, pub)
	})
	return owner, replayKey(m.keyID, m.signature), err
}

// withKey runs verify with keyID's key, fetching it again once when it
// fails, since keys rotate (a re-fetched key may also parse where the
// cached one did not).
func (s *Server) withKey(ctx context.Context, keyID string, verify func(pemKey string) error) (string, error) {
	var lastErr error
	for _, refresh := range []bool{false, true} {
		owner, pemKey, err := s.fetch.publicKey(ctx, keyID, refresh)
		if err != nil {
			lastErr = fmt.Errorf("%w: key %s: %w", errSignature, keyID, err)
			continue
		}
		if lastErr = verify(pemKey); lastErr == nil {
			return owner, nil
		}
	}
	return "", lastErr
}

// handleActivity applies a verified activity and returns the status to answer.
func (s *Server) handleActivity(ctx context.Context, b *board.Board, act incoming, actor string) (int, error) {
	obj := parseRef(act.Object)
	switch typeName(act.Type) {
	case "Follow":
		return s.onFollow(ctx, b, act, actor, obj)
	case "Undo":
		return s.onUndo(ctx, actor, obj)
	case "Accept", "Reject":
		// Crieur follows nobody but relays: an answer to anything else is
		// accepted and ignored.
		if handled, status, err := s.onRelayAnswer(ctx, actor, obj, typeName(act.Type) == "Accept"); handled {
			return status, err
		}
	case "Delete":
		if obj.ID == actor {
			s.fetch.forget(actor)
			return http.StatusAccepted, s.store.RemoveActor(ctx, actor)
		}
		return http.StatusAccepted, s.store.RemoveInteraction(ctx, actor, obj.ID)
	case "Like", "EmojiReact":
		return s.recordInteraction(ctx, "like", act.ID, actor, obj.ID, "")
	case "Announce":
		return s.recordInteraction(ctx, "announce", act.ID, actor, obj.ID, "")
	case "Create":
		if obj.InReplyTo != "" {
			if status, handled, err := s.onVote(ctx, actor, obj); handled {
				return status, err
			}
			return s.recordReply(ctx, act.ID, actor, obj)
		}
	case "Update":
		// An edited reply: its new text replaces the old. Updates of
		// anything we do not hold (profiles, other posts) are ignored.
		if obj.Content != "" && obj.ID != "" && sameHost(obj.ID, actor) {
			if _, err := s.store.EditInteraction(ctx, actor, obj.ID, stripTags(obj.Content)); err != nil {
				return http.StatusInternalServerError, err
			}
		}
	}
	// Anything else is accepted and ignored, as peers expect.
	return http.StatusAccepted, nil
}

func (s *Server) targetBoard(ctx context.Context, b *board.Board, objectID string) (board.Board, error) {
	name, ok := s.urls.parseBoardURL(objectID)
	if !ok || (b != nil && name != b.Name) {
		return board.Board{}, fmt.Errorf("object %q is not a board here", objectID)
	}
	return s.store.BoardByName(ctx, name)
}

func (s *Server) onFollow(ctx context.Context, b *board.Board, act incoming, actor string, obj ref) (int, error) {
	target, err := s.targetBoard(ctx, b, obj.ID)
	if err != nil {
		return http.StatusBadRequest, err
	}
	if blocked, err := s.store.Blocked(ctx, target.ID, actor); err != nil {
		return http.StatusInternalServerError, err
	} else if blocked {
		s.log.InfoContext(ctx, "follow refused: blocked", "board", target.Name, "actor", actor)
		return http.StatusForbidden, errors.New("not accepted here")
	}
	ra, err := s.fetch.actor(ctx, actor, false)
	if err != nil {
		return http.StatusBadGateway, fmt.Errorf("fetch follower: %w", err)
	}
	f := board.Follower{ActorID: ra.ID, Inbox: ra.Inbox, SharedInbox: ra.SharedInbox, CreatedAt: time.Now()}
	if err := s.store.AddFollower(ctx, target.ID, f); err != nil {
		return http.StatusInternalServerError, err
	}
	accept := s.accept(target.Name, act.rawObjectless(), act.ID, actor)
	job, err := s.deliveryJob("accept:"+hashID(act.ID), 0, target.Name, ra.Inbox, accept)
	if err != nil {
		return http.StatusInternalServerError, err
	}
	if err := s.queue.Enqueue(ctx, job); err != nil {
		return http.StatusInternalServerError, err
	}
	s.log.InfoContext(ctx, "new follower", "board", target.Name, "actor", actor)
	return http.StatusAccepted, nil
}

// rawObjectless rebuilds the Follow for embedding in the Accept.
func (a incoming) rawObjectless() json.RawMessage {
	m := map[string]any{"id": a.ID, "type": "Follow"}
	var actor, object any
	if json.Unmarshal(a.Actor, &actor) == nil {
		m["actor"] = actor
	}
	if json.Unmarshal(a.Object, &object) == nil {
		m["object"] = object
	}
	raw, _ := json.Marshal(m)
	return raw
}

func (s *Server) onUndo(ctx context.Context, actor string, obj ref) (int, error) {
	switch obj.Type {
	case "Follow":
		target, err := s.targetBoard(ctx, nil, parseRef(obj.Object).ID)
		if err != nil {
			return http.StatusAccepted, nil // not following us: nothing to undo
		}
		removed, err := s.store.RemoveFollower(ctx, target.ID, actor)
		if err != nil {
			return http.StatusInternalServerError, err
		}
		if removed {
			s.log.InfoContext(ctx, "follower left", "board", target.Name, "actor", actor)
		}
		return http.StatusAccepted, nil
	default:
		// Undo of a Like or Announce names the activity undone.
		return http.StatusAccepted, s.store.RemoveInteraction(ctx, actor, obj.ID)
	}
}

// recordReply keeps a reply under its object's id, which the author's
// later Update or Delete names (not the Create's).
func (s *Server) recordReply(ctx context.Context, activityID, actor string, note ref) (int, error) {
	// A reply to the direct note that answered a vote (…/a/ID/notes/…,
	// votes.go) is written to the association about that announcement:
	// Mastodon offers Reply under it, and the voter expects to be read.
	target := note.InReplyTo
	if post, _, found := strings.Cut(target, "/notes/"); found {
		target = post
	}
	if _, _, ours := s.urls.parseAnnouncementURL(target); !ours {
		return http.StatusAccepted, nil // a reply to someone else's post: not ours to keep
	}
	if note.ID == "" || !sameHost(note.ID, actor) {
		return http.StatusBadRequest, fmt.Errorf("reply %q has no id on its author's host", note.ID)
	}
	return s.record(ctx, board.Interaction{Kind: "reply", Actor: actor, ActivityID: activityID, ObjectID: note.ID, Content: stripTags(note.Content)}, target)
}

func (s *Server) recordInteraction(ctx context.Context, kind, activityID, actor, objectID, content string) (int, error) {
	return s.record(ctx, board.Interaction{Kind: kind, Actor: actor, ActivityID: activityID, Content: stripTags(content)}, objectID)
}

// record stores in when target is one of our live announcements; anything
// else is accepted and forgotten, as peers expect.
func (s *Server) record(ctx context.Context, in board.Interaction, target string) (int, error) {
	objectID := target
	name, id, ok := s.urls.parseAnnouncementURL(objectID)
	if !ok {
		return http.StatusAccepted, nil
	}
	b, err := s.store.BoardByName(ctx, name)
	if err != nil {
		return http.StatusAccepted, nil
	}
	if a, err := s.store.Announcement(ctx, b.ID, id); err != nil || !a.Public() {
		return http.StatusAccepted, nil
	}
	if blocked, err := s.store.Blocked(ctx, b.ID, in.Actor); err != nil || blocked {
		return http.StatusAccepted, err // taken and forgotten, as from nobody
	}
	in.CreatedAt = time.Now()
	if err := s.store.AddInteraction(ctx, b.ID, id, in); err != nil {
		return http.StatusInternalServerError, err
	}
	return http.StatusAccepted, nil
}

// stripTags keeps the text of a remote reply: it is shown to editors as
// text, never as HTML, and bounded.
func stripTags(h string) string {
	var b strings.Builder
	in := false
	for _, c := range h {
		switch {
		case c == '<':
			in = true
		case c == '>':
			in = false
		case !in:
			b.WriteRune(c)
		}
		if b.Len() > 5000 {
			break
		}
	}
	return strings.TrimSpace(html.UnescapeString(b.String()))
}
