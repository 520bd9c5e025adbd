package activitypub

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"crieur/board"
	"crieur/board/httpx"
	"crieur/board/locale"
	"crieur/board/markdown"
	"crieur/board/media"
	"crieur/board/store"
	"crieur/board/store/storetest"
	"crieur/board/web"
	"crieur/federation/delivery"
)

func TestSignThenVerify(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	body := []byte(`{"type":"Create"}`)
	newReq := func() *http.Request {
		r := httptest.NewRequest("POST", "https://remote.example/inbox", bytes.NewReader(body))
		r.Header.Set("Content-Type", contentTypeAP)
		if err := signRequest(r, key, "https://here.example/boards/news#main-key", body); err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := newReq()
	if err := checkSignedParts(r, body, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := verifySignature(r, &key.PublicKey); err != nil {
		t.Fatal(err)
	}
	if id, _ := signatureKeyID(r); id != "https://here.example/boards/news#main-key" {
		t.Fatalf("keyId = %q", id)
	}
	if err := verifySignature(r, &other.PublicKey); !errors.Is(err, errSignature) {
		t.Fatalf("other key verified: %v", err)
	}
	if err := checkSignedParts(newReq(), []byte(`{"type":"Delete"}`), time.Now()); !errors.Is(err, errSignature) {
		t.Fatalf("tampered body passed: %v", err)
	}
	if err := checkSignedParts(newReq(), body, time.Now().Add(2*time.Hour)); !errors.Is(err, errSignature) {
		t.Fatalf("stale date passed: %v", err)
	}
	r = newReq()
	r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), "digest", "", 1))
	if err := checkSignedParts(r, body, time.Now()); err == nil || !strings.Contains(err.Error(), "digest") {
		t.Fatalf("unsigned digest header passed: %v", err)
	}
	r = newReq()
	r.Header.Del("Signature")
	if err := checkSignedParts(r, body, time.Now()); !errors.Is(err, errSignature) {
		t.Fatalf("unsigned request passed: %v", err)
	}
	g := httptest.NewRequest("GET", "https://remote.example/users/a", nil)
	g.Header.Set("Accept", contentTypeAP)
	if err := signRequest(g, key, "k", nil); err != nil || !strings.Contains(g.Header.Get("Signature"), `headers="(request-target) host date accept"`) {
		t.Fatalf("GET signature: %q %v", g.Header.Get("Signature"), err)
	}
}

func TestClassifyDeliveryAnswers(t *testing.T) {
	cases := []struct {
		code       int
		retryAfter string
		permanent  bool
		after      time.Duration
	}{
		{202, "", false, 0},
		{500, "", false, 0},
		{502, "", false, 0},
		{408, "", false, 0},
		{429, "120", false, 2 * time.Minute},
		{503, "30", false, 30 * time.Second},
		{400, "", true, 0},
		{401, "", true, 0},
		{404, "", true, 0},
		{410, "", true, 0},
	}
	for _, c := range cases {
		resp := &http.Response{StatusCode: c.code, Header: http.Header{}}
		if c.retryAfter != "" {
			resp.Header.Set("Retry-After", c.retryAfter)
		}
		err := classifyStatus(resp)
		if c.code < 300 {
			if err != nil {
				t.Errorf("%d: %v", c.code, err)
			}
			continue
		}
		var perm *delivery.PermanentError
		if errors.As(err, &perm) != c.permanent {
			t.Errorf("%d: permanent = %v, want %v", c.code, !c.permanent, c.permanent)
		}
		var ra *delivery.RetryAfterError
		if c.after > 0 && (!errors.As(err, &ra) || ra.After != c.after) {
			t.Errorf("%d: Retry-After not passed on: %v", c.code, err)
		}
	}
}

func TestSSRFGuard(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	_, err := NewHTTPClient(time.Second, false).Get(srv.URL)
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("loopback fetch: %v, want ErrForbiddenAddress", err)
	}
	var perm *delivery.PermanentError
	if !errors.As(classifyNetError(err), &perm) {
		t.Fatal("a forbidden address is retried")
	}
	resp, err := NewHTTPClient(time.Second, true).Get(srv.URL)
	if err != nil {
		t.Fatalf("allowed loopback fetch: %v", err)
	}
	resp.Body.Close()
}

