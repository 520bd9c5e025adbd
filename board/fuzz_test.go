package board

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The admin API's JSON and the draft's checks: whatever comes in, decoding
// and validation end in a draft or a validation error, and a draft that
// passes satisfies the rules it was checked against.
func FuzzDraftJSON(f *testing.F) {
	f.Add([]byte(`{"kind":"call","title":"Cooks","call":{"roles":[{"name":"cook","places":2}],"contact":"a@b.org"}}`))
	f.Add([]byte(`{"kind":"event","title":"x","event":{"start":"2026-12-05T14:00:00+01:00","end":"2026-12-04T14:00:00Z"}}`))
	f.Add([]byte(`{"title":"\u200b","tags":["#a","a","A","b c"],"language":"fr-FR"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var d Draft
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if dec.Decode(&d) != nil {
			return
		}
		if err := d.Normalize(); err != nil {
			if _, ok := err.(*ValidationError); !ok {
				t.Fatalf("Normalize returned %T, not a ValidationError", err)
			}
			return
		}
		if d.Title == "" || !utf8.ValidString(d.Title) || utf8.RuneCountInString(d.Title) > MaxTitle || strings.ContainsAny(d.Title, "\x00\n\u202e") {
			t.Fatalf("a bad title passed: %q", d.Title)
		}
		if len(d.Tags) > MaxTags {
			t.Fatalf("%d tags passed", len(d.Tags))
		}
		if (d.Event != nil) != (d.Kind == KindEvent) || (d.Call != nil) != (d.Kind == KindCall) || (d.Outage != nil) != (d.Kind == KindOutage) {
			t.Fatalf("details of another kind passed: %+v", d)
		}
	})
}

// The web editor's form, as typed.
func FuzzEditorForm(f *testing.F) {
	f.Add("call", "Cooks", "Help", "cook: 2\ndriver: x", "2026-12-05T14:00", "a@b.org")
	f.Add("event", "Party", "", "", "2026-13-45T99:99", "")
	f.Add("outage", "\u202e", "\x00", ":::", "", "")
	f.Fuzz(func(t *testing.T, kind, title, body, roles, when, contact string) {
		form := url.Values{"kind": {kind}, "title": {title}, "body": {body}, "roles": {roles}, "start": {when}, "deadline": {when},
			"from": {when}, "contact": {contact}, "service": {title}, "tags": {title}}
		r := httptest.NewRequest("POST", "/edit", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		d, errs := readForm(r).draft(time.UTC)
		if errs == nil && d.Title == "" {
			t.Fatal("a form without title passed")
		}
	})
}

var (
	scriptRe  = regexp.MustCompile(`(?i)<\s*(script|iframe|object|embed|style|img|form|input)`)
	handlerRe = regexp.MustCompile(`(?i)<[^>]*\son[a-z]+\s*=`)
	jsURLRe   = regexp.MustCompile(`(?i)(href|src)\s*=\s*"\s*(javascript|data|vbscript):`)
	plainRe   = regexp.MustCompile(`[^A-Za-z ,\n]`)
)

// Markdown rendering: the output is always safe to show, and plain text
// (words and sentences, no markup) comes out whole.
func FuzzMarkdown(f *testing.F) {
	f.Add("Hello **world**, see https://example.org and <script>alert(1)</script>")
	f.Add("[x](javascript:alert(1)) ![alt](http://x/i.png) <a href=x onclick=y>z</a>")
	f.Add("# Title\n\n- a\n- b\n\n```\ncode\n```\n")
	r := NewRenderer()
	f.Fuzz(func(t *testing.T, md string) {
		out, err := r.HTML(md)
		if err != nil {
			t.Fatal(err)
		}
		if scriptRe.MatchString(out) || handlerRe.MatchString(out) || jsURLRe.MatchString(out) {
			t.Fatalf("unsafe HTML out of %q:\n%s", md, out)
		}
		plain := plainRe.ReplaceAllString(md, "")
		pout, _ := r.HTML(plain)
		text := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(pout, " ")
		for _, w := range strings.Fields(plain) {
			w = strings.Trim(w, ".,")
			if w != "" && !strings.Contains(text, w) {
				t.Fatalf("the word %q of plain text %q was lost: %s", w, plain, pout)
			}
		}
	})
}
