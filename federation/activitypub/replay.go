package activitypub

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"
)

// ReplayLedger keeps the digests of accepted signatures where a restart
// does not forget them (the store): a request captured before an upgrade
// must not be taken again after it, while its Date is still acceptable.
type ReplayLedger interface {
	// FirstSeen records digest as seen until until, and reports whether
	// it was not seen before (or was forgotten since).
	FirstSeen(ctx context.Context, digest []byte, until time.Time) (bool, error)
}

// replays is where the inbox remembers the signatures it accepted.
type replays interface {
	firstTime(ctx context.Context, seen [32]byte, now time.Time) (bool, error)
}

// ledgerReplays remembers them in a ReplayLedger.
type ledgerReplays struct{ ledger ReplayLedger }

func (l ledgerReplays) firstTime(ctx context.Context, seen [32]byte, now time.Time) (bool, error) {
	return l.ledger.FirstSeen(ctx, seen[:], now.Add(replayWindow))
}

// replayWindow is how long a signature stays acceptable: while its Date is
// within the skew on either side of now.
const replayWindow = 2 * maxClockSkew

// replayCache remembers the signatures of accepted inbox requests in
// memory (a server without a store: tests) for as long as their Date is
// acceptable: the same signed request sent again (a replay, by whoever
// saw it) is refused instead of acted on twice.
type replayCache struct {
	mu   sync.Mutex
	seen map[[32]byte]time.Time // signature digest -> when it may be forgotten
	max  int
}

func newReplayCache(max int) *replayCache {
	return &replayCache{seen: map[[32]byte]time.Time{}, max: max}
}

// replayKey identifies a signature by what the signer computed: the key
// and the signature bytes. The header around them (labels, parameter
// order, extra parameters) is the sender's to vary and must not make a
// replay look new. Only its digest is kept.
func replayKey(keyID string, signature []byte) [32]byte {
	return sha256.Sum256([]byte(keyID + "\x00" + string(signature)))
}

// firstTime records the signature seen (a replayKey) and reports whether
// it was not seen before.
func (c *replayCache) firstTime(_ context.Context, key [32]byte, now time.Time) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if until, ok := c.seen[key]; ok && now.Before(until) {
		return false, nil
	}
	if len(c.seen) >= c.max {
		for k, until := range c.seen {
			if !now.Before(until) {
				delete(c.seen, k)
			}
		}
		if len(c.seen) >= c.max {
			// Still full of live entries: a flood. Forget the oldest half
			// rather than grow without bound; a replay then needs the
			// flood to outlast it.
			cut := now.Add(maxClockSkew)
			for k, until := range c.seen {
				if until.Before(cut) {
					delete(c.seen, k)
				}
			}
		}
	}
	c.seen[key] = now.Add(replayWindow)
	return true, nil
}
