package activitypub

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// signLikeFedify signs r as Fedify 2.x does (RFC 9421, rsa-v1_5-sha256 or
// ed25519, covering @method @target-uri @authority host date
// content-digest), from the peer's side: url is what it sent to.
func signLikeFedify(t *testing.T, r *http.Request, url string, key crypto.Signer, keyID string, body []byte, components []string, created time.Time) {
	t.Helper()
	sum := sha256.Sum256(body)
	r.Header.Set("Content-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":")
	r.Header.Set("Date", created.UTC().Format(http.TimeFormat))
	alg := "rsa-v1_5-sha256"
	if _, ok := key.(ed25519.PrivateKey); ok {
		alg = "ed25519"
	}
	quoted := make([]string, len(components))
	for i, c := range components {
		quoted[i] = fmt.Sprintf("%q", c)
	}
	params := fmt.Sprintf(`(%s);alg="%s";keyid="%s";created=%d`, strings.Join(quoted, " "), alg, keyID, created.Unix())
	var base strings.Builder
	host := strings.TrimPrefix(strings.TrimPrefix(url, "http://"), "https://")
	host, _, _ = strings.Cut(host, "/")
	for _, c := range components {
		var v string
		switch c {
		case "@method":
			v = r.Method
		case "@target-uri":
			v = url
		case "@authority", "host":
			v = host
		default:
			v = r.Header.Get(c)
		}
		fmt.Fprintf(&base, "%q: %s\n", c, v)
	}
	fmt.Fprintf(&base, `"@signature-params": %s`, params)
	var sig []byte
	var err error
	if k, ok := key.(ed25519.PrivateKey); ok {
		sig = ed25519.Sign(k, []byte(base.String()))
	} else {
		h := sha256.Sum256([]byte(base.String()))
		sig, err = key.Sign(rand.Reader, h[:], crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
	}
	r.Header.Set("Signature-Input", "sig1="+params)
	r.Header.Set("Signature", "sig1=:"+base64.StdEncoding.EncodeToString(sig)+":")
}

var fedifyComponents = []string{"@method", "@target-uri", "@authority", "host", "date", "content-digest"}

func TestRFC9421Verify(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	edPub, edKey, _ := ed25519.GenerateKey(rand.Reader)
	body := []byte(`{"type":"Follow"}`)
	url := "https://board.example/boards/news/inbox"
	now := time.Now()
	newReq := func(key crypto.Signer, components []string, created time.Time) *http.Request {
		r := httptest.NewRequest("POST", url, bytes.NewReader(body))
		r.Host = "board.example"
		signLikeFedify(t, r, url, key, "https://peer.example/users/alice#main-key", body, components, created)
		return r
	}
	check := func(r *http.Request, pub crypto.PublicKey, b []byte) error {
		if !isRFC9421(r) {
			return errors.New("not seen as RFC 9421")
		}
		m, err := parse9421(r)
		if err != nil {
			return err
		}
		if m.keyID != "https://peer.example/users/alice#main-key" {
			return fmt.Errorf("keyid %q", m.keyID)
		}
		if err := check9421(m, r, b, now); err != nil {
			return err
		}
		base, err := base9421(m, r, "https")
		if err != nil {
			return err
		}
		return verify9421(m, base, pub)
	}
	if err := check(newReq(rsaKey, fedifyComponents, now), &rsaKey.PublicKey, body); err != nil {
		t.Fatalf("RSA signature as Fedify makes it: %v", err)
	}
	if err := check(newReq(edKey, fedifyComponents, now), edPub, body); err != nil {
		t.Fatalf("Ed25519 signature: %v", err)
	}
	for name, c := range map[string]struct {
		r   *http.Request
		pub crypto.PublicKey
		b   []byte
	}{
		"other key":         {newReq(other, fedifyComponents, now), &rsaKey.PublicKey, body},
		"tampered body":     {newReq(rsaKey, fedifyComponents, now), &rsaKey.PublicKey, []byte(`{"type":"Delete"}`)},
		"stale":             {newReq(rsaKey, fedifyComponents, now.Add(-2*time.Hour)), &rsaKey.PublicKey, body},
		"no digest covered": {newReq(rsaKey, []string{"@method", "@target-uri", "date"}, now), &rsaKey.PublicKey, body},
		"no method covered": {newReq(rsaKey, []string{"@target-uri", "date", "content-digest"}, now), &rsaKey.PublicKey, body},
		"ed25519 as rsa":    {newReq(edKey, fedifyComponents, now), &rsaKey.PublicKey, body},
	} {
		if err := check(c.r, c.pub, c.b); !errors.Is(err, errSignature) {
			t.Errorf("%s: %v, want a signature error", name, err)
		}
	}
	// Another host or path than signed.
	r := newReq(rsaKey, fedifyComponents, now)
	r.Host = "other.example"
	if err := check(r, &rsaKey.PublicKey, body); !errors.Is(err, errSignature) {
		t.Errorf("another host verified: %v", err)
	}
	r = newReq(rsaKey, fedifyComponents, now)
	r.URL.Path = "/boards/other/inbox"
	if err := check(r, &rsaKey.PublicKey, body); !errors.Is(err, errSignature) {
		t.Errorf("another path verified: %v", err)
	}
	// A component with parameters, or twice, is refused.
	r = newReq(rsaKey, fedifyComponents, now)
	r.Header.Set("Signature-Input", strings.Replace(r.Header.Get("Signature-Input"), `"date"`, `"date";sf`, 1))
	if _, err := parse9421(r); err == nil {
		t.Error("a component parameter was accepted")
	}
}

// An inbox refusal says which RFC 9421 signature Crieur wants.
func TestInboxRefusalAsksForASignature(t *testing.T) {
	_, hs, _ := newTestServer(t)
	req, _ := http.NewRequest("POST", hs.URL+"/inbox", strings.NewReader(`{"type":"Follow"}`))
	req.Header.Set("Content-Type", contentTypeAP)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("Accept-Signature"), `"content-digest"`) {
		t.Fatalf("%d, Accept-Signature %q", resp.StatusCode, resp.Header.Get("Accept-Signature"))
	}
}

type oneKey struct{ key *rsa.PrivateKey }

func (k oneKey) PrivateKey(context.Context, string) (*rsa.PrivateKey, error) { return k.key, nil }

// A host that accepts only RFC 9421 gets a second knock signed that way,
// then RFC 9421 first; a host that reads draft-cavage gets only that.
func TestDelivererRemembersWhatEachHostAccepts(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	type seen struct{ rfc9421, ok bool }
	var mu sync.Mutex
	var modernOnly, cavageOnly []seen
	modern := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ok := false
		if isRFC9421(r) {
			m, err := parse9421(r)
			if err == nil {
				err = check9421(m, r, body, time.Now())
			}
			var base string
			if err == nil {
				base, err = base9421(m, r, "http")
			}
			if err == nil {
				err = verify9421(m, base, &key.PublicKey)
			}
			ok = err == nil
			if err != nil {
				t.Logf("RFC 9421 refused: %v", err)
			}
		}
		mu.Lock()
		modernOnly = append(modernOnly, seen{isRFC9421(r), ok})
		mu.Unlock()
		if !ok {
			w.Header().Set("Accept-Signature", acceptSignature)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer modern.Close()
	classic := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ok := !isRFC9421(r) && checkSignedParts(r, body, time.Now()) == nil && verifySignature(r, &key.PublicKey) == nil
		mu.Lock()
		cavageOnly = append(cavageOnly, seen{isRFC9421(r), ok})
		mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer classic.Close()
	d := &Deliverer{Client: http.DefaultClient, Keys: oneKey{key}, UserAgent: "test"}
	for i := range 2 {
		for _, inbox := range []string{modern.URL + "/inbox", classic.URL + "/inbox"} {
			job, _ := DeliveryJob(fmt.Sprintf("j%d", i), 1, "news", "https://here.example/boards/news#main-key", inbox, map[string]any{"type": "Create", "n": i})
			if err := d.Handle(context.Background(), job); err != nil {
				t.Fatalf("delivery %d to %s: %v", i, inbox, err)
			}
		}
	}
	want := []seen{{false, false}, {true, true}, {true, true}}
	if fmt.Sprint(modernOnly) != fmt.Sprint(want) {
		t.Errorf("RFC 9421-only host saw %v, want %v", modernOnly, want)
	}
	if fmt.Sprint(cavageOnly) != fmt.Sprint([]seen{{false, true}, {false, true}}) {
		t.Errorf("draft-cavage host saw %v", cavageOnly)
	}
}
