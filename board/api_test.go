package board

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func newTestAPI(t *testing.T) (srv *httptest.Server, admin, otherBoard string) {
	t.Helper()
	ctx := context.Background()
	svc, _ := newTestService(t)
	other, _, err := svc.EnsureBoard(ctx, "climate", "")
	if err != nil {
		t.Fatal(err)
	}
	admin, _ = svc.Store().CreateToken(ctx, nil, "admin")
	otherBoard, _ = svc.Store().CreateToken(ctx, &other.ID, "climate editor")
	mux := http.NewServeMux()
	NewAPI(svc, nil, 4096, slog.New(slog.DiscardHandler)).Register(mux)
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, admin, otherBoard
}

func call(t *testing.T, srv *httptest.Server, method, path, token, contentType, body string, headers ...string) (int, map[string]any) {
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
		{"bad time", "POST", path, admin, js, `{"title":"x","kind":"event","event":{"start":"tomorrow"}}`, 400, "time"},
		{"missing title", "POST", path, admin, js, `{"body":"x"}`, 400, "title"},
		{"unknown announcement", "GET", path + "/999", admin, "", "", 404, ""},
		{"bad id", "GET", path + "/abc", admin, "", "", 404, ""},
		{"created", "POST", path, admin, "application/json; charset=utf-8", `{"title":"Hello"}`, 201, ""},
		{"board editor on own board", "POST", "/api/v1/boards/climate/announcements", climate, js, `{"title":"Hi"}`, 201, ""},
	}
	for _, c := range cases {
		code, out := call(t, srv, c.method, c.path, c.token, c.ct, c.body)
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
	code, a := call(t, srv, "POST", path, admin, "application/json", `{"title":"Hello","body":"one","tags":["a"]}`)
	if code != 201 {
		t.Fatal(code, a)
	}
	item := path + "/1"
	code, a = call(t, srv, "PATCH", item, admin, "application/json", `{"body":"two"}`)
	if code != 200 || a["title"] != "Hello" || a["body"] != "two" || a["version"] != float64(2) {
		t.Fatalf("patch: %d %v", code, a)
	}
	code, a = call(t, srv, "PUT", item, admin, "application/json", `{"title":"Replaced"}`)
	if code != 200 || a["body"] != "" || len(a["tags"].([]any)) != 0 || a["version"] != float64(3) {
		t.Fatalf("put: %d %v", code, a)
	}
	code, a = call(t, srv, "PATCH", item, admin, "application/json", `{"title":""}`)
	if code != 400 {
		t.Fatalf("invalid patch: %d %v", code, a)
	}
	if code, _ := call(t, srv, "GET", item, admin, "", ""); code != 200 {
		t.Fatalf("get: %d", code)
	}
	if code, _ := call(t, srv, "DELETE", item, admin, "", ""); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code, _ := call(t, srv, "DELETE", item, admin, "", ""); code != 410 {
		t.Fatalf("second delete: %d, want 410", code)
	}
	if code, _ := call(t, srv, "PATCH", item, admin, "application/json", `{"title":"x"}`); code != 410 {
		t.Fatalf("edit after delete: %d, want 410", code)
	}
}

func TestSummarizeDeliveries(t *testing.T) {
	now := time.Now()
	sum := SummarizeDeliveries([]Delivery{
		{Target: "https://a.example/inbox", State: DeliveryDelivered, Attempts: 1, UpdatedAt: now},
		{Target: "https://a.example/users/2/inbox", State: DeliveryPending, Attempts: 2, LastError: "inbox answered 502", UpdatedAt: now},
		{Target: "https://b.example/inbox", State: DeliveryDead, Attempts: 1, LastError: "inbox answered 410", UpdatedAt: now.Add(time.Second)},
		{Target: "https://c.example/inbox", State: DeliveryPending, UpdatedAt: now},
		{Target: "!room:matrix.example", State: DeliveryDelivered, UpdatedAt: now},
	})
	want := map[string]int{"pending": 1, "retrying": 1, "delivered": 2, "dead": 1}
	for k, v := range want {
		if sum.Counts[k] != v {
			t.Errorf("counts[%s] = %d, want %d (%v)", k, sum.Counts[k], v, sum.Counts)
		}
	}
	if sum.ByDestination["activitypub"]["delivered"] != 1 || sum.ByDestination["matrix"]["delivered"] != 1 {
		t.Errorf("by destination = %v", sum.ByDestination)
	}
	if len(sum.Hosts) != 4 || sum.Hosts[0].Host != "a.example" || sum.Hosts[0].LastError != "inbox answered 502" || sum.Hosts[1].LastError != "inbox answered 410" {
		t.Errorf("hosts = %+v", sum.Hosts)
	}
}
