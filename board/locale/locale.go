// Package locale holds every word Crieur shows a reader and how it writes
// dates, numbers and money, in English and French: one catalogue, one
// Locale per reader. It also lays an announcement out as its facts (the
// labelled lines every destination shows).
//
// It renders; it decides nothing. It must not import net/http, a store or a
// destination: pages, feeds and federation packages call it.
package locale

import (
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
)

// The catalogue is keyed by the English text: another language is one more
// table like french.

var (
	languages = []language.Tag{language.English, language.French}
	matcher   = language.NewMatcher(languages)
	// pageCatalog is built once at start and only read afterwards.
	pageCatalog = func() catalog.Catalog {
		b := catalog.NewBuilder(catalog.Fallback(language.English))
		for key, fr := range french {
			_ = b.SetString(language.French, key, fr)
		}
		return b
	}()
)

// Locale renders words and dates in one language.
type Locale struct {
	Tag  language.Tag
	p    *message.Printer
	zone *time.Location // the board's; nil keeps times as given
}

// English is the locale of federated posts and of the API.
var English = Locale{Tag: language.English, p: message.NewPrinter(language.English, message.Catalog(pageCatalog))}

// For is the locale of a language tag (a board's), English by default.
func For(lang string) Locale {
	if lang == "fr" {
		return Locale{Tag: language.French, p: message.NewPrinter(language.French, message.Catalog(pageCatalog))}
	}
	return English
}

// Negotiate picks a reader's language from what they asked for, in order:
// an explicit choice (?lang=), their browser's Accept-Language, then the
// fallbacks (a board's language), then English.
func Negotiate(choices ...string) Locale {
	tag, _ := language.MatchStrings(matcher, choices...)
	base, _ := tag.Base()
	t := language.English
	if base.String() == "fr" {
		t = language.French
	}
	return Locale{Tag: t, p: message.NewPrinter(t, message.Catalog(pageCatalog))}
}

// InZone shows times in zone (a board's) when they were given in it.
func (l Locale) InZone(zone *time.Location) Locale {
	l.zone = zone
	return l
}

// local shows t in the board's zone when that is the offset it was given
// (14:00 (CET) rather than 14:00 (+0100)); any other offset stays as the
// editor wrote it, since the board's zone would change its wall clock.
func (l Locale) local(t time.Time) time.Time {
	if l.zone == nil {
		return t
	}
	_, given := t.Zone()
	if _, off := t.In(l.zone).Zone(); off == given {
		return t.In(l.zone)
	}
	return t
}

// T translates a catalogue string, formatting args into it. A zero
// Locale is English.
func (l Locale) T(key string, args ...any) string {
	p := l.p
	if p == nil {
		p = English.p
	}
	return p.Sprintf(message.Key(key, key), args...)
}

// Lang is the language tag, for <html lang>.
func (l Locale) Lang() string { return l.Tag.String() }

var (
	frDays   = []string{"dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."}
	frMonths = []string{"janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."}
)

// Time formats a moment the way readers of the language write it,
// keeping the offset the editor gave.
func (l Locale) Time(t time.Time) string {
	t = l.local(t)
	if l.Tag == language.French {
		return fmt.Sprintf("%s %d %s %d, %s (%s)", frDays[t.Weekday()], t.Day(), frMonths[t.Month()-1], t.Year(), t.Format("15:04"), t.Format("MST"))
	}
	// The offset the editor wrote stays: readers are local to the
	// association, and silently converting to UTC would mislead them.
	return t.Format("Mon 2 Jan 2006, 15:04 (MST)")
}

// Date formats a day and a time without the weekday (page footers): a
// moment Crieur recorded, shown in the board's zone when it has one.
func (l Locale) Date(t time.Time) string {
	if l.zone != nil {
		t = t.In(l.zone)
	}
	if l.Tag == language.French {
		return fmt.Sprintf("%d %s %d, %s", t.Day(), frMonths[t.Month()-1], t.Year(), t.Format("15:04 MST"))
	}
	return t.Format("2 Jan 2006 15:04 MST")
}

// Label translates a fact's label or a kind's name.
func (l Locale) Label(s string) string { return l.T(s) }

// Plural picks the English key for n: the catalogue holds each form.
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// JoinAnd joins names with commas and the locale's "and".
func (l Locale) JoinAnd(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " " + l.T("and") + " " + names[len(names)-1]
}

// symbols are the currencies shown with a sign rather than their code.
var symbols = map[string]string{"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF", "CAD": "$ CA"}

// Amount formats money the way the reader's language writes it: 1,240 €
// or 1 240 € (cents only when there are some).
func (l Locale) Amount(v float64, currency string) string {
	p := l.p
	if p == nil {
		p = English.p
	}
	n := p.Sprintf("%.0f", v)
	if v != float64(int64(v)) {
		n = p.Sprintf("%.2f", v)
	}
	sym, ok := symbols[currency]
	if !ok {
		sym = currency
	}
	if l.Tag == language.English && (currency == "USD" || currency == "GBP") {
		return sym + n
	}
	return n + "\u00a0" + sym
}
