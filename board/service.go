package board

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/microcosm-cc/bluemonday"

	"crieur/board/media"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
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
	checkText(errs, "title", d.Title, MaxTitle, true)
	checkTextLines(errs, "body", d.Body, MaxBody, false, true)
	checkText(errs, "content_warning", d.ContentWarning, MaxCW, false)
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

// checkText is the one check of every text field an editor writes. A
// one-line field (everything but the body) takes no control characters at
// all and no bidirectional controls, which can make a text read as another;
// the body keeps newlines and tabs, and loses only the overrides.
func checkText(errs map[string]string, field, s string, max int, required bool) {
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
	checkText(errs, "event.place", e.Place, MaxFactLen, false)
	if e.URL != "" && !httpURL(e.URL) {
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
		checkText(errs, key+".name", r.Name, 100, true)
		if r.Places < 1 || r.Places > 10000 {
			errs[key+".places"] = "must be between 1 and 10000"
		}
	}
	c.Contact = strings.TrimSpace(c.Contact)
	if c.Contact == "" {
		errs["call.contact"] = "say how to answer: an email address, a link or a person to ask"
	}
	checkText(errs, "call.contact", c.Contact, MaxFactLen, false)
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
	if t.Online != "" && !httpURL(t.Online) {
		errs["training.online"] = "the link to join online, starting with https://"
	}
	checkText(errs, "training.level", t.Level, MaxFactLen, false)
	checkText(errs, "training.bring", t.Bring, MaxFactLen, false)
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
	checkText(errs, "outage.service", o.Service, MaxFactLen, false)
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
	if !httpURL(c.Link) {
		errs["campaign.link"] = "the page where people give, starting with https://"
	}
	checkText(errs, "campaign.tax_note", c.TaxNote, MaxFactLen, false)
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

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// EscapeMarkdown keeps a plain text (a fact, a title) as written when it
// goes through a Markdown renderer, Crieur's own or Mattermost's: no
// emphasis, link, heading, table or raw HTML made of its characters.
func EscapeMarkdown(s string) string {
	return strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`, "#", `\#`, "~", `\~`, "|", `\|`, "<", `\<`, ">", `\>`).Replace(s)
}

// Renderer turns an editor's Markdown into HTML safe to store and show.
type Renderer struct {
	md     goldmark.Markdown
	policy *bluemonday.Policy
}

// NewRenderer builds the Markdown pipeline. Raw HTML in Markdown is escaped
// by goldmark; bluemonday then keeps only the tags Mastodon and Matrix
// clients display, so what is stored is safe wherever it is shown.
func NewRenderer() *Renderer {
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "strong", "em", "b", "i", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "hr")
	p.AllowAttrs("href").OnElements("a")
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireParseableURLs(true)
	p.RequireNoFollowOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	p.AllowAttrs("start").Matching(regexp.MustCompile(`^[0-9]+$`)).OnElements("ol")
	return &Renderer{
		md: goldmark.New(goldmark.WithExtensions(extension.Linkify, extension.Strikethrough),
			goldmark.WithRendererOptions(renderer.WithNodeRenderers(util.Prioritized(imageAsLink{}, 100)))),
		policy: p,
	}
}

// imageAsLink renders ![description](url) as a link with the description
// as its text. No destination shows pictures from inside a text (they
// would load from anywhere, without size or blurhash), and dropping the
// tag would drop the words with it; the editor is told (InlineImages).
type imageAsLink struct{}

func (imageAsLink) RegisterFuncs(r renderer.NodeRendererFuncRegisterer) {
	r.Register(ast.KindImage, func(w util.BufWriter, source []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkSkipChildren, nil
		}
		img := n.(*ast.Image)
		text := strings.TrimSpace(nodeText(img, source))
		if text == "" {
			text = string(img.Destination)
		}
		_, _ = w.WriteString(`<a href="` + string(util.EscapeHTML(util.URLEscape(img.Destination, true))) + `">` + string(util.EscapeHTML([]byte(text))) + `</a>`)
		return ast.WalkSkipChildren, nil
	})
}

// nodeText is the words inside a node (an image's description).
func nodeText(n ast.Node, source []byte) string {
	var b strings.Builder
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch t := c.(type) {
		case *ast.Text:
			b.Write(t.Segment.Value(source))
			if t.SoftLineBreak() || t.HardLineBreak() {
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(t.Value)
		default:
			b.WriteString(nodeText(c, source))
		}
	}
	return b.String()
}

