package board

import (
	"context"
	"errors"
	"time"
)

// Pictures keeps the pictures editors upload (the media package's folder).
type Pictures interface {
	// Keep processes an upload (turned upright, resized, stripped of its
	// metadata) and keeps it; a picture it cannot read is a
	// *ValidationError; a server busy reading others is a *TryLater.
	Keep(ctx context.Context, data []byte) (Image, error)
	Read(name string) ([]byte, error)
}

// ErrNoMedia is an upload to a server that keeps no pictures.
var ErrNoMedia = errors.New("this server has no folder for pictures")

// Upload processes a picture for board b and keeps it. The Image it
// returns has no description yet; an announcement gives it one.
func (s *Service) Upload(ctx context.Context, b Board, data []byte) (Image, error) {
	if s.pictures == nil {
		return Image{}, ErrNoMedia
	}
	im, err := s.pictures.Keep(ctx, data)
	if err != nil {
		return Image{}, err
	}
	return im, s.repo.AddMedia(ctx, b.ID, im, time.Now())
}

// MediaFile returns the bytes of a board's picture, for destinations that
// upload it elsewhere (a Matrix homeserver).
func (s *Service) MediaFile(ctx context.Context, b Board, name string) ([]byte, error) {
	if _, err := s.repo.Media(ctx, b.ID, name); err != nil {
		return nil, err
	}
	if s.pictures == nil {
		return nil, ErrNoMedia
	}
	return s.pictures.Read(name)
}
