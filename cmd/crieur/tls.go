package main

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"
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
