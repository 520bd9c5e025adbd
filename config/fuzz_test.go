package config

import (
	"os"
	"path/filepath"
	"testing"
)

// A config file of any content loads or fails with an error; it never
// panics, and what loads is valid.
func FuzzConfigFile(f *testing.F) {
	f.Add("listen = \"127.0.0.1:8080\"\n[delivery]\nretry_base = \"30s\"\nworkers = 4\n")
	f.Add("listen = 5\nunknown = true\n[delivery]\nretry_base = \"-1h\"\n")
	f.Add("public_url = \"ftp://x\"\nmetrics_listen = \"nope\"\n")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content string) {
		path := filepath.Join(dir, "c.toml")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(path, nil)
		if err == nil {
			if err := cfg.Validate(); err != nil {
				t.Fatalf("loaded but invalid: %v", err)
			}
		}
	})
}
