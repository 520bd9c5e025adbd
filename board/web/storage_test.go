package web

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
		// As a handler gives it: a store error wrapped, through serverError.
		serverError(w, r, nil, &board.StorageError{Problem: c.problem, Folder: "/var/lib/crieur", Err: cause})
		if body := w.Body.String(); w.Code != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s %v: %d %s\nwant %d and %q", c.lang, c.problem, w.Code, body, c.status, c.want)
		}
		if strings.Contains(w.Body.String(), "/var/lib/crieur") {
			t.Errorf("%s %v: the page names the server's folder", c.lang, c.problem)
		}
	}
}
