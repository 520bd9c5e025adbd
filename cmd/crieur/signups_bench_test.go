package main

// BenchmarkThousandSignUps: 1,000 people answer a call within about a
// second through the web form. It prints how long they took to be
// recorded, how long until a follower's server had the final count, and
// how many Updates that follower received (they are coalesced). It
// asserts nothing.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"crieur/board"
	"crieur/board/locale"
	"crieur/board/markdown"
	"crieur/board/store"
)

func BenchmarkThousandSignUps(b *testing.B) {
	for range b.N {
		ctx := context.Background()
		dir := b.TempDir()
		db, err := store.OpenDB(filepath.Join(dir, "crieur.db"))
		if err != nil {
			b.Fatal(err)
		}
		store, _ := store.New(ctx, db)
		svc := board.NewService(board.Options{Store: store, Markup: markdown.New(), Notices: locale.Notices{}})
		bd, _, _ := svc.EnsureBoard(ctx, "news", "News")
		token, _ := store.CreateToken(ctx, nil, "bench")
		var updates atomic.Int64
		var lastCount atomic.Int64
		var finalAt atomic.Int64
		inbox := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var act struct {
				Type   string `json:"type"`
				Object struct {
					OneOf []struct {
						Replies struct {
							TotalItems int64 `json:"totalItems"`
						} `json:"replies"`
					} `json:"oneOf"`
				} `json:"object"`
			}
			body, _ := io.ReadAll(r.Body)
			if json.Unmarshal(body, &act) == nil && act.Type == "Update" && len(act.Object.OneOf) > 0 {
				updates.Add(1)
				n := act.Object.OneOf[0].Replies.TotalItems
				lastCount.Store(n)
				if n == 1000 {
					finalAt.CompareAndSwap(0, time.Now().UnixNano())
				}
			}
			w.WriteHeader(http.StatusAccepted)
		}))
		b.Cleanup(inbox.Close)
		store.AddFollower(ctx, bd.ID, board.Follower{ActorID: inbox.URL + "/users/f", Inbox: inbox.URL + "/inbox", CreatedAt: time.Now()})
		db.Close()

		// One client sends the thousand: the per-network limit is off.
		c := startCrieur(b, dir, 0, "CRIEUR_LOG_LEVEL=warn", "CRIEUR_SIGNUPS_PER_HOUR=0")
		c.Token = token
		a, code := c.post(map[string]any{"kind": "call", "title": "Big clean-up", "call": map[string]any{
			"roles": []map[string]any{{"name": "helper", "places": 5000}}, "contact": "Ask Ana"}}, nil)
		if code != 201 {
			b.Fatalf("post: %d", code)
		}
		page := c.objectURL(a.ID)
		jobs := make(chan int)
		var wg sync.WaitGroup
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		// Each helper's form key comes from the page, as in a browser;
		// fetched before the clock starts.
		keys := make([]string, 1000)
		for i := range keys {
			resp, err := client.Get(page)
			if err != nil {
				b.Fatal(err)
			}
			html, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			m := regexp.MustCompile(`name="key" value="([^"]+)"`).FindSubmatch(html)
			if m == nil {
				b.Fatal("no sign-up form on the page")
			}
			keys[i] = string(m[1])
		}
		start := time.Now()
		for range 50 {
			wg.Go(func() {
				for i := range jobs {
					resp, err := client.PostForm(page+"/signup", url.Values{"name": {fmt.Sprintf("Helper %d", i)}, "role": {"helper"}, "key": {keys[i]}})
					if err != nil {
						b.Error(err)
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
		for i := range 1000 {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		recorded := time.Since(start)
		var st struct{ Taken map[string]int }
		c.api("GET", fmt.Sprintf("/api/v1/boards/news/announcements/%d/signups", a.ID), nil, nil, &st)
		deadline := time.Now().Add(30 * time.Second)
		for finalAt.Load() == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		everywhere := time.Duration(0)
		if f := finalAt.Load(); f != 0 {
			everywhere = time.Unix(0, f).Sub(start)
		}
		fmt.Printf("1,000 web sign-ups: recorded in %.2f s (%d taken; target < 2 s); the follower's server had the count 1,000 after %.2f s (target < 10 s) from %d Updates (last count %d)\n",
			recorded.Seconds(), st.Taken["helper"], everywhere.Seconds(), updates.Load(), lastCount.Load())
		b.ReportMetric(recorded.Seconds(), "recorded-s")
		b.ReportMetric(everywhere.Seconds(), "everywhere-s")
		b.ReportMetric(float64(updates.Load()), "updates")
	}
}
