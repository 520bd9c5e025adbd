package board

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Block keeps a remote server (Domain) or one account (Actor) away from a
// board, or from every board when Board is empty: their follows are
// refused, their follows removed, nothing is delivered to them and nothing
// they send is taken.
type Block struct {
	ID        int64     `json:"id"`
	BoardID   *int64    `json:"-"`
	Board     string    `json:"board,omitempty"`
	Domain    string    `json:"domain,omitempty"`
	Actor     string    `json:"actor,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// FollowerNotifier tells a removed follower's server that the follow is
// over (an ActivityPub Reject), so it stops showing them as following.
type FollowerNotifier interface {
	FollowerRemoved(ctx context.Context, b Board, f Follower) error
}

// ParseBlockTarget reads what an operator typed: a domain (example.org)
// or an account's URL (https://example.org/users/bob).
func ParseBlockTarget(s string) (domain, actor string, err error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return "", "", fmt.Errorf("%q: give a domain (example.org) or an account's URL (https://example.org/users/bob)", s)
		}
		return "", s, nil
	}
	d := strings.ToLower(strings.TrimSuffix(s, "."))
	if h, _, err := net.SplitHostPort(d); err == nil {
		d = h // a block is of a host, whatever the port
	}
	if d == "" || strings.ContainsAny(d, "/@ :[]") || !strings.Contains(d, ".") && d != "localhost" {
		return "", "", fmt.Errorf("%q: give a domain (example.org) or an account's URL (https://example.org/users/bob)", s)
	}
	return d, "", nil
}

// HostOf is the lower-case host of an actor or inbox URL, without port.
func HostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

// domainMatches reports whether host is domain or one of its subdomains.
func domainMatches(host, domain string) bool {
	return host == domain || strings.HasSuffix(host, "."+domain)
}

// Block adds a block for board b (nil: every board) and removes the
// follows it covers, telling each removed follower's server.
func (s *Service) Block(ctx context.Context, b *Board, domain, actor string) (Block, []Follower, error) {
	var boardID *int64
	if b != nil {
		boardID = &b.ID
	}
	blk, err := s.repo.AddBlock(ctx, boardID, domain, actor, s.now())
	if err != nil {
		return blk, nil, err
	}
	boards := []Board{}
	if b != nil {
		boards = append(boards, *b)
	} else if boards, err = s.repo.Boards(ctx); err != nil {
		return blk, nil, err
	}
	var removed []Follower
	for _, bd := range boards {
		fs, err := s.repo.Followers(ctx, bd.ID)
		if err != nil {
			return blk, removed, err
		}
		for _, f := range fs {
			if !blk.Covers(f.ActorID) && !blk.Covers(f.DeliveryInbox()) {
				continue
			}
			if err := s.RemoveFollower(ctx, bd, f); err != nil {
				return blk, removed, err
			}
			removed = append(removed, f)
		}
	}
	return blk, removed, nil
}

// Covers reports whether the block applies to a URL (an actor or inbox).
func (b Block) Covers(raw string) bool {
	if b.Actor != "" {
		return raw == b.Actor
	}
	return domainMatches(HostOf(raw), b.Domain)
}

// RemoveFollower ends f's follow of board b and tells f's server.
func (s *Service) RemoveFollower(ctx context.Context, b Board, f Follower) error {
	removed, err := s.repo.RemoveFollower(ctx, b.ID, f.ActorID)
	if err != nil || !removed {
		return err
	}
	if s.dest.Followers != nil {
		return s.dest.Followers.FollowerRemoved(ctx, b, f)
	}
	return nil
}
