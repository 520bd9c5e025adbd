package board

import (
	"context"
	"net/url"
)

// DestinationSetup is a channel editors set up from the web page
// (Mattermost hooks, mailing lists). The federation package that sends to
// it implements it; the editor only lays out its forms, and says their
// words (titles, labels, help) from the locale catalogue: they are keys.
type DestinationSetup interface {
	// Key names it in addresses ("mattermost"); Title on the page.
	Key() string
	Title() string
	// Items are what is set up (hooks, lists), each with a line saying
	// what it is; a test message can go to each.
	Items(ctx context.Context, b Board) ([]SetupItem, error)
	// Forms are its settings, filled with the current values; a secret
	// comes back empty, with Set saying whether one is kept.
	Forms(ctx context.Context, b Board) ([]SetupForm, error)
	// Submit saves one form; problems come back by field name.
	Submit(ctx context.Context, b Board, form string, values url.Values) (Problems, error)
	Remove(ctx context.Context, b Board, item string) error
	SendTest(ctx context.Context, b Board, item string) error
}

// SetupChecker is a destination whose test posts nothing (a forum, where
// a test topic would stay for every member to read): it checks the set-up
// against the server and says what it found, such as where posts will go,
// as a catalogue key and its arguments. The editor shows that instead of
// "test message sent".
type SetupChecker interface {
	CheckSetup(ctx context.Context, b Board, item string) (Problem, error)
}

// SetupItem is one hook or list: its name, and a line saying what it is
// (a catalogue key and its arguments, like a Problem).
type SetupItem struct {
	Name    string
	Summary Problem
}

// SetupForm is one form of a destination's settings.
type SetupForm struct {
	ID, Title, Help string
	Fields          []SetupField
	Errors          Problems
}

// SetupField is one input.
type SetupField struct {
	Name, Label, Help, Value string
	// Type is the input's type (text, url, email, number, password).
	Type string
	// Set says a secret is kept (its value is never shown).
	Set bool
}
