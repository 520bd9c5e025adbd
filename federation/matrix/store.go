// Package matrix posts boards' announcements to Matrix rooms with mautrix:
// one formatted m.room.message per room, edits as m.replace, deletions as
// redactions, all through the delivery queue; a sync loop per board accepts
// invites to its rooms and records reactions and replies as interactions.
//
// Its tables are made by the store's registry; it reads boards through its
// Boards interface and leaves the decisions on sign-ups to the board
// service.
package matrix

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"maunium.net/go/mautrix/id"
)

// Account is a board's Matrix set-up. The access token is a secret: it is
// kept in the store and never shown by the API or the logs.
type Account struct {
	BoardID         int64    `json:"-"`
	Homeserver      string   `json:"homeserver"`
	UserID          string   `json:"user_id"`
	AccessToken     string   `json:"-"`
	Rooms           []string `json:"rooms"`
	MsgType         string   `json:"msgtype"`
	AllowedInviters []string `json:"allowed_inviters"`
	// PollResults is PollsDisclosed (clients show a poll's votes as they
	// come) or PollsUndisclosed (only once the poll ends).
	PollResults string `json:"poll_results"`
	// OwnsToken is true when Crieur made the token by logging in with a
	// password: it logs that device out when the token is replaced.
	OwnsToken bool `json:"-"`
	// DeviceID is the bot's device: end-to-end encryption keys belong to
	// it, so it stays the same across restarts (from the login's answer,
	// or whoami for a given token).
	DeviceID string `json:"device_id"`
	// MasterKey is the public key of the bot's cross-signing identity,
	// which the operator compares in their client to verify the bot;
	// CrossSigning is "ok" when the device is signed with it, or why not.
	MasterKey    string `json:"master_key,omitempty"`
	CrossSigning string `json:"cross_signing,omitempty"`
	// Encryption is "ok" when the device holds keys, or why it does not,
	// as last found (the API shows the live state; crieur check this).
	Encryption string `json:"-"`
}

// How a board's polls show their votes (MSC3381's kinds).
const (
	PollsDisclosed   = "disclosed"   // as they come
	PollsUndisclosed = "undisclosed" // only once the poll ends
)

// Store keeps Matrix accounts, the event id of every message posted (edits
// and redactions need it after restarts) and each account's sync token.
type Store struct {
	db *sql.DB
}

// NewStore is the Matrix tables in db (the board store's file, migrated
// by the store's registry).
func NewStore(db *sql.DB) *Store { return &Store{db: db} }

// ErrNoAccount means the board has no Matrix set-up.
var ErrNoAccount = errors.New("no Matrix account for this board")

// SaveAccount creates or replaces a board's account; a new account starts
// syncing from scratch.
func (s *Store) SaveAccount(ctx context.Context, a Account) error {
	rooms, _ := json.Marshal(a.Rooms)
	inviters, _ := json.Marshal(a.AllowedInviters)
	_, err := s.db.ExecContext(ctx, `INSERT INTO matrix_accounts (board_id, homeserver, user_id, access_token, rooms, msgtype, allowed_inviters, owns_token, poll_results, updated_at, device_id, master_key, cross_signing, encryption)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (board_id) DO UPDATE SET homeserver = excluded.homeserver, access_token = excluded.access_token, rooms = excluded.rooms, owns_token = excluded.owns_token,
			msgtype = excluded.msgtype, allowed_inviters = excluded.allowed_inviters, poll_results = excluded.poll_results, updated_at = excluded.updated_at,
			device_id = excluded.device_id, master_key = excluded.master_key, cross_signing = excluded.cross_signing, encryption = excluded.encryption,
			next_batch = CASE WHEN matrix_accounts.user_id = excluded.user_id THEN matrix_accounts.next_batch ELSE '' END,
			filter_id = CASE WHEN matrix_accounts.user_id = excluded.user_id THEN matrix_accounts.filter_id ELSE '' END,
			user_id = excluded.user_id`,
		a.BoardID, a.Homeserver, a.UserID, a.AccessToken, string(rooms), a.MsgType, string(inviters), a.OwnsToken, cmp.Or(a.PollResults, PollsDisclosed), time.Now().UnixMilli(),
		a.DeviceID, a.MasterKey, a.CrossSigning, a.Encryption)
	return err
}

