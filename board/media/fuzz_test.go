package media

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"testing"

	"crieur/board"
)

// FuzzProcess feeds uploads to the picture pipeline: whatever comes in is
// a picture within the limits, or refused as the uploader's mistake;
// never a panic, never something else.
func FuzzProcess(f *testing.F) {
	small := image.NewNRGBA(image.Rect(0, 0, 8, 6))
	small.Set(1, 1, color.NRGBA{200, 10, 10, 255})
	var p bytes.Buffer
	png.Encode(&p, small)
	f.Add(p.Bytes())
	var g bytes.Buffer
	gif.Encode(&g, small, nil)
	f.Add(g.Bytes())
	f.Add(photo(f, 16, 12, 6))
	f.Add(deepPNG(f, 3, 2))
	f.Add(p.Bytes()[:len(p.Bytes())/2]) // cut short
	f.Add([]byte("GIF89a\x00\x80\x00\x80"))
	f.Fuzz(func(t *testing.T, upload []byte) {
		pic, err := Process(upload)
		var ve *board.ValidationError
		switch {
		case err == nil:
			if pic.Width <= 0 || pic.Height <= 0 || pic.Width > MaxSide || pic.Height > MaxSide || len(pic.Data) == 0 || !ValidName(pic.Name) {
				t.Fatalf("a picture out of bounds: %dx%d %q", pic.Width, pic.Height, pic.Name)
			}
		case errors.Is(err, ErrNotAnImage), errors.As(err, &ve):
		default:
			t.Fatalf("an upload refused with %v", err)
		}
	})
}
