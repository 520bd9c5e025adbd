// Package locale holds every word Crieur shows a reader and how it writes
// dates, numbers and money: one catalogue of symbolic keys, one file per
// language (messages/*.toml), one Locale per reader. It also lays an
// announcement out as its facts (the labelled lines every destination
// shows), in the announcement's language and its board's time zone.
//
// It renders; it decides nothing. It must not import net/http, a store or a
// destination: pages, feeds and federation packages call it.
package locale

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"crieur/board"
)

// Locale renders words, dates and numbers in one language, times in one
// zone. The zero Locale is English in UTC.
type Locale struct {
	Tag  language.Tag
	cat  *Catalogue
	p    *message.Printer
	zone *time.Location // the board's; nil keeps times in the zone they carry
}

// For is the built-in catalogue's locale of a language tag, English when
// it has nothing close.
func For(lang string) Locale { return builtin.For(lang) }

// Negotiate is the built-in catalogue's choice among what a reader asked
// for (see Catalogue.Negotiate).
func Negotiate(choices ...string) Locale { return builtin.Negotiate(choices...) }

// Supported says whether the built-in catalogue speaks lang.
func Supported(lang string) bool { return builtin.Supports(lang) }

// Of is the locale every rendering of a uses: its own language, else its
// board's, with times in the board's zone.
func Of(b board.Board, a board.Announcement) Locale { return OfBoard(b).About(a) }

// About is the locale of what is said about a, from its board's locale l:
// a's own language when it has one the catalogue speaks, l's zone. A list
// takes its board's locale once (loading a zone reads a file).
func (l Locale) About(a board.Announcement) Locale {
	if a.Language == "" {
		return l
	}
	return l.catalogue().Negotiate(a.Language, l.Lang()).InZone(l.zone)
}

// OfBoard is the locale of what a board says by itself: its language, its zone.
func OfBoard(b board.Board) Locale { return For(b.Language).InZone(b.Location()) }

// InZone shows every time in zone (a board's), whatever offset it was
// written with: readers are local to the association.
func (l Locale) InZone(zone *time.Location) Locale {
	l.zone = zone
	return l
}

func (l Locale) printer() *message.Printer {
	if l.p == nil {
		return builtin.For("en").p
	}
	return l.p
}

func (l Locale) catalogue() *Catalogue {
	if l.cat == nil {
		return builtin
	}
	return l.cat
}

// T is the message key in the locale's language, args formatted into it
// (numbers as the language writes them); a plural message picks its form
// by CLDR's rule for the language. A key no file has is shown as is, and
// the catalogue's tests fail.
func (l Locale) T(key string, args ...any) string {
	if _, ok := l.cat.texts[l.Tag][key]; l.p != nil && !ok {
		// A language's file may lack a key (a fixture, a file being
		// written): English, rather than the key, reaches the reader.
		return l.cat.For("en").p.Sprintf(key, args...)
	}
	return l.grouped(l.printer().Sprintf(key, args...))
}

// grouped writes the thousands separator the language's file asks for
// (number.group) between the digits of the numbers in s.
func (l Locale) grouped(s string) string {
	g, ok := l.catalogue().groups[l.Tag]
	if !ok || !strings.Contains(s, g[0]) {
		return s
	}
	var b strings.Builder
	rs := []rune(s)
	from := []rune(g[0])
	for i := 0; i < len(rs); i++ {
		if len(from) == 1 && rs[i] == from[0] && i > 0 && i+1 < len(rs) && unicode.IsDigit(rs[i-1]) && unicode.IsDigit(rs[i+1]) {
			b.WriteString(g[1])
			continue
		}
		b.WriteRune(rs[i])
	}
	return b.String()
}

// list is a list message (month names), from the language's file or English's.
func (l Locale) list(key string) []string {
	c := l.catalogue()
	if v, ok := c.lists[l.Tag][key]; ok {
		return v
	}
	return c.lists[language.English][key]
}

// Lang is the language tag, for <html lang> and Content-Language.
func (l Locale) Lang() string { return l.Tag.String() }

// Name is the language's name in itself.
func (l Locale) Name() string { return l.catalogue().Name(l.Tag) }

// Languages are the locales a reader can switch to, this one's catalogue's.
func (l Locale) Languages() []Locale {
	var out []Locale
	for _, t := range l.catalogue().Languages() {
		out = append(out, l.catalogue().For(t.String()).InZone(l.zone))
	}
	return out
}

func (l Locale) in(t time.Time) time.Time {
	if l.zone != nil {
		return t.In(l.zone)
	}
	return t
}

