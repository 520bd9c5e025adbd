// Package media turns an uploaded picture into what Crieur serves and
// sends: decoded by pure Go code only (never an external program), turned
// upright from its EXIF orientation, converted to sRGB, fitted within a
// size every destination accepts, re-encoded without any of its metadata
// (GPS position, camera serial numbers), and summarised as a blurhash that
// Mastodon and Matrix clients show while it loads.
//
// It must not know boards or their rules: it turns bytes into a picture
// and keeps it in a folder; the board service decides what it is for.
package media

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // the formats an upload may be in
	_ "image/jpeg"
	_ "image/png"
	"os"
	"path/filepath"
	"regexp"

	"github.com/buckket/go-blurhash"
	"github.com/kovidgoyal/imaging"

	_ "golang.org/x/image/webp"

	"crieur/board"
)

// Limits on what is accepted and what is kept.
const (
	// MaxUpload is far above a phone's photo (3-6 MB).
	MaxUpload = 16 << 20
	// maxPixels refuses a picture that would take gigabytes to decode
	// (a "decompression bomb" of a few kilobytes).
	maxPixels = 50_000_000
	// MaxSide is the longest side kept: what Mastodon keeps, and enough
	// for any screen a notice is read on.
	MaxSide = 1920
)

// ErrNotAnImage is a file that is not a JPEG, PNG, GIF or WebP picture.
var ErrNotAnImage = errors.New("this is not a picture Crieur can read: send a JPEG, PNG, GIF or WebP image")

// Picture is a processed upload, ready to be stored.
type Picture struct {
	Name      string // content hash and extension: the file's name, and its id
	MediaType string
	Width     int
	Height    int
	Blurhash  string
	Data      []byte
}

// invalid is the uploader's mistake, said on the picture's field.
func invalid(key string, args ...any) error {
	return &board.ValidationError{Fields: board.Problems{"file": board.Problemf(key, args...)}, What: "picture"}
}

// Process reads an upload and makes the picture Crieur keeps.
func Process(upload []byte) (Picture, error) {
	return process(context.Background(), nil, upload)
}

// process is Process within budget (none: no limit but the picture's).
func process(ctx context.Context, budget *Budget, upload []byte) (Picture, error) {
	if len(upload) > MaxUpload {
		return Picture{}, invalid("problem.picture_too_big", len(upload)>>20, MaxUpload>>20)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(upload))
	if err != nil {
		return Picture{}, ErrNotAnImage
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxPixels {
		return Picture{}, invalid("problem.picture_too_many_pixels", cfg.Width, cfg.Height, maxPixels/1_000_000)
	}
	cost := decodeCost(cfg)
	if cost > maxDecodeBytes {
		// Deep colours (16 bits a channel) take twice the memory a pixel.
		return Picture{}, invalid("problem.picture_too_heavy", cfg.Width, cfg.Height, cost/1_000_000, maxDecodeBytes/(int64(bytesPerPixel(cfg.ColorModel))+4)/1_000_000)
	}
	if budget != nil {
		release, err := budget.acquire(ctx, cost)
		if err != nil {
			return Picture{}, err
		}
		defer release()
	}
	img, err := imaging.Decode(bytes.NewReader(upload), imaging.Backends(imaging.GO_IMAGE), imaging.AutoOrientation(true))
	if err != nil || img == nil {
		return Picture{}, ErrNotAnImage
	}
	if b := img.Bounds(); b.Dx() > MaxSide || b.Dy() > MaxSide {
		img = imaging.Fit(img, MaxSide, MaxSide, imaging.Lanczos)
	}
	// Photos as JPEG; anything with transparency (a logo) as PNG.
	format, mediaType, ext := imaging.JPEG, "image/jpeg", ".jpg"
	if !imaging.IsOpaque(img) {
		format, mediaType, ext = imaging.PNG, "image/png", ".png"
	}
	var out bytes.Buffer
	if err := imaging.Encode(&out, img, format, imaging.JPEGQuality(85)); err != nil {
		return Picture{}, fmt.Errorf("encode picture: %w", err)
	}
	// A blurhash needs only the colours: computed on a thumbnail, it
	// costs a millisecond instead of a second.
	hash, err := blurhash.Encode(4, 3, imaging.Fit(img, 64, 64, imaging.Box))
	if err != nil {
		return Picture{}, fmt.Errorf("blurhash: %w", err)
	}
	sum := sha256.Sum256(out.Bytes())
	b := img.Bounds()
	return Picture{Name: hex.EncodeToString(sum[:]) + ext, MediaType: mediaType, Width: b.Dx(), Height: b.Dy(), Blurhash: hash, Data: out.Bytes()}, nil
}

var nameRe = regexp.MustCompile(`^[0-9a-f]{64}\.(jpg|png)$`)

// ValidName says whether name is one Process makes: nothing else is ever
// read from the media folder.
func ValidName(name string) bool { return nameRe.MatchString(name) }

// TypeOf is the media type of a valid name.
func TypeOf(name string) string {
	if filepath.Ext(name) == ".png" {
		return "image/png"
	}
	return "image/jpeg"
}

// Dir is the folder the pictures live in.
type Dir string

// Save writes p, once: the same picture uploaded twice is one file.
func (d Dir) Save(p Picture) error {
	if err := os.MkdirAll(string(d), 0o755); err != nil {
		return fmt.Errorf("media folder: %w", err)
	}
	path := filepath.Join(string(d), p.Name)
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	tmp, err := os.CreateTemp(string(d), ".upload-*")
	if err != nil {
		return fmt.Errorf("save picture: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(p.Data); err != nil {
		tmp.Close()
		return fmt.Errorf("save picture: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save picture: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save picture: %w", err)
	}
	return nil
}

// Read returns the bytes of a stored picture.
func (d Dir) Read(name string) ([]byte, error) {
	if !ValidName(name) {
		return nil, os.ErrNotExist
	}
	return os.ReadFile(filepath.Join(string(d), name))
}

// Path is where a stored picture is, for serving it.
func (d Dir) Path(name string) (string, bool) {
	if !ValidName(name) {
		return "", false
	}
	return filepath.Join(string(d), name), true
}

// Keep processes an upload and saves it: what board.Service.Upload needs
// of a picture folder (board.Pictures). A picture that cannot be read is
// the uploader's mistake, a *board.ValidationError on the file.
func (d Dir) Keep(ctx context.Context, data []byte) (board.Image, error) {
	return d.keep(ctx, nil, data)
}

func (d Dir) keep(ctx context.Context, budget *Budget, data []byte) (board.Image, error) {
	p, err := process(ctx, budget, data)
	if errors.Is(err, ErrNotAnImage) {
		err = invalid("problem.not_an_image")
	}
	if err != nil {
		return board.Image{}, err
	}
	if err := d.Save(p); err != nil {
		return board.Image{}, err
	}
	return board.Image{ID: p.Name, MediaType: p.MediaType, Width: p.Width, Height: p.Height, Blurhash: p.Blurhash, Size: len(p.Data)}, nil
}
