package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"crieur/cmd/crieur/app"
	"crieur/config"
	"crieur/federation/activitypub"
	"crieur/federation/delivery"
	"crieur/federation/discourse"
	"crieur/federation/email"
	"crieur/federation/matrix"
	"crieur/federation/mattermost"
)

// deliver runs delivery workers only: they need Redis and the boards' key
// files, not the store, so they can run on any machine. They deliver the
// Creates (the bulk of the work, and what waits for nothing); the
// activities that must follow them in order go out from serve.
func deliver(ctx context.Context, args []string, stderr io.Writer, env []string) error {
	fs := flag.NewFlagSet("deliver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keys := fs.String("keys", "", "directory of BOARD.pem key files (default: keys_dir, where crieur serve writes them)")
	metricsAddr := fs.String("metrics-listen", "", "serve /metrics on this address (optional)")
	cfg, err := loadConfig(fs, args, env)
	if err != nil {
		return err
	}
	if cfg.RedisURL == "" {
		return errors.New("crieur deliver needs Redis: pass --redis redis://host:port/0 (or set redis_url)")
	}
	if *keys == "" {
		*keys = cfg.KeysDir
	}
	if *keys == "" {
		return errors.New("crieur deliver needs --keys DIR (or keys_dir, CRIEUR_KEYS_DIR) holding BOARD.pem for every board it delivers for")
	}
	if st, err := os.Stat(*keys); err == nil && !st.IsDir() {
		return fmt.Errorf("--keys %s: not a directory", *keys)
	}
	if cfg.Delivery.Workers == 0 {
		return errors.New("delivery.workers is 0: this process would do nothing")
	}
	log := newLogger(stderr, cfg.LogLevel)
	if !waitForKeys(ctx, *keys, 2*time.Second, log) {
		return nil // stopped while waiting: not a failure
	}
	rdb, err := app.ConnectRedis(ctx, cfg)
	if err != nil {
		return err
	}
	defer rdb.Close()
	// Outcomes travel back to serve with each finished job (no store here).
	q := delivery.NewRedisQueue(rdb, app.RedisPrefix, activitypub.KindDeliver).WithResults()
	reg := prometheus.NewRegistry()
	pool := app.NewPool(cfg, q, map[string]delivery.Handler{
		activitypub.KindDeliver: app.NewDeliverer(cfg, buildVersion(), &activitypub.FileKeys{Dir: *keys}),
	}, cfg.Delivery.Workers, nil, delivery.NewMetrics(reg, q), log)
	if *metricsAddr != "" {
		ln, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			return fmt.Errorf("--metrics-listen: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", app.MetricsHandler(reg, []*delivery.Pool{pool}))
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
	}
	log.Info("crieur deliver running", "workers", cfg.Delivery.Workers, "keys", *keys)
	go func() {
		<-ctx.Done()
		log.Info("shutting down: finishing the deliveries in hand") // as serve says it
	}()
	pool.Run(ctx)
	log.Info("crieur deliver stopped")
	return nil
}

// waitForKeys holds the workers back until every key file in dir can be
// read. A key it cannot read (issue 27: written by the host's user, read
// by the container's uid 10001) is said once, with what to do, instead of
// once for every delivery that fails on it; it looks again every period,
// silently, and goes on as soon as the files are fixed (no restart loop).
func waitForKeys(ctx context.Context, dir string, period time.Duration, log *slog.Logger) bool {
	said := ""
	for {
		err := activitypub.CheckKeyFiles(ctx, dir)
		if err == nil {
			if said != "" {
				log.Info("the key files can be read now: delivering", "keys", dir)
			}
			return true
		}
		if msg := err.Error(); msg != said {
			log.Error("cannot deliver until this is fixed", "err", err)
			said = msg
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(period):
		}
	}
}

// openQueue opens the queue the configuration names, for operator commands.
func openQueue(ctx context.Context, cfg config.Config) (delivery.Queue, func(), error) {
	if cfg.RedisURL != "" {
		rdb, err := app.ConnectRedis(ctx, cfg)
		if err != nil {
			return nil, nil, err
		}
		return delivery.NewRedisQueue(rdb, app.RedisPrefix, delivery.KindFanOut, activitypub.KindDeliver, activitypub.KindDeliverInOrder, matrix.KindSend, mattermost.KindPost, email.KindSend, discourse.KindSend), func() { rdb.Close() }, nil
	}
	db, err := openDB(cfg, false)
	if err != nil {
		return nil, nil, err
	}
	return delivery.NewSQLiteQueue(db), func() { db.Close() }, nil
}

// reviveAll queues every dead letter again, once: those listed now, not
// those that die again while it runs.
func reviveAll(ctx context.Context, q delivery.Queue, stdout io.Writer) error {
	dead, err := q.Dead(ctx, math.MaxInt32)
	if err != nil {
		return err
	}
	n := 0
	for _, d := range dead {
		err := q.Revive(ctx, d.Handle)
		if errors.Is(err, delivery.ErrNoSuchJob) {
			continue // revived by someone else meanwhile
		}
		if err != nil {
			return fmt.Errorf("after queueing %d of %d again: %w", n, len(dead), err)
		}
		n++
	}
	fmt.Fprintf(stdout, "queued %d dead letters again\n", n)
	return nil
}

// deliveriesCmd lists and revives dead letters.
func deliveriesCmd(ctx context.Context, args []string, stdout io.Writer, env []string) error {
	if len(args) == 0 || (args[0] != "dead" && args[0] != "retry") {
		return errors.New("usage: crieur deliveries dead [--limit N] | crieur deliveries retry ID|--all")
	}
	fs := flag.NewFlagSet("deliveries "+args[0], flag.ContinueOnError)
	fs.SetOutput(stdout) // --help and mistakes are read where the command answers
	limit := fs.Int("limit", 100, "how many dead letters to list")
	rest := args[1:]
	var id string
	all := false
	if args[0] == "retry" {
		switch {
		case len(rest) > 0 && (rest[0] == "--all" || rest[0] == "-all"):
			all, rest = true, rest[1:]
		case len(rest) == 0 || rest[0] == "" || rest[0][0] == '-':
			return errors.New("usage: crieur deliveries retry ID (the ID column of 'crieur deliveries dead'), or --all")
		default:
			id, rest = rest[0], rest[1:]
		}
	}
	cfg, err := loadConfig(fs, rest, env)
	if err != nil {
		return err
	}
	q, done, err := openQueue(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	if all {
		return reviveAll(ctx, q, stdout)
	}
	if args[0] == "retry" {
		if err := q.Revive(ctx, id); err != nil {
			if errors.Is(err, delivery.ErrNoSuchJob) {
				return fmt.Errorf("no dead letter %q; 'crieur deliveries dead' lists them", id)
			}
			return err
		}
		fmt.Fprintf(stdout, "queued %s again\n", id)
		return nil
	}
	dead, err := q.Dead(ctx, *limit)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tKIND\tTARGET\tATTEMPTS\tDIED\tERROR")
	for _, d := range dead {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\n", d.Handle, d.Kind, d.Target, d.Attempts, d.DiedAt.UTC().Format(time.RFC3339), d.Error)
	}
	return w.Flush()
}
