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

	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"

	"crieur/board"
	"crieur/board/httpx"
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
	Username    string // preferredUsername
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
	Username  string          `json:"preferredUsername"`
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
//
// Key fetches happen on behalf of whoever POSTs to the inbox, so they are
// kept cheap to ask for: concurrent fetches of one actor are merged, a
// failure is remembered for a while, an actor is re-fetched at most once
// a minute, each fetch has a short timeout, and each host has a budget
// (see fetchBudget). Beyond the budget the sender is told to come back
// (board.TryLater: a 503 with Retry-After), never that its signature is bad: a
// genuine burst of new followers is delayed, not lost.
type fetcher struct {
	client    *http.Client
	userAgent string // what Crieur says it is: its version and its address
	// sign signs a GET as one of our boards (authorized-fetch servers
	// refuse unsigned ones).
	sign func(ctx context.Context, r *http.Request) error
	ttl  time.Duration
	// keyTimeout bounds one fetch made to check a signature.
	keyTimeout time.Duration

	// budget is the per-host allowance of fetches (zero: defaultBudget).
	budget    fetchBudget
	allowance *httpx.Allowance // fetches over time, per host

	mu       sync.Mutex
	actors   map[string]*remoteActor
	failures map[string]failedFetch   // actor id -> why and until when
	hosts    map[string]chan struct{} // slots for fetches in flight, per host
	flight   singleflight.Group
}

// fetchBudget is what one remote host may make Crieur fetch from it.
type fetchBudget struct {
	inFlight int           // fetches at once; more wait for a slot
	wait     time.Duration // how long a fetch waits for a slot
	perSec   rate.Limit    // fetches a second, sustained
	burst    int           // fetches at once after a quiet spell
}

// defaultBudget lets a host's new followers through a few dozen at once
// and two a second after that (7,200 an hour), while a stream of POSTs
// naming made-up keys on someone's server makes Crieur fetch from that
// server no faster than that.
var defaultBudget = fetchBudget{inFlight: 4, wait: 10 * time.Second, perSec: 2, burst: 60}

// errBusyFetching is why a fetch was not made now: the host's budget is
// spent (in a board.TryLater saying when to come back).
var errBusyFetching = fmt.Errorf("%w fetching keys from your server", board.ErrBusy)

func busy(after time.Duration) error { return &board.TryLater{Err: errBusyFetching, After: after} }

type failedFetch struct {
	err   error
	until time.Time
}

const (
	failureTTL      = time.Minute
	minRefresh      = time.Minute
	hostFetchLimit  = 4
	maxFailureCache = 10000
)

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
	req.Header.Set("User-Agent", f.userAgent)
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

// actor returns the remote actor id, from the cache unless refresh (and
// then only if the cached copy is over a minute old).
func (f *fetcher) actor(ctx context.Context, id string, refresh bool) (*remoteActor, error) {
	f.mu.Lock()
	a, ok := f.actors[id]
	failed, hasFailed := f.failures[id]
	f.mu.Unlock()
	if ok && time.Since(a.fetched) < f.ttl && (!refresh || time.Since(a.fetched) < minRefresh) {
		return a, nil
	}
	if hasFailed && time.Now().Before(failed.until) {
		return nil, failed.err
	}
	v, err := f.once(ctx, id, func(ctx context.Context) (any, error) { return f.fetchActor(ctx, id) })
	if err != nil {
		return nil, err
	}
	return v.(*remoteActor), nil
}

// once runs fetch for key once however many callers ask at the same time,
// remembering a failure for failureTTL. The fetch outlives a caller that
// gives up, within the key timeout.
func (f *fetcher) once(ctx context.Context, key string, fetch func(context.Context) (any, error)) (any, error) {
	v, err, _ := f.flight.Do(key, func() (any, error) {
		ctx := context.WithoutCancel(ctx)
		if f.keyTimeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, f.keyTimeout)
			defer cancel()
		}
		v, err := fetch(ctx)
		if err != nil && !errors.Is(err, errBusyFetching) {
			f.mu.Lock()
			if len(f.failures) >= maxFailureCache {
				clear(f.failures)
			}
			f.failures[key] = failedFetch{err: err, until: time.Now().Add(failureTTL)}
			f.mu.Unlock()
		}
		return v, err
	})
	return v, err
}

