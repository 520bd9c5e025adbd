package web

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"crieur/board"
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
	Goal, Currency, Raised            string
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
	// moreImages are pictures after the first (given through the API),
	// which the form does not show and keeps.
	moreImages []board.Image
	// Status is the saved announcement's (empty for a new one): a
	// published one cannot be scheduled again or made a draft.
	Status board.Status
	// Action is the button pressed: preview, draft or publish.
	Action string
	// Role is the signed-in token's: an editor's form only saves drafts.
	Role   string
	Errors map[string]string
	// Prefix keeps ids unique when one page holds a form per board, so a
	// label focuses its own board's field.
	Prefix string
}

func readForm(r *http.Request) formData {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	return formData{Kind: v("kind"), Title: v("title"), Body: r.PostFormValue("body"), Tags: v("tags"), CW: v("cw"), Lang: v("lang"),
		Start: v("start"), End: v("end"), Place: v("place"), EventURL: v("event_url"),
		Roles: r.PostFormValue("roles"), Deadline: v("deadline"), Contact: v("contact"),
		Multiple: r.PostFormValue("multiple") == "on", Waitlist: r.PostFormValue("waitlist") == "on", RemoveRoles: r.PostFormValue("remove_roles") == "on",
		Service: v("service"), From: v("from"), Until: v("until"), PublishAt: v("publish_at"),
		Goal: v("goal"), Currency: v("currency"), Raised: v("raised"), Milestones: v("milestones"), ThankYou: r.PostFormValue("thank_you"), CampaignDeadline: v("campaign_deadline"), Link: v("link"), TaxNote: v("tax_note"), ExpiresAt: v("expires_at"), Action: v("action"),
		ImageID: v("image_id"), Alt: v("alt"), Decorative: r.PostFormValue("decorative") == "on", RemoveImage: r.PostFormValue("remove_image") == "on",
		FollowUp: r.PostFormValue("follow_up") == "on",
		Online:   v("online"), Level: v("level"), Bring: v("bring"), Seats: v("seats"),
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
func (f formData) draft(loc *time.Location) (board.Draft, map[string]string) {
	errs := map[string]string{}
	when := func(field, s string) *time.Time {
		if s == "" {
			return nil
		}
		t, err := time.ParseInLocation(formTime, s, loc)
		if err != nil {
			errs[field] = "give a date and time, e.g. 2026-12-05T14:00"
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
		errs["images[0].id"] = "Choose the picture this describes, or empty the description."
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
			errs[x.key] = fmt.Sprintf("This is for %s: choose “%s” in “What is it?”, or empty this field.", kindWords[x.kind][0], kindWords[x.kind][1])
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
				errs["training.seats"] = "write how many people can come, like 12"
			}
			d.Training.Seats = n
		}
	case board.KindCall:
		d.Call = &board.Call{Deadline: when("call.deadline", f.Deadline), Contact: f.Contact, Multiple: f.Multiple, Waitlist: f.Waitlist}
		d.RemoveRolesWithSignups = f.RemoveRoles
		for _, line := range strings.Split(f.Roles, "\n") {
			if line = strings.TrimSpace(line); line == "" {
				continue
			}
			name, n, ok := strings.Cut(line, ":")
			places, err := strconv.Atoi(strings.TrimSpace(n))
			if !ok || err != nil {
				errs["call.roles"] = fmt.Sprintf("write one role a line as 'name: places', e.g. 'cook: 2' (not %q)", line)
				continue
			}
			d.Call.Roles = append(d.Call.Roles, board.Role{Name: strings.TrimSpace(name), Places: places})
		}
	case board.KindCampaign:
		amount := func(field, s string) float64 {
			if s == "" {
				return 0
			}
			v, err := parseAmount(s)
			if err != nil {
				errs[field] = "write an amount, like 3000 or 1240.50"
			}
			return v
		}
		d.Campaign = &board.Campaign{Goal: amount("campaign.goal", f.Goal), Currency: f.Currency, Raised: amount("campaign.raised", f.Raised),
			Deadline: when("campaign.deadline", f.CampaignDeadline), Link: f.Link, TaxNote: f.TaxNote, ThankYou: f.ThankYou}
		for _, w := range strings.FieldsFunc(f.Milestones, func(r rune) bool { return r == ',' || r == ' ' || r == '%' }) {
			m, err := strconv.Atoi(w)
			if err != nil {
				errs["campaign.milestones"] = "percentages of the goal separated by spaces, like 25 50 75 100"
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
		for k, msg := range serviceErrors(ve) {
			if _, ok := errs[k]; !ok {
				errs[k] = msg
			}
		}
	}
	if len(errs) > 0 {
		return d, errs
	}
	return d, nil
}

// mergeErrors joins two sets of field problems (nil when there are none).
func mergeErrors(a, b map[string]string) map[string]string {
	if len(b) == 0 {
		return a
	}
	if a == nil {
		a = map[string]string{}
	}
	for k, v := range b {
		if _, ok := a[k]; !ok {
			a[k] = v
		}
	}
	return a
}

// parseAmount reads an amount as people type it: 3000, 3 000, 1240,50.
func parseAmount(s string) (float64, error) {
	s = strings.NewReplacer(" ", "", "\u00a0", "", "\u202f", "", ",", ".").Replace(s)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("not an amount: %q", s)
	}
	return v, nil
}

// formFields are the form's fields in page order, each with the keys the
// service reports its problems under.
var formFields = []struct {
	name, label string
	keys        []string
}{
	{"form", "Form", []string{"form", "draft", "pinned"}},
	{"kind", "What is it?", []string{"kind"}},
	{"title", "Title", []string{"title"}},
	{"body", "Text", []string{"body"}},
	{"tags", "Hashtags", []string{"tags"}},
	{"image", "Picture", []string{"file", "images", "images[0].id"}},
	{"alt", "Describe the picture", []string{"images[0].alt"}},
	{"start", "Starts", []string{"event", "event.start"}},
	{"end", "Ends", []string{"event.end"}},
	{"place", "Place", []string{"event.place"}},
	{"event_url", "Link", []string{"event.url"}},
	{"roles", "Who is needed", []string{"call", "call.roles"}},
	{"deadline", "Answer before", []string{"call.deadline"}},
	{"contact", "How to answer", []string{"call.contact"}},
	{"service", "Service", []string{"outage", "outage.service"}},
	{"from", "From", []string{"outage.from"}},
	{"until", "Until", []string{"outage.until", "outage.resolved"}},
	{"publish_at", "Publish at", []string{"publish_at"}},
	{"expires_at", "Take down at", []string{"expires_at"}},
	{"goal", "Goal", []string{"campaign", "campaign.goal"}},
	{"currency", "Currency", []string{"campaign.currency"}},
	{"raised", "Raised so far", []string{"campaign.raised"}},
	{"campaign_deadline", "Until", []string{"campaign.deadline"}},
	{"link", "Where to give", []string{"campaign.link"}},
	{"tax_note", "Good to know", []string{"campaign.tax_note"}},
	{"milestones", "Thank at", []string{"campaign.milestones"}},
	{"thank_you", "Thank-you message", []string{"campaign.thank_you"}},
	{"online", "Online link", []string{"training.online"}},
	{"level", "Level", []string{"training.level"}},
	{"bring", "What to bring", []string{"training.bring"}},
	{"seats", "Seats", []string{"training", "training.seats"}},
	{"cw", "Content warning", []string{"content_warning"}},
	{"lang", "Language", []string{"language"}},
}

// inWords says what the API says about a field in a member's words: the
// API speaks of event.start and RFC 3339, the form of "Starts".
var inWords = map[string]string{
	"event":           "Give the date and time it starts.",
	"event.start":     "Give the date and time it starts.",
	"event.end":       "Ends must be after Starts.",
	"event.url":       "The link must start with https:// or http://.",
	"call":            "Say who is needed, one role a line, like cook: 2.",
	"call.contact":    "Say how to answer: an e-mail address, a link or a person to ask.",
	"outage":          "Name the service that is down, like mail or website.",
	"outage.service":  "Name the service that is down, like mail or website.",
	"outage.from":     "Give the date and time it started (or will start).",
	"outage.until":    "Until must be after From.",
	"outage.resolved": "Until must be after From.",
	"language":        "Write a language code such as fr or en.",
	"campaign":        "Give the goal, like 3000, and the page where people give.",
	"campaign.link":   "The page where people give must start with https://.",
	"training":        "Say how many people can come, like 12.",
	"training.seats":  "Say how many people can come, between 1 and 10000.",
	"training.online": "The online link must start with https://.",
}

// kindWords names a kind in a sentence and as the form's menu shows it.
var kindWords = map[board.Kind][2]string{
	board.KindEvent:    {"an event", "Event"},
	board.KindCall:     {"a call for volunteers", "Call for volunteers"},
	board.KindOutage:   {"a service outage", "Service outage"},
	board.KindCampaign: {"a donation campaign", "Donation campaign"},
	board.KindTraining: {"a training", "Training"},
}

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
// API's would puzzle a member; the editor's own messages need no rewording.
func serviceErrors(ve *board.ValidationError) map[string]string {
	out := make(map[string]string, len(ve.Fields))
	for k, msg := range ve.Fields {
		if words, ok := inWords[k]; ok {
			msg = words
		} else if k == "call.roles" && strings.HasPrefix(msg, "name at least one role") {
			msg = inWords["call"] // the API's example is JSON
		} else if k == "images[0].alt" && strings.HasPrefix(msg, "describe") {
			msg = "Describe the picture for people who cannot see it, or tick Decorative."
		} else if k == "images[0].alt" && strings.HasPrefix(msg, "a decorative") {
			msg = "A decorative picture has no description: empty the description, or untick Decorative."
		} else if k == "expires_at" && strings.Contains(msg, "publish_at") {
			msg = "Take down at must be after Publish at."
		}
		out[k] = msg
	}
	return out
}

// byField files the service's problems under the form's fields, in the
// form's words.
func byField(errs map[string]string) map[string]string {
	out := map[string]string{}
	for k, msg := range errs {
		key := k
		if strings.HasPrefix(k, "call.roles[") { // one role of several
			key, msg = "call.roles", "Role "+strings.TrimPrefix(k[strings.Index(k, "]")+1:], ".")+" "+msg+"; one role a line, like cook: 2."
		}
		field, label := "form", ""
		for _, f := range formFields {
			if slices.Contains(f.keys, key) {
				field, label = f.name, f.label
				break
			}
		}
		switch {
		case label != "" && (strings.HasPrefix(msg, "is ") || strings.HasPrefix(msg, "must ")):
			msg = label + " " + msg + "."
		case msg != "":
			msg = strings.ToUpper(msg[:1]) + msg[1:]
		}
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
			out = append(out, fieldError{ID: id, Label: ff.label, Message: msg})
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
