package board

import (
	"context"
	"errors"
	"fmt"
)

// Actor is who acts through the admin API or the editor: a token and its
// role. The service checks what the role may do; commands run on the
// server itself (the CLI's board and token commands, the scheduler) act
// with no actor and may do everything.
type Actor struct {
	TokenID int64
	Role    string
}

type actorKey struct{}

// WithActor marks ctx as acting for token t.
func WithActor(ctx context.Context, t Token) context.Context {
	role := t.Role
	if role == "" {
		role = RolePublisher
	}
	return context.WithValue(ctx, actorKey{}, Actor{TokenID: t.ID, Role: role})
}

func actorOf(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

// ErrForbidden is what a token's role may not do.
var ErrForbidden = errors.New("forbidden")

// ForbiddenError says what the role may not do and who can.
type ForbiddenError struct{ Reason string }

func (e *ForbiddenError) Error() string        { return e.Reason }
func (e *ForbiddenError) Is(target error) bool { return target == ErrForbidden }

// publishersOnly refuses an editor's token the actions that reach readers.
func publishersOnly(ctx context.Context, what string) error {
	if a, ok := actorOf(ctx); ok && a.Role == RoleEditor {
		return &ForbiddenError{Reason: fmt.Sprintf("an editor's token cannot %s: ask a publisher of this board", what)}
	}
	return nil
}

// RequirePublisher refuses an editor's token what only publishers may do
// (a board's destinations, for one).
func RequirePublisher(ctx context.Context, what string) error { return publishersOnly(ctx, what) }

// unpublished says whether readers have never had it.
func unpublished(s Status) bool {
	return s == "" || s == StatusDraft || s == StatusScheduled || s == StatusPending
}

// gate applies the roles to a save of a, which was from: an editor writes
// drafts only; on a board that wants a second publisher, a publication
// waits for one (pending) unless this save is that approval.
func gate(ctx context.Context, b Board, from Status, a *Announcement, approving bool) error {
	actor, ok := actorOf(ctx)
	if !ok {
		return nil
	}
	if actor.Role == RoleEditor {
		if from != "" && from != StatusDraft {
			return &ForbiddenError{Reason: fmt.Sprintf("this announcement is %s: only a publisher of this board can change it", from)}
		}
		if a.Status != StatusDraft {
			return &ForbiddenError{Reason: "an editor's token saves drafts, which a publisher publishes: save it as a draft (\"draft\": true; Save as draft in the editor)"}
		}
		return nil
	}
	switch {
	case a.Status == StatusDraft, approving:
		a.RequestedBy = nil
	case b.Approval && !approving && (from == "" || from == StatusDraft || from == StatusPending) &&
		(a.Status == StatusPublished || a.Status == StatusScheduled):
		// Asked for, not done: another publisher approves it.
		a.Status, a.RequestedBy = StatusPending, &actor.TokenID
	}
	return nil
}

// Approve publishes (or schedules) an announcement another publisher
// asked to publish, on a board that wants two.
func (s *Service) Approve(ctx context.Context, b Board, id int64) (Announcement, error) {
	a, err := s.store.Announcement(ctx, b.ID, id)
	if err != nil {
		return a, err
	}
	if a.Status != StatusPending {
		return a, &ValidationError{Fields: map[string]string{"status": fmt.Sprintf("this announcement is %s, not awaiting approval", a.Status)}}
	}
	actor, ok := actorOf(ctx)
	if ok && actor.Role == RoleEditor {
		return a, &ForbiddenError{Reason: "an editor's token cannot approve a publication: a publisher of this board does"}
	}
	if ok && a.RequestedBy != nil && *a.RequestedBy == actor.TokenID {
		return a, &ForbiddenError{Reason: "you asked for this publication: another publisher of this board approves it"}
	}
	return s.update(ctx, b, id, func(*Draft) error { return nil }, true)
}
