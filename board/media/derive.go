package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kovidgoyal/imaging"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// The link preview's picture: the size Facebook, Mastodon and most chat
// clients crop their large cards to (1.91:1); a picture already this
// shape is shown whole.
const (
	CardWidth  = 1200
	CardHeight = 630
)

// derivedDir is where pictures made from uploads are kept, beside them:
// they are made once, then read.
const derivedDir = "derived"

// ErrNoPicture is a derivative asked of a picture the folder lacks.
var ErrNoPicture = errors.New("no such picture")

// CardName is the file name of a picture's link-preview derivative: the
// upload's hash, so its address never changes and may be cached a year.
func CardName(name string) string {
	return strings.TrimSuffix(name, filepath.Ext(name)) + ".card.jpg"
}

// Card returns the link-preview derivative of the stored picture name:
// CardWidth×CardHeight, cover-cropped (filled, centred; the parts past
// the card's shape are cut off), JPEG. It is made the first time it is
// asked for and kept.
func (d Dir) Card(ctx context.Context, name string) ([]byte, error) {
	return d.derive(ctx, name, CardName(name), func(img image.Image) ([]byte, error) {
		// JPEG has no transparency: a transparent logo goes on white,
		// not on the black its empty pixels would turn into.
		card := imaging.Fill(onWhite(img), CardWidth, CardHeight, imaging.Center, imaging.Lanczos)
		var out bytes.Buffer
		if err := imaging.Encode(&out, card, imaging.JPEG, imaging.JPEGQuality(85)); err != nil {
			return nil, fmt.Errorf("encode card: %w", err)
		}
		return out.Bytes(), nil
	})
}

// LogoIcon returns a size×size PNG of the stored picture name fitted
// within the square (a margin kept, as avatars are cropped to circles)
// and centred on white: logos are drawn for white paper. Kept once made.
func (d Dir) LogoIcon(ctx context.Context, name string, size int) ([]byte, error) {
	if size < 16 || size > 1024 {
		return nil, fmt.Errorf("icon size %d: between 16 and 1024", size)
	}
	out := strings.TrimSuffix(name, filepath.Ext(name)) + ".icon-" + strconv.Itoa(size) + ".png"
	return d.derive(ctx, name, out, func(img image.Image) ([]byte, error) {
		inner := size * 84 / 100
		fitted := imaging.Fit(img, inner, inner, imaging.Lanczos)
		if b := fitted.Bounds(); b.Dx() < inner && b.Dy() < inner {
			// A logo smaller than the square is enlarged to fill it.
			fitted = imaging.Resize(img, inner*b.Dx()/max(b.Dx(), b.Dy()), inner*b.Dy()/max(b.Dx(), b.Dy()), imaging.Lanczos)
		}
		sq := imaging.New(size, size, color.White)
		sq = imaging.PasteCenter(sq, onWhite(fitted))
		return encodePNG(sq)
	})
}

// GeneratedIcon is a board's avatar when it has no logo: a size×size
// square of its accent with its initial in white (the accent passes
// WCAG AA against white, so the letter is readable).
func GeneratedIcon(accent [3]uint8, initial string, size int) ([]byte, error) {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.NRGBA{accent[0], accent[1], accent[2], 255}), image.Point{}, draw.Src)
	if initial != "" {
		f, err := opentype.Parse(gobold.TTF)
		if err != nil {
			return nil, fmt.Errorf("icon font: %w", err)
		}
		face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: float64(size) * 0.6, DPI: 72, Hinting: font.HintingFull})
		if err != nil {
			return nil, fmt.Errorf("icon font: %w", err)
		}
		defer face.Close()
		dr := &font.Drawer{Dst: img, Src: image.White, Face: face}
		bounds, _ := dr.BoundString(initial)
		w, h := bounds.Max.X-bounds.Min.X, bounds.Max.Y-bounds.Min.Y
		// Centre the letter's ink, not its advance box.
		dr.Dot = fixed.Point26_6{X: fixed.I(size)/2 - w/2 - bounds.Min.X, Y: fixed.I(size)/2 - h/2 - bounds.Min.Y}
		dr.DrawString(initial)
	}
	return encodePNG(img)
}

func encodePNG(img image.Image) ([]byte, error) {
	var out bytes.Buffer
	if err := imaging.Encode(&out, img, imaging.PNG); err != nil {
		return nil, fmt.Errorf("encode icon: %w", err)
	}
	return out.Bytes(), nil
}

// onWhite flattens img's transparency onto white.
func onWhite(img image.Image) image.Image {
	if imaging.IsOpaque(img) {
		return img
	}
	b := img.Bounds()
	bg := imaging.New(b.Dx(), b.Dy(), color.White)
	return imaging.Overlay(bg, img, image.Point{}, 1)
}

// derive returns the file out made from the stored picture name by make,
// making and keeping it the first time. Two requests at once may both
// make it: the rename makes the last one win, with the same bytes.
func (d Dir) derive(ctx context.Context, name, out string, make func(image.Image) ([]byte, error)) ([]byte, error) {
	if !ValidName(name) {
		return nil, ErrNoPicture
	}
	path := filepath.Join(string(d), derivedDir, out)
	if data, err := os.ReadFile(path); err == nil {
		return data, nil
	}
	src, err := d.Read(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", name, ErrNoPicture)
	}
	if err != nil {
		return nil, fmt.Errorf("read picture: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// What is stored was made by Process: a size decoded once already.
	img, err := imaging.Decode(bytes.NewReader(src), imaging.Backends(imaging.GO_IMAGE))
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", name, err)
	}
	data, err := make(img)
	if err != nil {
		return nil, err
	}
	if err := writeOnce(filepath.Dir(path), filepath.Base(path), data); err != nil {
		return nil, err
	}
	return data, nil
}

// writeOnce writes data to dir/name through a temporary file, so a reader
// never sees half a picture.
func writeOnce(dir, name string, data []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("derived pictures' folder: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".derive-*")
	if err != nil {
		return fmt.Errorf("save derived picture: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("save derived picture: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save derived picture: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("save derived picture: %w", err)
	}
	return nil
}