// SetDevice records the device a token belongs to (for an account set up
// before Crieur kept it) and whether it holds keys, if the board's account
// still has that token.
func (s *Store) SetDevice(ctx context.Context, boardID int64, token, device, encryption string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE matrix_accounts SET device_id = ?, encryption = ? WHERE board_id = ? AND access_token = ?`, device, encryption, boardID, token)
	return err
}

// pickleKey is the key mautrix's crypto store encrypts the bot's olm
// account, sessions and cross-signing keys with ("pickles"). It is made
// once and kept in this same file, so that a backup restored anywhere
// still decrypts; it is no more secret than the access token beside it
// (README: End-to-end encryption).
func (s *Store) pickleKey(ctx context.Context) ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	if _, err := s.db.ExecContext(ctx, `INSERT OR IGNORE INTO meta (name, value) VALUES ('matrix_pickle_key', ?)`, hex.EncodeToString(fresh)); err != nil {
		return nil, fmt.Errorf("make the Matrix pickle key: %w", err)
	}
	var key string
	if err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE name = 'matrix_pickle_key'`).Scan(&key); err != nil {
		return nil, fmt.Errorf("read the Matrix pickle key: %w", err)
	}
	return hex.DecodeString(key)
}

// DeleteAccount removes a board's Matrix set-up.
func (s *Store) DeleteAccount(ctx context.Context, boardID int64) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM matrix_accounts WHERE board_id = ?`, boardID)
	return err
}

const accountCols = `board_id, homeserver, user_id, access_token, rooms, msgtype, allowed_inviters, owns_token, poll_results, device_id, master_key, cross_signing, encryption`

func scanAccount(row interface{ Scan(...any) error }) (Account, error) {
	var a Account
	var rooms, inviters string
	err := row.Scan(&a.BoardID, &a.Homeserver, &a.UserID, &a.AccessToken, &rooms, &a.MsgType, &inviters, &a.OwnsToken, &a.PollResults, &a.DeviceID, &a.MasterKey, &a.CrossSigning, &a.Encryption)
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNoAccount
	}
	if err != nil {
		return a, err
	}
	_ = json.Unmarshal([]byte(rooms), &a.Rooms)
	_ = json.Unmarshal([]byte(inviters), &a.AllowedInviters)
	return a, nil
}

// Account returns a board's account, or ErrNoAccount.
func (s *Store) Account(ctx context.Context, boardID int64) (Account, error) {
	return scanAccount(s.db.QueryRowContext(ctx, `SELECT `+accountCols+` FROM matrix_accounts WHERE board_id = ?`, boardID))
}

// Accounts lists every configured account.
func (s *Store) Accounts(ctx context.Context) ([]Account, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+accountCols+` FROM matrix_accounts ORDER BY board_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// EventID returns the message posted for an announcement in a room, if any.
func (s *Store) EventID(ctx context.Context, announcementID int64, room string) (id.EventID, bool, error) {
	var ev string
	err := s.db.QueryRowContext(ctx, `SELECT event_id FROM matrix_events WHERE announcement_id = ? AND room = ?`, announcementID, room).Scan(&ev)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return id.EventID(ev), err == nil, err
}