// InlineImages counts the pictures written into a Markdown text.
func (r *Renderer) InlineImages(markdown string) int {
	doc := r.md.Parser().Parse(text.NewReader([]byte(markdown)))
	n := 0
	_ = ast.Walk(doc, func(node ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering && node.Kind() == ast.KindImage {
			n++
		}
		return ast.WalkContinue, nil
	})
	return n
}

// HTML renders markdown to sanitised HTML.
func (r *Renderer) HTML(markdown string) (string, error) {
	var buf bytes.Buffer
	if err := r.md.Convert([]byte(markdown), &buf); err != nil {
		return "", fmt.Errorf("render markdown: %w", err)
	}
	return strings.TrimSpace(r.policy.Sanitize(buf.String())), nil
}

// Checker is a destination that can tell, before it sends, what it will
// show differently from the announcement (a Matrix room's size limit).
type Checker interface {
	Check(ctx context.Context, b Board, a Announcement) []string
}

// Service validates, stores and publishes announcements.
type Service struct {
	store      *Store
	render     *Renderer
	now        func() time.Time
	onOutbox   func()
	checkers   []Checker
	previewers []Previewer
	followers  FollowerNotifier
	promotions PromotionNotifier
	trainings  TrainingNotifier
	links      Links
	zone       string // new boards' time zone
	wake       chan struct{}
	media      media.Dir
	// progressGap spaces the Updates a campaign's progress sends.
	progressGap time.Duration
}

// SetProgressGap is the least time between two Updates of one campaign's
// progress: every gift is on the page at once, but followers and rooms
// get at most one edit per gap.
func (s *Service) SetProgressGap(d time.Duration) {
	if d > 0 {
		s.progressGap = d
	}
}

// SetRaised records what a campaign has raised. The page shows it at once;
// followers and rooms get a spaced Update; reaching the goal ends the
// campaign's place at the top.
func (s *Service) SetRaised(ctx context.Context, b Board, id int64, raised float64) (Announcement, error) {
	if err := publishersOnly(ctx, "change what a campaign raised"); err != nil {
		return Announcement{}, err
	}
	if raised < 0 || raised > 1e12 {
		return Announcement{}, &ValidationError{Fields: map[string]string{"raised": "must be 0 or more"}}
	}
	before, err := s.store.Announcement(ctx, b.ID, id)
	if err != nil {
		return before, err
	}
	a, err := s.store.setRaised(ctx, b.ID, id, raised, s.progressGap, s.now().UTC())
	if err != nil {
		return a, err
	}
	s.notify()
	if before.Campaign != nil && a.Public() {
		if err := s.announceMilestones(ctx, b, a, before.Campaign.Percent()); err != nil {
			return a, err
		}
	}
	if a.Pinned && a.Campaign.Over(s.now()) {
		if _, err := s.store.setPinned(ctx, b.ID, id, false, s.now().UTC()); err != nil {
			return a, err
		}
		s.notify()
		if err := s.thank(ctx, b, a); err != nil {
			return a, err
		}
	}
	return s.store.Announcement(ctx, b.ID, id)
}

// announceMilestones posts a short thanks for each milestone the total
// passed since it was at percent (once each: the idempotency key and
// Reached see to that).
func (s *Service) announceMilestones(ctx context.Context, b Board, a Announcement, percent int) error {
	c := a.Campaign
	l := localeOf(b.Language)
	for _, m := range c.Milestones {
		if percent >= m || c.Percent() < m || slices.Contains(c.Reached, m) {
			continue
		}
		title := l.T("%d %% of the goal for “%s”: thank you!", m, a.Title)
		if m == 100 {
			title = l.T("Goal reached for “%s”: thank you!", a.Title)
		}
		facts := a.FactsIn(l)
		body := fmt.Sprintf("%s: %s\n\n%s: %s", facts[0].Label, facts[0].Value, l.Label("Give"), c.Link)
		// The key makes a repeat (a lost bookkeeping write) a no-op.
		if _, _, err := s.Create(ctx, b, Draft{Title: title, Body: body, Language: a.Language}, fmt.Sprintf("milestone:%d:%d", a.ID, m)); err != nil && !errors.Is(err, ErrIdempotencyConflict) {
			return fmt.Errorf("milestone post: %w", err)
		}
		if err := s.store.updateDetails(ctx, b.ID, a.ID, "record the campaign's milestones", func(a *Announcement) {
			if a.Campaign != nil {
				a.Campaign.Reached = append(a.Campaign.Reached, m)
			}
		}); err != nil {
			return err
		}
	}
	return nil
}

