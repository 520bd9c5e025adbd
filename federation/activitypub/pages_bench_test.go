package activitypub

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"crieur/board"
)

// BenchmarkPublicPagesAt10000 prints the median time of the board page,
// its feeds and its events view on a board with 10,000 announcements
// (target: each under 20 ms). It asserts nothing.
func BenchmarkPublicPagesAt10000(b *testing.B) {
	_, hs, svc := newTestServer(b)
	ctx := context.Background()
	bd, _ := storeOf(svc).BoardByName(ctx, "news")
	start := time.Now().Add(24 * time.Hour)
	for i := range 10000 {
		d := board.Draft{Title: fmt.Sprintf("Announcement %d", i), Body: "Some **text** for the page, with a [link](https://example.org).", Tags: []string{"bench", fmt.Sprintf("t%d", i%50)}}
		switch i % 4 {
		case 1:
			d.Kind, d.Event = board.KindEvent, &board.Event{Start: start.Add(time.Duration(i) * time.Hour), Place: "Hall"}
		case 2:
			d.Kind, d.Call = board.KindCall, &board.Call{Roles: []board.Role{{Name: "cook", Places: 3}}, Contact: "a@b.org"}
		}
		if _, _, err := svc.Create(ctx, board.System, bd, d, ""); err != nil {
			b.Fatal(err)
		}
	}
	for range b.N {
		for _, path := range []string{"/boards/news", "/boards/news?tag=t7", "/boards/news/feed.atom", "/boards/news/events", "/boards/news/events.ics"} {
			var times []time.Duration
			for range 100 {
				req, _ := http.NewRequest("GET", hs.URL+path, nil)
				req.Header.Set("Accept", "text/html")
				t0 := time.Now()
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				times = append(times, time.Since(t0))
				if resp.StatusCode != 200 {
					b.Fatalf("%s: %d", path, resp.StatusCode)
				}
			}
			slices.Sort(times)
			fmt.Printf("10,000 announcements: GET %-24s p50 %6.2f ms, p90 %6.2f ms (target p50 < 20 ms)\n", path,
				float64(times[50].Microseconds())/1000, float64(times[90].Microseconds())/1000)
		}
	}
}
