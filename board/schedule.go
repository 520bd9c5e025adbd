package board

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// wakeScheduler has the scheduler look again when a has a time to keep.
func (s *Service) wakeScheduler(a Announcement) {
	if a.Status == StatusScheduled || a.ExpiresAt != nil || a.Training != nil && a.Training.Reminder {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// RunScheduler publishes scheduled announcements and withdraws expiring
// ones on time, until ctx ends. The times are in the store, so a restart
// catches up on whatever fell due while the server was down.
func (s *Service) RunScheduler(ctx context.Context, log *slog.Logger) {
	for {
		wait := time.Minute // a safety net: every change wakes it
		if err := s.PublishDue(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			log.ErrorContext(ctx, "scheduler", "err", err)
			wait = 30 * time.Second // not a busy loop on a persistent failure
		} else if next, ok, err := s.repo.NextDue(ctx); err == nil && ok {
			wait = min(wait, max(time.Until(next), 0)+10*time.Millisecond)
		}
		if next, ok, err := s.NextReminder(ctx); err == nil && ok {
			wait = min(wait, max(time.Until(next), 0)+10*time.Millisecond)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-s.wake:
			t.Stop()
		}
	}
}

// PublishDue publishes every scheduled announcement whose time has come
// and withdraws every published one past its expiry.
func (s *Service) PublishDue(ctx context.Context) error {
	for {
		due, err := s.repo.Due(ctx, s.now(), 100)
		if err != nil {
			return fmt.Errorf("find due announcements: %w", err)
		}
		var errs []error
		for _, d := range due {
			b, err := s.repo.BoardByID(ctx, d.BoardID)
			if err == nil {
				// An edit that changes nothing but the time: the status
				// follows the clock.
				_, err = s.Update(ctx, System, b, d.ID, func(*Draft) error { return nil })
			}
			if err != nil && !errors.Is(err, ErrGone) {
				errs = append(errs, fmt.Errorf("announcement %d: %w", d.ID, err))
			}
		}
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		if len(due) < 100 {
			return errors.Join(s.endCampaigns(ctx), s.remindTrainings(ctx))
		}
	}
}
