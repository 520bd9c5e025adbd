package matrix

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"crieur/board"
	"crieur/federation/delivery"
)

// A homeserver may answer a send with an event id and then never show the
// event: Dendrite builds the event against the room's state when the
// request comes, and if a kick of the bot is processed between that and the
// event's own turn, the event is "soft-failed" (stored, never relayed to
// clients) while the client still gets 200 and an event id
// (roomserver/internal/input/input_events.go, processRoomEvent: a
// soft-failed event without a rejection error returns nil). The spec's
// server-server API says soft-failed events are not relayed to clients.
// Crieur would then count as shown an edit with the last counts, or the
// end of a poll, that the room never got, and nothing would send it again.
//
// So the bridge remembers what it sent in the last moments, and when the
// bot is invited back into a room it was removed from, it reads the room's
// timeline: whatever it sent from lostWindow before the removal on and
// cannot find there is forgotten and sent again, with fresh transaction
// ids (the homeserver answers a transaction id it saw with the first
// answer, the dropped event). The memory is the process's: a restart
// between the removal and the invite leaves the room as it was.
//
// The removal's time is the homeserver's clock and a send's is ours: the
// minute also covers a difference between the two.
const lostWindow = time.Minute

// sentEvent is one event a homeserver answered for.
type sentEvent struct {
	at  time.Time
	txn string
	ev  id.EventID
}

// roomSends is what was sent to one room, and the removal waiting for the
// bot's return, if any.
type roomSends struct {
	sent      []sentEvent
	removedBy id.EventID // the kick or ban
	removedAt time.Time  // its timestamp, the homeserver's clock
}

// sentLog remembers, per room, the events sent within lostWindow, and all
// of them from lostWindow before a removal until the bot's return.
type sentLog struct {
	mu    sync.Mutex
	rooms map[id.RoomID]*roomSends
	now   func() time.Time
}

func newSentLog() *sentLog {
	return &sentLog{rooms: map[id.RoomID]*roomSends{}, now: time.Now}
}

// maxSent bounds a room's memory (a board posting without pause).
const maxSent = 1000

// of is room's memory, made on first use; l.mu is held.
func (l *sentLog) of(room id.RoomID) *roomSends {
	r := l.rooms[room]
	if r == nil {
		r = &roomSends{}
		l.rooms[room] = r
	}
	return r
}

func (l *sentLog) record(room id.RoomID, txn string, ev id.EventID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.of(room)
	now := l.now()
	keepFrom := now.Add(-lostWindow)
	if r.removedBy != "" {
		keepFrom = r.removedAt.Add(-lostWindow)
	}
	r.sent = slices.DeleteFunc(r.sent, func(s sentEvent) bool { return s.at.Before(keepFrom) })
	if len(r.sent) >= maxSent {
		r.sent = r.sent[1:]
	}
	r.sent = append(r.sent, sentEvent{at: now, txn: txn, ev: ev})
}

// removed notes that the bot was removed from room by evt at when: what
// was sent from lostWindow before it is kept until the bot returns.
func (l *sentLog) removed(room id.RoomID, evt id.EventID, when time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// Made even if nothing was sent lately: a send still on its way may
	// yet be answered for.
	r := l.of(room)
	r.removedBy, r.removedAt = evt, when
}

// returned takes what may have been dropped around the removal the bot is
// back from: the removal, and the events sent from lostWindow before it on.
func (l *sentLog) returned(room id.RoomID) (removedBy id.EventID, removedAt time.Time, doubtful []sentEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.rooms[room]
	if r == nil || r.removedBy == "" {
		return "", time.Time{}, nil
	}
	removedBy, removedAt = r.removedBy, r.removedAt
	from := removedAt.Add(-lostWindow)
	for _, s := range r.sent {
		if !s.at.Before(from) {
			doubtful = append(doubtful, s)
		}
	}
	delete(l.rooms, room)
	return removedBy, removedAt, doubtful
}