// testStores is the store of each test service, for the tests that read or
// seed it directly.
var (
	testStoresMu sync.Mutex
	testStores   = map[*board.Service]*store.Store{}
)

func storeOf(svc *board.Service) *store.Store {
	testStoresMu.Lock()
	defer testStoresMu.Unlock()
	return testStores[svc]
}

func newTestServer(t testing.TB) (*Server, *httptest.Server, *board.Service) {
	t.Helper()
	ctx := context.Background()
	store, _ := storetest.Open(t)
	pictures := media.Dir(t.TempDir())
	svc := board.NewService(board.Options{Store: store, Markup: markdown.New(), Notices: locale.Notices{}, Pictures: pictures})
	testStoresMu.Lock()
	testStores[svc] = store
	testStoresMu.Unlock()
	if _, _, err := svc.EnsureBoard(ctx, "news", "News"); err != nil {
		t.Fatal(err)
	}
	mux := httpx.NewRoutes()
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	urls, _ := NewURLs(hs.URL)
	log := slog.New(slog.DiscardHandler)
	pages := web.NewPages(store, svc, urls, pictures, log)
	s := NewServer(urls, store, pages, nil, Options{AllowPrivateAddresses: true}, log)
	s.Register(mux)
	pages.Register(mux)
	return s, hs, svc
}

