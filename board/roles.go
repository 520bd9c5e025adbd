package board

import (
	"context"
	"errors"
	"fmt"
)

// Actor is who acts, passed to every service call that checks a role: a
// token and its role, or Crieur itself (System). The zero Actor is nobody
// and may do nothing: a caller that forgets to say who acts is refused.
type Actor struct {
	TokenID int64
	Role    string
}

// RoleSystem is Crieur acting on its own: the scheduler, a donation
// platform's total, the operator's commands on the server itself.
const RoleSystem = "system"

// System is Crieur acting on its own; it may do everything.
var System = Actor{Role: RoleSystem}

// TokenActor is the holder of token t.
func TokenActor(t Token) Actor {
	role := t.Role
	if role == "" {
		role = RolePublisher
	}
	return Actor{TokenID: t.ID, Role: role}
}

// ErrForbidden is what a token's role may not do.
var ErrForbidden = errors.New("forbidden")

// ForbiddenError says what the role may not do and who can.
type ForbiddenError struct {
	Reason string
	// Say, if set, is the catalogue key of what to tell a person (the
	// editor), when the general "not for your token" would mislead.
	Say string
}

func (e *ForbiddenError) Error() string        { return e.Reason }
func (e *ForbiddenError) Is(target error) bool { return target == ErrForbidden }

// known refuses an actor nobody named.
func known(a Actor) error {
	switch a.Role {
	case RoleSystem, RolePublisher, RoleEditor:
		return nil
	}
	return &ForbiddenError{Reason: "nobody is acting: this request carries no token"}
}

// RequirePublisher refuses what only publishers (and Crieur itself) may
// do, the actions that reach readers and a board's destinations.
func RequirePublisher(a Actor, what string) error {
	if err := known(a); err != nil {
		return err
	}
	if a.Role == RoleEditor {
		return &ForbiddenError{Reason: fmt.Sprintf("an editor's token cannot %s: ask a publisher of this board", what)}
	}
	return nil
}

// unpublished says whether readers have never had it.
func unpublished(s Status) bool {
	return s == "" || s == StatusDraft || s == StatusScheduled || s == StatusPending
}

// gate applies the roles to a save of a, which was from: an editor writes
// drafts only; on a board that wants a second publisher, a publication
// waits for one (pending) unless this save is that approval.
func gate(actor Actor, b Board, from Status, a *Announcement, approving bool) error {
	if err := known(actor); err != nil {
		return err
	}
	if actor.Role == RoleSystem {
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
	case b.Approval && !approving && (from == "" || from == StatusDraft || from == StatusPending || from == StatusScheduled) &&
		(a.Status == StatusPublished || a.Status == StatusScheduled):
		// Asked for, not done: another publisher approves it. A scheduled
		// one that is edited was approved as it was, not as it is now.
		a.Status, a.RequestedBy = StatusPending, &actor.TokenID
	}
	return nil
}

// heldForApproval says whether a publisher's edit of an announcement
// readers already have waits for a second publisher (PendingEdit) instead
// of reaching them.
func heldForApproval(actor Actor, b Board, from Status, approving bool) bool {
	return b.Approval && !approving && from == StatusPublished && actor.Role != RoleSystem && actor.Role != RoleEditor
}

// NotPendingError is an approval of what waits for none: a state the
// announcement is in, not a field to fix (the API answers 409).
type NotPendingError struct{ Status Status }

func (e *NotPendingError) Error() string {
	return fmt.Sprintf("this announcement is %s, not awaiting approval", e.Status)
}

// Approve publishes (or schedules) an announcement another publisher
// asked to publish, on a board that wants two.
func (s *Service) Approve(ctx context.Context, actor Actor, b Board, id int64) (Announcement, error) {
	a, err := s.repo.Announcement(ctx, b.ID, id)
	if err != nil {
		return a, err
	}
	if a.Status != StatusPending && a.PendingEdit == nil {
		return a, &NotPendingError{Status: a.Status}
	}
	if err := RequirePublisher(actor, "approve a publication"); err != nil {
		return a, &ForbiddenError{Reason: "an editor's token cannot approve a publication: a publisher of this board does"}
	}
	if a.RequestedBy != nil && *a.RequestedBy == actor.TokenID && actor.Role != RoleSystem {
		what, say := "asked for this publication", "editor.approve_own"
		if a.PendingEdit != nil {
			what, say = "made this edit", "editor.approve_own_edit"
		}
		return a, &ForbiddenError{Reason: "you " + what + ": another publisher of this board approves it", Say: say}
	}
	if edit := a.PendingEdit; edit != nil {
		// The edit as proposed (and as the approver read it) goes out.
		return s.update(ctx, actor, b, id, func(d *Draft) error { *d = *edit; return nil }, true)
	}
	return s.update(ctx, actor, b, id, func(*Draft) error { return nil }, true)
}
