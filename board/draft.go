package board

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Draft is what an editor writes: an announcement before the server adds
// ids, HTML and timestamps. The admin API decodes it strictly.
type Draft struct {
	Kind           Kind      `json:"kind"`
	Title          string    `json:"title"`
	Body           string    `json:"body"`
	Tags           []string  `json:"tags"`
	ContentWarning string    `json:"content_warning"`
	Language       string    `json:"language"`
	Event          *Event    `json:"event"`
	Call           *Call     `json:"call"`
	Outage         *Outage   `json:"outage"`
	Campaign       *Campaign `json:"campaign"`
	Training       *Training `json:"training"`
	// Images name uploaded pictures (POST .../media) with their
	// descriptions.
	Images []Image `json:"images"`
	// KeepDraft saves without publishing: nobody but editors sees it until
	// an edit without it publishes it.
	KeepDraft bool `json:"draft,omitempty"`
	// PublishAt schedules the publication (a future time); ExpiresAt takes
	// it off the board and feeds and tells followers it is over.
	PublishAt *time.Time `json:"publish_at"`
	ExpiresAt *time.Time `json:"expires_at"`
	// FollowUp, with an edit, also sends a short "Updated" message where a
	// message cannot be edited (Mattermost, mailing lists). Not stored.
	FollowUp bool `json:"follow_up,omitempty"`
	// RemoveRolesWithSignups confirms an edit that drops roles people
	// signed up for (their sign-ups are withdrawn); without it such an
	// edit is refused, so nobody is dropped by accident.
	RemoveRolesWithSignups bool `json:"remove_roles_with_signups,omitempty"`
}

// DraftOf returns the editable part of a, for partial edits.
func DraftOf(a Announcement) Draft {
	call := a.Call
	if call != nil {
		c := *call
		c.Roles = slices.Clone(c.Roles)
		c.Taken, c.Voters = nil, 0 // counts are not the editor's to write
		call = &c
	}
	// Copies, so that editing the draft leaves a as it was.
	var ev *Event
	if a.Event != nil {
		e := *a.Event
		ev = &e
	}
	var out *Outage
	if a.Outage != nil {
		o := *a.Outage
		out = &o
	}
	var camp *Campaign
	if a.Campaign != nil {
		c := *a.Campaign
		camp = &c
	}
	var tr *Training
	if a.Training != nil {
		t := *a.Training
		t.RemindedFor = copyTime(t.RemindedFor)
		tr = &t
	}
	var images []Image
	for _, im := range a.Images {
		images = append(images, Image{ID: im.ID, Alt: im.Alt, Decorative: im.Decorative})
	}
	return Draft{Kind: a.Kind, Title: a.Title, Body: a.Body, Tags: slices.Clone(a.Tags), ContentWarning: a.ContentWarning,
		Language: a.Language, Event: ev, Call: call, Outage: out, Campaign: camp, Training: tr, Images: images, KeepDraft: a.Status == StatusDraft,
		PublishAt: copyTime(a.PublishAt), ExpiresAt: copyTime(a.ExpiresAt)}
}

func copyTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

// Limits on what an editor may write.
const (
	MaxTitle   = 200
	MaxBody    = 20000
	MaxTags    = 10
	MaxTagLen  = 50
	MaxCW      = 200
	MaxRoles   = 20
	MaxFactLen = 300
	MaxImages  = 4    // what Mastodon shows with one post
	MaxAlt     = 1500 // Mastodon's limit on a description
)

var (
	tagRe  = regexp.MustCompile(`^[\p{L}\p{N}_]+$`)
	langRe = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)
)

