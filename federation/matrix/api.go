package matrix

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"crieur/board"
	"crieur/board/httpx"
)

// Register adds the Matrix set-up routes to the admin API.
// Any member of the board reads the set-up; only a publisher changes it.
func (b *Bridge) Register(api httpx.Guard) {
	api.OnBoard("GET /api/v1/boards/{board}/matrix", board.RoleEditor, b.getAccount)
	api.OnBoard("PUT /api/v1/boards/{board}/matrix", board.RolePublisher, b.putAccount)
	api.OnBoard("DELETE /api/v1/boards/{board}/matrix", board.RolePublisher, b.deleteAccount)
}

// accountRequest is what an operator sends: a token, or a password used
// once to get one (the password is not kept).
type accountRequest struct {
	Homeserver      string   `json:"homeserver"`
	UserID          string   `json:"user_id"`
	AccessToken     string   `json:"access_token"`
	Password        string   `json:"password"`
	Rooms           []string `json:"rooms"`
	MsgType         string   `json:"msgtype"`
	AllowedInviters []string `json:"allowed_inviters"`
	PollResults     string   `json:"poll_results"`
}

type accountView struct {
	Account
	TokenSet bool              `json:"token_set"`
	Status   map[string]string `json:"rooms_status"`
	// Encryption is "ok" when the bot's device holds keys and posts
	// encrypted in encrypted rooms, or why it cannot (then encrypted
	// rooms get nothing). DeviceKey is the device's ed25519 key, which a
	// member's client shows in the bot's session list.
	Encryption string `json:"encryption"`
	DeviceKey  string `json:"device_key,omitempty"`
}

func (b *Bridge) view(ctx context.Context, a Account) (accountView, error) {
	st, err := b.store.RoomStatus(ctx, a.BoardID)
	if err != nil {
		return accountView{}, err
	}
	for room := range st {
		if !slices.Contains(a.Rooms, room) {
			delete(st, room)
		}
	}
	v := accountView{Account: a, TokenSet: a.AccessToken != "", Status: st, Encryption: "not set up yet (the set-up is saved, its sync not started)"}
	b.sessMu.Lock()
	sess := b.sessions[a.BoardID]
	b.sessMu.Unlock()
	if a.Encryption != "" {
		v.Encryption = a.Encryption
	}
	if sess != nil && sess.serves(a) {
		v.Encryption = sess.encryption()
		if sess.mach != nil {
			v.DeviceKey = sess.deviceKey()
		}
	}
	return v, nil
}

func (b *Bridge) getAccount(w http.ResponseWriter, r *http.Request, bd board.Board) error {
	a, err := b.store.Account(r.Context(), bd.ID)
	if errors.Is(err, ErrNoAccount) {
		return &httpx.Error{Status: http.StatusNotFound, Safe: "this board has no Matrix set-up; PUT one"}
	}
	var v accountView
	if err == nil {
		v, err = b.view(r.Context(), a)
	}
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, v)
	return nil
}

func validate(req *accountRequest) board.Problems {
	errs := board.Problems{}
	if u, err := url.Parse(req.Homeserver); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs["homeserver"] = board.Problemf("problem.homeserver")
	}
	if _, _, err := id.UserID(req.UserID).Parse(); err != nil {
		errs["user_id"] = board.Problemf("problem.matrix_user")
	}
	if (req.AccessToken == "") == (req.Password == "") {
		errs["access_token"] = board.Problemf("problem.matrix_login")
	}
	if len(req.Rooms) == 0 || len(req.Rooms) > 50 {
		errs["rooms"] = board.Problemf("problem.matrix_rooms")
	}
	for _, room := range req.Rooms {
		if (!strings.HasPrefix(room, "!") && !strings.HasPrefix(room, "#")) || !strings.Contains(room, ":") {
			errs["rooms"] = board.Problemf("problem.matrix_room", room)
		}
	}
	switch req.MsgType {
	case "":
		req.MsgType = string(event.MsgNotice)
	case string(event.MsgNotice), string(event.MsgText):
	default:
		errs["msgtype"] = board.Problemf("problem.msgtype")
	}
	switch req.PollResults {
	case "":
		req.PollResults = PollsDisclosed
	case PollsDisclosed, PollsUndisclosed:
	default:
		errs["poll_results"] = board.Problemf("problem.poll_results")
	}
	for _, u := range req.AllowedInviters {
		if _, _, err := id.UserID(u).Parse(); err != nil {
			errs["allowed_inviters"] = board.Problemf("problem.matrix_inviter", u)
		}
	}
	return errs
}

