package board_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"crieur/board"
	"crieur/board/boardtest"
	"crieur/board/locale"
)

// Each wrong field of a service is named, with a problem the catalogue
// says in English and French.
func TestHostedServiceValidationNamesEachField(t *testing.T) {
	cases := []struct {
		name   string
		h      board.HostedService
		fields []string
	}{
		{"empty", board.HostedService{}, []string{"slug", "name"}},
		{"slug with capitals and spaces", board.HostedService{Slug: "My Mail", Name: "Mail"}, []string{"slug"}},
		{"slug too long", board.HostedService{Slug: strings.Repeat("a", board.MaxServiceSlug+1), Name: "Mail"}, []string{"slug"}},
		{"slug ends with a hyphen", board.HostedService{Slug: "mail-", Name: "Mail"}, []string{"slug"}},
		{"name on two lines", board.HostedService{Slug: "mail", Name: "Mail\nbox"}, []string{"name"}},
		{"long description", board.HostedService{Slug: "mail", Name: "Mail", Description: strings.Repeat("é", board.MaxServiceDescription+1)}, []string{"description"}},
		{"address not http", board.HostedService{Slug: "mail", Name: "Mail", Address: "javascript:alert(1)"}, []string{"address"}},
		{"negative position", board.HostedService{Slug: "mail", Name: "Mail", Position: -1}, []string{"position"}},
	}
	for _, c := range cases {
		_, err := board.CheckHostedService(c.h)
		var ve *board.ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%s: %v, want a ValidationError", c.name, err)
			continue
		}
		var got []string
		for f, p := range ve.Fields {
			got = append(got, f)
			for _, lang := range []string{"en", "fr"} {
				if s := locale.For(lang).Problem(p); s == "" || strings.HasPrefix(s, "problem.") || strings.Contains(s, "%!") {
					t.Errorf("%s: %s says %q in %s", c.name, f, s, lang)
				}
			}
		}
		slices.Sort(got)
		slices.Sort(c.fields)
		if !slices.Equal(got, c.fields) {
			t.Errorf("%s: fields %v, want %v", c.name, got, c.fields)
		}
	}
	h, err := board.CheckHostedService(board.HostedService{Slug: " cloud-2 ", Name: " Cloud ", Address: "https://cloud.example.org"})
	if err != nil || h.Slug != "cloud-2" || h.Name != "Cloud" {
		t.Errorf("a good service: %+v %v", h, err)
	}
}

// Publishers add, change and remove a board's services, listed in their
// order; an editor's token may not; a logo must be an uploaded picture.
func TestHostedServicesAreKept(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	publisher := board.TokenActor(board.Token{ID: 1, Role: board.RolePublisher})
	editor := board.TokenActor(board.Token{ID: 2, Role: board.RoleEditor})
	if _, _, err := svc.SetHostedService(ctx, editor, b, board.HostedService{Slug: "mail", Name: "Mail"}); !errors.Is(err, board.ErrForbidden) {
		t.Errorf("an editor's token set a service: %v", err)
	}
	for _, h := range []board.HostedService{{Slug: "web", Name: "Website", Position: 2}, {Slug: "mail", Name: "Mail", Position: 1}, {Slug: "chat", Name: "Chat", Position: 2}} {
		if _, created, err := svc.SetHostedService(ctx, publisher, b, h); err != nil || !created {
			t.Fatalf("set %s: %v %v", h.Slug, created, err)
		}
	}
	first, _ := svc.HostedServices(ctx, b)
	h, created, err := svc.SetHostedService(ctx, publisher, b, board.HostedService{Slug: "mail", Name: "Mailboxes", Position: 1})
	if err != nil || created || h.Name != "Mailboxes" {
		t.Fatalf("replace mail: %+v %v %v", h, created, err)
	}
	list, err := svc.HostedServices(ctx, b)
	var slugs []string
	for _, h := range list {
		slugs = append(slugs, h.Slug)
	}
	if err != nil || strings.Join(slugs, " ") != "mail chat web" || list[0].Name != "Mailboxes" || !list[0].CreatedAt.Equal(first[0].CreatedAt) {
		t.Errorf("services %v (%v), want mail chat web, mail renamed, created when first set", slugs, err)
	}
	_, _, err = svc.SetHostedService(ctx, publisher, b, board.HostedService{Slug: "cloud", Name: "Cloud", Logo: "nope.png"})
	var ve *board.ValidationError
	if !errors.As(err, &ve) || ve.Fields["logo"].Key != "problem.no_such_picture" {
		t.Errorf("a logo never uploaded: %v", err)
	}
	if err := svc.RemoveHostedService(ctx, editor, b, "web"); !errors.Is(err, board.ErrForbidden) {
		t.Errorf("an editor's token removed a service: %v", err)
	}
	if err := svc.RemoveHostedService(ctx, publisher, b, "web"); err != nil {
		t.Fatal(err)
	}
	if err := svc.RemoveHostedService(ctx, publisher, b, "web"); !errors.Is(err, board.ErrNotFound) {
		t.Errorf("removing it again: %v", err)
	}
}

