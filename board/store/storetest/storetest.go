// Package storetest gives tests a new, empty store without running the
// schema's steps for each: a store made through every step once per
// process is copied into each test's folder. The steps took 175 ms per
// store under the race detector (each ALTER makes SQLite read the schema
// again), and the tests make hundreds of stores. The tests of a store's
// creation and upgrades (package store, the end-to-end upgrade tests)
// go through the steps themselves.
package storetest

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"crieur/board/store"
)

// empty is the file of a store made through every schema step, with
// nothing in it yet.
var empty = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "crieur-empty-store")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "crieur.db")
	db, err := store.OpenDB(path)
	if err != nil {
		return nil, err
	}
	_, err = store.Upgrade(context.Background(), db, store.CopyOptions{}, nil)
	if err == nil {
		// Everything into the one file, which is all that is copied.
		_, err = db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return os.ReadFile(path)
})

// Seed puts a copy of an empty, up-to-date store at path if there is no
// file there yet; the server's or a test's first open then finds its
// schema current, and nothing else in it.
func Seed(path string) error {
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		return err // a store already there (or a folder the test made unreadable)
	}
	raw, err := empty()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return os.WriteFile(path, raw, 0o600)
}

// Open returns a new, empty store in the test's temporary folder, closed
// when the test ends, and its database.
func Open(t testing.TB) (*store.Store, *sql.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "crieur.db")
	if err := Seed(path); err != nil {
		t.Fatal(err)
	}
	db, err := store.OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := store.New(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return s, db
}
