package matrix

import (
	"context"
	"slices"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"crieur/board"
)

// Run keeps one sync loop per configured account until ctx is done;
// saving an account through the API restarts its loop.
func (b *Bridge) Run(ctx context.Context) {
	b.mu.Lock()
	b.runCtx = ctx
	b.mu.Unlock()
	accts, err := b.store.Accounts(ctx)
	if err != nil {
		b.log.Error("matrix: list accounts", "err", err)
	}
	for _, a := range accts {
		b.startSync(a)
	}
	<-ctx.Done()
}

func (b *Bridge) startSync(a Account) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if cancel, ok := b.syncs[a.BoardID]; ok {
		cancel()
		delete(b.syncs, a.BoardID)
	}
	if b.runCtx == nil || b.runCtx.Err() != nil {
		return
	}
	ctx, cancel := context.WithCancel(b.runCtx)
	b.syncs[a.BoardID] = cancel
	go b.syncLoop(ctx, a)
}

func (b *Bridge) stopSync(boardID int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if cancel, ok := b.syncs[boardID]; ok {
		cancel()
		delete(b.syncs, boardID)
	}
}

// syncLoop follows the bot's rooms: it accepts invites to the board's rooms
// (or from allowed inviters) and records reactions and replies to
// announcements. The sync token is stored, so a restart resumes where it
// stopped; interactions are keyed by event id, so a replay adds nothing.
func (b *Bridge) syncLoop(ctx context.Context, a Account) {
	log := b.log.With("board_id", a.BoardID, "matrix_user", a.UserID)
	cli, err := b.client(a)
	if err != nil {
		log.Error("matrix: sync", "err", err)
		return
	}
	cli.Store = syncStore{db: b.store.db, boardID: a.BoardID}
	syncer := mautrix.NewDefaultSyncer()
	cli.Syncer = syncer
	syncer.OnEventType(event.StateMember, func(ctx context.Context, evt *event.Event) { b.onMember(ctx, cli, a, evt) })
	syncer.OnEventType(event.EventReaction, func(ctx context.Context, evt *event.Event) { b.onReaction(ctx, a, evt) })
	syncer.OnEventType(event.EventMessage, func(ctx context.Context, evt *event.Event) { b.onMessage(ctx, a, evt) })
	backoff := time.Second
	for ctx.Err() == nil {
		err := cli.SyncWithContext(ctx)
		if ctx.Err() != nil {
			return
		}
		err = b.explain(a, "sync", err)
		log.Warn("matrix: sync stopped; retrying", "in", backoff, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Minute)
	}
}

func (b *Bridge) onMember(ctx context.Context, cli *mautrix.Client, a Account, evt *event.Event) {
	m := evt.Content.AsMember()
	if evt.GetStateKey() != a.UserID || m.Membership != event.MembershipInvite {
		return
	}
	allowed := slices.Contains(a.AllowedInviters, evt.Sender.String())
	for _, room := range a.Rooms {
		if room == evt.RoomID.String() {
			allowed = true
		} else if len(room) > 0 && room[0] == '#' {
			if resp, err := cli.ResolveAlias(ctx, id.RoomAlias(room)); err == nil && resp.RoomID == evt.RoomID {
				allowed = true
			}
		}
	}
	if !allowed {
		b.log.InfoContext(ctx, "matrix: ignored invite to a room that is not configured", "room", evt.RoomID, "inviter", evt.Sender)
		return
	}
	if _, err := cli.JoinRoomByID(ctx, evt.RoomID); err != nil {
		b.log.WarnContext(ctx, "matrix: accept invite", "room", evt.RoomID, "err", err)
		return
	}
	b.log.InfoContext(ctx, "matrix: joined on invite", "room", evt.RoomID, "inviter", evt.Sender)
}

func (b *Bridge) record(ctx context.Context, a Account, evt *event.Event, target id.EventID, kind, content string) {
	if evt.Sender.String() == a.UserID || target == "" {
		return
	}
	ann, ok, err := b.store.AnnouncementOf(ctx, evt.RoomID, target)
	if err != nil || !ok {
		return
	}
	in := board.Interaction{Kind: kind, Actor: evt.Sender.String(), ActivityID: evt.ID.String(), Content: content, CreatedAt: time.UnixMilli(evt.Timestamp)}
	if err := b.boards.AddInteraction(ctx, a.BoardID, ann, in); err != nil {
		b.log.ErrorContext(ctx, "matrix: record interaction", "err", err)
	}
}

func (b *Bridge) onReaction(ctx context.Context, a Account, evt *event.Event) {
	r := evt.Content.AsReaction()
	b.record(ctx, a, evt, r.RelatesTo.GetAnnotationID(), "reaction", r.RelatesTo.GetAnnotationKey())
}

func (b *Bridge) onMessage(ctx context.Context, a Account, evt *event.Event) {
	m := evt.Content.AsMessage()
	rel := m.RelatesTo
	if rel == nil || rel.GetReplaceID() != "" {
		return // not a reply, or an edit of one
	}
	target := rel.GetThreadParent()
	if target == "" {
		target = rel.GetReplyTo()
	}
	body := m.Body
	if len(body) > 5000 {
		body = body[:5000]
	}
	b.record(ctx, a, evt, target, "reply", body)
}
