package web

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"crieur/board"
	"crieur/board/boardtest"
)

// A publisher adds, changes and removes a board's services from the
// editor's page, linked from its home; a form with problems comes back
// with what was typed and each problem next to its field.
func TestEditorManagesServices(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	e := signIn(t, rig, time.UTC)
	if !strings.Contains(e.home, `href="/edit/news/services"`) {
		t.Fatal("the editor's home does not link the services page")
	}
	page := e.get("/edit/news/services")
	if !inOrder(page, "<h1>Services of News</h1>", "<main>", `for="svc-new-slug"`, `id="svc-new-slug"`, `for="svc-new-name"`, `id="svc-new-name"`, "</main>") {
		t.Fatalf("the services page has no labelled form to add one:\n%s", page)
	}
	csrf := hiddenValue(t, page, "csrf")
	code, page := e.post("/edit/news/services", url.Values{"csrf": {csrf}, "new": {"yes"}, "slug": {"Mail Box"}, "name": {"Mail"},
		"address": {"ftp://mail.example.org"}, "description": {"Our mailboxes."}})
	if code != 400 || !inOrder(page, `id="svc-new-slug"`, `value="Mail Box"`, `aria-invalid="true"`, `id="svc-new-slug-error"`, "lower-case letters",
		`id="svc-new-address"`, `value="ftp://mail.example.org"`, `aria-invalid="true"`, `id="svc-new-address-error"`, "http or https") || !strings.Contains(page, "Our mailboxes.") {
		t.Fatalf("a form with problems: %d\n%s", code, page)
	}
	if list, _ := rig.Service.HostedServices(ctx, rig.Board); len(list) != 0 {
		t.Fatalf("a refused form saved %v", list)
	}
	code, page = e.post("/edit/news/services", url.Values{"csrf": {csrf}, "new": {"yes"}, "slug": {"mail"}, "name": {"Mail"},
		"address": {"https://mail.example.org"}, "description": {"Our mailboxes."}, "position": {"2"}})
	if code != 200 {
		t.Fatalf("add mail: %d", code)
	}
	if !strings.Contains(page, "Service “Mail” saved.") || !strings.Contains(page, `id="svc-mail-name"`) {
		t.Errorf("after adding mail:\n%s", page)
	}
	if code, page := e.post("/edit/news/services", url.Values{"csrf": {csrf}, "new": {"yes"}, "slug": {"mail"}, "name": {"Other"}}); code != 400 || !strings.Contains(page, "already has the short name") {
		t.Errorf("adding a second mail: %d", code)
	}
	if code, _ := e.post("/edit/news/services", url.Values{"csrf": {csrf}, "slug": {"mail"}, "name": {"Mailboxes"}, "position": {"1"}}); code != 200 {
		t.Errorf("change mail: %d", code)
	}
	list, _ := rig.Service.HostedServices(ctx, rig.Board)
	if len(list) != 1 || list[0].Name != "Mailboxes" || list[0].Position != 1 || list[0].Address != "" {
		t.Errorf("after the change: %+v", list)
	}
	if code, _ := e.post("/edit/news/services/mail/remove", url.Values{"csrf": {csrf}}); code != 200 {
		t.Errorf("remove: %d", code)
	}
	if list, _ := rig.Service.HostedServices(ctx, rig.Board); len(list) != 0 {
		t.Errorf("after removing: %+v", list)
	}
}

// An editor's token sees the services but cannot change them.
func TestEditorTokenReadsServicesOnly(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	if _, _, err := rig.Service.SetHostedService(ctx, board.System, rig.Board, board.HostedService{Slug: "mail", Name: "Mail"}); err != nil {
		t.Fatal(err)
	}
	tok, _, _ := rig.Store.CreateTokenUntil(ctx, &rig.Board.ID, "volunteer", nil, board.RoleEditor)
	e := signIn(t, rig, time.UTC)
	_, e.home = e.post("/edit/login", url.Values{"token": {tok}})
	page := e.get("/edit/news/services")
	if !strings.Contains(page, "Mail") || strings.Contains(page, `name="name"`) || !strings.Contains(page, "a publisher of this board changes its services") {
		t.Errorf("an editor's services page:\n%s", page)
	}
	csrf := hiddenValue(t, e.home, "csrf")
	if code, _ := e.post("/edit/news/services", url.Values{"csrf": {csrf}, "slug": {"mail"}, "name": {"Hacked"}}); code != 403 {
		t.Errorf("an editor's save: %d", code)
	}
	if code, _ := e.post("/edit/news/services/mail/remove", url.Values{"csrf": {csrf}}); code != 403 {
		t.Errorf("an editor's removal: %d", code)
	}
}

// When the board lists services, the outage form picks one from a list
// (a notice written before keeps its own text as a choice), and one the
// board does not list is refused with the services it has.
func TestOutageFormPicksAService(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	old, _, err := rig.Service.Create(ctx, board.System, rig.Board, board.Draft{Kind: board.KindOutage, Title: "Old",
		Outage: &board.Outage{Service: "old server", From: time.Now().Add(-time.Hour)}}, "")
	if err != nil {
		t.Fatal(err)
	}
	e := signIn(t, rig, time.UTC)
	if !strings.Contains(e.home, `name="service" value=""`) {
		t.Errorf("without services, the outage form has no text field for the service")
	}
	for _, h := range []board.HostedService{{Slug: "mail", Name: "Mail"}, {Slug: "cloud", Name: "Cloud"}} {
		if _, _, err := rig.Service.SetHostedService(ctx, board.System, rig.Board, h); err != nil {
			t.Fatal(err)
		}
	}
	home := e.get("/edit")
	if !inOrder(home, `<label for="news-service">`, `<select id="news-service"`, `name="service">`, `<option value="">Choose a service</option>`,
		`<option value="cloud">Cloud</option>`, `<option value="mail">Mail</option>`, "</select>") {
		t.Errorf("the outage form does not offer the services:\n%s", home)
	}
	edit := e.get(fmt.Sprintf("/edit/news/%d", old.ID))
	if !strings.Contains(edit, `<option value="old server" selected>old server</option>`) {
		t.Errorf("the old notice's own text is not kept as a choice")
	}
	csrf := hiddenValue(t, home, "csrf")
	code, page := e.post("/edit/news/new", url.Values{"csrf": {csrf}, "key": {hiddenValue(t, home, "key")}, "kind": {"outage"}, "title": {"Wiki down"},
		"service": {"wiki"}, "from": {time.Now().Add(-time.Hour).UTC().Format(formTime)}, "action": {"publish"}})
	if code != 400 || !strings.Contains(page, "no service “wiki”") || !strings.Contains(page, "cloud, mail") {
		t.Errorf("an outage of an unknown service: %d\n%s", code, page)
	}
}
