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
	if a.Status == StatusScheduled || a.ExpiresAt != nil || a.Training != nil && a.Training.Reminder || a.Call != nil && a.Call.Deadline != nil {
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
		if next, ok, err := s.NextDeadline(ctx); err == nil && ok {
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
			return errors.Join(s.endCampaigns(ctx), s.remindTrainings(ctx), s.closeAtDeadlines(ctx))
		}
	}
}

// deadlineDue is when a call's closing must go out everywhere: at its
// deadline, unless that deadline's closing went out already (ok false).
func deadlineDue(a Announcement) (time.Time, bool) {
	c := a.Call
	if c == nil || c.Deadline == nil || c.Closed || a.Status != StatusPublished || a.DeletedAt != nil {
		return time.Time{}, false
	}
	if c.ClosedFor != nil && c.ClosedFor.Equal(*c.Deadline) {
		return time.Time{}, false
	}
	return *c.Deadline, true
}

// NextDeadline is the earliest call deadline whose closing is still to go out.
func (s *Service) NextDeadline(ctx context.Context) (next time.Time, ok bool, err error) {
	list, err := s.repo.CallsWithDeadline(ctx)
	if err != nil {
		return next, false, err
	}
	for _, a := range list {
		if due, yes := deadlineDue(a); yes && (!ok || due.Before(next)) {
			next, ok = due, true
		}
	}
	return next, ok, nil
}

// closeAtDeadlines tells every destination that a call closed at its
// deadline: a refresh, in one transaction with the record that it went
// out, renders it again, now closed (the fediverse Question gets its
// closed time, the Matrix poll its end and the room's message its closed
// line). Once per deadline, across restarts; a deadline moved later
// closes again when it comes.
func (s *Service) closeAtDeadlines(ctx context.Context) error {
	list, err := s.repo.CallsWithDeadline(ctx)
	if err != nil {
		return err
	}
	now := s.now()
	var errs []error
	sent := false
	for _, a := range list {
		if due, ok := deadlineDue(a); !ok || now.Before(due) {
			continue
		}
		b, err := s.repo.BoardByName(ctx, a.Board)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		err = s.repo.InTx(ctx, func(tx Tx) error {
			cur, err := tx.Announcement(ctx, b.ID, a.ID)
			if err != nil {
				return err
			}
			due, ok := deadlineDue(cur)
			if !ok || now.Before(due) {
				return nil // changed meanwhile
			}
			if err := tx.AddOutbox(ctx, OutboxEntry{BoardID: b.ID, AnnouncementID: cur.ID, Verb: VerbRefresh, Version: cur.Version, CreatedAt: now.UTC()}); err != nil {
				return err
			}
			cur.Call.ClosedFor = &due
			sent = true
			return tx.SaveDetails(ctx, cur)
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("close call %d at its deadline: %w", a.ID, err))
		}
	}
	if sent {
		s.notify()
	}
	return errors.Join(errs...)
}
