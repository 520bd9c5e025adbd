package activitypub

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-fed/httpsig"
)

// maxClockSkew is how far a signed Date may be from now, as Mastodon and
// Fedify allow.
const maxClockSkew = time.Hour

var (
	postHeaders = []string{httpsig.RequestTarget, "host", "date", "digest"}
	getHeaders  = []string{httpsig.RequestTarget, "host", "date", "accept"}
)

// signRequest signs r in the draft-cavage form Mastodon and Fedify verify:
// rsa-sha256 over (request-target) host date digest for a POST (body is
// its exact bytes) and (request-target) host date accept for a GET.
func signRequest(r *http.Request, key *rsa.PrivateKey, keyID string, body []byte) error {
	r.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	r.Header.Set("Host", r.URL.Host)
	headers := getHeaders
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		headers = postHeaders
	}
	// A Signer is not safe for concurrent use and cheap to make.
	signer, _, err := httpsig.NewSigner([]httpsig.Algorithm{httpsig.RSA_SHA256}, httpsig.DigestSha256, headers, httpsig.Signature, 0)
	if err != nil {
		return fmt.Errorf("make signer: %w", err)
	}
	if err := signer.SignRequest(key, keyID, r, body); err != nil {
		return fmt.Errorf("sign request: %w", err)
	}
	return nil
}

// errSignature is the cause of every inbox refusal: all of them are 401s.
var errSignature = errors.New("signature check failed")

func sigErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errSignature, fmt.Sprintf(format, a...))
}

// signatureParams reads the Signature header's parameters. A parameter
// given twice is refused: the signature library reads the last one, and a
// check of the first would then not be a check of what was verified.
func signatureParams(sig string) (map[string]string, error) {
	params := map[string]string{}
	for _, part := range splitParams(sig) {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if _, dup := params[k]; dup {
			return nil, sigErr("Signature header has %s twice", k)
		}
		params[k] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return params, nil
}

// signedHeaders returns the headers parameter of the Signature header.
func signedHeaders(params map[string]string) []string {
	if h, ok := params["headers"]; ok {
		return strings.Fields(strings.ToLower(h))
	}
	// The draft's default when headers is absent is date alone, which
	// protects nothing we need.
	return []string{"date"}
}

// splitParams splits k="v",k="v" on commas outside quotes.
func splitParams(s string) []string {
	var parts []string
	inQuote := false
	start := 0
	for i, c := range s {
		switch {
		case c == '"':
			inQuote = !inQuote
		case c == ',' && !inQuote:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// checkSignedParts checks everything but the signature itself: the right
// headers are signed, Date is recent, Digest matches body.
func checkSignedParts(r *http.Request, body []byte, now time.Time) error {
	sig := r.Header.Get("Signature")
	if sig == "" {
		return sigErr("request is not signed (no Signature header)")
	}
	params, err := signatureParams(sig)
	if err != nil {
		return err
	}
	signed := signedHeaders(params)
	for _, h := range postHeaders {
		found := false
		for _, s := range signed {
			found = found || s == h
		}
		if !found {
			return sigErr("header %q is not covered by the signature", h)
		}
	}
	date, err := http.ParseTime(r.Header.Get("Date"))
	if err != nil {
		return sigErr("Date header missing or malformed")
	}
	if d := now.Sub(date); d > maxClockSkew || d < -maxClockSkew {
		return sigErr("Date %s is more than %s from now", r.Header.Get("Date"), maxClockSkew)
	}
	return checkDigest(r.Header.Get("Digest"), body)
}

func checkDigest(header string, body []byte) error {
	if header == "" {
		return sigErr("no Digest header")
	}
	sum := sha256.Sum256(body)
	for _, part := range strings.Split(header, ",") {
		algo, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || !strings.EqualFold(algo, "SHA-256") {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(val)
		if err != nil {
			return sigErr("Digest is not base64")
		}
		if subtle.ConstantTimeCompare(got, sum[:]) != 1 {
			return sigErr("Digest does not match the body")
		}
		return nil
	}
	return sigErr("Digest has no SHA-256 value")
}

// verifySignature checks r's signature with pub.
func verifySignature(r *http.Request, pub *rsa.PublicKey) error {
	v, err := httpsig.NewVerifier(r)
	if err != nil {
		return sigErr("%v", err)
	}
	// Mastodon sends algorithm="rsa-sha256", others "hs2019"; the key is
	// RSA either way, so the algorithm is ours to choose, not the sender's.
	if err := v.Verify(pub, httpsig.RSA_SHA256); err != nil {
		return sigErr("signature does not verify with key %s", v.KeyId())
	}
	return nil
}

func signatureKeyID(r *http.Request) (string, error) {
	if isRFC9421(r) {
		m, err := parse9421(r)
		return m.keyID, err
	}
	v, err := httpsig.NewVerifier(r)
	if err != nil {
		return "", sigErr("%v", err)
	}
	if v.KeyId() == "" {
		return "", sigErr("no keyId")
	}
	return v.KeyId(), nil
}

// parsePublicKey reads a PEM public key (PKIX or PKCS#1) that must be RSA.
func parsePublicKey(s string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("publicKeyPem is not PEM")
	}
	if k, err := x509.ParsePKIXPublicKey(block.Bytes); err == nil {
		if rk, ok := k.(*rsa.PublicKey); ok {
			return rk, nil
		}
		return nil, errors.New("public key is not RSA")
	}
	return x509.ParsePKCS1PublicKey(block.Bytes)
}

// parseAnyPublicKey reads a PEM public key that is RSA or Ed25519 (what
// RFC 9421 signatures may use).
func parseAnyPublicKey(s string) (crypto.PublicKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("publicKeyPem is not PEM")
	}
	if k, err := x509.ParsePKIXPublicKey(block.Bytes); err == nil {
		switch k.(type) {
		case *rsa.PublicKey, ed25519.PublicKey:
			return k, nil
		}
		return nil, errors.New("public key is neither RSA nor Ed25519")
	}
	return x509.ParsePKCS1PublicKey(block.Bytes)
}

// parsePrivateKey reads a board's PKCS#8 PEM key.
func parsePrivateKey(s string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("private key is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("private key is not RSA")
	}
	return rk, nil
}

// hashID makes a short stable id from s.
func hashID(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:12])
}
