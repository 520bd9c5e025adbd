// Package app wires Crieur together, once: the store and its readers, the
// delivery queue (embedded or Redis), the board service, every destination,
// the pages, the editor, the admin API, the probes and the background work.
// `crieur serve` and the test rig both build it with New, so the tests run
// the wiring the binary runs. It decides nothing and renders nothing.
package app

import (
	"context"
	"database/sql"
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
	"crieur/board/api"
	"crieur/board/httpx"
	"crieur/board/locale"
	"crieur/board/markdown"
	"crieur/board/media"
	"crieur/board/pagecache"
	"crieur/board/store"
	"crieur/board/web"
	"crieur/config"
	"crieur/federation/activitypub"
	"crieur/federation/delivery"
	"crieur/federation/discourse"
	"crieur/federation/email"
	"crieur/federation/liberapay"
	"crieur/federation/matrix"
	"crieur/federation/mattermost"
	"crieur/federation/outbound"
)

// RedisPrefix namespaces every key Crieur keeps in Redis.
const RedisPrefix = "crieur:"

// Options are what the caller gives besides the configuration.
type Options struct {
	// Version is the software's, shown in NodeInfo and the User-Agent.
	Version string
	Log     *slog.Logger
	// Stdout is where Serve shows the first admin token (once).
	Stdout io.Writer
	// Listener, if set, is where Serve answers instead of listening on
	// cfg.Listen: a port bound before the start, so that nothing else
	// takes it meanwhile (the tests' servers, started side by side).
	Listener net.Listener
	// SigningCPU, if set, runs the deliveries' signatures below the
	// pages' priority while a person reads them (one per process: crieur
	// serve's main starts it); the handler tells it of each page.
	SigningCPU *delivery.BackgroundCPU
}

// App is one Crieur server, wired.
type App struct {
	cfg     config.Config
	log     *slog.Logger
	db      *sql.DB // the writer connection
	readers *sql.DB
	// Store and Service are the board's, for the operator's commands and
	// the tests.
	Store   *store.Store
	Service *board.Service

	metrics http.Handler
	table   []api.Row
	// editorTable is the web editor's, decided by the same rule.
	editorTable []httpx.Route
	routes      *httpx.Routes
	handler     http.Handler // routes, telling the signers when a person reads
	runners     []func(context.Context)
	closers     []func()
}

