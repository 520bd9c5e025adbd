package activitypub

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"crieur/federation/delivery"
)

// checkSignedParts and verifySignature read r's Signature header the way
// the inbox does (one parse, then the check and the verification).
func checkSignedParts(r *http.Request, body []byte, now time.Time) error {
	c, err := parseCavage(r.Header.Get("Signature"))
	if err != nil {
		return err
	}
	return c.check(r, body, now)
}

func verifySignature(r *http.Request, pub *rsa.PublicKey) error {
	c, err := parseCavage(r.Header.Get("Signature"))
	if err != nil {
		return err
	}
	return c.verify(r, pub)
}

// Point 5 of issue 23: the check read the header respecting quotes, the
// verifier split on every comma, so a quoted ",headers=date" made a
// signature over Date alone pass as covering the digest.
func TestQuotedCommasCannotSmuggleAParameter(t *testing.T) {
	err := dateOnlySignature(`keyId="https://peer.example/users/eve#main-key",headers="(request-target) host date digest",signature="%s",foo="1,headers=date"`)
	if err == nil {
		t.Fatal("a signature over Date alone passed as covering the digest")
	}
}

// dateOnlySignature signs a POST's Date alone, writes the signature into
// the Signature header format (its %s), and says what the inbox's check
// and verification make of it: the body and its Digest are the sender's
// to swap unless the header is read as signing them.
func dateOnlySignature(format string) error {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	body := []byte(`{"type":"Delete"}`)
	r := httptest.NewRequest("POST", "https://board.example/inbox", bytes.NewReader(body))
	date := time.Now().UTC().Format(http.TimeFormat)
	r.Header.Set("Date", date)
	sum := sha256.Sum256(body)
	r.Header.Set("Digest", "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]))
	h := sha256.Sum256([]byte("date: " + date))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, h[:])
	r.Header.Set("Signature", fmt.Sprintf(format, base64.StdEncoding.EncodeToString(sig)))
	err := checkSignedParts(r, body, time.Now())
	if err == nil {
		err = verifySignature(r, &key.PublicKey)
	}
	return err
}

// signedFollow is a remote actor's Follow of the news board, signed
// (draft-cavage) as its server would send it: what a replay re-sends.
func signedFollow(t *testing.T, server string) (actor string, key *rsa.PrivateKey, body []byte, signed *http.Request) {
	t.Helper()
	actor, key = remotePeer(t)
	body, _ = json.Marshal(map[string]any{"id": actor + "#follow-1", "type": "Follow", "actor": actor, "object": server + "/boards/news"})
	signed, _ = http.NewRequest("POST", server+"/inbox", bytes.NewReader(body))
	signed.Header.Set("Content-Type", contentTypeAP)
	if err := signRequest(signed, key, actor+"#main-key", body); err != nil {
		t.Fatal(err)
	}
	return actor, key, body, signed
}

