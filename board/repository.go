package board

import (
	"context"
	"time"
)

// Repository is what the service needs of a store: reads, and changes made
// together in one transaction (InTx). The store package implements it; the
// service decides what to write, the store how.
type Repository interface {
	// InTx runs fn in one transaction: everything fn writes through its
	// Tx is kept together, or nothing is when fn returns an error.
	InTx(ctx context.Context, fn func(Tx) error) error

	BoardByName(ctx context.Context, name string) (Board, error)
	BoardByID(ctx context.Context, id int64) (Board, error)
	Boards(ctx context.Context) ([]Board, error)
	CreateBoard(ctx context.Context, b Board) (Board, error)
	UpdateBoard(ctx context.Context, b Board) error

	// Announcement is one announcement of a board with its counts,
	// deleted ones included; ErrNotFound when there is none.
	Announcement(ctx context.Context, boardID, id int64) (Announcement, error)
	// WithCounts fills a call's Taken and Voters from its sign-ups.
	WithCounts(ctx context.Context, a Announcement) (Announcement, error)
	// Due lists scheduled announcements whose time has come and published
	// ones past their expiry, oldest first; NextDue is when the next is.
	Due(ctx context.Context, now time.Time, limit int) ([]Due, error)
	NextDue(ctx context.Context) (time.Time, bool, error)
	// RunningCampaigns lists the published campaigns of every board, to
	// end those that are over.
	RunningCampaigns(ctx context.Context) ([]Announcement, error)
	// TrainingsToRemind lists the published, not cancelled trainings that
	// asked for a reminder.
	TrainingsToRemind(ctx context.Context) ([]Announcement, error)
	// CallsWithDeadline are the published calls and trainings, not closed
	// by an editor, that have a deadline.
	CallsWithDeadline(ctx context.Context) ([]Announcement, error)

	Signups(ctx context.Context, annID int64) ([]Signup, error)
	// SignupPerson is who signed up with the withdraw link whose token
	// hashes to tokenHash; CurrentRoles the roles p holds.
	SignupPerson(ctx context.Context, annID int64, tokenHash string) (Person, error)
	CurrentRoles(ctx context.Context, annID int64, p Person) ([]string, error)

	Followers(ctx context.Context, boardID int64) ([]Follower, error)
	RemoveFollower(ctx context.Context, boardID int64, actorID string) (bool, error)
	AddBlock(ctx context.Context, boardID *int64, domain, actor string, at time.Time) (Block, error)

	Media(ctx context.Context, boardID int64, name string) (Image, error)
	AddMedia(ctx context.Context, boardID int64, im Image, at time.Time) error

	// HostedServices lists a board's services, in no set order;
	// PutHostedService adds one or replaces the one of its slug;
	// DeleteHostedService removes one (ErrNotFound when there is none).
	HostedServices(ctx context.Context, boardID int64) ([]HostedService, error)
	PutHostedService(ctx context.Context, boardID int64, h HostedService) error
	DeleteHostedService(ctx context.Context, boardID int64, slug string) error
}

// Tx is what the service writes in one transaction. Reads made through it
// see what it wrote, and a sign-up for the last place is decided inside
// it, one after the other.
type Tx interface {
	// Announcement is one announcement as stored, without counts.
	Announcement(ctx context.Context, boardID, id int64) (Announcement, error)
	// IdempotencyKey is the announcement a key made and the hash of the
	// request that made it; ErrNotFound when the key is new.
	IdempotencyKey(ctx context.Context, boardID int64, key string) (annID int64, requestHash string, err error)
	AddIdempotencyKey(ctx context.Context, boardID int64, key, requestHash string, annID int64, at time.Time) error
	// InsertAnnouncement stores a new announcement and sets its ID.
	InsertAnnouncement(ctx context.Context, boardID int64, a *Announcement) error
	// UpdateAnnouncement replaces an announcement's content, status and
	// times, if it is still at prevVersion and prevUpdated (two editors,
	// or an editor and the scheduler, must not overwrite each other).
	UpdateAnnouncement(ctx context.Context, boardID int64, a *Announcement, prevVersion int, prevUpdated time.Time) error
	// SaveDetails keeps a's details (what a campaign raised, the
	// milestones announced, the reminder sent) and nothing else.
	SaveDetails(ctx context.Context, a Announcement) error
	MarkDeleted(ctx context.Context, id int64, at time.Time) error
	SetPinned(ctx context.Context, id int64, pinned bool, at time.Time) error
	// AddOutbox writes what must be sent everywhere, with the change it
	// comes from.
	AddOutbox(ctx context.Context, e OutboxEntry) error

	SignupsOf(ctx context.Context, annID int64, p Person) ([]Signup, error)
	// SignupsOfKind lists the sign-ups to annID from one kind of place
	// (web forms), for what can only be decided looking at all of them.
	SignupsOfKind(ctx context.Context, annID int64, kind string) ([]Signup, error)
	CountSignups(ctx context.Context, annID int64, role, state string) (int, error)
	AddSignup(ctx context.Context, boardID int64, su Signup, tokenHash string) error
	SetSignupState(ctx context.Context, id int64, state string, at time.Time) error
	// FirstWaiting is the oldest sign-up on role's waiting list.
	FirstWaiting(ctx context.Context, annID int64, role string) (Signup, bool, error)
	// AnswerSeen says whether the ledger holds an answer from origin,
	// and when p's latest answer to annID was given (zero: none).
	AnswerSeen(ctx context.Context, origin string, annID int64, p Person) (seen bool, latest time.Time, err error)
	// AddAnswer keeps an answer in the ledger.
	AddAnswer(ctx context.Context, a Answer) error
}

// Due is an announcement the scheduler must look at.
type Due struct{ BoardID, ID int64 }
