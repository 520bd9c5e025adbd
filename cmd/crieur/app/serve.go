package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"crieur/config"
)

// Serve runs a server until ctx ends: the app, its listener (plain, TLS
// from files, or automatic certificates), its background work; on the end
// of ctx it stops taking requests, finishes what it holds and closes. The
// first admin token goes to o.Stdout, once.
func Serve(ctx context.Context, cfg config.Config, o Options) error {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	stdout := o.Stdout
	if stdout == nil {
		stdout = io.Discard
	}
	a, err := New(ctx, cfg, o)
	if err != nil {
		return err
	}
	var work sync.WaitGroup
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		stopWork()
		work.Wait()
		a.Close()
	}()
	if cfg.MetricsListen != "" {
		mln, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			return fmt.Errorf("listen on %s (metrics_listen): %w", cfg.MetricsListen, err)
		}
		mmux := http.NewServeMux()
		mmux.Handle("GET /metrics", a.Metrics())
		msrv := &http.Server{Handler: mmux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = msrv.Serve(mln) }()
		defer msrv.Close()
	}

	ln := o.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			return fmt.Errorf("listen on %s (listen): %w", cfg.Listen, err)
		}
	}
	// Only now: a start that fails (port taken) must not spend the one
	// time the first admin token is shown.
	if err := a.FirstToken(ctx, stdout); err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	queueKind := "embedded"
	if cfg.RedisURL != "" {
		queueKind = "redis"
	}
	log.Info("crieur listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL, "data", cfg.DataDir, "queue", queueKind)
	work.Go(func() { a.Run(workCtx) })

	errc := make(chan error, 1)
	switch {
	case cfg.TLS == "auto":
		m, redirect, err := autoTLS(cfg, log)
		if err != nil {
			ln.Close()
			return err
		}
		srv.TLSConfig = m.TLSConfig()
		srv.TLSConfig.MinVersion = tls.VersionTLS12
		hln, err := net.Listen("tcp", cfg.HTTPListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s (http_listen, for the certificate authority's checks): %w", cfg.HTTPListen, err)
		}
		hsrv := &http.Server{Handler: redirect, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = hsrv.Serve(hln) }()
		defer hsrv.Close()
		go func() { errc <- srv.ServeTLS(ln, "", "") }()
	case cfg.TLSCert != "":
		certs, err := newCertFiles(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			ln.Close()
			return err
		}
		srv.TLSConfig = &tls.Config{GetCertificate: certs.get, MinVersion: tls.VersionTLS12}
		go func() { errc <- srv.ServeTLS(ln, "", "") }()
	default:
		go func() { errc <- srv.Serve(ln) }()
	}
	select {
	case err = <-errc:
	case <-ctx.Done():
		log.Info("shutting down")
		// No new job from now on (those in hand finish and are recorded),
		// while the requests under way get their answers.
		stopWork()
		shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = srv.Shutdown(shutCtx)
		cancel()
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
