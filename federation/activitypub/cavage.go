package activitypub

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// cavageSignature is a draft-cavage Signature header read once: the checks
// of what it covers and the verification of its bytes both use this value,
// so nothing can be read one way by the check and another by the verifier.
type cavageSignature struct {
	keyID     string
	algorithm string
	headers   []string // lower-case, in the signed order
	signature []byte
	created   string // the (created) and (expires) parameters, if given
	expires   string
}

// parseCavage reads a draft-cavage Signature header with the grammar of
// draft-cavage-http-signatures-12 §4 (RFC 7230 tokens and quoted strings),
// which is what Mastodon's app/lib/signature_parser.rb accepts too:
// params separated by commas, each token "=" (token | quoted-string),
// whitespace allowed around "=" and ",". Anything else is refused, and
// so is a parameter given twice (in any letter case): a header that two
// readers could read differently is not a signature.
func parseCavage(header string) (cavageSignature, error) {
	// Old node-http-signatures put "Signature " in front; Mastodon skips it.
	s := strings.TrimPrefix(strings.TrimSpace(header), "Signature ")
	params := map[string]string{}
	for {
		s = strings.TrimLeft(s, " \t")
		name, rest := cutToken(s)
		if name == "" {
			return cavageSignature{}, sigErr("Signature header: a parameter name is expected at %q", clip(s))
		}
		rest = strings.TrimLeft(rest, " \t")
		if !strings.HasPrefix(rest, "=") {
			return cavageSignature{}, sigErr("Signature header: %s has no value", name)
		}
		rest = strings.TrimLeft(rest[1:], " \t")
		var value string
		if strings.HasPrefix(rest, `"`) {
			var ok bool
			value, rest, ok = cutQuoted(rest)
			if !ok {
				return cavageSignature{}, sigErr("Signature header: the value of %s is an unterminated string", name)
			}
		} else {
			value, rest = cutToken(rest)
			if value == "" {
				return cavageSignature{}, sigErr("Signature header: %s has an empty value", name)
			}
		}
		key := strings.ToLower(name)
		if _, dup := params[key]; dup {
			return cavageSignature{}, sigErr("Signature header has %s twice", name)
		}
		params[key] = value
		rest = strings.TrimLeft(rest, " \t")
		if rest == "" {
			break
		}
		if rest[0] != ',' {
			return cavageSignature{}, sigErr("Signature header: a comma is expected at %q", clip(rest))
		}
		s = rest[1:]
	}
	c := cavageSignature{
		keyID:     params["keyid"],
		algorithm: strings.ToLower(params["algorithm"]),
		created:   params["created"],
		expires:   params["expires"],
	}
	if c.keyID == "" {
		return cavageSignature{}, sigErr("Signature header has no keyId")
	}
	// The draft's default when headers is absent is date alone, which
	// protects nothing we need; the checks then refuse it.
	c.headers = []string{"date"}
	if h, ok := params["headers"]; ok {
		c.headers = strings.Fields(strings.ToLower(h))
	}
	for i, h := range c.headers {
		if slices.Contains(c.headers[:i], h) {
			return cavageSignature{}, sigErr("Signature header covers %s twice", h)
		}
	}
	raw, ok := params["signature"]
	if !ok {
		return cavageSignature{}, sigErr("Signature header has no signature")
	}
	var err error
	if c.signature, err = base64.StdEncoding.DecodeString(raw); err != nil || len(c.signature) == 0 {
		return cavageSignature{}, sigErr("Signature header: signature is not base64")
	}
	return c, nil
}

// tokenChar is RFC 7230's tchar.
func tokenChar(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0
}

func cutToken(s string) (token, rest string) {
	i := 0
	for i < len(s) && tokenChar(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

// cutQuoted reads the quoted string s starts with, undoing \-escapes.
func cutQuoted(s string) (value, rest string, ok bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return b.String(), s[i+1:], true
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case c < 0x20 && c != '\t' || c == 0x7f:
			return "", "", false
		default:
			b.WriteByte(c)
		}
	}
	return "", "", false
}

func clip(s string) string {
	if len(s) > 20 {
		return s[:20] + "…"
	}
	return s
}

func (c cavageSignature) covers(h string) bool { return slices.Contains(c.headers, h) }

// check checks everything but the signature bytes: the headers an inbox
// POST must cover are covered, Date is recent, Digest matches body.
func (c cavageSignature) check(r *http.Request, body []byte, now time.Time) error {
	for _, h := range postHeaders {
		if !c.covers(h) {
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
	if c.expires != "" {
		n, err := strconv.ParseInt(c.expires, 10, 64)
		if err != nil || time.Unix(n, 0).Before(now) {
			return sigErr("signature expired")
		}
	}
	return checkDigest(r.Header.Get("Digest"), body)
}

// signingString is what the sender signed (draft-cavage-12 §2.3), built
// from the request for the headers the signature names.
func (c cavageSignature) signingString(r *http.Request) (string, error) {
	lines := make([]string, 0, len(c.headers))
	for _, h := range c.headers {
		var v string
		switch h {
		case "(request-target)":
			v = strings.ToLower(r.Method) + " " + r.URL.RequestURI()
		case "(created)", "(expires)":
			v = c.created
			if h == "(expires)" {
				v = c.expires
			}
			if v == "" {
				return "", sigErr("signature covers %s but has no such parameter", h)
			}
		case "host":
			v = r.Host
			if v == "" {
				v = r.URL.Host
			}
		default:
			vals := r.Header.Values(h)
			if len(vals) == 0 {
				return "", sigErr("signature covers header %s, which the request lacks", h)
			}
			for i := range vals {
				vals[i] = strings.TrimSpace(vals[i])
			}
			v = strings.Join(vals, ", ")
		}
		lines = append(lines, h+": "+v)
	}
	return strings.Join(lines, "\n"), nil
}

// verify checks the signature bytes with pub. Mastodon sends
// algorithm="rsa-sha256", others "hs2019"; the key is RSA either way, so
// the algorithm is the key's, and a declared one must agree with it.
func (c cavageSignature) verify(r *http.Request, pub *rsa.PublicKey) error {
	switch c.algorithm {
	case "", "rsa-sha256", "hs2019":
	default:
		return sigErr("algorithm %q does not match the RSA key (rsa-sha256)", c.algorithm)
	}
	signed, err := c.signingString(r)
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(signed))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], c.signature) != nil {
		return sigErr("signature does not verify with key %s", c.keyID)
	}
	return nil
}

// checkDigest checks the draft's Digest header against body.
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

// signatureKeyID returns the key id of r's signature, of either kind.
func signatureKeyID(r *http.Request) (string, error) {
	if isRFC9421(r) {
		m, err := parse9421(r)
		return m.keyID, err
	}
	c, err := parseCavage(r.Header.Get("Signature"))
	return c.keyID, err
}
