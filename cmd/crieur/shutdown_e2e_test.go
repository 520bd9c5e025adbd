package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"crieur/cmd/crieur/app"
	"crieur/federation/activitypub"
	"crieur/federation/delivery"
	"crieur/federation/delivery/redistest"
	"crieur/federation/matrix"
)

// SIGTERM in the middle of a fan-out: serve finishes the deliveries in
// hand, hands back what it read ahead (a lease of a minute would otherwise
// delay them), and after a restart every inbox gets the post, with nothing
// lost.
func TestSIGTERMMidFanOutLosesNothing(t *testing.T) {
	t.Parallel() // waits more than it computes
	const followers = 400
	rs := redistest.Start(t)
	sinks := startSinks(t, 50, 200*time.Millisecond)
	dataDir, _, token := prepareBoard(t, sinks, followers)
	env := []string{"CRIEUR_REDIS_URL=" + rs.URL(), "CRIEUR_DELIVERY_TIMEOUT=5s", "CRIEUR_DELIVERY_LEASE=60s", "CRIEUR_DELIVERY_WORKERS=16"}
	c := startCrieur(t, dataDir, 0, env...)
	c.Token = token
	if _, code := c.post(map[string]any{"title": "General assembly"}, nil); code != http.StatusCreated {
		t.Fatalf("post: %d", code)
	}
	waitFor(t, 30*time.Second, "deliveries under way", func() bool {
		_, total := sinks.counts()
		return total >= 40
	})
	_, before := sinks.counts()
	stopped := time.Now()
	// What SIGTERM does to `crieur serve`: its context ends.
	stopErr := make(chan error, 1)
	go func() { stopErr <- c.Stop() }()
	select {
	case err := <-stopErr:
		if err != nil {
			t.Errorf("serve ended with %v after SIGTERM", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop within 20 s of SIGTERM")
	}
	took := time.Since(stopped)
	_, atExit := sinks.counts()
	q := delivery.NewRedisQueue(rs.Client(t), app.RedisPrefix, delivery.KindFanOut, activitypub.KindDeliver, matrix.KindSend)
	st, err := q.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Jobs read ahead for workers that had stopped stay in Redis's
	// pending list, handed back (idle past any lease): the next process
	// takes them at once. Before that fix they waited the 60 s lease.
	t.Logf("SIGTERM after %d of %d deliveries; stopped in %v with %d delivered, %d jobs left in the queue, %d of them read ahead and handed back",
		before, followers, took.Round(time.Millisecond), atExit, st["ready"], st["leased"])
	restarted := time.Now()
	c2 := startCrieur(t, dataDir, c.Port, env...)
	c2.Token = token
	waitFor(t, 30*time.Second, "every inbox after the restart (well before a 60 s lease ends)", func() bool {
		inboxes, _ := sinks.counts()
		return inboxes == followers
	})
	t.Logf("every inbox reached %v after the restart", time.Since(restarted).Round(time.Millisecond))
}
