package activitypub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"crieur/board"
	"crieur/federation/delivery"
)

// ProfileUpdates sends each board's followers an Update of its actor when
// what they show of it (its name, summary, picture, key) changed since
// they were last sent it: Mastodon refreshes a remote account it knows
// by itself only when a post comes and its copy is a week old
// (app/models/account.rb, possibly_stale?), so a new logo or name would
// otherwise take up to a week to show. The actor is compared by its hash,
// whoever changed the board (the editor, the API, the CLI on the data
// folder, with serve stopped), and a board first seen is recorded
// without sending. Run in serve, every interval.
func (s *Server) ProfileUpdates(ctx context.Context, every time.Duration) {
	for {
		if err := s.SendProfileUpdates(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "profile updates", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// SendProfileUpdates compares every board's actor with the one its
// followers were last sent, once.
func (s *Server) SendProfileUpdates(ctx context.Context) error {
	boards, err := s.store.Boards(ctx)
	if err != nil {
		return err
	}
	for _, b := range boards {
		if err := s.sendProfileUpdate(ctx, b); err != nil {
			return fmt.Errorf("board %s: %w", b.Name, err)
		}
	}
	return nil
}

func (s *Server) sendProfileUpdate(ctx context.Context, b board.Board) error {
	actor, err := s.actor(b)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(actor)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(raw)
	hash := hex.EncodeToString(sum[:16])
	sent, err := s.store.ProfileSent(ctx, b.ID)
	if err != nil || sent == hash {
		return err
	}
	now := time.Now()
	if sent != "" {
		delete(actor, "@context")
		act := map[string]any{
			"@context": jsonLDContext,
			// One id per profile sent: a retry is the same activity.
			"id":     s.urls.BoardURL(b.Name) + "#updates/profile-" + hash,
			"type":   "Update",
			"actor":  s.urls.BoardURL(b.Name),
			"to":     []string{publicAudience},
			"cc":     []string{s.urls.Followers(b.Name)},
			"object": actor,
		}
		body, err := json.Marshal(act)
		if err != nil {
			return err
		}
		inboxes, err := s.fanOut(ctx, b, nil)
		if err != nil {
			return err
		}
		var jobs []delivery.Job
		for _, inbox := range inboxes {
			job, err := encodedJob("profile:"+b.Name+":"+hash+":"+inbox, 0, b.Name, s.urls.KeyID(b.Name), inbox, body)
			if err != nil {
				return err
			}
			jobs = append(jobs, job)
		}
		if err := s.queue.Enqueue(ctx, jobs...); err != nil {
			return err
		}
		s.log.InfoContext(ctx, "profile sent to followers", "board", b.Name, "inboxes", len(jobs))
	}
	return s.store.SetProfileSent(ctx, b.ID, hash, now)
}