// retakeLost runs when the bot is back in a room it was removed from: the
// events it sent around the removal that the room's timeline does not
// show are forgotten, and each announcement they belonged to is sent
// again (its message posted or edited to the current version, its poll
// and pictures as they should be; a deleted post's redactions anew). The
// jobs are keyed by the removal, so a sync that hands the same kick and
// invite over again adds none.
func (b *Bridge) retakeLost(ctx context.Context, cli *mautrix.Client, a Account, room id.RoomID, names []string) {
	removedBy, removedAt, doubtful := b.sent.returned(room)
	if len(doubtful) == 0 || b.queue == nil {
		return
	}
	shown, err := b.timelineSince(ctx, cli, room, removedAt.Add(-2*lostWindow))
	if err != nil {
		// Better a message not corrected than one posted twice.
		b.log.WarnContext(ctx, "matrix: cannot read the room back to check what it got before the bot was removed", "room", room, "err", err)
		return
	}
	bd, err := b.boards.BoardByID(ctx, a.BoardID)
	if err != nil {
		b.log.ErrorContext(ctx, "matrix: board of a room the bot is back in", "err", err)
		return
	}
	sum := sha256.Sum256([]byte(removedBy))
	retake := hex.EncodeToString(sum[:4])
	type post struct {
		ann  int64
		room string
	}
	again := map[post]board.Verb{}
	for _, s := range doubtful {
		if shown[s.ev] {
			continue
		}
		ann, hash, what, ok := parseTxnID(s.txn)
		if !ok {
			continue
		}
		for _, name := range names {
			if roomHash(name) != hash {
				continue
			}
			if err := b.store.ForgetLost(ctx, ann, name, what, s.ev); err != nil {
				b.log.ErrorContext(ctx, "matrix: forget an event the room never got", "err", err)
				continue
			}
			b.log.InfoContext(ctx, "matrix: the homeserver took an event but the room never showed it; sending it again",
				"room", room, "board", bd.Name, "announcement", ann, "sent", what, "event", s.ev, "removed_by", removedBy)
			// A lost redaction of a deleted post: the deletion goes again
			// (each of its events redacted anew). Anything else: the post
			// as it is now.
			k := post{ann, name}
			if strings.HasPrefix(what, "delete-") || strings.HasPrefix(what, "img-delete-") {
				again[k] = board.VerbDelete
			} else if again[k] == "" {
				again[k] = board.VerbUpdate
			}
		}
	}
	if len(again) == 0 {
		return
	}
	jobs := make([]delivery.Job, 0, len(again))
	for k, verb := range again {
		p, _ := json.Marshal(sendPayload{Board: bd.Name, AnnouncementID: k.ann, Verb: verb, Room: k.room, Retake: retake})
		jobs = append(jobs, delivery.Job{ID: fmt.Sprintf("mx:retake:%s:%d:%s", removedBy, k.ann, k.room), Kind: KindSend, Target: k.room, Payload: p})
	}
	if err := b.queue.Enqueue(ctx, jobs...); err != nil {
		b.log.ErrorContext(ctx, "matrix: queue the sends of what the room never got", "room", room, "err", err)
	}
}

// timelineSince lists the events a member reads in room, newest first,
// back to since (by the homeserver's clock) or to the room's start; what a
// homeserver soft-failed is not among them.
func (b *Bridge) timelineSince(ctx context.Context, cli *mautrix.Client, room id.RoomID, since time.Time) (map[id.EventID]bool, error) {
	shown := map[id.EventID]bool{}
	from := ""
	for range 20 { // 2,000 events: more than a minute of any room
		resp, err := cli.Messages(ctx, room, from, "", mautrix.DirectionBackward, nil, 100)
		if err != nil {
			return nil, err
		}
		for _, evt := range resp.Chunk {
			shown[evt.ID] = true
		}
		if len(resp.Chunk) == 0 || resp.End == "" || time.UnixMilli(resp.Chunk[len(resp.Chunk)-1].Timestamp).Before(since) {
			return shown, nil
		}
		from = resp.End
	}
	return nil, fmt.Errorf("more than 2,000 events since %s", since.Format(time.RFC3339))
}
