package board

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// TrainingNotifier tells a training's registrants, one by one, what
// concerns them (a direct note on the fediverse).
type TrainingNotifier interface {
	// TrainingReminder says the training is tomorrow.
	TrainingReminder(ctx context.Context, b Board, a Announcement, su Signup)
	// TrainingCancelled says it will not take place.
	TrainingCancelled(ctx context.Context, b Board, a Announcement, su Signup)
}

// SetTrainingNotifier sets who tells registrants of reminders and
// cancellations.
func (s *Service) SetTrainingNotifier(n TrainingNotifier) { s.trainings = n }

// SetLinks tells the service where announcements live, for the posts it
// writes itself (a reminder links to its training).
func (s *Service) SetLinks(l Links) { s.links = l }

// CancelTraining cancels a training (or, with cancel false, calls the
// cancellation off): an edit, so followers and rooms read "Cancelled" and
// the poll closes; registrants on the fediverse are told, and no reminder
// goes out.
func (s *Service) CancelTraining(ctx context.Context, b Board, id int64, cancel bool) (Announcement, error) {
	if err := publishersOnly(ctx, "cancel a training"); err != nil {
		return Announcement{}, err
	}
	before, err := s.store.Announcement(ctx, b.ID, id)
	if err != nil {
		return before, err
	}
	a, err := s.Update(ctx, b, id, func(d *Draft) error {
		if d.Kind != KindTraining || d.Training == nil {
			return &ValidationError{Fields: map[string]string{"kind": "only a training can be cancelled"}}
		}
		d.Training.Cancelled = cancel
		// Channels and lists cannot edit what they showed: they get a
		// short "Cancelled" (or "Updated") message.
		d.FollowUp = true
		return nil
	})
	if err != nil || !cancel || before.Cancelled() || !a.Public() || s.trainings == nil {
		return a, err
	}
	list, err := s.store.Signups(ctx, id)
	if err != nil {
		return a, err
	}
	for _, su := range list {
		if su.State != SignupWithdrawn {
			s.trainings.TrainingCancelled(ctx, b, a, su)
		}
	}
	return a, nil
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

// nextReminder is the earliest reminder still to send.
func (s *Service) nextReminder(ctx context.Context) (next time.Time, ok bool, err error) {
	list, err := s.trainingsToRemind(ctx)
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
	list, err := s.trainingsToRemind(ctx)
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
		b, err := s.store.BoardByName(ctx, a.Board)
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
		if err := s.store.updateDetails(ctx, b.ID, a.ID, "record the reminder", func(a *Announcement) {
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
	l := localeOf(b.Language)
	if b.TimeZone != "" {
		l.zone = b.Location()
	}
	var body strings.Builder
	en := a.FactsIn(English) // the same facts in the same order: which is which
	for i, f := range a.FactsIn(l) {
		switch en[i].Label {
		case "When", "Where", "Online", "What to bring", "Seats":
			v := EscapeMarkdown(f.Value)
			if f.Link != "" {
				v = f.Link // linkified as it is
			}
			fmt.Fprintf(&body, "- **%s:** %s\n", f.Label, v)
		}
	}
	if s.links != nil {
		fmt.Fprintf(&body, "\n%s %s\n", l.T("Details and registration:"), s.links.AnnouncementURL(b.Name, a.ID))
	}
	key := fmt.Sprintf("reminder:%d:%d", a.ID, a.Event.Start.Unix())
	d := Draft{Title: l.T("Tomorrow: %s", a.Title), Body: body.String(), Language: a.Language, Tags: a.Tags}
	if _, _, err := s.Create(ctx, b, d, key); err != nil && !errors.Is(err, ErrIdempotencyConflict) {
		return fmt.Errorf("reminder post: %w", err)
	}
	if s.trainings == nil {
		return nil
	}
	list, err := s.store.Signups(ctx, a.ID)
	if err != nil {
		return err
	}
	for _, su := range list {
		if su.State == SignupConfirmed {
			s.trainings.TrainingReminder(ctx, b, a, su)
		}
	}
	return nil
}

// trainingsToRemind lists, in one query, the published trainings that
// asked for a reminder and are not cancelled (reminderDue says which
// still need it).
func (s *Service) trainingsToRemind(ctx context.Context) ([]Announcement, error) {
	return s.store.queryAnnouncements(ctx, `SELECT `+annCols+` FROM announcements a JOIN boards b ON b.id = a.board_id
		WHERE a.kind = 'training' AND a.status = 'published' AND a.deleted_at IS NULL
		AND json_extract(a.details, '$.training.reminder') AND NOT coalesce(json_extract(a.details, '$.training.cancelled'), 0)`)
}
