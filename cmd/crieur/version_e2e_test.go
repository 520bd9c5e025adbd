package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"crieur/board/store"
	"crieur/cmd/crieur/app"
	"crieur/config"
)

// Point 11 of issue 23: the version comes from the build and is the same
// in crieur version, NodeInfo and the User-Agent; a binary refuses a store
// a newer release wrote, naming that release; crieur check never migrates.
func TestVersionAndSchemaGuard(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// The built binary: its version is the release and the commit.
	bin := crieurBinary(t)
	raw, err := exec.Command(bin, "version").Output()
	said := strings.TrimPrefix(strings.TrimSpace(string(raw)), "crieur ")
	if err != nil || !strings.HasPrefix(said, release) {
		t.Fatalf("crieur version: %q %v", raw, err)
	}
	meta, _ := exec.Command("go", "version", "-m", bin).Output()
	if rev := regexp.MustCompile(`vcs\.revision=([0-9a-f]{12})`).FindSubmatch(meta); rev != nil && !strings.HasPrefix(said, release+"+"+string(rev[1])) {
		t.Errorf("built from commit %s, crieur version says %q", rev[1], said)
	}
	// NodeInfo says the same; so does the User-Agent of deliveries.
	dir := t.TempDir()
	c := startCrieurProcess(t, dir, 0)
	var ni struct{ Software struct{ Version string } }
	resp, err := http.Get(c.URL + "/nodeinfo/2.1")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&ni)
	resp.Body.Close()
	if ni.Software.Version != said {
		t.Errorf("NodeInfo says %q, crieur version %q", ni.Software.Version, said)
	}
	if ua := app.NewDeliverer(config.Default(), buildVersion(), nil).UserAgent; !strings.HasPrefix(ua, "Crieur/"+buildVersion()+" ") {
		t.Errorf("User-Agent of deliveries: %q", ua)
	}
	c.Stop()

	// The store now says which release wrote it. A store a newer release
	// migrated further is refused, naming that release.
	db, err := store.OpenDB(filepath.Join(dir, "crieur.db"))
	if err != nil {
		t.Fatal(err)
	}
	known, _ := store.Version(ctx, db)
	if err := store.Stamp(ctx, db, "9.9.9"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `PRAGMA user_version = 99`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out, err := runCLI("", []string{"CRIEUR_DATA_DIR=" + dir, "CRIEUR_LISTEN=127.0.0.1:0"}, "serve")
	if err == nil || !strings.Contains(err.Error(), "crieur "+buildVersion()+": this data was written by crieur 9.9.9 (schema 99") {
		t.Fatalf("serve on a store from a newer release: %v\n%s", err, tail(out, 5))
	}

	// crieur check on an older store says so and leaves it as it is.
	old := t.TempDir()
	raw, err = os.ReadFile(filepath.Join("..", "..", "board", "store", "testdata", "schema-23.db"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(old, "crieur.db"), raw, 0o600)
	out, err = runCLI("", []string{"CRIEUR_DATA_DIR=" + old}, "check")
	if err == nil || !strings.Contains(out, "FAIL  the store is at schema 23 and this release at ") {
		t.Errorf("check on an older store: %v\n%s", err, out)
	}
	db, _ = store.OpenDB(filepath.Join(old, "crieur.db"))
	defer db.Close()
	if v, _ := store.Version(ctx, db); v != 23 || known <= 23 {
		t.Fatalf("crieur check migrated the store: schema %d (this release: %d)", v, known)
	}
}
