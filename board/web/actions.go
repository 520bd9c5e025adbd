package web

// The buttons of an announcement's edit page: approve, close or reopen
// sign-ups, mark an outage resolved, cancel a training, record what a
// campaign raised, take a sign-up by phone or remove one, download them.

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"crieur/board"
	"crieur/board/locale"
)

// setRaised records a campaign's new total from its edit page.
func (e *Editor) setRaised(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	a, ok := e.announcement(w, r, b)
	if !ok {
		return
	}
	to := fmt.Sprintf("/edit/%s/%d", b.Name, a.ID)
	l := e.locale(r, b)
	v, err := parseAmount(r.PostFormValue("raised"))
	if err != nil {
		e.refusalRedirect(w, r, to, l.T("editor.not_changed", l.T("editor.p.amount")))
		return
	}
	saved, err := e.svc.SetRaised(r.Context(), s.actor(), b, a.ID, v)
	if err != nil {
		e.refusalRedirect(w, r, to, l.T("editor.not_changed", explain(l, err)))
		return
	}
	e.flashRedirect(w, r, to, l.T("editor.raised_saved", l.Progress(saved).Value))
}

// approve publishes what another publisher asked to publish.
func (e *Editor) approve(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	a, ok := e.announcement(w, r, b)
	if !ok {
		return
	}
	l := e.locale(r, b)
	wasEdit := a.PendingEdit != nil
	saved, err := e.svc.Approve(r.Context(), s.actor(), b, a.ID)
	if err != nil {
		var ve *board.ValidationError
		if errors.As(err, &ve) || errors.Is(err, board.ErrForbidden) {
			e.refusalRedirect(w, r, fmt.Sprintf("/edit/%s/%d", b.Name, a.ID), l.T("editor.not_approved", explain(l, err)))
			return
		}
		e.formErrors(w, r, err)
		return
	}
	if wasEdit {
		e.flashRedirect(w, r, "/edit", l.T("editor.approved_edit", saved.Title))
		return
	}
	e.flashRedirect(w, r, "/edit", l.T("editor.approved", e.saved(l, saved)))
}

// signupsCSV lets a signed-in editor download a call's sign-ups.
func (e *Editor) signupsCSV(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	a, ok := e.announcement(w, r, b)
	if !ok {
		return
	}
	list, err := e.store.Signups(r.Context(), a.ID)
	if err != nil {
		serverError(w, r, e.log, err)
		return
	}
	writeSignupsCSV(w, r, e.log, a.ID, list, e.locale(r, b))
}

// backToCall returns to the call's edit page with a notice.
func (e *Editor) backToCall(w http.ResponseWriter, r *http.Request, b board.Board, id int64, notice string) {
	e.flashRedirect(w, r, fmt.Sprintf("/edit/%s/%d", b.Name, id), notice)
}

// addSignup records a sign-up an editor took by phone.
func (e *Editor) addSignup(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	a, ok := e.announcement(w, r, b)
	if !ok {
		return
	}
	l := e.locale(r, b)
	name, contact, role := strings.TrimSpace(r.PostFormValue("name")), strings.TrimSpace(r.PostFormValue("contact")), r.PostFormValue("role")
	errs := board.Problems{}
	board.CheckText(errs, "name", name, 100, true)
	board.CheckText(errs, "contact", contact, 200, false)
	if len(errs) > 0 {
		e.backToCall(w, r, b, a.ID, l.T("editor.not_added", explain(l, &board.ValidationError{Fields: errs})))
		return
	}
	who := board.PhonePerson(name, contact)
	res, err := e.svc.SignUp(r.Context(), b, a.ID, who, []string{role}, board.Origin{ID: who.ID})
	switch {
	case err != nil:
		e.backToCall(w, r, b, a.ID, l.T("editor.not_added", explain(l, err)))
	case len(res.Full) > 0:
		e.backToCall(w, r, b, a.ID, l.T("editor.not_added", l.T("editor.role_full", role)))
	case len(res.Waiting) > 0:
		e.backToCall(w, r, b, a.ID, l.T("editor.added_waiting", name, role))
	default:
		e.backToCall(w, r, b, a.ID, l.T("editor.added", name, role))
	}
}

func (e *Editor) removeSignup(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	a, ok := e.announcement(w, r, b)
	if !ok {
		return
	}
	sid, ok := board.ParseID(r.PathValue("signup"))
	if !ok {
		NotFound(w, r)
		return
	}
	if err := e.svc.RemoveSignup(r.Context(), s.actor(), b, a.ID, sid); err != nil && !errors.Is(err, board.ErrNotFound) {
		serverError(w, r, e.log, err)
		return
	}
	e.backToCall(w, r, b, a.ID, requestLocale(r).T("editor.signup_removed"))
}

