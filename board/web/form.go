package web

import (
	"cmp"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"crieur/board"
	"crieur/board/locale"
)

// The editor's form: what a member typed, read back into a draft, and
// the service's refusals filed under the fields they concern, in the
// form's words.

// formData is the form as typed, kept verbatim so a rejected form comes
// back with everything the editor wrote.
type formData struct {
	ID                                int64
	Kind, Title, Body, Tags, CW, Lang string
	Start, End, Place, EventURL       string
	Roles, Deadline, Contact          string
	Multiple, Waitlist, RemoveRoles   bool
	Service, From, Until              string
	Goal, Currency, Raised, Per       string
	StillWelcome                      bool
	Milestones, ThankYou              string
	CampaignDeadline, Link, TaxNote   string
	Online, Level, Bring, Seats       string
	TrainingWaitlist, Reminder        bool
	PublishAt, ExpiresAt              string
	// The picture: an uploaded one's id, its description, whether it is
	// decorative or to be removed. Board makes its thumbnail's address.
	ImageID, Alt, Board     string
	Decorative, RemoveImage bool
	// FollowUp asks for a short "Updated" message where messages cannot
	// be edited (Mattermost, mailing lists).
	FollowUp bool
	// Again: the editor was told an announcement with the same title and
	// text was just published, and publishes this one all the same.
	Again bool
	// Ask is a question for the editor before the form is sent again.
	Ask string
	// moreImages are pictures after the first (given through the API),
	// which the form does not show and keeps.
	moreImages []board.Image
	// Status is the saved announcement's (empty for a new one): a
	// published one cannot be scheduled again or made a draft.
	Status board.Status
	// Action is the button pressed: preview, draft or publish.
	Action string
	// Role is the signed-in token's: an editor's form only saves drafts.
	Role string
	// Errors are the problems to fix, by the form's field, in L's words.
	Errors map[string]string
	// L is the editor's language, in the board's time zone.
	L locale.Locale
	// Prefix keeps ids unique when one page holds a form per board, so a
	// label focuses its own board's field.
	Prefix string
	// Services are the board's: when it has some, an outage notice picks
	// one from a list instead of typing a name.
	Services []board.HostedService
}

// ServiceChoice is one entry of the outage form's list of services.
type ServiceChoice struct {
	Value, Label string
	Selected     bool
}

// ServiceChoices are the entries of the outage form's list: the board's
// services, and the notice's own text when it names none of them (one
// written before the board listed its services keeps it).
func (f formData) ServiceChoices() []ServiceChoice {
	var out []ServiceChoice
	known := false
	for _, h := range f.Services {
		sel := f.Service != "" && h.Names(f.Service)
		known = known || sel
		out = append(out, ServiceChoice{Value: h.Slug, Label: h.Name, Selected: sel})
	}
	if f.Service != "" && !known {
		out = append(out, ServiceChoice{Value: f.Service, Label: f.Service, Selected: true})
	}
	return out
}

func readForm(r *http.Request) formData {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	return formData{Kind: v("kind"), Title: v("title"), Body: r.PostFormValue("body"), Tags: v("tags"), CW: v("cw"), Lang: v("lang"),
		Start: v("start"), End: v("end"), Place: v("place"), EventURL: v("event_url"),
		Roles: r.PostFormValue("roles"), Deadline: v("deadline"), Contact: v("contact"),
		Multiple: r.PostFormValue("multiple") == "on", Waitlist: r.PostFormValue("waitlist") == "on", RemoveRoles: r.PostFormValue("remove_roles") == "on",
		Service: v("service"), From: v("from"), Until: v("until"), PublishAt: v("publish_at"),
		Goal: v("goal"), Currency: v("currency"), Raised: v("raised"), Per: v("per"), StillWelcome: r.PostFormValue("still_welcome") == "on", Milestones: v("milestones"), ThankYou: r.PostFormValue("thank_you"), CampaignDeadline: v("campaign_deadline"), Link: v("link"), TaxNote: v("tax_note"), ExpiresAt: v("expires_at"), Action: v("action"),
		ImageID: v("image_id"), Alt: v("alt"), Decorative: r.PostFormValue("decorative") == "on", RemoveImage: r.PostFormValue("remove_image") == "on",
		FollowUp: r.PostFormValue("follow_up") == "on", Again: r.PostFormValue("again") == "1",
		Online: v("online"), Level: v("level"), Bring: v("bring"), Seats: v("seats"),
		TrainingWaitlist: r.PostFormValue("training_waitlist") == "on", Reminder: r.PostFormValue("reminder") == "on"}
}

