package board

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
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
	return s.progress(ctx, b, id, func(c *Campaign) { c.Raised = raised })
}

// Income is what a platform of recurring donations (Liberapay) says an
// account receives: amounts per week, in Currency.
type Income struct {
	Weekly   float64
	Currency string
	Patrons  int
	// Goal is the account's own weekly goal; 0 when it has none.
	Goal float64
}

// SetIncome records a campaign's recurring income, read from the platform
// it links to, in the campaign's period (Liberapay counts per week; a
// month is 52/12 weeks, as Liberapay converts). The account's own goal,
// when it has one, is the campaign's.
func (s *Service) SetIncome(ctx context.Context, actor Actor, b Board, id int64, in Income) (Announcement, error) {
	if err := RequirePublisher(actor, "change what a campaign receives"); err != nil {
		return Announcement{}, err
	}
	if in.Weekly < 0 || in.Weekly > 1e12 || in.Goal < 0 || in.Goal > 1e12 || in.Patrons < 0 {
		return Announcement{}, Invalid("raised", "problem.not_negative")
	}
	return s.progress(ctx, b, id, func(c *Campaign) {
		if c.Currency != in.Currency {
			return // the poller says so to the editors (SetSourceProblem)
		}
		if c.Per == "" {
			c.Per = PerWeek
		}
		per := func(weekly float64) float64 {
			if c.Per == PerMonth {
				weekly = weekly * 52 / 12
			}
			return math.Round(weekly*100) / 100
		}
		c.Raised, c.Patrons = per(in.Weekly), in.Patrons
		if in.Goal > 0 {
			c.Goal = per(in.Goal)
		}
	})
}

// SetSourceProblem records why the platform's figures could not be used
// (nil: they could); editors see it, readers do not.
func (s *Service) SetSourceProblem(ctx context.Context, b Board, id int64, p *SourceProblem) error {
	return s.keepDetails(ctx, b.ID, id, "record the platform's answer", func(a *Announcement) {
		if a.Campaign != nil {
			a.Campaign.SourceProblem = p
		}
	})
}

// progress changes a campaign's figures. The page shows them at once;
// followers and rooms get a spaced Update; milestones passed get their
// thanks, and a campaign that is over ends.
func (s *Service) progress(ctx context.Context, b Board, id int64, change func(*Campaign)) (Announcement, error) {
	before, err := s.repo.Announcement(ctx, b.ID, id)
	if err != nil {
		return before, err
	}
	a, err := s.setProgress(ctx, b.ID, id, change)
	if err != nil {
		return a, err
	}
	s.notify()
	if before.Campaign != nil && a.Public() {
		if err := s.announceMilestones(ctx, b, a, before.Campaign.Percent()); err != nil {
			return a, err
		}
	}
	if ending(a, s.now()) {
		if err := s.end(ctx, b, a); err != nil {
			return a, err
		}
	}
	return s.repo.Announcement(ctx, b.ID, id)
}

