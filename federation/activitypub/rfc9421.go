package activitypub

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/dunglas/httpsfv"
)

// RFC 9421 HTTP Message Signatures, which Fedify 1.6+ sends first (and
// other servers are adopting), beside draft-cavage: a request carrying
// Signature-Input is verified this way. Structured fields are parsed with
// httpsfv; the signature base is built here, for the components peers cover.

// acceptSignature is what a 401 asks for (RFC 9421 §5.1), so a peer that
// can sign either way knows which components Crieur requires.
const acceptSignature = `sig1=("@method" "@target-uri" "@authority" "content-digest");created`

// message9421 is one signature of a request: its label, what it covers
// and its parameters.
type message9421 struct {
	label      string
	components []string // component names, in the signed order
	params     string   // the serialised signature parameters line
	keyID, alg string
	created    time.Time
	signature  []byte
}

// isRFC9421 reports whether r is signed with HTTP Message Signatures.
func isRFC9421(r *http.Request) bool { return r.Header.Get("Signature-Input") != "" }

// parse9421 reads the first signature of r that has a keyid. Component
// parameters (;sf, ;key, ;req…) are refused: no peer uses them on inbox
// POSTs, and a partial understanding would be a way in.
func parse9421(r *http.Request) (message9421, error) {
	inputs, err := httpsfv.UnmarshalDictionary(r.Header.Values("Signature-Input"))
	if err != nil {
		return message9421{}, sigErr("Signature-Input is not a structured dictionary: %v", err)
	}
	sigs, err := httpsfv.UnmarshalDictionary(r.Header.Values("Signature"))
	if err != nil {
		return message9421{}, sigErr("Signature is not a structured dictionary: %v", err)
	}
	for _, label := range inputs.Names() {
		member, _ := inputs.Get(label)
		list, ok := member.(httpsfv.InnerList)
		if !ok {
			return message9421{}, sigErr("Signature-Input %s is not a list of components", label)
		}
		m := message9421{label: label}
		for _, item := range list.Items {
			name, ok := item.Value.(string)
			if !ok || name != strings.ToLower(name) {
				return message9421{}, sigErr("Signature-Input %s: a component must be a lower-case string", label)
			}
			if item.Params != nil && len(item.Params.Names()) > 0 {
				return message9421{}, sigErr("Signature-Input %s: component parameters are not supported (%s)", label, name)
			}
			if slices.Contains(m.components, name) {
				return message9421{}, sigErr("Signature-Input %s: component %s is listed twice", label, name)
			}
			m.components = append(m.components, name)
		}
		if list.Params != nil {
			if v, ok := list.Params.Get("keyid"); ok {
				m.keyID, _ = v.(string)
			}
			if v, ok := list.Params.Get("alg"); ok {
				m.alg, _ = v.(string)
			}
			if v, ok := list.Params.Get("created"); ok {
				if n, ok := v.(int64); ok {
					m.created = time.Unix(n, 0)
				}
			}
			if v, ok := list.Params.Get("expires"); ok {
				if n, ok := v.(int64); ok && time.Unix(n, 0).Before(time.Now()) {
					return message9421{}, sigErr("signature %s expired", label)
				}
			}
		}
		if m.keyID == "" {
			continue
		}
		m.params, err = httpsfv.Marshal(list)
		if err != nil {
			return message9421{}, sigErr("Signature-Input %s: %v", label, err)
		}
		sv, ok := sigs.Get(label)
		item, isItem := sv.(httpsfv.Item)
		if !ok || !isItem {
			return message9421{}, sigErr("no Signature for Signature-Input %s", label)
		}
		if m.signature, ok = item.Value.([]byte); !ok {
			return message9421{}, sigErr("Signature %s is not a byte sequence", label)
		}
		return m, nil
	}
	return message9421{}, sigErr("no signature in Signature-Input has a keyid")
}

// check9421 checks what a verified signature must cover on an inbox POST:
// the method, the target, the body's digest (which must match) and a time
// within maxClockSkew.
func check9421(m message9421, r *http.Request, body []byte, now time.Time) error {
	covers := func(c string) bool { return slices.Contains(m.components, c) }
	if !covers("@method") {
		return sigErr("signature %s does not cover @method", m.label)
	}
	if !covers("@target-uri") && !(covers("@path") && (covers("@authority") || covers("host"))) {
		return sigErr("signature %s covers neither @target-uri nor @path with @authority", m.label)
	}
	if !covers("content-digest") {
		return sigErr("signature %s does not cover content-digest", m.label)
	}
	when := m.created
	if when.IsZero() && covers("date") {
		when, _ = http.ParseTime(r.Header.Get("Date"))
	}
	if when.IsZero() {
		return sigErr("signature %s has neither created nor a signed Date", m.label)
	}
	if d := now.Sub(when); d > maxClockSkew || d < -maxClockSkew {
		return sigErr("signature %s was made at %s, more than %s from now", m.label, when.UTC().Format(time.RFC3339), maxClockSkew)
	}
	if covers("date") {
		if date, err := http.ParseTime(r.Header.Get("Date")); err != nil || now.Sub(date).Abs() > maxClockSkew {
			return sigErr("Date header missing, malformed or more than %s from now", maxClockSkew)
		}
	}
	return checkContentDigest(r.Header.Values("Content-Digest"), body)
}

