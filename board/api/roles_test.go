package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"crieur/board/boardtest"
	"crieur/board/httpx"
)

func TestAPIRolesAndApproval(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	b.Approval = true
	_, _ = svc.SetBoard(ctx, b)
	mux := httpx.NewRoutes()
	New(svc, rig.Store, nil, 1<<16, slog.New(slog.DiscardHandler)).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	admin, _ := rig.Store.CreateToken(ctx, nil, "admin")
	code, tok := do(t, srv, "POST", "/api/v1/tokens", admin, "application/json", `{"board":"news","label":"volunteer","role":"editor"}`)
	if code != 201 || tok["role"] != "editor" {
		t.Fatalf("create an editor token: %d %v", code, tok)
	}
	editor := tok["token"].(string)
	if code, _ := do(t, srv, "POST", "/api/v1/tokens", admin, "application/json", `{"label":"x","role":"boss"}`); code != 400 {
		t.Errorf("an unknown role: %d", code)
	}
	const path = "/api/v1/boards/news/announcements"
	if code, out := do(t, srv, "POST", path, editor, "application/json", `{"title":"Hi"}`); code != 403 || !strings.Contains(fmt.Sprint(out["error"]), "saves drafts") {
		t.Errorf("an editor publishing through the API: %d %v", code, out)
	}
	code, d := do(t, srv, "POST", path, editor, "application/json", `{"title":"Hi","draft":true}`)
	if code != 201 {
		t.Fatalf("an editor's draft: %d %v", code, d)
	}
	id := fmt.Sprint(d["id"])
	code, p := do(t, srv, "PATCH", path+"/"+id, admin, "application/json", `{"draft":false}`)
	if code != 200 || p["status"] != "pending" {
		t.Fatalf("a publisher asking: %d %v", code, p)
	}
	if code, _ := do(t, srv, "POST", path+"/"+id+"/approve", admin, "", ""); code != 403 {
		t.Errorf("approving one's own: %d", code)
	}
	second, _ := rig.Store.CreateToken(ctx, &b.ID, "second publisher")
	if code, p := do(t, srv, "POST", path+"/"+id+"/approve", second, "", ""); code != 200 || p["status"] != "published" {
		t.Errorf("a second publisher approving: %d %v", code, p)
	}
	// Approving it again is a conflict with its state, not a field to fix.
	if code, p := do(t, srv, "POST", path+"/"+id+"/approve", second, "", ""); code != 409 || p["error"] != "this announcement is published, not awaiting approval" {
		t.Errorf("approving what waits for nothing: %d %v", code, p)
	}
}
