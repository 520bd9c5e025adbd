package app

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"

	"crieur/config"
)

// certFiles serves a certificate from files, reading them again when they
// change, so a renewal (certbot, acme.sh) needs no restart.
type certFiles struct {
	cert, key string

	mu      sync.Mutex
	current *tls.Certificate
	modTime time.Time
	checked time.Time
}

func newCertFiles(cert, key string) (*certFiles, error) {
	c := &certFiles{cert: cert, key: key}
	if err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *certFiles) load() error {
	st, err := os.Stat(c.cert)
	if err != nil {
		return fmt.Errorf("tls_cert: %w", err)
	}
	pair, err := tls.LoadX509KeyPair(c.cert, c.key)
	if err != nil {
		return fmt.Errorf("tls_cert and tls_key: %w", err)
	}
	c.current, c.modTime = &pair, st.ModTime()
	return nil
}

// get is tls.Config.GetCertificate: the files are looked at once a minute
// at most; a broken renewal keeps the certificate that worked.
func (c *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.checked) > time.Minute {
		c.checked = time.Now()
		if st, err := os.Stat(c.cert); err == nil && !st.ModTime().Equal(c.modTime) {
			prev, prevMod := c.current, c.modTime
			if err := c.load(); err != nil {
				c.current, c.modTime = prev, prevMod
			}
		}
	}
	return c.current, nil
}

// autoTLS gets public_url's certificate from an ACME authority (tls-alpn-01
// on the https listener, http-01 on http_listen), keeps it in the data
// folder and renews it when a third of its life is left. The handler it
// returns answers http_listen: challenges, and a redirect to https for
// everything else.
func autoTLS(cfg config.Config, log *slog.Logger) (*autocert.Manager, http.Handler, error) {
	u, err := url.Parse(cfg.PublicURL)
	if err != nil {
		return nil, nil, err
	}
	dir := strings.TrimSuffix(cfg.DataDir, "/") + "/certs"
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("certificate folder: %w", err)
	}
	m := &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(dir),
		HostPolicy: autocert.HostWhitelist(u.Hostname()),
		Email:      cfg.ACMEEmail,
		Client:     &acme.Client{DirectoryURL: cfg.ACMEDirectory},
	}
	log.Info("https certificates from ACME", "host", u.Hostname(), "directory", cfg.ACMEDirectory, "http_listen", cfg.HTTPListen)
	redirect := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "use "+cfg.PublicURL, http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, cfg.PublicURL+r.URL.RequestURI(), http.StatusMovedPermanently)
	})
	return m, m.HTTPHandler(redirect), nil
}
