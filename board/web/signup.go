package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"crieur/board"
	"crieur/board/locale"
)

// signupForm is the sign-up block of a call's or a training's page.
type signupForm struct {
	Open, Multiple bool
	// Full: a training with no seat left and no waiting list.
	Full bool
	// Training forms have one option: registering, with the seats left.
	Training      bool
	Seats         string
	Action, Key   string
	Roles         []signupRole
	Name, Contact string
	Notice, Error string
	WithdrawURL   string
}

type signupRole struct {
	Name, State       string
	Disabled, Checked bool
}

func (p *Pages) signupForm(ctx context.Context, a board.Announcement, l locale.Locale) *signupForm {
	if !a.TakesSignups() || p.signups == nil {
		return nil
	}
	c := a.Call
	key, err := p.keys.issue(ctx, a.ID, time.Now())
	if err != nil {
		// Sent without a key, the form is answered "fill it in again".
		p.log.ErrorContext(ctx, "sign-up form key", "err", err)
	}
	// The answer comes back in the language the page was read in.
	f := &signupForm{Open: a.SignupsOpen(time.Now()), Multiple: c.Multiple, Action: p.links.AnnouncementURL(a.Board, a.ID) + "/signup?lang=" + l.Lang(), Key: key,
		Training: a.Kind == board.KindTraining}
	if f.Training {
		f.Seats = l.Seats(a)
		f.Full = c.PlacesLeft(board.TrainingRole) == 0 && !c.Waitlist
	}
	for _, r := range c.Roles {
		left := c.PlacesLeft(r.Name)
		sr := signupRole{Name: r.Name, State: l.T("signup.left", left, r.Places)}
		if left == 0 {
			sr.State, sr.Disabled = l.T("signup.full"), !c.Waitlist
			if c.Waitlist {
				sr.State = l.T("signup.full_waitlist")
			}
		}
		f.Roles = append(f.Roles, sr)
	}
	return f
}

// SignUp takes the call page's form: a name, an optional contact and the
// role(s). The form's key makes a double click one sign-up.
func (p *Pages) SignUp(w http.ResponseWriter, r *http.Request, b board.Board, a board.Announcement) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	l := boardLocale(r, b)
	if crossSite(r) {
		errorPage(w, r, http.StatusForbidden, "signup.not_done", "signup.not_here")
		return
	}
	f := p.signupForm(r.Context(), a, l)
	if a.DeletedAt != nil || f == nil {
		NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		f.Error = l.T("signup.too_large")
		p.renderAnnouncement(w, r, http.StatusRequestEntityTooLarge, b, a, f)
		return
	}
	f.Name, f.Contact = strings.TrimSpace(r.PostFormValue("name")), strings.TrimSpace(r.PostFormValue("contact"))
	roles := r.PostForm["role"]
	for i := range f.Roles {
		f.Roles[i].Checked = slices.Contains(roles, f.Roles[i].Name)
	}
	key := r.PostFormValue("key")
	keyOK, err := p.keys.valid(r.Context(), key, a.ID, time.Now())
	if err != nil {
		serverError(w, r, p.log, err)
		return
	}
	errs := board.Problems{}
	board.CheckText(errs, "name", f.Name, 100, true)
	board.CheckText(errs, "contact", f.Contact, 200, false)
	switch {
	case f.Name == "":
		f.Error = l.T("signup.name_required")
	case len(errs) > 0:
		f.Error = l.T("signup.bad_text")
	case len(roles) == 0 && a.Kind == board.KindTraining:
		roles = []string{board.TrainingRole} // the form's one option
	case len(roles) == 0:
		f.Error = l.T("signup.choose_role")
	case !keyOK:
		f.Error = l.T("signup.form_expired") // f has a fresh key
	}
	if f.Error != "" {
		p.renderAnnouncement(w, r, http.StatusBadRequest, b, a, f)
		return
	}
	if p.signupsAllowed != nil {
		if wait, ok := p.signupsAllowed.Take(p.clients.Network(r), time.Now()); !ok {
			later := board.TryLater{Err: board.ErrTooMany, After: wait}
			f.Error = l.T("signup.too_many", later.Minutes())
			w.Header().Set("Retry-After", strconv.Itoa(later.Seconds()))
			p.renderAnnouncement(w, r, http.StatusTooManyRequests, b, a, f)
			return
		}
	}
	// One form sent twice (a double click, a reload) is one answer; the
	// same form sent again with other roles is another.
	origin := board.Origin{ID: "web:" + key + ":" + strings.Join(slices.Sorted(slices.Values(roles)), "\n")}
	res, err := p.signups.SignUp(r.Context(), b, a.ID, board.Person{Kind: board.PersonWeb, ID: key, Name: f.Name, Contact: f.Contact, Lang: l.Lang()}, roles, origin)
	var unknown *board.UnknownRoleError
	var ve *board.ValidationError
	switch {
	case errors.Is(err, board.ErrCallClosed) && a.Kind == board.KindTraining:
		f.Error, f.Open = l.T("signup.training_closed_now"), false
	case errors.Is(err, board.ErrCallClosed):
		f.Error, f.Open = l.T("signup.call_closed_now"), false
	case errors.As(err, &unknown):
		f.Error = l.T("signup.role_gone")
	case errors.As(err, &ve):
		f.Error = l.T("signup.one_role")
	case errors.Is(err, board.ErrDuplicate):
		f.Error = l.T("signup.duplicate")
	case err != nil:
		serverError(w, r, p.log, err)
		return
	}
	if f.Error != "" {
		p.renderAnnouncement(w, r, http.StatusConflict, b, a, f)
		return
	}
	// Show the page with the new counts and what became of the answer.
	if fresh, err := p.store.Announcement(r.Context(), b.ID, a.ID); err == nil {
		a = fresh
	}
	// The answer's page has a fresh key: whoever signs up from it next (a
	// friend on the same phone, a tablet at a stall) is someone else. The
	// same form sent twice (a double click) still carries the first key.
	out := p.signupForm(r.Context(), a, l)
	var parts []string
	switch {
	case a.Kind != board.KindTraining:
	case len(res.Confirmed) > 0:
		res.Confirmed, parts = nil, append(parts, l.T("signup.registered"))
	case len(res.Waiting) > 0:
		res.Waiting, parts = nil, append(parts, l.T("signup.waiting_training"))
	case len(res.Full) > 0:
		res.Full, parts = nil, append(parts, l.T("signup.last_seat_gone"))
	}
	if len(res.Confirmed) > 0 {
		parts = append(parts, l.T("signup.signed_up", l.JoinAnd(res.Confirmed)))
	}
	if len(res.Waiting) > 0 {
		parts = append(parts, l.T("signup.waiting", l.JoinAnd(res.Waiting)))
	}
	if len(res.Full) > 0 {
		parts = append(parts, l.T("signup.filled_up", l.JoinAnd(res.Full)))
	}
	if len(res.Already) > 0 && !res.Changed() {
		parts = append(parts, l.T("signup.already"))
	}
	out.Notice = strings.Join(parts, " ")
	if !res.Changed() && len(res.Already) == 0 {
		// Nothing taken (the role filled up just before): the person
		// chooses another role without typing it all again.
		out.Name, out.Contact = f.Name, f.Contact
	}
	if res.WithdrawToken != "" {
		out.WithdrawURL = p.links.AnnouncementURL(b.Name, a.ID) + "/withdraw?lang=" + l.Lang() + "&t=" + url.QueryEscape(res.WithdrawToken)
	}
	p.renderAnnouncement(w, r, http.StatusOK, b, a, out)
}

