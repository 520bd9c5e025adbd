package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"crieur/board"
)

// A template that fails half-way answers nothing: the caller answers the
// error, where writing as it rendered sent a truncated 200.
func TestRenderWritesNothingWhenTheTemplateFails(t *testing.T) {
	tmpl := template.Must(template.New("page").Parse(`<p>before</p>{{.Missing.Field}}<p>after</p>`))
	w := httptest.NewRecorder()
	err := Render(w, httptest.NewRequest("GET", "/", nil), http.StatusOK, tmpl, "page", map[string]any{"Missing": 3})
	if err == nil {
		t.Fatal("a failing template rendered without error")
	}
	if w.Body.Len() != 0 || w.Code != http.StatusOK || w.Header().Get("Content-Type") != "" || w.Result().StatusCode != http.StatusOK {
		t.Errorf("a failing template wrote %d bytes, %q", w.Body.Len(), w.Header().Get("Content-Type"))
	}
	// The recorder answers 200 when nothing was written; what matters is
	// that the caller can still write its own status.
	http.Error(w, "error page", http.StatusInternalServerError)
	if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "before") {
		t.Errorf("after a failing template: %d %q", w.Code, w.Body.String())
	}
	w = httptest.NewRecorder()
	if err := Render(w, httptest.NewRequest("POST", "/", nil), http.StatusCreated, template.Must(template.New("ok").Parse(`<p>{{.}}</p>`)), "ok", "hi"); err != nil || w.Code != http.StatusCreated || w.Body.String() != "<p>hi</p>" {
		t.Errorf("a good page: %v %d %q", err, w.Code, w.Body.String())
	}
}

// A page is answered with an ETag of its content; asked again with it, a
// 304 without a body; once the page changes, the new page.
func TestRenderedPagesRevalidate(t *testing.T) {
	tmpl := template.Must(template.New("ok").Parse(`<p>{{.}}</p>`))
	get := func(data, etag string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/", nil)
		if etag != "" {
			r.Header.Set("If-None-Match", etag)
		}
		w := httptest.NewRecorder()
		if err := Render(w, r, http.StatusOK, tmpl, "ok", data); err != nil {
			t.Fatal(err)
		}
		return w
	}
	first := get("one", "")
	etag := first.Header().Get("ETag")
	if first.Code != 200 || etag == "" || first.Body.String() != "<p>one</p>" {
		t.Fatalf("first: %d %q %q", first.Code, etag, first.Body.String())
	}
	if again := get("one", etag); again.Code != http.StatusNotModified || again.Body.Len() != 0 {
		t.Errorf("the same page asked with its ETag: %d, %d bytes", again.Code, again.Body.Len())
	}
	if again := get("one", `W/"other", `+etag); again.Code != http.StatusNotModified {
		t.Errorf("its ETag among others: %d", again.Code)
	}
	changed := get("two", etag)
	if changed.Code != 200 || changed.Body.String() != "<p>two</p>" || changed.Header().Get("ETag") == etag {
		t.Errorf("a changed page: %d %q %q", changed.Code, changed.Body.String(), changed.Header().Get("ETag"))
	}
}

// Domain errors become their status and a message the client may read;
// anything else is a 500 whose cause is never sent.
func TestClassify(t *testing.T) {
	secret := errors.New("SQL logic error near password=hunter2")
	for _, c := range []struct {
		err    error
		status int
		safe   string
	}{
		{board.Invalid("title", "problem.required"), 400, "some fields need fixing"},
		{fmt.Errorf("wrapped: %w", board.ErrNotFound), 404, "not found"},
		{board.ErrGone, 410, "this announcement was deleted"},
		{&board.ForbiddenError{Reason: "an editor's token cannot pin"}, 403, "an editor's token cannot pin"},
		{board.ErrCallClosed, 409, board.ErrCallClosed.Error()},
		{board.ErrIdempotencyConflict, 422, board.ErrIdempotencyConflict.Error() + "; use a new key for a new announcement"},
		{&http.MaxBytesError{Limit: 10}, 413, "the request body is larger than 10 bytes"},
		{NewError(415, "send JSON"), 415, "send JSON"},
		{secret, 500, "internal error; the server log has details"},
	} {
		e := Classify(c.err)
		if e.Status != c.status || e.Safe != c.safe || strings.Contains(e.Safe, "hunter2") {
			t.Errorf("%v: %d %q, want %d %q", c.err, e.Status, e.Safe, c.status, c.safe)
		}
	}
}

