package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"crieur/board/store"
	"crieur/cmd/crieur/rig"
)

// Issue 27, point 4: crieur serve on a store the release at commit 66863a9
// wrote copies it into backups/ before upgrading it, says so in one line
// (the steps and the copy), and serves every announcement; the copy opens
// at the old schema. Started again, it copies nothing. A new data folder
// is made, not copied.
func TestUpgradeFromAnOldRelease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	data := t.TempDir()
	raw, err := os.ReadFile(filepath.Join("..", "..", "board", "store", "testdata", "store-66863a9.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "crieur.db"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	c := startCrieur(t, data, 0)
	line := regexp.MustCompile(fmt.Sprintf(`msg="store upgraded: schema 0 → %d" changes="1 the first tables; [^"]+" copy=(\S+)`, store.Known())).FindStringSubmatch(c.stderr.String())
	if line == nil {
		t.Fatalf("no upgrade line in the log:\n%s", tail(c.stderr.String(), 20))
	}
	copied := line[1]
	if dir, name := filepath.Split(copied); dir != filepath.Join(data, "backups")+"/" || !regexp.MustCompile(`^crieur-schema0-\d{8}T\d{6}Z\.db$`).MatchString(name) {
		t.Errorf("the copy is %s, want backups/crieur-schema0-<UTC time>.db in %s", copied, data)
	}
	_, feed := page(t, c.URL+"/boards/news/feed.atom", "")
	for _, title := range []string{"Plain news", "General assembly", "Mail outage", "Volunteers wanted"} {
		if !strings.Contains(feed, title) {
			t.Errorf("the upgraded board's feed lacks %q", title)
		}
	}
	c.Stop()
	db, err := store.OpenReadDB(copied, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if v, err := store.Version(ctx, db); err != nil || v != 0 {
		t.Errorf("the copy is at schema %d (%v), want 0", v, err)
	}
	if err := db.QueryRow(`SELECT COUNT(*) FROM announcements`).Scan(&n); err != nil || n != 4 {
		t.Errorf("the copy holds %d announcements (%v), want 4", n, err)
	}

	again := startCrieur(t, data, 0)
	again.Stop()
	if strings.Contains(again.stderr.String(), "store upgraded") {
		t.Errorf("a second start upgraded again:\n%s", tail(again.stderr.String(), 10))
	}
	if entries, _ := os.ReadDir(filepath.Join(data, "backups")); len(entries) != 1 {
		t.Errorf("backups/ holds %d files after a second start, want the one copy", len(entries))
	}

	fresh := t.TempDir()
	c = &crieurProc{Crieur: rig.StartFresh(t, fresh, 0), t: t}
	c.stderr = c.Log
	c.Stop()
	if !strings.Contains(c.stderr.String(), fmt.Sprintf(`msg="store created" schema=%d`, store.Known())) || strings.Contains(c.stderr.String(), "store upgraded") {
		t.Errorf("a new store's log:\n%s", tail(c.stderr.String(), 10))
	}
	if _, err := os.Stat(filepath.Join(fresh, "backups")); !os.IsNotExist(err) {
		t.Errorf("a new store was copied (%v)", err)
	}
}

// Issue 27, point 5: crieur serve run as a user the data folder does not
// belong to stops with one message saying which chown fixes it, not
// "unable to open database file (14)". Run as uid 65534 with setpriv,
// which needs root (as CI runs the tests).
func TestUpgradeStopsOnAFolderOfAnotherUser(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run crieur as another user")
	}
	requireTool(t, "setpriv")
	// Where uid 65534 may read and run, not write.
	base, err := os.MkdirTemp("", "crieur-owner-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(base)
	data := filepath.Join(base, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(crieurBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(base, "crieur")
	if err := os.WriteFile(bin, raw, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", bin, "serve", "--data", data, "--listen", "127.0.0.1:0")
	cmd.Env = cleanEnvForTest()
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("crieur serve started on a folder it may not write:\n%s", out)
	}
	want := fmt.Sprintf("Crieur runs as uid 65534 and may not write in %s, which belongs to uid 0: give the folder to the user Crieur runs as: chown -R 65534 %s/", data, data)
	if strings.Count(string(out), want) != 1 || strings.Count(string(out), "chown -R") != 1 {
		t.Errorf("crieur serve said:\n%s\nwant once: %s", out, want)
	}

	// The folder is Crieur's, its store an old release's, but backups/
	// is root's and closed (made by a command run as root): the copy
	// before the upgrade cannot be looked for. Crieur once tried names
	// for ever there, at full speed, deaf to SIGTERM and silent.
	raw, err = os.ReadFile(filepath.Join("..", "..", "board", "store", "testdata", "store-66863a9.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "crieur.db"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(data, "backups"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{data, filepath.Join(data, "crieur.db")} {
		if err := os.Chown(p, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd = exec.CommandContext(ctx, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", bin, "serve", "--data", data, "--listen", "127.0.0.1:0")
	cmd.Env = cleanEnvForTest()
	out, err = cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("crieur serve, with backups/ closed to it, neither started nor stopped in a minute:\n%s", out)
	}
	if err == nil {
		t.Fatalf("crieur serve upgraded a store it could not copy first:\n%s", out)
	}
	advice := fmt.Sprintf("chown -R 65534 %s/", data)
	if !strings.Contains(string(out), "may not write in "+data) || strings.Count(string(out), advice) != 1 {
		t.Errorf("crieur serve, with backups/ closed to it, said:\n%s\nwant the advice %q once", out, advice)
	}
}

// cleanEnvForTest is this process's environment without Crieur's settings.
func cleanEnvForTest() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CRIEUR_") {
			env = append(env, kv)
		}
	}
	return env
}