// Withdraw is the private link a volunteer got when signing up: GET asks
// to confirm (a link previewer must not withdraw anyone), POST withdraws.
func (p *Pages) Withdraw(w http.ResponseWriter, r *http.Request, b board.Board, a board.Announcement) {
	token := r.FormValue("t")
	l := boardLocale(r, b)
	data := map[string]any{"Title": l.T("withdraw.title", a.Title), "Call": a.Title, "URL": p.links.AnnouncementURL(b.Name, a.ID), "Token": token, "Board": b, "L": l,
		// The language links keep the private link's token.
		"LangPath": r.URL.Path, "LangToken": token}
	say := func(status int, heading, text string, args ...any) {
		data["Heading"], data["Text"] = l.T(heading), l.T(text, args...)
		p.render(w, r, status, "withdraw", data)
	}
	if a.DeletedAt != nil || !a.TakesSignups() || token == "" || p.signups == nil {
		say(http.StatusNotFound, "withdraw.nothing", "withdraw.nothing_text")
		return
	}
	if r.Method != http.MethodPost {
		// Offer to withdraw only with a link that belongs to a sign-up.
		switch link, err := p.signups.WithdrawLink(r.Context(), b, a.ID, token); {
		case err != nil:
			serverError(w, r, p.log, err)
		case link == board.LinkUnknown:
			say(http.StatusNotFound, "withdraw.nothing", "withdraw.nothing_text")
		case link == board.LinkWithdrawn:
			say(http.StatusOK, "withdraw.already", "withdraw.already_text")
		default:
			data["Form"] = true
			say(http.StatusOK, "withdraw.ask", "withdraw.ask_text", a.Title)
		}
		return
	}
	if crossSite(r) {
		say(http.StatusForbidden, "withdraw.not_done", "withdraw.not_here")
		return
	}
	n, err := p.signups.WithdrawByToken(r.Context(), b, a.ID, token)
	switch {
	case errors.Is(err, board.ErrNotFound):
		say(http.StatusNotFound, "withdraw.nothing", "withdraw.nothing_text")
	case err != nil:
		serverError(w, r, p.log, err)
	case n == 0:
		say(http.StatusOK, "withdraw.already", "withdraw.already_text")
	default:
		say(http.StatusOK, "withdraw.done", "withdraw.done_text")
	}
}
