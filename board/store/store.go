// Package store keeps Crieur's boards, announcements, followers, sign-ups,
// tokens and deliveries in one SQLite file, and holds the one ordered
// registry of migrations for every table in it (the destinations' and the
// queue's too). It is the only package of the board that writes SQL; it
// decides nothing (the board service does, through board.Repository).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // pure-Go SQLite driver: no cgo, one static binary
)

// Store keeps everything Crieur knows in one SQLite file. The SQL is kept
// portable (no SQLite-only types) so a PostgreSQL store can follow.
type Store struct {
	db *sql.DB // the one writer connection
	r  *sql.DB // readers: on WAL, reads never wait behind the writer

	seenSwept atomic.Int64 // when seen_signatures was last swept (unix ms)

	// recordDelivery is RecordDeliveries' statement, prepared once on the
	// writer: SQLite compiling the upsert again for every batch was a
	// third of the recording's cost during a fan-out (crieur-bench).
	recordDelivery struct {
		sync.Mutex
		stmt *sql.Stmt
	}

	onWrite []func() // told after each write (OnWrite)
}

// OnWrite registers f, called after every write the store makes outside a
// transaction and after every transaction of InTx commits: the page
// cache's cue to read the public version again at once. Register before
// the store is used.
func (s *Store) OnWrite(f func()) { s.onWrite = append(s.onWrite, f) }

// exec runs a write on the writer connection, then tells the listeners
// (after it, so they read what it wrote).
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := s.db.ExecContext(ctx, query, args...)
	s.wrote()
	return res, err
}

func (s *Store) wrote() {
	for _, f := range s.onWrite {
		f()
	}
}

// UseReader makes the store read through r, a pool of read-only
// connections to the same file (OpenReadDB), so that pages and counts are
// not queued behind a fan-out's writes on the single writer connection.
func (s *Store) UseReader(r *sql.DB) { s.r = r }

func (s *Store) read() *sql.DB {
	if s.r != nil {
		return s.r
	}
	return s.db
}

// OpenDB opens (creating if needed) the SQLite file at path, tuned for one
// writer process: WAL so readers never block, a busy timeout instead of
// SQLITE_BUSY errors.
func OpenDB(path string) (*sql.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	// A new store is private from its first byte: SQLite makes the file
	// 0644 (less the umask), and its WAL files as the database is, which
	// TightenPermissions only corrected after the first writes.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// One connection serialises writers in-process, which SQLite needs
	// anyway, and keeps the busy timeout for other processes (the CLI).
	db.SetMaxOpenConns(1)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// OpenReadDB opens a pool of read-only connections to the SQLite file at
// path, which OpenDB made (and put in WAL mode).
func OpenReadDB(path string, conns int) (*sql.DB, error) {
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=query_only(1)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// New migrates db (Migrate, without a log) and returns a store on it.
func New(ctx context.Context, db *sql.DB) (*Store, error) {
	if err := Migrate(ctx, db, nil); err != nil {
		return nil, err
	}
	return &Store{db: db}, nil
}

// Existing returns a store on db as it is, migrating nothing: for commands
// that must not change the data (crieur check). A store at another
// schema is an *OlderSchemaError or a *NewerSchemaError.
func Existing(ctx context.Context, db *sql.DB) (*Store, error) {
	if err := Schema(ctx, db); err != nil {
		return nil, err
	}
	return &Store{db: db}, nil
}

// Version is the public version of the store: the database raises it on
// every write to what public pages and documents show (schema step 43's
// triggers), whichever process writes. The page cache compares it.
func (s *Store) Version(ctx context.Context) (int64, error) {
	var n int64
	err := s.read().QueryRowContext(ctx, `SELECT n FROM public_version WHERE id = 1`).Scan(&n)
	return n, err
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// TightenPermissions makes the store's folder private to its user (0700)
// and its files (the database, its WAL and shared-memory files) readable
// by nobody else (0600): they hold private keys and tokens' hashes.
// SQLite gives its WAL files the database's mode, and an install from an
// earlier release kept 0755 and 0644. It says what it changed, for the
// log.
func TightenPermissions(path string) (changed []string, err error) {
	fix := func(name string, want os.FileMode) error {
		st, err := os.Stat(name)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if st.Mode().Perm()&^want == 0 {
			return nil
		}
		if err := os.Chmod(name, want); err != nil {
			return fmt.Errorf("make %s private (chmod %o): %w", name, want, err)
		}
		changed = append(changed, fmt.Sprintf("%s %o→%o", name, st.Mode().Perm(), want))
		return nil
	}
	if err := fix(filepath.Dir(path), 0o700); err != nil {
		return changed, err
	}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		if err := fix(f, 0o600); err != nil {
			return changed, err
		}
	}
	return changed, nil
}