// checkContentDigest checks the RFC 9530 Content-Digest header against
// body; sha-256 and sha-512 are read, at least one must be there.
func checkContentDigest(values []string, body []byte) error {
	if len(values) == 0 {
		return sigErr("no Content-Digest header")
	}
	d, err := httpsfv.UnmarshalDictionary(values)
	if err != nil {
		return sigErr("Content-Digest is not a structured dictionary")
	}
	checked := false
	for _, algo := range d.Names() {
		var sum []byte
		switch algo {
		case "sha-256":
			s := sha256.Sum256(body)
			sum = s[:]
		case "sha-512":
			s := sha512.Sum512(body)
			sum = s[:]
		default:
			continue
		}
		m, _ := d.Get(algo)
		item, ok := m.(httpsfv.Item)
		got, isBytes := item.Value.([]byte)
		if !ok || !isBytes {
			return sigErr("Content-Digest %s is not a byte sequence", algo)
		}
		if subtle.ConstantTimeCompare(got, sum) != 1 {
			return sigErr("Content-Digest does not match the body")
		}
		checked = true
	}
	if !checked {
		return sigErr("Content-Digest has no sha-256 or sha-512 value")
	}
	return nil
}

// base9421 builds the signature base (RFC 9421 §2.5). scheme is how the
// peer reached us (https behind a proxy), which @target-uri includes.
func base9421(m message9421, r *http.Request, scheme string) (string, error) {
	host := r.Host
	if host == "" {
		host = r.URL.Host // an outgoing request
	}
	host = strings.ToLower(host)
	var b strings.Builder
	for _, c := range m.components {
		var v string
		switch c {
		case "@method":
			v = r.Method
		case "@target-uri":
			v = scheme + "://" + host + r.URL.RequestURI()
		case "@authority":
			v = host
		case "@scheme":
			v = scheme
		case "@path":
			v = r.URL.EscapedPath()
		case "@query":
			v = "?" + r.URL.RawQuery
		case "@request-target":
			v = r.URL.RequestURI()
		default:
			if strings.HasPrefix(c, "@") {
				return "", sigErr("signature %s covers %s, which Crieur does not read", m.label, c)
			}
			vals := r.Header.Values(c)
			if c == "host" && len(vals) == 0 {
				vals = []string{host} // Go moves Host out of the header map
			}
			if len(vals) == 0 {
				return "", sigErr("signature %s covers header %s, which the request lacks", m.label, c)
			}
			for i := range vals {
				vals[i] = strings.TrimSpace(vals[i])
			}
			v = strings.Join(vals, ", ")
		}
		fmt.Fprintf(&b, "%q: %s\n", c, v)
	}
	fmt.Fprintf(&b, "\"@signature-params\": %s", m.params)
	return b.String(), nil
}

// verify9421 checks the signature over base with pub; the algorithm is the
// key's, and a declared alg must agree with it.
func verify9421(m message9421, base string, pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if m.alg != "" && m.alg != "rsa-v1_5-sha256" {
			return sigErr("signature %s: algorithm %q does not match the RSA key (rsa-v1_5-sha256)", m.label, m.alg)
		}
		sum := sha256.Sum256([]byte(base))
		if rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], m.signature) != nil {
			return sigErr("signature %s does not verify with key %s", m.label, m.keyID)
		}
	case ed25519.PublicKey:
		if m.alg != "" && m.alg != "ed25519" {
			return sigErr("signature %s: algorithm %q does not match the Ed25519 key", m.label, m.alg)
		}
		if !ed25519.Verify(k, []byte(base), m.signature) {
			return sigErr("signature %s does not verify with key %s", m.label, m.keyID)
		}
	default:
		return sigErr("key %s is neither RSA nor Ed25519", m.keyID)
	}
	return nil
}

// sign9421 signs an outgoing POST with an RFC 9421 signature covering what
// Fedify and Crieur require: method, target, authority, Date and the
// body's Content-Digest.
func sign9421(r *http.Request, key *rsa.PrivateKey, keyID string, body []byte, now time.Time) error {
	sum := sha256.Sum256(body)
	digest, err := httpsfv.Marshal(dictOf("sha-256", sum[:]))
	if err != nil {
		return err
	}
	r.Header.Set("Content-Digest", digest)
	r.Header.Set("Date", now.UTC().Format(http.TimeFormat))
	list := httpsfv.InnerList{Params: httpsfv.NewParams()}
	for _, c := range []string{"@method", "@target-uri", "@authority", "date", "content-digest"} {
		list.Items = append(list.Items, httpsfv.NewItem(c))
	}
	list.Params.Add("alg", "rsa-v1_5-sha256")
	list.Params.Add("keyid", keyID)
	list.Params.Add("created", now.Unix())
	params, err := httpsfv.Marshal(list)
	if err != nil {
		return err
	}
	m := message9421{label: "sig1", params: params}
	for _, it := range list.Items {
		m.components = append(m.components, it.Value.(string))
	}
	base, err := base9421(m, r, r.URL.Scheme)
	if err != nil {
		return err
	}
	h := sha256.Sum256([]byte(base))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, h[:])
	if err != nil {
		return fmt.Errorf("sign request: %w", err)
	}
	r.Header.Set("Signature-Input", "sig1="+params)
	value, err := httpsfv.Marshal(dictOf("sig1", sig))
	if err != nil {
		return err
	}
	r.Header.Set("Signature", value)
	return nil
}

func dictOf(key string, value []byte) *httpsfv.Dictionary {
	d := httpsfv.NewDictionary()
	d.Add(key, httpsfv.NewItem(value))
	return d
}
