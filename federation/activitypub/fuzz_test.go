package activitypub

// Fuzz tests of every parser of outside input on the ActivityPub side.
// The seeds (f.Add) are the committed corpus; scripts/test.sh fuzzes each
// target briefly, and go test runs the seeds as tests.

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"crieur/federation/delivery"
)

func FuzzSignatureHeader(f *testing.F) {
	f.Add(`keyId="https://a.example/u#k",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="c2ln"`, "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "Mon, 02 Jan 2006 15:04:05 GMT")
	f.Add(`keyId="k",headers="date",headers="(request-target) host date digest",signature="x"`, "sha-256=x", "")
	f.Add(`keyId="a,b",signature="\"`, "SHA-256=,SHA-512=", "yesterday")
	f.Fuzz(func(t *testing.T, sig, digest, date string) {
		r := httptest.NewRequest("POST", "https://board.example/inbox", strings.NewReader("{}"))
		r.Header.Set("Signature", sig)
		r.Header.Set("Digest", digest)
		r.Header.Set("Date", date)
		if err := checkSignedParts(r, []byte("{}"), time.Now()); err == nil {
			// Whatever passes covers what we require, once each.
			params, ok := mastodonParse(sig)
			if !ok {
				t.Fatalf("checks passed but Mastodon's grammar refuses %q", sig)
			}
			for _, h := range postHeaders {
				if !strings.Contains(" "+strings.ToLower(params["headers"])+" ", " "+h+" ") {
					t.Fatalf("checks passed without %s signed: %q", h, sig)
				}
			}
		}
		_, _ = signatureKeyID(r)
	})
}

func FuzzRFC9421Headers(f *testing.F) {
	f.Add(`sig1=("@method" "@target-uri" "@authority" "content-digest");alg="rsa-v1_5-sha256";keyid="https://a.example/u#k";created=1700000000`, `sig1=:c2ln:`, `sha-256=:RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o=:`)
	f.Add(`sig1=("@method";sf);keyid="k"`, `sig1=:AA==:`, `sha-512=:AA==:`)
	f.Add(`a=(), b=("@query-param";name="x")`, `b=?1`, `x`)
	f.Fuzz(func(t *testing.T, input, sig, digest string) {
		r := httptest.NewRequest("POST", "https://board.example/inbox?x=1", strings.NewReader("{}"))
		r.Header.Set("Signature-Input", input)
		r.Header.Set("Signature", sig)
		r.Header.Set("Content-Digest", digest)
		r.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
		m, err := parse9421(r)
		if err != nil {
			return
		}
		if m.keyID == "" {
			t.Fatal("a signature without keyid was returned")
		}
		_ = check9421(m, r, []byte("{}"), time.Now())
		if base, err := base9421(m, r, "https"); err == nil && !strings.HasSuffix(base, m.params) {
			t.Fatalf("the base does not end with the signature parameters: %q", base)
		}
	})
}

func FuzzDigests(f *testing.F) {
	f.Add("SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", []byte(""))
	f.Add("sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:", []byte("x"))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		_ = checkDigest(header, body)
		_ = checkContentDigest([]string{header}, body)
	})
}

func FuzzActivityJSON(f *testing.F) {
	f.Add([]byte(`{"id":"https://a.example/1","type":"Create","actor":"https://a.example/u","object":{"id":"https://a.example/n","type":"Note","inReplyTo":"https://b.example/a/1","content":"<p>hi</p>"}}`))
	f.Add([]byte(`{"type":["Like","x"],"actor":{"id":"https://a.example/u"},"object":["a","b"]}`))
	f.Add([]byte(`{"object":{"inReplyTo":{"inReplyTo":{"inReplyTo":"x"}}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var act incoming
		if json.Unmarshal(body, &act) != nil {
			return
		}
		_ = typeName(act.Type)
		_ = parseRef(act.Actor)
		obj := parseRef(act.Object)
		if s := stripTags(obj.Content); len(s) > 5000+len(obj.Content) {
			t.Fatal("stripTags grew the text")
		}
		_ = act.rawObjectless()
	})
}

func FuzzRemoteActorDocument(f *testing.F) {
	f.Add([]byte(`{"id":"https://a.example/u","inbox":"https://a.example/u/inbox","publicKey":{"id":"https://a.example/u#k","owner":"https://a.example/u","publicKeyPem":"-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----"}}`))
	f.Add([]byte(`{"publicKey":[{"id":"k"},{"id":"j","publicKeyPem":"x"}],"endpoints":"x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var d actorDoc
		if json.Unmarshal(body, &d) != nil {
			return
		}
		for _, k := range d.keys() {
			_, _ = parsePublicKey(k.PublicKeyPem)
			_, _ = parseAnyPublicKey(k.PublicKeyPem)
		}
	})
}

func FuzzPEM(f *testing.F) {
	f.Add("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n")
	f.Add("-----BEGIN RSA PUBLIC KEY-----\nAA==\n-----END RSA PUBLIC KEY-----")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parsePublicKey(s)
		_, _ = parseAnyPublicKey(s)
		_, _ = parsePrivateKey(s)
	})
}

func FuzzAcceptAndRetryAfter(f *testing.F) {
	f.Add(`application/ld+json; profile="https://www.w3.org/ns/activitystreams"`, "120")
	f.Add(`text/html,application/xhtml+xml;q=0.9,*/*;q=0.8`, "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Add(`;;;,=`, "-5")
	f.Fuzz(func(t *testing.T, accept, retry string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept", accept)
		_ = wantsActivityJSON(r)
		if d := delivery.RetryAfter(retry, time.Now()); d < 0 {
			t.Fatalf("negative Retry-After %s from %q", d, retry)
		}
	})
}

// The WebFinger and inbox handlers, fed what anyone may send.
func FuzzPublicEndpoints(f *testing.F) {
	f.Add("acct:news@127.0.0.1", []byte(`{"type":"Follow"}`), "application/activity+json")
	f.Add("https://x/boards/news", []byte(`[`), "application/ld+json; profile=x")
	f.Add("acct:@@", []byte(`{}`), "text/plain")
	_, srv, _ := newTestServer(f)
	f.Fuzz(func(t *testing.T, resource string, body []byte, ctype string) {
		resp, err := http.Get(srv.URL + "/.well-known/webfinger?resource=" + url.QueryEscape(resource))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("webfinger %q: %d", resource, resp.StatusCode)
		}
		req, _ := http.NewRequest("POST", srv.URL+"/inbox", bytes.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			if strings.Contains(err.Error(), "invalid header") {
				return // the client refuses to send it; nothing reaches us
			}
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusAccepted || resp.StatusCode >= 500 {
			t.Fatalf("an unsigned inbox POST got %d", resp.StatusCode)
		}
	})
}