// Point 4: the replay cache is keyed on the key and the signature bytes,
// so the same signature dressed differently is still a replay, and a
// captured Follow replayed after the actor's Undo does not follow again.
func TestReplaysInOtherClothesAreRefused(t *testing.T) {
	s, hs, svc := newTestServer(t)
	s.queue = discardQueue{}
	ctx := t.Context()
	b, _ := storeOf(svc).BoardByName(ctx, "news")
	actor, key, body, signed := signedFollow(t, hs.URL)
	send := func(signature string) int {
		req, _ := http.NewRequest("POST", hs.URL+"/inbox", bytes.NewReader(body))
		req.Header = signed.Header.Clone()
		req.Host = signed.Header.Get("Host")
		req.Header.Set("Signature", signature)
		return postSigned(t, req)
	}
	original := signed.Header.Get("Signature")
	if code := send(original); code != 202 {
		t.Fatalf("first Follow: %d", code)
	}
	if _, err := storeOf(svc).RemoveFollower(ctx, b.ID, actor); err != nil {
		t.Fatal(err) // what the actor's Undo does
	}
	params := map[string]string{}
	for _, m := range regexp.MustCompile(`(\w+)="([^"]*)"`).FindAllStringSubmatch(original, -1) {
		params[m[1]] = m[2]
	}
	for name, variant := range map[string]string{
		"extra parameter":   original + `,x="1"`,
		"reordered":         fmt.Sprintf(`signature="%s",headers="%s",algorithm="%s",keyId="%s"`, params["signature"], params["headers"], params["algorithm"], params["keyId"]),
		"algorithm dropped": fmt.Sprintf(`keyId="%s",headers="%s",signature="%s"`, params["keyId"], params["headers"], params["signature"]),
		"other algorithm":   otherAlgorithm(original),
		"spaces":            strings.ReplaceAll(original, ",", " , "),
	} {
		if code := send(variant); code != 401 {
			t.Errorf("%s: %d, want 401 (a replay)", name, code)
		}
	}
	if fs, _ := storeOf(svc).Followers(ctx, b.ID); len(fs) != 0 {
		t.Fatalf("a replayed Follow made %v a follower again", fs)
	}

	// RFC 9421: the same signature under another label.
	modern, _ := http.NewRequest("POST", hs.URL+"/inbox", bytes.NewReader(body))
	modern.Header.Set("Content-Type", contentTypeAP)
	if err := sign9421(modern, key, actor+"#main-key", body, time.Now()); err != nil {
		t.Fatal(err)
	}
	send9421 := func(label string) int {
		req, _ := http.NewRequest("POST", hs.URL+"/inbox", bytes.NewReader(body))
		req.Header = modern.Header.Clone()
		req.Header.Set("Signature-Input", strings.Replace(modern.Header.Get("Signature-Input"), "sig1=", label+"=", 1))
		req.Header.Set("Signature", strings.Replace(modern.Header.Get("Signature"), "sig1=", label+"=", 1))
		return postSigned(t, req)
	}
	if code := send9421("sig1"); code != 202 {
		t.Fatalf("RFC 9421 Follow: %d", code)
	}
	storeOf(svc).RemoveFollower(ctx, b.ID, actor)
	if code := send9421("again"); code != 401 {
		t.Errorf("the RFC 9421 signature under another label: %d, want 401", code)
	}
}

// otherAlgorithm swaps hs2019 and rsa-sha256, the two names of one RSA
// signature.
func otherAlgorithm(sig string) string {
	if strings.Contains(sig, `"hs2019"`) {
		return strings.Replace(sig, `"hs2019"`, `"rsa-sha256"`, 1)
	}
	return strings.Replace(sig, `"rsa-sha256"`, `"hs2019"`, 1)
}

// discardQueue takes the Accepts the inbox sends back.
type discardQueue struct{}

func (discardQueue) Enqueue(context.Context, ...delivery.Job) error { return nil }

// The parser reads what Mastodon's app/lib/signature_parser.rb reads. The
// oracle below is that grammar written as regular expressions (an
// independent reading): whenever both accept, they agree on every value;
// Crieur accepts nothing the grammar refuses.
var (
	mastodonParam = regexp.MustCompile("^[ \t]*([0-9a-zA-Z!#$%&'*+.^_`|~-]+)[ \t]*=[ \t]*(?:([0-9a-zA-Z!#$%&'*+.^_`|~-]+)|\"((?:[^\\\\\"]|\\\\.)*)\")[ \t]*(,|$)")
	unescape      = regexp.MustCompile(`\\(.)`)
)

func mastodonParse(s string) (map[string]string, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "Signature ")
	out := map[string]string{}
	for {
		m := mastodonParam.FindStringSubmatchIndex(s)
		if m == nil {
			return nil, false
		}
		name := strings.ToLower(s[m[2]:m[3]])
		value := ""
		if m[4] >= 0 {
			value = s[m[4]:m[5]]
		} else {
			value = unescape.ReplaceAllString(s[m[6]:m[7]], "$1")
		}
		if _, dup := out[name]; dup {
			return nil, false
		}
		out[name] = value
		last := m[8] == m[9] // matched end of input, not a comma
		s = s[m[1]:]
		if last {
			return out, true
		}
	}
}