// Unpublished says whether the form may still save a draft or schedule.
func (f formData) Unpublished() bool {
	return f.Status == "" || f.Status == board.StatusDraft || f.Status == board.StatusScheduled
}

func formOf(a board.Announcement, loc *time.Location) formData {
	t := func(x *time.Time) string {
		if x == nil {
			return ""
		}
		return x.In(loc).Format(formTime)
	}
	f := formData{ID: a.ID, Kind: string(a.Kind), Title: a.Title, Body: a.Body, Tags: strings.Join(a.Tags, " "), CW: a.ContentWarning, Lang: a.Language,
		PublishAt: t(a.PublishAt), ExpiresAt: t(a.ExpiresAt), Status: a.Status, Board: a.Board}
	if len(a.Images) > 0 {
		f.ImageID, f.Alt, f.Decorative, f.moreImages = a.Images[0].ID, a.Images[0].Alt, a.Images[0].Decorative, a.Images[1:]
	}
	if a.Event != nil {
		f.Start, f.End, f.Place, f.EventURL = t(&a.Event.Start), t(a.Event.End), a.Event.Place, a.Event.URL
	}
	if tr := a.Training; tr != nil {
		f.Online, f.Level, f.Bring, f.Seats = tr.Online, tr.Level, tr.Bring, strconv.Itoa(tr.Seats)
		f.TrainingWaitlist, f.Reminder = tr.Waitlist, tr.Reminder
	} else if a.Call != nil {
		var lines []string
		for _, role := range a.Call.Roles {
			lines = append(lines, fmt.Sprintf("%s: %d", role.Name, role.Places))
		}
		f.Roles, f.Deadline, f.Contact = strings.Join(lines, "\n"), t(a.Call.Deadline), a.Call.Contact
		f.Multiple, f.Waitlist = a.Call.Multiple, a.Call.Waitlist
	}
	if a.Outage != nil {
		f.Service, f.From, f.Until = a.Outage.Service, t(&a.Outage.From), t(a.Outage.Until)
	}
	if c := a.Campaign; c != nil {
		num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
		f.Goal, f.Currency, f.Raised, f.CampaignDeadline, f.Link, f.TaxNote = num(c.Goal), c.Currency, num(c.Raised), t(c.Deadline), c.Link, c.TaxNote
		f.Per, f.StillWelcome = c.Per, c.StillWelcome
		var ms []string
		for _, m := range c.Milestones {
			ms = append(ms, strconv.Itoa(m))
		}
		f.Milestones, f.ThankYou = strings.Join(ms, " "), c.ThankYou
	}
	return f
}

// draft turns the form into a Draft; what cannot be read is reported by
// field, in the same words as the API's checks.
// Kinds are the kinds of the form's menu, in order.
func (f formData) Kinds() []board.Kind { return board.Kinds() }

