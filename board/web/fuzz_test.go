package web

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

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
