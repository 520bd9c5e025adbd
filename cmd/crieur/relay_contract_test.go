package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-fed/httpsig"

	"crieur/board"
)

// contractRelay is a CONTRACT-TEST relay, NOT Activity-Relay: the LitePub
// side of a relay written from Activity-Relay v2's source, because the
// Activity-Relay the Go module proxy serves (1.2.6) speaks only
// Mastodon's protocol. What it does, and where v2 does it:
//   - checks every inbox POST as api/decode.go does: the draft-cavage
//     signature (go-fed/httpsig, rsa-sha256) with the key fetched at the
//     keyId, the Digest, then fetches the activity's actor;
//   - a Follow of its actor, addressed to it (the "LitePub Relay Style"
//     case of api/handle.go): Accept to the follower's inbox, the follower
//     kept, and a Follow back (executeFollowing, executeMutuallyFollow in
//     api/resolver.go);
//   - a public Create from a follower: an Announce of its object to every
//     other follower (executeRelayActivity with create-as-announce);
//   - an Undo of the Follow: the follower dropped (executeUnfollowing).
//
// One difference, on purpose: it takes a follower of any actor type, as
// Pleroma's relay does; Activity-Relay v2 takes Application actors only
// (isActorAbleToBeFollower) and would refuse a board.
type contractRelay struct {
	t   *testing.T
	srv *httptest.Server
	key *rsa.PrivateKey
	URL string

	mu        sync.Mutex
	followers map[string]string // actor -> inbox
	got       []map[string]any  // every verified activity
	refused   []string          // why POSTs were refused
}

func startContractRelay(t *testing.T) *contractRelay {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	r := &contractRelay{t: t, key: key, followers: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /actor", r.actor)
	mux.HandleFunc("POST /inbox", r.inbox)
	r.srv = httptest.NewServer(mux)
	t.Cleanup(r.srv.Close)
	r.URL = r.srv.URL
	return r
}

func (r *contractRelay) actorID() string { return r.URL + "/actor" }

func (r *contractRelay) actor(w http.ResponseWriter, _ *http.Request) {
	der, _ := x509.MarshalPKIXPublicKey(&r.key.PublicKey)
	w.Header().Set("Content-Type", "application/activity+json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"@context": []string{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
		"id":       r.actorID(), "type": "Application", "preferredUsername": "relay",
		"inbox": r.URL + "/inbox", "endpoints": map[string]any{"sharedInbox": r.URL + "/inbox"},
		"publicKey": map[string]any{"id": r.actorID() + "#main-key", "owner": r.actorID(),
			"publicKeyPem": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))},
	})
}

// relayRemoteActor is what the relay reads of an actor.
type relayRemoteActor struct {
	ID        string `json:"id"`
	Inbox     string `json:"inbox"`
	PublicKey struct {
		PublicKeyPem string `json:"publicKeyPem"`
	} `json:"publicKey"`
}

func fetchRelayActor(ctx context.Context, id string) (relayRemoteActor, error) {
	var a relayRemoteActor
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.SplitN(id, "#", 2)[0], nil)
	if err != nil {
		return a, err
	}
	req.Header.Set("Accept", "application/activity+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return a, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return a, fmt.Errorf("fetch %s: %d", id, resp.StatusCode)
	}
	return a, json.NewDecoder(resp.Body).Decode(&a)
}

func (r *contractRelay) refuse(w http.ResponseWriter, why string) {
	r.mu.Lock()
	r.refused = append(r.refused, why)
	r.mu.Unlock()
	http.Error(w, why, http.StatusUnauthorized)
}