func (f formData) draft(loc *time.Location) (board.Draft, board.Problems) {
	errs := board.Problems{}
	when := func(field, s string) *time.Time {
		if s == "" {
			return nil
		}
		t, err := parseFormTime(s, loc)
		if err != nil {
			errs[field] = board.Problemf("editor.p.datetime")
			return nil
		}
		return &t
	}
	d := board.Draft{Kind: board.Kind(f.Kind), Title: f.Title, Body: f.Body, ContentWarning: f.CW, Language: f.Lang,
		Tags:      strings.FieldsFunc(f.Tags, func(r rune) bool { return r == ',' || r == ' ' }),
		KeepDraft: f.Action == "draft", PublishAt: when("publish_at", f.PublishAt), ExpiresAt: when("expires_at", f.ExpiresAt), FollowUp: f.FollowUp}
	if f.ImageID != "" && !f.RemoveImage {
		d.Images = append(d.Images, board.Image{ID: f.ImageID, Alt: f.Alt, Decorative: f.Decorative})
	} else if f.Alt != "" && !f.RemoveImage {
		errs["images[0].id"] = board.Problemf("editor.p.alt_without_picture")
	}
	// A detail of another kind would be dropped without a word: say so.
	for _, x := range []struct {
		kind       board.Kind
		key, value string
	}{
		{board.KindEvent, "event.start", f.Start}, {board.KindEvent, "event.end", f.End}, {board.KindEvent, "event.place", f.Place}, {board.KindEvent, "event.url", f.EventURL},
		{board.KindCall, "call.roles", f.Roles}, {board.KindCall, "call.deadline", f.Deadline}, {board.KindCall, "call.contact", f.Contact},
		{board.KindOutage, "outage.service", f.Service}, {board.KindOutage, "outage.from", f.From}, {board.KindOutage, "outage.until", f.Until},
		{board.KindCampaign, "campaign.goal", f.Goal}, {board.KindCampaign, "campaign.raised", f.Raised}, {board.KindCampaign, "campaign.deadline", f.CampaignDeadline},
		{board.KindCampaign, "campaign.link", f.Link}, {board.KindCampaign, "campaign.tax_note", f.TaxNote}, {board.KindCampaign, "campaign.milestones", f.Milestones},
		{board.KindCampaign, "campaign.thank_you", f.ThankYou},
		{board.KindTraining, "training.online", f.Online}, {board.KindTraining, "training.level", f.Level}, {board.KindTraining, "training.bring", f.Bring},
		{board.KindTraining, "training.seats", f.Seats},
	} {
		if x.kind != d.Kind && strings.TrimSpace(x.value) != "" && !(x.kind == board.KindEvent && d.Kind == board.KindTraining) {
			errs[x.key] = board.Problemf("editor.p.other_kind", board.Problemf("kind."+string(x.kind)))
		}
	}
	switch d.Kind {
	case board.KindEvent, board.KindTraining:
		d.Event = &board.Event{End: when("event.end", f.End), Place: f.Place, URL: f.EventURL}
		if st := when("event.start", f.Start); st != nil {
			d.Event.Start = *st
		}
		if d.Kind != board.KindTraining {
			break
		}
		d.Training = &board.Training{Online: f.Online, Level: f.Level, Bring: f.Bring, Waitlist: f.TrainingWaitlist, Reminder: f.Reminder}
		if f.Seats != "" {
			n, err := strconv.Atoi(f.Seats)
			if err != nil {
				errs["training.seats"] = board.Problemf("editor.p.seats")
			}
			d.Training.Seats = n
		}
	case board.KindCall:
		d.Call = &board.Call{Deadline: when("call.deadline", f.Deadline), Contact: f.Contact, Multiple: f.Multiple, Waitlist: f.Waitlist}
		d.RemoveRolesWithSignups = f.RemoveRoles
		roles, _, bad := f.roles()
		for _, line := range bad {
			errs["call.roles"] = board.Problemf("editor.p.role_line", line)
		}
		d.Call.Roles = roles
	case board.KindCampaign:
		amount := func(field, s string) float64 {
			if s == "" {
				return 0
			}
			v, err := parseAmount(s)
			if err != nil {
				errs[field] = board.Problemf("editor.p.amount")
			}
			return v
		}
		d.Campaign = &board.Campaign{Goal: amount("campaign.goal", f.Goal), Currency: f.Currency, Raised: amount("campaign.raised", f.Raised),
			Deadline: when("campaign.deadline", f.CampaignDeadline), Link: f.Link, TaxNote: f.TaxNote, ThankYou: f.ThankYou,
			Per: f.Per, StillWelcome: f.StillWelcome}
		for _, w := range strings.FieldsFunc(f.Milestones, func(r rune) bool { return r == ',' || r == ' ' || r == '%' }) {
			m, err := strconv.Atoi(w)
			if err != nil {
				errs["campaign.milestones"] = board.Problemf("editor.p.milestones")
				continue
			}
			d.Campaign.Milestones = append(d.Campaign.Milestones, m)
		}
	case board.KindOutage:
		d.Outage = &board.Outage{Service: f.Service, Until: when("outage.until", f.Until)}
		if from := when("outage.from", f.From); from != nil {
			d.Outage.From = *from
		}
	}
	// All problems at once: what could not be read, then what is invalid.
	var ve *board.ValidationError
	if err := d.Normalize(); errors.As(err, &ve) {
		for k, p := range serviceErrors(ve) {
			if _, ok := errs[k]; !ok {
				errs[k] = p
			}
		}
	}
	if len(errs) > 0 {
		return d, errs
	}
	return d, nil
}

// roles reads the roles typed one a line ("cook: 2"), with the number of
// each one's line (the service names a role by its place in the list, the
// member knows it by its line), and the lines that could not be read.
func (f formData) roles() (roles []board.Role, lines []int, bad []string) {
	for i, line := range strings.Split(f.Roles, "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		name, n, ok := strings.Cut(line, ":")
		places, err := strconv.Atoi(strings.TrimSpace(n))
		if !ok || err != nil {
			bad = append(bad, line)
			continue
		}
		roles = append(roles, board.Role{Name: strings.TrimSpace(name), Places: places})
		lines = append(lines, i+1)
	}
	return roles, lines, bad
}

// roleLines are the line numbers of the roles f.roles reads, in order.
func (f formData) roleLines() []int {
	_, lines, _ := f.roles()
	return lines
}

