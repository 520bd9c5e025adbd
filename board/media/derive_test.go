package media

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func TestCardIsCoverCroppedJPEGKeptOnce(t *testing.T) {
	ctx := context.Background()
	d := Dir(t.TempDir())
	// A tall picture: red left half, blue right half. Cover-cropping to
	// 1200x630 keeps both halves and cuts the top and bottom.
	im, err := d.Keep(ctx, photo(t, 400, 800, 1))
	if err != nil {
		t.Fatal(err)
	}
	data, err := d.Card(ctx, im.ID)
	if err != nil {
		t.Fatal(err)
	}
	img, format, err := image.Decode(bytes.NewReader(data))
	if err != nil || format != "jpeg" {
		t.Fatalf("card: %s %v", format, err)
	}
	if b := img.Bounds(); b.Dx() != CardWidth || b.Dy() != CardHeight {
		t.Fatalf("card is %v, want %dx%d", b, CardWidth, CardHeight)
	}
	// Filled, not letter-boxed: the corners are the picture's colours.
	if r, _, bl, _ := img.At(10, 10).RGBA(); r>>8 < 150 || bl>>8 > 60 {
		t.Errorf("top-left corner %v, want the picture's red", img.At(10, 10))
	}
	if r, _, bl, _ := img.At(CardWidth-10, CardHeight-10).RGBA(); bl>>8 < 150 || r>>8 > 60 {
		t.Errorf("bottom-right corner %v, want the picture's blue", img.At(CardWidth-10, CardHeight-10))
	}
	// Kept: a second call reads the file, even with the source gone.
	path := filepath.Join(string(d), derivedDir, CardName(im.ID))
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("card not kept: %v", err)
	}
	if err := os.Remove(filepath.Join(string(d), im.ID)); err != nil {
		t.Fatal(err)
	}
	again, err := d.Card(ctx, im.ID)
	if err != nil || !bytes.Equal(again, data) {
		t.Fatalf("second card differs (%v)", err)
	}
	if _, err := d.Card(ctx, "../etc/passwd"); !errors.Is(err, ErrNoPicture) {
		t.Errorf("a name Process does not make: %v", err)
	}
}

func TestLogoIconFitsOnWhite(t *testing.T) {
	ctx := context.Background()
	d := Dir(t.TempDir())
	// A wide transparent logo with a green bar across its middle.
	logo := image.NewNRGBA(image.Rect(0, 0, 300, 100))
	for x := range 300 {
		for y := 40; y < 60; y++ {
			logo.Set(x, y, color.NRGBA{0, 160, 0, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, logo); err != nil {
		t.Fatal(err)
	}
	im, err := d.Keep(ctx, buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{400, 180, 48} {
		data, err := d.LogoIcon(ctx, im.ID, size)
		if err != nil {
			t.Fatal(err)
		}
		img, format, err := image.Decode(bytes.NewReader(data))
		if err != nil || format != "png" {
			t.Fatalf("%d: %s %v", size, format, err)
		}
		if b := img.Bounds(); b.Dx() != size || b.Dy() != size {
			t.Fatalf("icon %v, want %dx%d", b, size, size)
		}
		white := func(x, y int) bool {
			r, g, b, a := img.At(x, y).RGBA()
			return r>>8 > 245 && g>>8 > 245 && b>>8 > 245 && a>>8 == 255
		}
		if !white(1, 1) || !white(size/2, size/5) || !white(1, size/2) {
			t.Errorf("%d: the margins and the logo's transparent parts are not white", size)
		}
		if r, g, _, _ := img.At(size/2, size/2).RGBA(); g>>8 < 120 || r>>8 > 60 {
			t.Errorf("%d: centre %v, want the logo's green", size, img.At(size/2, size/2))
		}
	}
}

func TestGeneratedIconIsTheAccentWithALetter(t *testing.T) {
	accent := [3]uint8{0x1d, 0x4e, 0xd8}
	data, err := GeneratedIcon(accent, "C", 180)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 180 || b.Dy() != 180 {
		t.Fatalf("icon %v", b)
	}
	if c := color.NRGBAModel.Convert(img.At(2, 2)).(color.NRGBA); c != (color.NRGBA{0x1d, 0x4e, 0xd8, 255}) {
		t.Errorf("corner %v, want the accent", c)
	}
	var whites int
	for y := range 180 {
		for x := range 180 {
			if c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA); c.R > 240 && c.G > 240 && c.B > 240 {
				whites++
			}
		}
	}
	if whites < 500 {
		t.Errorf("%d white pixels: no letter drawn", whites)
	}
}