// SaveEventID records the message posted for an announcement in a room.
func (s *Store) SaveEventID(ctx context.Context, announcementID int64, room string, roomID id.RoomID, ev id.EventID) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO matrix_events (announcement_id, room, room_id, event_id) VALUES (?, ?, ?, ?)
		ON CONFLICT (announcement_id, room) DO UPDATE SET event_id = excluded.event_id, room_id = excluded.room_id`, announcementID, room, string(roomID), string(ev))
	return err
}

// Shown is a hash of what an announcement's message in a room shows, as
// last sent ("" if not known).
func (s *Store) Shown(ctx context.Context, announcementID int64, room string) (string, error) {
	var shown string
	err := s.db.QueryRowContext(ctx, `SELECT shown FROM matrix_events WHERE announcement_id = ? AND room = ?`, announcementID, room).Scan(&shown)
	return shown, ignoreNoRows(err)
}

// SetShown records what an announcement's message in a room shows.
func (s *Store) SetShown(ctx context.Context, announcementID int64, room, shown string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE matrix_events SET shown = ? WHERE announcement_id = ? AND room = ?`, shown, announcementID, room)
	return err
}

// SaveEdit records an edit sent for an announcement in a room.
func (s *Store) SaveEdit(ctx context.Context, announcementID int64, room string, ev id.EventID) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO matrix_edits (announcement_id, room, event_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, announcementID, room, string(ev))
	return err
}

// Edits lists the edits sent for an announcement in a room.
func (s *Store) Edits(ctx context.Context, announcementID int64, room string) ([]id.EventID, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT event_id FROM matrix_edits WHERE announcement_id = ? AND room = ? ORDER BY rowid`, announcementID, room)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []id.EventID
	for rows.Next() {
		var ev string
		if err := rows.Scan(&ev); err != nil {
			return nil, err
		}
		out = append(out, id.EventID(ev))
	}
	return out, rows.Err()
}

// SavePoll records the poll posted for a call in a room, and what it asks
// (a hash of its question and answers).
func (s *Store) SavePoll(ctx context.Context, boardID, announcementID int64, room string, roomID id.RoomID, ev id.EventID, asks string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO matrix_polls (announcement_id, board_id, room, room_id, event_id, asks) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (announcement_id, room) DO UPDATE SET event_id = excluded.event_id, room_id = excluded.room_id,
		asks = CASE WHEN excluded.asks = '' THEN matrix_polls.asks ELSE excluded.asks END`, announcementID, boardID, room, string(roomID), string(ev), asks)
	return err
}

// PollAsks is what a call's poll in a room asks, as last sent (empty: not
// known, a poll sent before Crieur kept it).
func (s *Store) PollAsks(ctx context.Context, announcementID int64, room string) (string, error) {
	var asks string
	err := s.db.QueryRowContext(ctx, `SELECT asks FROM matrix_polls WHERE announcement_id = ? AND room = ?`, announcementID, room).Scan(&asks)
	return asks, ignoreNoRows(err)
}

// SetPollAsks records what a poll asks after an edit.
func (s *Store) SetPollAsks(ctx context.Context, announcementID int64, room, asks string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE matrix_polls SET asks = ? WHERE announcement_id = ? AND room = ?`, asks, announcementID, room)
	return err
}

// Poll returns the poll of a call in a room, if posted.
func (s *Store) Poll(ctx context.Context, announcementID int64, room string) (id.EventID, bool, error) {
	var ev string
	err := s.db.QueryRowContext(ctx, `SELECT event_id FROM matrix_polls WHERE announcement_id = ? AND room = ?`, announcementID, room).Scan(&ev)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return id.EventID(ev), err == nil, err
}

// PollEnded tells whether the poll of a call in a room was ended.
func (s *Store) PollEnded(ctx context.Context, announcementID int64, room string) (bool, error) {
	var ended bool
	err := s.db.QueryRowContext(ctx, `SELECT ended FROM matrix_polls WHERE announcement_id = ? AND room = ?`, announcementID, room).Scan(&ended)
	return ended, ignoreNoRows(err)
}

// SetPollEnded records that a call's poll in a room was ended (true) or
// that a new one should replace it, the call being open again (false:
// the row goes).
func (s *Store) SetPollEnded(ctx context.Context, announcementID int64, room string, ended bool) error {
	if !ended {
		_, err := s.db.ExecContext(ctx, `DELETE FROM matrix_polls WHERE announcement_id = ? AND room = ?`, announcementID, room)
		return err
	}
	_, err := s.db.ExecContext(ctx, `UPDATE matrix_polls SET ended = 1 WHERE announcement_id = ? AND room = ?`, announcementID, room)
	return err
}

// PollOf finds the call a poll event belongs to.
func (s *Store) PollOf(ctx context.Context, roomID id.RoomID, ev id.EventID) (boardID, announcementID int64, ok bool, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT board_id, announcement_id FROM matrix_polls WHERE event_id = ? AND room_id = ?`, string(ev), string(roomID)).Scan(&boardID, &announcementID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, false, nil
	}
	return boardID, announcementID, err == nil, err
}