// New opens (and migrates, logging each step) the store in the
// configured data folder, connects to Redis when configured, and wires
// everything. Nothing runs until Run.
func New(ctx context.Context, cfg config.Config, o Options) (a *App, err error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a = &App{cfg: cfg, log: log}
	// A failed start closes what it opened ("return nil, err" has set a
	// to nil by the time this runs: close the App that was made).
	opened := a
	defer func() {
		if err != nil {
			opened.Close()
			// A full disk, a folder of another user, a read-only mount:
			// said once, with what to do, as crieur serve's last word.
			err = board.DiagnoseStorage(err, cfg.DataDir)
		}
	}()
	if a.db, err = store.OpenDB(cfg.DatabasePath()); err != nil {
		return nil, err
	}
	db := a.db
	a.closers = append(a.closers, func() { db.Close() })
	// A store with data is copied before its first step, so that going
	// back to the previous release is restoring that copy.
	copies := store.CopyOptions{Dir: cfg.BackupsDir(), Keep: cfg.UpgradeCopies}
	if _, err := store.Upgrade(ctx, a.db, copies, log); err != nil {
		return nil, fmt.Errorf("crieur %s: %w", o.Version, err)
	}
	if err := store.Stamp(ctx, a.db, o.Version); err != nil {
		return nil, err
	}
	// At every start, after the migration made the WAL files: an install
	// from an earlier release kept 0755 and 0644.
	changed, err := store.TightenPermissions(cfg.DatabasePath())
	for _, c := range changed {
		log.Info("made private", "file", c)
	}
	if err != nil {
		return nil, err
	}
	st, err := store.New(ctx, a.db)
	if err != nil {
		return nil, err
	}
	if a.readers, err = store.OpenReadDB(cfg.DatabasePath(), 4); err != nil {
		return nil, err
	}
	readers := a.readers
	a.closers = append(a.closers, func() { readers.Close() })
	st.UseReader(a.readers)
	a.Store = st

	// The queue: embedded in the SQLite file, or Redis for scale-out.
	var queue, fanoutQ, orderedQ, deliverQ delivery.Queue
	probes := &readiness{}
	probes.add("store", storeWritable(a.db))
	probes.add("dispatcher", dispatcherMoving(st.OldestPendingOutbox, 2*time.Minute))
	if cfg.RedisURL != "" {
		rdb, err := ConnectRedis(ctx, cfg)
		if err != nil {
			return nil, err
		}
		probes.add("redis", func(ctx context.Context) error {
			if err := rdb.Ping(ctx).Err(); err != nil {
				return fmt.Errorf("redis does not answer: %w", err)
			}
			return nil
		})
		a.closers = append(a.closers, func() { rdb.Close() })
		queue = delivery.NewRedisQueue(rdb, RedisPrefix, delivery.KindFanOut, activitypub.KindDeliver, activitypub.KindDeliverInOrder, matrix.KindSend, mattermost.KindPost, email.KindSend, discourse.KindSend)
		// Only serve can expand a fan-out (it needs the followers), post
		// to Matrix (it needs the announcement and the bot's token) and
		// keep an announcement's activities in order at each inbox (it
		// needs the deliveries); any worker anywhere can deliver a Create.
		fanoutQ = delivery.NewRedisQueue(rdb, RedisPrefix, delivery.KindFanOut, matrix.KindSend, mattermost.KindPost, email.KindSend, discourse.KindSend)
		orderedQ = delivery.NewRedisQueue(rdb, RedisPrefix, activitypub.KindDeliverInOrder)
		deliverQ = delivery.NewRedisQueue(rdb, RedisPrefix, activitypub.KindDeliver)
		results := delivery.NewRedisResults(rdb, RedisPrefix)
		a.run(func(ctx context.Context) { results.Drain(ctx, st, log) })
	} else {
		sq := delivery.NewSQLiteQueue(a.db)
		if err := sq.ReleaseLeases(ctx); err != nil {
			return nil, err
		}
		sq.UseReader(a.readers)
		a.run(func(ctx context.Context) { purgeLoop(ctx, sq, log) })
		queue, fanoutQ, orderedQ, deliverQ = sq, sq, sq, sq
	}

	urls, err := activitypub.NewURLs(cfg.PublicURL)
	if err != nil {
		return nil, err
	}
	client := func() *http.Client {
		return outbound.NewClient(cfg.Delivery.Timeout.Duration, cfg.AllowPrivateAddresses)
	}
	dispatcher := delivery.NewDispatcher(st, queue, log)
	// Uploads are decoded one per processor at a time; an editor told to
	// wait is asked back after the 20 s a queued upload may wait.
	pictures := media.Limited{Dir: media.Dir(cfg.MediaDir()), Budget: media.NewBudget(0, 20*time.Second)}
	svc := board.NewService(board.Options{Store: st, Markup: markdown.New(), Notices: locale.Notices{}, Links: urls, Pictures: pictures,
		OnOutbox: dispatcher.Notify, TimeZone: cfg.Timezone, ProgressGap: cfg.ProgressEvery.Duration, Recurring: recurring(cfg)})
	a.Service = svc
	if err := ensureABoard(ctx, svc, st, cfg, log); err != nil {
		return nil, err
	}
	if cfg.KeysDir != "" {
		if err := ExportKeys(ctx, st, cfg.KeysDir, log); err != nil {
			return nil, err
		}
	}
	pages := web.NewPages(st, svc, urls, pictures.Dir, log)
	pages.LimitSignups(httpx.Clients{Trusted: cfg.Proxies()}, cfg.SignupsPerHour)
	reg := prometheus.NewRegistry()
	ap := activitypub.NewServer(urls, st, pages, queue, activitypub.Options{
		AllowPrivateAddresses: cfg.AllowPrivateAddresses,
		FetchTimeout:          cfg.Delivery.Timeout.Duration,
		MaxInboxBytes:         min(cfg.MaxBodyBytes, 1<<20),
		Version:               o.Version,
		Metrics:               reg,
		Signups:               svc,
		Replays:               st, // a captured request stays refused across a restart
		Relays:                st,
	}, log)
	bridge := matrix.NewBridge(matrix.NewStore(a.db), st, svc, urls, fanoutQ, client(), log)
	bridge.CheckMembershipEvery(cfg.MatrixCheckEvery.Duration)
	mm := mattermost.New(a.db, st, urls, client())
	forums := discourse.New(a.db, st, urls, client())
	mailer := email.New(a.db, st, urls, cfg.Delivery.Timeout.Duration, cfg.AllowPrivateAddresses)
	mailer.TellVia(queue, log)
	svc.Connect(board.Destinations{Checkers: []board.Checker{bridge}, Previewers: []board.Previewer{ap, bridge},
		Followers: ap, People: []board.PersonNotifier{ap, mailer}})

	metrics := delivery.NewMetrics(reg, queue)
	fanout := &delivery.FanOut{Outbox: st, Expanders: []delivery.Expander{ap, bridge, mm, mailer, forums}, Queue: queue, Pending: st}
	deliverer := NewDeliverer(cfg, o.Version, ap.Keys())
	deliverer.CPU = o.SigningCPU
	deliverer.Order = st // one announcement's activities reach an inbox in order
	// The pools' outcomes reach the store in batches: one transaction for
	// the deliveries that end together, not one each.
	records := delivery.NewGroupRecorder(st)
	var pools []*delivery.Pool
	if fanoutQ == deliverQ {
		pools = append(pools, NewPool(cfg, fanoutQ, map[string]delivery.Handler{
			delivery.KindFanOut: fanout, activitypub.KindDeliver: deliverer, activitypub.KindDeliverInOrder: deliverer,
			matrix.KindSend: bridge, mattermost.KindPost: mm, email.KindSend: mailer, discourse.KindSend: forums,
		}, cfg.Delivery.Workers, records, metrics, log))
	} else {
		pools = append(pools, NewPool(cfg, fanoutQ, map[string]delivery.Handler{delivery.KindFanOut: fanout, matrix.KindSend: bridge, mattermost.KindPost: mm, email.KindSend: mailer, discourse.KindSend: forums}, 2, records, metrics, log))
		// Edits, refreshes, pins and deletions go out from here even when
		// crieur deliver workers deliver the rest (workers = 0 here).
		ordered := max(2, cfg.Delivery.Workers)
		pools = append(pools, NewPool(cfg, orderedQ, map[string]delivery.Handler{activitypub.KindDeliverInOrder: deliverer}, ordered, records, metrics, log))
		log.Info("delivery split: serve sends edits, refreshes, pins and deletions in order; any worker sends new posts",
			"ordered_workers", ordered, "new_post_workers_here", cfg.Delivery.Workers)
		if cfg.Delivery.Workers > 0 {
			pools = append(pools, NewPool(cfg, deliverQ, map[string]delivery.Handler{activitypub.KindDeliver: deliverer}, cfg.Delivery.Workers, records, metrics, log))
		}
	}

	routes := httpx.NewRoutes()
	// Public pages and documents are rendered once per change of the
	// store (and at most every 10 s, for what the clock alone changes).
	kept := pagecache.New(st, pagecache.Options{TTL: 10 * time.Second, Log: log})
	routes.UseCache(kept)
	st.OnWrite(kept.Changed)
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "crieur_page_cache_hits_total", Help: "Public GETs answered from the page cache.",
	}, func() float64 { h, _ := kept.Stats(); return float64(h) }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "crieur_page_cache_misses_total", Help: "Public GETs rendered (the page cache had no current entry).",
	}, func() float64 { _, m := kept.Stats(); return float64(m) }))
	probes.register(routes)
	admin := api.New(svc, st, queue, cfg.MaxBodyBytes, log)
	admin.Register(routes)
	pages.Register(routes)
	bridge.Register(admin)
	mm.Register(admin)
	mailer.Register(admin)
	ap.RegisterRelays(admin)
	forums.Register(admin)
	editor := web.NewEditor(svc, st, urls, cfg.Location(), strings.HasPrefix(cfg.PublicURL, "https://"), log)
	editor.AddDestinationSetup(mattermost.EditorSetup{D: mm})
	editor.AddDestinationSetup(email.EditorSetup{D: mailer})
	editor.AddDestinationSetup(discourse.EditorSetup{D: forums})
	editor.AddDestinationSetup(activitypub.RelaysSetup{S: ap})
	editor.Register(routes)
	a.editorTable = editor.Table()
	ap.Register(routes)
	a.metrics = MetricsHandler(reg, pools)
	if cfg.MetricsListen == "" {
		admin.AdminOnly("GET /metrics", a.metrics)
	}
	a.routes = routes
	a.handler = foreground(routes, o.SigningCPU)
	a.table = admin.Table()

	a.run(dispatcher.Run)
	a.run(func(ctx context.Context) { svc.RunScheduler(ctx, log) })
	lp := &liberapay.Poller{Base: cfg.LiberapayURL, Every: cfg.LiberapayEvery.Duration, Campaigns: st, Recorder: svc, HTTP: client(), Log: log}
	a.run(lp.Run)
	a.run(bridge.Run)
	// A board's new name, summary or logo reaches its followers within
	// seconds, from whichever process changed it.
	a.run(func(ctx context.Context) { ap.ProfileUpdates(ctx, 5*time.Second) })
	for _, p := range pools {
		a.run(p.Run)
	}
	return a, nil
}

