package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Issue 27: the public pages and documents are kept rendered and answer
// conditional requests with 304, and they change as soon as the store
// does, whoever wrote: the server itself (the admin API) or another
// process on the same data folder (the CLI).
func TestPublicPagesKeptUntilTheStoreChanges(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := startCrieur(t, dir, 0)
	if _, code := c.post(map[string]any{"kind": "news", "title": "First notice", "body": "Hello."}, nil); code != http.StatusCreated {
		t.Fatalf("post: %d", code)
	}
	get := func(url, accept string, header ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Accept", accept)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	page := c.URL + "/boards/news"

	first, html := get(page, "text/html")
	again, same := get(page, "text/html")
	etag, modified := first.Header.Get("ETag"), first.Header.Get("Last-Modified")
	if first.StatusCode != 200 || etag == "" || modified == "" || again.Header.Get("ETag") != etag || same != html {
		t.Fatalf("the board's page twice: %d, ETag %q then %q, Last-Modified %q", first.StatusCode, etag, again.Header.Get("ETag"), modified)
	}
	if r, body := get(page, "text/html", "If-None-Match", etag); r.StatusCode != http.StatusNotModified || body != "" {
		t.Errorf("If-None-Match with its ETag: %d", r.StatusCode)
	}
	if r, _ := get(page, "text/html", "If-Modified-Since", modified); r.StatusCode != http.StatusNotModified {
		t.Errorf("If-Modified-Since its date: %d", r.StatusCode)
	}
	// The same address as ActivityPub is another document, kept apart.
	if r, actor := get(page, "application/activity+json"); !strings.Contains(r.Header.Get("Content-Type"), "json") || !strings.Contains(actor, `"inbox"`) {
		t.Fatalf("the actor: %s %s", r.Header.Get("Content-Type"), actor)
	}
	localPosts := func() float64 {
		_, body := get(c.URL+"/nodeinfo/2.1", "application/json")
		var ni struct {
			Usage struct {
				LocalPosts float64 `json:"localPosts"`
			} `json:"usage"`
		}
		if err := json.Unmarshal([]byte(body), &ni); err != nil {
			t.Fatalf("nodeinfo: %v %s", err, body)
		}
		return ni.Usage.LocalPosts
	}
	if n := localPosts(); n != 1 {
		t.Fatalf("nodeinfo counts %v posts, want 1", n)
	}

	// Written through the server: shown at once.
	if _, code := c.post(map[string]any{"kind": "news", "title": "Second notice", "body": "Again."}, nil); code != http.StatusCreated {
		t.Fatalf("post: %d", code)
	}
	if r, body := get(page, "text/html", "If-None-Match", etag); r.StatusCode != 200 || !strings.Contains(body, "Second notice") || r.Header.Get("ETag") == etag {
		t.Errorf("after a post, the page with the old ETag: %d, ETag %q, new post shown: %v", r.StatusCode, r.Header.Get("ETag"), strings.Contains(body, "Second notice"))
	}
	if n := localPosts(); n != 2 {
		t.Errorf("nodeinfo counts %v posts after the second, want 2", n)
	}

	// Written by another process on the same data folder (its own store
	// and connection): shown within the second the server trusts the
	// version it read, on the page and on the actor.
	if out, err := runCLI("", nil, "board", "set", "news", "--summary", "Written by the CLI", "--data", dir); err != nil {
		t.Fatalf("crieur board set: %v\n%s", err, out)
	}
	// (The second itself is TestOtherProcessesWritesShowWithinASecond's,
	// on a clock of its own; here, a bound.)
	waitFor(t, 10*time.Second, "the CLI's write on the board's page", func() bool {
		_, body := get(page, "text/html")
		return strings.Contains(body, "Written by the CLI")
	})
	if _, actor := get(page, "application/activity+json"); !strings.Contains(actor, "Written by the CLI") {
		t.Errorf("the actor does not show what the CLI wrote: %s", actor)
	}
}