// mergeErrors joins two sets of field problems (nil when there are none).
func mergeErrors(a, b board.Problems) board.Problems {
	if len(b) == 0 {
		return a
	}
	if a == nil {
		a = board.Problems{}
	}
	for k, v := range b {
		if _, ok := a[k]; !ok {
			a[k] = v
		}
	}
	return a
}

// parseAmount reads an amount as people type it: 3000, 3 000, 1240,50.
func parseAmount(s string) (float64, error) { return board.ParseAmount(s) }

// formFields are the form's fields in page order, each with the keys the
// service reports its problems under; a field's label is the catalogue's
// editor.f.<name>.
var formFields = []struct {
	name string
	keys []string
}{
	{"form", []string{"form", "draft", "pinned", "status"}},
	{"kind", []string{"kind"}},
	{"title", []string{"title"}},
	{"body", []string{"body"}},
	{"tags", []string{"tags"}},
	{"image", []string{"file", "images", "images[0].id"}},
	{"alt", []string{"images[0].alt"}},
	{"start", []string{"event", "event.start"}},
	{"end", []string{"event.end"}},
	{"place", []string{"event.place"}},
	{"event_url", []string{"event.url"}},
	{"roles", []string{"call", "call.roles"}},
	{"deadline", []string{"call.deadline"}},
	{"contact", []string{"call.contact"}},
	{"service", []string{"outage", "outage.service"}},
	{"from", []string{"outage.from"}},
	{"until", []string{"outage.until", "outage.resolved"}},
	{"publish_at", []string{"publish_at"}},
	{"expires_at", []string{"expires_at"}},
	{"goal", []string{"campaign", "campaign.goal"}},
	{"currency", []string{"campaign.currency"}},
	{"raised", []string{"campaign.raised"}},
	{"per", []string{"campaign.per"}},
	{"still_welcome", nil},
	{"campaign_deadline", []string{"campaign.deadline"}},
	{"link", []string{"campaign.link"}},
	{"tax_note", []string{"campaign.tax_note"}},
	{"milestones", []string{"campaign.milestones"}},
	{"thank_you", []string{"campaign.thank_you"}},
	{"online", []string{"training.online"}},
	{"level", []string{"training.level"}},
	{"bring", []string{"training.bring"}},
	{"seats", []string{"training", "training.seats"}},
	{"cw", []string{"content_warning"}},
	{"lang", []string{"language"}},
}

// inWords are the problems the API says of a field in its terms
// (event.start, RFC 3339) that the form says in a member's ("Starts"):
// the catalogue's editor.p.<value>.
var inWords = map[string]string{
	"event":           "start",
	"event.start":     "start",
	"event.end":       "end",
	"event.url":       "event_url",
	"call":            "call",
	"call.contact":    "contact",
	"outage":          "service",
	"outage.service":  "service",
	"outage.from":     "from",
	"outage.until":    "until",
	"outage.resolved": "until",
	"language":        "language",
	"campaign":        "campaign",
	"campaign.link":   "give_link",
	"training":        "training",
	"training.seats":  "seats_range",
	"training.online": "online",
}

// textProblems are what CheckText finds in any text: said as they are,
// not replaced by a field's own wording.
var textProblems = []string{"problem.too_long", "problem.utf8", "problem.control_chars", "problem.one_line", "problem.bidi", "problem.invisible", "problem.invisible_required"}

// Shows says whether the fieldset of a kind's details is shown: the
// chosen kind's, or one holding a problem to fix. Browsers without :has()
// show them all.
func (f formData) Shows(kind string) bool {
	if f.Kind == kind || kind == "event" && f.Kind == string(board.KindTraining) {
		return true
	}
	for _, ff := range formFields {
		if _, bad := f.Errors[ff.name]; bad && strings.HasPrefix(ff.keys[len(ff.keys)-1], kind+".") {
			return true
		}
	}
	return false
}

