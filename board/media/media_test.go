package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"testing"
)

// exifSegment is an APP1 segment with an orientation tag and a GPS IFD
// holding a latitude reference, the way a phone writes them.
func exifSegment(orientation uint16) []byte {
	var t bytes.Buffer
	le := binary.LittleEndian
	t.WriteString("II")
	binary.Write(&t, le, uint16(42))
	binary.Write(&t, le, uint32(8)) // IFD0 at 8
	// IFD0: two entries: Orientation, GPS IFD pointer.
	binary.Write(&t, le, uint16(2))
	binary.Write(&t, le, []uint16{0x0112, 3})
	binary.Write(&t, le, uint32(1))
	binary.Write(&t, le, []uint16{orientation, 0})
	binary.Write(&t, le, []uint16{0x8825, 4})
	binary.Write(&t, le, uint32(1))
	binary.Write(&t, le, uint32(8+2+2*12+4)) // GPS IFD right after IFD0
	binary.Write(&t, le, uint32(0))
	// GPS IFD: GPSLatitudeRef "N".
	binary.Write(&t, le, uint16(1))
	binary.Write(&t, le, []uint16{0x0001, 2})
	binary.Write(&t, le, uint32(2))
	t.Write([]byte{'N', 0, 0, 0})
	binary.Write(&t, le, uint32(0))
	payload := append([]byte("Exif\x00\x00"), t.Bytes()...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(seg, payload...)
}

// photo is a w×h JPEG, left half red and right half blue, with EXIF.
func photo(t testing.TB, w, h int, orientation uint16) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{200, 0, 0, 255}
			if x >= w/2 {
				c = color.RGBA{0, 0, 200, 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	return append(append(append([]byte{}, b[:2]...), exifSegment(orientation)...), b[2:]...) // after SOI
}

func TestProcessUprightsStripsAndFits(t *testing.T) {
	in := photo(t, 400, 200, 6) // "rotate 90° clockwise to view"
	if !bytes.Contains(in, []byte("Exif")) {
		t.Fatal("the test photo has no EXIF")
	}
	p, err := Process(in)
	if err != nil {
		t.Fatal(err)
	}
	if p.Width != 200 || p.Height != 400 {
		t.Errorf("a sideways photo came out %d×%d, want it upright (200×400)", p.Width, p.Height)
	}
	if bytes.Contains(p.Data, []byte("Exif")) || bytes.Contains(p.Data, []byte("II*\x00")) {
		t.Error("the stored picture still carries EXIF (and its GPS position)")
	}
	out, err := jpeg.Decode(bytes.NewReader(p.Data))
	if err != nil || p.MediaType != "image/jpeg" {
		t.Fatalf("stored picture: %v %s", err, p.MediaType)
	}
	// Turned clockwise: the left (red) half is now on top.
	if r, _, b, _ := out.At(100, 50).RGBA(); r < b {
		t.Error("the picture was turned the wrong way: blue on top")
	}
	if len(p.Blurhash) < 6 || !ValidName(p.Name) {
		t.Errorf("blurhash %q, name %q", p.Blurhash, p.Name)
	}

	big, err := Process(photo(t, 4000, 1000, 1))
	if err != nil || big.Width != MaxSide || big.Height != MaxSide/4 {
		t.Errorf("a 4000×1000 photo came out %d×%d (%v), want %d×%d", big.Width, big.Height, err, MaxSide, MaxSide/4)
	}
}

func TestProcessKeepsTransparencyAndRefusesTheRest(t *testing.T) {
	logo := image.NewNRGBA(image.Rect(0, 0, 32, 32))
	logo.Set(3, 3, color.NRGBA{0, 128, 0, 255})
	var buf bytes.Buffer
	_ = png.Encode(&buf, logo)
	p, err := Process(buf.Bytes())
	if err != nil || p.MediaType != "image/png" || TypeOf(p.Name) != "image/png" {
		t.Errorf("a transparent logo: %v %s %s, want a PNG", err, p.MediaType, p.Name)
	}
	if _, err := Process([]byte("%PDF-1.7 not a picture")); !errors.Is(err, ErrNotAnImage) {
		t.Errorf("a PDF: %v", err)
	}
	// A PNG header announcing 100000×100000 pixels: refused before decoding.
	var ihdr bytes.Buffer
	ihdr.WriteString("IHDR")
	binary.Write(&ihdr, binary.BigEndian, []uint32{100000, 100000})
	ihdr.Write([]byte{8, 2, 0, 0, 0})
	var bomb bytes.Buffer
	bomb.Write([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\r"))
	bomb.Write(ihdr.Bytes())
	binary.Write(&bomb, binary.BigEndian, crc32.ChecksumIEEE(ihdr.Bytes()))
	if _, err := Process(bomb.Bytes()); err == nil || !bytes.Contains([]byte(err.Error()), []byte("problem.picture_too_many_pixels")) {
		t.Errorf("a decompression bomb: %v", err)
	}
}

func TestDirSavesOnceAndReadsOnlyItsNames(t *testing.T) {
	d := Dir(t.TempDir())
	p, err := Process(photo(t, 40, 20, 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Save(p); err != nil {
		t.Fatal(err)
	}
	if err := d.Save(p); err != nil {
		t.Fatal(err)
	}
	got, err := d.Read(p.Name)
	if err != nil || !bytes.Equal(got, p.Data) {
		t.Fatalf("read back: %v", err)
	}
	if _, err := d.Read("../../etc/passwd"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a path outside the folder: %v", err)
	}
}
