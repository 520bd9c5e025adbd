package activitypub

// ActivityPub relays (issue 26). A board subscribes to a relay by
// following it; once the relay accepts, the board's public activities go
// to the relay's inbox too, and the relay passes them on to every server
// subscribed to it, whether or not anyone there follows the board.
//
// Both protocols in use, as read from their sources:
//   - Mastodon's (app/models/relay.rb, app/lib/activitypub/activity/accept.rb
//     and reject.rb in github:mastodon/mastodon): the admin gives the
//     relay's inbox; a Follow whose object is the Public collection goes
//     there under a fresh id; the relay's Accept or Reject is matched by
//     that id alone (Relay.find_by(follow_activity_id: object_uri)), and
//     unsubscribing sends the Undo of that same Follow.
//   - LitePub's (Pleroma's relay, and Activity-Relay v2's "LitePub Relay
//     Style" in github:yukimochi/Activity-Relay api/handle.go and
//     api/resolver.go): the board follows the relay's actor, addressed to
//     it (Activity-Relay v2 routes a Follow by its `to`); the relay
//     Announces what the board posts, and may follow the board back, which
//     the inbox accepts as any follow, so the relay's inbox gets the posts
//     as a follower's would.
//
// What Activity-Relay checks on a Follow (api/decode.go, v1.2.6 and v2):
// the draft-cavage signature (rsa-sha256) with the key it fetches at the
// keyId, the Digest, then the activity's actor, fetched again; it
// answers to the actor's inbox and delivers to its endpoints.sharedInbox
// (Mastodon style) or inbox (LitePub style). v2 takes a LitePub follower
// only if its actor is an Application or its id ends in /relay
// (isActorAbleToBeFollower): a board (an Organization) must use Mastodon's way
// with it.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"crieur/board"
	"crieur/board/httpx"
)

// RelayStore keeps each board's relay subscriptions (board/store).
type RelayStore interface {
	SubscribeRelay(ctx context.Context, r board.Relay) (board.Relay, error)
	Relays(ctx context.Context, boardID int64) ([]board.Relay, error)
	Relay(ctx context.Context, boardID, id int64) (board.Relay, error)
	RelayByFollow(ctx context.Context, followID string) (board.Relay, error)
	SetRelayState(ctx context.Context, id int64, state, actor string, now time.Time) error
	RemoveRelay(ctx context.Context, boardID, id int64) error
	IsRelayActor(ctx context.Context, actor string) (bool, error)
}

// errNoRelays is the answer of a server built without a RelayStore.
var errNoRelays = errors.New("relays are not available on this server")

// isMastodonRelay tells the two protocols apart by what the editor gave:
// Mastodon's admin page asks for the relay's inbox (…/inbox); anything
// else is taken as the relay's actor, to be followed the LitePub way.
func isMastodonRelay(u *url.URL) bool { return strings.HasSuffix(u.Path, "/inbox") }

// SubscribeRelay records b's subscription to the relay at raw (its inbox
// or its actor) as pending and sends the Follow through the delivery
// queue, signed like every other POST.
func (s *Server) SubscribeRelay(ctx context.Context, b board.Board, raw string) (board.Relay, error) {
	if s.relays == nil {
		return board.Relay{}, errNoRelays
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return board.Relay{}, &board.ValidationError{What: "relay",
			Fields: board.Problems{"url": board.Problemf("problem.relay_url")}}
	}
	u.Fragment = ""
	now := time.Now()
	r := board.Relay{BoardID: b.ID, URL: u.String(), Inbox: u.String(), CreatedAt: now, UpdatedAt: now}
	object := publicAudience
	if !isMastodonRelay(u) {
		ra, err := s.fetch.actor(ctx, r.URL, true)
		if err != nil {
			return board.Relay{}, httpx.NewError(http.StatusBadGateway, fmt.Sprintf("could not read the relay's actor at %s: give its actor or its inbox (…/inbox)", r.URL))
		}
		r.Actor, r.Inbox, object = ra.ID, ra.Inbox, ra.ID
		if ra.SharedInbox != "" {
			r.Inbox = ra.SharedInbox
		}
	}
	r.FollowID = s.urls.BoardURL(b.Name) + "/relays/" + randomHex(12)
	r, err = s.relays.SubscribeRelay(ctx, r)
	if err != nil {
		return board.Relay{}, err
	}
	follow := s.relayFollow(b, r, object)
	follow["@context"] = jsonLDContext
	job, err := s.deliveryJob("relay-follow:"+hashID(r.FollowID), 0, b.Name, r.Inbox, follow)
	if err != nil {
		return board.Relay{}, err
	}
	if err := s.queue.Enqueue(ctx, job); err != nil {
		return board.Relay{}, fmt.Errorf("send the follow to the relay: %w", err)
	}
	s.log.InfoContext(ctx, "relay: follow sent", "board", b.Name, "relay", r.URL, "follow", r.FollowID)
	return r, nil
}

