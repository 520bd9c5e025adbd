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
	"math"
	"slices"
	"strings"
	"time"
)

// Markup turns what an editor writes (Markdown) into the HTML stored and
// shown everywhere; the markdown package implements it.
type Markup interface {
	HTML(markdown string) (string, error)
	// InlineImages counts pictures written into the text, which no
	// destination shows as pictures.
	InlineImages(markdown string) int
	// Absolute resolves the text's relative links against base: every
	// destination (a mail, a Mattermost channel, a follower's server)
	// shows them away from the board's pages, where they would point at
	// the reader's own server.
	Absolute(markdown, base string) string
}

// Checker is a destination that can tell, before it sends, what it will
// show differently from the announcement (a Matrix room's size limit).
type Checker interface {
	Check(ctx context.Context, b Board, a Announcement) []Problem
}

// Service validates, stores and publishes announcements.
type Service struct {
	repo        Repository
	render      Markup
	notices     Notices
	links       Links
	pictures    Pictures
	now         func() time.Time
	onOutbox    func()
	zone        string // new boards' time zone
	progressGap time.Duration
	recurring   func(link string) bool
	wake        chan struct{}
	dest        Destinations
}

// Options are what a Service is made of. Store, Markup and Notices are
// required.
type Options struct {
	Store   Repository
	Markup  Markup
	Notices Notices
	// Links says where announcements live (a reminder links to its
	// training); Pictures keeps uploads (nil: no uploads).
	Links    Links
	Pictures Pictures
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// OnOutbox, if not nil, is called after every commit that wrote an
	// outbox row, so the dispatcher need not poll.
	OnOutbox func()
	// TimeZone is new boards' zone (the server's, so an association's
	// machine in Paris makes Paris boards); ignored unless valid.
	TimeZone string
	// ProgressGap is the least time between two Updates of one campaign's
	// progress: every gift is on the page at once, but followers and rooms
	// get at most one edit per gap (2 minutes when 0).
	ProgressGap time.Duration
	// Recurring, when set, says whether a campaign's link is an account
	// on a platform of recurring donations that Crieur follows
	// (Liberapay): such a campaign counts income per week, never a total.
	Recurring func(link string) bool
}

// Destinations are the channels the service tells, as it acts, of what
// concerns them; they answer back through the service, so they are
// connected once both exist.
type Destinations struct {
	// Checkers warn editors of what a destination will show differently;
	// Previewers show it.
	Checkers   []Checker
	Previewers []Previewer
	// Followers and People tell people one by one (a Reject to a removed
	// follower; a note or a mail to who signed up, moved up, registered).
	Followers FollowerNotifier
	People    []PersonNotifier
}

// NewService returns a service made of o.
func NewService(o Options) *Service {
	s := &Service{repo: o.Store, render: o.Markup, notices: o.Notices, links: o.Links, pictures: o.Pictures, now: o.Now, onOutbox: o.OnOutbox,
		progressGap: o.ProgressGap, recurring: o.Recurring, wake: make(chan struct{}, 1)}
	if s.now == nil {
		s.now = time.Now
	}
	if s.progressGap <= 0 {
		s.progressGap = 2 * time.Minute
	}
	if ValidTimeZone(o.TimeZone) {
		s.zone = o.TimeZone
	}
	return s
}

// Connect tells the service its destinations: once, before it serves.
func (s *Service) Connect(d Destinations) { s.dest = d }

// Warnings collects what destinations will show differently from a.
func (s *Service) Warnings(ctx context.Context, b Board, a Announcement) []Problem {
	var out []Problem
	if n := s.render.InlineImages(a.Body); n > 0 {
		out = append(out, Problemf("editor.inline_images", n))
	}
	for _, c := range s.dest.Checkers {
		out = append(out, c.Check(ctx, b, a)...)
	}
	return out
}

// notify wakes the dispatcher after a commit that wrote an outbox row.
func (s *Service) notify() {
	if s.onOutbox != nil {
		s.onOutbox()
	}
}

// EnsureBoard creates the board name with a fresh RSA-2048 key pair unless
// it exists; created says which.
func (s *Service) EnsureBoard(ctx context.Context, name, displayName string) (b Board, created bool, err error) {
	b, err = s.repo.BoardByName(ctx, name)
	if err == nil {
		return b, false, nil
	}
	if !errors.Is(err, ErrNotFound) {
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
	b, err = s.repo.CreateBoard(ctx, Board{Name: name, DisplayName: displayName, PrivateKeyPEM: string(priv), PublicKeyPEM: string(pub), CreatedAt: s.now().UTC(), TimeZone: s.zone})
	return b, err == nil, err
}

func mustPKCS8(key *rsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic(err) // only fails for unknown key types
	}
	return der
}