func (a *App) run(f func(context.Context)) { a.runners = append(a.runners, f) }

// APITable is the admin API's authorization table as registered.
func (a *App) APITable() []api.Row { return a.table }

// EditorTable is the web editor's authorization table as registered.
func (a *App) EditorTable() []httpx.Route { return a.editorTable }

// Routes is every route the server answers, with what each asks of its
// caller (the API's and the editor's tables are parts of it).
func (a *App) Routes() []httpx.Route { return a.routes.Table() }

// Handler is everything the server answers over HTTP.
func (a *App) Handler() http.Handler { return a.handler }

// Metrics is the /metrics handler, for a listener of its own
// (metrics_listen); otherwise Handler serves it to admin tokens.
func (a *App) Metrics() http.Handler { return a.metrics }

// Run does the background work (dispatcher, scheduler, pollers, Matrix
// sync, delivery workers) until ctx ends, and returns when all of it has
// stopped.
func (a *App) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, f := range a.runners {
		wg.Go(func() { f(ctx) })
	}
	wg.Wait()
}

// Close closes the store and Redis, once Run has returned.
func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

// FirstToken prints an admin token on a server that has none, once: call
// it once the server can listen, so a start that fails (a port taken)
// does not spend the one time it is shown.
func (a *App) FirstToken(ctx context.Context, stdout io.Writer) error {
	n, err := a.Store.CountTokens(ctx)
	if err != nil || n > 0 {
		return err
	}
	tok, err := a.Store.CreateToken(ctx, nil, "first admin token")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Admin token (shown once; keep it safe, e.g. export CRIEUR_TOKEN=...):\n%s\n", tok)
	return nil
}

