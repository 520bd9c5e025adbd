package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"runtime"
	"sync"

	"crieur/cmd/crieur/app"
	"crieur/config"
	"crieur/federation/delivery"
)

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

func serve(ctx context.Context, args []string, stdout, stderr io.Writer, env []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := loadConfig(fs, args, env)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	cpu, err := signingCPU()
	if err != nil {
		log.Warn("signatures run at the pages' priority: a fan-out slows the pages down", "err", err)
	}
	return app.Serve(ctx, cfg, app.Options{Version: buildVersion(), Log: log, Stdout: stdout, SigningCPU: cpu})
}

// signingCPU is the process's one set of signing threads (as many as
// cores, nice 15; delivery.BackgroundCPU), started by the first serve: a
// process serves once, but the tests run serve in theirs many times.
var signingCPU = sync.OnceValues(func() (*delivery.BackgroundCPU, error) {
	return delivery.StartBackgroundCPU(runtime.NumCPU(), 15)
})