// Normalize trims the draft and checks every field, returning a
// ValidationError that says what to fix for each bad one.
func (d *Draft) Normalize() error {
	errs := map[string]string{}
	d.Title = strings.TrimSpace(d.Title)
	d.Body = strings.TrimSpace(d.Body)
	d.ContentWarning = strings.TrimSpace(d.ContentWarning)
	d.Language = strings.TrimSpace(d.Language)
	if d.Kind == "" {
		d.Kind = KindNews
	}
	if !slices.Contains(Kinds(), d.Kind) {
		errs["kind"] = fmt.Sprintf("unknown kind %q; use news, event, call, outage, campaign or training", d.Kind)
	}
	CheckText(errs, "title", d.Title, MaxTitle, true)
	checkTextLines(errs, "body", d.Body, MaxBody, false, true)
	CheckText(errs, "content_warning", d.ContentWarning, MaxCW, false)
	if d.Language != "" && !langRe.MatchString(d.Language) {
		errs["language"] = "must be a language tag such as fr, en or pt-BR"
	}
	if len(d.Tags) > MaxTags {
		errs["tags"] = fmt.Sprintf("at most %d tags", MaxTags)
	}
	seen := map[string]bool{}
	tags := []string{}
	for _, t := range d.Tags {
		t = strings.TrimPrefix(strings.TrimSpace(t), "#")
		switch {
		case t == "":
			continue
		case len(t) > MaxTagLen || !tagRe.MatchString(t):
			errs["tags"] = fmt.Sprintf("tag %q must be letters, digits or _ (at most %d characters), without spaces", t, MaxTagLen)
		case !seen[strings.ToLower(t)]:
			seen[strings.ToLower(t)] = true
			tags = append(tags, t)
		}
	}
	d.Tags = tags
	// Details belong to one kind: a block for another kind is a mistake the
	// editor should hear about rather than have silently dropped.
	if d.Event != nil && d.Kind != KindEvent && d.Kind != KindTraining {
		errs["event"] = "only an announcement of kind event or training has event details"
	}
	if d.Call != nil && d.Kind != KindCall && d.Kind != KindTraining {
		errs["call"] = "only an announcement of kind call has call details"
	}
	if d.Training != nil && d.Kind != KindTraining {
		errs["training"] = "only an announcement of kind training has training details"
	}
	if d.Outage != nil && d.Kind != KindOutage {
		errs["outage"] = "only an announcement of kind outage has outage details"
	}
	if d.Campaign != nil && d.Kind != KindCampaign {
		errs["campaign"] = "only an announcement of kind campaign has campaign details"
	}
	if len(d.Images) > MaxImages {
		errs["images"] = fmt.Sprintf("at most %d images", MaxImages)
	}
	for i := range d.Images {
		im := &d.Images[i]
		im.ID, im.Alt = strings.TrimSpace(im.ID), strings.TrimSpace(im.Alt)
		key := fmt.Sprintf("images[%d]", i)
		switch {
		case im.ID == "":
			errs[key+".id"] = "name an uploaded picture by the id POST .../media answered"
		case im.Decorative && im.Alt != "":
			errs[key+".alt"] = "a decorative image has no description: remove the description, or do not mark it decorative"
		case !im.Decorative && im.Alt == "":
			errs[key+".alt"] = "describe the image for people who cannot see it, or mark it decorative"
		default:
			checkTextLines(errs, key+".alt", im.Alt, MaxAlt, false, true)
		}
	}
	if d.PublishAt != nil && d.ExpiresAt != nil && !d.ExpiresAt.After(*d.PublishAt) {
		errs["expires_at"] = "must be after publish_at"
	}
	switch d.Kind {
	case KindEvent:
		checkEvent(errs, d.Event)
	case KindCall:
		checkCall(errs, d.Call)
	case KindOutage:
		checkOutage(errs, d.Outage)
	case KindCampaign:
		checkCampaign(errs, d.Campaign)
	case KindTraining:
		checkEvent(errs, d.Event)
		checkTraining(errs, d)
	}
	if len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	return nil
}

// CheckText is the one check of every text field an editor writes. A
// one-line field (everything but the body) takes no control characters at
// all and no bidirectional controls, which can make a text read as another;
// the body keeps newlines and tabs, and loses only the overrides.
func CheckText(errs map[string]string, field, s string, max int, required bool) {
	checkTextLines(errs, field, s, max, required, false)
}

