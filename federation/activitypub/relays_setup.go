package activitypub

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"crieur/board"
	"crieur/board/httpx"
)

// RelaysSetup is the editor's view of a board's relays
// (board.DestinationSetup): each relay with its answer, a form to
// subscribe to one, removal to unsubscribe.
type RelaysSetup struct{ S *Server }

func (RelaysSetup) Key() string   { return "relays" }
func (RelaysSetup) Title() string { return "setup.relays" }

// Items lists the relays by the address they were added with.
func (rs RelaysSetup) Items(ctx context.Context, b board.Board) ([]board.SetupItem, error) {
	if rs.S.relays == nil {
		return nil, nil
	}
	relays, err := rs.S.relays.Relays(ctx, b.ID)
	var out []board.SetupItem
	for _, r := range relays {
		out = append(out, board.SetupItem{Name: r.URL, Summary: board.Problemf("setup.relay_"+r.State, r.Inbox)})
	}
	return out, err
}

// Forms is one form: the relay's address.
func (RelaysSetup) Forms(context.Context, board.Board) ([]board.SetupForm, error) {
	return []board.SetupForm{{ID: "relay", Title: "setup.relay_form", Help: "setup.relay_help",
		Fields: []board.SetupField{{Name: "url", Label: "setup.relay_url", Help: "setup.relay_url_help", Type: "url"}}}}, nil
}

// Submit subscribes the board to the relay given.
func (rs RelaysSetup) Submit(ctx context.Context, b board.Board, _ string, v url.Values) (board.Problems, error) {
	_, err := rs.S.SubscribeRelay(ctx, b, strings.TrimSpace(v.Get("url")))
	var invalid *board.ValidationError
	var unreachable *httpx.Error
	switch {
	case errors.As(err, &invalid):
		return invalid.Fields, nil
	case errors.As(err, &unreachable):
		return board.Problems{"url": board.Problemf("problem.relay_url")}, nil
	}
	return nil, err
}

// Remove unsubscribes from the relay of that address.
func (rs RelaysSetup) Remove(ctx context.Context, b board.Board, name string) error {
	if rs.S.relays == nil {
		return errNoRelays
	}
	relays, err := rs.S.relays.Relays(ctx, b.ID)
	if err != nil {
		return err
	}
	for _, r := range relays {
		if r.URL == name {
			return rs.S.UnsubscribeRelay(ctx, b, r.ID)
		}
	}
	return board.ErrNotFound
}

// errNoTestMessage: relays take no test message (the editor shows it).
var errNoTestMessage = errors.New("a relay takes no test message: its state says whether it passes the board's posts on")

// SendTest has nothing to send: a relay passes on only the board's
// public activities, and its state already says whether it accepted.
func (RelaysSetup) SendTest(context.Context, board.Board, string) error { return errNoTestMessage }
