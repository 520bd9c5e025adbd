package activitypub

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"crieur/board"
)

// remotePeer serves one actor with a key, as a remote server would.
func remotePeer(t *testing.T) (actor string, key *rsa.PrivateKey) {
	t.Helper()
	key, _ = rsa.GenerateKey(rand.Reader, 2048)
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := srv.URL + "/users/eve"
		pub, _ := x509MarshalPKIX(&key.PublicKey)
		w.Header().Set("Content-Type", contentTypeAP)
		json.NewEncoder(w).Encode(map[string]any{
			"id": id, "type": "Person", "inbox": id + "/inbox",
			"publicKey": map[string]any{"id": id + "#main-key", "owner": id, "publicKeyPem": pub},
		})
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/users/eve", key
}

func postSigned(t *testing.T, req *http.Request) int {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A Signature header naming headers= twice: the check read the first
// (everything covered), the library verified the last (date only), so a
// signature over the date alone let anyone swap the body.
func TestDuplicateSignatureParametersAreRefused(t *testing.T) {
	err := dateOnlySignature(`keyId="https://peer.example/users/eve#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest",headers="date",signature="%s"`)
	if !errors.Is(err, errSignature) || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("duplicate headers= accepted: %v", err)
	}
}

// The same signed request twice is acted on once; a request signed for
// another host is refused.
func TestReplaysAndOtherHostsAreRefused(t *testing.T) {
	_, hs, svc := newTestServer(t)
	ctx := t.Context()
	actor, key := remotePeer(t)
	b, _ := storeOf(svc).BoardByName(ctx, "news")
	a, _, _ := svc.Create(ctx, board.System, b, board.Draft{Title: "Hello"}, "")
	// like signs a Like for host (our host if ""), and returns a function
	// that makes the same signed request as often as needed.
	like := func(n int, host string) func() *http.Request {
		body, _ := json.Marshal(map[string]any{"id": fmt.Sprintf("%s#like-%d", actor, n), "type": "Like", "actor": actor,
			"object": fmt.Sprintf("%s/boards/news/a/%d", hs.URL, a.ID)})
		signed, _ := http.NewRequest("POST", hs.URL+"/inbox", bytes.NewReader(body))
		if host != "" {
			signed.URL.Host = host
		}
		signed.Header.Set("Content-Type", contentTypeAP)
		if err := signRequest(signed, key, actor+"#main-key", body); err != nil {
			t.Fatal(err)
		}
		return func() *http.Request {
			req, _ := http.NewRequest("POST", hs.URL+"/inbox", bytes.NewReader(body))
			req.Header = signed.Header.Clone()
			req.Host = signed.Header.Get("Host")
			return req
		}
	}
	send := like(1, "")
	first, replay := send(), send()
	if code := postSigned(t, first); code != 202 {
		t.Fatalf("first: %d", code)
	}
	// Undo of the like, then the like replayed: it must not come back.
	storeOf(svc).RemoveInteraction(ctx, actor, actor+"#like-1")
	if code := postSigned(t, replay); code != 401 {
		t.Fatalf("replay: %d, want 401", code)
	}
	if in, _ := storeOf(svc).Interactions(ctx, a.ID); len(in) != 0 {
		t.Fatalf("a replayed like was recorded: %v", in)
	}
	if code := postSigned(t, like(2, "other.example")()); code != 401 {
		t.Fatalf("a request signed for other.example: %d, want 401", code)
	}
	if code := postSigned(t, like(3, "")()); code != 202 {
		t.Fatalf("a fresh like: %d", code)
	}
}

