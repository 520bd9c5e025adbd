package web

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"crieur/board"
	"crieur/board/locale"
)

// settingsForm is what the settings page's fields hold.
type settingsForm struct {
	DisplayName, Summary, Language, TimeZone string
	// Accent is the colour input's value (#rrggbb: it cannot be empty);
	// AccentDefault leaves the colour to Crieur.
	Accent        string
	AccentDefault bool
	Logo          string // the logo's picture name, "" for none
}

func settingsFormOf(b board.Board) settingsForm {
	f := settingsForm{DisplayName: b.DisplayName, Summary: b.Summary, Language: b.Language, TimeZone: b.TimeZone, Accent: b.AccentColour, Logo: b.Logo}
	if f.Accent == "" {
		f.Accent, f.AccentDefault = b.Accent(), true
	}
	if f.Language == "" {
		f.Language = "en"
	}
	return f
}

// settings shows a board's name, summary, language, zone, colour and logo
// (to an editor's token too, read only: a publisher changes them).
func (e *Editor) settings(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	e.renderSettings(w, r, s, b, http.StatusOK, settingsFormOf(b), nil)
}

func (e *Editor) renderSettings(w http.ResponseWriter, r *http.Request, s session, b board.Board, status int, f settingsForm, errs board.Problems) {
	l := e.locale(r, b)
	shown := b
	shown.AccentColour, shown.Logo = "", f.Logo
	if !f.AccentDefault {
		shown.AccentColour = f.Accent
	}
	data := map[string]any{"Title": l.T("editor.title_settings", b.DisplayName), "Board": b, "CSRF": s.csrf(), "Set": f,
		"Shown": b.Accent(), "Errors": problemTexts(l, errs), "Notice": e.flash(w, r), "Publisher": s.token.Role != board.RoleEditor,
		"IconURL": e.links.BoardURL(b.Name) + "/favicon.png?v=" + iconVersion(shown, FaviconSize)}
	if f.Logo != "" {
		// The picture itself: a logo just sent, with the form coming back,
		// is not the board's yet.
		data["LogoURL"] = e.links.BoardURL(b.Name) + board.MediaPath(f.Logo)
	}
	e.render(w, r, status, "edit_settings", data)
}

// problemTexts says each field's problem in l's words, for the page to
// show next to the field (nil: none).
func problemTexts(l locale.Locale, errs board.Problems) map[string]string {
	if len(errs) == 0 {
		return nil
	}
	out := make(map[string]string, len(errs))
	for k, p := range errs {
		out[k] = l.Problem(p)
	}
	return out
}

// saveSettings changes the board's settings from the form; a logo sent
// with it goes through the picture pipeline first and is kept with the
// form when another field needs fixing.
func (e *Editor) saveSettings(w http.ResponseWriter, r *http.Request, s session, b board.Board) {
	f := settingsForm{DisplayName: r.PostFormValue("display_name"), Summary: r.PostFormValue("summary"), Language: r.PostFormValue("language"),
		TimeZone: r.PostFormValue("time_zone"), Accent: strings.TrimSpace(r.PostFormValue("accent")), AccentDefault: r.PostFormValue("accent_default") != "",
		Logo: r.PostFormValue("logo_id")}
	if r.PostFormValue("remove_logo") != "" {
		f.Logo = ""
	}
	errs := board.Problems{}
	if name, problem := e.takeLogo(r, b); problem != nil {
		errs["logo"] = *problem
	} else if name != "" {
		f.Logo = name
	}
	nb := b
	nb.DisplayName, nb.Summary, nb.Language, nb.TimeZone, nb.Logo = f.DisplayName, f.Summary, f.Language, f.TimeZone, f.Logo
	nb.AccentColour = f.Accent
	if f.AccentDefault {
		nb.AccentColour = ""
	}
	if len(errs) == 0 {
		_, err := e.svc.SetBoard(r.Context(), nb)
		var ve *board.ValidationError
		switch {
		case errors.As(err, &ve):
			errs = ve.Fields
		case err != nil:
			serverError(w, r, e.log, err)
			return
		}
	}
	if len(errs) > 0 {
		e.renderSettings(w, r, s, b, http.StatusBadRequest, f, errs)
		return
	}
	e.flashRedirect(w, r, "/edit/"+b.Name+"/settings", e.locale(r, nb).T("editor.settings_saved"))
}

// takeLogo keeps the logo file sent with the form, if any, and returns its
// name, or the problem to show by the logo field.
func (e *Editor) takeLogo(r *http.Request, b board.Board) (string, *board.Problem) {
	file, _, err := r.FormFile("logo")
	if err != nil {
		return "", nil // none sent
	}
	defer file.Close()
	data, err := io.ReadAll(file)
	if err != nil {
		p := board.Problemf("editor.p.picture_unreadable")
		return "", &p
	}
	if len(data) == 0 {
		return "", nil
	}
	im, err := e.svc.Upload(r.Context(), b, data)
	var ve *board.ValidationError
	var later *board.TryLater
	switch {
	case errors.As(err, &ve):
		p, ok := ve.Fields["file"]
		if !ok {
			p = board.Problemf("editor.p.picture_not_kept")
		}
		return "", &p
	case errors.As(err, &later):
		p := board.Problemf(later.Say, later.Seconds())
		return "", &p
	case err != nil:
		e.log.ErrorContext(r.Context(), "editor logo upload", "err", err)
		p := board.Problemf("editor.p.picture_not_kept")
		return "", &p
	}
	return im.ID, nil
}
