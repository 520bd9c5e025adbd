package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"crieur/board"
	"crieur/federation/delivery/redistest"
)

// activityRelay is a running Activity-Relay (github:yukimochi/Activity-Relay,
// v1.2.6, the newest version the Go module proxy serves): its API server
// and its job worker on a Redis of their own, behind an https front on
// loopback. The relay calls itself https://RELAY_DOMAIN whatever it
// listens on (models/config.go: url.ParseRequestURI("https://" +
// RELAY_DOMAIN)) and serves plain http on RELAY_BIND, so a TLS reverse
// proxy with a test CA stands in front of it; Crieur (SSL_CERT_FILE) and
// the Fedify peer (NODE_EXTRA_CA_CERTS) trust that CA. It reaches Crieur
// and the peer over plain http on loopback: it fetches whatever URL a
// keyId or an actor names, with no address check (models.RetrieveRemoteActor).
type activityRelay struct {
	t      *testing.T
	bin    string
	config string
	URL    string // https://127.0.0.1:PORT, its ids' base
	CA     string // the test CA's certificate file
	redis  *redis.Client
}

var (
	relayBinOnce sync.Once
	relayBin     string
	relayBinErr  error
)

// activityRelayBinary is the Activity-Relay binary: the one the test
// command built in the background (CRIEUR_TEST_ACTIVITY_RELAY, ready once
// its .done file holds the build's exit status), or one built here from
// testdata/activity-relay, once per run.
func activityRelayBinary(t *testing.T) string {
	t.Helper()
	relayBinOnce.Do(func() {
		dir := os.Getenv("CRIEUR_TEST_ACTIVITY_RELAY")
		if dir != "" {
			dir, relayBinErr = waitForBuild(dir, 10*time.Minute)
		} else if dir, relayBinErr = os.MkdirTemp("", "crieur-activity-relay"); relayBinErr == nil {
			src, _ := filepath.Abs("testdata/activity-relay")
			cmd := exec.Command("go", "install", "tool")
			cmd.Dir = src
			cmd.Env = append(os.Environ(), "GOBIN="+dir, "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=")
			if out, err := cmd.CombinedOutput(); err != nil {
				relayBinErr = fmt.Errorf("build activity-relay: %v\n%s", err, out)
			}
		}
		relayBin = filepath.Join(dir, "Activity-Relay")
	})
	if relayBinErr != nil {
		t.Fatal(relayBinErr)
	}
	return relayBin
}

func startActivityRelay(t *testing.T) *activityRelay {
	t.Helper()
	bin := activityRelayBinary(t)
	rs := redistest.Start(t)
	dir := t.TempDir()
	caFile, certFile, keyFile := testCA(t, dir)

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	// readPrivateKeyRSA (models/utils.go) reads PKCS#1 only.
	pemPath := filepath.Join(dir, "actor.pem")
	if err := os.WriteFile(pemPath, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		t.Fatal(err)
	}
	httpPort, tlsPort := freePort(t), freePort(t)
	r := &activityRelay{t: t, bin: bin, config: filepath.Join(dir, "config.yml"), CA: caFile,
		URL: fmt.Sprintf("https://127.0.0.1:%d", tlsPort), redis: rs.Client(t)}
	config := fmt.Sprintf("ACTOR_PEM: %s\nREDIS_URL: %s\nRELAY_BIND: 127.0.0.1:%d\nRELAY_DOMAIN: 127.0.0.1:%d\nRELAY_SERVICENAME: Crieur test relay\nJOB_CONCURRENCY: 4\n",
		pemPath, rs.URL(), httpPort, tlsPort)
	if err := os.WriteFile(r.config, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}

	// The https front keeps the Host the sender signed.
	backend, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", httpPort))
	front := &http.Server{Handler: httputil.NewSingleHostReverseProxy(backend), ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", tlsPort))
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = front.ServeTLS(ln, certFile, keyFile) }()
	t.Cleanup(func() { _ = front.Close() })

	for _, role := range []string{"server", "worker"} {
		log := &logBuffer{}
		cmd := exec.Command(bin, "--config", r.config, role)
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			if t.Failed() {
				t.Logf("activity-relay %s log:\n%s", role, tail(log.String(), 40))
			}
		})
	}
	waitFor(t, 20*time.Second, "Activity-Relay's actor", func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/actor", httpPort))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return r
}

