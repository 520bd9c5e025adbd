package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// An answer cut short (the connection closed in the body) is an error,
// not a success with nothing to decode: a test once read a 200 with no
// body as "the set-up has no rooms" and panicked.
func TestACutAnswerIsAnError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"ok": true}`)) // whole JSON, but 88 bytes short
		if hj, ok := w.(http.Hijacker); ok {
			conn, _, _ := hj.Hijack()
			conn.Close()
		}
	}))
	defer srv.Close()
	var out map[string]any
	code, err := New(srv.URL, "t").Call(context.Background(), "PUT", "/api/v1/boards/news/matrix", map[string]any{}, nil, &out)
	if err == nil {
		t.Fatalf("a cut answer: status %d, no error, decoded %v", code, out)
	}
}
