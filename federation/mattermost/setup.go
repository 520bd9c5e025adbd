package mattermost

import (
	"context"
	"net/url"
	"strings"

	"crieur/board"
)

// EditorSetup is the editor's view of a board's hooks (board.DestinationSetup).
type EditorSetup struct{ D *Destination }

func (EditorSetup) Key() string   { return "mattermost" }
func (EditorSetup) Title() string { return "setup.mattermost" }

// Items lists the hooks, never their URLs.
func (s EditorSetup) Items(ctx context.Context, b board.Board) ([]board.SetupItem, error) {
	hooks, err := s.D.Hooks(ctx, b.ID)
	var out []board.SetupItem
	for _, h := range hooks {
		sum := board.Problemf("setup.hook_own_channel")
		if h.Channel != "" {
			sum = board.Problemf("setup.hook_channel", h.Channel)
		}
		if h.Username != "" {
			sum = board.Problemf("setup.hook_as", sum, h.Username)
		}
		out = append(out, board.SetupItem{Name: h.Name, Summary: sum})
	}
	return out, err
}

// Forms is one form: add a hook, or change one by its name.
func (EditorSetup) Forms(context.Context, board.Board) ([]board.SetupForm, error) {
	return []board.SetupForm{{ID: "hook", Title: "setup.hook_form", Help: "setup.hook_help",
		Fields: []board.SetupField{
			{Name: "name", Label: "setup.name", Help: "setup.hook_name_help", Type: "text"},
			{Name: "url", Label: "setup.hook_url", Help: "setup.hook_url_help", Type: "password"},
			{Name: "channel", Label: "setup.channel", Help: "setup.channel_help", Type: "text"},
			{Name: "username", Label: "setup.posts_as", Help: "setup.optional", Type: "text"},
		}}}, nil
}

// Submit adds or replaces the hook of the form's name.
func (s EditorSetup) Submit(ctx context.Context, b board.Board, _ string, v url.Values) (board.Problems, error) {
	old, err := s.D.Hooks(ctx, b.ID)
	if err != nil {
		return nil, err
	}
	h := Hook{Name: strings.TrimSpace(v.Get("name")), URL: strings.TrimSpace(v.Get("url")), Channel: strings.TrimSpace(v.Get("channel")), Username: strings.TrimSpace(v.Get("username"))}
	known := map[string]bool{}
	hooks := []Hook{}
	for _, o := range old {
		known[o.Name] = true
		if o.Name != h.Name {
			hooks = append(hooks, Hook{Name: o.Name, Channel: o.Channel, Username: o.Username, IconURL: o.IconURL})
		}
	}
	hooks = append(hooks, h)
	if errs := Check(hooks, known); len(errs) > 0 {
		return fieldErrors(errs), nil
	}
	return nil, s.D.SetHooks(ctx, b.ID, hooks)
}

// fieldErrors files "hooks[2].url" under "url".
func fieldErrors(errs board.Problems) board.Problems {
	out := board.Problems{}
	for k, v := range errs {
		if i := strings.LastIndexByte(k, '.'); i >= 0 {
			k = k[i+1:]
		}
		out[k] = v
	}
	return out
}

// Remove drops a hook.
func (s EditorSetup) Remove(ctx context.Context, b board.Board, name string) error {
	old, err := s.D.Hooks(ctx, b.ID)
	if err != nil {
		return err
	}
	var hooks []Hook
	for _, o := range old {
		if o.Name != name {
			hooks = append(hooks, Hook{Name: o.Name, Channel: o.Channel, Username: o.Username, IconURL: o.IconURL})
		}
	}
	return s.D.SetHooks(ctx, b.ID, hooks)
}

// SendTest posts a test message.
func (s EditorSetup) SendTest(ctx context.Context, b board.Board, name string) error {
	return s.D.SendTest(ctx, b, name)
}