func x509MarshalPKIX(pub *rsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// Bad-signature POSTs naming a key on a server that never answers cost one
// fetch, not one (or two) per POST, and every sender gets its answer
// within the key timeout.
func TestKeyFetchesAreMergedAndRemembered(t *testing.T) {
	s, hs, _ := newTestServer(t)
	s.fetch.keyTimeout = 500 * time.Millisecond
	var hits atomic.Int64
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	actor := hang.URL + "/users/mallory"
	wave := func() time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body, _ := json.Marshal(map[string]any{"id": fmt.Sprintf("%s#f%d", actor, i), "type": "Follow", "actor": actor, "object": hs.URL + "/boards/news"})
				req, _ := http.NewRequest("POST", hs.URL+"/inbox", bytes.NewReader(body))
				req.Header.Set("Content-Type", contentTypeAP)
				signRequest(req, key, actor+"#main-key", body)
				if code := postSigned(t, req); code != 401 {
					t.Errorf("POST %d: %d, want 401", i, code)
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
	if d := wave(); d > 3*time.Second {
		t.Errorf("50 POSTs took %s to be answered", d)
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("%d fetches of one key for 50 POSTs, want 1", n)
	}
	wave()
	if n := hits.Load(); n != 1 {
		t.Fatalf("%d fetches after a second wave, want the failure remembered", n)
	}
}

// A flood of unsigned POSTs is counted, and logged once a minute per
// source, not once per request.
func TestRefusalsAreCountedNotLoggedEachTime(t *testing.T) {
	s, hs, _ := newTestServer(t)
	var logs bytes.Buffer
	var mu sync.Mutex
	s.log = slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	reg := prometheus.NewRegistry()
	s.refused = newRefusals(reg)
	for range 300 {
		req, _ := http.NewRequest("POST", hs.URL+"/inbox", strings.NewReader(`{"type":"Follow"}`))
		req.Header.Set("Content-Type", contentTypeAP)
		if code := postSigned(t, req); code != 401 {
			t.Fatalf("unsigned POST: %d", code)
		}
	}
	mu.Lock()
	lines := strings.Count(logs.String(), "inbox: refused")
	mu.Unlock()
	if lines != 1 {
		t.Errorf("%d log lines for 300 unsigned POSTs from one source, want 1", lines)
	}
	if got := testutil.ToFloat64(s.refused.counter.WithLabelValues("unsigned")); got != 300 {
		t.Errorf("counter says %v refusals, want 300", got)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Point 8 of issue 23: a host's new followers arriving eight at a time
// all become followers (some told to come back, none refused), while
// POSTs naming made-up keys on another host make Crieur fetch from it
// no faster than the budget allows.
func TestKeyFetchBudgetDelaysButNeverRefuses(t *testing.T) {
	s, hs, svc := newTestServer(t)
	s.queue = discardQueue{}
	budget := fetchBudget{inFlight: 4, wait: 5 * time.Second, perSec: 20, burst: 20}
	s.fetch.budget = budget
	ctx := t.Context()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	pub, _ := x509MarshalPKIX(&key.PublicKey)
	var genuineHits, forgedHits atomic.Int64
	var peer *httptest.Server
	peer = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		genuineHits.Add(1)
		id := peer.URL + r.URL.Path
		w.Header().Set("Content-Type", contentTypeAP)
		json.NewEncoder(w).Encode(map[string]any{"id": id, "type": "Person", "inbox": id + "/inbox",
			"publicKey": map[string]any{"id": id + "#main-key", "owner": id, "publicKeyPem": pub}})
	}))
	defer peer.Close()
	victim := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		forgedHits.Add(1)
		http.NotFound(w, r)
	}))
	defer victim.Close()

	follow := func(actor string) *http.Request {
		body, _ := json.Marshal(map[string]any{"id": actor + "#follow", "type": "Follow", "actor": actor, "object": hs.URL + "/boards/news"})
		req, _ := http.NewRequest("POST", hs.URL+"/inbox", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentTypeAP)
		if err := signRequest(req, key, actor+"#main-key", body); err != nil {
			t.Fatal(err)
		}
		return req
	}
	// send posts req until it is answered for good, coming back when told.
	send := func(req *http.Request, body []byte) (code int, busy int) {
		for {
			again := req.Clone(ctx)
			again.Body = io.NopCloser(bytes.NewReader(body))
			resp, err := http.DefaultClient.Do(again)
			if err != nil {
				t.Error(err)
				return 0, busy
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable {
				return resp.StatusCode, busy
			}
			busy++
			after, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			if err != nil || after < 1 {
				t.Errorf("503 with Retry-After %q", resp.Header.Get("Retry-After"))
				return resp.StatusCode, busy
			}
			time.Sleep(time.Duration(after) * time.Second)
		}
	}

	const followers = 120
	var wg sync.WaitGroup
	var refused, toldToWait atomic.Int64
	work := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				req := follow(fmt.Sprintf("%s/users/u%d", peer.URL, i))
				body, _ := io.ReadAll(req.Body)
				code, busy := send(req, body)
				toldToWait.Add(int64(busy))
				if code != http.StatusAccepted {
					refused.Add(1)
					t.Errorf("follower %d: %d", i, code)
				}
			}
		}()
	}
	for i := range followers {
		work <- i
	}
	close(work)
	wg.Wait()
	b, _ := storeOf(svc).BoardByName(ctx, "news")
	if fs, _ := storeOf(svc).Followers(ctx, b.ID); len(fs) != followers || refused.Load() != 0 {
		t.Fatalf("%d of %d followers, %d refused", len(fs), followers, refused.Load())
	}
	if toldToWait.Load() == 0 {
		t.Fatal("120 new keys within the budget of 20: nobody was told to wait, so the budget was not exercised")
	}
	t.Logf("%d followers, %d answers of 503 with Retry-After, %d fetches", followers, toldToWait.Load(), genuineHits.Load())

	// Made-up keys on the victim: fetched within the budget, answered
	// 503 (come back) or 401 (the key does not exist), never accepted.
	start := time.Now()
	var codes sync.Map
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := follow(fmt.Sprintf("%s/users/x%d", victim.URL, i))
			code := postSigned(t, req)
			n, _ := codes.LoadOrStore(code, new(atomic.Int64))
			n.(*atomic.Int64).Add(1)
		}()
	}
	wg.Wait()
	allowed := int64(budget.burst) + int64(float64(budget.perSec)*time.Since(start).Seconds()) + 1
	if n := forgedHits.Load(); n > allowed {
		t.Fatalf("100 made-up keys caused %d fetches from the victim, budget %d", n, allowed)
	}
	codes.Range(func(k, v any) bool {
		if code := k.(int); code != http.StatusUnauthorized && code != http.StatusServiceUnavailable {
			t.Errorf("%d made-up keys answered %d", v.(*atomic.Int64).Load(), code)
		}
		return true
	})
	t.Logf("100 made-up keys: %d fetches from the victim in %s", forgedHits.Load(), time.Since(start).Round(time.Millisecond))
}
