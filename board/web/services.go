package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"crieur/board"
	"crieur/board/httpx"
	"crieur/board/locale"
)

// A board's services as readers see them: a page listing them with how
// each is doing, a page per service with its outages, and the status
// document dashboards read (statusDocument).

// serviceView is a hosted service as its pages show it, in the reader's
// language.
type serviceView struct {
	board.HostedService
	URL     string
	LogoURL string
	// State is board.ServiceWorking, …Maintenance or …Disrupted;
	// StateText says it in a sentence, Notice is the outage notice that
	// makes it so (nil when it works).
	State     string
	StateText string
	Notice    *pageItem
}

// serviceViews are the board's services with their state at now.
func (p *Pages) serviceViews(b board.Board, list []board.HostedService, outages []board.Announcement, l locale.Locale, now time.Time) []serviceView {
	out := make([]serviceView, 0, len(list))
	for _, h := range list {
		out = append(out, p.serviceView(b, h, outages, l, now))
	}
	return out
}

func (p *Pages) serviceView(b board.Board, h board.HostedService, outages []board.Announcement, l locale.Locale, now time.Time) serviceView {
	v := serviceView{HostedService: h, URL: p.links.BoardURL(b.Name) + "/services/" + h.Slug}
	if h.Logo != "" {
		v.LogoURL = p.links.BoardURL(b.Name) + board.MediaPath(h.Logo)
	}
	st := board.StateOf(h, outages, now)
	v.State = st.State
	switch st.State {
	case board.ServiceDisrupted:
		v.StateText = l.T("service.disrupted_text", l.Time(st.Outage.Outage.From))
	case board.ServiceMaintenance:
		v.StateText = l.T("service.maintenance_text", l.Time(st.Outage.Outage.From))
	case board.ServiceUnderMaintenance:
		v.StateText = l.T("service.under_maintenance_text", l.Time(st.Outage.Outage.From))
	default:
		v.StateText = l.T("service.working_text")
	}
	if st.Outage != nil {
		it := p.item(*st.Outage, l)
		v.Notice = &it
	}
	return v
}

// boardServices reads a board's services, in order, and its outage
// notices.
func (p *Pages) boardServices(r *http.Request, b board.Board) ([]board.HostedService, []board.Announcement, error) {
	list, err := p.store.HostedServices(r.Context(), b.ID)
	if err != nil {
		return nil, nil, err
	}
	board.SortHostedServices(list)
	outages, err := p.store.Outages(r.Context(), b.ID, 200)
	return list, outages, err
}

// ServicesPage lists a board's services and how each is doing now.
func (p *Pages) ServicesPage(w http.ResponseWriter, r *http.Request, b board.Board) {
	list, outages, err := p.boardServices(r, b)
	if err != nil {
		serverError(w, r, p.log, err)
		return
	}
	l := boardLocale(r, b)
	data := p.boardPage(r, b, "services", l.T("service.services"))
	data["Services"], data["Canonical"] = p.serviceViews(b, list, outages, l, time.Now()), p.links.BoardURL(b.Name)+"/services"
	p.render(w, r, http.StatusOK, "services", data)
}

// ServicePage shows one service: how it is doing now, then its outages
// going on, planned and past.
func (p *Pages) ServicePage(w http.ResponseWriter, r *http.Request, b board.Board) {
	list, outages, err := p.boardServices(r, b)
	if err != nil {
		serverError(w, r, p.log, err)
		return
	}
	slug := r.PathValue("slug")
	for _, h := range list {
		if h.Slug != slug {
			continue
		}
		l := boardLocale(r, b)
		now := time.Now()
		ongoing, planned, past := board.ArrangeOutages(board.OutagesOf(h, outages), now)
		items := func(list []board.Announcement) []pageItem {
			out := make([]pageItem, len(list))
			for i, a := range list {
				out[i] = p.item(a, l)
			}
			return out
		}
		if len(past) > 30 {
			past = past[:30]
		}
		data := p.boardPage(r, b, "services", h.Name)
		for k, v := range map[string]any{
			"ServicesURL": p.links.BoardURL(b.Name) + "/services", "Service": p.serviceView(b, h, outages, l, now),
			"Ongoing": items(ongoing), "Planned": items(planned), "Past": items(past),
			"Canonical": p.links.BoardURL(b.Name) + "/services/" + h.Slug,
		} {
			data[k] = v
		}
		p.render(w, r, http.StatusOK, "service", data)
		return
	}
	NotFound(w, r)
}