func checkTextLines(errs map[string]string, field, s string, max int, required, multiline bool) {
	switch {
	case required && s == "":
		errs[field] = "is required"
	case !utf8.ValidString(s):
		errs[field] = "is not valid UTF-8 text"
	case utf8.RuneCountInString(s) > max:
		errs[field] = fmt.Sprintf("is %d characters long; at most %d", utf8.RuneCountInString(s), max)
	case strings.IndexFunc(s, func(r rune) bool {
		return unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t' || r == '\r'))
	}) >= 0:
		if multiline {
			errs[field] = "contains control characters (only line breaks and tabs are allowed)"
		} else {
			errs[field] = "must be one line of text, without control characters"
		}
	case strings.IndexFunc(s, func(r rune) bool {
		return r == '\u202D' || r == '\u202E' || (!multiline && (r >= '\u202A' && r <= '\u202C' || r >= '\u2066' && r <= '\u2069'))
	}) >= 0:
		errs[field] = "contains bidirectional control characters (such as U+202E), which can make text read as something else; remove them"
	case s != "" && strings.IndexFunc(s, visible) < 0:
		if required {
			errs[field] = "has no visible character; write some text"
		} else {
			errs[field] = "has no visible character; leave it empty instead"
		}
	}
}

// visible reports whether r shows as something: not a space, a format
// character (zero-width space, joiners, BOM) or an invisible filler.
func visible(r rune) bool {
	switch r {
	case '\u115F', '\u1160', '\u3164', '\uFFA0', '\u2800', '\u180E':
		return false
	}
	return !unicode.IsSpace(r) && !unicode.Is(unicode.Cf, r) && !unicode.IsControl(r)
}

func checkEvent(errs map[string]string, e *Event) {
	if e == nil {
		errs["event"] = "is required for an event: give at least event.start"
		return
	}
	if e.Start.IsZero() {
		errs["event.start"] = "is required, as an RFC 3339 time such as 2026-12-05T14:00:00+01:00"
	}
	if e.End != nil && e.End.Before(e.Start) {
		errs["event.end"] = "must not be before event.start"
	}
	e.Place = strings.TrimSpace(e.Place)
	CheckText(errs, "event.place", e.Place, MaxFactLen, false)
	if e.URL != "" && !HTTPURL(e.URL) {
		errs["event.url"] = "must be an http or https URL"
	}
}

func checkCall(errs map[string]string, c *Call) {
	if c == nil {
		errs["call"] = "is required for a call for volunteers: give call.roles and call.contact"
		return
	}
	c.Taken, c.Voters = nil, 0 // counted from the sign-ups
	seen := map[string]bool{}
	for i, r := range c.Roles {
		name := strings.TrimSpace(r.Name)
		if seen[strings.ToLower(name)] && name != "" {
			errs[fmt.Sprintf("call.roles[%d].name", i)] = fmt.Sprintf("%q is listed twice", name)
		}
		seen[strings.ToLower(name)] = true
	}
	if len(c.Roles) == 0 {
		errs["call.roles"] = "name at least one role, e.g. [{\"name\": \"cook\", \"places\": 2}]"
	}
	if len(c.Roles) > MaxRoles {
		errs["call.roles"] = fmt.Sprintf("at most %d roles", MaxRoles)
	}
	for i := range c.Roles {
		r := &c.Roles[i]
		r.Name = strings.TrimSpace(r.Name)
		key := fmt.Sprintf("call.roles[%d]", i)
		CheckText(errs, key+".name", r.Name, 100, true)
		if r.Places < 1 || r.Places > 10000 {
			errs[key+".places"] = "must be between 1 and 10000"
		}
	}
	c.Contact = strings.TrimSpace(c.Contact)
	if c.Contact == "" {
		errs["call.contact"] = "say how to answer: an email address, a link or a person to ask"
	}
	CheckText(errs, "call.contact", c.Contact, MaxFactLen, false)
}

