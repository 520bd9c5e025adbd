package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"crieur/board"
	"crieur/board/boardtest"
	"crieur/board/httpx"
	"crieur/board/locale"
)

// publicPages serves a rig's public pages.
func publicPages(t *testing.T, rig *boardtest.Rig) func(path string, header ...string) (*http.Response, string) {
	t.Helper()
	mux := httpx.NewRoutes()
	p := NewPages(rig.Store, rig.Service, boardtest.Links{}, "", slog.New(slog.DiscardHandler))
	p.Register(mux)
	// The board's own address is activitypub's, which hands browsers here.
	mux.Handle("GET /boards/{board}", httpx.Public, p.withBoard(p.Board))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return func(path string, header ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
}

// outage posts an outage notice of service from from to until (nil: no
// end), published unless draft.
func outage(t *testing.T, rig *boardtest.Rig, title, service string, from time.Time, until *time.Time, draft bool) board.Announcement {
	t.Helper()
	a, _, err := rig.Service.Create(context.Background(), board.System, rig.Board, board.Draft{Kind: board.KindOutage, Title: title, Body: "Details of " + title + ".",
		KeepDraft: draft, Outage: &board.Outage{Service: service, From: from, Until: until}}, "")
	if err != nil {
		t.Fatalf("post %s: %v", title, err)
	}
	return a
}

func at(t time.Time) *time.Time { return &t }

// inOrder reports whether every one of words is in page, each after the
// one before.
func inOrder(page string, words ...string) bool {
	from := 0
	for _, w := range words {
		i := strings.Index(page[from:], w)
		if i < 0 {
			return false
		}
		from += i + len(w)
	}
	return true
}

// The status page lists what goes on now first, then what is planned,
// soonest first, then what is over, latest first; a draft is nobody's
// business. The store's order (newest notice first) put a maintenance
// announced after an outage above it.
func TestStatusPageListsOngoingBeforePlanned(t *testing.T) {
	rig := boardtest.New(t)
	now := time.Now()
	outage(t, rig, "Old breakdown", "web", now.Add(-10*24*time.Hour), at(now.Add(-9*24*time.Hour)), false)
	outage(t, rig, "Mail is down", "mail", now.Add(-time.Hour), nil, false)
	outage(t, rig, "Recent breakdown", "web", now.Add(-3*24*time.Hour), at(now.Add(-2*24*time.Hour)), false)
	outage(t, rig, "Upgrade next week", "cloud", now.Add(7*24*time.Hour), nil, false)
	outage(t, rig, "Upgrade tomorrow", "chat", now.Add(24*time.Hour), at(now.Add(26*time.Hour)), false)
	outage(t, rig, "Secret draft", "mail", now.Add(-time.Hour), nil, true)
	get := publicPages(t, rig)
	resp, page := get("/boards/news/status")
	if resp.StatusCode != 200 {
		t.Fatalf("status page: %d", resp.StatusCode)
	}
	if !inOrder(page, "Mail is down", "Upgrade tomorrow", "Upgrade next week", "Recent breakdown", "Old breakdown") {
		t.Errorf("the status page's order is not ongoing, planned (soonest first), resolved (latest first):\n%s", page)
	}
	if strings.Contains(page, "Secret draft") {
		t.Error("a draft outage notice is on the public status page")
	}
}

// servicesRig is a board with three services: mail, disrupted now; cloud,
// with maintenance planned; chat, working. Its outage notices name them
// by slug, by name (in another case) and not at all.
func servicesRig(t *testing.T) *boardtest.Rig {
	t.Helper()
	ctx := context.Background()
	rig := boardtest.New(t)
	for _, h := range []board.HostedService{
		{Slug: "chat", Name: "Chat", Position: 3, Description: "Talk with the members."},
		{Slug: "mail", Name: "Mail", Position: 1, Description: "Our mailboxes.", Address: "https://mail.example.org"},
		{Slug: "cloud", Name: "Cloud", Position: 2},
	} {
		if _, _, err := rig.Service.SetHostedService(ctx, board.System, rig.Board, h); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	outage(t, rig, "Mail was slow", "mail", now.Add(-5*24*time.Hour), at(now.Add(-4*24*time.Hour)), false)
	outage(t, rig, "Mail is down", "MAIL", now.Add(-time.Hour), nil, false)
	outage(t, rig, "Mail moves next month", "mail", now.Add(30*24*time.Hour), nil, false)
	outage(t, rig, "Cloud upgrade", "cloud", now.Add(48*time.Hour), at(now.Add(50*time.Hour)), false)
	outage(t, rig, "Chat draft", "chat", now.Add(-time.Hour), nil, true)
	return rig
}

// The services page lists each service in its order with its state from
// its outage notices (a draft does not count), its description and its
// address, in the reader's language.
func TestServicesPageShowsEachState(t *testing.T) {
	get := publicPages(t, servicesRig(t))
	resp, page := get("/boards/news/services")
	if resp.StatusCode != 200 {
		t.Fatalf("services page: %d\n%s", resp.StatusCode, page)
	}
	if !inOrder(page, "<main", `<ul class="cards services">`,
		">Mail</a></h2>", "state-disrupted", "Disrupted since", "Mail is down", "Our mailboxes.", `href="https://mail.example.org"`, "Open Mail",
		">Cloud</a></h2>", "state-maintenance", "Maintenance is planned from", "Cloud upgrade",
		">Chat</a></h2>", "state-working", "No outage reported.", "</ul>", "</main>") {
		t.Errorf("the services page does not show each service's state in order:\n%s", page)
	}
	if strings.Count(page, "<h1>") != 1 {
		t.Errorf("%d h1 on the page", strings.Count(page, "<h1>"))
	}
	_, fr := get("/boards/news/services", "Accept-Language", "fr")
	if !inOrder(fr, `lang="fr"`, "Perturbé depuis", "Une maintenance est prévue", "Aucune panne signalée.") {
		t.Errorf("the services page in French:\n%s", fr)
	}
	if strings.Contains(visibleText(fr), "Working") || strings.Contains(visibleText(fr), "Disrupted") {
		t.Error("English words on the French services page")
	}
}

// The board's page links its services page once it lists some.
func TestBoardPageLinksServices(t *testing.T) {
	rig := boardtest.New(t)
	pages := NewPages(rig.Store, rig.Service, testLinks{}, "", slog.New(slog.DiscardHandler))
	home := func() string {
		w := httptest.NewRecorder()
		pages.Board(w, httptest.NewRequest(http.MethodGet, "/boards/news", nil), rig.Board)
		return w.Body.String()
	}
	link := `href="https://board.example/boards/news/services"`
	if strings.Contains(home(), link) {
		t.Error("a board without services links its services page")
	}
	if _, _, err := rig.Service.SetHostedService(context.Background(), board.System, rig.Board, board.HostedService{Slug: "mail", Name: "Mail"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(home(), link) {
		t.Error("the board's page does not link its services")
	}
}

// The status page names a listed service of a past outage by its name,
// linked to its page, and links the services page; free text stays.
func TestStatusPageLinksServices(t *testing.T) {
	rig := boardtest.New(t)
	now := time.Now()
	outage(t, rig, "Old wiki", "the wiki", now.Add(-10*24*time.Hour), at(now.Add(-9*24*time.Hour)), false)
	if _, _, err := rig.Service.SetHostedService(context.Background(), board.System, rig.Board, board.HostedService{Slug: "mail", Name: "Mail"}); err != nil {
		t.Fatal(err)
	}
	outage(t, rig, "Mail was slow", "mail", now.Add(-5*24*time.Hour), at(now.Add(-4*24*time.Hour)), false)
	get := publicPages(t, rig)
	_, page := get("/boards/news/status")
	if !strings.Contains(page, `<td><a href="https://board.example/boards/news/services/mail">Mail</a></td>`) || !strings.Contains(page, "<td>the wiki</td>") ||
		!strings.Contains(page, `href="https://board.example/boards/news/services">All services</a>`) {
		t.Errorf("the status page does not link the services:\n%s", page)
	}
}

// A service's page says how it is now, then its outages going on,
// planned (soonest first) and past, each linked; another service's
// notices are not there; an unknown service is not found.
func TestServicePageShowsStateAndHistory(t *testing.T) {
	get := publicPages(t, servicesRig(t))
	resp, page := get("/boards/news/services/mail")
	if resp.StatusCode != 200 {
		t.Fatalf("service page: %d\n%s", resp.StatusCode, page)
	}
	if !inOrder(page, "<main", "<h1>", "Mail</h1>", "Our mailboxes.", "Current state", "state-disrupted", "Disrupted since",
		"History", "Going on now", ">Mail is down</a>", "Planned", ">Mail moves next month</a>", "Past outages", ">Mail was slow</a>", "</main>") {
		t.Errorf("the mail page does not show its state and history:\n%s", page)
	}
	if strings.Contains(page, "Cloud upgrade") {
		t.Error("the mail page shows the cloud's outage")
	}
	if _, chat := get("/boards/news/services/chat"); !strings.Contains(chat, "state-working") || !strings.Contains(chat, "No outage was noticed") || strings.Contains(chat, "Chat draft") {
		t.Errorf("the chat page (its only notice a draft):\n%s", chat)
	}
	if resp, _ := get("/boards/news/services/nope"); resp.StatusCode != 404 {
		t.Errorf("an unknown service: %d", resp.StatusCode)
	}
}

// What a consumer of Statuspage's summary.json decodes, field for field
// and type for type: Gowee/github-status-bot, pkg/api/types.go
// (SummaryQueryResult with the scheduled maintenances of
// ScheduledMaintenancesQueryResult). A field of the wrong type fails the
// decoding; one that is missing is caught by the checks below.
type consumerSummary struct {
	Page struct {
		ID        string    `json:"id"`
		Name      string    `json:"name"`
		URL       string    `json:"url"`
		TimeZone  string    `json:"time_zone"`
		UpdatedAt time.Time `json:"updated_at"`
	} `json:"page"`
	Components            []consumerComponent `json:"components"`
	Incidents             []consumerIncident  `json:"incidents"`
	ScheduledMaintenances []consumerIncident  `json:"scheduled_maintenances"`
	Status                struct {
		Indicator   string `json:"indicator"`
		Description string `json:"description"`
	} `json:"status"`
}

type consumerComponent struct {
	ID                 string      `json:"id"`
	Name               string      `json:"name"`
	Status             string      `json:"status"`
	CreatedAt          time.Time   `json:"created_at"`
	UpdatedAt          time.Time   `json:"updated_at"`
	Position           int         `json:"position"`
	Description        string      `json:"description"`
	Showcase           bool        `json:"showcase"`
	StartDate          interface{} `json:"start_date"`
	GroupID            interface{} `json:"group_id"`
	PageID             string      `json:"page_id"`
	Group              bool        `json:"group"`
	OnlyShowIfDegraded bool        `json:"only_show_if_degraded"`
}

type consumerIncident struct {
	ID              string      `json:"id"`
	Name            string      `json:"name"`
	Status          string      `json:"status"`
	CreatedAt       time.Time   `json:"created_at"`
	UpdatedAt       time.Time   `json:"updated_at"`
	MonitoringAt    interface{} `json:"monitoring_at"`
	ResolvedAt      time.Time   `json:"resolved_at"`
	Impact          string      `json:"impact"`
	Shortlink       string      `json:"shortlink"`
	StartedAt       time.Time   `json:"started_at"`
	PageID          string      `json:"page_id"`
	IncidentUpdates []struct {
		ID                   string      `json:"id"`
		Status               string      `json:"status"`
		Body                 string      `json:"body"`
		IncidentID           string      `json:"incident_id"`
		CreatedAt            time.Time   `json:"created_at"`
		UpdatedAt            time.Time   `json:"updated_at"`
		DisplayAt            time.Time   `json:"display_at"`
		AffectedComponents   interface{} `json:"affected_components"`
		DeliverNotifications bool        `json:"deliver_notifications"`
		CustomTweet          interface{} `json:"custom_tweet"`
		TweetID              interface{} `json:"tweet_id"`
	} `json:"incident_updates"`
	Components     []consumerComponent `json:"components"`
	ScheduledFor   time.Time           `json:"scheduled_for"`
	ScheduledUntil time.Time           `json:"scheduled_until"`
}

// requiredKeys are the keys every object of the document must have for
// its consumer (decoding alone would take a missing one as zero).
var requiredKeys = map[string][]string{
	"":          {"page", "status", "components", "incidents", "scheduled_maintenances"},
	"page":      {"id", "name", "url", "updated_at"},
	"status":    {"indicator", "description"},
	"component": {"id", "name", "status", "created_at", "updated_at", "position", "description", "page_id"},
	"incident":  {"id", "name", "status", "created_at", "updated_at", "monitoring_at", "resolved_at", "impact", "shortlink", "started_at", "page_id", "incident_updates", "components"},
	"update":    {"id", "status", "body", "incident_id", "created_at", "updated_at", "display_at", "affected_components"},
}

func checkKeys(t *testing.T, what string, obj map[string]any) {
	t.Helper()
	for _, k := range requiredKeys[what] {
		if _, ok := obj[k]; !ok {
			t.Errorf("%s lacks %q: %v", what, k, obj)
		}
	}
}

// The status document for dashboards has the shape of Statuspage's
// summary.json: a consumer of that API decodes it, every field it reads
// is there, and it says what the pages say (mail in a major outage, an
// incident for it; the cloud's maintenance scheduled). It is cached a
// minute and answered 304 to a client that has it.
func TestStatusJSONIsAStatuspageSummary(t *testing.T) {
	get := publicPages(t, servicesRig(t))
	resp, body := get("/boards/news/status.json")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("status.json: %d %q\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var doc consumerSummary
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("a Statuspage consumer cannot decode it: %v\n%s", err, body)
	}
	var raw map[string]any
	_ = json.Unmarshal([]byte(body), &raw)
	checkKeys(t, "", raw)
	checkKeys(t, "page", raw["page"].(map[string]any))
	checkKeys(t, "status", raw["status"].(map[string]any))
	for _, list := range []string{"incidents", "scheduled_maintenances"} {
		for _, in := range raw[list].([]any) {
			checkKeys(t, "incident", in.(map[string]any))
			for _, u := range in.(map[string]any)["incident_updates"].([]any) {
				checkKeys(t, "update", u.(map[string]any))
			}
		}
	}
	for _, c := range raw["components"].([]any) {
		checkKeys(t, "component", c.(map[string]any))
	}

	if doc.Page.ID != "news" || doc.Page.Name != "News" || doc.Page.URL != "https://board.example/boards/news/status" || doc.Page.UpdatedAt.IsZero() {
		t.Errorf("page: %+v", doc.Page)
	}
	if doc.Status.Indicator != "major" || doc.Status.Description != "Some services are disrupted" {
		t.Errorf("status: %+v", doc.Status)
	}
	states := map[string]string{}
	var ids []string
	for _, c := range doc.Components {
		states[c.ID] = c.Status
		ids = append(ids, c.ID)
	}
	if strings.Join(ids, " ") != "mail cloud chat" || states["mail"] != "major_outage" || states["cloud"] != "operational" || states["chat"] != "operational" {
		t.Errorf("components: %v %v", ids, states)
	}
	if len(doc.Incidents) != 1 || doc.Incidents[0].Name != "Mail is down" || doc.Incidents[0].Status != "identified" || doc.Incidents[0].Impact != "major" ||
		doc.Incidents[0].Shortlink == "" || len(doc.Incidents[0].Components) != 1 || doc.Incidents[0].Components[0].ID != "mail" ||
		len(doc.Incidents[0].IncidentUpdates) != 1 || doc.Incidents[0].IncidentUpdates[0].Body != "Details of Mail is down." {
		t.Errorf("incidents: %+v", doc.Incidents)
	}
	if len(doc.ScheduledMaintenances) != 2 || doc.ScheduledMaintenances[0].Name != "Cloud upgrade" || doc.ScheduledMaintenances[0].Status != "scheduled" ||
		doc.ScheduledMaintenances[0].Impact != "maintenance" || doc.ScheduledMaintenances[0].ScheduledFor.IsZero() || doc.ScheduledMaintenances[1].Name != "Mail moves next month" {
		t.Errorf("scheduled maintenances: %+v", doc.ScheduledMaintenances)
	}

	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=60") {
		t.Errorf("Cache-Control %q", cc)
	}
	etag := resp.Header.Get("ETag")
	if again, rest := get("/boards/news/status.json", "If-None-Match", etag); etag == "" || again.StatusCode != http.StatusNotModified || rest != "" {
		t.Errorf("with its ETag %q: %d, %d bytes", etag, again.StatusCode, len(rest))
	}
}

// A maintenance announced ahead is under way once it starts: its service
// is under maintenance and the page's indicator says so, while nothing
// else is wrong.
func TestStatusDocumentDuringMaintenance(t *testing.T) {
	rig := boardtest.New(t)
	ctx := context.Background()
	if _, _, err := rig.Service.SetHostedService(ctx, board.System, rig.Board, board.HostedService{Slug: "cloud", Name: "Cloud"}); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(time.Hour)
	a := outage(t, rig, "Cloud upgrade", "cloud", start, at(start.Add(2*time.Hour)), false)
	list, _ := rig.Service.HostedServices(ctx, rig.Board)
	doc := statusDocument(rig.Board, testLinks{}, list, []board.Announcement{a}, start.Add(time.Minute))
	if doc.Status.Indicator != "maintenance" || len(doc.Components) != 1 || doc.Components[0].Status != "under_maintenance" ||
		len(doc.Incidents) != 0 || len(doc.ScheduledMaintenances) != 1 || doc.ScheduledMaintenances[0].Status != "in_progress" {
		t.Errorf("during the maintenance: %+v", doc)
	}
	if doc := statusDocument(rig.Board, testLinks{}, list, []board.Announcement{a}, start.Add(3*time.Hour)); doc.Status.Indicator != "none" ||
		doc.Components[0].Status != "operational" || len(doc.ScheduledMaintenances) != 0 || doc.Status.Description != "All services are working" {
		t.Errorf("after the maintenance: %+v", doc)
	}
}

// A trial as a hosting collective: the outages widget put the latest
// notices first (an old one above the outage going on) dated when they
// were written; a maintenance under way read "Service outage ongoing"
// and its service "Disrupted". The widget now lists what is broken, then
// what is planned, with their times; work announced before it began is
// a maintenance everywhere a reader looks.
func TestOutagesAsReadersExpectThem(t *testing.T) {
	rig := servicesRig(t)
	now := time.Now()
	// Announced yesterday for an hour ago: a maintenance under way.
	rig.Clock.Advance(-24 * time.Hour)
	outage(t, rig, "Chat upgrade", "chat", now.Add(-time.Hour), at(now.Add(time.Hour)), false)
	rig.Clock.Advance(24 * time.Hour)
	get := publicPages(t, rig)
	_, widget := get("/boards/news/widget?kind=outage&limit=3")
	if !inOrder(widget, "Mail is down", "Cloud upgrade", "</ul>") || !inOrder(widget, "Chat upgrade", "Cloud upgrade") || strings.Contains(widget, "Mail was slow") {
		t.Errorf("the outages widget does not list what goes on, then what is planned, soonest first:\n%s", widget)
	}
	// Its start as written, not a time taken here (a minute may turn
	// between the two).
	list, err := rig.Store.Outages(context.Background(), rig.Board.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(list, func(a board.Announcement) bool { return a.Title == "Cloud upgrade" })
	if start := locale.For("en").Time(list[i].Outage.From); !strings.Contains(widget, start) {
		t.Errorf("the widget does not give the planned outage's start (%s):\n%s", start, widget)
	}
	if !strings.Contains(widget, `href="https://board.example/boards/news/status"`) {
		t.Errorf("the outages widget does not lead to the status page:\n%s", widget)
	}
	_, home := get("/boards/news")
	if !inOrder(home, "Maintenance under way:", "Chat upgrade") || !inOrder(home, "Ongoing outage:", "Mail is down") {
		t.Errorf("the board's banners do not tell the maintenance from the outage:\n%s", home)
	}
	_, services := get("/boards/news/services")
	if !inOrder(services, ">Chat</a></h2>", "state-under_maintenance", "Under maintenance since", "Chat upgrade") {
		t.Errorf("the service under maintenance does not say so:\n%s", services)
	}
	_, status := get("/boards/news/status")
	if !inOrder(status, "Maintenance", "ongoing", "Chat upgrade") || !inOrder(status, "Service outage", "ongoing", "Mail is down") {
		t.Errorf("the status page does not tell the maintenance from the outage:\n%s", status)
	}
}

// A planned maintenance called off (a trial could only resolve it, which
// was refused, or delete it, which told nobody): it leaves the current
// outages and its service's state, and every reader sees it called off.
// An outage that has begun is resolved, not cancelled.
func TestAPlannedOutageIsCalledOff(t *testing.T) {
	rig := servicesRig(t)
	ctx := context.Background()
	now := time.Now()
	m := outage(t, rig, "Chat upgrade", "chat", now.Add(24*time.Hour), at(now.Add(26*time.Hour)), false)
	a, err := rig.Service.Cancel(ctx, board.System, rig.Board, m.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	if h := locale.For("en").Heading(a); h != "Maintenance called off: Chat upgrade" {
		t.Errorf("its heading (feeds, posts, rooms): %q", h)
	}
	if facts := locale.For("en").Facts(a); !slices.ContainsFunc(facts, func(f locale.Fact) bool { return f.Value == "this maintenance will not take place" }) {
		t.Errorf("its facts: %v", facts)
	}
	// It never happened: no list of outages has it (a trial saw it among
	// the recent outages, "resolved", dated in the future).
	get := publicPages(t, rig)
	for _, path := range []string{"/boards/news/status", "/boards/news/services/chat"} {
		if _, page := get(path); strings.Contains(page, "Chat upgrade") {
			t.Errorf("%s lists the called-off maintenance:\n%s", path, page)
		}
	}
	_, services := get("/boards/news/services")
	if !inOrder(services, ">Chat</a></h2>", "state-working") {
		t.Errorf("its service is not working as usual:\n%s", services)
	}
	// Resolving what has not begun, and calling off what is over, each
	// say what to do instead.
	soon := outage(t, rig, "Pad upgrade", "chat", now.Add(24*time.Hour), nil, false)
	var ve *board.ValidationError
	if _, err := rig.Service.ResolveOutage(ctx, board.System, rig.Board, soon.ID); !errors.As(err, &ve) || ve.Fields["outage"].Key != "problem.outage_not_begun" {
		t.Errorf("resolving an outage that has not begun: %v", err)
	}
	over := outage(t, rig, "Chat was slow", "chat", now.Add(-3*time.Hour), at(now.Add(-2*time.Hour)), false)
	if _, err := rig.Service.Cancel(ctx, board.System, rig.Board, over.ID, true); !errors.As(err, &ve) || ve.Fields["outage"].Key != "problem.outage_over" {
		t.Errorf("calling off an outage that is over: %v", err)
	}
	// Begun: it can no longer be called off.
	down := outage(t, rig, "Chat down", "chat", now.Add(-time.Minute), nil, false)
	_, err = rig.Service.Cancel(ctx, board.System, rig.Board, down.ID, true)
	if !errors.As(err, &ve) || ve.Fields["outage"].Key != "problem.outage_started" {
		t.Errorf("calling off an outage that has begun: %v", err)
	}
}
