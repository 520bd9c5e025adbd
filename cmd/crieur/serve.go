package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"crieur/board"
	"crieur/config"
	"crieur/federation/activitypub"
	"crieur/federation/delivery"
	"crieur/federation/email"
	"crieur/federation/liberapay"
	"crieur/federation/matrix"
	"crieur/federation/mattermost"
	"crieur/federation/outbound"
)

// redisPrefix namespaces every key Crieur keeps in Redis.
const redisPrefix = "crieur:"

// loadConfig reads the config file, then the environment, then the flags
// set on the command line, so the most specific setting wins.
func loadConfig(fs *flag.FlagSet, args []string, env []string) (config.Config, error) {
	path := fs.String("config", "", "TOML config file")
	listen := fs.String("listen", "", "address to listen on (listen)")
	public := fs.String("public-url", "", "URL peers use to reach this server (public_url)")
	data := fs.String("data", "", "data directory (data_dir)")
	redisURL := fs.String("redis", "", "Redis URL for the delivery queue (redis_url)")
	if err := fs.Parse(args); err != nil {
		return config.Config{}, err
	}
	if *path == "" {
		*path = envValue(env, "CRIEUR_CONFIG")
	}
	for name, val := range map[string]string{"listen": *listen, "public_url": *public, "data_dir": *data, "redis_url": *redisURL} {
		if val != "" {
			env = append(env, config.EnvName(name)+"="+val)
		}
	}
	return config.Load(*path, env)
}

func cutEnv(kv, name string) (string, bool) {
	if len(kv) > len(name) && kv[:len(name)] == name && kv[len(name)] == '=' {
		return kv[len(name)+1:], true
	}
	return "", false
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

func connectRedis(ctx context.Context, cfg config.Config) (*redis.Client, error) {
	opt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("redis_url: %w", err)
	}
	rdb := redis.NewClient(opt)
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pingCtx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("cannot reach Redis at %s (redis_url): %w", opt.Addr, err)
	}
	return rdb, nil
}

// newPool builds a worker pool with the configured retry and host policies.
func newPool(cfg config.Config, q delivery.Queue, handlers map[string]delivery.Handler, workers int, rec delivery.Recorder, m *delivery.Metrics, log *slog.Logger) *delivery.Pool {
	d := cfg.Delivery
	return &delivery.Pool{
		Queue:    q,
		Handlers: handlers,
		Recorder: rec,
		Policy:   delivery.RetryPolicy{Base: d.RetryBase.Duration, Max: d.RetryMax.Duration, Window: d.RetryWindow.Duration},
		Hosts:    delivery.HostPolicy{Limit: d.HostLimit, ParkAfter: d.ParkAfter, ParkBase: d.ParkBase.Duration, ParkMax: d.ParkMax.Duration},
		Workers:  workers,
		Lease:    d.Lease.Duration,
		Poll:     min(max(d.RetryBase.Duration/2, 20*time.Millisecond), time.Second),
		Metrics:  m,
		Log:      log,
	}
}

func newDeliverer(cfg config.Config, keys activitypub.KeySource) *activitypub.Deliverer {
	return &activitypub.Deliverer{
		Client:    outbound.NewClient(cfg.Delivery.Timeout.Duration, cfg.AllowPrivateAddresses),
		Keys:      keys,
		UserAgent: fmt.Sprintf("Crieur/%s (+%s)", version, cfg.PublicURL),
	}
}

