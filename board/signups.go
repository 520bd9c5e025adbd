package board

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Person is someone answering a call for volunteers, known by where they
// answered: a fediverse actor URI, a Matrix user id, or a web sign-up.
type Person struct {
	Kind    string `json:"kind"` // fediverse, matrix, web, editor
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	Contact string `json:"contact,omitempty"`
	// Lang is the language they answered in (a web form's), which what
	// they are told later is written in; empty: the announcement's.
	Lang string `json:"lang,omitempty"`
}

// The places a person can answer from.
const (
	PersonFediverse = "fediverse"
	PersonMatrix    = "matrix"
	PersonWeb       = "web"
	PersonEditor    = "editor" // taken by phone, added by an editor
)

// Sign-up states.
const (
	SignupConfirmed = "confirmed"
	SignupWaiting   = "waiting" // on the waiting list, moves up when someone withdraws
	SignupWithdrawn = "withdrawn"
)

// Signup is one person's answer for one role of a call.
type Signup struct {
	ID             int64     `json:"id"`
	AnnouncementID int64     `json:"announcement"`
	Role           string    `json:"role"`
	Person         Person    `json:"person"`
	State          string    `json:"state"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// SignupResult says what became of each role a person asked for.
type SignupResult struct {
	Confirmed []string `json:"confirmed,omitempty"`
	Waiting   []string `json:"waiting,omitempty"`
	Full      []string `json:"full,omitempty"`    // no place and no waiting list
	Already   []string `json:"already,omitempty"` // asked before: nothing changed
	// Dropped are earlier roles an answer replaced (one role each).
	Dropped []string `json:"dropped,omitempty"`
	// WithdrawToken, for a new sign-up, is the private key of the link
	// that withdraws it (only its hash is stored).
	WithdrawToken string `json:"-"`
	// Replayed says the answer was already in the ledger, or older than
	// the person's latest: nothing changed.
	Replayed bool `json:"replayed,omitempty"`
}

// Changed reports whether the answer changed any count or list.
func (r SignupResult) Changed() bool { return len(r.Confirmed)+len(r.Waiting)+len(r.Dropped) > 0 }

// Errors of sign-ups; each says what to do.
var (
	ErrNotACall = errors.New("this announcement takes no sign-ups (it is not a call for volunteers or a training)")
	// ErrDuplicate: a web form signing up a name and contact already
	// signed up there, under another form. The person changes their
	// answer with their own link; nobody else can, by knowing a contact.
	ErrDuplicate  = errors.New("someone with this name and contact already signed up")
	ErrCallClosed = errors.New("sign-ups are closed (an editor closed them, the deadline or start passed, or it was cancelled)")
)

// UnknownRoleError names a role the call does not have.
type UnknownRoleError struct{ Role string }

func (e *UnknownRoleError) Error() string { return fmt.Sprintf("this call has no role %q", e.Role) }

// SignUp records p's answer for roles of call annID, in one transaction
// with the refresh of its counts everywhere: one person, one sign-up per
// role, however often the same answer arrives; a full role takes nobody
// more (a waiting list if the editors enabled it). The answer adds to the
// roles p holds (a fediverse vote names one option at a time, a web form
// the roles ticked); it is kept in the ledger under its origin, and one
// already there changes nothing (Replayed).
func (s *Service) SignUp(ctx context.Context, b Board, annID int64, p Person, roles []string, o Origin) (SignupResult, error) {
	return s.answer(ctx, b, annID, p, roles, o, false)
}

// signUpIn decides p's answer of roles inside tx. A whole answer (exact)
// ends the roles p holds that it leaves out; otherwise an answer adds to
// them (one role each: it replaces). Everything that can refuse the
// answer is checked before anything is written, so a refused answer
// changes nothing already held.
func (s *Service) signUpIn(ctx context.Context, tx Tx, b Board, annID int64, p Person, roles []string, exact bool) (res SignupResult, promoted []Signup, err error) {
	a, call, err := callForUpdate(ctx, tx, b.ID, annID)
	if err != nil {
		return res, nil, err
	}
	if !a.Public() {
		return res, nil, ErrNotFound // a draft takes no answers
	}
	if !call.Multiple && len(roles) > 1 {
		return res, nil, Invalid("roles", "problem.one_role")
	}
	for _, role := range roles {
		if !slices.ContainsFunc(call.Roles, func(r Role) bool { return r.Name == role }) {
			return res, nil, &UnknownRoleError{Role: role}
		}
	}
	now := s.now().UTC()
	// Withdrawing stays possible after the close: it tells the editors who
	// will not come.
	if len(roles) > 0 && (call.Closed || a.Cancelled() || a.Status == StatusExpired || (call.Deadline != nil && !now.Before(*call.Deadline))) {
		return res, nil, ErrCallClosed
	}
	if err := notADuplicate(ctx, tx, annID, p); err != nil {
		return res, nil, err
	}
	mine, err := tx.SignupsOf(ctx, annID, p)
	if err != nil {
		return res, nil, err
	}
	if exact || !call.Multiple {
		// A new answer replaces the roles it leaves out.
		for _, su := range mine {
			if su.State != SignupWithdrawn && !slices.Contains(roles, su.Role) {
				if err := tx.SetSignupState(ctx, su.ID, SignupWithdrawn, now); err != nil {
					return res, nil, err
				}
				if su.State == SignupConfirmed {
					up, err := promoteOne(ctx, tx, annID, call, su.Role, now)
					if err != nil {
						return res, nil, err
					}
					if up != nil {
						promoted = append(promoted, *up)
					}
				}
				res.Dropped = append(res.Dropped, su.Role)
			}
		}
	}
	for _, role := range roles {
		idx := slices.IndexFunc(mine, func(su Signup) bool { return su.Role == role })
		if idx >= 0 && mine[idx].State != SignupWithdrawn {
			res.Already = append(res.Already, role)
			continue
		}
		taken, err := tx.CountSignups(ctx, annID, role, SignupConfirmed)
		if err != nil {
			return res, nil, err
		}
		state := SignupConfirmed
		if taken >= call.Places(role) {
			if !call.Waitlist {
				res.Full = append(res.Full, role)
				continue
			}
			state = SignupWaiting
		}
		if idx >= 0 {
			err = tx.SetSignupState(ctx, mine[idx].ID, state, now)
		} else {
			if res.WithdrawToken == "" {
				res.WithdrawToken = newWithdrawToken()
			}
			err = tx.AddSignup(ctx, b.ID, Signup{AnnouncementID: a.ID, Role: role, Person: p, State: state, CreatedAt: now, UpdatedAt: now}, HashToken(res.WithdrawToken))
		}
		if err != nil {
			return res, nil, err
		}
		if state == SignupConfirmed {
			res.Confirmed = append(res.Confirmed, role)
		} else {
			res.Waiting = append(res.Waiting, role)
		}
	}
	if res.Changed() || len(res.Full) > 0 {
		// A vote for a full role changed nothing here, but the voter's
		// server counted it: the counts go out again (coalesced), so
		// every channel comes back to the ledger's.
		err = tx.AddOutbox(ctx, OutboxEntry{BoardID: b.ID, AnnouncementID: annID, Verb: VerbRefresh, Version: a.Version, CreatedAt: now})
	}
	return res, promoted, err
}

// tellPromoted tells people who moved up from a waiting list.
func (s *Service) tellPromoted(ctx context.Context, b Board, annID int64, promoted []Signup) {
	if len(promoted) == 0 || len(s.dest.People) == 0 {
		return
	}
	a, err := s.repo.Announcement(ctx, b.ID, annID)
	if err != nil {
		return
	}
	for _, su := range promoted {
		s.tell(ctx, b, a, Notice{What: ToldPromoted, Person: su.Person, Confirmed: []string{su.Role}, Key: fmt.Sprint(su.ID, " ", su.UpdatedAt.UnixMilli())})
	}
}

// Withdraw ends p's sign-ups for roles (none: all) of call annID; the
// first on each role's waiting list moves up. It returns the sign-ups
// promoted, whose people may be told. The ledger keeps it, with why
// (WhyLink, WhyEditor).
func (s *Service) Withdraw(ctx context.Context, b Board, annID int64, p Person, roles []string, why string) (withdrawn int, promoted []Signup, err error) {
	err = s.repo.InTx(ctx, func(tx Tx) error {
		a, call, err := callForUpdate(ctx, tx, b.ID, annID)
		if err != nil {
			return err
		}
		mine, err := tx.SignupsOf(ctx, annID, p)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		var ended []string
		for _, su := range mine {
			if su.State == SignupWithdrawn || (len(roles) > 0 && !slices.Contains(roles, su.Role)) {
				continue
			}
			if err := tx.SetSignupState(ctx, su.ID, SignupWithdrawn, now); err != nil {
				return err
			}
			withdrawn++
			ended = append(ended, su.Role)
			if su.State == SignupConfirmed {
				up, err := promoteOne(ctx, tx, annID, call, su.Role, now)
				if err != nil {
					return err
				}
				if up != nil {
					promoted = append(promoted, *up)
				}
			}
		}
		if withdrawn == 0 {
			return nil
		}
		ans := Answer{Origin: Origin{ID: "withdraw:" + newWithdrawToken(), At: now}, BoardID: b.ID, AnnouncementID: annID, Person: p,
			Roles: ended, Outcome: AnswerWithdrawn, Why: why, Result: SignupResult{Dropped: ended}, RecordedAt: now}
		if err := tx.AddAnswer(ctx, ans); err != nil {
			return err
		}
		return tx.AddOutbox(ctx, OutboxEntry{BoardID: b.ID, AnnouncementID: annID, Verb: VerbRefresh, Version: a.Version, CreatedAt: now})
	})
	if err == nil && withdrawn > 0 {
		s.notify()
	}
	if err == nil {
		s.tellPromoted(ctx, b, annID, promoted)
	}
	return withdrawn, promoted, err
}

// RemoveSignup withdraws one sign-up, as an editor does for someone who
// called to say they cannot come.
func (s *Service) RemoveSignup(ctx context.Context, actor Actor, b Board, annID, signupID int64) error {
	if err := RequirePublisher(actor, "remove a sign-up"); err != nil {
		return err
	}
	list, err := s.repo.Signups(ctx, annID)
	if err != nil {
		return err
	}
	for _, su := range list {
		if su.ID == signupID && su.State != SignupWithdrawn {
			_, _, err := s.Withdraw(ctx, b, annID, su.Person, []string{su.Role}, WhyEditor)
			return err
		}
	}
	return ErrNotFound
}

// SetClosed closes a call early (or reopens it): an edit like any other,
// so followers and rooms see the poll closed or open again.
func (s *Service) SetClosed(ctx context.Context, actor Actor, b Board, annID int64, closed bool) (Announcement, error) {
	if err := RequirePublisher(actor, "open or close sign-ups"); err != nil {
		return Announcement{}, err
	}
	return s.Update(ctx, actor, b, annID, func(d *Draft) error {
		if (d.Kind != KindCall && d.Kind != KindTraining) || d.Call == nil {
			return ErrNotACall
		}
		d.Call.Closed = closed
		return nil
	})
}

// WithdrawByToken withdraws the sign-ups made with a withdraw link's token.
func (s *Service) WithdrawByToken(ctx context.Context, b Board, annID int64, token string) (int, error) {
	p, err := s.repo.SignupPerson(ctx, annID, HashToken(token))
	if err != nil {
		return 0, err
	}
	n, _, err := s.Withdraw(ctx, b, annID, p, nil, WhyLink)
	return n, err
}

// What a private withdraw link stands for now.
const (
	LinkUnknown   = "unknown"   // no sign-up to annID has this link
	LinkActive    = "active"    // a sign-up (confirmed or waiting) to withdraw
	LinkWithdrawn = "withdrawn" // its sign-ups are all withdrawn already
)

// WithdrawLink says what token, a private withdraw link of a sign-up to
// annID, stands for: the withdraw page asks before offering to withdraw
// anyone, and says so when there is nothing left to withdraw.
func (s *Service) WithdrawLink(ctx context.Context, b Board, annID int64, token string) (string, error) {
	p, err := s.repo.SignupPerson(ctx, annID, HashToken(token))
	if errors.Is(err, ErrNotFound) {
		return LinkUnknown, nil
	}
	if err != nil {
		return "", err
	}
	list, err := s.repo.Signups(ctx, annID)
	if err != nil {
		return "", err
	}
	for _, su := range list {
		if su.Person.Kind == p.Kind && su.Person.ID == p.ID && su.State != SignupWithdrawn {
			return LinkActive, nil
		}
	}
	return LinkWithdrawn, nil
}

func newWithdrawToken() string {
	raw := make([]byte, 18)
	_, _ = rand.Read(raw)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// callForUpdate reads a live call inside tx (the writer's transaction, so
// two sign-ups for the last place are decided one after the other).
func callForUpdate(ctx context.Context, tx Tx, boardID, annID int64) (Announcement, *Call, error) {
	a, err := tx.Announcement(ctx, boardID, annID)
	if err != nil {
		return a, nil, err
	}
	if a.DeletedAt != nil {
		return a, nil, ErrGone
	}
	if !a.TakesSignups() {
		return a, nil, ErrNotACall
	}
	return a, a.Call, nil
}

// promoteOne fills a freed place of role from its waiting list, and says
// who moved up (nil: nobody waited, or the place is still taken).
func promoteOne(ctx context.Context, tx Tx, annID int64, call *Call, role string, now time.Time) (*Signup, error) {
	taken, err := tx.CountSignups(ctx, annID, role, SignupConfirmed)
	if err != nil || taken >= call.Places(role) {
		return nil, err
	}
	next, ok, err := tx.FirstWaiting(ctx, annID, role)
	if err != nil || !ok {
		return nil, err
	}
	if err := tx.SetSignupState(ctx, next.ID, SignupConfirmed, now); err != nil {
		return nil, err
	}
	next.State = SignupConfirmed
	return &next, nil
}

// Origin is where an answer comes from and when it was given: a Matrix
// event id, an ActivityPub activity id, a web form's key. An answer counts
// once, however often its origin comes back (a redelivery, a restart, a
// room rejoined and its history synced again), and never over a newer
// answer of the same person.
type Origin struct {
	ID string    `json:"origin"`
	At time.Time `json:"given_at"`
}

// Answer is one answer in the ledger of a call's answers: who, from where,
// what, and what became of it.
type Answer struct {
	Origin
	BoardID        int64    `json:"-"`
	AnnouncementID int64    `json:"-"`
	Person         Person   `json:"person"`
	Roles          []string `json:"roles"`
	// Outcome is AnswerApplied, AnswerRefused, AnswerSuperseded or
	// AnswerWithdrawn; Why says more (a refusal's reason, who withdrew).
	Outcome string `json:"outcome"`
	Why     string `json:"why,omitempty"`
	// Result is what an applied answer did to each role.
	Result     SignupResult `json:"result"`
	RecordedAt time.Time    `json:"recorded_at"`
}

// What became of an answer.
const (
	AnswerApplied    = "applied"
	AnswerRefused    = "refused"    // closed, no such role: nothing changed
	AnswerSuperseded = "superseded" // older than one already taken: nothing changed
	AnswerWithdrawn  = "withdrawn"  // by the person's link, or by an editor
)

// Why an answer was refused, or who withdrew a sign-up.
const (
	WhyClosed     = "closed"
	WhyNoSuchRole = "no_such_role"
	WhyOneRole    = "one_role"
	WhyDuplicate  = "duplicate" // a name and contact already signed up
	WhyLink       = "link"      // the person's withdraw link
	WhyEditor     = "editor"    // an editor removed it
)

// SetAnswer makes p's sign-ups for call annID exactly roles, as a Matrix
// poll response states a person's whole answer (an empty one withdraws),
// and keeps the answer in the ledger under its origin: one already there
// changes nothing (Replayed), nor does one older than p's latest. A
// refused answer (closed, no such role) is kept too, and changes nothing.
func (s *Service) SetAnswer(ctx context.Context, b Board, annID int64, p Person, roles []string, o Origin) (SignupResult, error) {
	return s.answer(ctx, b, annID, p, roles, o, true)
}

// answer is the one way an answer from anywhere reaches the sign-ups:
// looked up in the ledger by its origin, decided, and kept there with
// what became of it, in one transaction. A whole answer (exact) older
// than the person's latest is superseded; a refused one changes nothing
// already held, and sends the counts out again to every channel, where
// clients may have counted it.
func (s *Service) answer(ctx context.Context, b Board, annID int64, p Person, roles []string, o Origin, exact bool) (SignupResult, error) {
	if p.Kind == "" || p.ID == "" || o.ID == "" {
		return SignupResult{}, errors.New("an answer without a person or an origin")
	}
	if o.At.IsZero() {
		o.At = s.now().UTC()
	}
	var res SignupResult
	var promoted []Signup
	var refused error
	err := s.repo.InTx(ctx, func(tx Tx) error {
		seen, latest, err := tx.AnswerSeen(ctx, o.ID, annID, p)
		if err != nil {
			return err
		}
		if seen {
			// Said again as it stands: what the person holds of roles.
			res.Replayed = true
			mine, err := tx.SignupsOf(ctx, annID, p)
			for _, su := range mine {
				if su.State != SignupWithdrawn && slices.Contains(roles, su.Role) {
					res.Already = append(res.Already, su.Role)
				}
			}
			return err
		}
		ans := Answer{Origin: o, BoardID: b.ID, AnnouncementID: annID, Person: p, Roles: roles, Outcome: AnswerApplied, RecordedAt: s.now().UTC()}
		if exact && o.At.Before(latest) {
			res.Replayed = true
			ans.Outcome = AnswerSuperseded
			return tx.AddAnswer(ctx, ans)
		}
		res, promoted, err = s.signUpIn(ctx, tx, b, annID, p, roles, exact)
		if why := refusalOf(err); why != "" {
			// Refused before anything was written: kept in the ledger, so
			// its replay is not tried again, and said to the caller.
			refused, ans.Outcome, ans.Why = err, AnswerRefused, why
			// A web form counts nothing on the reader's side: a duplicate
			// has no count to put right elsewhere.
			if why != WhyDuplicate {
				cur, err := tx.Announcement(ctx, b.ID, annID)
				if err != nil {
					return err
				}
				if err := tx.AddOutbox(ctx, OutboxEntry{BoardID: b.ID, AnnouncementID: annID, Verb: VerbRefresh, Version: cur.Version, CreatedAt: s.now().UTC()}); err != nil {
					return err
				}
			}
		} else if err != nil {
			return err
		}
		ans.Result = res
		ans.Result.WithdrawToken = ""
		return tx.AddAnswer(ctx, ans)
	})
	if err != nil {
		return res, err
	}
	if res.Changed() || (refused != nil && !errors.Is(refused, ErrDuplicate)) || len(res.Full) > 0 {
		s.notify()
	}
	s.tellPromoted(ctx, b, annID, promoted)
	if len(res.Confirmed)+len(res.Waiting) > 0 && len(s.dest.People) > 0 {
		if a, err := s.repo.Announcement(ctx, b.ID, annID); err == nil {
			s.tell(ctx, b, a, Notice{What: ToldSignedUp, Person: p, Confirmed: res.Confirmed, Waiting: res.Waiting, WithdrawToken: res.WithdrawToken, Key: o.ID})
		}
	}
	return res, refused
}

// refusalOf names why an answer was refused, for the ledger; empty when
// err is no refusal.
func refusalOf(err error) string {
	var unknown *UnknownRoleError
	var invalid *ValidationError
	switch {
	case errors.Is(err, ErrCallClosed):
		return WhyClosed
	case errors.As(err, &unknown):
		return WhyNoSuchRole
	case errors.As(err, &invalid):
		return WhyOneRole
	case errors.Is(err, ErrDuplicate):
		return WhyDuplicate
	}
	return "" // not a refusal: accepted, or a failure to report
}

// notADuplicate refuses a web sign-up whose name and contact are those of
// someone signed up from another form: the same person sending the form
// again from a new page (or a script sending it a thousand times) is one
// person. Without a contact, a name alone says nothing (two Maries).
func notADuplicate(ctx context.Context, tx Tx, annID int64, p Person) error {
	if p.Kind != PersonWeb || strings.TrimSpace(p.Contact) == "" {
		return nil
	}
	others, err := tx.SignupsOfKind(ctx, annID, PersonWeb)
	if err != nil {
		return err
	}
	name, contact := sameName(p.Name), sameContact(p.Contact)
	for _, su := range others {
		if su.State != SignupWithdrawn && su.Person.ID != p.ID && sameName(su.Person.Name) == name && sameContact(su.Person.Contact) == contact {
			return ErrDuplicate
		}
	}
	return nil
}

// sameName folds what differs between two spellings of one name typed
// twice: case and spacing.
func sameName(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }

// sameContact folds what differs between two spellings of one contact:
// case and spaces, and in a phone number its dots, dashes and brackets.
func sameContact(s string) string {
	s = strings.ToLower(strings.Join(strings.Fields(s), ""))
	if strings.ContainsAny(s, "@:") {
		return s // an address (e-mail, Matrix, fediverse)
	}
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(".-()/", r) {
			return -1
		}
		return r
	}, s)
}

// PhonePerson is someone an editor signs up by hand (they called, they
// came by): a person of their own, with a fresh id.
func PhonePerson(name, contact string) Person {
	return Person{Kind: PersonEditor, ID: "editor:" + newWithdrawToken(), Name: name, Contact: contact}
}
