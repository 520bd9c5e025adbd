package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// The store's folder and files are private at every start, whatever an
// earlier release or the umask left (issue 23, point 12: 0755 and 0644,
// private keys included).
func TestTightenPermissions(t *testing.T) {
	dir, path := newStoreFiles(t)
	for _, f := range []string{dir} {
		os.Chmod(f, 0o755)
	}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		os.Chmod(f, 0o644)
	}
	changed, err := TightenPermissions(path)
	if err != nil || len(changed) != 4 {
		t.Fatalf("changed %v, %v; want the folder and three files", changed, err)
	}
	wantPrivate(t, dir, path)
	if changed, err := TightenPermissions(path); err != nil || len(changed) != 0 {
		t.Errorf("a second start changed %v (%v)", changed, err)
	}
}

// A new store's files are private from the start, before any tightening
// (a trial saw them 0644 until the first start's check).
func TestNewStoreIsPrivateFromTheStart(t *testing.T) {
	dir, path := newStoreFiles(t)
	wantPrivate(t, dir, path)
}

// newStoreFiles makes a store in a new data folder and writes to it, so
// that its WAL files exist; it returns the folder and the database's path.
func newStoreFiles(t *testing.T) (dir, path string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "data")
	path = filepath.Join(dir, "crieur.db")
	db, err := OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := New(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return dir, path
}

// wantPrivate checks the folder is 0700 and the store's three files 0600.
func wantPrivate(t *testing.T, dir, path string) {
	t.Helper()
	for f, want := range map[string]os.FileMode{dir: 0o700, path: 0o600, path + "-wal": 0o600, path + "-shm": 0o600} {
		if st, err := os.Stat(f); err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: %v %v, want %o", f, st.Mode().Perm(), err, want)
		}
	}
}
