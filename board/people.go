package board

import (
	"context"
	"slices"
)

// Told is what one person who answered a call hears later.
type Told string

// What people are told, each where they can be reached: a direct note on
// the fediverse, a mail to a web registrant who gave an address. (Matrix
// members read the room, where the counts and the cancellation are.)
const (
	ToldSignedUp  Told = "signed_up" // their answer was taken: with the link that withdraws it
	ToldPromoted  Told = "promoted"  // a place freed up and is theirs
	ToldCancelled Told = "cancelled" // the training will not take place
	ToldBackOn    Told = "back_on"   // the cancellation was called off: their place stands
	ToldReminder  Told = "reminder"  // the training is tomorrow
)

// Notice is one thing to tell one person about one announcement.
type Notice struct {
	What   Told
	Person Person
	// Confirmed and Waiting are the roles it is about, by state.
	Confirmed []string
	Waiting   []string
	// WithdrawToken, with ToldSignedUp, is the private key of the link
	// that withdraws the sign-up (never stored in clear).
	WithdrawToken string
	// Key tells one notice from another of the same kind (a reminder's
	// start, a cancellation's version), so a destination sends each once.
	Key string
}

// PersonNotifier tells people, one by one, what concerns them; each
// destination takes the people it can reach and ignores the others.
type PersonNotifier interface {
	Tell(ctx context.Context, b Board, a Announcement, n Notice)
}

// tell hands n to every destination that tells people.
func (s *Service) tell(ctx context.Context, b Board, a Announcement, n Notice) {
	for _, p := range s.dest.People {
		p.Tell(ctx, b, a, n)
	}
}

// tellSignups tells everyone still signed up for a (confirmed or waiting).
func (s *Service) tellSignups(ctx context.Context, b Board, a Announcement, what Told, key string, states ...string) error {
	if len(s.dest.People) == 0 {
		return nil
	}
	list, err := s.repo.Signups(ctx, a.ID)
	if err != nil {
		return err
	}
	for _, su := range list {
		n := Notice{What: what, Person: su.Person, Key: key}
		switch su.State {
		case SignupConfirmed:
			n.Confirmed = []string{su.Role}
		case SignupWaiting:
			n.Waiting = []string{su.Role}
		}
		if len(n.Confirmed)+len(n.Waiting) > 0 && (len(states) == 0 || slices.Contains(states, su.State)) {
			s.tell(ctx, b, a, n)
		}
	}
	return nil
}