// relayFollow is the Follow of r, as first sent and as the Undo repeats
// it. A LitePub relay's Follow is addressed to it; a Mastodon-style one
// carries no audience, as Mastodon's does (Activity-Relay v2 would take a
// Follow addressed to Public for a post to pass on).
func (s *Server) relayFollow(b board.Board, r board.Relay, object string) map[string]any {
	f := map[string]any{"id": r.FollowID, "type": "Follow", "actor": s.urls.BoardURL(b.Name), "object": object}
	if object != publicAudience {
		f["to"] = []string{object}
	}
	return f
}

// UnsubscribeRelay forgets the relay and sends it the Undo of the Follow
// (same id), whatever it had answered: a relay that saw the Follow late
// must not keep the board subscribed.
func (s *Server) UnsubscribeRelay(ctx context.Context, b board.Board, id int64) error {
	if s.relays == nil {
		return errNoRelays
	}
	r, err := s.relays.Relay(ctx, b.ID, id)
	if err != nil {
		return err
	}
	object := publicAudience
	if !isMastodonRelay(mustParse(r.URL)) {
		object = r.Actor
	}
	follow := s.relayFollow(b, r, object)
	undo := map[string]any{"@context": jsonLDContext, "id": r.FollowID + "/undo", "type": "Undo",
		"actor": s.urls.BoardURL(b.Name), "object": follow}
	if to, ok := follow["to"]; ok {
		undo["to"] = to
	}
	job, err := s.deliveryJob("relay-undo:"+hashID(r.FollowID), 0, b.Name, r.Inbox, undo)
	if err != nil {
		return err
	}
	// The Undo is queued before the row goes: if queueing fails, the
	// relay stays listed and the editor can try again.
	if err := s.queue.Enqueue(ctx, job); err != nil {
		return fmt.Errorf("send the undo to the relay: %w", err)
	}
	if err := s.relays.RemoveRelay(ctx, b.ID, id); err != nil {
		return err
	}
	// A relay that followed the board back (LitePub's way) would still
	// get its posts as a follower: unsubscribing ends that follow too.
	if r.Actor != "" {
		if _, err := s.store.RemoveFollower(ctx, b.ID, r.Actor); err != nil {
			return fmt.Errorf("remove the relay's follow: %w", err)
		}
	}
	s.log.InfoContext(ctx, "relay: unsubscribed", "board", b.Name, "relay", r.URL)
	return nil
}

// onRelayAnswer applies a relay's Accept or Reject of a board's Follow.
// As in Mastodon, the Follow's id is what identifies the subscription;
// unlike Mastodon, the answer must also come from the relay's host, so
// that nobody else can switch a board's relay on or off.
func (s *Server) onRelayAnswer(ctx context.Context, actor string, obj ref, accepted bool) (handled bool, status int, err error) {
	if s.relays == nil || obj.ID == "" {
		return false, 0, nil
	}
	r, err := s.relays.RelayByFollow(ctx, obj.ID)
	if errors.Is(err, board.ErrNotFound) {
		return false, 0, nil
	}
	if err != nil {
		return true, http.StatusInternalServerError, err
	}
	if !sameHost(actor, r.Inbox) && !sameHost(actor, r.URL) {
		return true, http.StatusForbidden, errors.New("only the relay answers its follow")
	}
	state := board.RelayRefused
	if accepted {
		state = board.RelayAccepted
	}
	if err := s.relays.SetRelayState(ctx, r.ID, state, actor, time.Now()); err != nil {
		return true, http.StatusInternalServerError, err
	}
	s.log.InfoContext(ctx, "relay: answered", "relay", r.URL, "state", state)
	return true, http.StatusAccepted, nil
}

