package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"crieur/config"
)

// readyCmd asks a running server whether it is ready, for probes that
// have no HTTP client of their own (the container image has no curl). It
// reads the settings serve reads (--config or CRIEUR_CONFIG, CRIEUR_*,
// --listen), so the probe asks where serve listens, over https when serve
// serves https (issue 27: it always asked http://127.0.0.1:8080).
func readyCmd(ctx context.Context, args []string, stdout io.Writer, env []string) error {
	fs := flag.NewFlagSet("ready", flag.ContinueOnError)
	fs.SetOutput(stdout) // --help and mistakes are read where the command answers
	target := fs.String("url", "", "the server's readiness endpoint (default: /readyz where serve listens, from the same settings)")
	wait := fs.Duration("wait", 0, "ask again, once a second, until ready or this long has passed (a systemd ExecStartPost: serve takes a moment to listen, and longer to upgrade a store); 0 asks once (a container's health check)")
	cfg, err := loadConfig(fs, args, env)
	if err != nil {
		return err
	}
	if *wait < 0 {
		return fmt.Errorf("--wait %s: a duration of 0 or more, such as 60s", *wait)
	}
	probe, err := readyProbe(cfg)
	if err != nil {
		return err
	}
	if *target != "" {
		probe.url = *target
	}
	if _, err := url.ParseRequestURI(probe.url); err != nil {
		return fmt.Errorf("--url: %w", err) // no use asking again
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: probe.tls, DisableKeepAlives: true}}
	deadline := time.Now().Add(*wait)
	for {
		checks, err := askReady(ctx, client, probe.url)
		if err != nil && cfg.TLS == "auto" && strings.Contains(err.Error(), "tls: internal error") {
			// autocert's answer to a handshake while it has no
			// certificate for the name (acme/autocert: missing
			// certificate, in serve's log). crypto/tls reports a peer's
			// alert as an unexported type (tls.AlertError is QUIC's):
			// its text is what there is to read.
			err = fmt.Errorf("%w: serve has no certificate for public_url's host yet (tls = auto): its first order may still be running, or have failed (serve's log says why)", err)
		}
		if errors.Is(err, errAnswersHTTPS) && *target == "" {
			// serve has TLS settings this command was not given (a
			// systemd drop-in's credentials, which systemd-run does not
			// read): the same address, over https.
			probe = probe.overHTTPS(cfg)
			client = &http.Client{Transport: &http.Transport{TLSClientConfig: probe.tls, DisableKeepAlives: true}}
			continue
		}
		if err == nil || !time.Now().Before(deadline) || ctx.Err() != nil {
			// The last answer is the one printed: what is still wrong.
			for _, name := range slices.Sorted(maps.Keys(checks)) {
				fmt.Fprintf(stdout, "%s: %s\n", name, checks[name])
			}
			if err != nil && *wait > 0 {
				err = fmt.Errorf("%w, after %s", err, *wait)
			}
			return err
		}
		select {
		case <-ctx.Done():
		case <-time.After(min(time.Second, time.Until(deadline))):
		}
	}
}

// askReady asks target once, within 5 s, and returns the checks it
// answered and an error unless the server is ready.
func askReady(ctx context.Context, client *http.Client, target string) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("not ready: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode == http.StatusBadRequest && req.URL.Scheme == "http" && bytes.Contains(body, []byte("HTTP request to an HTTPS server")) {
		// net/http's answer to plain HTTP on a TLS listener
		// (server.go, serve: "Client sent an HTTP request to an HTTPS
		// server.").
		return nil, errAnswersHTTPS
	}
	var r struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	_ = json.Unmarshal(body, &r)
	if resp.StatusCode != http.StatusOK {
		return r.Checks, fmt.Errorf("not ready (%s)", resp.Status)
	}
	return r.Checks, nil
}

// probe is where and how crieur ready asks.
type probe struct {
	url string
	tls *tls.Config
}

// errAnswersHTTPS: the server answers https where the probe asked http.
var errAnswersHTTPS = errors.New("the server answers https only")

// overHTTPS is p asked over https, as readyProbe does with TLS settings.
func (p probe) overHTTPS(cfg config.Config) probe {
	u, _ := url.Parse(p.url)
	u.Scheme = "https"
	host := u.Hostname()
	if public, err := url.Parse(cfg.PublicURL); err == nil && public.Hostname() != "" {
		host = public.Hostname()
	}
	return probe{url: u.String(), tls: probeTLS(host)}
}

// readyProbe derives the readiness URL from listen and the TLS settings:
// a wildcard listen address is asked on loopback.
func readyProbe(cfg config.Config) (probe, error) {
	host, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return probe{}, fmt.Errorf("listen %q: %w", cfg.Listen, err)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	u := url.URL{Scheme: "http", Host: net.JoinHostPort(host, port), Path: "/readyz"}
	if cfg.TLS != "auto" && cfg.TLSCert == "" {
		return probe{url: u.String()}, nil
	}
	u.Scheme = "https"
	public, err := url.Parse(cfg.PublicURL)
	if err != nil {
		return probe{}, fmt.Errorf("public_url: %w", err)
	}
	return probe{url: u.String(), tls: probeTLS(public.Hostname())}, nil
}

// probeTLS is how the probe speaks TLS to serve on this machine.
func probeTLS(serverName string) *tls.Config {
	return &tls.Config{
		// tls = "auto" answers only the host names it has certificates
		// for: the probe names public_url's host.
		ServerName: serverName,
		// The certificate is not checked, for this probe only: it goes to
		// the address serve itself binds on this machine (nobody in
		// between to tell apart), sends nothing secret and reads one
		// status. The certificate names public_url's host, not this
		// address, and may come from an authority this machine does not
		// trust; a probe that failed on it would restart a healthy
		// server. Whether peers trust the certificate is crieur check's
		// question. There is no plain-HTTP health listener to ask
		// instead: http_listen (tls = "auto") redirects to https and
		// metrics_listen serves /metrics alone.
		InsecureSkipVerify: true, //nolint:gosec // loopback readiness probe, see above
		MinVersion:         tls.VersionTLS12,
	}
}