// thank posts a campaign's thank-you, once, when it has one.
func (s *Service) thank(ctx context.Context, b Board, a Announcement) error {
	c := a.Campaign
	if c == nil || c.ThankYou == "" || c.Thanked {
		return nil
	}
	l := localeOf(b.Language)
	if _, _, err := s.Create(ctx, b, Draft{Title: l.T("Thank you: %s", a.Title), Body: c.ThankYou, Language: a.Language}, fmt.Sprintf("thanks:%d", a.ID)); err != nil && !errors.Is(err, ErrIdempotencyConflict) {
		return fmt.Errorf("thank-you post: %w", err)
	}
	return s.store.updateDetails(ctx, b.ID, a.ID, "record the thank-you", func(a *Announcement) {
		if a.Campaign != nil {
			a.Campaign.Thanked = true
		}
	})
}

// pinRunningCampaign features a campaign while it runs, from its
// publication.
func (s *Service) pinRunningCampaign(ctx context.Context, b Board, a Announcement) error {
	if a.Kind != KindCampaign || a.Campaign == nil || a.Status != StatusPublished || a.Campaign.Over(s.now()) {
		return nil
	}
	if _, err := s.store.setPinned(ctx, b.ID, a.ID, true, s.now().UTC()); err != nil {
		return err
	}
	s.notify()
	return nil
}

// endCampaigns stops featuring campaigns whose deadline passed or whose
// goal was reached (checked by the scheduler, so across restarts too).
func (s *Service) endCampaigns(ctx context.Context) error {
	pinned, err := s.store.pinnedCampaigns(ctx)
	if err != nil {
		return err
	}
	for _, d := range pinned {
		a, err := s.store.Announcement(ctx, d.BoardID, d.ID)
		if err != nil || a.Campaign == nil || !a.Campaign.Over(s.now()) {
			continue
		}
		if _, err := s.store.setPinned(ctx, d.BoardID, d.ID, false, s.now().UTC()); err != nil {
			return err
		}
		s.notify()
		if b, err := s.store.BoardByID(ctx, d.BoardID); err == nil {
			if err := s.thank(ctx, b, a); err != nil {
				return err
			}
		}
	}
	return nil
}

// SetDefaultTimeZone is the zone new boards start in: the server's, so an
// association's machine in Paris makes Paris boards.
func (s *Service) SetDefaultTimeZone(name string) {
	if ValidTimeZone(name) {
		s.zone = name
	}
}

// AddChecker lets a destination warn editors about what it will change.
func (s *Service) AddChecker(c Checker) { s.checkers = append(s.checkers, c) }

// Warnings collects what destinations will show differently from a.
func (s *Service) Warnings(ctx context.Context, b Board, a Announcement) []string {
	var out []string
	if n := s.render.InlineImages(a.Body); n > 0 {
		out = append(out, fmt.Sprintf("The text has %d %s written as ![description](address): readers see the description as a link, not the picture. To show a picture, add it as an image with its description.",
			n, plural(n, "picture", "pictures")))
	}
	for _, c := range s.checkers {
		out = append(out, c.Check(ctx, b, a)...)
	}
	return out
}

// NewService returns a service on store. onOutbox, if not nil, is called
// after every commit that wrote an outbox row, so the dispatcher need not poll.
func NewService(store *Store, onOutbox func()) *Service {
	return &Service{store: store, render: NewRenderer(), now: time.Now, onOutbox: onOutbox, wake: make(chan struct{}, 1), progressGap: 2 * time.Minute}
}

