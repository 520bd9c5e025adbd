package board

import (
	"context"
	"html/template"
	"time"

	"github.com/microcosm-cc/bluemonday"
)

// Preview is how one destination will show an announcement, for an editor
// to read before anything is sent.
type Preview struct {
	// Channel names the destination as editors know it ("Mastodon and
	// the fediverse", "Matrix rooms").
	Channel string `json:"channel"`
	// HTML is what its readers' apps display; Text is the plain text
	// that apps without HTML show, when the destination sends one.
	HTML string `json:"html"`
	Text string `json:"text,omitempty"`
	// Warning is the content warning a reader opens to see the rest.
	Warning string `json:"content_warning,omitempty"`
}

// Previewer is a destination that can render an announcement as it
// would send it; ok false when the board does not use it.
type Previewer interface {
	Preview(ctx context.Context, b Board, a Announcement) (p Preview, ok bool)
}

// AddPreviewer lets a destination show editors what it will send.
func (s *Service) AddPreviewer(p Previewer) { s.previewers = append(s.previewers, p) }

// Previews renders a in every destination that has a preview.
func (s *Service) Previews(ctx context.Context, b Board, a Announcement) []Preview {
	var out []Preview
	for _, p := range s.previewers {
		if pv, ok := p.Preview(ctx, b, a); ok {
			out = append(out, pv)
		}
	}
	return out
}

// PreviewOf is what saving d would show readers, stored nowhere: a new
// announcement when id is 0, else announcement id as edited.
func (s *Service) PreviewOf(ctx context.Context, b Board, id int64, d Draft) (Announcement, error) {
	now := s.now().UTC().Truncate(time.Millisecond)
	a := Announcement{Board: b.Name, Version: 1, CreatedAt: now, UpdatedAt: now}
	if id != 0 {
		old, err := s.store.Announcement(ctx, b.ID, id)
		if err != nil {
			return a, err
		}
		if old.DeletedAt != nil {
			return a, ErrGone
		}
		a = old
		if old.Public() {
			a.Version, a.UpdatedAt = old.Version+1, now
		}
	}
	if err := s.build(ctx, b.ID, d, &a); err != nil {
		return a, err
	}
	a.Status = StatusPublished
	if a.ExpiresAt != nil && !a.ExpiresAt.After(now) {
		a.Status = StatusExpired
	}
	return a, nil
}

// previewPolicy cleans a destination's rendering once more before the
// editor's page shows it: it is built from sanitised parts, but the page
// should not have to trust every renderer.
var previewPolicy = bluemonday.UGCPolicy()

// shownPreview is a Preview ready for the editor's page.
type shownPreview struct {
	Channel, Text, Warning string
	HTML                   template.HTML
}

func showPreviews(list []Preview) []shownPreview {
	out := make([]shownPreview, len(list))
	for i, p := range list {
		out[i] = shownPreview{Channel: p.Channel, Text: p.Text, Warning: p.Warning, HTML: template.HTML(previewPolicy.Sanitize(p.HTML))}
	}
	return out
}
