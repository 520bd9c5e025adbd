package activitypub

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
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