func get(t *testing.T, url, accept string) (int, string, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

func TestPublicDocuments(t *testing.T) {
	_, hs, svc := newTestServer(t)
	host := strings.TrimPrefix(hs.URL, "http://")
	code, ct, body := get(t, hs.URL+"/.well-known/webfinger?resource=acct:news@"+host, "")
	var jrd struct {
		Subject string
		Links   []map[string]string
	}
	json.Unmarshal(body, &jrd)
	if code != 200 || ct != contentTypeJRD || jrd.Subject != "acct:news@"+host || jrd.Links[0]["href"] != hs.URL+"/boards/news" {
		t.Fatalf("webfinger: %d %s %s", code, ct, body)
	}
	// What an administrator checking an address by hand reads.
	for _, c := range []struct {
		resource string
		code     int
		says     string
	}{
		{"acct:nobody@" + host, 404, `no board named "nobody" on ` + host},
		{"acct:news@elsewhere.example", 404, "this server is " + host + `: it has no accounts on "elsewhere.example"`},
		{"acct:news", 400, "resource must be acct:board@" + host},
	} {
		code, _, body := get(t, hs.URL+"/.well-known/webfinger?resource="+c.resource, "")
		if code != c.code || !strings.Contains(string(body), c.says) {
			t.Errorf("webfinger %s: %d %q, want %d saying %q", c.resource, code, body, c.code, c.says)
		}
	}

	for _, accept := range []string{contentTypeAP, `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`} {
		code, ct, body = get(t, hs.URL+"/boards/news", accept)
		var actor map[string]any
		json.Unmarshal(body, &actor)
		pk, _ := actor["publicKey"].(map[string]any)
		if code != 200 || !strings.HasPrefix(ct, contentTypeAP) || actor["id"] != hs.URL+"/boards/news" || actor["type"] != "Organization" ||
			pk["owner"] != actor["id"] || !strings.Contains(pk["publicKeyPem"].(string), "PUBLIC KEY") {
			t.Fatalf("actor as %s: %d %s %s", accept, code, ct, body)
		}
	}
	if code, ct, body := get(t, hs.URL+"/boards/news", "text/html"); code != 200 || !strings.HasPrefix(ct, "text/html") || !strings.Contains(string(body), "@news@"+host) {
		t.Fatalf("board page: %d %s", code, ct)
	}

	b, _ := storeOf(svc).BoardByName(context.Background(), "news")
	for i := range 25 {
		if _, _, err := svc.Create(context.Background(), board.System, b, board.Draft{Title: "post " + string(rune('a'+i))}, ""); err != nil {
			t.Fatal(err)
		}
	}
	_, _, body = get(t, hs.URL+"/boards/news/outbox", contentTypeAP)
	var coll map[string]any
	json.Unmarshal(body, &coll)
	if coll["totalItems"] != float64(25) {
		t.Fatalf("outbox: %s", body)
	}
	_, _, body = get(t, coll["first"].(string), contentTypeAP)
	var page map[string]any
	json.Unmarshal(body, &page)
	if len(page["orderedItems"].([]any)) != outboxPageSize || page["next"] == nil {
		t.Fatalf("outbox first page: %d items, next %v", len(page["orderedItems"].([]any)), page["next"])
	}
	_, _, body = get(t, page["next"].(string), contentTypeAP)
	page = nil
	json.Unmarshal(body, &page)
	if len(page["orderedItems"].([]any)) != 5 || page["next"] != nil {
		t.Fatalf("outbox second page: %s", body)
	}
	if code, _, _ := get(t, hs.URL+"/boards/news/a/1", contentTypeAP); code != 200 {
		t.Fatalf("object: %d", code)
	}
	if code, _, _ := get(t, hs.URL+"/boards/news/a/999", contentTypeAP); code != 404 {
		t.Fatalf("missing object: %d", code)
	}
	for _, alias := range []string{"+1", "00001", "01"} {
		for _, accept := range []string{contentTypeAP, "text/html"} {
			if code, _, _ := get(t, hs.URL+"/boards/news/a/"+alias, accept); code != 404 {
				t.Errorf("/a/%s as %s: %d, want 404 (one address per announcement)", alias, accept, code)
			}
		}
	}
	_, _, body = get(t, hs.URL+"/nodeinfo/2.1", "")
	var ni map[string]any
	json.Unmarshal(body, &ni)
	if ni["version"] != "2.1" || ni["usage"].(map[string]any)["localPosts"] != float64(25) {
		t.Fatalf("nodeinfo: %s", body)
	}
}

func TestExpandDedupesAndOrdersInboxes(t *testing.T) {
	s, _, svc := newTestServer(t)
	ctx := context.Background()
	b, _ := storeOf(svc).BoardByName(ctx, "news")
	for _, f := range []board.Follower{
		{ActorID: "https://a.example/users/1", Inbox: "https://a.example/users/1/inbox", SharedInbox: "https://a.example/inbox"},
		{ActorID: "https://a.example/users/2", Inbox: "https://a.example/users/2/inbox", SharedInbox: "https://a.example/inbox"},
		{ActorID: "https://b.example/users/3", Inbox: "https://b.example/users/3/inbox"},
		{ActorID: "https://b.example/users/4", Inbox: "https://b.example/users/4/inbox"},
		{ActorID: "https://c.example/users/5", Inbox: "https://c.example/users/5/inbox"},
		{ActorID: "https://d.example/users/6", Inbox: "https://d.example/users/6/inbox", SharedInbox: "https://d.example/inbox"},
	} {
		storeOf(svc).AddFollower(ctx, b.ID, f)
	}
	a, _, _ := svc.Create(ctx, board.System, b, board.Draft{Title: "Hello"}, "")
	entries, _ := storeOf(svc).PendingOutbox(ctx, 1)
	jobs, err := s.Expand(ctx, entries[0])
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, j := range jobs {
		targets = append(targets, j.Target)
		var p deliverPayload
		json.Unmarshal(j.Payload, &p)
		var act map[string]any
		json.Unmarshal(p.Activity, &act)
		if act["type"] != "Create" || act["id"] != s.urls.ActivityID("news", a.ID, board.VerbCreate, 1) || p.KeyID != s.urls.KeyID("news") {
			t.Fatalf("job payload: %s", j.Payload)
		}
		if strings.Contains(string(j.Payload), "PRIVATE") {
			t.Fatal("a private key reached a queue payload")
		}
	}
	// Shared inboxes first, then personal inboxes taking hosts in turn.
	want := "https://a.example/inbox https://d.example/inbox https://b.example/users/3/inbox https://c.example/users/5/inbox https://b.example/users/4/inbox"
	if strings.Join(targets, " ") != want {
		t.Fatalf("targets = %v", targets)
	}
}

// A deleted account's Delete of itself cannot be verified (its key now
// answers 410); it still removes the follower, and nothing else gets
// through that way.
func TestDeleteFromGoneAccount(t *testing.T) {
	_, hs, svc := newTestServer(t)
	ctx := context.Background()
	gone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusGone) }))
	defer gone.Close()
	actor := gone.URL + "/users/bob"
	b, _ := storeOf(svc).BoardByName(ctx, "news")
	storeOf(svc).AddFollower(ctx, b.ID, board.Follower{ActorID: actor, Inbox: actor + "/inbox", CreatedAt: time.Now()})
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	post := func(activity map[string]any) int {
		body, _ := json.Marshal(activity)
		req, _ := http.NewRequest("POST", hs.URL+"/inbox", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentTypeAP)
		if err := signRequest(req, key, actor+"#main-key", body); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(map[string]any{"id": actor + "#follow", "type": "Follow", "actor": actor, "object": hs.URL + "/boards/news"}); code != 401 {
		t.Fatalf("Follow from a gone account: %d, want 401", code)
	}
	if code := post(map[string]any{"id": actor + "#del-note", "type": "Delete", "actor": actor, "object": actor + "/statuses/1"}); code != 401 {
		t.Fatalf("Delete of a note by a gone account: %d, want 401", code)
	}
	if n, _ := storeOf(svc).CountFollowers(ctx, b.ID); n != 1 {
		t.Fatal("follower removed too early")
	}
	if code := post(map[string]any{"id": actor + "#delete", "type": "Delete", "actor": actor, "object": actor}); code != 202 {
		t.Fatalf("Delete of a gone account: %d, want 202", code)
	}
	if n, _ := storeOf(svc).CountFollowers(ctx, b.ID); n != 0 {
		t.Fatal("the gone account still follows")
	}
}