// ensureABoard makes the default board on a server that has none, so a
// fresh install is usable.
func ensureABoard(ctx context.Context, svc *board.Service, st *store.Store, cfg config.Config, log *slog.Logger) error {
	boards, err := st.Boards(ctx)
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

// ExportKeys writes every board's private key into dir (keys_dir) for
// crieur deliver, as the user this process runs as: in a container, the
// same uid as the workers that read them (issue 27: a key exported by the
// host's user was unreadable there).
func ExportKeys(ctx context.Context, st *store.Store, dir string, log *slog.Logger) error {
	boards, err := st.Boards(ctx)
	if err != nil {
		return fmt.Errorf("export keys: %w", err)
	}
	for _, b := range boards {
		written, err := activitypub.WriteKeyFile(dir, b.Name, b.PrivateKeyPEM)
		if err != nil {
			return fmt.Errorf("export the key of board %s (keys_dir): %w", b.Name, err)
		}
		if written {
			log.Info("wrote the board's key for crieur deliver", "board", b.Name, "dir", dir)
		}
	}
	return nil
}

// ConnectRedis connects to the configured Redis, or says why it cannot.
func ConnectRedis(ctx context.Context, cfg config.Config) (*redis.Client, error) {
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

// NewPool builds a worker pool with the configured retry and host policies.
func NewPool(cfg config.Config, q delivery.Queue, handlers map[string]delivery.Handler, workers int, rec delivery.Recorder, m *delivery.Metrics, log *slog.Logger) *delivery.Pool {
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

// NewDeliverer signs and posts activities to inboxes.
func NewDeliverer(cfg config.Config, version string, keys activitypub.KeySource) *activitypub.Deliverer {
	return &activitypub.Deliverer{
		Client:    outbound.NewClient(cfg.Delivery.Timeout.Duration, cfg.AllowPrivateAddresses),
		Keys:      keys,
		UserAgent: fmt.Sprintf("Crieur/%s (+%s)", version, cfg.PublicURL),
	}
}

// MetricsHandler serves reg's metrics with the process's and the pools'.
func MetricsHandler(reg *prometheus.Registry, pools []*delivery.Pool) http.Handler {
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

// recurring says which campaigns count recurring income: those whose link
// is an account the Liberapay poller follows (none when it is off).
func recurring(cfg config.Config) func(link string) bool {
	if cfg.LiberapayURL == "" || cfg.LiberapayEvery.Duration <= 0 {
		return nil
	}
	return liberapay.Follows(cfg.LiberapayURL)
}

// foreground tells cpu of each page a person asks for (a browser's
// navigation), so that the signatures of a fan-out yield to the pages
// while someone reads them, and only then (delivery.BackgroundCPU).
func foreground(h http.Handler, cpu *delivery.BackgroundCPU) http.Handler {
	if cpu == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if httpx.AcceptsHTML(r) {
			cpu.Foreground()
		}
		h.ServeHTTP(w, r)
	})
}