// ForgetLost undoes the record of an event a homeserver answered for but
// never showed in the room (lost.go), each by what it was, so that the
// next send of its announcement makes it again: a message is posted anew,
// a poll too, a poll's end and a poll's edit are sent again, a picture
// too; after a lost edit of the message, the next send edits it to the
// current version. Only a record still naming the lost event changes.
func (s *Store) ForgetLost(ctx context.Context, announcementID int64, room, what string, ev id.EventID) error {
	var err error
	switch {
	case what == "create":
		_, err = s.db.ExecContext(ctx, `DELETE FROM matrix_events WHERE announcement_id = ? AND room = ? AND event_id = ?`, announcementID, room, string(ev))
	case what == "poll" || strings.HasPrefix(what, "poll-"):
		_, err = s.db.ExecContext(ctx, `DELETE FROM matrix_polls WHERE announcement_id = ? AND room = ? AND event_id = ?`, announcementID, room, string(ev))
	case strings.HasPrefix(what, "pollend-"):
		_, err = s.db.ExecContext(ctx, `UPDATE matrix_polls SET ended = 0 WHERE announcement_id = ? AND room = ? AND event_id = ?`, announcementID, room, strings.TrimPrefix(what, "pollend-"))
	case strings.HasPrefix(what, "pedit-"):
		// Asks that match no poll: editPoll sends the poll's edit again.
		_, err = s.db.ExecContext(ctx, `UPDATE matrix_polls SET asks = 'lost' WHERE announcement_id = ? AND room = ? AND asks = ?`, announcementID, room, strings.TrimPrefix(what, "pedit-"))
	case isEdit(what):
		// What the room shows is no longer known: the next send edits.
		_, err = s.db.ExecContext(ctx, `UPDATE matrix_events SET shown = '' WHERE announcement_id = ? AND room = ?`, announcementID, room)
	case strings.HasPrefix(what, "img-"):
		_, err = s.db.ExecContext(ctx, `DELETE FROM matrix_images WHERE announcement_id = ? AND room = ? AND image_key = ? AND event_id = ?`, announcementID, room, strings.TrimPrefix(what, "img-"), string(ev))
	}
	return err
}

// isEdit tells an edit of the message by what txnID names it: "r" and an
// outbox id (a refresh), "v" and a version (an edit).
func isEdit(what string) bool {
	if len(what) < 2 || what[0] != 'r' && what[0] != 'v' {
		return false
	}
	_, err := strconv.Atoi(what[1:])
	return err == nil
}

