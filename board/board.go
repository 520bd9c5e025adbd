// Package board is Crieur's domain: boards, announcements and their kinds,
// drafts and their validation, roles, sign-ups, campaigns, trainings,
// moderation, and the Service that decides what happens to them.
//
// It owns the rules and declares the small interfaces it needs (a
// Repository with transactions, Markup, Notices, Pictures, Links, the
// destinations' notifiers); others implement them. It must not import
// net/http, database/sql, templates or a destination, and holds no words
// a reader sees: publishing means writing an outbox row in the same
// transaction as the announcement, which the federation packages pick up.
package board

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Board is one association's notice board, followed as @name@host.
type Board struct {
	ID          int64  `json:"-"`
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	Summary     string `json:"summary"`
	// Language is the default language of the board's pages (en or fr);
	// a visitor's browser may ask for the other.
	Language string `json:"language,omitempty"`
	// TimeZone is the IANA zone its events are held in (Europe/Paris): a
	// calendar shows 14:00 there, daylight saving included. Empty is UTC.
	TimeZone string `json:"time_zone,omitempty"`
	// Approval asks a second publisher to approve every publication: an
	// outage notice to thousands of people is hard to take back.
	Approval  bool      `json:"approval,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// PrivateKeyPEM signs the board's federation requests. It never leaves
	// the store except to sign.
	PrivateKeyPEM string `json:"-"`
	PublicKeyPEM  string `json:"-"`
	// AccentColour is the colour its publishers chose (#rrggbb), empty
	// for one derived from its name; Accent is what pages use.
	AccentColour string `json:"accent,omitempty"`
	// Logo is the name of a picture uploaded to the board: its avatar,
	// favicon and link previews' image when an announcement has none.
	Logo string `json:"logo,omitempty"`
}

// Location is the board's time zone, UTC when it has none.
func (b Board) Location() *time.Location {
	if b.TimeZone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(b.TimeZone)
	if err != nil {
		return time.UTC // checked when set; a zone dropped from tzdata later
	}
	return loc
}

// ValidName reports whether s can be a board's name: it becomes the
// actor's preferredUsername, the local part of @name@host, and a segment
// of the board's addresses.
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > 30 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// ValidTimeZone says whether name is a zone a calendar app knows: an IANA
// name, not "Local", whose meaning depends on the machine.
func ValidTimeZone(name string) bool {
	if name == "" || name == "Local" {
		return false
	}
	_, err := time.LoadLocation(name)
	return err == nil
}

// AccentRGB is the board's colour, always one that white text is readable
// on (WCAG AA, MinContrast): the colour its publishers chose, or else
// one derived from its name (the same everywhere), darkened until white
// text passes. It is the pages' accent and the avatar's background.
func (b Board) AccentRGB() (r, g, bl uint8) {
	if c, ok := ParseColour(b.AccentColour); ok && ContrastWithWhite(c) >= MinContrast {
		return c[0], c[1], c[2]
	}
	h := fnv.New32a()
	h.Write([]byte(b.Name))
	v := h.Sum32()
	c := Darken([3]uint8{uint8(v), uint8(v >> 8), uint8(v >> 16)})
	return c[0], c[1], c[2]
}

// Accent is AccentRGB as a CSS colour (#rrggbb).
func (b Board) Accent() string {
	r, g, bl := b.AccentRGB()
	return Hex([3]uint8{r, g, bl})
}

// Hex writes c as #rrggbb.
func Hex(c [3]uint8) string { return fmt.Sprintf("#%02x%02x%02x", c[0], c[1], c[2]) }

// HasLogo reports whether the board's publishers gave it a logo.
func (b Board) HasLogo() bool { return b.Logo != "" }

// AvatarSize is the side of the board's icon, its avatar on the
// fediverse (what Mastodon keeps: 400x400).
const AvatarSize = 400

// IconVersion names the look of the board's icon at size (its logo, its
// colour, its initial): the icons' addresses carry it, so a reader that
// keeps an icon by its address (a browser, Mastodon's copy of an avatar,
// refreshed only when the address changes: remotable.rb) takes the new
// one when the board changes its look.
func (b Board) IconVersion(size int) string {
	sum := sha256.Sum256([]byte(b.Logo + "\x00" + b.Accent() + "\x00" + b.Initial() + "\x00" + strconv.Itoa(size)))
	return hex.EncodeToString(sum[:6])
}

// Initial is the first letter of the board's display name (else its
// name), upper case: what its generated avatar shows.
func (b Board) Initial() string {
	for _, s := range []string{b.DisplayName, b.Name} {
		for _, r := range s {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				return strings.ToUpper(string(r))
			}
		}
	}
	return ""
}

// MinContrast is WCAG 2.x's AA ratio for normal text: white words on the
// accent (buttons, the header) must reach it to be readable by people
// with low vision.
const MinContrast = 4.5

// ParseColour reads a #rrggbb colour.
func ParseColour(s string) ([3]uint8, bool) {
	var c [3]uint8
	if len(s) != 7 || s[0] != '#' {
		return c, false
	}
	for i := range c {
		v, err := strconv.ParseUint(s[1+2*i:3+2*i], 16, 8)
		if err != nil {
			return c, false
		}
		c[i] = uint8(v)
	}
	return c, true
}

// luminance is a colour's relative luminance as WCAG 2.x defines it: each
// sRGB channel linearised (the 0.04045 threshold of the sRGB standard, which
// WCAG 2.2 now quotes instead of 0.03928; no 8-bit value lies between the
// two), then weighted by how bright the eye sees red, green and blue.
func luminance(c [3]uint8) float64 {
	var lin [3]float64
	for i, v := range c {
		s := float64(v) / 255
		if s <= 0.04045 {
			lin[i] = s / 12.92
		} else {
			lin[i] = math.Pow((s+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*lin[0] + 0.7152*lin[1] + 0.0722*lin[2]
}

// ContrastWithWhite is the WCAG contrast ratio of white on c, from 1 (white
// on white) to 21 (white on black).
func ContrastWithWhite(c [3]uint8) float64 {
	return (1 + 0.05) / (luminance(c) + 0.05)
}

// Darken returns c, or c made darker step by step (its hue kept) until
// white text on it reaches MinContrast.
func Darken(c [3]uint8) [3]uint8 {
	base := c
	for f := 1.0; ContrastWithWhite(c) < MinContrast; {
		f -= 0.02
		for i := range c {
			c[i] = uint8(math.Round(float64(base[i]) * max(f, 0)))
		}
	}
	return c
}

// Kind says what an announcement is about; each has its own details.
type Kind string

// The kinds of announcement.
const (
	KindNews   Kind = "news"
	KindEvent  Kind = "event"
	KindCall   Kind = "call" // a call for volunteers
	KindOutage Kind = "outage"
	// KindCampaign is a donation campaign: a goal, what was raised, a link.
	KindCampaign Kind = "campaign"
	// KindTraining is an event with seats: people register for it the way
	// volunteers answer a call (its Event says when and where, its Call is
	// derived from Training and holds the one option, TrainingRole).
	KindTraining Kind = "training"
)

// Kinds lists every kind, in the order the editor offers them.
func Kinds() []Kind {
	return []Kind{KindNews, KindEvent, KindCall, KindOutage, KindCampaign, KindTraining}
}

// TrainingRole is the one option of a training's sign-ups: the poll answer
// on the fediverse and in Matrix, the role of every registration.
const TrainingRole = "I'll come"

// Training details beyond the event's time and place.
type Training struct {
	// Online is the link to join from afar, if it is held online too.
	Online string `json:"online,omitempty"`
	Level  string `json:"level,omitempty"` // "beginners", "know the basics of Git"
	Bring  string `json:"bring,omitempty"` // "a laptop with a browser"
	Seats  int    `json:"seats"`
	// Waitlist takes registrations past the seats on a waiting list that
	// moves up when someone withdraws.
	Waitlist bool `json:"waitlist,omitempty"`
	// Reminder asks for a short post the day before (and a direct note to
	// registrants on the fediverse).
	Reminder bool `json:"reminder,omitempty"`
	// Cancelled trainings stay on the board, say so, and send no reminder.
	Cancelled bool `json:"cancelled,omitempty"`
	// BackOn says a cancellation was called off: readers who heard
	// "cancelled" read that it takes place after all.
	BackOn bool `json:"back_on,omitempty"`
	// RemindedFor is the start the reminder went out for: Crieur writes
	// it, so no reminder goes out twice for the same date.
	RemindedFor *time.Time `json:"reminded_for,omitempty"`
}

// ReminderLead is how long before a training its reminder goes out.
const ReminderLead = 24 * time.Hour

// TakesSignups reports whether people answer a through the sign-up
// machinery (a call for volunteers, a training).
func (a Announcement) TakesSignups() bool {
	return (a.Kind == KindCall || a.Kind == KindTraining) && a.Call != nil
}

// IsEvent reports whether a happens at a time (an event, a training): it
// is in the events view and the calendar.
func (a Announcement) IsEvent() bool {
	return (a.Kind == KindEvent || a.Kind == KindTraining) && a.Event != nil
}

// Cancelled reports whether a is a cancelled training, or an outage
// called off before it began.
func (a Announcement) Cancelled() bool {
	return a.Training != nil && a.Training.Cancelled || a.Kind == KindOutage && a.Outage != nil && a.Outage.Cancelled
}

// BackOn reports whether a is a training whose cancellation was undone.
func (a Announcement) BackOn() bool {
	return a.Training != nil && a.Training.BackOn && !a.Training.Cancelled
}

// Campaign details: how much is asked, how much came in, where to give.
type Campaign struct {
	// Goal and Raised are amounts in Currency (an ISO 4217 code).
	Goal     float64    `json:"goal"`
	Currency string     `json:"currency"`
	Raised   float64    `json:"raised"`
	Deadline *time.Time `json:"deadline,omitempty"`
	// Link is where to give (Liberapay, HelloAsso, a bank page).
	Link string `json:"link"`
	// TaxNote says what a gift costs after tax ("66 % deductible in France").
	TaxNote string `json:"tax_note,omitempty"`
	// Milestones are percentages of the goal (25, 50, 75, 100) that each
	// get a short post of thanks when the total passes them.
	Milestones []int `json:"milestones,omitempty"`
	// ThankYou, when set, is posted once the campaign ends.
	ThankYou string `json:"thank_you,omitempty"`
	// Per is PerWeek or PerMonth when the campaign counts recurring income
	// (a Liberapay account it follows): Goal and Raised are then amounts
	// per that period, and reaching the goal does not end the campaign
	// (pledges can go down again). Empty: a one-off total the editors type.
	Per string `json:"per,omitempty"`
	// Patrons is how many people give regularly, as the platform says.
	Patrons int `json:"patrons,omitempty"`
	// StillWelcome keeps asking to give once the campaign ended.
	StillWelcome bool `json:"still_welcome,omitempty"`
	// Reached lists the milestones announced, Thanked whether the
	// thank-you went out, Ended when the campaign ended (its deadline
	// passed or its goal was reached): Crieur writes them, so none goes
	// out twice.
	Reached []int      `json:"reached,omitempty"`
	Thanked bool       `json:"thanked,omitempty"`
	Ended   *time.Time `json:"ended,omitempty"`
	// Counted is when the figures last changed without an edit (a total
	// typed or read from the platform): the text followers read changed
	// then, and a post's "updated" says so (Crieur writes it).
	Counted *time.Time `json:"counted,omitempty"`
	// SourceProblem, when set, says why the donation platform's figures
	// could not be used (the account hides what it receives, or counts in
	// another currency): for the editors, on the campaign's page and in
	// crieur check.
	SourceProblem *SourceProblem `json:"source_problem,omitempty"`
}

// SourceProblem is what a donation platform answered that Crieur could
// not use: a catalogue key and its arguments, worded in the editor's
// language when shown.
type SourceProblem struct {
	Key  string   `json:"key"`
	Args []string `json:"args,omitempty"`
}

// How often recurring income is counted (Campaign.Per).
const (
	PerWeek  = "week"
	PerMonth = "month"
)

// Recurring reports whether the campaign counts income per period rather
// than a total.
func (c *Campaign) Recurring() bool { return c.Per != "" }

// Asking reports whether the campaign still asks people to give: while it
// runs, and after its end when the editors keep donations welcome.
func (c *Campaign) Asking() bool { return c.Ended == nil || c.StillWelcome }

// Percent is how much of the goal came in, rounded down.
func (c *Campaign) Percent() int {
	if c.Goal <= 0 {
		return 0
	}
	return int(100 * c.Raised / c.Goal)
}

// Over reports whether the campaign is over at now: its deadline passed,
// or a one-off total reached its goal. Recurring income reaching its goal
// does not end a campaign: it is what keeps the association going, and it
// can go down again.
func (c *Campaign) Over(now time.Time) bool {
	return c.Deadline != nil && !now.Before(*c.Deadline) || !c.Recurring() && c.Goal > 0 && c.Raised >= c.Goal
}

// Event details: when and where.
type Event struct {
	Start time.Time  `json:"start"`
	End   *time.Time `json:"end,omitempty"`
	Place string     `json:"place,omitempty"`
	URL   string     `json:"url,omitempty"`
}

// Role is one kind of help a call for volunteers asks for.
type Role struct {
	Name   string `json:"name"`
	Places int    `json:"places"`
}

// Call details: who is needed, until when, and how to answer.
type Call struct {
	Roles    []Role     `json:"roles"`
	Deadline *time.Time `json:"deadline,omitempty"`
	Contact  string     `json:"contact"`
	// Multiple lets one person take several roles (a poll with several
	// answers); otherwise one role each.
	Multiple bool `json:"multiple,omitempty"`
	// Waitlist puts people who answer a full role on a waiting list that
	// moves up when someone withdraws; otherwise they are told it is full.
	Waitlist bool `json:"waitlist,omitempty"`
	// Closed ends sign-ups before the deadline (an editor's decision).
	Closed bool `json:"closed,omitempty"`
	// Taken counts confirmed sign-ups per role; the store fills it, an
	// editor never writes it.
	Taken map[string]int `json:"taken,omitempty"`
	// Voters is how many distinct people hold a place (the store fills it).
	Voters int `json:"voters,omitempty"`
	// ClosedFor is the deadline whose closing went out everywhere: Crieur
	// writes it, so each deadline's closing goes out once.
	ClosedFor *time.Time `json:"closed_for,omitempty"`
}

// Places is how many places role has (0: no such role).
func (c *Call) Places(role string) int {
	for _, r := range c.Roles {
		if r.Name == role {
			return r.Places
		}
	}
	return 0
}

// PlacesLeft is how many places role still has.
func (c *Call) PlacesLeft(role string) int {
	for _, r := range c.Roles {
		if r.Name == role {
			return max(0, r.Places-c.Taken[role])
		}
	}
	return 0
}

// Open reports whether the call takes sign-ups at now: not closed by an
// editor, deadline not passed, some role with a place left (or a waiting
// list).
func (c *Call) Open(now time.Time) bool {
	if c.Closed || (c.Deadline != nil && !now.Before(*c.Deadline)) {
		return false
	}
	if c.Waitlist {
		return true
	}
	for _, r := range c.Roles {
		if c.PlacesLeft(r.Name) > 0 {
			return true
		}
	}
	return false
}

// SignupsOpen reports whether a call takes sign-ups at now: an expired
// call is over, whatever its deadline says.
func (a Announcement) SignupsOpen(now time.Time) bool {
	return a.Status != StatusExpired && a.Call != nil && !a.Cancelled() && a.Call.Open(now)
}

// Image is a picture shown with an announcement. An editor names an
// uploaded picture by its ID and describes it; the store fills the rest.
type Image struct {
	ID string `json:"id"`
	// Alt describes the picture for people who cannot see it; every
	// destination shows it (Mastodon's ALT, Matrix's body, the page's alt).
	Alt string `json:"alt"`
	// Decorative marks a picture that adds nothing a description would
	// tell: it has no alt text, on purpose.
	Decorative bool   `json:"decorative,omitempty"`
	MediaType  string `json:"media_type,omitempty"`
	Width      int    `json:"width,omitempty"`
	Height     int    `json:"height,omitempty"`
	Blurhash   string `json:"blurhash,omitempty"`
	Size       int    `json:"size,omitempty"`
}

// MediaPath is where a board's picture is served, under the board's URL.
func MediaPath(name string) string { return "/media/" + name }

// Outage details: which service and for how long.
type Outage struct {
	// Service is the slug of one of the board's services (HostedService)
	// when the board lists some; free text otherwise, and in notices
	// written before it listed them.
	Service string `json:"service"`
	// ServiceName is the name of the listed service Service names, as
	// readers see it everywhere; Crieur writes it.
	ServiceName string     `json:"service_name,omitempty"`
	From        time.Time  `json:"from"`
	Until       *time.Time `json:"until,omitempty"`
	// Resolved is when an editor marked the outage over.
	Resolved *time.Time `json:"resolved,omitempty"`
	// Cancelled: the planned outage will not take place (a maintenance
	// called off before it began).
	Cancelled bool `json:"cancelled,omitempty"`
}

// Outage states, from its times as of now.
const (
	OutagePlanned  = "planned"
	OutageOngoing  = "ongoing"
	OutageResolved = "resolved"
	// OutageCancelled: called off before it began.
	OutageCancelled = "cancelled"
)

// State says whether the outage is still to come, going on, or over.
func (o *Outage) State(now time.Time) string {
	switch {
	case o.Cancelled:
		return OutageCancelled
	case o.Resolved != nil, o.Until != nil && !now.Before(*o.Until):
		return OutageResolved
	case now.Before(o.From):
		return OutagePlanned
	}
	return OutageOngoing
}

// Announcement is one post on a board. Version grows with every edit; the
// federation layer derives stable activity ids from it.
type Announcement struct {
	ID             int64     `json:"id"`
	Board          string    `json:"board"`
	Kind           Kind      `json:"kind"`
	Title          string    `json:"title"`
	Body           string    `json:"body"`
	HTML           string    `json:"html"`
	Tags           []string  `json:"tags"`
	ContentWarning string    `json:"content_warning,omitempty"`
	Language       string    `json:"language,omitempty"`
	Event          *Event    `json:"event,omitempty"`
	Call           *Call     `json:"call,omitempty"`
	Outage         *Outage   `json:"outage,omitempty"`
	Campaign       *Campaign `json:"campaign,omitempty"`
	Training       *Training `json:"training,omitempty"`
	// Images are shown under the text, in order.
	Images  []Image `json:"images,omitempty"`
	Version int     `json:"version"`
	// Pinned announcements are featured at the top of the board and in the
	// actor's featured collection, which servers show on its profile.
	Pinned bool `json:"pinned"`
	// Status says who can read it: nobody but editors (draft, scheduled),
	// everyone (published), or only those who already had it (expired).
	Status Status `json:"status"`
	// PublishAt is when a scheduled announcement goes out; ExpiresAt is
	// when it leaves the board and feeds and followers are told it is over.
	PublishAt *time.Time `json:"publish_at,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// RequestedBy is the token that asked to publish a pending one, or
	// proposed its PendingEdit.
	RequestedBy *int64 `json:"requested_by,omitempty"`
	// PendingEdit is an edit of a published announcement, on a board that
	// wants a second publisher, waiting for their approval: readers keep
	// the approved text until then.
	PendingEdit *Draft `json:"pending_edit,omitempty"`
	// Warnings tell the editor what a destination will do differently
	// (a text cut to fit); computed for the answer, not stored.
	Warnings  []string   `json:"warnings,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	DeletedAt *time.Time `json:"deleted_at,omitempty"`
}

// Maintenance reports whether a is an outage notice written before the
// outage began: work the association planned, which readers are told is
// maintenance (to come, under way, over), not a breakdown. A notice
// written once the outage had started is an incident. status.json reads
// the same rule (a scheduled maintenance against an incident).
func (a Announcement) Maintenance() bool {
	if a.Kind != KindOutage || a.Outage == nil {
		return false
	}
	written := a.CreatedAt
	if written.IsZero() { // not written yet (a preview): it would be now
		written = time.Now()
	}
	return written.Before(a.Outage.From)
}

// Edited reports whether the announcement changed after it was published.
func (a Announcement) Edited() bool { return a.Version > 1 }

// Status is where an announcement is in its life.
type Status string

// The statuses. Draft and scheduled announcements have been sent nowhere;
// an expired one was, and its readers were told it is over.
const (
	StatusDraft     Status = "draft"
	StatusScheduled Status = "scheduled"
	StatusPublished Status = "published"
	StatusExpired   Status = "expired"
	// StatusPending waits for a second publisher's approval.
	StatusPending Status = "pending"
)

// Public reports whether readers may see it: published, or expired (its
// page and federated object stay, saying it is over, for those who have a
// link; lists and feeds leave it out).
func (a Announcement) Public() bool {
	return a.Status == StatusPublished || a.Status == StatusExpired || a.Status == ""
}

// Listed reports whether it belongs on the board's page, feeds and outbox.
func (a Announcement) Listed() bool { return a.Status == StatusPublished || a.Status == "" }

// Links tells where things live; the federation layer owns the URL scheme
// because ids must match what peers were told.
type Links interface {
	BoardURL(board string) string
	AnnouncementURL(board string, id int64) string
	Handle(board string) string
}

// Notices words the posts the service writes by itself (a campaign's
// milestones and thanks, a training's reminder): the locale package
// implements it, so that board holds no words of its own.
type Notices interface {
	// Milestone is the post as a campaign passes percent of its goal.
	Milestone(b Board, a Announcement, percent int) (title, body string)
	// ThankYou is the title of a campaign's thank-you post.
	ThankYou(b Board, a Announcement) string
	// Reminder is the post the day before a training, link its page.
	Reminder(b Board, a Announcement, link string) (title, body string)
	// Reannounced is the fresh post of an outage notice that reached
	// followers too late (Reannounce), link its page.
	Reannounced(b Board, a Announcement, link string) (title, body string)
}

// Follower is a remote account following a board.
type Follower struct {
	ActorID     string    `json:"actor"`
	Inbox       string    `json:"inbox"`
	SharedInbox string    `json:"shared_inbox,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// DeliveryInbox is where activities for this follower go: the shared inbox
// when there is one, so a server with many followers gets one POST.
func (f Follower) DeliveryInbox() string {
	if f.SharedInbox != "" {
		return f.SharedInbox
	}
	return f.Inbox
}

// Verb is what an outbox entry does to its announcement.
type Verb string

// The outbox verbs.
const (
	VerbCreate Verb = "create"
	VerbUpdate Verb = "update"
	VerbDelete Verb = "delete"
	// Pin and unpin change only the board's featured list: fediverse
	// followers get an Add or Remove; other channels have nothing to do.
	VerbPin   Verb = "pin"
	VerbUnpin Verb = "unpin"
	// Refresh sends the current counts of a call (sign-ups changed): an
	// Update or an edit, coalesced by the dispatcher.
	VerbRefresh Verb = "refresh"
)

// OutboxEntry records that an announcement version must be sent everywhere.
// It is written in the announcement's transaction; the dispatcher turns it
// into queue jobs.
type OutboxEntry struct {
	ID             int64     `json:"id"`
	BoardID        int64     `json:"-"`
	AnnouncementID int64     `json:"announcement_id"`
	Verb           Verb      `json:"verb"`
	Version        int       `json:"version"`
	CreatedAt      time.Time `json:"created_at"`
	// FollowUp asks destinations whose messages cannot be edited (a
	// webhook, a mailing list) to send a short "Updated" message.
	FollowUp bool `json:"follow_up,omitempty"`
	// Changes names the facts an edit changed (ChangeWhen...), so that a
	// follow-up can say what is new, not just "Updated".
	Changes []string `json:"changes,omitempty"`
	// MinGap spaces this announcement's refreshes (0: the dispatcher's).
	MinGap time.Duration `json:"-"`
}

// The facts an edit can change that a follow-up names; their values are
// the catalogue's fact.<key> as the announcement now has it.
const (
	ChangeWhen         = "when"
	ChangeWhere        = "where"
	ChangeOnline       = "online"
	ChangeUntil        = "until"
	ChangeResolved     = "resolved"
	ChangeAnswerBefore = "answer_before"
)

// Changes lists the facts that differ between two versions of an
// announcement, in reading order.
func Changes(before, after Announcement) []string {
	var out []string
	add := func(key string, changed bool) {
		if changed {
			out = append(out, key)
		}
	}
	if e, f := before.Event, after.Event; e != nil && f != nil {
		add(ChangeWhen, !e.Start.Equal(f.Start) || !sameTime(e.End, f.End))
		add(ChangeWhere, e.Place != f.Place)
	}
	if t, u := before.Training, after.Training; t != nil && u != nil {
		add(ChangeOnline, t.Online != u.Online)
	}
	if c, d := before.Call, after.Call; c != nil && d != nil {
		add(ChangeAnswerBefore, !sameTime(c.Deadline, d.Deadline))
	}
	if o, p := before.Outage, after.Outage; o != nil && p != nil {
		add(ChangeResolved, o.Resolved == nil && p.Resolved != nil)
		add(ChangeUntil, p.Resolved == nil && !sameTime(o.Until, p.Until))
	}
	if c, d := before.Campaign, after.Campaign; c != nil && d != nil {
		add(ChangeUntil, !sameTime(c.Deadline, d.Deadline))
	}
	return out
}

func sameTime(a, b *time.Time) bool {
	return a == nil && b == nil || a != nil && b != nil && a.Equal(*b)
}

// What a follow-up announces (FollowUpOf), the catalogue's post.<what>
// for a title and post.is_<what> for a sentence.
const (
	FollowUpUpdated   = "updated"
	FollowUpCancelled = "cancelled"
	FollowUpBackOn    = "back_on"
	FollowUpResolved  = "resolved"
)

// FollowUpOf says what a follow-up of a, with the changes of its edit,
// announces: a cancellation, its undoing, an outage's end, or an update.
func FollowUpOf(a Announcement, changes []string) string {
	switch {
	case a.Cancelled():
		return FollowUpCancelled
	case a.BackOn():
		return FollowUpBackOn
	case slices.Contains(changes, ChangeResolved):
		return FollowUpResolved
	}
	return FollowUpUpdated
}

// ForWriteOnce says whether a destination whose messages cannot be edited
// or deleted (a webhook, a mailing list) sends anything for e: a new
// announcement, or an edit the editor wants announced.
func (e OutboxEntry) ForWriteOnce() bool {
	return e.Verb == VerbCreate || e.Verb == VerbUpdate && e.FollowUp
}

// Delivery states: one vocabulary for the rows and their counts. A row
// exists for every destination from the moment of fan-out.
const (
	DeliveryPending   = "pending"   // not tried yet, or being tried for the first time
	DeliveryRetrying  = "retrying"  // failed (last_error says why); tried again later
	DeliveryDelivered = "delivered" // the destination accepted it
	DeliveryDead      = "dead"      // given up: permanent error or retry window over
)

// Delivery is the state of one outbox entry at one destination.
type Delivery struct {
	OutboxID  int64     `json:"outbox_id"`
	Verb      Verb      `json:"verb"`
	Version   int       `json:"version"`
	Target    string    `json:"target"`
	State     string    `json:"state"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
	// NextAttemptAt is when a delivery being retried goes again (a
	// destination may have said when).
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	// Late marks a post delivered after RealTimeWindow (the summary says).
	Late bool `json:"late,omitempty"`
}

// Interaction is something a remote account did with an announcement.
type Interaction struct {
	Kind       string `json:"kind"` // like, announce, reply
	Actor      string `json:"actor"`
	ActivityID string `json:"activity_id"`
	// ObjectID is the reply's own id, which its edits and deletion name.
	ObjectID  string    `json:"object_id,omitempty"`
	Content   string    `json:"content,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Errors the service returns; the admin API maps them to status codes.
var (
	ErrNotFound            = errors.New("not found")
	ErrGone                = errors.New("deleted")
	ErrIdempotencyConflict = errors.New("this Idempotency-Key was already used for a different request")
)

// ValidationError lists what is wrong, one message per field.
type ValidationError struct {
	Fields map[string]Problem
	What   string // what was refused; "announcement" when empty
}

// Problem is what is wrong with one field: a key of the locale catalogue
// ("problem.required") and its arguments. The domain says what is wrong;
// whoever shows it (the API, the editor, the CLI) says it in its reader's
// language, so no English sentence is fixed here.
type Problem struct {
	Key  string
	Args []any
}

// Problemf is the problem of key with its arguments.
func Problemf(key string, args ...any) Problem { return Problem{Key: key, Args: args} }

// String is the key and arguments, for logs and test failures.
func (p Problem) String() string {
	if len(p.Args) == 0 {
		return p.Key
	}
	return fmt.Sprint(p.Key, p.Args)
}

// Problems is a form's or a request's problems by field.
type Problems map[string]Problem

// Invalid is one problem as a validation error.
func Invalid(field, key string, args ...any) *ValidationError {
	return &ValidationError{Fields: Problems{field: Problemf(key, args...)}}
}

func (e *ValidationError) Error() string {
	var parts []string
	for _, k := range sortedKeys(e.Fields) {
		parts = append(parts, k+": "+e.Fields[k].String())
	}
	what := e.What
	if what == "" {
		what = "announcement"
	}
	return "invalid " + what + ": " + strings.Join(parts, "; ")
}

// ParseID reads an announcement id from a URL in its one canonical form
// (decimal, no sign, no leading zero): /a/1 is the page, /a/+1 and /a/001
// are not, so one announcement has one address.
func ParseID(s string) (int64, bool) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != s {
		return 0, false
	}
	return id, true
}
