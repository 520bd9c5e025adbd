package api

import (
	"net/http"

	"crieur/board"
	"crieur/board/httpx"
)

// boardSettings is a board as its settings show it: what was chosen, and
// the accent pages use (the chosen one, or the default made readable).
type boardSettings struct {
	board.Board
	AccentShown string `json:"accent_shown"`
	Approval    bool   `json:"approval"`
}

func settingsOf(b board.Board) boardSettings {
	return boardSettings{Board: b, AccentShown: b.Accent(), Approval: b.Approval}
}

// settingsPatch is what PATCH /api/v1/boards/{board} may change; a field
// left out stays as it is. The logo is the name a picture got from POST
// /api/v1/boards/{board}/media (the same pipeline as an announcement's
// pictures), or "" to go back to the generated icon; the accent is
// #rrggbb, or "" for the one derived from the board's name.
type settingsPatch struct {
	DisplayName *string `json:"display_name"`
	Summary     *string `json:"summary"`
	Language    *string `json:"language"`
	TimeZone    *string `json:"time_zone"`
	Accent      *string `json:"accent"`
	Logo        *string `json:"logo"`
}

func (api *API) getBoard(w http.ResponseWriter, r *http.Request, c call) {
	httpx.JSON(w, http.StatusOK, settingsOf(c.Board))
}

func (api *API) patchBoard(w http.ResponseWriter, r *http.Request, c call) {
	var p settingsPatch
	if err := httpx.DecodeJSON(w, r, &p, httpx.Decoding{Max: 16 << 10, What: "board settings"}); err != nil {
		api.fail(w, r, err)
		return
	}
	b := c.Board
	for _, f := range []struct {
		from *string
		to   *string
	}{{p.DisplayName, &b.DisplayName}, {p.Summary, &b.Summary}, {p.Language, &b.Language}, {p.TimeZone, &b.TimeZone}, {p.Accent, &b.AccentColour}, {p.Logo, &b.Logo}} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	b, err := api.svc.SetBoard(r.Context(), b)
	if err != nil {
		api.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, settingsOf(b))
}
