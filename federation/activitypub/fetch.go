package activitypub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"crieur/federation/outbound"
)

// ErrForbiddenAddress is returned when a URL resolves to an address the
// SSRF guard refuses.
var ErrForbiddenAddress = outbound.ErrForbiddenAddress

// errGone: the remote document answered 410 (a deleted account).
var errGone = errors.New("gone (410)")

// maxFetchBytes bounds a remote actor or key document.
const maxFetchBytes = 1 << 20

// NewHTTPClient returns the guarded outbound client (see package outbound).
func NewHTTPClient(timeout time.Duration, allowPrivate bool) *http.Client {
	return outbound.NewClient(timeout, allowPrivate)
}

// remoteActor is what Crieur needs of a remote account.
type remoteActor struct {
	ID          string
	Inbox       string
	SharedInbox string
	Keys        map[string]string // key id -> PEM
	fetched     time.Time
}

type keyDoc struct {
	ID           string `json:"id"`
	Owner        string `json:"owner"`
	PublicKeyPem string `json:"publicKeyPem"`
}

// actorDoc decodes the fields Crieur reads from an actor, tolerating the
// shapes real servers send (publicKey as object or list).
type actorDoc struct {
	ID        string          `json:"id"`
	Type      any             `json:"type"`
	Inbox     string          `json:"inbox"`
	Endpoints json.RawMessage `json:"endpoints"`
	PublicKey json.RawMessage `json:"publicKey"`
	keyDoc
}

func (d actorDoc) keys() []keyDoc {
	var one keyDoc
	if json.Unmarshal(d.PublicKey, &one) == nil && one.ID != "" {
		return []keyDoc{one}
	}
	var many []keyDoc
	_ = json.Unmarshal(d.PublicKey, &many)
	return many
}

// fetcher gets remote documents with signed GETs and caches actors.
type fetcher struct {
	client *http.Client
	// sign signs a GET as one of our boards (authorized-fetch servers
	// refuse unsigned ones).
	sign func(ctx context.Context, r *http.Request) error
	ttl  time.Duration

	mu     sync.Mutex
	actors map[string]*remoteActor
}

func sameHost(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Host != "" && strings.EqualFold(ua.Host, ub.Host)
}

func (f *fetcher) get(ctx context.Context, raw string) ([]byte, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("fetch %q: not an http(s) URL", raw)
	}
	u.Fragment = ""
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", `application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"`)
	req.Header.Set("User-Agent", userAgent)
	if err := f.sign(ctx, req); err != nil {
		return nil, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusGone {
		return nil, fmt.Errorf("fetch %s: %w", u, errGone)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch %s: status %d", u, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxFetchBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	if len(body) > maxFetchBytes {
		return nil, fmt.Errorf("fetch %s: document larger than %d bytes", u, maxFetchBytes)
	}
	return body, nil
}

// actor returns the remote actor id, from the cache unless refresh.
func (f *fetcher) actor(ctx context.Context, id string, refresh bool) (*remoteActor, error) {
	f.mu.Lock()
	a, ok := f.actors[id]
	f.mu.Unlock()
	if ok && !refresh && time.Since(a.fetched) < f.ttl {
		return a, nil
	}
	body, err := f.get(ctx, id)
	if err != nil {
		return nil, err
	}
	var d actorDoc
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, fmt.Errorf("actor %s: %w", id, err)
	}
	if d.ID != id {
		return nil, fmt.Errorf("actor %s: document has id %q", id, d.ID)
	}
	if iu, err := url.Parse(d.Inbox); err != nil || (iu.Scheme != "https" && iu.Scheme != "http") || iu.Host == "" {
		return nil, fmt.Errorf("actor %s: missing or bad inbox", id)
	}
	a = &remoteActor{ID: d.ID, Inbox: d.Inbox, Keys: map[string]string{}, fetched: time.Now()}
	var ep struct {
		SharedInbox string `json:"sharedInbox"`
	}
	if json.Unmarshal(d.Endpoints, &ep) == nil {
		a.SharedInbox = ep.SharedInbox
	}
	for _, k := range d.keys() {
		if k.Owner == d.ID && k.PublicKeyPem != "" {
			a.Keys[k.ID] = k.PublicKeyPem
		}
	}
	f.mu.Lock()
	if len(f.actors) > 10000 {
		clear(f.actors) // crude bound; a hot cache refills in seconds
	}
	f.actors[id] = a
	f.mu.Unlock()
	return a, nil
}

// publicKey resolves keyID to its owner's actor and PEM. The key must be
// listed by an actor on the key's own host, so no server can speak for
// another's accounts.
func (f *fetcher) publicKey(ctx context.Context, keyID string, refresh bool) (owner string, pemKey string, err error) {
	ownerID := strings.SplitN(keyID, "#", 2)[0]
	if !strings.Contains(keyID, "#") {
		// A key with its own URL (GoToSocial's /main-key): read its owner.
		body, err := f.get(ctx, keyID)
		if err != nil {
			return "", "", err
		}
		var k keyDoc
		var d actorDoc
		if json.Unmarshal(body, &d) == nil && d.PublicKey != nil {
			ownerID = d.ID
		} else if json.Unmarshal(body, &k) == nil && k.Owner != "" {
			ownerID = k.Owner
		}
	}
	if !sameHost(ownerID, keyID) {
		return "", "", fmt.Errorf("key %s: owner %s is on another host", keyID, ownerID)
	}
	a, err := f.actor(ctx, ownerID, refresh)
	if err != nil {
		return "", "", err
	}
	p, ok := a.Keys[keyID]
	if !ok {
		return "", "", fmt.Errorf("key %s is not listed by actor %s", keyID, a.ID)
	}
	return a.ID, p, nil
}

func (f *fetcher) forget(id string) {
	f.mu.Lock()
	delete(f.actors, id)
	f.mu.Unlock()
}