// checkTraining checks a training's details and derives its sign-ups:
// one option, as many places as seats, open until it starts. Only the
// editor's closing of registrations is kept from a call block sent with it.
func checkTraining(errs map[string]string, d *Draft) {
	t := d.Training
	if t == nil {
		errs["training"] = "is required for a training: give at least training.seats (and event.start)"
		return
	}
	t.Online, t.Level, t.Bring = strings.TrimSpace(t.Online), strings.TrimSpace(t.Level), strings.TrimSpace(t.Bring)
	if t.Online != "" && !HTTPURL(t.Online) {
		errs["training.online"] = "the link to join online, starting with https://"
	}
	CheckText(errs, "training.level", t.Level, MaxFactLen, false)
	CheckText(errs, "training.bring", t.Bring, MaxFactLen, false)
	if t.Seats < 1 || t.Seats > 10000 {
		errs["training.seats"] = "how many people can come: between 1 and 10000"
	}
	closed := d.Call != nil && d.Call.Closed
	d.Call = &Call{Roles: []Role{{Name: TrainingRole, Places: t.Seats}}, Waitlist: t.Waitlist, Closed: closed}
	if d.Event != nil && !d.Event.Start.IsZero() {
		start := d.Event.Start
		d.Call.Deadline = &start
	}
}

func checkOutage(errs map[string]string, o *Outage) {
	if o == nil {
		errs["outage"] = "is required for an outage: give outage.service and outage.from"
		return
	}
	o.Service = strings.TrimSpace(o.Service)
	if o.Service == "" {
		errs["outage.service"] = "is required"
	}
	CheckText(errs, "outage.service", o.Service, MaxFactLen, false)
	if o.From.IsZero() {
		errs["outage.from"] = "is required, as an RFC 3339 time such as 2026-12-05T14:00:00+01:00"
	}
	if o.Until != nil && o.Until.Before(o.From) {
		errs["outage.until"] = "must not be before outage.from"
	}
	if o.Resolved != nil && o.Resolved.Before(o.From) {
		errs["outage.resolved"] = "must not be before outage.from"
	}
}

var currencyRe = regexp.MustCompile(`^[A-Z]{3}$`)

func checkCampaign(errs map[string]string, c *Campaign) {
	if c == nil {
		errs["campaign"] = "is required for a campaign: give campaign.goal and campaign.link"
		return
	}
	c.Currency = strings.ToUpper(strings.TrimSpace(c.Currency))
	if c.Currency == "" {
		c.Currency = "EUR"
	}
	if !currencyRe.MatchString(c.Currency) {
		errs["campaign.currency"] = "a currency code such as EUR, USD or CHF"
	}
	if c.Goal <= 0 || c.Goal > 1e12 {
		errs["campaign.goal"] = "must be an amount above 0, like 3000"
	}
	if c.Raised < 0 || c.Raised > 1e12 {
		errs["campaign.raised"] = "must be 0 or more"
	}
	c.Link, c.TaxNote = strings.TrimSpace(c.Link), strings.TrimSpace(c.TaxNote)
	if !HTTPURL(c.Link) {
		errs["campaign.link"] = "the page where people give, starting with https://"
	}
	CheckText(errs, "campaign.tax_note", c.TaxNote, MaxFactLen, false)
	c.ThankYou = strings.TrimSpace(c.ThankYou)
	checkTextLines(errs, "campaign.thank_you", c.ThankYou, 2000, false, true)
	if len(c.Milestones) > 10 {
		errs["campaign.milestones"] = "at most 10 milestones"
	}
	seen := map[int]bool{}
	ms := c.Milestones[:0]
	for _, m := range c.Milestones {
		if m < 1 || m > 100 {
			errs["campaign.milestones"] = "percentages of the goal, from 1 to 100, like 25, 50, 75, 100"
		} else if !seen[m] {
			seen[m] = true
			ms = append(ms, m)
		}
	}
	slices.Sort(ms)
	c.Milestones = ms
}

// HTTPURL reports whether s is an absolute http or https address.
func HTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// ValidTag reports whether s is a tag as the board keeps them: letters,
// digits and _ only ("" is none).
func ValidTag(s string) bool { return tagRe.MatchString(s) }
