package board_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"image/png"
	"math"
	"strings"
	"testing"

	"crieur/board"
	"crieur/board/boardtest"
	"crieur/board/locale"
)

// wcagContrast is the ratio as WCAG 2.x writes it out, computed here
// independently of the board package: (L1 + 0.05) / (L2 + 0.05) with each
// sRGB channel linearised.
func wcagContrast(c [3]uint8) float64 {
	lin := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.03928 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	l := 0.2126*lin(c[0]) + 0.7152*lin(c[1]) + 0.0722*lin(c[2])
	return 1.05 / (l + 0.05)
}

func TestContrastIsWCAGs(t *testing.T) {
	for _, hex := range []string{"#ffffff", "#000000", "#767676", "#777777", "#1d4ed8", "#ff0000", "#0a84ff", "#00ff00", "#030303"} {
		c, ok := board.ParseColour(hex)
		if !ok {
			t.Fatalf("ParseColour(%q) refused it", hex)
		}
		if got, want := board.ContrastWithWhite(c), wcagContrast(c); math.Abs(got-want) > 1e-9 {
			t.Errorf("contrast of white on %s = %.4f, want %.4f", hex, got, want)
		}
	}
	for _, bad := range []string{"", "1d4ed8", "#1d4ed", "#1d4ed8a", "#gggggg", "red"} {
		if _, ok := board.ParseColour(bad); ok {
			t.Errorf("ParseColour(%q) accepted it", bad)
		}
	}
}

func TestAccentRefusedBelowAA(t *testing.T) {
	// #767676 is the lightest grey white text passes AA on; #777777 fails.
	if _, err := board.CheckBoard(board.Board{Name: "news", DisplayName: "News", AccentColour: "#767676"}); err != nil {
		t.Fatalf("#767676 refused: %v", err)
	}
	for _, light := range []string{"#777777", "#ffcc00", "#0A84FF"} {
		_, err := board.CheckBoard(board.Board{Name: "news", DisplayName: "News", AccentColour: light})
		var ve *board.ValidationError
		if !errors.As(err, &ve) || ve.Fields["accent"].Key != "problem.accent_contrast" {
			t.Fatalf("%s: error %v, want problem.accent_contrast", light, err)
		}
		c, _ := board.ParseColour(strings.ToLower(light))
		ratio := fmt.Sprintf("%.2f", math.Floor(wcagContrast(c)*100)/100)
		suggested := ve.Fields["accent"].Args[2].(string)
		sc, ok := board.ParseColour(suggested)
		if !ok || wcagContrast(sc) < 4.5 {
			t.Errorf("%s: suggested %s, which fails AA itself", light, suggested)
		}
		en := locale.For("en").Problem(ve.Fields["accent"])
		fr := locale.For("fr").Problem(ve.Fields["accent"])
		if !strings.Contains(en, ratio+":1") || !strings.Contains(en, "darker") || !strings.Contains(en, suggested) {
			t.Errorf("%s: English says %q, want the ratio %s:1, 'darker' and %s", light, en, ratio, suggested)
		}
		if !strings.Contains(fr, strings.Replace(ratio, ".", ",", 1)+"\u202F:1") || !strings.Contains(fr, "foncée") {
			t.Errorf("%s: French says %q, want the ratio with a decimal comma", light, fr)
		}
	}
	_, err := board.CheckBoard(board.Board{Name: "news", DisplayName: "News", AccentColour: "blue"})
	var ve *board.ValidationError
	if !errors.As(err, &ve) || ve.Fields["accent"].Key != "problem.accent_format" {
		t.Fatalf("blue: error %v, want problem.accent_format", err)
	}
}