// Strict decoding names what is wrong, field by field; a body too large is
// a 413, the wrong content type a 415.
func TestDecodeJSON(t *testing.T) {
	type draft struct {
		Title string `json:"title"`
		Count int    `json:"count"`
	}
	o := Decoding{Max: 64, RequireJSON: true, What: "an announcement"}
	for _, c := range []struct {
		ct, body, field, msg string
		status               int
	}{
		{"application/json", `{"title":"x","colour":"red"}`, "colour", "problem.unknown_field", 400},
		{"application/json", `{"count":"two"}`, "count", "problem.want_integer", 400},
		{"application/json", `{"title":"x"} {"title":"y"}`, "body", "problem.one_object", 400},
		{"application/json", `{"title":`, "body", "problem.json_short", 400},
		{"application/json", `{"title":"` + strings.Repeat("x", 100) + `"}`, "", "", 413},
		{"text/plain", `{"title":"x"}`, "", "send an announcement as JSON with 'Content-Type: application/json'", 415},
	} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(c.body))
		r.Header.Set("Content-Type", c.ct)
		var d draft
		e := Classify(DecodeJSON(httptest.NewRecorder(), r, &d, o))
		if e.Status != c.status || (c.field != "" && e.Fields[c.field].Key != c.msg) || (c.field == "" && c.msg != "" && e.Safe != c.msg) {
			t.Errorf("%s %q: %d %q %v", c.ct, c.body, e.Status, e.Safe, e.Fields)
		}
	}
	r := httptest.NewRequest("POST", "/", strings.NewReader(`{"title":"ok","count":2}`))
	r.Header.Set("Content-Type", "application/json")
	var d draft
	if err := DecodeJSON(httptest.NewRecorder(), r, &d, o); err != nil || d.Title != "ok" || d.Count != 2 {
		t.Errorf("a good body: %v %+v", err, d)
	}
}

// A query parameter that cannot be read is an error that names it, not a
// default silently taken.
func TestQueryInt(t *testing.T) {
	for q, want := range map[string]int64{"": 20, "?limit=5": 5} {
		if v, err := QueryInt(httptest.NewRequest("GET", "/"+q, nil), "limit", 20, 1, 100); err != nil || v != want {
			t.Errorf("%q: %d %v", q, v, err)
		}
	}
	for _, q := range []string{"?limit=abc", "?limit=0", "?limit=101", "?limit=-3"} {
		_, err := QueryInt(httptest.NewRequest("GET", "/"+q, nil), "limit", 20, 1, 100)
		if e := Classify(err); e.Status != 400 || e.Fields["limit"].Key == "" {
			t.Errorf("%q: %v", q, err)
		}
	}
}

// A handler reached without the middleware that stores what it needs gets
// an error to answer, not a panic.
func TestMustWithoutItsMiddleware(t *testing.T) {
	type session struct{ user string }
	r := httptest.NewRequest("GET", "/", nil)
	if _, err := Must[session](r); !errors.Is(err, ErrNoContext) {
		t.Fatalf("no session: %v", err)
	}
	r = r.WithContext(With(r.Context(), session{"ana"}))
	if s, err := Must[session](r); err != nil || s.user != "ana" {
		t.Fatalf("a session: %+v %v", s, err)
	}
}

// A refused field is said in the language the client asks for (the CLI
// and scripts get English), from the one catalogue.
func TestFailSaysProblemsInTheClientsLanguage(t *testing.T) {
	err := board.Invalid("title", "problem.too_long", 201, 200)
	for _, c := range []struct{ accept, want string }{
		{"", "This is 201 characters long; at most 200."},
		{"fr-FR,fr;q=0.9", "Ce texte fait 201 caractères\u202f; 200 au plus."},
		{"de", "This is 201 characters long; at most 200."},
	} {
		r := httptest.NewRequest("POST", "/", nil)
		r.Header.Set("Accept-Language", c.accept)
		w := httptest.NewRecorder()
		Fail(w, r, nil, err)
		var body struct {
			Error  string            `json:"error"`
			Fields map[string]string `json:"fields"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != 400 || body.Fields["title"] != c.want ||
			(body.Error == "some fields need fixing") != !strings.HasPrefix(c.accept, "fr") {
			t.Errorf("Accept-Language %q: %d %s, want %q", c.accept, w.Code, w.Body, c.want)
		}
	}
}

// A TryLater is a 503 (busy) or a 429 (over the sender's allowance) with
// Retry-After, and is not logged as a server failure.
func TestTryLaterIsAnsweredWithRetryAfter(t *testing.T) {
	for _, c := range []struct {
		err    error
		status int
		after  string
	}{
		{&board.TryLater{Err: board.ErrBusy, After: 1500 * time.Millisecond}, http.StatusServiceUnavailable, "2"},
		{fmt.Errorf("upload: %w", &board.TryLater{Err: board.ErrTooMany, After: 3 * time.Minute}), http.StatusTooManyRequests, "180"},
	} {
		var logged bytes.Buffer
		w := httptest.NewRecorder()
		Fail(w, httptest.NewRequest("POST", "/api/v1/boards/news/media", nil), slog.New(slog.NewTextHandler(&logged, nil)), c.err)
		if w.Code != c.status || w.Header().Get("Retry-After") != c.after || !strings.Contains(w.Body.String(), "try again in") {
			t.Errorf("%v: %d Retry-After %q %s", c.err, w.Code, w.Header().Get("Retry-After"), w.Body.String())
		}
		if logged.Len() != 0 {
			t.Errorf("%v was logged: %s", c.err, logged.String())
		}
	}
}
