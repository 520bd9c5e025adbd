package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"crieur/board"
	"crieur/board/boardtest"
	"crieur/board/httpx"
)

func newTestAPI(t *testing.T) (srv *httptest.Server, admin, otherBoard string) {
	t.Helper()
	ctx := context.Background()
	rig := boardtest.New(t)
	svc := rig.Service
	other, _, err := svc.EnsureBoard(ctx, "climate", "")
	if err != nil {
		t.Fatal(err)
	}
	admin, _ = rig.Store.CreateToken(ctx, nil, "admin")
	otherBoard, _ = rig.Store.CreateToken(ctx, &other.ID, "climate editor")
	mux := httpx.NewRoutes()
	New(svc, rig.Store, nil, 4096, slog.New(slog.DiscardHandler)).Register(mux)
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, admin, otherBoard
}

func do(t *testing.T, srv *httptest.Server, method, path, token, contentType, body string, headers ...string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return resp.StatusCode, out
}

func TestAPIStatusCodes(t *testing.T) {
	srv, admin, climate := newTestAPI(t)
	const path = "/api/v1/boards/news/announcements"
	const js = "application/json"
	cases := []struct {
		name, method, path, token, ct, body string
		want                                int
		field                               string
	}{
		{"no token", "POST", path, "", js, `{"title":"x"}`, 401, ""},
		{"bad token", "POST", path, "crieur_nope", js, `{"title":"x"}`, 401, ""},
		{"token of another board", "POST", path, climate, js, `{"title":"x"}`, 403, ""},
		{"unknown board", "POST", "/api/v1/boards/nope/announcements", admin, js, `{"title":"x"}`, 404, ""},
		{"wrong content type", "POST", path, admin, "text/plain", `{"title":"x"}`, 415, ""},
		{"too large", "POST", path, admin, js, `{"title":"` + strings.Repeat("x", 5000) + `"}`, 413, ""},
		{"not JSON", "POST", path, admin, js, `{"title":`, 400, "body"},
		{"unknown field", "POST", path, admin, js, `{"title":"x","colour":"red"}`, 400, "colour"},
		{"wrong type", "POST", path, admin, js, `{"title":5}`, 400, "title"},
		{"two objects", "POST", path, admin, js, `{"title":"x"}{"title":"y"}`, 400, "body"},
		{"bad time", "POST", path, admin, js, `{"title":"x","kind":"event","event":{"start":"tomorrow"}}`, 400, "event.start"},
		{"missing title", "POST", path, admin, js, `{"body":"x"}`, 400, "title"},
		{"publish time past", "POST", path, admin, js, `{"title":"x","publish_at":"2001-01-01T10:00:00Z"}`, 400, "publish_at"},
		{"unknown announcement", "GET", path + "/999", admin, "", "", 404, ""},
		{"bad id", "GET", path + "/abc", admin, "", "", 404, ""},
		{"limit not a number", "GET", path + "?limit=abc", admin, "", "", 400, "limit"},
		{"limit too large", "GET", path + "?limit=1000", admin, "", "", 400, "limit"},
		{"before not a number", "GET", path + "?before=x", admin, "", "", 400, "before"},
		{"a board's token on the queue", "GET", "/api/v1/queue", climate, "", "", 403, ""},
		{"created", "POST", path, admin, "application/json; charset=utf-8", `{"title":"Hello"}`, 201, ""},
		{"board editor on own board", "POST", "/api/v1/boards/climate/announcements", climate, js, `{"title":"Hi"}`, 201, ""},
	}
	for _, c := range cases {
		code, out := do(t, srv, c.method, c.path, c.token, c.ct, c.body)
		if code != c.want {
			t.Errorf("%s: status %d, want %d (%v)", c.name, code, c.want, out)
			continue
		}
		if c.want >= 400 && out["error"] == nil {
			t.Errorf("%s: no error message in %v", c.name, out)
		}
		if c.field != "" {
			fields, _ := out["fields"].(map[string]any)
			if fields[c.field] == nil {
				t.Errorf("%s: no message for field %q in %v", c.name, c.field, out)
			}
		}
	}
}