// StatusJSON is the board's status as a document dashboards read: the
// shape of Atlassian Statuspage's public summary (/api/v2/summary.json),
// which status widgets and bots already parse (statusDocument).
func (p *Pages) StatusJSON(w http.ResponseWriter, r *http.Request, b board.Board) {
	list, outages, err := p.boardServices(r, b)
	if err != nil {
		serverError(w, r, p.log, err)
		return
	}
	doc := statusDocument(b, p.links, list, outages, time.Now())
	body, err := json.Marshal(doc)
	if err != nil {
		serverError(w, r, p.log, err)
		return
	}
	// A minute: a dashboard sees an outage soon after it is posted, and
	// those that poll more often get a 304 while nothing changed.
	w.Header().Set("Cache-Control", "public, max-age=60")
	w.Header().Set("Access-Control-Allow-Origin", "*") // a public document, read by dashboards on other sites
	httpx.ServeWithETag(w, r, "application/json; charset=utf-8", body)
}

// The status document, in the shape of Statuspage's public API v2
// summary.json. Field names and types follow what a consumer of that API
// decodes: Gowee/github-status-bot, pkg/api/types.go (SummaryQueryResult,
// Page, Component, Status, Incident, IncidentUpdate and the scheduled
// maintenances of ScheduledMaintenancesQueryResult).
type (
	statusDoc struct {
		Page                  statusPage        `json:"page"`
		Status                statusIndicator   `json:"status"`
		Components            []statusComponent `json:"components"`
		Incidents             []statusIncident  `json:"incidents"`
		ScheduledMaintenances []statusIncident  `json:"scheduled_maintenances"`
	}
	statusPage struct {
		ID        string    `json:"id"`
		Name      string    `json:"name"`
		URL       string    `json:"url"`
		TimeZone  string    `json:"time_zone"`
		UpdatedAt time.Time `json:"updated_at"`
	}
	statusIndicator struct {
		// Indicator is none, minor, major, critical or maintenance.
		Indicator   string `json:"indicator"`
		Description string `json:"description"`
	}
	statusComponent struct {
		ID string `json:"id"`
		// Status is operational, degraded_performance, partial_outage,
		// major_outage or under_maintenance.
		Status             string    `json:"status"`
		Name               string    `json:"name"`
		CreatedAt          time.Time `json:"created_at"`
		UpdatedAt          time.Time `json:"updated_at"`
		Position           int       `json:"position"`
		Description        *string   `json:"description"`
		Showcase           bool      `json:"showcase"`
		StartDate          *string   `json:"start_date"`
		GroupID            *string   `json:"group_id"`
		PageID             string    `json:"page_id"`
		Group              bool      `json:"group"`
		OnlyShowIfDegraded bool      `json:"only_show_if_degraded"`
	}
	statusIncident struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		// Status of an incident: investigating, identified, monitoring,
		// resolved; of a maintenance: scheduled, in_progress, verifying,
		// completed.
		Status       string     `json:"status"`
		CreatedAt    time.Time  `json:"created_at"`
		UpdatedAt    time.Time  `json:"updated_at"`
		MonitoringAt *time.Time `json:"monitoring_at"`
		ResolvedAt   *time.Time `json:"resolved_at"`
		// Impact is none, minor, major, critical or maintenance.
		Impact          string            `json:"impact"`
		Shortlink       string            `json:"shortlink"`
		StartedAt       time.Time         `json:"started_at"`
		PageID          string            `json:"page_id"`
		IncidentUpdates []statusUpdate    `json:"incident_updates"`
		Components      []statusComponent `json:"components"`
		// A maintenance's window (absent from incidents).
		ScheduledFor   *time.Time `json:"scheduled_for,omitempty"`
		ScheduledUntil *time.Time `json:"scheduled_until,omitempty"`
	}
	statusUpdate struct {
		ID                   string            `json:"id"`
		Status               string            `json:"status"`
		Body                 string            `json:"body"`
		IncidentID           string            `json:"incident_id"`
		CreatedAt            time.Time         `json:"created_at"`
		UpdatedAt            time.Time         `json:"updated_at"`
		DisplayAt            time.Time         `json:"display_at"`
		AffectedComponents   []statusComponent `json:"affected_components"`
		DeliverNotifications bool              `json:"deliver_notifications"`
		CustomTweet          *string           `json:"custom_tweet"`
		TweetID              *string           `json:"tweet_id"`
	}
)

