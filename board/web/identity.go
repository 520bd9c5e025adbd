package web

import (
	"bytes"
	"errors"
	"net/http"
	"time"

	"crieur/board"
	"crieur/board/media"
)

// The sizes of a board's icons: what Mastodon shows an avatar at (it
// keeps 400x400), what iOS puts on a home screen, what a browser tab shows
// (48 also serves 32 and 16 screens at 3x and 1.5x).
const (
	AvatarSize    = board.AvatarSize
	TouchIconSize = 180
	FaviconSize   = 48
)

func iconVersion(b board.Board, size int) string { return b.IconVersion(size) }

// iconLinks are the head's links to a board's favicon and touch icon,
// versioned.
func iconLinks(links board.Links, b board.Board) map[string]string {
	base := links.BoardURL(b.Name)
	return map[string]string{
		"Favicon": base + "/favicon.png?v=" + iconVersion(b, FaviconSize),
		"Touch":   base + "/apple-touch-icon.png?v=" + iconVersion(b, TouchIconSize),
	}
}

// CardURL is the address of a picture's link-preview card (its name
// never changes with what it shows: the picture's hash).
func CardURL(links board.Links, boardName, picture string) string {
	return links.BoardURL(boardName) + board.MediaPath(picture) + "/card.jpg"
}

// icon answers a board's square icon of size pixels: its logo fitted on
// white, or its accent with its initial.
func (p *Pages) icon(size int) func(http.ResponseWriter, *http.Request, board.Board) {
	return func(w http.ResponseWriter, r *http.Request, b board.Board) {
		p.serveIcon(w, r, b, size)
	}
}

func (p *Pages) serveIcon(w http.ResponseWriter, r *http.Request, b board.Board, size int) {
	data, err := p.iconOf(r, b, size)
	if err != nil {
		serverError(w, r, p.log, err)
		return
	}
	v := iconVersion(b, size)
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("ETag", `"`+v+`"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.URL.Query().Get("v") == v {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		// The bare address (the actor's icon, /favicon.ico) shows a new
		// logo within the hour; the ETag makes asking again cheap.
		w.Header().Set("Cache-Control", "public, max-age=3600")
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

func (p *Pages) iconOf(r *http.Request, b board.Board, size int) ([]byte, error) {
	if b.Logo != "" && p.media != "" {
		data, err := p.media.LogoIcon(r.Context(), b.Logo, size)
		if err == nil {
			return data, nil
		}
		if !errors.Is(err, media.ErrNoPicture) {
			return nil, err
		}
		// The logo's file is gone (a restore without the media folder):
		// the generated icon, not a broken avatar.
		p.log.WarnContext(r.Context(), "board logo missing; serving the generated icon", "board", b.Name, "logo", b.Logo)
	}
	r0, g0, b0 := b.AccentRGB()
	return media.GeneratedIcon([3]uint8{r0, g0, b0}, b.Initial(), size)
}

// Favicon answers /favicon.ico, which browsers ask for on every page of
// the server whatever the page says: the first board's favicon, as PNG
// (every browser reads a PNG at this address).
func (p *Pages) Favicon(w http.ResponseWriter, r *http.Request) {
	boards, err := p.store.Boards(r.Context())
	if err != nil {
		serverError(w, r, p.log, err)
		return
	}
	if len(boards) == 0 {
		NotFound(w, r)
		return
	}
	p.serveIcon(w, r, boards[0], FaviconSize)
}

// Card serves a picture's link-preview card: made the first time, kept,
// and at an address that never changes what it shows.
func (p *Pages) Card(w http.ResponseWriter, r *http.Request, b board.Board) {
	name := r.PathValue("name")
	if p.media == "" || !media.ValidName(name) {
		NotFound(w, r)
		return
	}
	if _, err := p.store.Media(r.Context(), b.ID, name); err != nil {
		NotFound(w, r)
		return
	}
	data, err := p.media.Card(r.Context(), name)
	if errors.Is(err, media.ErrNoPicture) {
		NotFound(w, r)
		return
	}
	if err != nil {
		serverError(w, r, p.log, err)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	w.Header().Set("ETag", `"card-`+name[:16]+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}
