package httpx

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// A document answered with its ETag is answered 304, without a body, to
// a client that names that ETag; a changed document is answered whole.
func TestServeWithETag(t *testing.T) {
	serve := func(body, ifNoneMatch string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/status.json", nil)
		if ifNoneMatch != "" {
			r.Header.Set("If-None-Match", ifNoneMatch)
		}
		w := httptest.NewRecorder()
		ServeWithETag(w, r, "application/json", []byte(body))
		return w
	}
	first := serve(`{"a":1}`, "")
	etag := first.Header().Get("ETag")
	if first.Code != http.StatusOK || first.Body.String() != `{"a":1}` || len(etag) < 10 || first.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("first answer: %d %q etag %q type %q", first.Code, first.Body.String(), etag, first.Header().Get("Content-Type"))
	}
	if again := serve(`{"a":1}`, etag); again.Code != http.StatusNotModified || again.Body.Len() != 0 {
		t.Errorf("same document, its ETag named: %d, %d bytes", again.Code, again.Body.Len())
	}
	if listed := serve(`{"a":1}`, `"other", `+etag); listed.Code != http.StatusNotModified {
		t.Errorf("its ETag in a list: %d", listed.Code)
	}
	changed := serve(`{"a":2}`, etag)
	if changed.Code != http.StatusOK || changed.Body.String() != `{"a":2}` || changed.Header().Get("ETag") == etag {
		t.Errorf("changed document: %d %q etag %q", changed.Code, changed.Body.String(), changed.Header().Get("ETag"))
	}
}
