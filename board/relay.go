package board

import "time"

// The states of a board's subscription to an ActivityPub relay, as
// Mastodon names them (app/models/relay.rb): the Follow is sent and
// unanswered, the relay accepted it, or it refused it.
const (
	RelayPending  = "pending"
	RelayAccepted = "accepted"
	RelayRefused  = "refused"
)

// Relay is a board's subscription to an ActivityPub relay: the board
// follows the relay and, once accepted, delivers its public posts to the
// relay's inbox, which passes them on to every server subscribed to it.
type Relay struct {
	ID      int64  `json:"id"`
	BoardID int64  `json:"-"`
	URL     string `json:"url"` // as the editor gave it: the relay's inbox or its actor
	// Inbox is where the board's activities go; Actor, for a LitePub
	// relay, is the actor the board follows (for a Mastodon-style relay,
	// whoever answered the Follow, once it has).
	Inbox     string    `json:"inbox"`
	Actor     string    `json:"actor,omitempty"`
	FollowID  string    `json:"follow_id"`
	State     string    `json:"state"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}
