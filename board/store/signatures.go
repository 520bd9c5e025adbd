package store

import (
	"context"
	"time"
)

// sweepSeenEvery is how often the signatures no longer acceptable are
// deleted: the table holds about two hours of inbox traffic.
const sweepSeenEvery = 10 * time.Minute

// FirstSeen records the digest of a signature the inbox accepted, as seen
// until until, and reports whether it was not seen before (or had been
// forgotten since): activitypub's ReplayLedger, which a restart does not
// empty.
func (s *Store) FirstSeen(ctx context.Context, digest []byte, until time.Time) (bool, error) {
	now := time.Now()
	// One statement decides: a new digest is inserted, a forgotten one
	// renewed, a live one left alone (no row changed: a replay).
	res, err := s.exec(ctx, `INSERT INTO seen_signatures (digest, until) VALUES (?, ?)
		ON CONFLICT (digest) DO UPDATE SET until = excluded.until WHERE seen_signatures.until <= ?`, digest, ms(until), ms(now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	if last := s.seenSwept.Load(); now.UnixMilli()-last > sweepSeenEvery.Milliseconds() && s.seenSwept.CompareAndSwap(last, now.UnixMilli()) {
		if _, err := s.exec(ctx, `DELETE FROM seen_signatures WHERE until <= ?`, ms(now)); err != nil {
			return false, err
		}
	}
	return n == 1, nil
}
