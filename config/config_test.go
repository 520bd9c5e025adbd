package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestZeroConfigIsValid(t *testing.T) {
	cfg, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:8080" || cfg.PublicURL != "http://127.0.0.1:8080" || cfg.DataDir != "./data" || cfg.DefaultBoard != "news" {
		t.Fatalf("defaults = %+v", cfg)
	}
}

func TestEnvironmentOverridesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crieur.toml")
	os.WriteFile(path, []byte("listen = \"127.0.0.1:9000\"\n[delivery]\nworkers = 2\nretry_base = \"10s\"\n"), 0o600)
	cfg, err := Load(path, []string{"CRIEUR_DELIVERY_WORKERS=8", "CRIEUR_PUBLIC_URL=https://board.example.org/", "HOME=/root"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:9000" || cfg.Delivery.Workers != 8 || cfg.Delivery.RetryBase.Duration != 10*time.Second {
		t.Fatalf("got %+v", cfg)
	}
	if cfg.PublicURL != "https://board.example.org" {
		t.Fatalf("public URL = %q, want the trailing slash trimmed", cfg.PublicURL)
	}
}

func TestBadValuesNameTheKey(t *testing.T) {
	cases := []struct {
		env, key string
	}{
		{"CRIEUR_DELIVERY_RETRY_BASE=soon", "delivery.retry_base"},
		{"CRIEUR_DELIVERY_WORKERS=0", "delivery.workers"},
		{"CRIEUR_DELIVERY_WORKERS=many", "delivery.workers"},
		{"CRIEUR_PUBLIC_URL=ftp://example.org", "public_url"},
		{"CRIEUR_PUBLIC_URL=https://example.org/sub", "public_url"},
		{"CRIEUR_LISTEN=8080", "listen"},
		{"CRIEUR_ALLOW_PRIVATE_ADDRESSES=maybe", "allow_private_addresses"},
		{"CRIEUR_DEFAULT_BOARD=Not Valid", "default_board"},
		{"CRIEUR_LOG_LEVEL=loud", "log_level"},
		{"CRIEUR_DELIVERY_RETRY_MAX=1s", "delivery.retry_max"},
		{"CRIEUR_DELIVERY_LEASE=10s", "delivery.lease"},
		{"CRIEUR_DELIVERY_HOST_LIMIT=-1", "delivery.host_limit"},
		{"CRIEUR_REDIS_URL=http://x", "redis_url"},
		{"CRIEUR_TIMEZONE=Mars/Olympus", "timezone"},
	}
	for _, c := range cases {
		_, err := Load("", []string{c.env})
		var ce *Error
		if !errors.As(err, &ce) || ce.Key != c.key {
			t.Errorf("%s: error %v, want one naming %s", c.env, err, c.key)
		}
	}
}

func TestFileErrors(t *testing.T) {
	dir := t.TempDir()
	unknown := filepath.Join(dir, "unknown.toml")
	os.WriteFile(unknown, []byte("listne = \"127.0.0.1:1\"\n"), 0o600)
	if _, err := Load(unknown, nil); err == nil || !strings.Contains(err.Error(), "listne") {
		t.Errorf("unknown key: %v", err)
	}
	broken := filepath.Join(dir, "broken.toml")
	os.WriteFile(broken, []byte("listen = \n"), 0o600)
	if _, err := Load(broken, nil); err == nil || !strings.Contains(err.Error(), "broken.toml") {
		t.Errorf("syntax error: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.toml"), nil); err == nil {
		t.Error("a missing config file was accepted")
	}
}

func TestRedisAllowsServeWithoutWorkers(t *testing.T) {
	if _, err := Load("", []string{"CRIEUR_DELIVERY_WORKERS=0"}); err == nil {
		t.Fatal("no workers and no Redis: nothing would deliver")
	}
	if _, err := Load("", []string{"CRIEUR_DELIVERY_WORKERS=0", "CRIEUR_REDIS_URL=redis://127.0.0.1:6379/0"}); err != nil {
		t.Fatal(err)
	}
	_, err := Load("", []string{"CRIEUR_REDIS_URL=ftp://user:secret@x"})
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("bad redis URL: %v (the password must not be shown)", err)
	}
}
