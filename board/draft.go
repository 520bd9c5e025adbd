package board

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
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

// DraftOf returns the editable part of a, for partial edits. Every
// pointer and slice is a copy, down to the times: a partial edit (PATCH)
// decodes JSON into the draft, and encoding/json writes through a pointer
// it finds, so a shared one would change a as well, and a's changes
// (Changes, a follow-up's "New end") would then see none.
func DraftOf(a Announcement) Draft {
	call := a.Call
	if call != nil {
		c := *call
		c.Roles = slices.Clone(c.Roles)
		c.Taken, c.Voters = nil, 0 // counts are not the editor's to write
		c.Deadline, c.ClosedFor = copyTime(c.Deadline), copyTime(c.ClosedFor)
		call = &c
	}
	var ev *Event
	if a.Event != nil {
		e := *a.Event
		e.End = copyTime(e.End)
		ev = &e
	}
	var out *Outage
	if a.Outage != nil {
		o := *a.Outage
		o.Until, o.Resolved = copyTime(o.Until), copyTime(o.Resolved)
		out = &o
	}
	var camp *Campaign
	if a.Campaign != nil {
		c := *a.Campaign
		c.Deadline, c.Ended, c.Counted = copyTime(c.Deadline), copyTime(c.Ended), copyTime(c.Counted)
		c.Milestones, c.Reached = slices.Clone(c.Milestones), slices.Clone(c.Reached)
		if c.SourceProblem != nil {
			sp := *c.SourceProblem
			sp.Args = slices.Clone(sp.Args)
			c.SourceProblem = &sp
		}
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
	errs := Problems{}
	d.Title = norm.NFC.String(strings.TrimSpace(d.Title)) // one spelling of "é", whatever the keyboard sent
	d.Body = strings.TrimSpace(d.Body)
	d.ContentWarning = strings.TrimSpace(d.ContentWarning)
	d.Language = strings.TrimSpace(d.Language)
	if d.Kind == "" {
		d.Kind = KindNews
	}
	if !slices.Contains(Kinds(), d.Kind) {
		errs["kind"] = Problemf("problem.unknown_kind", string(d.Kind))
	}
	CheckText(errs, "title", d.Title, MaxTitle, true)
	checkTextLines(errs, "body", d.Body, MaxBody, false, true)
	CheckText(errs, "content_warning", d.ContentWarning, MaxCW, false)
	if d.Language != "" && !langRe.MatchString(d.Language) {
		errs["language"] = Problemf("problem.language")
	}
	if len(d.Tags) > MaxTags {
		errs["tags"] = Problemf("problem.too_many_tags", MaxTags)
	}
	seen := map[string]bool{}
	tags := []string{}
	for _, t := range d.Tags {
		t = strings.TrimPrefix(strings.TrimSpace(t), "#")
		switch {
		case t == "":
			continue
		case len(t) > MaxTagLen || !tagRe.MatchString(t):
			errs["tags"] = Problemf("problem.tag", t, MaxTagLen)
		case !strings.ContainsFunc(t, unicode.IsLetter):
			// Mastodon's tag rule needs a letter (app/models/tag.rb,
			// HASHTAG_NAME_RE): "#2026" would be dropped there.
			errs["tags"] = Problemf("problem.tag_letter", t)
		case !seen[strings.ToLower(t)]:
			seen[strings.ToLower(t)] = true
			tags = append(tags, t)
		}
	}
	d.Tags = tags
	// Details belong to one kind: a block for another kind is a mistake the
	// editor should hear about rather than have silently dropped.
	if d.Event != nil && d.Kind != KindEvent && d.Kind != KindTraining {
		errs["event"] = Problemf("problem.details_of", "event")
	}
	if d.Call != nil && d.Kind != KindCall && d.Kind != KindTraining {
		errs["call"] = Problemf("problem.details_of", "call")
	}
	if d.Training != nil && d.Kind != KindTraining {
		errs["training"] = Problemf("problem.details_of", "training")
	}
	if d.Outage != nil && d.Kind != KindOutage {
		errs["outage"] = Problemf("problem.details_of", "outage")
	}
	if d.Campaign != nil && d.Kind != KindCampaign {
		errs["campaign"] = Problemf("problem.details_of", "campaign")
	}
	if len(d.Images) > MaxImages {
		errs["images"] = Problemf("problem.too_many_images", MaxImages)
	}
	for i := range d.Images {
		im := &d.Images[i]
		im.ID, im.Alt = strings.TrimSpace(im.ID), strings.TrimSpace(im.Alt)
		key := fmt.Sprintf("images[%d]", i)
		switch {
		case im.ID == "":
			errs[key+".id"] = Problemf("problem.image_id")
		case im.Decorative && im.Alt != "":
			errs[key+".alt"] = Problemf("problem.decorative_alt")
		case !im.Decorative && im.Alt == "":
			errs[key+".alt"] = Problemf("problem.alt_missing")
		default:
			checkTextLines(errs, key+".alt", im.Alt, MaxAlt, false, true)
		}
	}
	if d.PublishAt != nil && d.ExpiresAt != nil && !d.ExpiresAt.After(*d.PublishAt) {
		errs["expires_at"] = Problemf("problem.expires_before_publish")
	}
	switch d.Kind {
	case KindEvent:
		checkEvent(errs, d.Event)
	case KindCall:
		checkCall(errs, d.Call, d.KeepDraft)
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
func CheckText(errs Problems, field, s string, max int, required bool) {
	checkTextLines(errs, field, s, max, required, false)
}

// hidden reports a character a one-line text must not hold: one that
// shows nothing (a format character such as U+200B, U+200E, U+061C or
// U+FEFF) or breaks the line where none may be (U+2028, U+2029). The zero
// width joiner stays: emoji sequences are made with it.
func hidden(r rune) bool {
	return r != '\u200D' && (unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r))
}

func checkTextLines(errs Problems, field, s string, max int, required, multiline bool) {
	switch {
	case required && s == "":
		errs[field] = Problemf("problem.required")
	case !utf8.ValidString(s):
		errs[field] = Problemf("problem.utf8")
	case utf8.RuneCountInString(s) > max:
		errs[field] = Problemf("problem.too_long", utf8.RuneCountInString(s), max)
	case strings.IndexFunc(s, func(r rune) bool {
		return unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t' || r == '\r'))
	}) >= 0:
		if multiline {
			errs[field] = Problemf("problem.control_chars")
		} else {
			errs[field] = Problemf("problem.one_line")
		}
	case strings.IndexFunc(s, func(r rune) bool {
		return r == '\u202D' || r == '\u202E' || (!multiline && (r >= '\u202A' && r <= '\u202C' || r >= '\u2066' && r <= '\u2069'))
	}) >= 0:
		errs[field] = Problemf("problem.bidi")
	case !multiline && strings.IndexFunc(s, hidden) >= 0:
		// "cook" and "co\u200bok" would be two roles that read the same.
		i := strings.IndexFunc(s, hidden)
		r, _ := utf8.DecodeRuneInString(s[i:])
		errs[field] = Problemf("problem.hidden_char", fmt.Sprintf("U+%04X", r), utf8.RuneCountInString(s[:i])+1)
	case s != "" && strings.IndexFunc(s, visible) < 0:
		if required {
			errs[field] = Problemf("problem.invisible_required")
		} else {
			errs[field] = Problemf("problem.invisible")
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

func checkEvent(errs Problems, e *Event) {
	if e == nil {
		errs["event"] = Problemf("problem.event_missing")
		return
	}
	if e.Start.IsZero() {
		errs["event.start"] = Problemf("problem.time_required")
	}
	if e.End != nil && e.End.Before(e.Start) {
		errs["event.end"] = Problemf("problem.not_before", Problemf("editor.f.start"))
	}
	e.Place = strings.TrimSpace(e.Place)
	CheckText(errs, "event.place", e.Place, MaxFactLen, false)
	if e.URL != "" && !HTTPURL(e.URL) {
		errs["event.url"] = Problemf("problem.http_url")
	}
}

// checkCall checks a call's details; a draft may still lack its contact
// (how to answer is often settled last), which its publication asks for.
func checkCall(errs Problems, c *Call, draft bool) {
	if c == nil {
		errs["call"] = Problemf("problem.call_missing")
		return
	}
	c.Taken, c.Voters = nil, 0 // counted from the sign-ups
	seen := map[string]bool{}
	for i := range c.Roles {
		// Names are compared, and votes matched, as NFC: "é" typed two ways
		// is one role.
		c.Roles[i].Name = norm.NFC.String(strings.TrimSpace(c.Roles[i].Name))
		name := c.Roles[i].Name
		if seen[strings.ToLower(name)] && name != "" {
			errs[fmt.Sprintf("call.roles[%d].name", i)] = Problemf("problem.twice", name)
		}
		seen[strings.ToLower(name)] = true
	}
	if len(c.Roles) == 0 {
		errs["call.roles"] = Problemf("problem.no_roles")
	}
	if len(c.Roles) > MaxRoles {
		errs["call.roles"] = Problemf("problem.too_many_roles", MaxRoles)
	}
	for i := range c.Roles {
		r := &c.Roles[i]
		r.Name = strings.TrimSpace(r.Name)
		key := fmt.Sprintf("call.roles[%d]", i)
		CheckText(errs, key+".name", r.Name, 100, true)
		if r.Places < 1 || r.Places > 10000 {
			errs[key+".places"] = Problemf("problem.between", 1, 10000)
		}
	}
	c.Contact = strings.TrimSpace(c.Contact)
	if c.Contact == "" && !draft {
		errs["call.contact"] = Problemf("problem.contact")
	}
	CheckText(errs, "call.contact", c.Contact, MaxFactLen, false)
}

// checkTraining checks a training's details and derives its sign-ups:
// one option, as many places as seats, open until it starts. Only the
// editor's closing of registrations is kept from a call block sent with it.
func checkTraining(errs Problems, d *Draft) {
	t := d.Training
	if t == nil {
		errs["training"] = Problemf("problem.training_missing")
		return
	}
	t.Online, t.Level, t.Bring = strings.TrimSpace(t.Online), strings.TrimSpace(t.Level), strings.TrimSpace(t.Bring)
	if t.Online != "" && !HTTPURL(t.Online) {
		errs["training.online"] = Problemf("problem.online")
	}
	CheckText(errs, "training.level", t.Level, MaxFactLen, false)
	CheckText(errs, "training.bring", t.Bring, MaxFactLen, false)
	if t.Seats < 1 || t.Seats > 10000 {
		errs["training.seats"] = Problemf("problem.seats")
	}
	closed := d.Call != nil && d.Call.Closed
	var closedFor *time.Time
	if d.Call != nil {
		closedFor = d.Call.ClosedFor
	}
	d.Call = &Call{Roles: []Role{{Name: TrainingRole, Places: t.Seats}}, Waitlist: t.Waitlist, Closed: closed, ClosedFor: closedFor}
	if d.Event != nil && !d.Event.Start.IsZero() {
		start := d.Event.Start
		d.Call.Deadline = &start
	}
}

func checkOutage(errs Problems, o *Outage) {
	if o == nil {
		errs["outage"] = Problemf("problem.outage_missing")
		return
	}
	o.Service = strings.TrimSpace(o.Service)
	if o.Service == "" {
		errs["outage.service"] = Problemf("problem.required")
	}
	CheckText(errs, "outage.service", o.Service, MaxFactLen, false)
	if o.From.IsZero() {
		errs["outage.from"] = Problemf("problem.time_required")
	}
	if o.Until != nil && o.Until.Before(o.From) {
		errs["outage.until"] = Problemf("problem.not_before", Problemf("editor.f.from"))
	}
	if o.Resolved != nil && o.Resolved.Before(o.From) {
		errs["outage.resolved"] = Problemf("problem.not_before", Problemf("editor.f.from"))
	}
}

var currencyRe = regexp.MustCompile(`^[A-Z]{3}$`)

func checkCampaign(errs Problems, c *Campaign) {
	if c == nil {
		errs["campaign"] = Problemf("problem.campaign_missing")
		return
	}
	c.Currency = strings.ToUpper(strings.TrimSpace(c.Currency))
	if c.Currency == "" {
		c.Currency = "EUR"
	}
	if !currencyRe.MatchString(c.Currency) {
		errs["campaign.currency"] = Problemf("problem.currency")
	}
	if c.Goal <= 0 || c.Goal > 1e12 {
		errs["campaign.goal"] = Problemf("problem.goal")
	}
	if c.Raised < 0 || c.Raised > 1e12 {
		errs["campaign.raised"] = Problemf("problem.not_negative")
	}
	switch c.Per {
	case "", PerWeek, PerMonth:
	default:
		errs["campaign.per"] = Problemf("problem.campaign_per")
	}
	if c.Patrons < 0 {
		errs["campaign.patrons"] = Problemf("problem.not_negative")
	}
	c.Link, c.TaxNote = strings.TrimSpace(c.Link), strings.TrimSpace(c.TaxNote)
	if !HTTPURL(c.Link) {
		errs["campaign.link"] = Problemf("problem.give_link")
	}
	CheckText(errs, "campaign.tax_note", c.TaxNote, MaxFactLen, false)
	c.ThankYou = strings.TrimSpace(c.ThankYou)
	checkTextLines(errs, "campaign.thank_you", c.ThankYou, 2000, false, true)
	if len(c.Milestones) > 10 {
		errs["campaign.milestones"] = Problemf("problem.too_many_milestones", 10)
	}
	seen := map[int]bool{}
	ms := c.Milestones[:0]
	for _, m := range c.Milestones {
		if m < 1 || m > 100 {
			errs["campaign.milestones"] = Problemf("problem.milestones")
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

// ParseAmount reads an amount of money as people write it in French or
// English: "1240", "1 240", "1,240", "1.240", "1 240,50", "1,240.50". A
// separator followed by exactly three digits groups thousands; by one or
// two, it starts the cents (an amount has no thousandths), so "1,240" is
// never read as 1.24.
func ParseAmount(s string) (float64, error) {
	s = strings.NewReplacer(" ", "", "\u00a0", "", "\u202f", "", "\u2009", "", "'", "", "’", "").Replace(strings.TrimSpace(s))
	dec := strings.LastIndexAny(s, ".,")
	if dec >= 0 {
		sep := s[dec]
		switch other := strings.Trim(".,", string(sep)); {
		case strings.Contains(s[:dec], other) && !strings.ContainsRune(s[:dec], rune(sep)):
			// "1,240.50", "1.240,50": the other mark groups thousands.
			s = strings.ReplaceAll(s[:dec], other, "") + "." + s[dec+1:]
		case strings.Count(s, string(sep)) > 1 || len(s)-dec-1 == 3:
			// "1,240,000", "1,240": thousands.
			s = strings.ReplaceAll(s, string(sep), "")
		case len(s)-dec-1 <= 2:
			s = s[:dec] + "." + s[dec+1:]
		default:
			return 0, fmt.Errorf("not an amount: %q", s)
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || strings.ContainsAny(s, "eEnN+-") {
		return 0, fmt.Errorf("not an amount: %q", s)
	}
	return v, nil
}