// wakeScheduler has the scheduler look again when a has a time to keep.
func (s *Service) wakeScheduler(a Announcement) {
	if a.Status == StatusScheduled || a.ExpiresAt != nil || a.Training != nil && a.Training.Reminder {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// RunScheduler publishes scheduled announcements and withdraws expiring
// ones on time, until ctx ends. The times are in the store, so a restart
// catches up on whatever fell due while the server was down.
func (s *Service) RunScheduler(ctx context.Context, log *slog.Logger) {
	for {
		wait := time.Minute // a safety net: every change wakes it
		if err := s.PublishDue(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			log.ErrorContext(ctx, "scheduler", "err", err)
			wait = 30 * time.Second // not a busy loop on a persistent failure
		} else if next, ok, err := s.store.nextDue(ctx); err == nil && ok {
			wait = min(wait, max(time.Until(next), 0)+10*time.Millisecond)
		}
		if next, ok, err := s.nextReminder(ctx); err == nil && ok {
			wait = min(wait, max(time.Until(next), 0)+10*time.Millisecond)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-s.wake:
			t.Stop()
		}
	}
}

// PublishDue publishes every scheduled announcement whose time has come
// and withdraws every published one past its expiry.
func (s *Service) PublishDue(ctx context.Context) error {
	for {
		due, err := s.store.dueAnnouncements(ctx, s.now(), 100)
		if err != nil {
			return fmt.Errorf("find due announcements: %w", err)
		}
		var errs []error
		for _, d := range due {
			b, err := s.store.BoardByID(ctx, d.BoardID)
			if err == nil {
				// An edit that changes nothing but the time: the status
				// follows the clock.
				_, err = s.Update(ctx, b, d.ID, func(*Draft) error { return nil })
			}
			if err != nil && !errors.Is(err, ErrGone) {
				errs = append(errs, fmt.Errorf("announcement %d: %w", d.ID, err))
			}
		}
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		if len(due) < 100 {
			return errors.Join(s.endCampaigns(ctx), s.remindTrainings(ctx))
		}
	}
}

// Store gives read access to the service's store.
func (s *Service) Store() *Store { return s.store }

func (s *Service) notify() {
	if s.onOutbox != nil {
		s.onOutbox()
	}
}

// EnsureBoard creates the board name with a fresh RSA-2048 key pair unless
// it exists; created says which.
func (s *Service) EnsureBoard(ctx context.Context, name, displayName string) (b Board, created bool, err error) {
	b, err = s.store.BoardByName(ctx, name)
	if err == nil {
		return b, false, nil
	}
	if err != ErrNotFound {
		return b, false, err
	}
	// 2048 bits: Mastodon verifies nothing else, and larger keys make every
	// delivery's signature slower.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return b, false, fmt.Errorf("generate key for board %q: %w", name, err)
	}
	priv := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: mustPKCS8(key)})
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return b, false, err
	}
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	if displayName == "" {
		displayName = name
	}
	b, err = s.store.CreateBoard(ctx, Board{Name: name, DisplayName: displayName, PrivateKeyPEM: string(priv), PublicKeyPEM: string(pub), CreatedAt: s.now().UTC(), TimeZone: s.zone})
	return b, err == nil, err
}

func mustPKCS8(key *rsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic(err) // only fails for unknown key types
	}
	return der
}

func (s *Service) build(ctx context.Context, boardID int64, d Draft, a *Announcement) error {
	if err := d.Normalize(); err != nil {
		return err
	}
	images := make([]Image, 0, len(d.Images))
	for i, im := range d.Images {
		stored, err := s.store.Media(ctx, boardID, im.ID)
		if errors.Is(err, ErrNotFound) {
			return &ValidationError{Fields: map[string]string{fmt.Sprintf("images[%d].id", i): fmt.Sprintf("no picture %q was uploaded to this board; upload it first (POST .../media)", im.ID)}}
		}
		if err != nil {
			return err
		}
		stored.Alt, stored.Decorative = im.Alt, im.Decorative
		images = append(images, stored)
	}
	if len(images) == 0 {
		images = nil
	}
	html, err := s.render.HTML(d.Body)
	if err != nil {
		return err
	}
	a.Kind, a.Title, a.Body, a.HTML, a.Tags = d.Kind, d.Title, d.Body, html, d.Tags
	a.ContentWarning, a.Language, a.Event, a.Call, a.Outage, a.Campaign = d.ContentWarning, d.Language, d.Event, d.Call, d.Outage, d.Campaign
	a.Training = d.Training
	a.PublishAt, a.ExpiresAt, a.Images = d.PublishAt, d.ExpiresAt, images
	return nil
}

