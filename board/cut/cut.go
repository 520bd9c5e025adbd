// Package cut shortens and splits text for destinations with a size limit
// (a Matrix event's bytes, a Mattermost post's characters): always at the
// coarsest boundary that keeps some text — a paragraph, then a sentence,
// then a word, then a grapheme (a character as a reader sees it, emoji
// sequences whole) — so a text with no convenient cut point still arrives,
// and the caller can say where it was cut.
//
// Sentences, words and graphemes are Unicode's (UAX #29, through
// github.com/rivo/uniseg); paragraphs are Markdown's, at blank lines.
package cut

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// Point is where a text was cut, from the coarsest to the finest.
type Point int

const (
	Whole     Point = iota // not cut: the text fits
	Paragraph              // after a whole paragraph
	Sentence               // after a whole sentence
	Word                   // after a whole word
	Grapheme               // within a word, between two characters
)

// String names the point as the catalogue's keys do (cut.<point>).
func (p Point) String() string {
	switch p {
	case Whole:
		return "whole"
	case Paragraph:
		return "paragraph"
	case Sentence:
		return "sentence"
	case Word:
		return "word"
	default:
		return "grapheme"
	}
}

var blankLine = regexp.MustCompile(`\n[ \t]*\n`)

// boundaries lists the byte offsets in s after which s may be cut at
// point p, in order; the last is len(s).
func boundaries(s string, p Point) []int {
	var out []int
	switch p {
	case Paragraph:
		for _, m := range blankLine.FindAllStringIndex(s, -1) {
			out = append(out, m[0])
		}
	case Sentence, Word, Grapheme:
		rest, state, at := s, -1, 0
		for len(rest) > 0 {
			var seg string
			switch p {
			case Sentence:
				seg, rest, state = uniseg.FirstSentenceInString(rest, state)
			case Word:
				seg, rest, state = uniseg.FirstWordInString(rest, state)
			default:
				seg, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
			}
			at += len(seg)
			out = append(out, at)
		}
		return out
	}
	return append(out, len(s))
}

// Prefix is the longest beginning of text that fits (fits must hold for
// every beginning of one that holds, as a size limit does), cut at the
// coarsest point that keeps something: as many whole paragraphs as fit;
// if not even the first does, as many of its sentences; then words; then
// graphemes. It returns "" only when not one grapheme fits.
func Prefix(text string, fits func(string) bool) (string, Point) {
	if fits(text) {
		return text, Whole
	}
	unit := text // the piece that did not fit whole, cut finer next
	for p := Paragraph; p <= Grapheme; p++ {
		bs := boundaries(unit, p)
		// Binary search: the largest k with fits(unit[:bs[k-1]]); each
		// call may render the whole message.
		lo, hi := 0, len(bs)
		for lo < hi {
			mid := (lo + hi + 1) / 2
			if fits(strings.TrimRight(unit[:bs[mid-1]], " \t\n")) {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		if lo > 0 {
			return strings.TrimRight(unit[:bs[lo-1]], " \t\n"), p
		}
		if len(bs) > 0 {
			unit = unit[:bs[0]]
		}
	}
	return "", Grapheme
}

// Split cuts text into pieces that each fit, in reading order, each cut as
// Prefix cuts; the coarsest point any cut needed is returned with them.
// No text is lost: the pieces, joined, are the text less the white space
// at the cuts. It gives up (nil) if not one grapheme fits.
func Split(text string, fits func(string) bool) ([]string, Point) {
	var pieces []string
	worst := Whole
	rest := strings.TrimSpace(text)
	for rest != "" {
		piece, p := Prefix(rest, fits)
		if piece == "" {
			return nil, Grapheme
		}
		pieces = append(pieces, piece)
		worst = max(worst, p)
		rest = strings.TrimLeft(rest[len(piece):], " \t\n")
	}
	return pieces, worst
}

// Runes is a limit in characters (Unicode code points), as Mattermost
// counts a post (utf8.RuneCountInString).
func Runes(limit int) func(string) bool {
	return func(s string) bool { return utf8.RuneCountInString(s) <= limit }
}