// relayInboxes lists where b's public activities go besides its
// followers: the inboxes of the relays that accepted.
func (s *Server) relayInboxes(ctx context.Context, b board.Board) ([]string, error) {
	if s.relays == nil {
		return nil, nil
	}
	rs, err := s.relays.Relays(ctx, b.ID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rs {
		if r.State == board.RelayAccepted {
			out = append(out, r.Inbox)
		}
	}
	return out, nil
}

// relayable reports whether an activity goes to relays: a Create, Update
// or Delete for everyone.
func relayable(act map[string]any) bool {
	switch act["type"] {
	case "Create", "Update", "Delete":
		return addressedToPublic(act)
	}
	return false
}

// addressedToPublic reports whether an activity is for everyone.
func addressedToPublic(act map[string]any) bool {
	for _, k := range []string{"to", "cc"} {
		switch v := act[k].(type) {
		case string:
			if v == publicAudience {
				return true
			}
		case []string:
			for _, x := range v {
				if x == publicAudience {
					return true
				}
			}
		case []any:
			for _, x := range v {
				if x == publicAudience {
					return true
				}
			}
		}
	}
	return false
}

// fromRelay reports whether owner, who signed a request whose activity is
// another actor's, is a relay a board subscribes to: a relay passes on
// everyone's posts to its subscribers, signed with its own key. A board
// reads none of them, so they are taken and forgotten rather than refused
// (a refusal would only make the relay retry).
func (s *Server) fromRelay(ctx context.Context, owner string) bool {
	if s.relays == nil {
		return false
	}
	ok, err := s.relays.IsRelayActor(ctx, owner)
	if err != nil {
		s.log.ErrorContext(ctx, "inbox: check relays", "err", err)
	}
	return ok
}

// RegisterRelays adds the relay routes to the admin API: any member of
// the board sees them; only a publisher subscribes or unsubscribes.
func (s *Server) RegisterRelays(api httpx.Guard) {
	api.OnBoard("GET /api/v1/boards/{board}/relays", board.RoleEditor, s.listRelays)
	api.OnBoard("POST /api/v1/boards/{board}/relays", board.RolePublisher, s.addRelay)
	api.OnBoard("DELETE /api/v1/boards/{board}/relays/{id}", board.RolePublisher, s.removeRelay)
}

func (s *Server) listRelays(w http.ResponseWriter, r *http.Request, b board.Board) error {
	if s.relays == nil {
		return errNoRelays
	}
	rs, err := s.relays.Relays(r.Context(), b.ID)
	if err != nil {
		return err
	}
	if rs == nil {
		rs = []board.Relay{}
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"relays": rs})
	return nil
}

func (s *Server) addRelay(w http.ResponseWriter, r *http.Request, b board.Board) error {
	var req struct {
		URL string `json:"url"`
	}
	if err := httpx.DecodeJSON(w, r, &req, httpx.Decoding{Max: 8 << 10, What: "the relay", Help: `{"url": "https://relay.example/inbox"}`}); err != nil {
		return err
	}
	rel, err := s.SubscribeRelay(r.Context(), b, req.URL)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusCreated, rel)
	return nil
}

func (s *Server) removeRelay(w http.ResponseWriter, r *http.Request, b board.Board) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return board.ErrNotFound
	}
	if err := s.UnsubscribeRelay(r.Context(), b, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand never fails on Linux
	return hex.EncodeToString(b)
}

func mustParse(raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		return &url.URL{}
	}
	return u
}