// limitedGet is get within the host's budget.
func (f *fetcher) limitedGet(ctx context.Context, raw string) ([]byte, error) {
	host := ""
	if u, err := url.Parse(raw); err == nil {
		host = strings.ToLower(u.Host)
	}
	slots, allowance := f.gate(host)
	if d, ok := allowance.Take(host, time.Now()); !ok {
		return nil, fmt.Errorf("fetch %s: %w", raw, busy(d))
	}
	wait := time.NewTimer(f.budgetOrDefault().wait)
	defer wait.Stop()
	select {
	case slots <- struct{}{}:
	case <-wait.C:
		return nil, fmt.Errorf("fetch %s: %w", raw, busy(f.budgetOrDefault().wait))
	case <-ctx.Done():
		return nil, fmt.Errorf("fetch %s: %w", raw, ctx.Err())
	}
	defer func() { <-slots }()
	return f.get(ctx, raw)
}

func (f *fetcher) budgetOrDefault() fetchBudget {
	if f.budget.inFlight == 0 {
		return defaultBudget
	}
	return f.budget
}

// gate returns host's slots, made on first use, and the allowance.
func (f *fetcher) gate(host string) (chan struct{}, *httpx.Allowance) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.budgetOrDefault()
	if f.allowance == nil {
		f.allowance = httpx.NewAllowance(b.perSec, b.burst)
	}
	if slots, ok := f.hosts[host]; ok {
		return slots, f.allowance
	}
	if f.hosts == nil || len(f.hosts) >= 10000 {
		// A flood of made-up hosts: start afresh rather than grow. Gates
		// in use keep working; the hosts only get a fresh allowance.
		f.hosts = map[string]chan struct{}{}
	}
	slots := make(chan struct{}, b.inFlight)
	f.hosts[host] = slots
	return slots, f.allowance
}

// fetchActor fetches and caches actor id.
func (f *fetcher) fetchActor(ctx context.Context, id string) (*remoteActor, error) {
	body, err := f.limitedGet(ctx, id)
	if err != nil {
		return nil, err
	}
	var d actorDoc
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, fmt.Errorf("actor %s: not a JSON object", id)
	}
	if d.ID != id {
		return nil, fmt.Errorf("actor %s: document has id %q", id, d.ID)
	}
	if iu, err := url.Parse(d.Inbox); err != nil || (iu.Scheme != "https" && iu.Scheme != "http") || iu.Host == "" {
		return nil, fmt.Errorf("actor %s: missing or bad inbox", id)
	}
	a := &remoteActor{ID: d.ID, Username: d.Username, Inbox: d.Inbox, Keys: map[string]string{}, fetched: time.Now()}
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
	delete(f.failures, id)
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
		f.mu.Lock()
		failed, hasFailed := f.failures["key "+keyID]
		f.mu.Unlock()
		if hasFailed && time.Now().Before(failed.until) {
			return "", "", failed.err
		}
		v, err := f.once(ctx, "key "+keyID, func(ctx context.Context) (any, error) {
			body, err := f.limitedGet(ctx, keyID)
			if err != nil {
				return "", err
			}
			var k keyDoc
			var d actorDoc
			if json.Unmarshal(body, &d) == nil && d.PublicKey != nil {
				return d.ID, nil
			} else if json.Unmarshal(body, &k) == nil && k.Owner != "" {
				return k.Owner, nil
			}
			return ownerID, nil
		})
		if err != nil {
			return "", "", err
		}
		ownerID = v.(string)
	}
	if !sameHost(ownerID, keyID) {
		return "", "", fmt.Errorf("key %s: owner %s is on another host", keyID, ownerID)
	}
	a, err := f.actor(ctx, ownerID, refresh)
	if err != nil {
		return "", "", err
	}
	p, ok := a.Keys[keyID]
	if !ok && keyID == a.ID && len(a.Keys) == 1 {
		// The key id is the actor itself, as Activity-Relay (up to 1.2)
		// signs: the actor's one key is meant. Mastodon takes it too
		// (app/services/activitypub/fetch_remote_key_service.rb: a key id
		// that fetches an actor stands for that actor's key).
		for _, only := range a.Keys {
			p, ok = only, true
		}
	}
	if !ok {
		return "", "", fmt.Errorf("key %s is not listed by actor %s", keyID, a.ID)
	}
	return a.ID, p, nil
}

func (f *fetcher) forget(id string) {
	f.mu.Lock()
	delete(f.actors, id)
	delete(f.failures, id)
	f.mu.Unlock()
}

// handle is the account's @user@host, or its id when it has no username.
func (a *remoteActor) handle() string {
	u, err := url.Parse(a.ID)
	if a.Username == "" || err != nil || u.Host == "" {
		return a.ID
	}
	return "@" + a.Username + "@" + u.Host
}
