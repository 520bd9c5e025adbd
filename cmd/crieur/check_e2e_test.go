package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"crieur/federation/delivery/redistest"
)

// testCA makes a certificate authority and a certificate it signed for
// 127.0.0.1 and localhost, as PEM files in dir.
func testCA(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Crieur test CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(24 * time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", leafDER), write("key.pem", "PRIVATE KEY", keyDER)
}

// clockServer answers with a Date off by skew.
func clockServer(t *testing.T, skew time.Duration) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", time.Now().Add(skew).UTC().Format(http.TimeFormat))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// crieur check passes against a correct loopback deployment (https with
// its own certificate files, Redis with an append-only file, the clock in
// time) and names the fault in three broken ones.
func TestCheckNamesWhatIsWrong(t *testing.T) {
	t.Parallel()
	certs := t.TempDir()
	caFile, certFile, keyFile := testCA(t, certs)
	rs := redistest.Start(t)
	data := t.TempDir()
	if err := os.Chmod(data, 0o700); err != nil { // as crieur makes it; TempDir's subfolders follow the umask
		t.Fatal(err)
	}
	port := freePort(t)
	public := fmt.Sprintf("https://127.0.0.1:%d", port)
	env := []string{"CRIEUR_TLS_CERT=" + certFile, "CRIEUR_TLS_KEY=" + keyFile, "CRIEUR_PUBLIC_URL=" + public, "CRIEUR_REDIS_URL=" + rs.URL()}
	startProc(t, []string{"serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data", data}, env...)
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(caFile)
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 2 * time.Second}
	waitFor(t, 15*time.Second, "crieur over https", func() bool {
		resp, err := client.Get(public + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	check := func(extraEnv []string, args ...string) (string, error) {
		// A process of its own: it trusts the test CA through SSL_CERT_FILE,
		// which Go reads once per process.
		cmd := exec.Command(crieurBinary(t), append([]string{"check", "--data", data}, args...)...)
		cmd.Env = append(append(append(os.Environ(), "SSL_CERT_FILE="+caFile), env...), extraEnv...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	inTime := clockServer(t, 0)
	keys, openKeys := t.TempDir(), t.TempDir()
	key, err := runCLI("", nil, "board", "key", "news", "--data", data)
	if err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(keys, "news.pem"), []byte(key), 0o600)
	_ = os.WriteFile(filepath.Join(openKeys, "news.pem"), []byte(key), 0o644)
	openTLSKey := filepath.Join(openKeys, "tls.key")
	if raw, err := os.ReadFile(keyFile); err != nil || os.WriteFile(openTLSKey, raw, 0o644) != nil {
		t.Fatal(err)
	}
	// Backups: one whole and private; one others can read; one cut short;
	// one whole but ten days old.
	backups, openBackups, cutBackups, oldBackups := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	good := filepath.Join(backups, "crieur-1.tar.gz")
	if _, err := runCLI("", nil, "backup", good, "--data", data); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(openBackups, "crieur-1.tar.gz"), raw, 0o644)
	_ = os.WriteFile(filepath.Join(cutBackups, "crieur-1.tar.gz"), raw[:len(raw)*2/3], 0o600)
	_ = os.WriteFile(filepath.Join(oldBackups, "crieur-1.tar.gz"), raw, 0o600)
	tenDays := time.Now().Add(-10 * 24 * time.Hour)
	_ = os.Chtimes(filepath.Join(oldBackups, "crieur-1.tar.gz"), tenDays, tenDays)
	out, err := check(nil, "--time-from", inTime, "--keys", keys, "--backups", backups)
	if err != nil || !strings.Contains(out, "every check passed") || strings.Contains(out, "FAIL") {
		t.Fatalf("a correct deployment: %v\n%s", err, out)
	}
	for _, want := range []string{"answers over https with a valid certificate", "@news@127.0.0.1", "the clock is within", "keeps an append-only file", "is private", "news.pem is private", "the TLS key " + keyFile + " is private", "the newest backup, " + good + ", reads through whole and is 0 days old"} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
	t.Logf("crieur check on a correct deployment:\n%s", out)

	broken := []struct {
		name string
		env  []string
		args []string
		want string // a regular expression
	}{
		{"wrong public URL", []string{fmt.Sprintf("CRIEUR_PUBLIC_URL=https://localhost:%d", port)}, []string{"--time-from", inTime}, regexp.QuoteMeta("another public_url")},
		{"clock skew", nil, []string{"--time-from", clockServer(t, -5*time.Minute-30*time.Second)}, `clock is 5m(29|30|31)s ahead`}, // the Date header has whole seconds
		{"Redis without AOF", []string{"CRIEUR_REDIS_URL=" + noAOFRedis(t).URL()}, []string{"--time-from", inTime}, regexp.QuoteMeta("appendonly no")},
		{"plain http", []string{fmt.Sprintf("CRIEUR_PUBLIC_URL=http://127.0.0.1:%d", port)}, []string{"--time-from", inTime}, regexp.QuoteMeta("Mastodon follows only https actors")},
		{"a key file others can read", nil, []string{"--time-from", inTime, "--keys", openKeys}, regexp.QuoteMeta("news.pem can be read by other users (0644)")},
		{"a TLS key others can read", []string{"CRIEUR_TLS_KEY=" + openTLSKey}, []string{"--time-from", inTime}, regexp.QuoteMeta("tls.key can be read by other users (0644)")},
		{"a backup others can read", nil, []string{"--time-from", inTime, "--backups", openBackups}, regexp.QuoteMeta("crieur-1.tar.gz can be read by other users (0644)")},
		{"a backup cut short", nil, []string{"--time-from", inTime, "--backups", cutBackups}, "crieur-1.tar.gz cannot be restored: .*(damaged|EOF)"},
		{"an old backup", nil, []string{"--time-from", inTime, "--backups", oldBackups}, regexp.QuoteMeta("crieur-1.tar.gz, is 10 days old")},
		{"no backup", nil, []string{"--time-from", inTime, "--backups", t.TempDir()}, regexp.QuoteMeta("has no backup: crieur backup")},
	}
	for _, b := range broken {
		out, err := check(b.env, b.args...)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(out, "FAIL") || !regexp.MustCompile(b.want).MatchString(out) {
			t.Errorf("%s: %v, want exit 1 and a FAIL line saying %q:\n%s", b.name, err, b.want, out)
		}
	}
}

func noAOFRedis(t *testing.T) *redistest.Server {
	t.Helper()
	s, err := redistest.StartServer(t.TempDir(), "--appendonly", "no")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}
