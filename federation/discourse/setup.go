package discourse

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"crieur/board"
)

// EditorSetup is the editor's view of a board's forum (board.DestinationSetup).
type EditorSetup struct{ D *Destination }

func (EditorSetup) Key() string   { return "discourse" }
func (EditorSetup) Title() string { return "setup.discourse" }

func (e EditorSetup) current(ctx context.Context, b board.Board) (Setup, error) {
	s, err := e.D.Setup(ctx, b.ID)
	if errors.Is(err, ErrNoSetup) {
		return Setup{OnDelete: OnDeleteUnlist}, nil
	}
	return s, err
}

// Items is the forum, when there is one: its address, category and user.
func (e EditorSetup) Items(ctx context.Context, b board.Board) ([]board.SetupItem, error) {
	s, err := e.D.Setup(ctx, b.ID)
	if errors.Is(err, ErrNoSetup) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []board.SetupItem{{Name: "forum", Summary: board.Problemf("setup.discourse_item", s.URL, s.Category, s.Username)}}, nil
}

// Forms is one form: the forum's settings.
func (e EditorSetup) Forms(ctx context.Context, b board.Board) ([]board.SetupForm, error) {
	s, err := e.current(ctx, b)
	if err != nil {
		return nil, err
	}
	replies := "no"
	if s.Replies {
		replies = "yes"
	}
	return []board.SetupForm{{ID: "forum", Title: "setup.discourse_form", Help: "setup.discourse_help",
		Fields: []board.SetupField{
			{Name: "url", Label: "setup.discourse_url", Help: "setup.discourse_url_help", Type: "url", Value: s.URL},
			{Name: "api_key", Label: "setup.discourse_key", Help: "setup.discourse_key_help", Type: "password", Set: s.APIKey != ""},
			{Name: "username", Label: "setup.posts_as", Help: "setup.discourse_username_help", Type: "text", Value: s.Username},
			{Name: "category", Label: "setup.discourse_category", Help: "setup.discourse_category_help", Type: "text", Value: s.Category},
			{Name: "on_delete", Label: "setup.discourse_on_delete", Help: "setup.discourse_on_delete_help", Type: "text", Value: s.OnDelete},
			{Name: "replies", Label: "setup.discourse_replies", Help: "setup.discourse_replies_help", Type: "text", Value: replies},
		}}}, nil
}

// Submit saves the forum's settings.
func (e EditorSetup) Submit(ctx context.Context, b board.Board, _ string, v url.Values) (board.Problems, error) {
	old, err := e.current(ctx, b)
	if err != nil {
		return nil, err
	}
	field := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	s := Setup{URL: field("url"), APIKey: field("api_key"), Username: field("username"), Category: field("category"), OnDelete: field("on_delete")}
	switch strings.ToLower(field("replies")) {
	case "yes", "oui", "true", "on", "1":
		s.Replies = true
	case "", "no", "non", "false", "off", "0":
	default:
		return board.Problems{"replies": board.Problemf("problem.discourse_replies")}, nil
	}
	if errs := Check(s, old.APIKey != ""); len(errs) > 0 {
		return errs, nil
	}
	return nil, e.D.Save(ctx, b.ID, s)
}

// Remove forgets the forum.
func (e EditorSetup) Remove(ctx context.Context, b board.Board, _ string) error {
	return e.D.Delete(ctx, b.ID)
}

// CheckSetup checks the set-up against the forum, posting nothing, and
// says where topics will go (board.SetupChecker).
func (e EditorSetup) CheckSetup(ctx context.Context, b board.Board, _ string) (board.Problem, error) {
	c, err := e.D.Test(ctx, b)
	if err != nil {
		return board.Problem{}, err
	}
	key := "setup.discourse_checked"
	if !c.Tags {
		key = "setup.discourse_checked_no_tags"
	}
	return board.Problemf(key, c.Category, c.CategoryURL, c.User), nil
}

// SendTest checks the set-up against the forum (posting nothing).
func (e EditorSetup) SendTest(ctx context.Context, b board.Board, _ string) error {
	_, err := e.D.Test(ctx, b)
	return err
}
