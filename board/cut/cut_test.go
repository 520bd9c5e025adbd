package cut

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func bytes(limit int) func(string) bool { return func(s string) bool { return len(s) <= limit } }

// Issue 24, point 5: a text with no paragraph break, no sentence end, not
// even a space, is still sent, cut between characters, and the caller
// learns where.
func TestPrefixKeepsTextAtTheCoarsestPoint(t *testing.T) {
	family := "👨\u200d👩\u200d👧" // one grapheme, 18 bytes
	for _, c := range []struct {
		name, text string
		fits       func(string) bool
		want       string
		point      Point
	}{
		{"fits", "One.\n\nTwo.", bytes(100), "One.\n\nTwo.", Whole},
		{"paragraphs", "First one.\n\nSecond one.\n\nThird one.", bytes(25), "First one.\n\nSecond one.", Paragraph},
		{"sentences", "First sentence. Second sentence. Third sentence.\n\nNext.", bytes(35), "First sentence. Second sentence.", Sentence},
		{"words", "one two three four five six", bytes(14), "one two three", Word},
		{"one long word", strings.Repeat("a", 50), bytes(20), strings.Repeat("a", 20), Grapheme},
		{"emoji whole", strings.Repeat(family, 5), bytes(40), family + family, Word}, // UAX #29 breaks words between pictographs
		{"accents in runes", strings.Repeat("é", 30), Runes(10), strings.Repeat("é", 10), Grapheme},
		{"nothing fits", family, bytes(3), "", Grapheme},
	} {
		got, p := Prefix(c.text, c.fits)
		if got != c.want || p != c.point {
			t.Errorf("%s: %q at %v, want %q at %v", c.name, got, p, c.want, c.point)
		}
	}
}

// Split keeps every word, in order, each piece within the limit; a
// 19,132-character text goes as two Mattermost posts.
func TestSplitLosesNothing(t *testing.T) {
	var b strings.Builder
	for i := 0; b.Len() < 19_132; i++ {
		b.WriteString("Une phrase assez longue pour compter, numéro ")
		b.WriteString(strings.Repeat("é", i%7))
		b.WriteString(". ")
		if i%9 == 8 {
			b.WriteString("\n\n")
		}
	}
	text := strings.TrimSpace(b.String())
	pieces, p := Split(text, Runes(16_383))
	if len(pieces) != 2 || p != Paragraph {
		t.Fatalf("%d pieces cut at %v", len(pieces), p)
	}
	for _, piece := range pieces {
		if n := utf8.RuneCountInString(piece); n > 16_383 {
			t.Errorf("a piece of %d characters", n)
		}
	}
	if strings.Join(strings.Fields(strings.Join(pieces, " ")), " ") != strings.Join(strings.Fields(text), " ") {
		t.Error("the pieces joined are not the text")
	}
	word := strings.Repeat("x", 40_000)
	if pieces, p := Split(word, Runes(16_383)); len(pieces) != 3 || p != Grapheme || strings.Join(pieces, "") != word {
		t.Errorf("one long word: %d pieces at %v", len(pieces), p)
	}
	if pieces, _ := Split("👨\u200d👩\u200d👧", bytes(3)); pieces != nil {
		t.Error("a piece that cannot hold one character should give up")
	}
}

func FuzzSplit(f *testing.F) {
	f.Add("One. Two.\n\nThree 👨\u200d👩\u200d👧 four", 7)
	f.Fuzz(func(t *testing.T, text string, limit int) {
		if limit < 4 || limit > 1000 || !utf8.ValidString(text) {
			return
		}
		pieces, _ := Split(text, bytes(limit))
		if pieces == nil {
			return
		}
		for _, piece := range pieces {
			if len(piece) > limit || piece == "" {
				t.Fatalf("piece %q over %d", piece, limit)
			}
		}
		if strings.Join(strings.Fields(strings.Join(pieces, "")), "") != strings.Join(strings.Fields(text), "") {
			t.Fatalf("text lost: %q -> %q", text, pieces)
		}
	})
}