func TestAccentAlwaysPassesAA(t *testing.T) {
	lightSeen := false
	for i := range 300 {
		b := board.Board{Name: fmt.Sprintf("board%d", i)}
		c, ok := board.ParseColour(b.Accent())
		if !ok {
			t.Fatalf("%s: Accent() = %q", b.Name, b.Accent())
		}
		if wcagContrast(c) < 4.5 {
			t.Fatalf("%s: default accent %s has contrast %.2f", b.Name, b.Accent(), wcagContrast(c))
		}
		r, g, bl := b.AccentRGB()
		if [3]uint8{r, g, bl} != c {
			t.Fatalf("%s: AccentRGB and Accent disagree", b.Name)
		}
		if board.Darken(c) != c {
			t.Errorf("%s: an accent that passes was darkened again", b.Name)
		}
		// The name's hash still picks the colour: darkened, not replaced.
		h := fnv.New32a()
		h.Write([]byte(b.Name))
		v := h.Sum32()
		raw := [3]uint8{uint8(v), uint8(v >> 8), uint8(v >> 16)}
		if wcagContrast(raw) < 4.5 {
			lightSeen = true
			for ch := range 3 {
				if c[ch] > raw[ch] {
					t.Errorf("%s: %v darkened into %v", b.Name, raw, c)
				}
			}
		} else if c != raw {
			t.Errorf("%s: %v passes AA but was changed into %v", b.Name, raw, c)
		}
	}
	if !lightSeen {
		t.Fatal("no name gave a light colour: the darkening was not tried")
	}
	chosen := board.Board{Name: "news", AccentColour: "#1d4ed8"}
	if chosen.Accent() != "#1d4ed8" {
		t.Errorf("chosen accent shown as %s", chosen.Accent())
	}
	// A colour stored before the rule (or by hand) is not shown as is.
	stale := board.Board{Name: "news", AccentColour: "#ffff00"}
	if c, _ := board.ParseColour(stale.Accent()); wcagContrast(c) < 4.5 {
		t.Errorf("a stored light accent is shown: %s", stale.Accent())
	}
}

func TestLogoMustBeThisBoardsUpload(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t, boardtest.WithPictures(t.TempDir()))
	b := rig.Board
	b.Logo = strings.Repeat("a", 64) + ".png"
	_, err := rig.Service.SetBoard(ctx, b)
	var ve *board.ValidationError
	if !errors.As(err, &ve) || ve.Fields["logo"].Key != "problem.logo_unknown" {
		t.Fatalf("unknown logo: %v", err)
	}
	small, err := rig.Service.Upload(ctx, b, pngOf(t, 40, 30))
	if err != nil {
		t.Fatal(err)
	}
	b.Logo = small.ID
	if _, err = rig.Service.SetBoard(ctx, b); !errors.As(err, &ve) || ve.Fields["logo"].Key != "problem.logo_too_small" {
		t.Fatalf("40x30 logo: %v", err)
	}
	logo, err := rig.Service.Upload(ctx, b, pngOf(t, 120, 80))
	if err != nil {
		t.Fatal(err)
	}
	b.Logo, b.AccentColour = logo.ID, "#1D4ED8"
	if _, err := rig.Service.SetBoard(ctx, b); err != nil {
		t.Fatal(err)
	}
	got, err := rig.Store.BoardByName(ctx, "news")
	if err != nil {
		t.Fatal(err)
	}
	if got.Logo != logo.ID || got.AccentColour != "#1d4ed8" || got.Accent() != "#1d4ed8" {
		t.Fatalf("stored board: logo %q accent %q", got.Logo, got.AccentColour)
	}
}

// pngOf is a w×h transparent PNG with one red dot.
func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	img.Set(3, 3, color.NRGBA{200, 0, 0, 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A summary typed in a browser's text area arrives with \r\n line ends:
// kept as \n, so a feed does not show &#xD; where the line ends.
func TestSummaryLineEnds(t *testing.T) {
	b, err := board.CheckBoard(board.Board{Name: "news", DisplayName: "News", Summary: "Line one.\r\nLine two.\r\n"})
	if err != nil || b.Summary != "Line one.\nLine two." {
		t.Errorf("summary kept as %q (%v)", b.Summary, err)
	}
}
