// Package pagecache keeps Crieur's public representations (pages, the
// actor, outbox, WebFinger, nodeinfo, feeds, the widget) in memory once
// rendered, so that a board read by thousands costs one rendering per
// change, not one per reader.
//
// What invalidates an entry is the store's version: a number the database
// itself raises on every write to what those representations show
// (announcements, boards, followers, sign-ups...; triggers, so a write by
// any process counts, the CLI's too). It is read again after each write of
// this process (the store says so: Changed), else once a second, for the
// writes of others. An entry also
// ends after a short time, for what changes with the clock alone (an event
// that has started, a deadline passed). Conditional requests are answered
// from the entry: ETag and Last-Modified, 304.
package pagecache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Versioner reads the store's version: it changes whenever something a
// public representation shows is written.
type Versioner interface {
	Version(ctx context.Context) (int64, error)
}

// Options bound the cache. Zero values take the defaults.
type Options struct {
	// TTL ends an entry whatever the version (default 30 s): pages say
	// "coming up" and "ongoing" by the clock.
	TTL time.Duration
	// MaxBytes bounds the bodies kept (default 32 MiB).
	MaxBytes int
	// MaxBody is the largest body kept (default 1 MiB).
	MaxBody int
	// Recheck is how long the version read last is trusted when this
	// process has written nothing since (default 1 s): what bounds how
	// late another process's write (the CLI's) shows.
	Recheck time.Duration
	// Now is the clock (tests).
	Now func() time.Time
	Log *slog.Logger
}

// Cache holds rendered responses by request.
type Cache struct {
	v    Versioner
	opts Options

	mu      sync.RWMutex
	entries map[string]*entry
	bytes   int

	hits, misses atomic.Int64

	// writes counts this process's writes (Changed); last is the version
	// read when writes was at a count: trusted while no write followed.
	writes atomic.Int64
	last   atomic.Pointer[reading]
}

type reading struct {
	version, writes int64
	at              time.Time
}

type entry struct {
	version  int64
	expires  time.Time
	modified time.Time // when this body was first rendered
	header   http.Header
	body     []byte
}

// New returns an empty cache reading versions from v.
func New(v Versioner, opts Options) *Cache {
	if opts.TTL <= 0 {
		opts.TTL = 30 * time.Second
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 32 << 20
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 1 << 20
	}
	if opts.Recheck <= 0 {
		opts.Recheck = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Cache{v: v, opts: opts, entries: map[string]*entry{}}
}

// Changed tells the cache this process has written to the store (the
// store calls it after each write): the next request reads the version
// again, so a change shows at once.
func (c *Cache) Changed() { c.writes.Add(1) }

// version is the store's version: the one read last while this process
// has written nothing since and it is under Recheck old, else read again.
func (c *Cache) version(ctx context.Context, now time.Time) (int64, error) {
	writes := c.writes.Load()
	if r := c.last.Load(); r != nil && r.writes == writes && now.Sub(r.at) < c.opts.Recheck {
		return r.version, nil
	}
	v, err := c.v.Version(ctx)
	if err != nil {
		return 0, err
	}
	// writes as counted before the read: a write during it makes the
	// next request read again.
	c.last.Store(&reading{version: v, writes: writes, at: now})
	return v, nil
}

// Stats says how often a request was answered from the cache.
func (c *Cache) Stats() (hits, misses int64) { return c.hits.Load(), c.misses.Load() }

// key is what a response may depend on: the address and the headers the
// handlers negotiate on (the representation by Accept, the language by
// Accept-Language and the remembered choice).
func key(r *http.Request) string {
	var lang string
	if c, err := r.Cookie("lang"); err == nil {
		lang = c.Value
	}
	return strings.Join([]string{r.Host, r.URL.RequestURI(), r.Header.Get("Accept"), r.Header.Get("Accept-Language"), lang}, "\x00")
}

// Wrap answers GET and HEAD requests for h from the cache when the store
// has not changed since the entry was rendered, and keeps what h answers
// 200 without setting a cookie, for anyone (not private).
func (c *Cache) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.ServeHTTP(w, r)
			return
		}
		now := c.opts.Now()
		version, err := c.version(r.Context(), now)
		if err != nil {
			// Unknown version: nothing cached can be trusted.
			c.opts.Log.Warn("page cache: store version unreadable", "err", err)
			h.ServeHTTP(w, r)
			return
		}
		k := key(r)
		c.mu.RLock()
		e := c.entries[k]
		c.mu.RUnlock()
		if e != nil && e.version == version && now.Before(e.expires) {
			c.hits.Add(1)
			e.serve(w, r)
			return
		}
		c.misses.Add(1)

		// Render a whole 200 whatever the request's conditions: they are
		// answered from the entry below.
		full := r.Clone(r.Context())
		full.Method = http.MethodGet
		for _, h := range conditions {
			full.Header.Del(h)
		}
		rec := &recorder{header: http.Header{}, status: http.StatusOK}
		h.ServeHTTP(rec, full)
		if rec.status != http.StatusOK || rec.header.Get("Set-Cookie") != "" || private(rec.header) || rec.tooBig(c.opts.MaxBody) {
			rec.replay(w, r)
			return
		}
		fresh := &entry{version: version, expires: now.Add(c.opts.TTL), modified: now.UTC().Truncate(time.Second), header: rec.header, body: rec.body.Bytes()}
		if fresh.header.Get("ETag") == "" {
			sum := sha256.Sum256(fresh.body)
			fresh.header.Set("ETag", `"`+base64.RawURLEncoding.EncodeToString(sum[:18])+`"`)
		}
		if e != nil && e.header.Get("ETag") == fresh.header.Get("ETag") {
			// Rendered again, unchanged: it was not modified.
			fresh.modified = e.modified
		}
		c.put(k, fresh)
		fresh.serve(w, r)
	})
}