func TestAPIEditAndDelete(t *testing.T) {
	srv, admin, _ := newTestAPI(t)
	const path = "/api/v1/boards/news/announcements"
	code, a := do(t, srv, "POST", path, admin, "application/json", `{"title":"Hello","body":"one","tags":["a"]}`)
	if code != 201 {
		t.Fatal(code, a)
	}
	item := path + "/1"
	code, a = do(t, srv, "PATCH", item, admin, "application/json", `{"body":"two"}`)
	if code != 200 || a["title"] != "Hello" || a["body"] != "two" || a["version"] != float64(2) {
		t.Fatalf("patch: %d %v", code, a)
	}
	code, a = do(t, srv, "PUT", item, admin, "application/json", `{"title":"Replaced"}`)
	if code != 200 || a["body"] != "" || len(a["tags"].([]any)) != 0 || a["version"] != float64(3) {
		t.Fatalf("put: %d %v", code, a)
	}
	code, a = do(t, srv, "PATCH", item, admin, "application/json", `{"title":""}`)
	if code != 400 {
		t.Fatalf("invalid patch: %d %v", code, a)
	}
	if code, _ := do(t, srv, "GET", item, admin, "", ""); code != 200 {
		t.Fatalf("get: %d", code)
	}
	if code, _ := do(t, srv, "DELETE", item, admin, "", ""); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code, _ := do(t, srv, "DELETE", item, admin, "", ""); code != 410 {
		t.Fatalf("second delete: %d, want 410", code)
	}
	if code, _ := do(t, srv, "PATCH", item, admin, "application/json", `{"title":"x"}`); code != 410 {
		t.Fatalf("edit after delete: %d, want 410", code)
	}
}

// A route another package adds (a destination's set-up) is guarded by the
// same table: a publisher's route refuses an editor's token, a member's
// route refuses another board's token, and the error a handler returns is
// answered as every API error is.
func TestRoutesAddedByOthersAreGuarded(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	admin, _ := rig.Store.CreateToken(ctx, nil, "admin")
	editor, _, _ := rig.Store.CreateTokenUntil(ctx, &rig.Board.ID, "volunteer", nil, board.RoleEditor)
	other, _, _ := rig.Service.EnsureBoard(ctx, "climate", "")
	outsider, _ := rig.Store.CreateToken(ctx, &other.ID, "climate")
	a := New(rig.Service, rig.Store, nil, 4096, slog.New(slog.DiscardHandler))
	mux := httpx.NewRoutes()
	a.Register(mux)
	a.OnBoard("PUT /api/v1/boards/{board}/thing", board.RolePublisher, func(w http.ResponseWriter, r *http.Request, b board.Board) error {
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	a.OnBoard("GET /api/v1/boards/{board}/thing", board.RoleEditor, func(w http.ResponseWriter, r *http.Request, b board.Board) error {
		return board.Invalid("thing", "problem.required")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, c := range []struct {
		name, method, token string
		want                int
	}{
		{"a publisher's route, an admin token", "PUT", admin, 204},
		{"a publisher's route, an editor's token", "PUT", editor, 403},
		{"a publisher's route, another board's token", "PUT", outsider, 403},
		{"a publisher's route, no token", "PUT", "", 401},
		{"a member's route, an editor's token, the handler's error", "GET", editor, 400},
		{"a member's route, another board's token", "GET", outsider, 403},
	} {
		if code, out := do(t, srv, c.method, "/api/v1/boards/news/thing", c.token, "", ""); code != c.want || out["error"] == nil && code >= 400 {
			t.Errorf("%s: %d %v, want %d", c.name, code, out, c.want)
		}
	}
}