// setProgress changes a campaign's figures, with a refresh for its
// followers and rooms spaced by the progress gap (the dispatcher keeps the
// last).
func (s *Service) setProgress(ctx context.Context, boardID, id int64, change func(*Campaign)) (a Announcement, err error) {
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
		was := *a.Campaign
		change(a.Campaign)
		c := a.Campaign
		if c.Raised == was.Raised && c.Goal == was.Goal && c.Patrons == was.Patrons && c.Per == was.Per {
			return nil
		}
		c.Counted = &now
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

// announceMilestones posts a short thanks for the highest milestone the
// total passed since it was at percent (once each: the idempotency key
// and Reached see to that). Milestones passed in the same jump are
// recorded without a post of their own: "75 % of the goal" beside a
// total of 100 % would contradict itself.
func (s *Service) announceMilestones(ctx context.Context, b Board, a Announcement, percent int) error {
	c := a.Campaign
	var passed []int
	for _, m := range c.Milestones {
		if percent < m && c.Percent() >= m && !slices.Contains(c.Reached, m) {
			passed = append(passed, m)
		}
	}
	for i, m := range passed {
		if i < len(passed)-1 {
			if err := s.keepDetails(ctx, b.ID, a.ID, "record the campaign's milestones", func(a *Announcement) {
				if a.Campaign != nil {
					a.Campaign.Reached = append(a.Campaign.Reached, m)
				}
			}); err != nil {
				return err
			}
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

// ending reports whether a is a campaign that is over and not yet ended
// everywhere (marked ended, no longer at the top).
func ending(a Announcement, now time.Time) bool {
	return a.Campaign != nil && a.Campaign.Over(now) && (a.Campaign.Ended == nil || a.Pinned)
}

// endCampaigns ends campaigns whose deadline passed or whose goal was
// reached (checked by the scheduler, so across restarts too).
func (s *Service) endCampaigns(ctx context.Context) error {
	running, err := s.repo.RunningCampaigns(ctx)
	if err != nil {
		return err
	}
	for _, a := range running {
		if !ending(a, s.now()) {
			continue
		}
		b, err := s.repo.BoardByName(ctx, a.Board)
		if err != nil {
			return err
		}
		if err := s.end(ctx, b, a); err != nil {
			return err
		}
	}
	return nil
}

// end closes a campaign that is over: its thank-you first, then its
// ended mark (an edit, so that every channel shows it ended and stops
// asking to give), then its place at the top. Each step is done once (the
// thank-you's key and Thanked, Ended, the pin); while one fails, the
// campaign stays pinned, so the scheduler's next pass tries again.
func (s *Service) end(ctx context.Context, b Board, a Announcement) error {
	if err := s.thank(ctx, b, a); err != nil {
		return err
	}
	if err := s.markEnded(ctx, b.ID, a.ID); err != nil {
		return err
	}
	if _, err := s.setPinned(ctx, b.ID, a.ID, false); err != nil {
		return err
	}
	s.notify()
	return nil
}

// markEnded records when a campaign ended, as a new version of it:
// followers' servers keep a post's text as it was unless an Update is
// newer than its last edit (Mastodon's process_status_update_service.rb
// applies an older one as poll state only), and "ended" is news.
func (s *Service) markEnded(ctx context.Context, boardID, id int64) error {
	now := s.now().UTC().Truncate(time.Millisecond)
	return s.repo.InTx(ctx, func(tx Tx) error {
		a, err := tx.Announcement(ctx, boardID, id)
		if err != nil {
			return err
		}
		if a.Campaign == nil || a.Campaign.Ended != nil || a.DeletedAt != nil {
			return nil
		}
		a.Campaign.Ended = &now
		if !a.Public() {
			return tx.SaveDetails(ctx, a)
		}
		prev, prevUpdated := a.Version, a.UpdatedAt
		a.Version++
		a.UpdatedAt = now
		if last := prevUpdated.Truncate(time.Millisecond); !now.After(last) {
			a.UpdatedAt = last.Add(time.Millisecond)
		}
		if err := tx.UpdateAnnouncement(ctx, boardID, &a, prev, prevUpdated); err != nil {
			return fmt.Errorf("record the campaign's end: %w", err)
		}
		return tx.AddOutbox(ctx, OutboxEntry{BoardID: boardID, AnnouncementID: id, Verb: VerbUpdate, Version: a.Version, CreatedAt: a.UpdatedAt})
	})
}

// keepCampaignRecord carries what Crieur wrote of a campaign (its end, the
// platform's patrons and problem, when it was counted) into an edit, which does not carry them.
// An edit that makes an ended campaign run again (a later deadline, a
// higher goal) takes its end back.
func keepCampaignRecord(old, edit *Campaign, now time.Time) {
	if edit.Patrons == 0 {
		edit.Patrons = old.Patrons
	}
	if edit.SourceProblem == nil {
		edit.SourceProblem = old.SourceProblem
	}
	edit.Counted = old.Counted // Crieur's record, whatever the edit sent
	if edit.Ended == nil && old.Ended != nil && edit.Over(now) {
		edit.Ended = old.Ended
	}
	if edit.Ended != nil && !edit.Over(now) {
		edit.Ended = nil
	}
}