func (r *contractRelay) inbox(w http.ResponseWriter, req *http.Request) {
	ctx := req.Context()
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		r.refuse(w, err.Error())
		return
	}
	req.Header.Set("Host", req.Host) // as api/decode.go: the signature covers it
	verifier, err := httpsig.NewVerifier(req)
	if err != nil {
		r.refuse(w, "signature: "+err.Error())
		return
	}
	signer, err := fetchRelayActor(ctx, verifier.KeyId())
	if err != nil {
		r.refuse(w, "key: "+err.Error())
		return
	}
	block, _ := pem.Decode([]byte(signer.PublicKey.PublicKeyPem))
	if block == nil {
		r.refuse(w, "key: no PEM")
		return
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		r.refuse(w, "key: "+err.Error())
		return
	}
	if err := verifier.Verify(pub, httpsig.RSA_SHA256); err != nil {
		r.refuse(w, "signature: "+err.Error())
		return
	}
	sum := sha256.Sum256(body)
	if req.Header.Get("Digest") != "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]) {
		r.refuse(w, "digest header is mismatch")
		return
	}
	var act map[string]any
	if err := json.Unmarshal(body, &act); err != nil {
		r.refuse(w, err.Error())
		return
	}
	actorID, _ := act["actor"].(string)
	actor, err := fetchRelayActor(ctx, actorID)
	if err != nil {
		r.refuse(w, "actor: "+err.Error())
		return
	}
	r.mu.Lock()
	r.got = append(r.got, act)
	r.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)

	// The answers go out after the 202, as Activity-Relay's jobs do.
	switch act["type"] {
	case "Follow":
		if act["object"] != r.actorID() || !addressedTo(act, r.actorID()) {
			return
		}
		go func() {
			r.send(actor.Inbox, map[string]any{"id": r.URL + "/activities/accept-" + randomHex(), "type": "Accept", "actor": r.actorID(), "object": act})
			r.mu.Lock()
			r.followers[actor.ID] = actor.Inbox
			r.mu.Unlock()
			r.send(actor.Inbox, map[string]any{"id": r.URL + "/activities/follow-" + randomHex(), "type": "Follow", "actor": r.actorID(),
				"object": actor.ID, "to": []string{actor.ID}})
		}()
	case "Undo":
		if inner, _ := act["object"].(map[string]any); inner["type"] == "Follow" {
			r.mu.Lock()
			delete(r.followers, actor.ID)
			r.mu.Unlock()
		}
	case "Create":
		r.mu.Lock()
		_, follows := r.followers[actor.ID]
		var others []string
		for id, inbox := range r.followers {
			if id != actor.ID {
				others = append(others, inbox)
			}
		}
		r.mu.Unlock()
		obj, _ := act["object"].(map[string]any)
		if !follows || !addressedTo(act, "https://www.w3.org/ns/activitystreams#Public") || obj["id"] == nil {
			return
		}
		announce := map[string]any{"id": r.URL + "/activities/announce-" + randomHex(), "type": "Announce", "actor": r.actorID(),
			"object": obj["id"], "to": []string{r.actorID() + "/followers"}}
		go func() {
			for _, inbox := range others {
				r.send(inbox, announce)
			}
		}()
	}
}

func addressedTo(act map[string]any, who string) bool {
	for _, k := range []string{"to", "cc"} {
		switch v := act[k].(type) {
		case string:
			if v == who {
				return true
			}
		case []any:
			if slices.Contains(v, any(who)) {
				return true
			}
		}
	}
	return false
}

