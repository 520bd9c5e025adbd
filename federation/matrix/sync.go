package matrix

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"crieur/board"
	"crieur/board/locale"
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

// syncLoopHandle stops a board's sync loop and tells when it has.
type syncLoopHandle struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (b *Bridge) startSync(a Account) {
	b.stopSync(a.BoardID)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.runCtx == nil || b.runCtx.Err() != nil {
		return
	}
	ctx, cancel := context.WithCancel(b.runCtx)
	h := syncLoopHandle{cancel: cancel, done: make(chan struct{})}
	b.syncs[a.BoardID] = h
	go func() {
		defer close(h.done)
		b.syncLoop(ctx, a)
	}()
}

// stopSync ends a board's sync loop and waits for it (a few seconds at
// most), so that no request of its is in flight when its token is ended.
func (b *Bridge) stopSync(boardID int64) {
	b.mu.Lock()
	h, ok := b.syncs[boardID]
	delete(b.syncs, boardID)
	b.mu.Unlock()
	if !ok {
		return
	}
	h.cancel()
	select {
	case <-h.done:
	case <-time.After(5 * time.Second):
	}
}

// syncLoop follows the bot's rooms: it accepts invites to the board's rooms
// (or from allowed inviters) and records reactions and replies to
// announcements. The sync token is stored, so a restart resumes where it
// stopped; interactions are keyed by event id, so a replay adds nothing.
func (b *Bridge) syncLoop(ctx context.Context, a Account) {
	log := b.log.With("board_id", a.BoardID, "matrix_user", a.UserID)
	go func() {
		t := time.NewTicker(b.membershipEvery)
		defer t.Stop()
		missing := map[id.RoomID]bool{} // rooms that could not be read at the last check
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if s, err := b.sessionFor(ctx, a); err == nil {
					missing = b.checkMembership(ctx, s.cli, s.account(), missing)
				}
			}
		}
	}()
	backoff := time.Second
	for ctx.Err() == nil {
		s, err := b.sessionFor(ctx, a)
		if err == nil {
			if s.cryptoErr != nil {
				log.Warn("matrix: no end-to-end encryption; encrypted rooms get nothing", "err", s.cryptoErr)
			}
			err = s.cli.SyncWithContext(ctx)
		}
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

// handle registers the bridge's handlers on a session's syncer, once: they
// read the session's current account when an event comes. Decrypted
// events come to them too (cryptohelper dispatches them to the syncer).
func (b *Bridge) handle(s *session) {
	syncer, cli := s.syncer, s.cli
	syncer.OnEventType(event.StateMember, func(ctx context.Context, evt *event.Event) { b.onMember(ctx, cli, s.account(), evt) })
	syncer.OnEventType(event.EventReaction, func(ctx context.Context, evt *event.Event) { b.onReaction(ctx, s.account(), evt) })
	syncer.OnEventType(event.EventMessage, func(ctx context.Context, evt *event.Event) {
		a := s.account()
		b.onEcho(ctx, cli, a, evt)
		b.onMessage(ctx, a, evt)
	})
	syncer.OnEventType(event.EventUnstablePollStart, func(ctx context.Context, evt *event.Event) { b.onEcho(ctx, cli, s.account(), evt) })
	syncer.OnEventType(event.StatePowerLevels, func(ctx context.Context, evt *event.Event) { b.onPowerLevels(ctx, cli, s.account(), evt) })
	syncer.OnEventType(event.StateEncryption, func(ctx context.Context, evt *event.Event) { b.onEncryption(ctx, s, evt) })
	syncer.OnEventType(event.EventRedaction, func(ctx context.Context, evt *event.Event) { b.onRedaction(ctx, evt) })
	for _, t := range pollResponseTypes {
		syncer.OnEventType(t, func(ctx context.Context, evt *event.Event) { b.onPollResponse(ctx, s, s.account(), evt) })
	}
	syncer.OnSync(func(ctx context.Context, resp *mautrix.RespSync, since string) bool {
		if since == "" {
			b.removedBeforeSync(ctx, cli, s.account(), resp)
		}
		return true
	})
}

// onEncryption tells the operator, in the room's status, when one of the
// board's rooms was made encrypted in a way Crieur cannot serve: from then
// on its messages wait (sendEvent refuses to post in clear).
func (b *Bridge) onEncryption(ctx context.Context, s *session, evt *event.Event) {
	a := s.account()
	names := b.configuredAs(ctx, s.cli, a, evt.RoomID)
	if len(names) == 0 {
		return
	}
	enc := evt.Content.AsEncryption()
	var why error
	switch {
	case enc.Algorithm != id.AlgorithmMegolmV1:
		why = &ErrUnsupportedEncryption{Room: evt.RoomID.String(), Algorithm: enc.Algorithm}
	case s.mach == nil:
		why = fmt.Errorf("%s was made end-to-end encrypted and %v; Crieur does not post there in clear", evt.RoomID, s.cryptoErr)
	default:
		b.log.InfoContext(ctx, "matrix: room encrypted; messages go encrypted", "room", evt.RoomID)
		return
	}
	b.log.WarnContext(ctx, "matrix: room cannot be served encrypted", "room", evt.RoomID, "err", why)
	for _, n := range names {
		_ = b.store.SetRoomStatus(ctx, a.BoardID, n, why.Error())
	}
}

func (b *Bridge) onMember(ctx context.Context, cli *mautrix.Client, a Account, evt *event.Event) {
	m := evt.Content.AsMember()
	if evt.GetStateKey() != a.UserID {
		return
	}
	if (m.Membership == event.MembershipLeave || m.Membership == event.MembershipBan) && evt.Sender.String() != a.UserID {
		if b.inRoomNow(ctx, cli, a, evt.RoomID) {
			// History: the sync of a room the bot was invited back into
			// hands its past kick over again, before the invite.
			return
		}
		b.onRemoved(ctx, cli, a, evt, m)
		return
	}
	if m.Membership == event.MembershipLeave {
		// The bot's account left from another session (Crieur itself
		// never leaves a configured room).
		b.notIn(ctx, a, b.configuredAs(ctx, cli, a, evt.RoomID), evt.RoomID, time.UnixMilli(evt.Timestamp), fmt.Sprintf("the bot's account left %s from another session", evt.RoomID))
		return
	}
	if m.Membership != event.MembershipInvite || b.inRoomNow(ctx, cli, a, evt.RoomID) {
		// Not an invite, or one the sync hands over again after the bot
		// joined.
		return
	}
	names := b.configuredAs(ctx, cli, a, evt.RoomID)
	allowed := len(names) > 0 || slices.Contains(a.AllowedInviters, evt.Sender.String())
	if !allowed {
		b.log.InfoContext(ctx, "matrix: ignored invite to a room that is not configured", "room", evt.RoomID, "inviter", evt.Sender)
		return
	}
	if _, err := cli.JoinRoomByID(ctx, evt.RoomID); err != nil {
		b.log.WarnContext(ctx, "matrix: accept invite", "room", evt.RoomID, "err", err)
		return
	}
	b.log.InfoContext(ctx, "matrix: joined on invite", "room", evt.RoomID, "inviter", evt.Sender)
	if err := b.store.ClearRemoved(ctx, a.BoardID, names...); err != nil {
		b.log.ErrorContext(ctx, "matrix: clear removal", "err", err)
	}
	for _, n := range names {
		_ = b.store.SetRoomStatus(ctx, a.BoardID, n, "ok")
	}
	b.hurry(ctx, names) // messages that waited for the invite
	b.retakeLost(ctx, cli, a, evt.RoomID, names)
}

// inRoomNow reads the bot's membership of room as the room has it now;
// false if it cannot be read.
func (b *Bridge) inRoomNow(ctx context.Context, cli *mautrix.Client, a Account, room id.RoomID) bool {
	var m event.MemberEventContent
	if err := cli.StateEvent(ctx, room, event.StateMember, a.UserID, &m); err != nil {
		return false
	}
	return m.Membership == event.MembershipJoin
}

// onRemoved respects a kick or a ban: it is the room's decision, so the bot
// stops posting there (and does not rejoin a public room by itself) until
// it is invited again or the set-up is saved again.
func (b *Bridge) onRemoved(ctx context.Context, cli *mautrix.Client, a Account, evt *event.Event, m *event.MemberEventContent) {
	names := b.configuredAs(ctx, cli, a, evt.RoomID)
	if len(names) == 0 {
		return
	}
	how := "kicked from"
	if m.Membership == event.MembershipBan {
		how = "banned from"
	}
	reason := fmt.Sprintf("the bot was %s %s by %s", how, evt.RoomID, evt.Sender)
	if m.Reason != "" {
		reason += " (" + m.Reason + ")"
	}
	// Recorded before the joins are forgotten: a delivery between the two
	// would find the room neither joined nor refused, and join it again
	// (a public room lets the bot straight back in).
	for _, n := range names {
		if err := b.store.SetRemoved(ctx, a.BoardID, n, reason); err != nil {
			b.log.ErrorContext(ctx, "matrix: record removal", "err", err)
		}
		_ = b.store.SetRoomStatus(ctx, a.BoardID, n, reason+": Crieur no longer posts there until the bot is invited again or the set-up is saved again")
	}
	b.forgetRooms(a.BoardID)
	b.sent.removed(evt.RoomID, evt.ID, time.UnixMilli(evt.Timestamp))
	b.log.WarnContext(ctx, "matrix: removed from a room; not posting there any more", "room", evt.RoomID, "by", evt.Sender, "reason", m.Reason)
}

// notIn records that the bot is no longer in a configured room, for a
// reason that is not the room's decision (a kick or a ban is: onRemoved):
// its status says so at once, and the next post joins again if the room
// lets it (and says why not otherwise).
//
// at is when the bot left: news older than the room's status (a leave that
// a lagging sync or state read hands over after the next post joined the
// room again and set it "ok") changes nothing.
func (b *Bridge) notIn(ctx context.Context, a Account, names []string, room id.RoomID, at time.Time, why string) {
	changed := false
	for _, n := range names {
		ok, err := b.store.SetRoomStatusSince(ctx, a.BoardID, n, why+": Crieur joins it again with the next post if the room lets it in; otherwise invite the bot again", at)
		if err != nil {
			b.log.ErrorContext(ctx, "matrix: record room status", "err", err)
		}
		changed = changed || ok
	}
	if !changed {
		return
	}
	b.forgetRooms(a.BoardID)
	b.log.WarnContext(ctx, "matrix: not in a configured room any more", "room", room, "why", why)
}

// checkMembership compares the rooms the bot is in (the homeserver's
// joined_rooms) with the configured ones every membershipEvery: a room
// can go without a member event reaching the bot's sync (an
// administrator's purge: Dendrite's PerformAdminPurgeRoom deletes the
// room from the sync API's tables and tells nobody), and a status must
// not say "ok" until a post fails there.
//
// A room that cannot be read at all is called gone only when it could not
// be read at the check before either (missing, returned for the next
// check): a homeserver under load answers for a room just joined late.
func (b *Bridge) checkMembership(ctx context.Context, cli *mautrix.Client, a Account, missing map[id.RoomID]bool) map[id.RoomID]bool {
	joined, err := cli.JoinedRooms(ctx)
	if err != nil {
		b.log.DebugContext(ctx, "matrix: joined rooms", "err", err)
		return missing
	}
	status, err := b.store.RoomStatus(ctx, a.BoardID)
	if err != nil {
		return missing
	}
	still := map[id.RoomID]bool{}
	for _, r := range a.Rooms {
		if status[r] != "ok" {
			continue // never joined yet, or already explained
		}
		room := b.roomOf(ctx, cli, a, r)
		if room == "" {
			_ = b.store.SetRoomStatus(ctx, a.BoardID, r, "the alias "+r+" no longer names a room: set the room again or fix the alias")
			continue
		}
		if slices.Contains(joined.JoinedRooms, room) {
			continue
		}
		// joined_rooms comes from Dendrite's sync tables, which lag behind
		// its room server under load: the room's own state says whether
		// the bot is in, left by itself, or was removed.
		state, err := cli.State(ctx, room)
		if err != nil {
			if missing[room] {
				b.notIn(ctx, a, []string{r}, room, time.Now(), fmt.Sprintf("the bot is no longer in %s (the room may have been deleted on the homeserver)", room))
			} else {
				still[room] = true
			}
			continue
		}
		evt := state[event.StateMember][a.UserID]
		if evt == nil {
			continue
		}
		switch m := evt.Content.AsMember(); {
		case m.Membership == event.MembershipJoin:
		case evt.Sender.String() == a.UserID:
			b.notIn(ctx, a, []string{r}, room, time.UnixMilli(evt.Timestamp), fmt.Sprintf("the bot's account left %s from another session", room))
		case m.Membership == event.MembershipLeave || m.Membership == event.MembershipBan:
			b.onRemoved(ctx, cli, a, evt, m)
		}
	}
	return still
}

// removedBeforeSync finds the kicks and bans that came before an account's
// first sync (between the set-up's joins and that sync, or while Crieur was
// stopped before it ever synced): that sync leaves out the rooms the bot has
// left (the spec's default; Dendrite ignores include_leave there), so they
// would never be seen. A configured room missing from the joined ones is
// read from its state, which the homeserver keeps readable for a member who
// left at the moment they left (Dendrite: clientapi/routing/state.go,
// OnIncomingStateRequest), and its member event goes where a synced one does.
func (b *Bridge) removedBeforeSync(ctx context.Context, cli *mautrix.Client, a Account, resp *mautrix.RespSync) {
	for _, r := range a.Rooms {
		room := b.roomOf(ctx, cli, a, r)
		if room == "" {
			continue
		}
		if _, joined := resp.Rooms.Join[room]; joined {
			continue
		}
		state, err := cli.State(ctx, room)
		if err != nil {
			// Never joined (an invite still to come) or gone: nothing to respect.
			b.log.DebugContext(ctx, "matrix: state of a room the bot is not in", "room", room, "err", err)
			continue
		}
		evt := state[event.StateMember][a.UserID]
		if evt == nil {
			continue
		}
		m := evt.Content.AsMember()
		if (m.Membership == event.MembershipLeave || m.Membership == event.MembershipBan) && evt.Sender.String() != a.UserID {
			b.onRemoved(ctx, cli, a, evt, m)
		}
	}
}

// onRedaction forgets a reaction or reply that was redacted, by its sender
// or a moderator.
func (b *Bridge) onRedaction(ctx context.Context, evt *event.Event) {
	target := evt.Redacts
	if target == "" {
		if r := evt.Content.AsRedaction(); r != nil {
			target = r.Redacts
		}
	}
	if target == "" {
		return
	}
	if err := b.boards.ForgetInteraction(ctx, target.String()); err != nil {
		b.log.ErrorContext(ctx, "matrix: forget redacted interaction", "err", err)
	}
}

// replyToAnswer tells a voter, in a reply to their answer, that it was not
// taken (closed, no such role, full), in the announcement's language. The
// room's members can read it, as they can read the answer itself (the
// README says so). Its transaction id is the answer's: sent once.
func (b *Bridge) replyToAnswer(ctx context.Context, s *session, bd board.Board, annID int64, evt *event.Event, answers []string, res board.SignupResult, refusal error) {
	a, err := b.boards.Announcement(ctx, bd.ID, annID)
	if err != nil {
		b.log.ErrorContext(ctx, "matrix: reply to an answer", "err", err)
		return
	}
	l := locale.Of(bd, a)
	role := ""
	if len(answers) > 0 {
		role = answers[0]
	}
	text := l.VoteResult(a, role, res)
	if refusal != nil {
		text = l.VoteRefused(a, role, refusal)
	}
	content := &event.MessageEventContent{MsgType: event.MsgNotice, Body: text, Mentions: &event.Mentions{UserIDs: []id.UserID{evt.Sender}}}
	content.SetReply(evt)
	sum := sha256.Sum256([]byte(evt.ID))
	if _, err := b.sendEvent(ctx, s, evt.RoomID, event.EventMessage, content, "crieur-answer-"+hex.EncodeToString(sum[:8])); err != nil {
		b.log.WarnContext(ctx, "matrix: reply to an answer", "room", evt.RoomID, "err", err)
	}
}

// pollResponseTypes are MSC3381's final name of a poll response and the
// unstable one clients send today; matrix-js-sdk reads both (M_POLL_RESPONSE
// in src/@types/polls.ts, an UnstableValue of the two).
var pollResponseTypes = []event.Type{
	{Type: "m.poll.response", Class: event.MessageEventType},
	event.EventUnstablePollResponse,
}

// pollAnswers reads a poll response as matrix-js-sdk does
// (PollResponseEvent.validateAgainst: M_POLL_RESPONSE.findIn(content), the
// final key first): the poll it answers, by its m.reference relation, and
// the answer ids. An empty list withdraws the voter's answer.
func pollAnswers(evt *event.Event) (poll id.EventID, answers []string, ok bool) {
	type response struct {
		Answers []string `json:"answers"`
	}
	var c struct {
		RelatesTo struct {
			RelType string     `json:"rel_type"`
			EventID id.EventID `json:"event_id"`
		} `json:"m.relates_to"`
		Final    *response `json:"m.poll.response"`
		Unstable *response `json:"org.matrix.msc3381.poll.response"`
	}
	if err := json.Unmarshal(evt.Content.VeryRaw, &c); err != nil || c.RelatesTo.RelType != "m.reference" || c.RelatesTo.EventID == "" {
		return "", nil, false
	}
	r := c.Final
	if r == nil {
		r = c.Unstable
	}
	if r == nil || r.Answers == nil {
		return "", nil, false
	}
	return c.RelatesTo.EventID, r.Answers, true
}

// onPollResponse takes a person's latest answer to a call's poll as their
// sign-ups (an empty answer withdraws them), as MSC3381 counts them.
func (b *Bridge) onPollResponse(ctx context.Context, s *session, a Account, evt *event.Event) {
	if evt.Sender.String() == a.UserID || b.signups == nil {
		return
	}
	poll, answers, ok := pollAnswers(evt)
	if !ok {
		b.log.DebugContext(ctx, "matrix: a poll response that cannot be read", "room", evt.RoomID, "event", evt.ID, "type", evt.Type.Type)
		return
	}
	boardID, annID, found, err := b.store.PollOf(ctx, evt.RoomID, poll)
	if err != nil || !found || boardID != a.BoardID {
		return // another poll than the board's
	}
	bd, err := b.boards.BoardByID(ctx, boardID)
	if err != nil {
		return
	}
	who := board.Person{Kind: board.PersonMatrix, ID: evt.Sender.String(), Name: evt.Sender.String()}
	// Keyed by its event id and ordered by its time: a response synced
	// again (the room rejoined, its history resent) changes nothing.
	origin := board.Origin{ID: "matrix:" + evt.ID.String(), At: time.UnixMilli(evt.Timestamp)}
	res, err := b.signups.SetAnswer(ctx, bd, annID, who, answers, origin)
	var unknown *board.UnknownRoleError
	var invalid *board.ValidationError
	refused := errors.Is(err, board.ErrCallClosed) || errors.As(err, &unknown) || errors.As(err, &invalid)
	if err != nil && !refused {
		b.log.ErrorContext(ctx, "matrix: poll answer", "board", bd.Name, "announcement", annID, "sender", evt.Sender, "err", err)
		return
	}
	if res.Replayed {
		b.log.DebugContext(ctx, "matrix: poll answer seen before, or older than the sender's latest", "event", evt.ID)
		return
	}
	if refused || len(res.Confirmed) == 0 && len(res.Full)+len(res.Waiting) > 0 {
		// The voter's client shows the vote as counted: a reply says it
		// was not, or that it put them on the waiting list, where they
		// gave it (a trial's member on the waiting list believed they
		// were registered).
		b.log.InfoContext(ctx, "matrix: poll answer not taken", "board", bd.Name, "announcement", annID, "sender", evt.Sender, "err", err, "full", res.Full)
		b.replyToAnswer(ctx, s, bd, annID, evt, answers, res, err)
		return
	}
	b.log.InfoContext(ctx, "matrix: poll answer", "board", bd.Name, "announcement", annID, "sender", evt.Sender,
		"confirmed", res.Confirmed, "waiting", res.Waiting, "full", res.Full, "withdrawn", res.Dropped)
}

// configuredAs lists the names (id or alias) under which the board's
// set-up names room; none if it is not one of the board's rooms.
func (b *Bridge) configuredAs(ctx context.Context, cli *mautrix.Client, a Account, room id.RoomID) []string {
	var names []string
	for _, r := range a.Rooms {
		if r == room.String() {
			names = append(names, r)
		} else if len(r) > 0 && r[0] == '#' && b.aliasTarget(ctx, cli, a, r) == room {
			names = append(names, r)
		}
	}
	return names
}

// roomOf is the room a configured name stands for: itself for a room id,
// the alias's room for an alias ("" if it names none).
func (b *Bridge) roomOf(ctx context.Context, cli *mautrix.Client, a Account, name string) id.RoomID {
	if strings.HasPrefix(name, "#") {
		return b.aliasTarget(ctx, cli, a, name)
	}
	return id.RoomID(name)
}

// aliasTarget is the room an alias points to, from the cache ensureJoined
// fills, or asked of the homeserver; "" if it cannot be resolved.
func (b *Bridge) aliasTarget(ctx context.Context, cli *mautrix.Client, a Account, alias string) id.RoomID {
	key := a.Homeserver + " " + alias
	b.mu.Lock()
	roomID, known := b.roomIDs[key]
	b.mu.Unlock()
	if known {
		return roomID
	}
	resp, err := cli.ResolveAlias(ctx, id.RoomAlias(alias))
	if err != nil {
		return ""
	}
	b.mu.Lock()
	b.roomIDs[key] = resp.RoomID
	b.mu.Unlock()
	return resp.RoomID
}

// onPowerLevels sends the messages waiting for a room at once when the
// bot has just been allowed to post there: the fix for "may not post" is
// made in Matrix, and Crieur sees it here. Only a change that grants the
// right counts, so a message waiting for another reason (a rate limit)
// keeps its time.
func (b *Bridge) onPowerLevels(ctx context.Context, cli *mautrix.Client, a Account, evt *event.Event) {
	if b.queue == nil || evt.Unsigned.PrevContent == nil {
		return
	}
	if err := evt.Unsigned.PrevContent.ParseRaw(evt.Type); err != nil {
		return
	}
	bot := id.UserID(a.UserID)
	canPost := func(pl *event.PowerLevelsEventContent) bool {
		return pl != nil && pl.GetUserLevel(bot) >= pl.GetEventLevel(event.EventMessage)
	}
	if canPost(evt.Unsigned.PrevContent.AsPowerLevels()) || !canPost(evt.Content.AsPowerLevels()) {
		return
	}
	if names := b.configuredAs(ctx, cli, a, evt.RoomID); len(names) > 0 {
		b.log.InfoContext(ctx, "matrix: the bot may post now", "room", evt.RoomID)
		b.hurry(ctx, names)
	}
}

func (b *Bridge) record(ctx context.Context, a Account, evt *event.Event, target id.EventID, kind, content string) {
	if evt.Sender.String() == a.UserID || target == "" {
		return
	}
	ann, ok, err := b.store.AnnouncementOf(ctx, evt.RoomID, target)
	if err != nil || !ok {
		return
	}
	in := board.Interaction{Kind: kind, Actor: evt.Sender.String(), ActivityID: evt.ID.String(), ObjectID: evt.ID.String(), Content: content, CreatedAt: time.UnixMilli(evt.Timestamp)}
	if err := b.boards.AddInteraction(ctx, a.BoardID, ann, in); err != nil {
		b.log.ErrorContext(ctx, "matrix: record interaction", "err", err)
	}
}

// onEcho learns, from the sync's echo of the bot's own message or poll,
// which announcement it belongs to. The send's answer records it too, but
// a quick reader's reaction, reply or poll answer can come in a sync
// before that answer is stored, and would then be dropped as a reaction
// to someone else's message; the echo always comes before them in the
// sync's order. Only the device that sent an event sees its transaction
// id, so the echo is surely this account's.
func (b *Bridge) onEcho(ctx context.Context, cli *mautrix.Client, a Account, evt *event.Event) {
	if evt.Sender.String() != a.UserID || evt.Unsigned.TransactionID == "" {
		return
	}
	ann, hash, what, ok := parseTxnID(evt.Unsigned.TransactionID)
	isPoll := what == "poll" || strings.HasPrefix(what, "poll-") // the first poll, or a fresh one after a reopening
	if !ok || (what != "create" && !isPoll) {
		return
	}
	for _, room := range b.configuredAs(ctx, cli, a, evt.RoomID) {
		if roomHash(room) != hash {
			continue
		}
		var err error
		if what == "create" {
			err = b.store.SaveEventID(ctx, ann, room, evt.RoomID, evt.ID)
		} else {
			err = b.store.SavePoll(ctx, a.BoardID, ann, room, evt.RoomID, evt.ID, "") // what it asks comes with the send's answer
		}
		if err != nil {
			b.log.ErrorContext(ctx, "matrix: record an echo", "room", room, "err", err)
		}
	}
}

func (b *Bridge) onReaction(ctx context.Context, a Account, evt *event.Event) {
	r := evt.Content.AsReaction()
	b.record(ctx, a, evt, r.RelatesTo.GetAnnotationID(), "reaction", r.RelatesTo.GetAnnotationKey())
}

func (b *Bridge) onMessage(ctx context.Context, a Account, evt *event.Event) {
	m := evt.Content.AsMessage()
	rel := m.RelatesTo
	if rel == nil {
		return // not a reply
	}
	if orig := rel.GetReplaceID(); orig != "" {
		// An edit: if it edits a reply we hold, its new text replaces
		// the old one.
		if m.NewContent != nil && evt.Sender.String() != a.UserID {
			if _, err := b.boards.EditInteraction(ctx, evt.Sender.String(), orig.String(), replyText(m.NewContent.Body)); err != nil {
				b.log.ErrorContext(ctx, "matrix: record edited reply", "err", err)
			}
		}
		return
	}
	target := rel.GetThreadParent()
	if target == "" {
		target = rel.GetReplyTo()
	}
	b.record(ctx, a, evt, target, "reply", replyText(m.Body))
}

// replyText is what the person wrote: without the quote of the message
// replied to that clients add as a fallback ("> <@bot:…> …"), bounded.
func replyText(body string) string {
	body = event.TrimReplyFallbackText(body)
	if len(body) > 5000 {
		body = strings.ToValidUTF8(body[:5000], "")
	}
	return body
}