// private says the answer is for its reader alone (a form's own key):
// what a shared cache must not keep (RFC 9111, 5.2.2.7 and 5.2.2.5).
func private(h http.Header) bool {
	for _, v := range h.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			if d = strings.ToLower(strings.TrimSpace(d)); d == "private" || d == "no-store" || strings.HasPrefix(d, "private=") {
				return true
			}
		}
	}
	return false
}

// put stores fresh under k (replacing old), keeping the bodies under the
// bound: stale entries go first, then any.
func (c *Cache) put(k string, fresh *entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur := c.entries[k]; cur != nil {
		c.bytes -= len(cur.body)
	}
	c.entries[k] = fresh
	c.bytes += len(fresh.body)
	if c.bytes <= c.opts.MaxBytes {
		return
	}
	for ek, e := range c.entries {
		if e.version != fresh.version {
			delete(c.entries, ek)
			c.bytes -= len(e.body)
		}
	}
	for ek, e := range c.entries { // map order: an arbitrary victim
		if c.bytes <= c.opts.MaxBytes {
			break
		}
		if ek != k {
			delete(c.entries, ek)
			c.bytes -= len(e.body)
		}
	}
}

// serve answers from the entry: its headers and body, or 304 when the
// request's ETag or date says the client has it (net/http's ServeContent
// reads the conditions, as for every page).
func (e *entry) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	for name, v := range e.header {
		h[name] = v
	}
	if conditional(r) {
		http.ServeContent(w, r, "", e.modified, bytes.NewReader(e.body))
		return
	}
	// A plain GET, most of them: the body in one write, as a static
	// handler does. ServeContent would send the header and the first 512
	// bytes, then the rest in 32 KiB writes, a system call each (the
	// Atom feed and the widget were at 0.62-0.66 of a static handler
	// through it, the small answers at 0.74-0.92).
	h.Set("Last-Modified", e.modified.Format(http.TimeFormat))
	h.Set("Content-Length", strconv.Itoa(len(e.body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(e.body)
	}
}

// conditions are the headers by which a request asks for part of the
// body or states what its client has: ServeContent's cases.
var conditions = []string{"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range", "Range"}

func conditional(r *http.Request) bool {
	for _, name := range conditions {
		if r.Header.Get(name) != "" {
			return true
		}
	}
	return false
}

// recorder keeps a handler's answer to store it before it goes out.
type recorder struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (rec *recorder) Header() http.Header { return rec.header }

func (rec *recorder) WriteHeader(status int) {
	if !rec.wrote {
		rec.status, rec.wrote = status, true
	}
}

func (rec *recorder) Write(p []byte) (int, error) {
	rec.wrote = true
	return rec.body.Write(p)
}

func (rec *recorder) tooBig(max int) bool { return rec.body.Len() > max }

// replay sends what was recorded as it was.
func (rec *recorder) replay(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	for name, v := range rec.header {
		h[name] = v
	}
	w.WriteHeader(rec.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(rec.body.Bytes())
	}
}