func (e *Editor) setClosed(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	a, ok := e.announcement(w, r, b)
	if !ok {
		return
	}
	l := e.locale(r, b)
	closed := r.PostFormValue("closed") == "true"
	if _, err := e.svc.SetClosed(r.Context(), s.actor(), b, a.ID, closed); err != nil {
		e.backToCall(w, r, b, a.ID, l.T("editor.not_changed", explain(l, err)))
		return
	}
	if closed {
		e.backToCall(w, r, b, a.ID, l.T("signup.closed"))
	} else {
		e.backToCall(w, r, b, a.ID, l.T("editor.reopened"))
	}
}

// resolve marks an outage over now: the page, feeds, followers and rooms
// then say "Resolved" with the time.
func (e *Editor) resolve(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	a, ok := e.announcement(w, r, b)
	if !ok {
		return
	}
	to := fmt.Sprintf("/edit/%s/%d", b.Name, a.ID)
	if _, err := e.svc.ResolveOutage(r.Context(), s.actor(), b, a.ID); err != nil {
		var ve *board.ValidationError
		if errors.As(err, &ve) {
			e.refusalRedirect(w, r, to, requestLocale(r).T("editor.not_changed", explain(requestLocale(r), err)))
			return
		}
		e.formErrors(w, r, err)
		return
	}
	e.flashRedirect(w, r, to, requestLocale(r).T("editor.resolved", a.Title))
}

// reannounce posts an outage notice again (board.Service.Reannounce) and
// opens the fresh post.
func (e *Editor) reannounce(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	a, ok := e.announcement(w, r, b)
	if !ok {
		return
	}
	fresh, err := e.svc.Reannounce(r.Context(), s.actor(), b, a.ID)
	if err != nil {
		var ve *board.ValidationError
		if errors.As(err, &ve) {
			e.refusalRedirect(w, r, fmt.Sprintf("/edit/%s/%d", b.Name, a.ID), requestLocale(r).T("editor.not_changed", explain(requestLocale(r), err)))
			return
		}
		e.formErrors(w, r, err)
		return
	}
	e.flashRedirect(w, r, fmt.Sprintf("/edit/%s/%d", b.Name, fresh.ID), requestLocale(r).T("editor.reannounced", a.Title))
}

// cancelTraining cancels a training or a planned outage (or calls the
// cancellation off).
func (e *Editor) cancelTraining(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	a, ok := e.announcement(w, r, b)
	if !ok {
		return
	}
	cancel := r.PostFormValue("cancelled") != "false"
	to := fmt.Sprintf("/edit/%s/%d", b.Name, a.ID)
	if _, err := e.svc.Cancel(r.Context(), s.actor(), b, a.ID, cancel); err != nil {
		var ve *board.ValidationError
		if errors.As(err, &ve) || errors.Is(err, board.ErrForbidden) {
			e.refusalRedirect(w, r, to, requestLocale(r).T("editor.not_changed", explain(requestLocale(r), err)))
			return
		}
		e.formErrors(w, r, err)
		return
	}
	key := "editor.uncancelled"
	switch {
	case a.Kind == board.KindOutage && cancel:
		key = "editor.outage_called_off"
	case a.Kind == board.KindOutage:
		key = "editor.outage_back_on"
	case cancel:
		key = "editor.cancelled"
	}
	e.flashRedirect(w, r, to, requestLocale(r).T(key, a.Title))
}

// explain says why a button's action was refused, in l's words: the
// problems of a refused change, or what else the service said no to.
func explain(l locale.Locale, err error) string {
	var ve *board.ValidationError
	var unknown *board.UnknownRoleError
	var forbidden *board.ForbiddenError
	switch {
	case errors.As(err, &ve):
		var parts []string
		for _, field := range slices.Sorted(maps.Keys(ve.Fields)) {
			parts = append(parts, l.Problem(ve.Fields[field]))
		}
		return strings.Join(parts, " ")
	case errors.As(err, &unknown):
		return l.Problem(board.Problemf("problem.unknown_role", unknown.Role))
	case errors.As(err, &forbidden) && forbidden.Say != "":
		return l.T(forbidden.Say)
	case errors.Is(err, board.ErrForbidden):
		return l.T("editor.p.forbidden")
	case errors.Is(err, board.ErrCallClosed):
		return l.T("signup.closed")
	}
	var np *board.NotPendingError
	if errors.As(err, &np) {
		return l.Problem(board.Problemf("problem.not_pending", strings.ToLower(l.T("editor.status_"+string(np.Status)))))
	}
	return l.T("page.error_text")
}