// When a board lists services, an outage notice names one of them (by
// slug or name, kept as the slug), and a notice naming another is refused
// with the known slugs; without services, free text is fine; a notice
// written before the services were listed can still be edited and
// resolved.
func TestOutageNamesAListedService(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	draft := func(service string) board.Draft {
		return board.Draft{Kind: board.KindOutage, Title: "Down", Outage: &board.Outage{Service: service, From: time.Now().Add(-time.Hour)}}
	}
	old, _, err := svc.Create(ctx, board.System, b, draft("the old mail server"), "")
	if err != nil {
		t.Fatalf("free text without services: %v", err)
	}
	for _, h := range []board.HostedService{{Slug: "mail", Name: "Mail"}, {Slug: "cloud", Name: "Our cloud"}} {
		if _, _, err := svc.SetHostedService(ctx, board.System, b, h); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err = svc.Create(ctx, board.System, b, draft("wiki"), "")
	var ve *board.ValidationError
	if !errors.As(err, &ve) || ve.Fields["outage.service"].Key != "problem.no_such_service" {
		t.Fatalf("an unknown service: %v", err)
	}
	said := locale.For("en").Problem(ve.Fields["outage.service"])
	if !strings.Contains(said, "wiki") || !strings.Contains(said, "mail, cloud") {
		t.Errorf("the refusal does not name the known services: %q", said)
	}
	a, _, err := svc.Create(ctx, board.System, b, draft("our CLOUD"), "")
	if err != nil || a.Outage.Service != "cloud" {
		t.Errorf("named by its name: %v, service %q", err, a.Outage.Service)
	}
	// Readers see the service's name, on every channel, not its slug; an
	// edit of something else keeps it.
	if f := locale.For("en").Facts(a); len(f) == 0 || f[0].Key != "service" || f[0].Value != "Our cloud" {
		t.Errorf("the notice's facts name the service %v", f)
	}
	if a, err = svc.Update(ctx, board.System, b, a.ID, func(d *board.Draft) error { d.Title = "Cloud down"; return nil }); err != nil || a.Outage.ServiceName != "Our cloud" {
		t.Errorf("after an edit: %v, name %q", err, a.Outage.ServiceName)
	}
	if _, err := svc.Update(ctx, board.System, b, old.ID, func(d *board.Draft) error { d.Title = "Mail server down"; return nil }); err != nil {
		t.Errorf("editing a notice written before the services: %v", err)
	}
	if _, err := svc.ResolveOutage(ctx, board.System, b, old.ID); err != nil {
		t.Errorf("resolving it: %v", err)
	}
	_, err = svc.Update(ctx, board.System, b, old.ID, func(d *board.Draft) error { d.Outage.Service = "wiki"; return nil })
	if !errors.As(err, &ve) {
		t.Errorf("changing it to an unknown service: %v", err)
	}
}

// A service's state comes from the notices that name it at a time: an
// incident going on disrupts it, a maintenance going on has it under
// maintenance, one planned means maintenance to come, else it works;
// notices readers do not see and other services' do not count.
func TestStateOfAService(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	h := board.HostedService{Slug: "mail", Name: "Mail"}
	notice := func(id int64, service string, from time.Time, until *time.Time, status board.Status) board.Announcement {
		// Written when it began: an incident, unless a case says otherwise.
		return board.Announcement{ID: id, Kind: board.KindOutage, Status: status, CreatedAt: from, Outage: &board.Outage{Service: service, From: from, Until: until}}
	}
	past := now.Add(-time.Hour)
	soon, later := now.Add(time.Hour), now.Add(48*time.Hour)
	// Announced the day before it began: work the association planned.
	maintenance := func(id int64, from time.Time) board.Announcement {
		a := notice(id, "mail", from, nil, board.StatusPublished)
		a.CreatedAt = from.Add(-24 * time.Hour)
		return a
	}
	cases := []struct {
		name string
		list []board.Announcement
		want string
		id   int64
	}{
		{"nothing", nil, board.ServiceWorking, 0},
		{"another service down", []board.Announcement{notice(1, "cloud", past, nil, board.StatusPublished)}, board.ServiceWorking, 0},
		{"a draft", []board.Announcement{notice(1, "mail", past, nil, board.StatusDraft)}, board.ServiceWorking, 0},
		{"over", []board.Announcement{notice(1, "mail", now.Add(-2*time.Hour), &past, board.StatusPublished)}, board.ServiceWorking, 0},
		{"planned", []board.Announcement{notice(1, "mail", later, nil, board.StatusPublished), notice(2, "Mail", soon, nil, board.StatusPublished)}, board.ServiceMaintenance, 2},
		{"going on", []board.Announcement{notice(1, "mail", soon, nil, board.StatusPublished), notice(2, "mail", past, nil, board.StatusPublished)}, board.ServiceDisrupted, 2},
		{"a maintenance going on", []board.Announcement{maintenance(3, past)}, board.ServiceUnderMaintenance, 3},
		{"an incident during a maintenance", []board.Announcement{maintenance(3, past), notice(2, "mail", now.Add(-time.Minute), nil, board.StatusPublished)}, board.ServiceDisrupted, 2},
		{"an incident before a maintenance", []board.Announcement{notice(2, "mail", now.Add(-2*time.Hour), nil, board.StatusPublished), maintenance(3, past)}, board.ServiceDisrupted, 2},
	}
	for _, c := range cases {
		st := board.StateOf(h, c.list, now)
		if st.State != c.want || c.id != 0 && (st.Outage == nil || st.Outage.ID != c.id) {
			t.Errorf("%s: %+v, want %s (notice %d)", c.name, st, c.want, c.id)
		}
	}
}
