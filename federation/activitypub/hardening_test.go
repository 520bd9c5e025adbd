package activitypub

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
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
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	body := []byte(`{"type":"Delete"}`)
	r := httptest.NewRequest("POST", "https://board.example/inbox", bytes.NewReader(body))
	date := time.Now().UTC().Format(http.TimeFormat)
	r.Header.Set("Date", date)
	// The sender controls the Digest; only the signature was meant to bind it.
	sum := sha256.Sum256(body)
	r.Header.Set("Digest", "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]))
	h := sha256.Sum256([]byte("date: " + date))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, h[:])
	r.Header.Set("Signature", fmt.Sprintf(`keyId="https://peer.example/users/eve#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest",headers="date",signature="%s"`,
		base64.StdEncoding.EncodeToString(sig)))
	err := checkSignedParts(r, body, time.Now())
	if err == nil {
		err = verifySignature(r, &key.PublicKey)
	}
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