// putAccount checks the credentials against the homeserver before saving
// anything: a bad token or password is refused with the homeserver's
// reason and the previous set-up stays in place.
func (b *Bridge) putAccount(w http.ResponseWriter, r *http.Request, bd board.Board) error {
	ctx := r.Context()
	var req accountRequest
	if err := httpx.DecodeJSON(w, r, &req, httpx.Decoding{Max: 64 << 10, What: "the Matrix set-up"}); err != nil {
		return err
	}
	if errs := validate(&req); len(errs) > 0 {
		return &board.ValidationError{Fields: errs, What: "Matrix set-up"}
	}
	a := Account{BoardID: bd.ID, Homeserver: strings.TrimSuffix(req.Homeserver, "/"), UserID: req.UserID, AccessToken: req.AccessToken,
		Rooms: req.Rooms, MsgType: req.MsgType, AllowedInviters: req.AllowedInviters, PollResults: req.PollResults}
	if a.AllowedInviters == nil {
		a.AllowedInviters = []string{}
	}
	cli, err := b.client(a)
	if err != nil {
		return &httpx.Error{Status: http.StatusBadRequest, Safe: err.Error()}
	}
	if req.Password != "" {
		resp, err := cli.Login(ctx, &mautrix.ReqLogin{
			Type: mautrix.AuthTypePassword, Identifier: mautrix.UserIdentifier{Type: mautrix.IdentifierTypeUser, User: a.UserID},
			Password: req.Password, InitialDeviceDisplayName: "Crieur (" + bd.Name + ")",
		})
		if err != nil {
			return &httpx.Error{Status: http.StatusBadRequest, Safe: explainLogin(a, err)}
		}
		a.AccessToken, a.OwnsToken, a.DeviceID = resp.AccessToken, true, resp.DeviceID.String()
		b.log.DebugContext(ctx, "matrix: logged in", "device", resp.DeviceID)
	} else {
		who, err := cli.Whoami(ctx)
		if err != nil {
			return &httpx.Error{Status: http.StatusBadRequest, Safe: "the access token does not work: " + b.explain(a, "whoami", err).Error()}
		}
		if who.UserID.String() != a.UserID {
			return &httpx.Error{Status: http.StatusBadRequest, Safe: fmt.Sprintf("the access token belongs to %s, not %s", who.UserID, a.UserID)}
		}
		a.DeviceID = who.DeviceID.String()
	}
	prev, prevErr := b.store.Account(ctx, bd.ID)
	if prevErr == nil && prev.AccessToken == a.AccessToken {
		a.OwnsToken = prev.OwnsToken // the same token again: still Crieur's if it was
	}
	// The device's keys, then the rooms: a room that cannot be served
	// encrypted refuses the set-up, and the previous one stays.
	sess, err := b.prepareSession(ctx, a)
	if err != nil {
		b.abandon(ctx, prev, prevErr, a)
		var herr mautrix.HTTPError
		if errors.As(err, &herr) {
			return &httpx.Error{Status: http.StatusBadRequest, Safe: "could not set up the bot's device: " + b.explain(a, "encryption", err).Error()}
		}
		return err
	}
	cli = sess.cli
	status := map[string]string{}
	var refused []string
	refusals := board.Problems{}
	for _, room := range a.Rooms {
		status[room] = "ok"
		roomID, err := b.join(ctx, cli, a, room)
		if err != nil {
			status[room] = b.explain(a, room, err).Error()
			continue
		}
		enc, err := b.roomEncryption(ctx, sess, roomID)
		var unsupported *ErrUnsupportedEncryption
		switch {
		case errors.As(err, &unsupported):
			refusals["rooms"] = board.Problemf("problem.matrix_room_algorithm", room, unsupported.algorithm())
			refused = append(refused, room)
		case err != nil:
			status[room] = b.explain(a, room, err).Error()
		case enc != nil && sess.mach == nil:
			refusals["rooms"] = board.Problemf("problem.matrix_room_no_crypto", room, sess.cryptoErr.Error())
			refused = append(refused, room)
		}
	}
	if len(refusals) > 0 {
		b.log.InfoContext(ctx, "matrix: set-up refused: rooms that cannot be served encrypted", "board", bd.Name, "rooms", refused)
		b.abandon(ctx, prev, prevErr, a)
		return &board.ValidationError{Fields: refusals, What: "Matrix set-up"}
	}
	a.Encryption = sess.encryption()
	if sess.mach != nil {
		a.MasterKey, a.CrossSigning = b.crossSign(ctx, sess, a, req.Password)
	} else {
		a.CrossSigning = "not cross-signed: the device holds no keys"
	}
	b.stopSync(bd.ID) // its token may be about to end
	if err := b.store.SaveAccount(ctx, a); err != nil {
		return err
	}
	b.useSession(a.BoardID, sess, a)
	if prevErr == nil && prev.AccessToken != a.AccessToken {
		// The device Crieur logged in before is no longer used: log it out,
		// or every PUT would leave one more live token behind.
		b.retire(ctx, prev)
	}
	b.forgetRooms(bd.ID)
	// Saving the set-up again is the operator's word that the bot may go
	// back to rooms it was removed from.
	if err := b.store.ClearRemoved(ctx, bd.ID); err != nil {
		b.log.ErrorContext(ctx, "matrix: clear removals", "err", err)
	}
	if err := b.store.PruneRoomStatus(ctx, bd.ID, a.Rooms); err != nil {
		b.log.ErrorContext(ctx, "matrix: prune room status", "err", err)
	}
	// The joins were made above, so the answer says which rooms work.
	for _, room := range a.Rooms {
		_ = b.store.SetRoomStatus(ctx, bd.ID, room, status[room])
	}
	b.startSync(a)
	// Messages that wait for a retry because of what this PUT fixed (a
	// token, a room) go now rather than after hours of backoff.
	hurried := b.hurry(ctx, a.Rooms)
	// Back in a room it was removed from (the joins above): what the
	// room never showed of the last sends goes again.
	for _, room := range a.Rooms {
		if status[room] != "ok" {
			continue
		}
		if roomID := b.roomOf(ctx, sess.cli, a, room); roomID != "" {
			b.retakeLost(ctx, sess.cli, a, roomID, b.configuredAs(ctx, sess.cli, a, roomID))
		}
	}
	b.log.InfoContext(ctx, "matrix: account saved", "board", bd.Name, "matrix_user", a.UserID, "device", a.DeviceID, "encryption", sess.mach != nil,
		"rooms", len(a.Rooms), "waiting_messages_sent_now", hurried)
	v, err := b.view(ctx, a)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, v)
	return nil
}

