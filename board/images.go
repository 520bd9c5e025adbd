package board

import (
	"context"
	"errors"
	"net/http"
	"os"
	"time"

	"crieur/board/media"
)

// SetMediaDir is the folder uploaded pictures are kept in.
func (s *Service) SetMediaDir(dir string) { s.media = media.Dir(dir) }

// ErrNoMedia is an upload to a server that keeps no pictures.
var ErrNoMedia = errors.New("this server has no folder for pictures")

// Upload processes a picture for board b and keeps it: turned upright,
// resized, stripped of its metadata. The Image it returns has no
// description yet; an announcement gives it one.
func (s *Service) Upload(ctx context.Context, b Board, data []byte) (Image, error) {
	if s.media == "" {
		return Image{}, ErrNoMedia
	}
	p, err := media.Process(data)
	if err != nil {
		return Image{}, &ValidationError{Fields: map[string]string{"file": err.Error()}, What: "picture"}
	}
	if err := s.media.Save(p); err != nil {
		return Image{}, err
	}
	im := Image{ID: p.Name, MediaType: p.MediaType, Width: p.Width, Height: p.Height, Blurhash: p.Blurhash, Size: len(p.Data)}
	return im, s.store.addMedia(ctx, b.ID, im, time.Now())
}

// MediaFile returns the bytes of a board's picture, for destinations that
// upload it elsewhere (a Matrix homeserver).
func (s *Service) MediaFile(ctx context.Context, b Board, name string) ([]byte, error) {
	if _, err := s.store.Media(ctx, b.ID, name); err != nil {
		return nil, err
	}
	return s.media.Read(name)
}

// Media serves a board's picture. Its name is its content's hash, so it
// never changes: browsers and servers may keep it for a year.
func (p *Pages) Media(w http.ResponseWriter, r *http.Request, b Board) {
	name := r.PathValue("name")
	if p.svc == nil || !media.ValidName(name) {
		NotFound(w, r)
		return
	}
	if _, err := p.store.Media(r.Context(), b.ID, name); err != nil {
		NotFound(w, r)
		return
	}
	path, _ := p.svc.media.Path(name)
	f, err := os.Open(path)
	if err != nil {
		NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", media.TypeOf(name))
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	w.Header().Set("ETag", `"`+name[:16]+`"`)
	http.ServeContent(w, r, "", st.ModTime(), f)
}