// SetRemoved records that the bot was kicked or banned from a configured
// room, and why.
func (s *Store) SetRemoved(ctx context.Context, boardID int64, room, reason string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO matrix_removed (board_id, room, reason) VALUES (?, ?, ?)
		ON CONFLICT (board_id, room) DO UPDATE SET reason = excluded.reason`, boardID, room, reason)
	return err
}

// Removed says why the bot may not go back to room ("" if it may).
func (s *Store) Removed(ctx context.Context, boardID int64, room string) (string, error) {
	var reason string
	err := s.db.QueryRowContext(ctx, `SELECT reason FROM matrix_removed WHERE board_id = ? AND room = ?`, boardID, room).Scan(&reason)
	return reason, ignoreNoRows(err)
}

// ClearRemoved lets the bot back into rooms (none given: every room of
// the board), after an invite or a new set-up.
func (s *Store) ClearRemoved(ctx context.Context, boardID int64, rooms ...string) error {
	if len(rooms) == 0 {
		_, err := s.db.ExecContext(ctx, `DELETE FROM matrix_removed WHERE board_id = ?`, boardID)
		return err
	}
	for _, r := range rooms {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM matrix_removed WHERE board_id = ? AND room = ?`, boardID, r); err != nil {
			return err
		}
	}
	return nil
}

// PruneRoomStatus forgets the status of rooms no longer configured.
func (s *Store) PruneRoomStatus(ctx context.Context, boardID int64, rooms []string) error {
	keep, _ := json.Marshal(rooms)
	_, err := s.db.ExecContext(ctx, `DELETE FROM matrix_room_status WHERE board_id = ? AND room NOT IN (SELECT value FROM json_each(?))`, boardID, string(keep))
	return err
}

// AnnouncementOf finds the announcement a room message belongs to.
func (s *Store) AnnouncementOf(ctx context.Context, roomID id.RoomID, ev id.EventID) (int64, bool, error) {
	var ann int64
	err := s.db.QueryRowContext(ctx, `SELECT announcement_id FROM matrix_events WHERE event_id = ? AND room_id = ?`, string(ev), string(roomID)).Scan(&ann)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return ann, err == nil, err
}

// SetRoomStatus records whether the bot can post in a room ("ok" or why not).
func (s *Store) SetRoomStatus(ctx context.Context, boardID int64, room, status string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO matrix_room_status (board_id, room, status, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (board_id, room) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at`, boardID, room, status, time.Now().UnixMilli())
	return err
}

// SetRoomStatusSince records a room's status as of at, unless the status
// kept was recorded later (it knows better); it says whether it did.
func (s *Store) SetRoomStatusSince(ctx context.Context, boardID int64, room, status string, at time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO matrix_room_status (board_id, room, status, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (board_id, room) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at
		WHERE matrix_room_status.updated_at <= excluded.updated_at`, boardID, room, status, at.UnixMilli())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// RoomStatus returns each room's last known status.
func (s *Store) RoomStatus(ctx context.Context, boardID int64) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT room, status FROM matrix_room_status WHERE board_id = ?`, boardID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var room, st string
		if err := rows.Scan(&room, &st); err != nil {
			return nil, err
		}
		out[room] = st
	}
	return out, rows.Err()
}

// syncStore keeps one account's sync position in the store (mautrix.SyncStore).
type syncStore struct {
	db      *sql.DB
	boardID int64
}

func (s syncStore) SaveFilterID(ctx context.Context, _ id.UserID, filterID string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE matrix_accounts SET filter_id = ? WHERE board_id = ?`, filterID, s.boardID)
	return err
}

func (s syncStore) LoadFilterID(ctx context.Context, _ id.UserID) (string, error) {
	var f string
	err := s.db.QueryRowContext(ctx, `SELECT filter_id FROM matrix_accounts WHERE board_id = ?`, s.boardID).Scan(&f)
	return f, ignoreNoRows(err)
}

func (s syncStore) SaveNextBatch(ctx context.Context, _ id.UserID, token string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE matrix_accounts SET next_batch = ? WHERE board_id = ?`, token, s.boardID)
	return err
}

func (s syncStore) LoadNextBatch(ctx context.Context, _ id.UserID) (string, error) {
	var t string
	err := s.db.QueryRowContext(ctx, `SELECT next_batch FROM matrix_accounts WHERE board_id = ?`, s.boardID).Scan(&t)
	return t, ignoreNoRows(err)
}

func ignoreNoRows(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	return err
}