func FuzzSignatureParseAgainstMastodonGrammar(f *testing.F) {
	f.Add(`keyId="https://a.example/u#k",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="c2lnbmF0dXJl"`)
	f.Add(`keyId="k",headers="(request-target) host date digest",signature="c2ln",foo="1,headers=date"`)
	f.Add(`keyId="k", headers = "date" ,signature="c2ln",keyid="j"`)
	f.Add(`Signature keyId=k,signature="c2ln",x="a\"b\\c"`)
	f.Add(`keyId="k",signature="c2ln",`)
	f.Fuzz(func(t *testing.T, header string) {
		c, err := parseCavage(header)
		want, ok := mastodonParse(header)
		if err != nil {
			return
		}
		if !ok {
			t.Fatalf("Crieur accepts %q, which Mastodon's grammar refuses", header)
		}
		if c.keyID != want["keyid"] {
			t.Fatalf("%q: Crieur read keyId %q, Mastodon's grammar %q", header, c.keyID, want["keyid"])
		}
		if sig, err := base64.StdEncoding.DecodeString(want["signature"]); err != nil || !bytes.Equal(sig, c.signature) {
			t.Fatalf("%q: Crieur read signature %x, Mastodon's grammar %q", header, c.signature, want["signature"])
		}
		if h, given := want["headers"]; given && strings.Join(c.headers, " ") != strings.Join(strings.Fields(strings.ToLower(h)), " ") {
			t.Fatalf("%q: Crieur read headers %q, Mastodon's grammar %q", header, c.headers, h)
		}
	})
}

// A signed request captured before a restart (an upgrade) is still a
// replay after it, while its Date is acceptable: the accepted signatures
// are kept in the store, not in the process. Remembered in memory only,
// the restart forgot it and the Follow came back.
func TestAReplayAfterARestartIsRefused(t *testing.T) {
	s, hs, svc := newTestServer(t)
	s.queue = discardQueue{}
	ctx := t.Context()
	b, _ := storeOf(svc).BoardByName(ctx, "news")
	actor, _, body, signed := signedFollow(t, hs.URL)
	replay := func() int {
		req, _ := http.NewRequest("POST", hs.URL+"/inbox", bytes.NewReader(body))
		req.Header = signed.Header.Clone()
		return postSigned(t, req)
	}
	restart := func(opts Options) {
		s.replays = NewServer(s.urls, s.store, nil, nil, opts, s.log).replays
		if _, err := storeOf(svc).RemoveFollower(ctx, b.ID, actor); err != nil {
			t.Fatal(err) // the actor's Undo
		}
	}
	for _, c := range []struct {
		name   string
		opts   Options
		replay int
	}{{"remembered in memory", Options{}, 202}, {"remembered in the store", Options{Replays: storeOf(svc)}, 401}} {
		s.replays = NewServer(s.urls, s.store, nil, nil, c.opts, s.log).replays
		if c.replay == 202 {
			// The hole this closes: a new process has forgotten.
			if code := replay(); code != 202 {
				t.Fatalf("%s, first: %d", c.name, code)
			}
			restart(c.opts)
			if code := replay(); code != 202 {
				t.Fatalf("%s: the replay after a restart got %d; the test no longer shows the hole", c.name, code)
			}
			continue
		}
		restart(c.opts) // the store has not seen it yet: the next is a first
		if code := replay(); code != 202 {
			t.Fatalf("%s, first: %d", c.name, code)
		}
		restart(c.opts)
		if code := replay(); code != 401 {
			t.Errorf("%s: the replay after a restart got %d, want 401", c.name, code)
		}
		if fs, _ := storeOf(svc).Followers(ctx, b.ID); len(fs) != 0 {
			t.Errorf("%s: a replayed Follow made %v a follower again", c.name, fs)
		}
	}
}