// serviceErrors is what the service refused, in the form's words where the
// API's would puzzle a member; the editor's own problems need no rewording.
func serviceErrors(ve *board.ValidationError) board.Problems {
	out := make(board.Problems, len(ve.Fields))
	for k, p := range ve.Fields {
		switch {
		case k == "outage.service" && p.Key == "problem.no_such_service":
			// Says which services the board has: the form's own words
			// would only ask to name one.
		case inWords[k] != "" && !slices.Contains(textProblems, p.Key):
			p = board.Problemf("editor.p." + inWords[k])
		case k == "call.roles" && p.Key == "problem.no_roles":
			p = board.Problemf("editor.p.call") // the API's example is JSON
		case k == "images[0].alt" && p.Key == "problem.alt_missing":
			p = board.Problemf("editor.p.alt_missing")
		case k == "images[0].alt" && p.Key == "problem.decorative_alt":
			p = board.Problemf("editor.p.decorative_alt")
		case k == "expires_at" && p.Key == "problem.expires_before_publish":
			p = board.Problemf("editor.p.expires_before_publish")
		case k == "publish_at" && p.Key == "problem.publish_past":
			p = board.Problemf("editor.p.publish_past") // the API's names a JSON field
		}
		out[k] = p
	}
	return out
}

// byField files the service's problems under the form's fields, said in
// l's words; a field with several problems shows them all. roleLines are
// the lines of the roles the service numbers.
func byField(l locale.Locale, errs board.Problems, roleLines []int) map[string]string {
	out := map[string]string{}
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p, key := errs[k], k
		if strings.HasPrefix(k, "call.roles[") { // one role of several
			n, _ := strconv.Atoi(k[len("call.roles["):strings.Index(k, "]")])
			line := n + 1
			if n >= 0 && n < len(roleLines) {
				line = roleLines[n]
			}
			key, p = "call.roles", board.Problemf("editor.p.role", line, p)
		}
		field := "form"
		for _, f := range formFields {
			if slices.Contains(f.keys, key) {
				field = f.name
				break
			}
		}
		msg := l.Problem(p)
		if prev, ok := out[field]; ok && prev != msg {
			msg = prev + " " + msg
		}
		out[field] = msg
	}
	return out
}

// fieldError is one line of the list above the form, linking to its field.
type fieldError struct{ ID, Label, Message string }

// ErrorList is the form's problems in page order.
func (f formData) ErrorList() []fieldError {
	var out []fieldError
	for _, ff := range formFields {
		if msg, ok := f.Errors[ff.name]; ok {
			id := f.Prefix + ff.name
			if ff.name == "form" {
				id = "" // the whole form: nothing to jump to
			}
			out = append(out, fieldError{ID: id, Label: f.L.T("editor.f." + ff.name), Message: msg})
		}
	}
	return out
}

// Invalid marks a field with a problem for screen readers, and focuses the
// first one.
func (f formData) Invalid(name string) template.HTMLAttr {
	if _, ok := f.Errors[name]; !ok {
		return ""
	}
	attr := ` aria-invalid="true" aria-describedby="` + template.HTMLEscapeString(f.Prefix+name) + `-error"`
	if list := f.ErrorList(); len(list) > 0 && list[0].ID == f.Prefix+name {
		attr += " autofocus"
	}
	return template.HTMLAttr(attr)
}

// ErrorFor is the message shown under a field.
func (f formData) ErrorFor(name string) template.HTML {
	msg, ok := f.Errors[name]
	if !ok {
		return ""
	}
	return template.HTML(`<span class="field-error" id="` + template.HTMLEscapeString(f.Prefix+name) + `-error">` + template.HTMLEscapeString(msg) + `</span>`)
}

// formTimeLayouts are the ways a time is typed where a browser shows a
// text box instead of a date picker: ISO with a space, and the day first
// as French (and British) writers put it; "14 h 00" and "14h" are made
// "14:00" first.
var formTimeLayouts = []string{formTime, "2006-01-02 15:04", "2006-01-02T15:04:05", "2/1/2006 15:04", "2/1/2006T15:04"}

var typedHourRe = regexp.MustCompile(`(\d{1,2})\s*[hH]\s*(\d{2})?\b`)

// typedTimes writes each time the form could read in the picker's own
// format: a form that comes back (with a problem elsewhere) shows them
// again, where a date picker would show a time typed another way as
// empty, and a draft saved next would lose it.
func (f *formData) typedTimes(loc *time.Location) {
	for _, field := range []*string{&f.Start, &f.End, &f.Deadline, &f.From, &f.Until, &f.PublishAt, &f.ExpiresAt, &f.CampaignDeadline} {
		if t, err := parseFormTime(*field, loc); *field != "" && err == nil {
			*field = t.Format(formTime)
		}
	}
}

// parseFormTime reads a time from the form, in loc.
func parseFormTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.Join(strings.Fields(s), " ")
	s = typedHourRe.ReplaceAllStringFunc(s, func(m string) string {
		g := typedHourRe.FindStringSubmatch(m)
		return g[1] + ":" + cmp.Or(g[2], "00")
	})
	var err error
	for _, layout := range formTimeLayouts {
		var t time.Time
		if t, err = time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}
