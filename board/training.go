package board

import (
	"context"
	"errors"
	"fmt"

	"time"
)

// Cancel cancels a training (or, with cancel false, calls the
// cancellation off): an edit, so followers and rooms read "Cancelled" and
// the poll closes; its registrants are told where they can be reached
// (and again when it is back on), and no reminder goes out. A planned
// outage (a maintenance called off) is cancelled the same way, until it
// begins; once begun, it is resolved instead.
func (s *Service) Cancel(ctx context.Context, actor Actor, b Board, id int64, cancel bool) (Announcement, error) {
	if err := RequirePublisher(actor, "cancel a training"); err != nil {
		return Announcement{}, err
	}
	before, err := s.repo.Announcement(ctx, b.ID, id)
	if err != nil {
		return before, err
	}
	a, err := s.Update(ctx, actor, b, id, func(d *Draft) error {
		if d.Kind == KindOutage && d.Outage != nil {
			switch state := d.Outage.State(s.now()); {
			case !cancel || d.Outage.Cancelled:
			case state == OutageResolved:
				return Invalid("outage", "problem.outage_over")
			case state != OutagePlanned:
				return Invalid("outage", "problem.outage_started")
			}
			d.Outage.Cancelled = cancel
			d.FollowUp = true
			return nil
		}
		if d.Kind != KindTraining || d.Training == nil {
			return Invalid("kind", "problem.only_training_cancelled")
		}
		d.Training.BackOn = !cancel && (d.Training.Cancelled || d.Training.BackOn)
		d.Training.Cancelled = cancel
		// Channels and lists cannot edit what they showed: they get a
		// short "Cancelled" (or "Updated") message.
		d.FollowUp = true
		return nil
	})
	if err != nil || cancel == before.Cancelled() || !a.Public() || a.Kind != KindTraining {
		return a, err
	}
	// Everyone still signed up hears it: cancelled, or back on (their
	// place stands, waiting list included).
	what := ToldCancelled
	if !cancel {
		what = ToldBackOn
	}
	return a, s.tellSignups(ctx, b, a, what, fmt.Sprint(what, " ", a.Version))
}

// reminderDue is when a training's reminder should go out (ok false: it
// asks for none, is cancelled, or had it for this start).
func reminderDue(a Announcement) (time.Time, bool) {
	t := a.Training
	if a.Kind != KindTraining || t == nil || a.Event == nil || !t.Reminder || t.Cancelled || a.Status != StatusPublished || a.DeletedAt != nil {
		return time.Time{}, false
	}
	if t.RemindedFor != nil && t.RemindedFor.Equal(a.Event.Start) {
		return time.Time{}, false
	}
	return a.Event.Start.Add(-ReminderLead), true
}

// NextReminder is the earliest reminder still to send.
func (s *Service) NextReminder(ctx context.Context) (next time.Time, ok bool, err error) {
	list, err := s.repo.TrainingsToRemind(ctx)
	if err != nil {
		return next, false, err
	}
	for _, a := range list {
		if due, yes := reminderDue(a); yes && (!ok || due.Before(next)) {
			next, ok = due, true
		}
	}
	return next, ok, nil
}

// remindTrainings sends the reminders that fell due: a short post the day
// before (in the rooms too) and a direct note to each registrant on the
// fediverse. A training published within a day of its start, or whose
// start passed while the server was down, gets none: the post itself is
// fresh, or it is too late. Each goes out once per start, across restarts:
// the post's idempotency key, the notes' fixed ids and RemindedFor see to
// that.
func (s *Service) remindTrainings(ctx context.Context) error {
	list, err := s.repo.TrainingsToRemind(ctx)
	if err != nil {
		return err
	}
	now := s.now()
	var errs []error
	for _, a := range list {
		due, ok := reminderDue(a)
		if !ok || now.Before(due) {
			continue
		}
		b, err := s.repo.BoardByName(ctx, a.Board)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if now.Before(a.Event.Start) && a.CreatedAt.Before(due) {
			if err := s.remind(ctx, b, a); err != nil {
				errs = append(errs, fmt.Errorf("training %d: %w", a.ID, err))
				continue
			}
		}
		start := a.Event.Start
		if err := s.keepDetails(ctx, b.ID, a.ID, "record the reminder", func(a *Announcement) {
			if a.Training != nil {
				a.Training.RemindedFor = &start
			}
		}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// remind posts a training's reminder and tells its registrants.
func (s *Service) remind(ctx context.Context, b Board, a Announcement) error {
	link := ""
	if s.links != nil {
		link = s.links.AnnouncementURL(b.Name, a.ID)
	}
	title, body := s.notices.Reminder(b, a, link)
	key := fmt.Sprintf("reminder:%d:%d", a.ID, a.Event.Start.Unix())
	d := Draft{Title: title, Body: body, Language: a.Language, Tags: a.Tags}
	if _, _, err := s.Create(ctx, System, b, d, key); err != nil && !errors.Is(err, ErrIdempotencyConflict) {
		return fmt.Errorf("reminder post: %w", err)
	}
	return s.tellSignups(ctx, b, a, ToldReminder, fmt.Sprint("reminder ", a.Event.Start.Unix()), SignupConfirmed)
}