func metricsHandler(reg *prometheus.Registry, pools []*delivery.Pool) http.Handler {
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "crieur_hosts_parked", Help: "Hosts this process is not delivering to after repeated failures.",
	}, func() float64 {
		n := 0
		for _, p := range pools {
			n += p.ParkedHosts()
		}
		return float64(n)
	}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer, env []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := loadConfig(fs, args, env)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)

	db, err := board.OpenDB(cfg.DatabasePath())
	if err != nil {
		return err
	}
	defer db.Close()
	store, err := board.NewStore(ctx, db)
	if err != nil {
		return err
	}
	rdb, err := board.OpenReadDB(cfg.DatabasePath(), 4)
	if err != nil {
		return err
	}
	defer rdb.Close()
	store.UseReader(rdb)

	var wg sync.WaitGroup
	var closeAfterWork []func()
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		stopWork()
		wg.Wait()
		for _, c := range closeAfterWork {
			c()
		}
	}()

	// The queue: embedded in the SQLite file, or Redis for scale-out.
	var queue delivery.Queue
	var fanoutQ, deliverQ delivery.Queue
	probes := &readiness{}
	probes.add("store", storeWritable(db))
	probes.add("dispatcher", dispatcherMoving(store.OldestPendingOutbox, 2*time.Minute))
	if cfg.RedisURL != "" {
		rdb, err := connectRedis(ctx, cfg)
		if err != nil {
			return err
		}
		probes.add("redis", func(ctx context.Context) error {
			if err := rdb.Ping(ctx).Err(); err != nil {
				return fmt.Errorf("redis does not answer: %w", err)
			}
			return nil
		})
		closeAfterWork = append(closeAfterWork, func() { rdb.Close() })
		queue = delivery.NewRedisQueue(rdb, redisPrefix, delivery.KindFanOut, activitypub.KindDeliver, matrix.KindSend, mattermost.KindPost, email.KindSend)
		// Only serve can expand a fan-out (it needs the followers) and post
		// to Matrix (it needs the announcement and the bot's token); any
		// worker anywhere can deliver to ActivityPub inboxes.
		fanoutQ = delivery.NewRedisQueue(rdb, redisPrefix, delivery.KindFanOut, matrix.KindSend, mattermost.KindPost, email.KindSend)
		deliverQ = delivery.NewRedisQueue(rdb, redisPrefix, activitypub.KindDeliver)
		results := delivery.NewRedisResults(rdb, redisPrefix)
		wg.Go(func() { results.Drain(workCtx, store, log) })
	} else {
		sq, err := delivery.NewSQLiteQueue(ctx, db)
		if err != nil {
			return err
		}
		if err := sq.ReleaseLeases(ctx); err != nil {
			return err
		}
		sq.UseReader(rdb)
		wg.Go(func() { purgeLoop(workCtx, sq, log) })
		queue, fanoutQ, deliverQ = sq, sq, sq
	}

	dispatcher := delivery.NewDispatcher(store, queue, log)
	svc := board.NewService(store, dispatcher.Notify)
	svc.SetDefaultTimeZone(cfg.Timezone)
	svc.SetMediaDir(cfg.MediaDir())
	svc.SetProgressGap(cfg.ProgressEvery.Duration)
	if err := ensureABoard(ctx, svc, cfg, log); err != nil {
		return err
	}
	urls, err := activitypub.NewURLs(cfg.PublicURL)
	if err != nil {
		return err
	}
	pages := board.NewPages(store, urls, log)
	reg := prometheus.NewRegistry()
	ap := activitypub.NewServer(urls, store, pages, queue, activitypub.Options{
		AllowPrivateAddresses: cfg.AllowPrivateAddresses,
		FetchTimeout:          cfg.Delivery.Timeout.Duration,
		MaxInboxBytes:         min(cfg.MaxBodyBytes, 1<<20),
		Version:               version,
		Metrics:               reg,
	}, log)

	mstore, err := matrix.NewStore(ctx, db)
	if err != nil {
		return err
	}
	bridge := matrix.NewBridge(mstore, store, urls, fanoutQ, outbound.NewClient(cfg.Delivery.Timeout.Duration, cfg.AllowPrivateAddresses), log)
	svc.AddChecker(bridge)
	svc.AddPreviewer(ap)
	svc.AddPreviewer(bridge)
	bridge.SetMedia(svc)
	svc.SetFollowerNotifier(ap)
	ap.SetSignups(svc)
	pages.SetService(svc)
	bridge.SetSignups(svc)
	svc.SetPromotionNotifier(ap)
	svc.SetTrainingNotifier(ap)
	svc.SetLinks(urls)

	metrics := delivery.NewMetrics(reg, queue)
	mm, err := mattermost.New(ctx, db, store, urls, outbound.NewClient(cfg.Delivery.Timeout.Duration, cfg.AllowPrivateAddresses))
	if err != nil {
		return err
	}
	mailer, err := email.New(ctx, db, store, urls, cfg.Delivery.Timeout.Duration)
	if err != nil {
		return err
	}
	fanout := &delivery.FanOut{Outbox: store, Expanders: []delivery.Expander{ap, bridge, mm, mailer}, Queue: queue, Pending: store}
	deliverer := newDeliverer(cfg, ap.Keys())
	var pools []*delivery.Pool
	if fanoutQ == deliverQ {
		pools = append(pools, newPool(cfg, fanoutQ, map[string]delivery.Handler{
			delivery.KindFanOut: fanout, activitypub.KindDeliver: deliverer, matrix.KindSend: bridge, mattermost.KindPost: mm, email.KindSend: mailer,
		}, cfg.Delivery.Workers, store, metrics, log))
	} else {
		pools = append(pools, newPool(cfg, fanoutQ, map[string]delivery.Handler{delivery.KindFanOut: fanout, matrix.KindSend: bridge, mattermost.KindPost: mm, email.KindSend: mailer}, 2, store, metrics, log))
		if cfg.Delivery.Workers > 0 {
			pools = append(pools, newPool(cfg, deliverQ, map[string]delivery.Handler{activitypub.KindDeliver: deliverer}, cfg.Delivery.Workers, store, metrics, log))
		}
	}

	mux := http.NewServeMux()
	probes.register(mux)
	api := board.NewAPI(svc, queue, cfg.MaxBodyBytes, log)
	api.Register(mux)
	bridge.Register(mux, api)
	mm.Register(mux, api)
	mailer.Register(mux, api)
	editor := board.NewEditor(svc, urls, cfg.Location(), strings.HasPrefix(cfg.PublicURL, "https://"), log)
	editor.AddDestinationSetup(mattermost.EditorSetup{D: mm})
	editor.AddDestinationSetup(email.EditorSetup{D: mailer})
	editor.Register(mux)
	ap.Register(mux)
	metricsH := metricsHandler(reg, pools)
	if cfg.MetricsListen == "" {
		mux.Handle("GET /metrics", api.AdminOnly(metricsH))
	} else {
		mln, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			return fmt.Errorf("listen on %s (metrics_listen): %w", cfg.MetricsListen, err)
		}
		mmux := http.NewServeMux()
		mmux.Handle("GET /metrics", metricsH)
		msrv := &http.Server{Handler: mmux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = msrv.Serve(mln) }()
		defer msrv.Close()
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (listen): %w", cfg.Listen, err)
	}
	// Only now: a start that fails (port taken) must not spend the one
	// time the first admin token is shown.
	if err := firstToken(ctx, svc, stdout); err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           mux,
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

	wg.Go(func() { dispatcher.Run(workCtx) })
	wg.Go(func() { svc.RunScheduler(workCtx, log) })
	lp := &liberapay.Poller{Base: cfg.LiberapayURL, Every: cfg.LiberapayEvery.Duration, Campaigns: store, Recorder: svc,
		HTTP: outbound.NewClient(cfg.Delivery.Timeout.Duration, cfg.AllowPrivateAddresses), Log: log}
	wg.Go(func() { lp.Run(workCtx) })
	wg.Go(func() { bridge.Run(workCtx) })
	for _, p := range pools {
		wg.Go(func() { p.Run(workCtx) })
	}

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
		shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = srv.Shutdown(shutCtx)
		cancel()
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// ensureABoard and firstToken make a fresh install usable: one board, one
// admin token shown once on stdout (never in the log).

// ensureABoard makes the default board on a server that has none.
func ensureABoard(ctx context.Context, svc *board.Service, cfg config.Config, log *slog.Logger) error {
	boards, err := svc.Store().Boards(ctx)
	if err != nil || len(boards) > 0 {
		return err
	}
	b, _, err := svc.EnsureBoard(ctx, cfg.DefaultBoard, "")
	if err != nil {
		return err
	}
	log.Info("created board", "board", b.Name)
	return nil
}

// firstToken prints an admin token on a server that has none.
func firstToken(ctx context.Context, svc *board.Service, stdout io.Writer) error {
	n, err := svc.Store().CountTokens(ctx)
	if err != nil || n > 0 {
		return err
	}
	tok, err := svc.Store().CreateToken(ctx, nil, "first admin token")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Admin token (shown once; keep it safe, e.g. export CRIEUR_TOKEN=...):\n%s\n", tok)
	return nil
}

func purgeLoop(ctx context.Context, q *delivery.SQLiteQueue, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := q.Purge(ctx, 7*24*time.Hour); err != nil {
				log.Warn("purge finished jobs", "err", err)
			}
		}
	}
}
