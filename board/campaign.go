package board

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// SetRaised records what a campaign has raised. The page shows it at once;
// followers and rooms get a spaced Update; reaching the goal ends the
// campaign's place at the top.
func (s *Service) SetRaised(ctx context.Context, actor Actor, b Board, id int64, raised float64) (Announcement, error) {
	if err := RequirePublisher(actor, "change what a campaign raised"); err != nil {
		return Announcement{}, err
	}
	if raised < 0 || raised > 1e12 {
		return Announcement{}, Invalid("raised", "problem.not_negative")
	}
	before, err := s.repo.Announcement(ctx, b.ID, id)
	if err != nil {
		return before, err
	}
	a, err := s.setRaised(ctx, b.ID, id, raised)
	if err != nil {
		return a, err
	}
	s.notify()
	if before.Campaign != nil && a.Public() {
		if err := s.announceMilestones(ctx, b, a, before.Campaign.Percent()); err != nil {
			return a, err
		}
	}
	if a.Pinned && a.Campaign.Over(s.now()) {
		if err := s.end(ctx, b, a); err != nil {
			return a, err
		}
	}
	return s.repo.Announcement(ctx, b.ID, id)
}

// setRaised records what a campaign has raised, with a refresh for its
// followers and rooms spaced by the progress gap (the dispatcher keeps the
// last).
func (s *Service) setRaised(ctx context.Context, boardID, id int64, raised float64) (a Announcement, err error) {
	now := s.now().UTC()
	err = s.repo.InTx(ctx, func(tx Tx) error {
		if a, err = tx.Announcement(ctx, boardID, id); err != nil {
			return err
		}
		if a.DeletedAt != nil {
			return ErrGone
		}
		if a.Kind != KindCampaign || a.Campaign == nil {
			return Invalid("raised", "problem.only_campaign_raised")
		}
		if a.Campaign.Raised == raised {
			return nil
		}
		a.Campaign.Raised = raised
		if err := tx.SaveDetails(ctx, a); err != nil {
			return fmt.Errorf("record the amount raised: %w", err)
		}
		if !a.Public() {
			return nil
		}
		return tx.AddOutbox(ctx, OutboxEntry{BoardID: boardID, AnnouncementID: id, Verb: VerbRefresh, Version: a.Version, CreatedAt: now, MinGap: s.progressGap})
	})
	return a, err
}

// announceMilestones posts a short thanks for each milestone the total
// passed since it was at percent (once each: the idempotency key and
// Reached see to that).
func (s *Service) announceMilestones(ctx context.Context, b Board, a Announcement, percent int) error {
	c := a.Campaign
	for _, m := range c.Milestones {
		if percent >= m || c.Percent() < m || slices.Contains(c.Reached, m) {
			continue
		}
		title, body := s.notices.Milestone(b, a, m)
		// The key makes a repeat (a lost bookkeeping write) a no-op.
		if _, _, err := s.Create(ctx, System, b, Draft{Title: title, Body: body, Language: a.Language}, fmt.Sprintf("milestone:%d:%d", a.ID, m)); err != nil && !errors.Is(err, ErrIdempotencyConflict) {
			return fmt.Errorf("milestone post: %w", err)
		}
		if err := s.keepDetails(ctx, b.ID, a.ID, "record the campaign's milestones", func(a *Announcement) {
			if a.Campaign != nil {
				a.Campaign.Reached = append(a.Campaign.Reached, m)
			}
		}); err != nil {
			return err
		}
	}
	return nil
}

// thank posts a campaign's thank-you, once, when it has one.
func (s *Service) thank(ctx context.Context, b Board, a Announcement) error {
	c := a.Campaign
	if c == nil || c.ThankYou == "" || c.Thanked {
		return nil
	}
	if _, _, err := s.Create(ctx, System, b, Draft{Title: s.notices.ThankYou(b, a), Body: c.ThankYou, Language: a.Language}, fmt.Sprintf("thanks:%d", a.ID)); err != nil && !errors.Is(err, ErrIdempotencyConflict) {
		return fmt.Errorf("thank-you post: %w", err)
	}
	return s.keepDetails(ctx, b.ID, a.ID, "record the thank-you", func(a *Announcement) {
		if a.Campaign != nil {
			a.Campaign.Thanked = true
		}
	})
}

// pinRunningCampaign features a campaign while it runs, from its
// publication.
func (s *Service) pinRunningCampaign(ctx context.Context, b Board, a Announcement) error {
	if a.Kind != KindCampaign || a.Campaign == nil || a.Status != StatusPublished || a.Campaign.Over(s.now()) {
		return nil
	}
	if _, err := s.setPinned(ctx, b.ID, a.ID, true); err != nil {
		return err
	}
	s.notify()
	return nil
}

// endCampaigns stops featuring campaigns whose deadline passed or whose
// goal was reached (checked by the scheduler, so across restarts too).
func (s *Service) endCampaigns(ctx context.Context) error {
	pinned, err := s.repo.PinnedCampaigns(ctx)
	if err != nil {
		return err
	}
	for _, d := range pinned {
		a, err := s.repo.Announcement(ctx, d.BoardID, d.ID)
		if err != nil || a.Campaign == nil || !a.Campaign.Over(s.now()) {
			continue
		}
		b, err := s.repo.BoardByID(ctx, d.BoardID)
		if err != nil {
			return err
		}
		if err := s.end(ctx, b, a); err != nil {
			return err
		}
	}
	return nil
}

// end closes a campaign that is over: its thank-you first, then its place
// at the top. The thank-you goes out once (its key and Thanked see to
// that); while it has not, the campaign stays pinned, so the scheduler's
// next pass tries again.
func (s *Service) end(ctx context.Context, b Board, a Announcement) error {
	if err := s.thank(ctx, b, a); err != nil {
		return err
	}
	if _, err := s.setPinned(ctx, b.ID, a.ID, false); err != nil {
		return err
	}
	s.notify()
	return nil
}
