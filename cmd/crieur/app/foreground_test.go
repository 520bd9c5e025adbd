package app

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"crieur/federation/delivery"
)

// A browser's navigation puts the signers behind the pages; what other
// servers, feed readers and scripts ask for does not.
func TestPagesPutTheSignersInTheBackground(t *testing.T) {
	served := 0
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served++ })
	for _, c := range []struct {
		method, accept string
		want           bool
	}{
		// Firefox's and Chromium's navigations.
		{"GET", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", true},
		{"GET", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8", true},
		{"POST", "text/html", true}, // a form sent from a page
		{"GET", `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`, false},
		{"GET", "application/activity+json, application/ld+json", false},
		{"POST", "", false}, // an inbox delivery
		{"GET", "application/atom+xml, application/rss+xml;q=0.9", false},
		{"GET", "*/*", false},
	} {
		// No signers: the Ps it adds (none) stay this test's business.
		cpu, err := delivery.StartBackgroundCPU(0, 15)
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest(c.method, "/boards/news", nil)
		if c.accept != "" {
			r.Header.Set("Accept", c.accept)
		}
		foreground(next, cpu).ServeHTTP(httptest.NewRecorder(), r)
		if got := cpu.InForeground(); got != c.want {
			t.Errorf("%s Accept %q: signers in the background %v, want %v", c.method, c.accept, got, c.want)
		}
	}
	if served != 8 {
		t.Errorf("the routes answered %d requests of 8", served)
	}
}