// Zone names the zone of t as a reader understands it: "Paris time",
// "heure de Paris", "UTC"; never an IANA name or a bare offset.
func (l Locale) Zone(t time.Time) string {
	t = l.in(t)
	name := t.Location().String()
	if _, off := t.Zone(); name == "UTC" || (off == 0 && !strings.Contains(name, "/")) {
		return l.T("date.utc")
	}
	if i := strings.LastIndexByte(name, '/'); i >= 0 && name != "Local" {
		return l.T("date.zone", strings.ReplaceAll(name[i+1:], "_", " "))
	}
	// A fixed offset (a zone-less board shows times as typed).
	_, off := t.Zone()
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	return fmt.Sprintf("%s%s%02d:%02d", l.T("date.utc"), sign, off/3600, off%3600/60)
}

// Time is a moment as readers of the language write it, in the board's
// zone, with the zone named: "Fri 18 Dec 2026, 19:00 (Paris time)".
func (l Locale) Time(t time.Time) string {
	t = l.in(t)
	return l.T("date.time", l.list("date.weekdays")[t.Weekday()], strconv.Itoa(t.Day()),
		l.list("date.months")[t.Month()-1], strconv.Itoa(t.Year()), t.Format("15:04"), l.Zone(t))
}

// Date is a moment Crieur recorded (page footers), without the weekday.
func (l Locale) Date(t time.Time) string {
	t = l.in(t)
	return l.T("date.date", strconv.Itoa(t.Day()), l.list("date.months")[t.Month()-1], strconv.Itoa(t.Year()), t.Format("15:04"), l.Zone(t))
}

// ShortDate is Date without the zone's name, for a list that says its
// zone once ("5 Dec 2026, 21:26"): twice per line, it did not fit a
// phone's width.
func (l Locale) ShortDate(t time.Time) string {
	t = l.in(t)
	return l.T("date.date_short", strconv.Itoa(t.Day()), l.list("date.months")[t.Month()-1], strconv.Itoa(t.Year()), t.Format("15:04"))
}

// DayMonth are t's day of the month and short month name, in the
// locale's zone: a calendar page's badge ("18", "Dec").
func (l Locale) DayMonth(t time.Time) (day, month string) {
	t = l.in(t)
	return strconv.Itoa(t.Day()), l.list("date.months")[t.Month()-1]
}

// Clock is the hour of t alone (an event's end on its start's day).
func (l Locale) Clock(t time.Time) string { return l.in(t).Format("15:04") }

// Stamp is a moment for a spreadsheet's cell, in the locale's zone: it
// sorts as text and every spreadsheet reads it as a date.
func (l Locale) Stamp(t time.Time) string { return l.in(t).Format("2006-01-02 15:04") }

// SameDay says whether two moments fall on one day in the locale's zone.
func (l Locale) SameDay(a, b time.Time) bool {
	y1, m1, d1 := l.in(a).Date()
	y2, m2, d2 := l.in(b).Date()
	return y1 == y2 && m1 == m2 && d1 == d2
}

// Colon is a label followed by its colon, as the language writes it
// ("When:", "Quand :").
func (l Locale) Colon(label string) string { return l.T("fact.label", label) }

// JoinAnd joins names with commas and the locale's "and".
func (l Locale) JoinAnd(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " " + l.T("list.and") + " " + names[len(names)-1]
}

// symbols are the currencies shown with a sign rather than their code.
var symbols = map[string]string{"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF", "CAD": "$ CA"}

// Amount formats money the way the reader's language writes it: 1,240 €
// or 1 240 € (cents only when there are some).
func (l Locale) Amount(v float64, currency string) string {
	p := l.printer()
	n := p.Sprintf("%.0f", v)
	if v != float64(int64(v)) {
		n = p.Sprintf("%.2f", v)
	}
	n = l.grouped(n)
	sym, ok := symbols[currency]
	if !ok {
		sym = currency
	}
	if l.Tag == language.English && (currency == "USD" || currency == "GBP") {
		return sym + n
	}
	return n + "\u00a0" + sym
}

// Problem says what is wrong with a field (a board.Problem) in the
// locale's language; an argument that is itself a problem (one role of
// several) is said first.
func (l Locale) Problem(p board.Problem) string {
	args := make([]any, len(p.Args))
	for i, a := range p.Args {
		if inner, ok := a.(board.Problem); ok {
			a = l.Problem(inner)
		}
		args[i] = a
	}
	return l.T(p.Key, args...)
}
