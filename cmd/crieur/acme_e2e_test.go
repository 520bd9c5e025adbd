package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/letsencrypt/challtestsrv"
	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
)

// pebble runs Let's Encrypt's test ACME server in this process on
// loopback. Its validation authority checks challenges on httpPort
// (http-01) and tlsPort (tls-alpn-01) of the names asked for; its
// certificates last validity seconds.
type pebble struct {
	Directory string // the ACME directory URL
	DirCAFile string // PEM of the directory's own https certificate
	Root      *x509.CertPool
}

func startPebble(t *testing.T, httpPort, tlsPort int, validity uint64) *pebble {
	t.Helper()
	// Read by pebble only, when it starts (va.New, wfe.New); set for the
	// process, as t.Setenv would keep the test from running in parallel.
	os.Setenv("PEBBLE_VA_NOSLEEP", "1")      // no random waits before checking
	os.Setenv("PEBBLE_WFE_NONCEREJECT", "0") // no deliberate bad nonces
	logger := log.New(io.Discard, "", 0)
	if testing.Verbose() {
		logger = log.New(os.Stderr, "pebble ", log.Ltime)
	}
	// Its validation asks a loopback DNS server (Let's Encrypt's test
	// one) that answers 127.0.0.1 for every name: the board can have a
	// real-looking host name, as ACME clients want.
	dnsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	dnsSrv, err := challtestsrv.New(challtestsrv.Config{DNSAddrs: []string{dnsAddr}, Log: logger})
	if err != nil {
		t.Fatal(err)
	}
	dnsSrv.SetDefaultDNSIPv4("127.0.0.1")
	dnsSrv.SetDefaultDNSIPv6("")
	go dnsSrv.Run()
	t.Cleanup(dnsSrv.Shutdown)
	store := db.NewMemoryStore()
	authority := ca.New(logger, store, "", "ecdsa", 0, 1, map[string]ca.Profile{"default": {Description: "test", ValidityPeriod: validity}})
	validation := va.New(logger, httpPort, tlsPort, false, dnsAddr, store)
	front := wfe.New(logger, store, validation, authority, []string{"pebble.letsencrypt.org"}, false, false, 3, 5)
	acmeSrv := httptest.NewTLSServer(front.Handler())
	t.Cleanup(acmeSrv.Close)
	mgmt := httptest.NewTLSServer(front.ManagementHandler())
	t.Cleanup(mgmt.Close)
	resp, err := mgmt.Client().Get(mgmt.URL + wfe.RootCertPath + "0")
	if err != nil {
		t.Fatal(err)
	}
	rootPEM, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	root := x509.NewCertPool()
	if !root.AppendCertsFromPEM(rootPEM) {
		t.Fatalf("pebble's root: %q", rootPEM)
	}
	caFile := filepath.Join(t.TempDir(), "acme-server.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: acmeSrv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &pebble{Directory: acmeSrv.URL + wfe.DirectoryPath, DirCAFile: caFile, Root: root}
}

// tls = "auto": the certificate comes from the ACME authority through its
// own checks (tls-alpn-01 on the https port, http-01 on http_listen), is
// kept in the data folder, and is renewed before it ends; plain http goes
// to https.
func TestAutomaticHTTPSFromACME(t *testing.T) {
	t.Parallel()
	httpsPort, httpPort := freePort(t), freePort(t)
	pb := startPebble(t, httpPort, httpsPort, 15)
	data := t.TempDir()
	const host = "board.crieur.test" // the test DNS server says 127.0.0.1
	public := fmt.Sprintf("https://%s:%d", host, httpsPort)
	startProc(t, []string{"serve", "--data", data},
		"CRIEUR_TLS=auto", "CRIEUR_PUBLIC_URL="+public, fmt.Sprintf("CRIEUR_LISTEN=127.0.0.1:%d", httpsPort),
		fmt.Sprintf("CRIEUR_HTTP_LISTEN=127.0.0.1:%d", httpPort), "CRIEUR_ACME_DIRECTORY="+pb.Directory,
		"SSL_CERT_FILE="+pb.DirCAFile) // Crieur trusts the test authority's own https
	serial := func() string {
		conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", httpsPort), &tls.Config{ServerName: host, RootCAs: pb.Root})
		if err != nil {
			return ""
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	var first string
	started := time.Now()
	waitFor(t, 30*time.Second, "a certificate from the ACME authority", func() bool {
		first = serial()
		return first != ""
	})
	t.Logf("first certificate after %v", time.Since(started).Round(time.Millisecond))
	loopback := func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, port, _ := net.SplitHostPort(addr)
		return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+port)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pb.Root}, DialContext: loopback},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(public + "/.well-known/nodeinfo")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("nodeinfo over https: %v %v", err, resp)
	}
	resp.Body.Close()
	resp, err = client.Get(fmt.Sprintf("http://127.0.0.1:%d/boards/news?x=1", httpPort))
	if err != nil || resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != public+"/boards/news?x=1" {
		t.Fatalf("plain http: %v %v %q, want a redirect to %s/boards/news?x=1", err, resp.Status, resp.Header.Get("Location"), public)
	}
	resp.Body.Close()
	if entries, _ := os.ReadDir(filepath.Join(data, "certs")); len(entries) == 0 {
		t.Error("no certificate kept in the data folder")
	}
	if st, err := os.Stat(filepath.Join(data, "certs")); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("the certificate folder: %v %v, want private", st.Mode(), err)
	}
	// A third of its 15 s life before it ends, it is replaced.
	waitFor(t, 30*time.Second, "the renewed certificate", func() bool {
		s := serial()
		return s != "" && s != first
	})
	t.Logf("renewed %v after the first", time.Since(started).Round(time.Millisecond))
}