// control runs the relay's management command (control/ in its source).
func (r *activityRelay) control(args ...string) string {
	r.t.Helper()
	out, err := exec.Command(r.bin, append([]string{"--config", r.config, "control"}, args...)...).CombinedOutput()
	if err != nil {
		r.t.Fatalf("activity-relay control %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// subscribed reports whether the relay holds a subscription for host
// (its state in Redis: relay:subscription:HOST, models/state.go).
func (r *activityRelay) subscribed(host string) bool {
	r.t.Helper()
	n, err := r.redis.Exists(context.Background(), "relay:subscription:"+host).Result()
	if err != nil {
		r.t.Fatal(err)
	}
	return n == 1
}

func (c *crieurProc) relays() []board.Relay {
	c.t.Helper()
	var out struct {
		Relays []board.Relay `json:"relays"`
	}
	if code := c.api("GET", "/api/v1/boards/news/relays", nil, nil, &out); code != http.StatusOK {
		c.t.Fatalf("relays: status %d", code)
	}
	return out.Relays
}

func (c *crieurProc) waitRelayState(url, state string) board.Relay {
	c.t.Helper()
	var got board.Relay
	waitFor(c.t, 30*time.Second, "relay "+url+" "+state, func() bool {
		for _, r := range c.relays() {
			if r.URL == url {
				got = r
				return r.State == state
			}
		}
		return false
	})
	return got
}

// signedActivity is what the peer's inbox took with a valid signature.
type signedActivity struct {
	Key      string         `json:"key"`
	Activity map[string]any `json:"activity"`
}

func (p *fedifyPeer) signed() []signedActivity {
	p.t.Helper()
	var s struct {
		Signed []signedActivity `json:"signed"`
	}
	p.get("/_test/state", &s)
	return s.Signed
}

// Acceptance (issue 26): a board subscribed to a running Activity-Relay
// has its post delivered to a server that does not follow it (the Fedify
// peer, itself subscribed to the relay): as the Create the relay passes
// on, then, the relay set to create-as-announce, as its Announce. On the way: the relay refuses
// the board while its domain is blocked there (pending → refused),
// accepts it once unblocked (pending → accepted), and removing the relay
// sends the Undo, which ends the subscription at the relay.
func TestRelayActivityRelayForwardsToNonFollowers(t *testing.T) {
	t.Parallel()
	relay := startActivityRelay(t)
	peer := startPeerIn(t, "fedify-peer", "node", "NODE_EXTRA_CA_CERTS="+relay.CA)
	c := startCrieurProcess(t, t.TempDir(), 0, "SSL_CERT_FILE="+relay.CA)
	crieurHost := strings.TrimPrefix(c.URL, "http://")
	peerHost := strings.TrimPrefix(peer.URL, "http://")

	// The peer subscribes to the relay, the Mastodon way.
	sent := peer.call("/_test/send", map[string]any{"url": relay.URL + "/inbox", "activity": map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       peer.URL + "/follows/relay", "type": "Follow",
		"actor": peer.URL + "/users/alice", "object": "https://www.w3.org/ns/activitystreams#Public",
	}})
	if fmt.Sprint(sent["status"]) != "202" {
		t.Fatalf("the relay answered the peer's follow with %v: %v", sent["status"], sent["body"])
	}
	waitFor(t, 20*time.Second, "the peer subscribed at the relay", func() bool { return relay.subscribed(peerHost) })

	// Refused: the relay rejects a blocked domain's follow.
	relay.control("domain", "set", "-t", "blocked", crieurHost)
	inbox := relay.URL + "/inbox"
	var added board.Relay
	if code := c.api("POST", "/api/v1/boards/news/relays", map[string]any{"url": inbox}, nil, &added); code != http.StatusCreated {
		t.Fatalf("add relay: status %d", code)
	}
	if added.State != board.RelayPending || added.Inbox != inbox || added.FollowID == "" {
		t.Fatalf("a new relay: %+v", added)
	}
	refused := c.waitRelayState(inbox, board.RelayRefused)
	if refused.Actor != relay.URL+"/actor" {
		t.Errorf("refused by %q, want the relay's actor", refused.Actor)
	}

	// Accepted: once unblocked, subscribing again sends a new Follow.
	relay.control("domain", "set", "-t", "blocked", "-u", crieurHost)
	out, err := c.cli("", "relay", "add", "news", inbox)
	if err != nil || !strings.Contains(out, "pending") {
		t.Fatalf("crieur relay add: %v\n%s", err, out)
	}
	accepted := c.waitRelayState(inbox, board.RelayAccepted)
	if accepted.FollowID == added.FollowID {
		t.Errorf("subscribing again kept the refused follow's id %s", added.FollowID)
	}
	if !relay.subscribed(crieurHost) {
		t.Fatal("the relay accepted but holds no subscription for the board's server")
	}
	out, err = c.cli("", "relay", "list", "news")
	if err != nil || !strings.Contains(out, inbox) || !strings.Contains(out, "accepted") {
		t.Fatalf("crieur relay list: %v\n%s", err, out)
	}

	// The post reaches the peer, which follows nobody here, through the relay.
	var followers []board.Follower
	c.api("GET", "/api/v1/boards/news/followers", nil, nil, &followers)
	if len(followers) != 0 {
		t.Fatalf("the board has followers %v: the test needs a server that does not follow it", followers)
	}
	a, code := c.post(map[string]any{"kind": "news", "title": "Relayed notice", "body": "Heard through the relay."}, nil)
	if code != http.StatusCreated {
		t.Fatalf("post: status %d", code)
	}
	var got signedActivity
	waitFor(t, 30*time.Second, "the post at the peer through the relay", func() bool {
		for _, s := range peer.signed() {
			obj, _ := s.Activity["object"].(map[string]any)
			if s.Activity["type"] == "Create" && obj["id"] == c.objectURL(a.ID) {
				got = s
				return true
			}
		}
		return false
	})
	if !strings.HasPrefix(got.Key, relay.URL+"/actor") {
		t.Errorf("the Create came signed by %s, not by the relay", got.Key)
	}
	obj := got.Activity["object"].(map[string]any)
	if content, _ := obj["content"].(string); !strings.Contains(content, "Heard through the relay.") {
		t.Errorf("the relayed Create's content: %q", content)
	}
	if got.Activity["actor"] != c.URL+"/boards/news" {
		t.Errorf("the relayed Create's actor: %v", got.Activity["actor"])
	}
	// A relay set to announce instead (create-as-announce, which
	// Activity-Relay's LitePub side does as well): the peer gets the
	// relay's Announce of the post.
	relay.control("config", "enable", "create-as-announce")
	a2, code := c.post(map[string]any{"kind": "news", "title": "Announced notice", "body": "Boosted by the relay."}, nil)
	if code != http.StatusCreated {
		t.Fatalf("post: status %d", code)
	}
	waitFor(t, 30*time.Second, "the relay's Announce of the post at the peer", func() bool {
		for _, s := range peer.signed() {
			if s.Activity["type"] == "Announce" && s.Activity["object"] == c.objectURL(a2.ID) &&
				s.Activity["actor"] == relay.URL+"/actor" && strings.HasPrefix(s.Key, relay.URL+"/actor") {
				return true
			}
		}
		return false
	})

	c.waitQueueIdle()
	d := c.deliveries(a.ID)
	var toRelay bool
	for _, x := range d.Deliveries {
		toRelay = toRelay || (x.Target == inbox && x.State == "delivered")
	}
	if !toRelay {
		t.Errorf("the deliveries dashboard shows no delivery to the relay: %+v", d.Deliveries)
	}

	// Removing the relay sends the Undo: the relay drops the subscription.
	out, err = c.cli("", "relay", "remove", "news", inbox)
	if err != nil {
		t.Fatalf("crieur relay remove: %v\n%s", err, out)
	}
	waitFor(t, 20*time.Second, "the relay dropped the board's subscription", func() bool { return !relay.subscribed(crieurHost) })
	if rs := c.relays(); len(rs) != 0 {
		t.Errorf("relays after remove: %+v", rs)
	}
	if _, err := c.cli("", "relay", "remove", "news", inbox); err == nil {
		t.Errorf("removing a relay twice did not fail")
	}
}

// The relay commands and API without a relay server: adding sends a
// signed Follow of Public to the inbox given and lists the relay as
// pending; removing sends the Undo of that Follow (same id) and forgets
// it. (A relay that never answers stays pending.)
func TestRelayCommands(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []map[string]any
	inbox := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var act map[string]any
		if err := json.NewDecoder(r.Body).Decode(&act); err == nil && r.Header.Get("Signature") != "" {
			mu.Lock()
			got = append(got, act)
			mu.Unlock()
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(inbox.Close)
	received := func(typ string) map[string]any {
		t.Helper()
		var found map[string]any
		waitFor(t, 20*time.Second, typ+" at the relay's inbox", func() bool {
			mu.Lock()
			defer mu.Unlock()
			for _, a := range got {
				if a["type"] == typ {
					found = a
					return true
				}
			}
			return false
		})
		return found
	}
	c := startCrieur(t, t.TempDir(), 0)
	relayInbox := inbox.URL + "/inbox"
	if out, err := c.cli("", "relay", "add", "news"); err == nil || !strings.Contains(out, "usage: crieur relay") {
		t.Fatalf("add without a URL: %v %s", err, out)
	}
	if out, err := c.cli("", "relay", "add", "news", "relay.example"); err == nil || !strings.Contains(out, "relay") {
		t.Fatalf("add with no scheme: %v %s", err, out)
	}
	out, err := c.cli("", "relay", "add", "news", relayInbox)
	if err != nil || !strings.Contains(out, "pending") {
		t.Fatalf("add: %v %s", err, out)
	}
	follow := received("Follow")
	if follow["object"] != "https://www.w3.org/ns/activitystreams#Public" || follow["actor"] != c.URL+"/boards/news" {
		t.Fatalf("the Follow: %v", follow)
	}
	rs := c.relays()
	if len(rs) != 1 || rs[0].State != board.RelayPending || rs[0].FollowID != follow["id"] {
		t.Fatalf("relays: %+v", rs)
	}
	if out, err := c.cli("", "relay", "list", "news"); err != nil || !strings.Contains(out, relayInbox) || !strings.Contains(out, "pending") {
		t.Fatalf("list: %v %s", err, out)
	}
	if out, err := c.cli("", "relay", "remove", "news", fmt.Sprint(rs[0].ID)); err != nil || !strings.Contains(out, "removed") {
		t.Fatalf("remove: %v %s", err, out)
	}
	undo := received("Undo")
	if inner, _ := undo["object"].(map[string]any); inner["id"] != follow["id"] || inner["type"] != "Follow" {
		t.Fatalf("the Undo: %v", undo)
	}
	if rs := c.relays(); len(rs) != 0 {
		t.Fatalf("relays after remove: %+v", rs)
	}
	if out, err := c.cli("", "relay", "remove", "news", relayInbox); err == nil || !strings.Contains(out, "no relay") {
		t.Fatalf("remove again: %v %s", err, out)
	}
}
