package board

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// HostedService is one service an association runs for its members (its
// mail, its cloud, its chat), shown on the board's services page with how
// it is doing. It is not the Service type, which is the domain's service
// object: this one is what the association offers.
//
// Outage notices name it by its Slug (Outage.Service); its state is
// derived from them (StateOf), never typed by an editor.
type HostedService struct {
	// Slug names it in addresses (/boards/news/services/mail) and in
	// outage notices: lower-case letters, digits and hyphens.
	Slug        string `json:"slug"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Address is where members use it (https://mail.example.org).
	Address string `json:"address,omitempty"`
	// Logo is a picture uploaded to the board (POST …/media), by name.
	Logo string `json:"logo,omitempty"`
	// Position orders the list, smallest first, then by name.
	Position int `json:"position"`
	// CreatedAt and UpdatedAt are kept by the store (the service sets
	// UpdatedAt; a new one is created then).
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Limits of a hosted service's fields: a name fits a heading, a
// description a short paragraph.
const (
	MaxServiceSlug        = 40
	MaxServiceName        = 80
	MaxServiceDescription = 500
	MaxServices           = 50
)

var slugRe = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// ValidSlug reports whether s can name a hosted service in an address.
func ValidSlug(s string) bool { return len(s) <= MaxServiceSlug && slugRe.MatchString(s) }

// CheckHostedService tidies a hosted service and says what is wrong with
// it, field by field.
func CheckHostedService(h HostedService) (HostedService, error) {
	errs := Problems{}
	h.Slug = strings.TrimSpace(h.Slug)
	h.Name, h.Description = strings.TrimSpace(h.Name), strings.TrimSpace(h.Description)
	h.Address, h.Logo = strings.TrimSpace(h.Address), strings.TrimSpace(h.Logo)
	switch {
	case h.Slug == "":
		errs["slug"] = Problemf("problem.required")
	case !ValidSlug(h.Slug):
		errs["slug"] = Problemf("problem.service_slug", MaxServiceSlug)
	}
	CheckText(errs, "name", h.Name, MaxServiceName, true)
	// One paragraph of plain text: line breaks would be lost on the page
	// and in the status document alike.
	CheckText(errs, "description", h.Description, MaxServiceDescription, false)
	if h.Address != "" && !HTTPURL(h.Address) {
		errs["address"] = Problemf("problem.http_url")
	}
	if h.Position < 0 || h.Position > 1000 {
		errs["position"] = Problemf("problem.between", 0, 1000)
	}
	if len(errs) > 0 {
		return h, &ValidationError{Fields: errs, What: "service"}
	}
	return h, nil
}

// SortHostedServices orders services as boards list them: by position,
// then by name.
func SortHostedServices(list []HostedService) {
	slices.SortStableFunc(list, func(a, b HostedService) int {
		return cmp.Or(cmp.Compare(a.Position, b.Position), strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), strings.Compare(a.Slug, b.Slug))
	})
}

// HostedServices lists a board's services in their order.
func (s *Service) HostedServices(ctx context.Context, b Board) ([]HostedService, error) {
	list, err := s.repo.HostedServices(ctx, b.ID)
	if err != nil {
		return nil, fmt.Errorf("services of board %s: %w", b.Name, err)
	}
	SortHostedServices(list)
	return list, nil
}

// SetHostedService adds a service to the board, or replaces the one of
// the same slug (created says which): a publisher's decision, since it
// changes the board's public pages.
func (s *Service) SetHostedService(ctx context.Context, actor Actor, b Board, h HostedService) (saved HostedService, created bool, err error) {
	if err := RequirePublisher(actor, "change the board's services"); err != nil {
		return h, false, err
	}
	h, err = CheckHostedService(h)
	if err != nil {
		return h, false, err
	}
	if h.Logo != "" {
		if _, err := s.repo.Media(ctx, b.ID, h.Logo); err != nil {
			if errors.Is(err, ErrNotFound) {
				return h, false, &ValidationError{Fields: Problems{"logo": Problemf("problem.no_such_picture", h.Logo)}, What: "service"}
			}
			return h, false, err
		}
	}
	list, err := s.repo.HostedServices(ctx, b.ID)
	if err != nil {
		return h, false, err
	}
	exists := slices.ContainsFunc(list, func(o HostedService) bool { return o.Slug == h.Slug })
	if !exists && len(list) >= MaxServices {
		return h, false, Invalid("slug", "problem.too_many_services", MaxServices)
	}
	h.UpdatedAt = s.now().UTC().Truncate(time.Millisecond)
	h.CreatedAt = h.UpdatedAt
	for _, o := range list {
		if o.Slug == h.Slug {
			h.CreatedAt = o.CreatedAt
		}
	}
	if err := s.repo.PutHostedService(ctx, b.ID, h); err != nil {
		return h, false, fmt.Errorf("save service %s: %w", h.Slug, err)
	}
	return h, !exists, nil
}

// RemoveHostedService takes a service off the board. Its outage notices
// stay as they were: they still name it, as free text.
func (s *Service) RemoveHostedService(ctx context.Context, actor Actor, b Board, slug string) error {
	if err := RequirePublisher(actor, "change the board's services"); err != nil {
		return err
	}
	return s.repo.DeleteHostedService(ctx, b.ID, slug)
}

// checkOutageService refuses an outage notice that names a service the
// board does not list, when it lists some: a dashboard and the service's
// page would never show it. A board without services keeps free text, and
// a notice written before the board listed services keeps its text until
// an editor changes it (old says what it named: nothing for a new one).
// A service may be named by its slug or its name, in any case; the slug
// is kept.
func (s *Service) checkOutageService(ctx context.Context, b Board, o *Outage, old *Outage) error {
	if o == nil {
		return nil
	}
	o.ServiceName = "" // Crieur's to write, never an editor's
	if o.Service == "" || old != nil && old.Service == o.Service {
		if old != nil && old.Service == o.Service {
			o.ServiceName = old.ServiceName
		}
		return nil
	}
	list, err := s.HostedServices(ctx, b)
	if err != nil || len(list) == 0 {
		return err
	}
	for _, h := range list {
		if h.Names(o.Service) {
			o.Service, o.ServiceName = h.Slug, h.Name
			return nil
		}
	}
	slugs := make([]string, len(list))
	for i, h := range list {
		slugs[i] = h.Slug
	}
	return Invalid("outage.service", "problem.no_such_service", o.Service, strings.Join(slugs, ", "))
}

// Names reports whether what an outage notice says its service is names
// h: its slug or its name, in any case (a notice written as free text
// before the board listed its services says "Mail").
func (h HostedService) Names(service string) bool {
	service = strings.TrimSpace(service)
	return strings.EqualFold(service, h.Slug) || strings.EqualFold(service, h.Name)
}

// The states of a hosted service, derived from its outage notices.
const (
	ServiceWorking     = "working"
	ServiceMaintenance = "maintenance" // an outage is planned
	// ServiceUnderMaintenance: a planned outage (Maintenance) is under way.
	ServiceUnderMaintenance = "under_maintenance"
	ServiceDisrupted        = "disrupted" // an outage is going on
)

// ServiceStates lists every state a service can be in.
func ServiceStates() []string {
	return []string{ServiceWorking, ServiceMaintenance, ServiceUnderMaintenance, ServiceDisrupted}
}

// ServiceState is how a hosted service is doing at a time, and the notice
// that says so (none when it works).
type ServiceState struct {
	State string
	// Outage is the ongoing outage (disrupted) or the next planned one
	// (maintenance).
	Outage *Announcement
}

// StateOf is how h is doing at now, from the board's outage notices: an
// ongoing incident disrupts it; else an ongoing maintenance has it under
// maintenance; else a planned one means maintenance to come; else it
// works. Notices readers cannot see do not count.
func StateOf(h HostedService, outages []Announcement, now time.Time) ServiceState {
	ongoing, planned, _ := ArrangeOutages(OutagesOf(h, outages), now)
	for i, a := range ongoing {
		if !a.Maintenance() {
			return ServiceState{State: ServiceDisrupted, Outage: &ongoing[i]}
		}
	}
	switch {
	case len(ongoing) > 0:
		return ServiceState{State: ServiceUnderMaintenance, Outage: &ongoing[0]}
	case len(planned) > 0:
		return ServiceState{State: ServiceMaintenance, Outage: &planned[0]}
	}
	return ServiceState{State: ServiceWorking}
}

// OutagesOf keeps the outage notices that name h.
func OutagesOf(h HostedService, outages []Announcement) []Announcement {
	var out []Announcement
	for _, a := range outages {
		if a.Outage != nil && h.Names(a.Outage.Service) {
			out = append(out, a)
		}
	}
	return out
}

// ArrangeOutages sorts the outage notices readers see as a status page
// shows them: those going on now (latest start first), then those planned
// (soonest first), then those over (most recently ended first). Drafts,
// scheduled, pending, expired and called-off notices are left out.
func ArrangeOutages(list []Announcement, now time.Time) (ongoing, planned, resolved []Announcement) {
	for _, a := range list {
		if a.Outage == nil || !a.Listed() || a.DeletedAt != nil || a.Outage.Cancelled {
			// Called off, it never happened: no service was down. Its
			// page, the feeds and the calendar say it was called off.
			continue
		}
		switch a.Outage.State(now) {
		case OutageOngoing:
			ongoing = append(ongoing, a)
		case OutagePlanned:
			planned = append(planned, a)
		default:
			resolved = append(resolved, a)
		}
	}
	byID := func(x, y Announcement) int { return cmp.Compare(y.ID, x.ID) }
	slices.SortStableFunc(ongoing, func(x, y Announcement) int {
		return cmp.Or(y.Outage.From.Compare(x.Outage.From), byID(x, y))
	})
	slices.SortStableFunc(planned, func(x, y Announcement) int {
		return cmp.Or(x.Outage.From.Compare(y.Outage.From), byID(x, y))
	})
	slices.SortStableFunc(resolved, func(x, y Announcement) int {
		return cmp.Or(y.Outage.Ended().Compare(x.Outage.Ended()), byID(x, y))
	})
	return ongoing, planned, resolved
}

// Ended is when an outage that is over ended: when it was marked
// resolved, else when it was due to end (zero if neither is known).
func (o *Outage) Ended() time.Time {
	switch {
	case o.Resolved != nil && (o.Until == nil || o.Resolved.Before(*o.Until)):
		return *o.Resolved
	case o.Until != nil:
		return *o.Until
	}
	return time.Time{}
}
