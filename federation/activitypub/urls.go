// Package activitypub publishes boards to the fediverse: WebFinger,
// NodeInfo, the board actor and its collections, announcement objects, the
// signed inbox, and the delivery handlers that sign and POST activities.
//
// Vocabulary comes from go-fed/activity's streams; HTTP signatures from
// go-fed/httpsig (draft-cavage, rsa-sha256), as Mastodon and Fedify expect.
//
// It reads the board store through its Store interface and asks the board
// service to record answers; it writes none of the board's tables and
// renders no page (the web package does).
package activitypub

import (
	"fmt"
	"net/url"
	"strings"

	"crieur/board"
)

// URLs derives every federation URL from the public base URL. Ids must
// never change once peers have seen them, so this is the one place they
// are made.
type URLs struct {
	Base string // e.g. https://board.example.org, no trailing slash
	host string // Base's host[:port], for acct: handles
}

// NewURLs parses base.
func NewURLs(base string) (URLs, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return URLs{}, fmt.Errorf("public URL %q: must be absolute", base)
	}
	return URLs{Base: strings.TrimSuffix(base, "/"), host: u.Host}, nil
}

// Scheme is how peers reach Crieur (https behind a TLS proxy).
func (u URLs) Scheme() string {
	scheme, _, _ := strings.Cut(u.Base, "://")
	return scheme
}

// Host is the authority used in handles (@board@host).
func (u URLs) Host() string { return u.host }

// BoardURL is the board actor's id and its web page.
func (u URLs) BoardURL(name string) string { return u.Base + "/boards/" + name }

// Handle is how people find the board: @name@host.
func (u URLs) Handle(name string) string { return "@" + name + "@" + u.host }

// KeyID names the board's public key inside its actor document.
func (u URLs) KeyID(name string) string { return u.BoardURL(name) + "#main-key" }

// Inbox, Outbox, Followers, Icon belong to the board actor.
func (u URLs) Inbox(name string) string     { return u.BoardURL(name) + "/inbox" }
func (u URLs) Outbox(name string) string    { return u.BoardURL(name) + "/outbox" }
func (u URLs) Followers(name string) string { return u.BoardURL(name) + "/followers" }
func (u URLs) Icon(name string) string      { return u.BoardURL(name) + "/icon.png" }

// Featured is the board's collection of pinned announcements.
func (u URLs) Featured(name string) string { return u.BoardURL(name) + "/featured" }

// SharedInbox receives for every board at once.
func (u URLs) SharedInbox() string { return u.Base + "/inbox" }

// AnnouncementURL is the object id of an announcement and its web page.
func (u URLs) AnnouncementURL(name string, id int64) string {
	return fmt.Sprintf("%s/a/%d", u.BoardURL(name), id)
}

// ActivityID is stable per announcement version and verb: a retried
// delivery carries the same id, a new edit a new one.
func (u URLs) ActivityID(name string, id int64, verb board.Verb, version int) string {
	if verb == board.VerbUpdate {
		return fmt.Sprintf("%s/activity/update/%d", u.AnnouncementURL(name, id), version)
	}
	if verb == board.VerbRefresh {
		// version here is the refresh's outbox id: one id per refresh.
		return fmt.Sprintf("%s/activity/refresh/%d", u.AnnouncementURL(name, id), version)
	}
	return fmt.Sprintf("%s/activity/%s", u.AnnouncementURL(name, id), verb)
}

// WithdrawURL is the private link that withdraws a sign-up.
func (u URLs) WithdrawURL(name string, id int64, token string) string {
	return u.AnnouncementURL(name, id) + "/withdraw?t=" + url.QueryEscape(token)
}

// TagURL links a hashtag to the board's own listing.
func (u URLs) TagURL(name, tag string) string {
	return u.BoardURL(name) + "?tag=" + url.QueryEscape(tag)
}

// parseAnnouncementURL finds the board and announcement an object id names,
// if it is one of ours.
func (u URLs) parseAnnouncementURL(s string) (boardName string, id int64, ok bool) {
	rest, found := strings.CutPrefix(s, u.Base+"/boards/")
	if !found {
		return "", 0, false
	}
	name, num, found := strings.Cut(rest, "/a/")
	if !found {
		return "", 0, false
	}
	if _, err := fmt.Sscanf(num, "%d", &id); err != nil || fmt.Sprint(id) != num {
		return "", 0, false
	}
	return name, id, true
}

// parseBoardURL returns the board an actor id names, if it is one of ours.
func (u URLs) parseBoardURL(s string) (string, bool) {
	name, found := strings.CutPrefix(s, u.Base+"/boards/")
	if !found || strings.Contains(name, "/") || name == "" {
		return "", false
	}
	return name, true
}