// A `crieur deliver` worker without a board's key file keeps the
// deliveries waiting (retried, the host's health untouched) until the
// operator adds the file; then they go out. A bad board name is final.
func TestMissingKeyFileWaitsForTheOperator(t *testing.T) {
	var got atomic.Int64
	inbox := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Signature") == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		got.Add(1)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer inbox.Close()
	dir := t.TempDir()
	d := &Deliverer{Client: inbox.Client(), Keys: &FileKeys{Dir: dir}, UserAgent: "test"}
	job, err := DeliveryJob("j1", 1, "news", "https://board.example/boards/news#main-key", inbox.URL+"/inbox", map[string]any{"type": "Create"})
	if err != nil {
		t.Fatal(err)
	}
	err = d.Handle(context.Background(), job)
	var local *delivery.LocalError
	var perm *delivery.PermanentError
	if !errors.As(err, &local) || errors.As(err, &perm) || !strings.Contains(err.Error(), "crieur board key news") {
		t.Fatalf("missing key file: %v; want a local, retried error saying how to export the key", err)
	}
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := os.WriteFile(filepath.Join(dir, "news.pem"), pemKey, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.Handle(context.Background(), job); !errors.As(err, &local) || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("key file readable by others: %v; want a local error asking for chmod 600", err)
	}
	os.Chmod(filepath.Join(dir, "news.pem"), 0o600)
	if err := d.Handle(context.Background(), job); err != nil || got.Load() != 1 {
		t.Fatalf("after the fix: %v, %d deliveries", err, got.Load())
	}
	bad, _ := DeliveryJob("j2", 1, "../etc", "https://board.example/boards/x#main-key", inbox.URL+"/inbox", map[string]any{"type": "Create"})
	if err := d.Handle(context.Background(), bad); !errors.As(err, &perm) {
		t.Fatalf("bad board name: %v, want a permanent error", err)
	}
}