// abandon undoes what a refused set-up made: the device it logged in
// (Crieur's own) and that device's keys. The previous set-up is left
// as it was. A token the operator gave stays theirs, with the keys
// Crieur made for its device: a device with keys on the homeserver and
// none here could never be used again.
func (b *Bridge) abandon(ctx context.Context, prev Account, prevErr error, a Account) {
	if prevErr == nil && prev.AccessToken == a.AccessToken {
		return // the same device as the set-up in place
	}
	b.retire(ctx, a)
}

// retire ends a device Crieur made and will not use again: logged out,
// its keys forgotten. A device of a token the operator gave is left
// alone, keys included, in case the token comes back.
func (b *Bridge) retire(ctx context.Context, a Account) {
	if !a.OwnsToken {
		return
	}
	b.logout(ctx, a)
	b.forgetDevice(ctx, a)
}

// hurry makes the messages waiting for a retry in rooms (as configured)
// due now, and says how many there were.
func (b *Bridge) hurry(ctx context.Context, rooms []string) int {
	if b.queue == nil {
		return 0
	}
	total := 0
	for _, room := range rooms {
		n, err := b.queue.Hurry(ctx, KindSend, room)
		if err != nil {
			b.log.WarnContext(ctx, "matrix: send waiting messages now", "room", room, "err", err)
		}
		total += n
	}
	return total
}

// explainLogin says why a password login failed in the operator's terms.
func explainLogin(a Account, err error) string {
	err = remoteSafe(err)
	switch {
	case errors.Is(err, mautrix.MForbidden):
		return fmt.Sprintf("the homeserver refused to log in %s: wrong user id or password; check both (%v)", a.UserID, err)
	case errors.Is(err, mautrix.MUserDeactivated):
		return fmt.Sprintf("the homeserver refused to log in %s: this account is deactivated", a.UserID)
	case errors.Is(err, mautrix.MLimitExceeded):
		return fmt.Sprintf("the homeserver refused to log in %s: too many attempts; wait a minute and try again", a.UserID)
	case errors.Is(err, mautrix.MUnknown), errors.Is(err, mautrix.MBadJSON):
		return fmt.Sprintf("the homeserver refused to log in %s: %v", a.UserID, err)
	}
	return fmt.Sprintf("could not log in %s: homeserver %s unreachable or failing: %v", a.UserID, a.Homeserver, err)
}

// logout ends the device of a token Crieur made itself; a token the
// operator gave is theirs to manage.
func (b *Bridge) logout(ctx context.Context, a Account) {
	if !a.OwnsToken || a.AccessToken == "" {
		return
	}
	cli, err := b.client(a)
	if err == nil {
		_, err = cli.Logout(ctx)
	}
	if err != nil && !errors.Is(err, mautrix.MUnknownToken) {
		b.log.WarnContext(ctx, "matrix: could not log out the previous device", "matrix_user", a.UserID, "err", err)
		return
	}
	b.log.InfoContext(ctx, "matrix: previous device logged out", "matrix_user", a.UserID)
}

func (b *Bridge) deleteAccount(w http.ResponseWriter, r *http.Request, bd board.Board) error {
	b.stopSync(bd.ID)
	b.dropSession(bd.ID)
	if prev, err := b.store.Account(r.Context(), bd.ID); err == nil {
		b.retire(r.Context(), prev)
	}
	if err := b.store.DeleteAccount(r.Context(), bd.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
