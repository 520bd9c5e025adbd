package activitypub

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/http"
	"strings"
	"time"

	"crieur/board"
	"crieur/board/locale"
)

// onVote takes a poll answer to a call for volunteers: a Note with the
// option's name and no text, in reply to the call's Question, as Mastodon,
// GoToSocial and Fedify send it (one per option chosen). It is a sign-up,
// and the voter gets a direct note saying what became of it. handled is
// false for anything that is not a vote (a reply).
func (s *Server) onVote(ctx context.Context, actor string, note ref) (status int, handled bool, err error) {
	if s.signups == nil || note.Name == "" || strings.TrimSpace(stripTags(note.Content)) != "" {
		return 0, false, nil
	}
	name, id, ok := s.urls.parseAnnouncementURL(note.InReplyTo)
	if !ok {
		return 0, false, nil
	}
	b, err := s.store.BoardByName(ctx, name)
	if err != nil {
		return 0, false, nil
	}
	a, err := s.store.Announcement(ctx, b.ID, id)
	if err != nil || !a.TakesSignups() || !a.Public() {
		return 0, false, nil
	}
	if note.ID == "" || !sameHost(note.ID, actor) {
		return http.StatusBadRequest, true, fmt.Errorf("vote %q has no id on its author's host", note.ID)
	}
	if blocked, err := s.store.Blocked(ctx, b.ID, actor); err != nil || blocked {
		s.log.InfoContext(ctx, "vote refused: blocked", "board", b.Name, "actor", actor)
		return http.StatusAccepted, true, err
	}
	who := board.Person{Kind: board.PersonFediverse, ID: actor}
	if ra, err := s.fetch.actor(ctx, actor, false); err == nil {
		who.Name = ra.handle()
	}
	l := locale.Of(b, a)
	// The option was named in the post's language: "Je viens" is the
	// training's one role as "I'll come" is.
	role := l.RoleNamed(note.Name)
	// The vote's id is its origin in the ledger: a redelivery, or the
	// same vote fetched again, counts once and is answered once.
	res, err := s.signups.SignUp(ctx, b, a.ID, who, []string{role}, board.Origin{ID: note.ID})
	if res.Replayed && err == nil {
		return http.StatusAccepted, true, nil
	}
	var unknown *board.UnknownRoleError
	switch {
	case errors.As(err, &unknown), errors.Is(err, board.ErrCallClosed):
		s.log.InfoContext(ctx, "vote refused", "board", b.Name, "announcement", a.ID, "actor", actor, "option", note.Name, "reason", err)
		s.tellVoter(ctx, b, a, actor, who.Name, l.VoteRefused(a, note.Name, err), "", "")
		return http.StatusAccepted, true, nil
	case err != nil:
		var ve *board.ValidationError
		if errors.As(err, &ve) {
			return http.StatusAccepted, true, nil // a second role on a one-role call: the first stands
		}
		return http.StatusInternalServerError, true, err
	}
	if len(res.Already) > 0 && !res.Changed() {
		return http.StatusAccepted, true, nil // the same vote again: nothing to say twice
	}
	s.log.InfoContext(ctx, "sign-up from the fediverse", "board", b.Name, "announcement", a.ID, "actor", actor, "role", note.Name)
	s.tellVoter(ctx, b, a, actor, who.Name, l.VoteResult(a, note.Name, res), res.WithdrawToken, "")
	return http.StatusAccepted, true, nil
}

// tellVoter sends the voter a direct note (addressed to them alone, with a
// mention so that it shows among their direct messages), with the private
// link that withdraws the sign-up when there is one. A note with a key
// has an id made from it, so sending it again (after a crash) is a no-op.
func (s *Server) tellVoter(ctx context.Context, b board.Board, a board.Announcement, actor, handle, text, withdrawToken, key string) {
	ra, err := s.fetch.actor(ctx, actor, false)
	if err != nil {
		s.log.WarnContext(ctx, "vote: cannot tell the voter", "actor", actor, "err", err)
		return
	}
	if handle == "" {
		handle = actor
	}
	now := time.Now().UTC()
	link := s.urls.AnnouncementURL(b.Name, a.ID)
	body := fmt.Sprintf(`<p><span class="h-card"><a href="%s" class="u-url mention">%s</a></span> %s</p>`,
		html.EscapeString(actor), html.EscapeString(handle), html.EscapeString(text))
	if withdrawToken != "" {
		w := s.urls.WithdrawURL(b.Name, a.ID, withdrawToken)
		l := locale.Of(b, a)
		body += fmt.Sprintf(`<p>%s <a href="%s">%s</a>.</p>`, html.EscapeString(l.T("dm.changed_mind")), html.EscapeString(w), html.EscapeString(l.T("dm.withdraw_here")))
	}
	if key == "" {
		key = fmt.Sprint(now.UnixNano(), text)
	}
	noteID := fmt.Sprintf("%s/notes/%s", link, hashID(actor+" "+key))
	note := map[string]any{
		"id": noteID, "type": "Note", "attributedTo": s.urls.BoardURL(b.Name),
		"to": []string{actor}, "cc": []string{}, "inReplyTo": link,
		"content": body, "published": msTime(now), "url": link,
		"tag": []any{map[string]any{"type": "Mention", "href": actor, "name": handle}},
	}
	create := map[string]any{
		"@context": jsonLDContext, "id": noteID + "/activity", "type": "Create",
		"actor": s.urls.BoardURL(b.Name), "published": msTime(now),
		"to": []string{actor}, "cc": []string{}, "object": note,
	}
	job, err := s.deliveryJob("dm:"+hashID(noteID), 0, b.Name, ra.Inbox, create)
	if err == nil {
		err = s.queue.Enqueue(ctx, job)
	}
	if err != nil {
		s.log.ErrorContext(ctx, "vote: queue the direct note", "err", err)
	}
}

// Tell implements board.PersonNotifier for people on the fediverse: a
// direct note when a place became theirs, the day before a training,
// when it is cancelled and when it is back on. (Their answer itself was
// answered by onVote, with the withdraw link.) Each note's id comes from
// the notice's key, so telling it again (after a restart) is a no-op.
func (s *Server) Tell(ctx context.Context, b board.Board, a board.Announcement, n board.Notice) {
	if n.Person.Kind != board.PersonFediverse {
		return
	}
	if n.What == board.ToldSignedUp {
		return // onVote answered the vote itself
	}
	lines := locale.Of(b, a).NoticeLines(a, n)
	if len(lines) == 0 {
		return
	}
	// One paragraph: the sentence, then the reminder's facts ("When: …").
	text := lines[0]
	for _, f := range lines[1:] {
		text += " " + f + "."
	}
	s.tellVoter(ctx, b, a, n.Person.ID, n.Person.Name, text, "", string(n.What)+" "+n.Key)
}
