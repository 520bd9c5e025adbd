package web

import (
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"crieur/board"
)

// A write the disk refused reaches the editor as what happened and who can
// act, in the reader's language (French typography: a thin no-break space
// before the colon), not as "something went wrong".
func TestStorageErrorsInTheEditor(t *testing.T) {
	cause := errors.New("database or disk is full (13)")
	for _, c := range []struct {
		lang    string
		problem board.StorageProblem
		status  int
		want    string
	}{
		{"en", board.StorageFull, http.StatusInsufficientStorage, "The server&#39;s disk is full"},
		{"fr", board.StorageFull, http.StatusInsufficientStorage, "Rien n’a été enregistré\u202F: le serveur n’a plus de place"},
		{"en", board.StorageReadOnly, http.StatusServiceUnavailable, "The server cannot save"},
		{"fr", board.StorageDenied, http.StatusServiceUnavailable, "le serveur ne peut pas écrire ses données"},
	} {
		r := httptest.NewRequest(http.MethodPost, "/edit/news/new", nil)
		r.Header.Set("Accept-Language", c.lang)
		w := httptest.NewRecorder()
		// As a handler gives it: wrapped, through serverError.
		serverError(w, r, nil, fmt.Errorf("save: %w", &board.StorageError{Problem: c.problem, Folder: "/var/lib/crieur", Err: cause}))
		if body := w.Body.String(); w.Code != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s %v: %d %s\nwant %d and %q", c.lang, c.problem, w.Code, body, c.status, c.want)
		}
		if strings.Contains(w.Body.String(), "/var/lib/crieur") {
			t.Errorf("%s %v: the page names the server's folder", c.lang, c.problem)
		}
	}
}

// What a handler really gets from a full disk, SQLite's own error (here
// from max_page_count, as a full disk gives it), is recognised on the way
// to the page: 507 and the words for it, not "something went wrong".
func TestSQLiteFullReachesTheEditor(t *testing.T) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "full.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // max_page_count is the connection's
	for _, q := range []string{`CREATE TABLE t (v BLOB)`, `PRAGMA max_page_count = 2`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	_, err = db.Exec(`INSERT INTO t (v) VALUES (zeroblob(100000))`)
	if err == nil {
		t.Fatal("the write on a full store succeeded")
	}
	r := httptest.NewRequest(http.MethodPost, "/edit/news/new", nil)
	r.Header.Set("Accept-Language", "fr")
	w := httptest.NewRecorder()
	serverError(w, r, nil, fmt.Errorf("insert announcement: %w", err))
	if w.Code != http.StatusInsufficientStorage || !strings.Contains(w.Body.String(), "Le disque du serveur est plein") {
		t.Errorf("a full disk answered %d:\n%s", w.Code, w.Body.String())
	}
}