// send POSTs activity to inbox, signed as the relay (deliver/sender.go).
func (r *contractRelay) send(inbox string, activity map[string]any) {
	activity["@context"] = "https://www.w3.org/ns/activitystreams"
	body, _ := json.Marshal(activity)
	req, _ := http.NewRequest(http.MethodPost, inbox, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/activity+json")
	req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	req.Header.Set("Host", req.URL.Host)
	signer, _, err := httpsig.NewSigner([]httpsig.Algorithm{httpsig.RSA_SHA256}, httpsig.DigestSha256,
		[]string{httpsig.RequestTarget, "Host", "Date", "Digest", "Content-Type"}, httpsig.Signature, 3600)
	if err == nil {
		err = signer.SignRequest(r.key, r.actorID()+"#main-key", req, body)
	}
	if err == nil {
		var resp *http.Response
		if resp, err = http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode >= 300 {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
	}
	if err != nil {
		r.mu.Lock()
		r.refused = append(r.refused, fmt.Sprintf("sending %v to %s: %v", activity["type"], inbox, err))
		r.mu.Unlock()
	}
}

func (r *contractRelay) follows(actor string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.followers[actor]
	return ok
}

func (r *contractRelay) received(typ string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, a := range r.got {
		if a["type"] == typ {
			n++
		}
	}
	return n
}

func randomHex() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// LitePub's way, against the contract-test relay above (not Activity-Relay):
// the board follows the relay's actor and is accepted; the relay follows
// the board back and Crieur accepts it; a post goes to the relay once
// (its inbox is both a relay's and a follower's) and the relay's Announce
// of it reaches the Fedify peer, which follows the relay but not the
// board; removing the relay sends the Undo and ends the relay's follow.
func TestRelayLitePubContract(t *testing.T) {
	t.Parallel()
	relay := startContractRelay(t)
	peer := startPeer(t)
	c := startCrieur(t, t.TempDir(), 0)
	defer func() {
		if t.Failed() {
			relay.mu.Lock()
			t.Logf("contract relay refused: %q", relay.refused)
			relay.mu.Unlock()
		}
	}()

	peerActor := peer.URL + "/users/alice"
	sent := peer.call("/_test/send", map[string]any{"url": relay.URL + "/inbox", "activity": map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": peer.URL + "/follows/relay", "type": "Follow",
		"actor": peerActor, "object": relay.actorID(), "to": []string{relay.actorID()},
	}})
	if fmt.Sprint(sent["status"]) != "202" {
		t.Fatalf("the relay answered the peer's follow with %v: %v", sent["status"], sent["body"])
	}
	waitFor(t, 20*time.Second, "the peer following the relay", func() bool { return relay.follows(peerActor) })

	out, err := c.cli("", "relay", "add", "news", relay.actorID())
	if err != nil {
		t.Fatalf("crieur relay add: %v\n%s", err, out)
	}
	r := c.waitRelayState(relay.actorID(), board.RelayAccepted)
	if r.Actor != relay.actorID() || r.Inbox != relay.URL+"/inbox" {
		t.Fatalf("the relay: %+v", r)
	}
	boardActor := c.URL + "/boards/news"
	waitFor(t, 20*time.Second, "the relay following the board back", func() bool {
		var fs []board.Follower
		c.api("GET", "/api/v1/boards/news/followers", nil, nil, &fs)
		return slices.ContainsFunc(fs, func(f board.Follower) bool { return f.ActorID == relay.actorID() })
	})
	if !relay.follows(boardActor) {
		t.Fatal("the relay did not keep the board as a follower")
	}

	a, code := c.post(map[string]any{"kind": "news", "title": "LitePub notice", "body": "Announced by the relay."}, nil)
	if code != http.StatusCreated {
		t.Fatalf("post: status %d", code)
	}
	waitFor(t, 30*time.Second, "the relay's Announce at the peer", func() bool {
		for _, s := range peer.signed() {
			if s.Activity["type"] == "Announce" && s.Activity["object"] == c.objectURL(a.ID) && strings.HasPrefix(s.Key, relay.actorID()) {
				return true
			}
		}
		return false
	})
	c.waitQueueIdle()
	if n := relay.received("Create"); n != 1 {
		t.Errorf("the relay got the Create %d times, want once", n)
	}

	rs := c.relays()
	if out, err := c.cli("", "relay", "remove", "news", fmt.Sprint(rs[0].ID)); err != nil {
		t.Fatalf("crieur relay remove: %v\n%s", err, out)
	}
	waitFor(t, 20*time.Second, "the relay dropping the board", func() bool { return !relay.follows(boardActor) })
	var fs []board.Follower
	c.api("GET", "/api/v1/boards/news/followers", nil, nil, &fs)
	if len(fs) != 0 {
		t.Errorf("followers after unsubscribing: %+v", fs)
	}
}
