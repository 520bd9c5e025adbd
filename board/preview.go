package board

import (
	"context"
	"time"
)

// Preview is how one destination will show an announcement, for an editor
// to read before anything is sent.
type Preview struct {
	// Channel names the destination as editors know it ("Mastodon and
	// the fediverse", "Matrix rooms"), by a key of the locale catalogue
	// (editor.channel_matrix) that the API and the editor say in their
	// reader's language.
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

// Previews renders a in every destination that has a preview.
func (s *Service) Previews(ctx context.Context, b Board, a Announcement) []Preview {
	var out []Preview
	for _, p := range s.dest.Previewers {
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
		old, err := s.repo.Announcement(ctx, b.ID, id)
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
	if err := s.build(ctx, b, d, &a); err != nil {
		return a, err
	}
	a.Status = StatusPublished
	if a.ExpiresAt != nil && !a.ExpiresAt.After(now) {
		a.Status = StatusExpired
	}
	return a, nil
}
