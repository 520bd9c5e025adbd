package pagecache

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

type version struct {
	n   atomic.Int64
	err error
}

func (v *version) Version(context.Context) (int64, error) { return v.n.Load(), v.err }

// page renders its call count, the request's Accept and language, so
// each test sees when it rendered again.
type page struct {
	calls   atomic.Int64
	status  int
	cookie  bool
	control string // Cache-Control
	body    string // fixed body, when set
}

func (p *page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := p.calls.Add(1)
	if p.cookie {
		http.SetCookie(w, &http.Cookie{Name: "lang", Value: "fr"})
	}
	if p.control != "" {
		w.Header().Set("Cache-Control", p.control)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Vary", "Accept, Accept-Language, Cookie")
	if p.status != 0 {
		w.WriteHeader(p.status)
	}
	if p.body != "" {
		fmt.Fprint(w, p.body)
		return
	}
	fmt.Fprintf(w, "render %d for %s %s", n, r.Header.Get("Accept"), r.Header.Get("Accept-Language"))
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func get(t *testing.T, h http.Handler, method, target string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestRenderedOncePerVersion(t *testing.T) {
	v, p, clk := &version{}, &page{}, &clock{t: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)}
	c := New(v, Options{TTL: 30 * time.Second, Now: clk.now})
	h := c.Wrap(p)

	first := get(t, h, "GET", "/boards/news")
	second := get(t, h, "GET", "/boards/news")
	if p.calls.Load() != 1 || first.Body.String() != second.Body.String() || second.Code != 200 {
		t.Fatalf("rendered %d times; %d %q then %q", p.calls.Load(), second.Code, first.Body, second.Body)
	}
	for _, name := range []string{"ETag", "Last-Modified", "Content-Type", "Vary"} {
		if second.Header().Get(name) == "" || second.Header().Get(name) != first.Header().Get(name) {
			t.Errorf("%s: %q then %q", name, first.Header().Get(name), second.Header().Get(name))
		}
	}
	if cl := second.Header().Get("Content-Length"); cl != fmt.Sprint(second.Body.Len()) {
		t.Errorf("Content-Length %s for %d bytes", cl, second.Body.Len())
	}

	// A write of this process: rendered again at once.
	v.n.Add(1)
	c.Changed()
	if third := get(t, h, "GET", "/boards/news"); p.calls.Load() != 2 || !strings.HasPrefix(third.Body.String(), "render 2") {
		t.Fatalf("after a write: %d renders, %q", p.calls.Load(), third.Body)
	}
	// The clock alone: rendered again once the entry is old.
	clk.t = clk.t.Add(29 * time.Second)
	get(t, h, "GET", "/boards/news")
	clk.t = clk.t.Add(2 * time.Second)
	get(t, h, "GET", "/boards/news")
	if p.calls.Load() != 3 {
		t.Fatalf("%d renders, want 3: an entry lives 30 s", p.calls.Load())
	}
	// Another address, another entry.
	get(t, h, "GET", "/boards/news?tag=x")
	if p.calls.Load() != 4 {
		t.Fatalf("%d renders: the query is part of the key", p.calls.Load())
	}
	if hits, misses := c.Stats(); hits != 2 || misses != 4 {
		t.Errorf("stats: %d hits, %d misses; want 2 and 4", hits, misses)
	}
}

func TestNegotiatedVariantsAreKeptApart(t *testing.T) {
	v, p := &version{}, &page{}
	h := New(v, Options{}).Wrap(p)
	html := get(t, h, "GET", "/boards/news/a/1", "Accept", "text/html")
	ap := get(t, h, "GET", "/boards/news/a/1", "Accept", "application/activity+json")
	fr := get(t, h, "GET", "/boards/news/a/1", "Accept", "text/html", "Accept-Language", "fr")
	cookie := get(t, h, "GET", "/boards/news/a/1", "Accept", "text/html", "Cookie", "lang=fr")
	if p.calls.Load() != 4 {
		t.Fatalf("%d renders for four variants", p.calls.Load())
	}
	if html.Body.String() == ap.Body.String() || html.Body.String() == fr.Body.String() || html.Body.String() == cookie.Body.String() {
		t.Fatal("a variant was answered with another's body")
	}
	if again := get(t, h, "GET", "/boards/news/a/1", "Accept", "application/activity+json"); again.Body.String() != ap.Body.String() || p.calls.Load() != 4 {
		t.Fatalf("the ActivityPub variant again: %q after %d renders", again.Body, p.calls.Load())
	}
}

func TestConditionalRequests(t *testing.T) {
	v, p, clk := &version{}, &page{body: "<p>same</p>"}, &clock{t: time.Date(2026, 12, 5, 10, 0, 0, 500, time.UTC)}
	c := New(v, Options{Now: clk.now})
	h := c.Wrap(p)
	first := get(t, h, "GET", "/x")
	etag, modified := first.Header().Get("ETag"), first.Header().Get("Last-Modified")
	if etag == "" || modified != "Sat, 05 Dec 2026 10:00:00 GMT" {
		t.Fatalf("ETag %q, Last-Modified %q", etag, modified)
	}
	if w := get(t, h, "GET", "/x", "If-None-Match", etag); w.Code != http.StatusNotModified || w.Body.Len() != 0 {
		t.Errorf("If-None-Match with the ETag: %d, %d bytes", w.Code, w.Body.Len())
	}
	if w := get(t, h, "GET", "/x", "If-None-Match", `"other"`); w.Code != http.StatusOK {
		t.Errorf("If-None-Match with another ETag: %d", w.Code)
	}
	if w := get(t, h, "GET", "/x", "If-Modified-Since", modified); w.Code != http.StatusNotModified {
		t.Errorf("If-Modified-Since the entry's date: %d", w.Code)
	}
	if w := get(t, h, "GET", "/x", "If-Modified-Since", "Sat, 05 Dec 2026 09:59:59 GMT"); w.Code != http.StatusOK {
		t.Errorf("If-Modified-Since an earlier date: %d", w.Code)
	}
	// A first request that is conditional still renders a whole page to
	// keep, then answers the condition.
	v.n.Add(1)
	c.Changed()
	clk.t = clk.t.Add(time.Minute)
	if w := get(t, h, "GET", "/x", "If-None-Match", etag); w.Code != http.StatusNotModified || p.calls.Load() != 2 {
		t.Errorf("a conditional request after a write: %d after %d renders", w.Code, p.calls.Load())
	}
	// Rendered again to the same bytes: not modified since the first time.
	if w := get(t, h, "GET", "/x"); w.Header().Get("Last-Modified") != modified || w.Header().Get("ETag") != etag {
		t.Errorf("unchanged page: Last-Modified %q, ETag %q", w.Header().Get("Last-Modified"), w.Header().Get("ETag"))
	}
	if w := get(t, h, "HEAD", "/x"); w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("Content-Length") != "11" {
		t.Errorf("HEAD: %d, %d bytes, Content-Length %q", w.Code, w.Body.Len(), w.Header().Get("Content-Length"))
	}
	if w := get(t, h, "GET", "/x", "Range", "bytes=3-6"); w.Code != http.StatusPartialContent || w.Body.String() != "same" {
		t.Errorf("Range: %d %q", w.Code, w.Body.String())
	}
}

func TestOnlyWholePublicAnswersAreKept(t *testing.T) {
	for name, p := range map[string]*page{
		"not found":    {status: http.StatusNotFound},
		"a cookie set": {cookie: true},
		"private":      {control: "private"},
		"no-store":     {control: "max-age=0, no-store"},
	} {
		t.Run(name, func(t *testing.T) {
			h := New(&version{}, Options{}).Wrap(p)
			first := get(t, h, "GET", "/x")
			get(t, h, "GET", "/x")
			if p.calls.Load() != 2 {
				t.Errorf("rendered %d times, want every time", p.calls.Load())
			}
			if p.status != 0 && first.Code != p.status || p.cookie && first.Header().Get("Set-Cookie") == "" {
				t.Errorf("the answer changed on the way: %d %v", first.Code, first.Header())
			}
		})
	}
	t.Run("too big", func(t *testing.T) {
		p := &page{body: strings.Repeat("x", 2000)}
		h := New(&version{}, Options{MaxBody: 1000}).Wrap(p)
		get(t, h, "GET", "/x")
		if w := get(t, h, "GET", "/x"); p.calls.Load() != 2 || w.Body.Len() != 2000 {
			t.Errorf("%d renders, %d bytes", p.calls.Load(), w.Body.Len())
		}
	})
	t.Run("version unreadable", func(t *testing.T) {
		p := &page{}
		h := New(&version{err: errors.New("disk")}, Options{}).Wrap(p)
		get(t, h, "GET", "/x")
		if w := get(t, h, "GET", "/x"); p.calls.Load() != 2 || w.Code != 200 {
			t.Errorf("%d renders, status %d", p.calls.Load(), w.Code)
		}
	})
	t.Run("POST", func(t *testing.T) {
		p := &page{}
		h := New(&version{}, Options{}).Wrap(p)
		get(t, h, "POST", "/x")
		get(t, h, "POST", "/x")
		if p.calls.Load() != 2 {
			t.Errorf("%d renders", p.calls.Load())
		}
	})
}

func TestBoundedBytes(t *testing.T) {
	p := &page{body: strings.Repeat("x", 400)}
	c := New(&version{}, Options{MaxBytes: 1000})
	h := c.Wrap(p)
	for i := range 10 {
		get(t, h, "GET", fmt.Sprintf("/x%d", i))
	}
	c.mu.RLock()
	n, size := len(c.entries), c.bytes
	c.mu.RUnlock()
	if size > 1000 || n > 2 || n == 0 {
		t.Fatalf("%d entries, %d bytes kept under a 1000-byte bound", n, size)
	}
	// The newest is kept.
	before := p.calls.Load()
	get(t, h, "GET", "/x9")
	if p.calls.Load() != before {
		t.Error("the entry just made was evicted")
	}
}

// Another process's write (the CLI's) reaches no Changed: it shows once
// the version read last is a second old, and no sooner than a write of
// this process.
func TestOtherProcessesWritesShowWithinASecond(t *testing.T) {
	v, p, clk := &version{}, &page{}, &clock{t: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)}
	c := New(v, Options{Now: clk.now})
	h := c.Wrap(p)
	get(t, h, "GET", "/x")
	v.n.Add(1) // written elsewhere
	clk.t = clk.t.Add(900 * time.Millisecond)
	get(t, h, "GET", "/x")
	if p.calls.Load() != 1 {
		t.Fatalf("%d renders within the second", p.calls.Load())
	}
	clk.t = clk.t.Add(200 * time.Millisecond)
	get(t, h, "GET", "/x")
	if p.calls.Load() != 2 {
		t.Fatalf("%d renders after the second: another process's write was not seen", p.calls.Load())
	}
	// Read once, trusted again: no new rendering without a change.
	get(t, h, "GET", "/x")
	if p.calls.Load() != 2 {
		t.Fatalf("%d renders", p.calls.Load())
	}
}
