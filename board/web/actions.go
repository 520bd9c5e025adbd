package web

// The buttons of an announcement's edit page: approve, close or reopen
// sign-ups, mark an outage resolved, cancel a training, record what a
// campaign raised, take a sign-up by phone or remove one, download them.

import (
	"errors"
	"fmt"
	"net/http"
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
	v, err := parseAmount(r.PostFormValue("raised"))
	if err != nil {
		e.flashRedirect(w, r, to, "Not changed: write an amount, like 1240 or 1240.50.")
		return
	}
	saved, err := e.svc.SetRaised(r.Context(), s.actor(), b, a.ID, v)
	if err != nil {
		e.flashRedirect(w, r, to, "Not changed: "+err.Error())
		return
	}
	msg := "Raised so far: " + locale.For("en").InZone(b.Location()).Facts(saved)[0].Value + ". The page shows it now; followers and rooms within a few minutes."
	e.flashRedirect(w, r, to, msg)
}

// approve publishes what another publisher asked to publish.
func (e *Editor) approve(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	a, ok := e.announcement(w, r, b)
	if !ok {
		return
	}
	saved, err := e.svc.Approve(r.Context(), s.actor(), b, a.ID)
	if err != nil {
		var ve *board.ValidationError
		if errors.As(err, &ve) || errors.Is(err, board.ErrForbidden) {
			e.flashRedirect(w, r, fmt.Sprintf("/edit/%s/%d", b.Name, a.ID), "Not approved: "+strings.TrimPrefix(err.Error(), "invalid announcement: "))
			return
		}
		e.formErrors(w, r, err)
		return
	}
	e.flashRedirect(w, r, "/edit", "Approved. "+e.saved(b, saved))
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
	writeSignupsCSV(w, r, e.log, a.ID, list)
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
	name, contact, role := strings.TrimSpace(r.PostFormValue("name")), strings.TrimSpace(r.PostFormValue("contact")), r.PostFormValue("role")
	errs := map[string]string{}
	board.CheckText(errs, "name", name, 100, true)
	board.CheckText(errs, "contact", contact, 200, false)
	if len(errs) > 0 {
		e.backToCall(w, r, b, a.ID, "Not added: the name "+errs["name"]+errs["contact"])
		return
	}
	res, err := e.svc.SignUp(r.Context(), b, a.ID, board.PhonePerson(name, contact), []string{role})
	switch {
	case err != nil:
		e.backToCall(w, r, b, a.ID, "Not added: "+err.Error())
	case len(res.Full) > 0:
		e.backToCall(w, r, b, a.ID, "Not added: "+role+" is full.")
	case len(res.Waiting) > 0:
		e.backToCall(w, r, b, a.ID, name+" is on the waiting list for "+role+".")
	default:
		e.backToCall(w, r, b, a.ID, name+" is signed up as "+role+".")
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
	e.backToCall(w, r, b, a.ID, "Sign-up removed; the waiting list, if any, moved up.")
}

func (e *Editor) setClosed(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	a, ok := e.announcement(w, r, b)
	if !ok {
		return
	}
	closed := r.PostFormValue("closed") == "true"
	if _, err := e.svc.SetClosed(r.Context(), s.actor(), b, a.ID, closed); err != nil {
		e.backToCall(w, r, b, a.ID, "Not changed: "+err.Error())
		return
	}
	if closed {
		e.backToCall(w, r, b, a.ID, "Sign-ups are closed.")
	} else {
		e.backToCall(w, r, b, a.ID, "Sign-ups are open again.")
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
			e.flashRedirect(w, r, to, "Not changed: "+err.Error())
			return
		}
		e.formErrors(w, r, err)
		return
	}
	e.flashRedirect(w, r, to, "Marked resolved: "+a.Title+". The page, the feeds, followers and rooms now say so.")
}

// cancelTraining cancels a training (or calls the cancellation off).
func (e *Editor) cancelTraining(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	a, ok := e.announcement(w, r, b)
	if !ok {
		return
	}
	cancel := r.PostFormValue("cancelled") != "false"
	to := fmt.Sprintf("/edit/%s/%d", b.Name, a.ID)
	if _, err := e.svc.CancelTraining(r.Context(), s.actor(), b, a.ID, cancel); err != nil {
		var ve *board.ValidationError
		if errors.As(err, &ve) || errors.Is(err, board.ErrForbidden) {
			e.flashRedirect(w, r, to, "Not changed: "+strings.TrimPrefix(err.Error(), "invalid announcement: "))
			return
		}
		e.formErrors(w, r, err)
		return
	}
	if cancel {
		e.flashRedirect(w, r, to, "Cancelled: "+a.Title+". The page, the feeds, followers and rooms now say so; registrants on the fediverse were told, and no reminder will go out.")
		return
	}
	e.flashRedirect(w, r, to, "No longer cancelled: "+a.Title+". Registration is open again.")
}