// nextStatus is where an announcement goes when it is saved as d at now,
// coming from status from (empty: a new one). A published announcement
// cannot go back to being a draft: followers have it.
func nextStatus(from Status, d Draft, now time.Time) (Status, error) {
	if unpublished(from) {
		switch {
		case d.KeepDraft:
			return StatusDraft, nil
		case d.PublishAt != nil && d.PublishAt.After(now):
			return StatusScheduled, nil
		case d.ExpiresAt != nil && !d.ExpiresAt.After(now):
			// Its whole life passed while the server was down: it
			// ends without ever being sent.
			return StatusExpired, nil
		}
		return StatusPublished, nil
	}
	if d.KeepDraft {
		return from, &ValidationError{Fields: map[string]string{"draft": "this announcement is already published; followers have it, so it cannot become a draft again (delete it to withdraw it)"}}
	}
	if d.ExpiresAt != nil && !d.ExpiresAt.After(now) {
		return StatusExpired, nil
	}
	return StatusPublished, nil
}

// checkTimes refuses times that would be silently meaningless: an expiry
// already past when it is set, a new publication time for what is out.
func checkTimes(old *Announcement, d Draft, now time.Time) error {
	errs := map[string]string{}
	changed := func(o, n *time.Time) bool { return n != nil && (o == nil || !o.Equal(*n)) }
	var oldPublish, oldExpires *time.Time
	if old != nil {
		oldPublish, oldExpires = old.PublishAt, old.ExpiresAt
	}
	if changed(oldExpires, d.ExpiresAt) && !d.ExpiresAt.After(now) {
		errs["expires_at"] = "is already past; give a later time, or none"
	}
	if old != nil && old.Public() && changed(oldPublish, d.PublishAt) {
		errs["publish_at"] = "this announcement is already published; it cannot be scheduled again"
	}
	if len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	return nil
}

// Create validates d and saves it on the board: published at once, kept
// as a draft, or scheduled for d.PublishAt. With an idempotency key, a
// repeat of the same request returns the first announcement (replayed
// true) instead of creating another; a different request with the same key
// fails with ErrIdempotencyConflict.
func (s *Service) Create(ctx context.Context, b Board, d Draft, idemKey string) (a Announcement, replayed bool, err error) {
	if d.Training != nil {
		t := *d.Training
		t.RemindedFor = nil // Crieur's bookkeeping, not the editor's
		d.Training = &t
	}
	if err := s.build(ctx, b.ID, d, &a); err != nil {
		return a, false, err
	}
	reqHash := ""
	if idemKey != "" {
		raw, _ := json.Marshal(d)
		sum := sha256.Sum256(raw)
		reqHash = hex.EncodeToString(sum[:])
	}
	now := s.now().UTC().Truncate(time.Millisecond) // as stored
	if err := checkTimes(nil, d, now); err != nil {
		return a, false, err
	}
	if a.Status, err = nextStatus("", d, now); err != nil {
		return a, false, err
	}
	if err := gate(ctx, b, "", &a, false); err != nil {
		return a, false, err
	}
	verb := VerbCreate
	if a.Status != StatusPublished {
		verb = ""
	}
	a.Board, a.Version, a.CreatedAt, a.UpdatedAt = b.Name, 1, now, now
	existing, err := s.store.insertAnnouncement(ctx, b.ID, &a, idemKey, reqHash, verb)
	if err != nil {
		return a, false, err
	}
	if existing != 0 {
		a, err = s.store.Announcement(ctx, b.ID, existing)
		return a, true, err
	}
	if verb != "" {
		s.notify()
	}
	s.wakeScheduler(a)
	if err := s.pinRunningCampaign(ctx, b, a); err != nil {
		return a, false, err
	}
	if a.Kind == KindCampaign {
		a, err = s.store.Announcement(ctx, b.ID, a.ID)
	}
	return a, false, err
}

// Update applies edit to the current draft of announcement id and saves
// it: a draft stays a draft (sent nowhere) until an edit publishes or
// schedules it; a published one is sent again as an Update when what
// readers see changed.
func (s *Service) Update(ctx context.Context, b Board, id int64, edit func(*Draft) error) (Announcement, error) {
	return s.update(ctx, b, id, edit, false)
}