// statusDocument is the board's services and outage notices at now as a
// Statuspage summary. Each service is a component. An outage notice
// posted before its start is a scheduled maintenance (in progress while
// it runs, so its services are under maintenance); one posted once it had
// started is an incident, "identified" (a notice says what is known), and
// its services are in a major outage. Outages over are in neither list,
// as in the summary.
func statusDocument(b board.Board, links board.Links, list []board.HostedService, outages []board.Announcement, now time.Time) statusDoc {
	l := locale.OfBoard(b)
	doc := statusDoc{
		Page: statusPage{ID: b.Name, Name: b.DisplayName, URL: links.BoardURL(b.Name) + "/status", TimeZone: b.Location().String(), UpdatedAt: b.CreatedAt},
		// Empty lists, not null: a consumer ranges over them.
		Components: []statusComponent{}, Incidents: []statusIncident{}, ScheduledMaintenances: []statusIncident{},
	}
	later := func(t time.Time) {
		if t.After(doc.Page.UpdatedAt) {
			doc.Page.UpdatedAt = t
		}
	}
	ongoing, planned, _ := board.ArrangeOutages(outages, now)
	scheduled := board.Announcement.Maintenance
	index := map[string]int{} // a service's component, by slug
	for i, h := range list {
		c := statusComponent{ID: h.Slug, Name: h.Name, Status: "operational", CreatedAt: h.CreatedAt, UpdatedAt: h.UpdatedAt,
			Position: i + 1, PageID: b.Name}
		if h.Description != "" {
			c.Description = &h.Description
		}
		for _, a := range ongoing {
			if !h.Names(a.Outage.Service) {
				continue
			}
			if scheduled(a) && c.Status == "operational" {
				c.Status = "under_maintenance"
			} else if !scheduled(a) {
				c.Status = "major_outage"
			}
			if a.UpdatedAt.After(c.UpdatedAt) {
				c.UpdatedAt = a.UpdatedAt
			}
		}
		later(c.UpdatedAt)
		index[h.Slug] = len(doc.Components)
		doc.Components = append(doc.Components, c)
	}
	affected := func(a board.Announcement) []statusComponent {
		out := []statusComponent{}
		for _, h := range list {
			if h.Names(a.Outage.Service) {
				out = append(out, doc.Components[index[h.Slug]])
			}
		}
		return out
	}
	incident := func(a board.Announcement, status, impact string) statusIncident {
		id := strconv.FormatInt(a.ID, 10)
		later(a.UpdatedAt)
		return statusIncident{ID: id, Name: a.Title, Status: status, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, Impact: impact,
			Shortlink: links.AnnouncementURL(b.Name, a.ID), StartedAt: a.Outage.From, PageID: b.Name, Components: affected(a),
			IncidentUpdates: []statusUpdate{{ID: id + "-" + strconv.Itoa(a.Version), Status: status, Body: a.Body, IncidentID: id,
				CreatedAt: a.UpdatedAt, UpdatedAt: a.UpdatedAt, DisplayAt: a.UpdatedAt, AffectedComponents: affected(a)}}}
	}
	indicator := "none"
	for _, a := range ongoing {
		if scheduled(a) {
			m := incident(a, "in_progress", "maintenance")
			m.ScheduledFor, m.ScheduledUntil = &a.Outage.From, a.Outage.Until
			doc.ScheduledMaintenances = append(doc.ScheduledMaintenances, m)
			if indicator == "none" {
				indicator = "maintenance"
			}
			continue
		}
		doc.Incidents = append(doc.Incidents, incident(a, "identified", "major"))
		indicator = "major"
	}
	for _, a := range planned {
		m := incident(a, "scheduled", "maintenance")
		m.ScheduledFor, m.ScheduledUntil = &a.Outage.From, a.Outage.Until
		doc.ScheduledMaintenances = append(doc.ScheduledMaintenances, m)
	}
	doc.Status = statusIndicator{Indicator: indicator, Description: l.T("service.summary_" + indicator)}
	return doc
}
