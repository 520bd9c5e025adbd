package board

import (
	"context"
	"errors"
	"fmt"
)

// Reannounce posts again an outage notice whose first post reached
// Mastodon servers too late for their home timelines (LateDelivery): a
// fresh post, in the notice's language, that says what is down and links
// the first, which stays the notice (its state, its edits, its end). Only
// a notice still current (planned or ongoing) is worth it. Clicking twice
// in a minute posts once.
func (s *Service) Reannounce(ctx context.Context, actor Actor, b Board, id int64) (Announcement, error) {
	a, err := s.repo.Announcement(ctx, b.ID, id)
	if err != nil {
		return Announcement{}, err
	}
	switch {
	case a.DeletedAt != nil:
		return Announcement{}, ErrGone
	case a.Kind != KindOutage || a.Outage == nil || !a.Public():
		return Announcement{}, Invalid("announcement", "problem.reannounce_outage")
	case a.Outage.State(s.now()) == OutageResolved:
		return Announcement{}, Invalid("announcement", "problem.reannounce_over")
	}
	link := ""
	if s.links != nil {
		link = s.links.AnnouncementURL(b.Name, a.ID)
	}
	title, body := s.notices.Reannounced(b, a, link)
	key := fmt.Sprintf("reannounce:%d:%d", a.ID, s.now().Unix()/60)
	fresh, _, err := s.Create(ctx, actor, b, Draft{Title: title, Body: body, Language: a.Language, Tags: a.Tags}, key)
	if errors.Is(err, ErrIdempotencyConflict) {
		return Announcement{}, fmt.Errorf("re-announce %d: %w", a.ID, err)
	}
	return fresh, err
}