func (s *Service) update(ctx context.Context, b Board, id int64, edit func(*Draft) error, approving bool) (Announcement, error) {
	a, err := s.store.Announcement(ctx, b.ID, id)
	if err != nil {
		return a, err
	}
	if a.DeletedAt != nil {
		return a, ErrGone
	}
	// Taken before the edit, which may change the draft's details in place.
	before, _ := json.Marshal(DraftOf(a))
	seen := readerView(a)
	d := DraftOf(a)
	if err := edit(&d); err != nil {
		return a, err
	}
	var old Draft // a deep copy: the edit may have changed a's details
	if json.Unmarshal(before, &old) == nil {
		keepInstants(old, &d)
	}
	if d.Training != nil {
		// Crieur's bookkeeping, whatever the edit sent: a reminder sent
		// for this start is not sent again.
		t := *d.Training
		t.RemindedFor = nil
		if old.Training != nil {
			t.RemindedFor = old.Training.RemindedFor
		}
		d.Training = &t
	}
	prev, prevStatus, prevUpdated := a.Version, a.Status, a.UpdatedAt
	oldCall := a.Call
	oldA := a
	oldA.PublishAt, oldA.ExpiresAt = old.PublishAt, old.ExpiresAt
	if err := s.build(ctx, b.ID, d, &a); err != nil {
		return a, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	if err := checkTimes(&oldA, d, now); err != nil {
		return a, err
	}
	if a.Status, err = nextStatus(prevStatus, d, now); err != nil {
		return a, err
	}
	if err := gate(ctx, b, prevStatus, &a, approving); err != nil {
		return a, err
	}
	if err := s.checkDroppedRoles(ctx, id, oldCall, a, d.RemoveRolesWithSignups); err != nil {
		return a, err
	}
	if after, _ := json.Marshal(DraftOf(a)); bytes.Equal(before, after) && a.Status == prevStatus {
		// A save that changes nothing changes nothing: no new version,
		// no Update to followers and rooms.
		return s.store.Announcement(ctx, b.ID, id)
	}
	var verb Verb
	switch {
	case !oldA.Public() && a.Status == StatusPublished:
		// Its first publication: readers see it dated now, as version 1.
		verb, a.CreatedAt = VerbCreate, now
	case oldA.Public() && (a.Status != prevStatus || readerView(a) != seen):
		verb, a.Version = VerbUpdate, prev+1
	}
	// Federation peers compare updated timestamps at the millisecond
	// (Mastodon ignores an Update that is not newer than what it has): an
	// edit in the same millisecond as the post or the last edit must still
	// look newer.
	last := a.UpdatedAt.Truncate(time.Millisecond)
	a.UpdatedAt = now
	if !a.UpdatedAt.After(last) {
		a.UpdatedAt = last.Add(time.Millisecond)
	}
	if verb == VerbCreate {
		a.CreatedAt = a.UpdatedAt
	}
	if err := s.store.updateAnnouncement(ctx, b.ID, &a, prev, prevUpdated, verb, d.FollowUp); err != nil {
		return a, err
	}
	if verb != "" {
		s.notify()
	}
	s.wakeScheduler(a)
	if verb == VerbCreate {
		if err := s.pinRunningCampaign(ctx, b, a); err != nil {
			return a, err
		}
		return s.store.Announcement(ctx, b.ID, a.ID)
	}
	return s.store.withCounts(ctx, a)
}

// readerView is what readers of a published announcement see of it: its
// content, not when it was scheduled or is due to expire.
func readerView(a Announcement) string {
	d := DraftOf(a)
	d.KeepDraft, d.PublishAt, d.ExpiresAt = false, nil, nil
	raw, _ := json.Marshal(d)
	return string(raw)
}

// keepInstants keeps each time as it was written when an edit gives the
// same instant in another offset (a form shows 14:00+01:00 in the editor's
// zone and sends it back): the zone it was given stays, and a save that
// changes nothing is seen as such.
func keepInstants(old Draft, d *Draft) {
	same := func(o, n *time.Time) *time.Time {
		if o != nil && n != nil && o.Equal(*n) {
			return o
		}
		return n
	}
	if old.Event != nil && d.Event != nil {
		d.Event.Start = *same(&old.Event.Start, &d.Event.Start)
		d.Event.End = same(old.Event.End, d.Event.End)
	}
	if old.Call != nil && d.Call != nil {
		d.Call.Deadline = same(old.Call.Deadline, d.Call.Deadline)
	}
	d.PublishAt = same(old.PublishAt, d.PublishAt)
	d.ExpiresAt = same(old.ExpiresAt, d.ExpiresAt)
	if old.Outage != nil && d.Outage != nil {
		d.Outage.From = *same(&old.Outage.From, &d.Outage.From)
		d.Outage.Until = same(old.Outage.Until, d.Outage.Until)
		d.Outage.Resolved = same(old.Outage.Resolved, d.Outage.Resolved)
	}
}

// SetBoard changes a board's display name, summary, language and time
// zone, checked like every text an editor writes.
func (s *Service) SetBoard(ctx context.Context, b Board) (Board, error) {
	b, err := CheckBoard(b)
	if err != nil {
		return b, err
	}
	return b, s.store.UpdateBoard(ctx, b)
}

// CheckBoard tidies a board's settings and says what is wrong with them,
// so a board is not created with settings it would then refuse.
func CheckBoard(b Board) (Board, error) {
	errs := map[string]string{}
	b.DisplayName, b.Summary, b.Language = strings.TrimSpace(b.DisplayName), strings.TrimSpace(b.Summary), strings.TrimSpace(b.Language)
	checkText(errs, "display_name", b.DisplayName, 100, true)
	checkTextLines(errs, "summary", b.Summary, 500, false, true)
	if b.Language != "" && b.Language != "en" && b.Language != "fr" {
		errs["language"] = "the pages speak en or fr"
	}
	b.TimeZone = strings.TrimSpace(b.TimeZone)
	if b.TimeZone != "" && !ValidTimeZone(b.TimeZone) {
		errs["time_zone"] = "an IANA time zone such as Europe/Paris"
	}
	if len(errs) > 0 {
		return b, &ValidationError{Fields: errs, What: "board settings"}
	}
	return b, nil
}

// Pin features announcement id on the board (pin false: stops featuring
// it); followers' servers are told with an Add or Remove.
func (s *Service) Pin(ctx context.Context, b Board, id int64, pin bool) (Announcement, error) {
	if err := publishersOnly(ctx, "pin or unpin"); err != nil {
		return Announcement{}, err
	}
	changed, err := s.store.setPinned(ctx, b.ID, id, pin, s.now().UTC())
	if err != nil {
		return Announcement{}, err
	}
	if changed {
		s.notify()
	}
	return s.store.Announcement(ctx, b.ID, id)
}

// ResolveOutage marks an outage over now: an edit, so followers and rooms
// read "Resolved" with the time.
func (s *Service) ResolveOutage(ctx context.Context, b Board, id int64) (Announcement, error) {
	return s.Update(ctx, b, id, func(d *Draft) error {
		if d.Kind != KindOutage || d.Outage == nil {
			return &ValidationError{Fields: map[string]string{"kind": "only an outage can be marked resolved"}}
		}
		if d.Outage.Resolved == nil {
			now := s.now().In(d.Outage.From.Location()).Truncate(time.Minute)
			d.Outage.Resolved = &now
		}
		return nil
	})
}

// checkDroppedRoles refuses an edit that drops a role people signed up
// for, unless confirmed; sign-ups of roles that remain are kept as they are.
func (s *Service) checkDroppedRoles(ctx context.Context, id int64, old *Call, a Announcement, confirmed bool) error {
	if old == nil || confirmed {
		return nil
	}
	for _, r := range old.Roles {
		if old.Taken[r.Name] == 0 {
			continue
		}
		if a.Call != nil && slices.ContainsFunc(a.Call.Roles, func(n Role) bool { return n.Name == r.Name }) {
			continue
		}
		return &ValidationError{Fields: map[string]string{"call.roles": fmt.Sprintf(
			"%d %s signed up as %q; to remove that role anyway, send \"remove_roles_with_signups\": true",
			old.Taken[r.Name], plural(old.Taken[r.Name], "person", "people"), r.Name)}}
	}
	return nil
}

// Delete removes announcement id and tells every destination.
func (s *Service) Delete(ctx context.Context, b Board, id int64) error {
	if a, err := s.store.Announcement(ctx, b.ID, id); err == nil && a.Status != StatusDraft {
		if err := publishersOnly(ctx, "delete what is "+string(a.Status)); err != nil {
			return err
		}
	}
	if err := s.store.deleteAnnouncement(ctx, b.ID, id, s.now().UTC()); err != nil {
		return err
	}
	s.notify()
	return nil
}