func (s *Service) build(ctx context.Context, b Board, d Draft, a *Announcement) error {
	if err := d.Normalize(); err != nil {
		return err
	}
	if d.Kind == KindTraining && d.Language == "" {
		// A training's one poll option is named in its language ("Je
		// viens"): taken from the board when it is written, so that the
		// board's language changing later does not rename the option
		// under its voters (Mastodon would take it for a new poll and
		// drop the counts that follow; no Update would say so).
		d.Language = b.Language
	}
	boardID := b.ID
	if s.links != nil {
		d.Body = s.render.Absolute(d.Body, s.links.BoardURL(b.Name)+"/")
	}
	images := make([]Image, 0, len(d.Images))
	for i, im := range d.Images {
		stored, err := s.repo.Media(ctx, boardID, im.ID)
		if errors.Is(err, ErrNotFound) {
			return Invalid(fmt.Sprintf("images[%d].id", i), "problem.no_such_picture", im.ID)
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
	if c := d.Campaign; c != nil && c.Per == "" && s.recurring != nil && s.recurring(c.Link) {
		c.Per = PerWeek
	}
	if a.Campaign != nil && d.Campaign != nil {
		keepCampaignRecord(a.Campaign, d.Campaign, s.now())
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
		return from, Invalid("draft", "problem.no_draft_again")
	}
	if d.ExpiresAt != nil && !d.ExpiresAt.After(now) {
		return StatusExpired, nil
	}
	return StatusPublished, nil
}

// publishGrace is how far past a publication time may be and still mean
// "now": a form gives minutes, so the current minute typed is up to one
// minute old, and a client's clock may lag a little.
const publishGrace = time.Minute

// checkTimes refuses times that would be silently meaningless: an expiry
// already past when it is set, a new publication time for what is out, a
// publication time already past (it would publish at once, which is not
// what its writer asked for; they may leave it out to publish now).
func checkTimes(old *Announcement, d Draft, now time.Time) error {
	errs := Problems{}
	changed := func(o, n *time.Time) bool { return n != nil && (o == nil || !o.Equal(*n)) }
	var oldPublish, oldExpires *time.Time
	if old != nil {
		oldPublish, oldExpires = old.PublishAt, old.ExpiresAt
	}
	if changed(oldExpires, d.ExpiresAt) && !d.ExpiresAt.After(now) {
		errs["expires_at"] = Problemf("problem.expiry_past")
	}
	// A time kept from before counts too when a draft is published: its
	// writer sees "Publish at" filled in. A scheduled one whose time has
	// just come is the scheduler's to publish, as planned.
	if d.PublishAt != nil && d.PublishAt.Before(now.Add(-publishGrace)) && (old == nil || !old.Public()) &&
		(changed(oldPublish, d.PublishAt) || old.Status == StatusDraft && !d.KeepDraft) {
		errs["publish_at"] = Problemf("problem.publish_past")
	}
	if old != nil && old.Public() && changed(oldPublish, d.PublishAt) {
		errs["publish_at"] = Problemf("problem.no_schedule_again")
	}
	// A call that would open closed: a deadline typed in the past (a
	// wrong year, a copied call), or kept from a draft until it passed.
	// One that passed on a published call stays, as the call closed.
	var oldDeadline *time.Time
	if old != nil && old.Call != nil {
		oldDeadline = old.Call.Deadline
	}
	if d.Call != nil && d.Kind == KindCall && d.Call.Deadline != nil && !d.Call.Deadline.After(now) && !d.KeepDraft &&
		(changed(oldDeadline, d.Call.Deadline) || old != nil && !old.Public()) {
		errs["call.deadline"] = Problemf("problem.deadline_past")
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
func (s *Service) Create(ctx context.Context, actor Actor, b Board, d Draft, idemKey string) (a Announcement, replayed bool, err error) {
	if d.Training != nil {
		t := *d.Training
		t.RemindedFor = nil // Crieur's bookkeeping, not the editor's
		d.Training = &t
	}
	if err := s.build(ctx, b, d, &a); err != nil {
		return a, false, err
	}
	if err := s.checkOutageService(ctx, b, a.Outage, nil); err != nil {
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
	if err := gate(actor, b, "", &a, false); err != nil {
		return a, false, err
	}
	verb := VerbCreate
	if a.Status != StatusPublished {
		verb = ""
	}
	a.Board, a.Version, a.CreatedAt, a.UpdatedAt = b.Name, 1, now, now
	// The announcement, its outbox row and its idempotency key go
	// together: either everything is there to be published or nothing is.
	var existing int64
	err = s.repo.InTx(ctx, func(tx Tx) error {
		if idemKey != "" {
			id, prevHash, err := tx.IdempotencyKey(ctx, b.ID, idemKey)
			switch {
			case err == nil && prevHash != reqHash:
				return ErrIdempotencyConflict
			case err == nil:
				existing = id
				return nil
			case !errors.Is(err, ErrNotFound):
				return err
			}
		}
		if err := tx.InsertAnnouncement(ctx, b.ID, &a); err != nil {
			return err
		}
		if idemKey != "" {
			if err := tx.AddIdempotencyKey(ctx, b.ID, idemKey, reqHash, a.ID, a.CreatedAt); err != nil {
				return err
			}
		}
		if verb == "" { // a draft or a scheduled one is sent nowhere yet
			return nil
		}
		return tx.AddOutbox(ctx, OutboxEntry{BoardID: b.ID, AnnouncementID: a.ID, Verb: verb, Version: a.Version, CreatedAt: a.CreatedAt})
	})
	if err != nil {
		return a, false, err
	}
	if existing != 0 {
		a, err = s.repo.Announcement(ctx, b.ID, existing)
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
		a, err = s.repo.Announcement(ctx, b.ID, a.ID)
	}
	return a, false, err
}

// Update applies edit to the current draft of announcement id and saves
// it: a draft stays a draft (sent nowhere) until an edit publishes or
// schedules it; a published one is sent again as an Update when what
// readers see changed.
func (s *Service) Update(ctx context.Context, actor Actor, b Board, id int64, edit func(*Draft) error) (Announcement, error) {
	return s.update(ctx, actor, b, id, edit, false)
}

func (s *Service) update(ctx context.Context, actor Actor, b Board, id int64, edit func(*Draft) error, approving bool) (Announcement, error) {
	a, err := s.repo.Announcement(ctx, b.ID, id)
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
	if err := s.build(ctx, b, d, &a); err != nil {
		return a, err
	}
	if err := s.checkOutageService(ctx, b, a.Outage, old.Outage); err != nil {
		return a, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	if err := checkTimes(&oldA, d, now); err != nil {
		return a, err
	}
	if a.Status, err = nextStatus(prevStatus, d, now); err != nil {
		return a, err
	}
	if err := gate(actor, b, prevStatus, &a, approving); err != nil {
		return a, err
	}
	if err := s.checkDroppedRoles(ctx, id, oldCall, a, d.RemoveRolesWithSignups); err != nil {
		return a, err
	}
	// An approval takes the pending edit, which is then done.
	clearing := approving && a.PendingEdit != nil
	if approving {
		a.PendingEdit = nil
	}
	if after, _ := json.Marshal(DraftOf(a)); bytes.Equal(before, after) && a.Status == prevStatus && !clearing {
		// A save that changes nothing changes nothing: no new version,
		// no Update to followers and rooms.
		return s.repo.Announcement(ctx, b.ID, id)
	}
	if heldForApproval(actor, b, prevStatus, approving) {
		// Readers keep what was approved; the edit waits beside it for a
		// second publisher (Approve), and replaces any edit waiting.
		live, err := s.repo.Announcement(ctx, b.ID, id)
		if err != nil {
			return live, err
		}
		live.PendingEdit, live.RequestedBy = &d, &actor.TokenID
		err = s.repo.InTx(ctx, func(tx Tx) error { return tx.UpdateAnnouncement(ctx, b.ID, &live, prev, prevUpdated) })
		return live, err
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
	var changes []string
	if verb == VerbUpdate && d.FollowUp {
		changes = Changes(oldA, a)
	}
	err = s.repo.InTx(ctx, func(tx Tx) error {
		if err := tx.UpdateAnnouncement(ctx, b.ID, &a, prev, prevUpdated); err != nil {
			return err
		}
		if verb == "" { // a draft's edit, a new expiry: nothing to send
			return nil
		}
		if err := tx.AddOutbox(ctx, OutboxEntry{BoardID: b.ID, AnnouncementID: a.ID, Verb: verb, Version: a.Version, CreatedAt: a.UpdatedAt,
			FollowUp: d.FollowUp && verb == VerbUpdate, Changes: changes}); err != nil {
			return err
		}
		// A training's one option is named in its language ("I'll come",
		// "Je viens"): another language is another option too.
		if verb == VerbUpdate && (!sameOptions(oldCall, a.Call) || a.Kind == KindTraining && oldA.Language != a.Language) {
			// New options reset a poll's counts to 0 where it is shown
			// (Mastodon's poll.rb, reset_votes!), and forget who voted
			// there: the counts follow at once.
			return tx.AddOutbox(ctx, OutboxEntry{BoardID: b.ID, AnnouncementID: a.ID, Verb: VerbRefresh, Version: a.Version, CreatedAt: a.UpdatedAt})
		}
		return nil
	})
	if err != nil {
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
		return s.repo.Announcement(ctx, b.ID, a.ID)
	}
	return s.repo.WithCounts(ctx, a)
}

// sameOptions reports whether two versions of a call offer the same roles
// in the same order, one or several at a time: a poll's options, as
// Mastodon compares them (PollParser#significantly_changes?).
func sameOptions(a, b *Call) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Multiple == b.Multiple && slices.EqualFunc(a.Roles, b.Roles, func(x, y Role) bool { return x.Name == y.Name })
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
		// The form shows and sends minutes: a time sent back as it was
		// shown is the time it was, seconds and all (a published call's
		// passed deadline is then unchanged, not "in the past").
		asShown := n != nil && n.Second() == 0 && n.Nanosecond() == 0 && o != nil && o.Truncate(time.Minute).Equal(*n)
		if o != nil && n != nil && (o.Equal(*n) || asShown) {
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

// SetBoard changes a board's display name, summary, language, time zone,
// accent and logo, checked like every text an editor writes. The logo
// must be a picture uploaded to this board (Upload): its name is all the
// board keeps.
func (s *Service) SetBoard(ctx context.Context, b Board) (Board, error) {
	b, err := CheckBoard(b)
	if err != nil {
		return b, err
	}
	if b.Logo != "" {
		im, err := s.repo.Media(ctx, b.ID, b.Logo)
		if errors.Is(err, ErrNotFound) {
			return b, &ValidationError{Fields: Problems{"logo": Problemf("problem.logo_unknown")}, What: "board settings"}
		}
		if err != nil {
			return b, fmt.Errorf("logo %q: %w", b.Logo, err)
		}
		if im.Width < minLogoSide || im.Height < minLogoSide {
			return b, &ValidationError{Fields: Problems{"logo": Problemf("problem.logo_too_small", im.Width, im.Height, minLogoSide)}, What: "board settings"}
		}
	}
	return b, s.repo.UpdateBoard(ctx, b)
}

// minLogoSide is the smallest side a logo may have: a favicon is drawn
// from it at 48 pixels, an avatar at 400 (smaller logos are enlarged,
// blurred; tinier ones are unreadable).
const minLogoSide = 48

// CheckBoard tidies a board's settings and says what is wrong with them,
// so a board is not created with settings it would then refuse.
func CheckBoard(b Board) (Board, error) {
	errs := Problems{}
	// A form's text arrives with the browser's \r\n line ends: stored as
	// \n, which every page and feed shows as one line end.
	b.DisplayName, b.Summary, b.Language = strings.TrimSpace(b.DisplayName), strings.TrimSpace(strings.ReplaceAll(b.Summary, "\r\n", "\n")), strings.TrimSpace(b.Language)
	CheckText(errs, "display_name", b.DisplayName, 100, true)
	checkTextLines(errs, "summary", b.Summary, 500, false, true)
	if b.Language != "" && b.Language != "en" && b.Language != "fr" {
		errs["language"] = Problemf("problem.board_language")
	}
	b.TimeZone = strings.TrimSpace(b.TimeZone)
	if b.TimeZone != "" && !ValidTimeZone(b.TimeZone) {
		errs["time_zone"] = Problemf("problem.time_zone")
	}
	b.AccentColour = strings.ToLower(strings.TrimSpace(b.AccentColour))
	if b.AccentColour != "" {
		if c, ok := ParseColour(b.AccentColour); !ok {
			errs["accent"] = Problemf("problem.accent_format")
		} else if ratio := ContrastWithWhite(c); ratio < MinContrast {
			// Rounded down: a colour at 4.497 must not read "4.50, needs 4.5".
			errs["accent"] = Problemf("problem.accent_contrast", math.Floor(ratio*100)/100, MinContrast, Hex(Darken(c)))
		}
	}
	b.Logo = strings.TrimSpace(b.Logo)
	if len(errs) > 0 {
		return b, &ValidationError{Fields: errs, What: "board settings"}
	}
	return b, nil
}

// Pin features announcement id on the board (pin false: stops featuring
// it); followers' servers are told with an Add or Remove.
func (s *Service) Pin(ctx context.Context, actor Actor, b Board, id int64, pin bool) (Announcement, error) {
	if err := RequirePublisher(actor, "pin or unpin"); err != nil {
		return Announcement{}, err
	}
	changed, err := s.setPinned(ctx, b.ID, id, pin)
	if err != nil {
		return Announcement{}, err
	}
	if changed {
		s.notify()
	}
	return s.repo.Announcement(ctx, b.ID, id)
}

// ResolveOutage marks an outage over now: an edit, so followers and rooms
// read "Resolved" with the time, and a follow-up, so mailing lists and
// channels that got the warning read it too.
func (s *Service) ResolveOutage(ctx context.Context, actor Actor, b Board, id int64) (Announcement, error) {
	return s.Update(ctx, actor, b, id, func(d *Draft) error {
		if d.Kind != KindOutage || d.Outage == nil {
			return Invalid("kind", "problem.only_outage_resolved")
		}
		if d.Outage.Resolved == nil && d.Outage.State(s.now()) == OutagePlanned {
			// Not begun: nothing to resolve; calling it off is what the
			// editor means, or nothing at all (a trial read "must not be
			// before From").
			return Invalid("outage", "problem.outage_not_begun")
		}
		if d.Outage.Resolved == nil {
			now := s.now().In(d.Outage.From.Location()).Truncate(time.Minute)
			d.Outage.Resolved = &now
			// The lists and channels that were warned hear it is over.
			d.FollowUp = true
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
		return Invalid("call.roles", "problem.role_has_signups", old.Taken[r.Name], r.Name)
	}
	return nil
}

// Delete removes announcement id and tells every destination.
func (s *Service) Delete(ctx context.Context, actor Actor, b Board, id int64) error {
	now := s.now().UTC()
	err := s.repo.InTx(ctx, func(tx Tx) error {
		a, err := tx.Announcement(ctx, b.ID, id)
		if err != nil {
			return err
		}
		if a.DeletedAt != nil {
			return ErrGone
		}
		if a.Status != StatusDraft {
			if err := RequirePublisher(actor, "delete what is "+string(a.Status)); err != nil {
				return err
			}
		}
		if err := tx.MarkDeleted(ctx, id, now); err != nil {
			return err
		}
		if !a.Public() { // a draft was sent nowhere: nothing to take back
			return nil
		}
		return tx.AddOutbox(ctx, OutboxEntry{BoardID: b.ID, AnnouncementID: id, Verb: VerbDelete, Version: a.Version, CreatedAt: now})
	})
	if err != nil {
		return err
	}
	s.notify()
	return nil
}

// setPinned pins or unpins a live announcement, with the outbox row that
// tells followers; changed is false when it already was as asked.
func (s *Service) setPinned(ctx context.Context, boardID, id int64, pin bool) (changed bool, err error) {
	now := s.now().UTC()
	err = s.repo.InTx(ctx, func(tx Tx) error {
		a, err := tx.Announcement(ctx, boardID, id)
		if err != nil {
			return err
		}
		if a.DeletedAt != nil {
			return ErrGone
		}
		if pin && a.Status != StatusPublished {
			return Invalid("pinned", "problem.pin_unpublished", string(a.Status))
		}
		if a.Pinned == pin {
			return nil
		}
		verb := VerbUnpin
		if pin {
			verb = VerbPin
		}
		if err := tx.SetPinned(ctx, id, pin, now); err != nil {
			return err
		}
		changed = true
		return tx.AddOutbox(ctx, OutboxEntry{BoardID: boardID, AnnouncementID: id, Verb: verb, Version: a.Version, CreatedAt: now})
	})
	return changed, err
}

// keepDetails changes an announcement's own bookkeeping (milestones
// announced, thanks or reminders sent): not what readers see, so nothing
// is sent. what names the change in an error.
func (s *Service) keepDetails(ctx context.Context, boardID, id int64, what string, change func(*Announcement)) error {
	return s.repo.InTx(ctx, func(tx Tx) error {
		a, err := tx.Announcement(ctx, boardID, id)
		if err != nil {
			return err
		}
		change(&a)
		if err := tx.SaveDetails(ctx, a); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	})
}
