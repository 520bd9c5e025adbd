package api

import (
	"strings"
	"testing"
)

// The services routes: PUT adds (201) then replaces (200); a problem is
// named by field, in the client's language, and an unknown field is
// refused; GET answers one or 404; DELETE removes, then 404.
func TestServicesAPI(t *testing.T) {
	srv, admin, _ := newTestAPI(t)
	const path = "/api/v1/boards/news/services/mail"
	if code, out := do(t, srv, "PUT", path, admin, "application/json", `{"name": "Mail", "address": "https://mail.example.org", "position": 1}`); code != 201 || out["slug"] != "mail" {
		t.Fatalf("add: %d %v", code, out)
	}
	if code, out := do(t, srv, "PUT", path, admin, "application/json", `{"name": "Mailboxes"}`); code != 200 || out["name"] != "Mailboxes" {
		t.Errorf("replace: %d %v", code, out)
	}
	code, out := do(t, srv, "PUT", "/api/v1/boards/news/services/Web%20site", admin, "application/json", `{"name": "", "address": "mailto:x@example.org"}`, "Accept-Language", "fr")
	fields, _ := out["fields"].(map[string]any)
	if code != 400 || fields["slug"] == nil || fields["name"] == nil || !strings.Contains(fields["address"].(string), "adresse http") {
		t.Errorf("a bad service: %d %v", code, out)
	}
	if code, out := do(t, srv, "PUT", path, admin, "application/json", `{"name": "Mail", "colour": "red"}`); code != 400 || out["fields"] == nil {
		t.Errorf("an unknown field: %d %v", code, out)
	}
	if code, out := do(t, srv, "GET", path, admin, "", ""); code != 200 || out["name"] != "Mailboxes" {
		t.Errorf("get: %d %v", code, out)
	}
	if code, _ := do(t, srv, "DELETE", path, admin, "", ""); code != 204 {
		t.Errorf("delete: %d", code)
	}
	if code, _ := do(t, srv, "GET", path, admin, "", ""); code != 404 {
		t.Errorf("get after delete: %d", code)
	}
	if code, _ := do(t, srv, "DELETE", path, admin, "", ""); code != 404 {
		t.Errorf("delete again: %d", code)
	}
}
