package matrix

// End-to-end encryption: one olm device per board's bot, its keys in
// mautrix's crypto store (tables crypto_*, in the board store's file, so in
// backups), the room state encryption needs in mautrix's state store
// (mx_*). Matrix sends run only in the serve process, so one process owns
// each device; within it, one session per board holds its OlmMachine.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
	"maunium.net/go/mautrix/sqlstatestore"

	"crieur/federation/delivery"
)

// cryptoStores are mautrix's stores over the board store's connection.
type cryptoStores struct {
	db        *dbutil.Database
	state     *sqlstatestore.SQLStateStore
	pickleKey []byte
}

// stores makes mautrix's tables once (their upgrades are mautrix's:
// crypto/sql_store_upgrade and sqlstatestore, each with its own version
// table) and returns the stores. The "sqlite3" dialect is only a name to
// dbutil (ParseDialect): the connection is modernc's, which takes the $1
// placeholders mautrix writes.
func (b *Bridge) stores(ctx context.Context) (*cryptoStores, error) {
	b.cryptoMu.Lock()
	defer b.cryptoMu.Unlock()
	if b.crypto != nil {
		return b.crypto, nil
	}
	db, err := dbutil.NewWithDB(b.store.db, "sqlite3")
	if err != nil {
		return nil, fmt.Errorf("matrix crypto store: %w", err)
	}
	state := sqlstatestore.NewSQLStateStore(db, dbutil.NoopLogger, false)
	if err := state.Upgrade(ctx); err != nil {
		return nil, fmt.Errorf("matrix state store: %w", err)
	}
	if err := upgradeOlmTables(ctx, db); err != nil {
		return nil, fmt.Errorf("matrix crypto store: %w", err)
	}
	key, err := b.store.pickleKey(ctx)
	if err != nil {
		return nil, err
	}
	b.crypto = &cryptoStores{db: db, state: state, pickleKey: key}
	return b.crypto, nil
}

// deviceAccount names a device's olm state in the crypto store. Keyed by
// device: a new set-up (a new login) gets a fresh olm account, and the
// previous one is kept until the new set-up is saved.
func deviceAccount(boardID int64, device string) string {
	return fmt.Sprintf("crieur-board-%d-device-%s", boardID, device)
}

// session is a board's client, syncer and (when encryption could be set
// up) olm machine, shared by its sync loop and its sends.
type session struct {
	cli       *mautrix.Client
	syncer    *mautrix.DefaultSyncer
	state     *sqlstatestore.SQLStateStore // cli's, typed
	mach      *olmMachine                  // nil: rooms cannot be served encrypted (cryptoErr says why)
	cryptoErr error

	mu   sync.Mutex
	acct Account
	// sendMu makes a room key's sharing and the encryption with it one
	// step: two sends at once would otherwise race to share it.
	sendMu sync.Mutex
}

func (s *session) account() Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acct
}

// encryption is "ok" when the device holds keys, or why it does not.
func (s *session) encryption() string {
	if s.mach != nil {
		return encryptionOK
	}
	if s.cryptoErr != nil {
		return s.cryptoErr.Error()
	}
	return "not set up"
}

// encryptionOK is the status of a device that holds keys.
const encryptionOK = "ok"

// serves tells whether the session is the one for account a: a token
// belongs to one device, so the same token (on the same homeserver) is
// the same device, whether a knows its id yet or not.
func (s *session) serves(a Account) bool {
	cur := s.account()
	return cur.AccessToken == a.AccessToken && cur.Homeserver == a.Homeserver
}

// update takes a's set-up (rooms, inviters may have changed), keeping the
// device the session found.
func (s *session) update(a Account) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a.DeviceID = s.acct.DeviceID
	s.acct = a
}

// sessionFor is the board's session for this account, made the first time
// (or after the token or device changed). The same device never has two
// olm machines in the process: their in-memory session caches would
// disagree on ratchets.
func (b *Bridge) sessionFor(ctx context.Context, a Account) (*session, error) {
	// One board's session is made once at a time; other boards' do not
	// wait for its homeserver.
	lock, _ := b.opening.LoadOrStore(a.BoardID, &sync.Mutex{})
	lock.(*sync.Mutex).Lock()
	defer lock.(*sync.Mutex).Unlock()
	b.sessMu.Lock()
	s := b.sessions[a.BoardID]
	b.sessMu.Unlock()
	if s != nil && s.serves(a) {
		s.update(a)
		return s, nil
	}
	s, err := b.openSession(ctx, a)
	if err != nil {
		return nil, err
	}
	b.sessMu.Lock()
	b.sessions[a.BoardID] = s
	b.sessMu.Unlock()
	return s, nil
}

// dropSession forgets a board's session (its set-up was deleted).
func (b *Bridge) dropSession(boardID int64) {
	b.sessMu.Lock()
	defer b.sessMu.Unlock()
	delete(b.sessions, boardID)
}

// openSession makes a client whose syncer carries the bridge's handlers
// and, when the account has a device, an olm machine: its keys are
// uploaded the first time, its sync hooks feed it to-device events,
// device lists and one-time key counts, and decrypt m.room.encrypted
// events, which then reach the same handlers as clear ones (as mautrix's
// crypto/cryptohelper/cryptohelper.go does: Init, HandleEncrypted). An
// error is returned when the client cannot be made or the homeserver did
// not answer (the caller tries again later); a device whose encryption
// the homeserver refused gives a session without it, which says why.
func (b *Bridge) openSession(ctx context.Context, a Account) (*session, error) {
	st, err := b.stores(ctx)
	if err != nil {
		return nil, err
	}
	cli, err := b.client(a)
	if err != nil {
		return nil, err
	}
	if a.DeviceID == "" {
		// Set up before Crieur kept devices: the token's own device.
		who, err := cli.Whoami(ctx)
		switch {
		case unanswered(err), errors.Is(err, mautrix.MUnknownToken), errors.Is(err, mautrix.MMissingToken):
			return nil, fmt.Errorf("ask the homeserver for the token's device: %w", err)
		case err == nil:
			a.DeviceID = who.DeviceID.String()
		}
	}
	cli.DeviceID = id.DeviceID(a.DeviceID)
	cli.StateStore = st.state
	cli.Store = syncStore{db: b.store.db, boardID: a.BoardID}
	syncer := mautrix.NewDefaultSyncer()
	cli.Syncer = syncer
	s := &session{cli: cli, syncer: syncer, state: st.state, acct: a}
	defer func() {
		// What crieur check reads, and the device of an account set up
		// before Crieur kept devices.
		if err := b.store.SetDevice(ctx, a.BoardID, a.AccessToken, a.DeviceID, s.encryption()); err != nil {
			b.log.ErrorContext(ctx, "matrix: record the device", "err", err)
		}
	}()
	// Room state (members, m.room.encryption) for the olm machine, from
	// every sync, before the handlers below read it.
	syncer.OnEvent(cli.StateStoreSyncHandler)
	b.handle(s)
	if a.DeviceID == "" {
		s.cryptoErr = errors.New("the homeserver did not say which device the access token belongs to, so Crieur has no device to hold encryption keys")
		return s, nil
	}
	return b.startOlm(ctx, s, st, a)
}

// unanswered tells a homeserver that did not answer (unreachable, or
// failing with a 5xx) from one that refused: only a refusal is kept as
// the reason a device has no keys.
func unanswered(err error) bool {
	var herr mautrix.HTTPError
	if !errors.As(err, &herr) {
		return false
	}
	return herr.Response == nil || herr.Response.StatusCode >= 500 || herr.Response.StatusCode == http.StatusTooManyRequests
}

// ErrUnsupportedEncryption is a room encrypted with an algorithm Crieur
// cannot encrypt for.
type ErrUnsupportedEncryption struct {
	Room      string
	Algorithm id.Algorithm
}

func (e *ErrUnsupportedEncryption) Error() string {
	return fmt.Sprintf("%s is end-to-end encrypted with %q, which Crieur cannot encrypt for (it knows %s): Crieur does not post there", e.Room, e.algorithm(), id.AlgorithmMegolmV1)
}

// algorithm is the room's algorithm as shown: the room's admins chose it,
// so it is bounded before it reaches answers and logs.
func (e *ErrUnsupportedEncryption) algorithm() string {
	a := string(e.Algorithm)
	if len(a) > 100 {
		a = strings.ToValidUTF8(a[:100], "") + "…"
	}
	return a
}

// roomEncryption is the room's m.room.encryption (nil: not encrypted).
// What the state store holds comes from sync; a room it does not know as
// encrypted is asked of the homeserver before every send, so that a room
// made encrypted since the last sync never gets a message in clear.
func (b *Bridge) roomEncryption(ctx context.Context, s *session, roomID id.RoomID) (*event.EncryptionEventContent, error) {
	st := s.state
	enc, err := st.GetEncryptionEvent(ctx, roomID)
	if err != nil {
		return nil, err
	}
	// An m.room.encryption without an algorithm is no setting at all (the
	// spec requires one); a kept one without (seen once in the suite, as
	// "encrypted with \"\"", and the room's posts waited for ever) is read
	// again from the homeserver rather than believed.
	if enc == nil || enc.Algorithm == "" {
		var content event.EncryptionEventContent
		err := s.cli.StateEvent(ctx, roomID, event.StateEncryption, "", &content)
		if errors.Is(err, mautrix.MNotFound) || err == nil && content.Algorithm == "" {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		enc = &content
		if err := st.SetEncryptionEvent(ctx, roomID, enc); err != nil {
			return nil, err
		}
	}
	if enc.Algorithm != id.AlgorithmMegolmV1 {
		return nil, &ErrUnsupportedEncryption{Room: roomID.String(), Algorithm: enc.Algorithm}
	}
	return enc, nil
}

// sendEvent sends content into a room: encrypted (m.room.encrypted,
// megolm) when the room is, as it is otherwise. A room that is encrypted
// while the bot's device has no keys gets nothing: never clear text in an
// encrypted room.
func (b *Bridge) sendEvent(ctx context.Context, s *session, roomID id.RoomID, evtType event.Type, content any, txn string) (*mautrix.RespSendEvent, error) {
	enc, err := b.roomEncryption(ctx, s, roomID)
	var unsupported *ErrUnsupportedEncryption
	if errors.As(err, &unsupported) {
		return nil, delivery.Local(err)
	}
	if err != nil {
		return nil, err
	}
	var resp *mautrix.RespSendEvent
	switch {
	case enc == nil:
		resp, err = s.cli.SendMessageEvent(ctx, roomID, evtType, content, mautrix.ReqSendEvent{TransactionID: txn, DontEncrypt: true})
	case s.mach == nil:
		return nil, delivery.Local(fmt.Errorf("%s is end-to-end encrypted and %v; Crieur does not post there in clear", roomID, s.cryptoErr))
	default:
		var encrypted *event.EncryptedEventContent
		if encrypted, err = b.encrypt(ctx, s, roomID, evtType, content); err == nil {
			// The same transaction id as in clear: a retry is still
			// answered with the first event, whatever its new ciphertext.
			resp, err = s.cli.SendMessageEvent(ctx, roomID, event.EventEncrypted, encrypted, mautrix.ReqSendEvent{TransactionID: txn})
		}
	}
	if err != nil {
		return nil, err
	}
	b.sent.record(roomID, txn, resp.EventID)
	return resp, nil
}

// redact takes an event back; like sendEvent, it remembers the
// redaction the homeserver answered for (lost.go).
func (b *Bridge) redact(ctx context.Context, cli *mautrix.Client, roomID id.RoomID, ev id.EventID, reason, txn string) error {
	resp, err := cli.RedactEvent(ctx, roomID, ev, mautrix.ReqRedact{Reason: reason, TxnID: txn})
	if err != nil {
		return err
	}
	b.sent.record(roomID, txn, resp.EventID)
	return nil
}

// prepareSession is the session a set-up would use: the one in place if
// the token is the same, else a new one, not yet the board's (useSession
// makes it so once the set-up is saved).
func (b *Bridge) prepareSession(ctx context.Context, a Account) (*session, error) {
	b.sessMu.Lock()
	cur := b.sessions[a.BoardID]
	b.sessMu.Unlock()
	if cur != nil && cur.serves(a) {
		return cur, nil
	}
	return b.openSession(ctx, a)
}

// useSession makes s the board's session, for account a.
func (b *Bridge) useSession(boardID int64, s *session, a Account) {
	s.update(a)
	b.sessMu.Lock()
	b.sessions[boardID] = s
	b.sessMu.Unlock()
}

// forgetDevice deletes the olm state of a device Crieur no longer uses
// (logged out, or never saved): its account, its olm and megolm
// sessions. The board's cross-signing keys stay (boardSecrets).
func (b *Bridge) forgetDevice(ctx context.Context, a Account) {
	if a.DeviceID == "" {
		return
	}
	if _, err := b.stores(ctx); err != nil {
		return
	}
	acct := deviceAccount(a.BoardID, a.DeviceID)
	for _, table := range []string{"crypto_olm_session", "crypto_megolm_inbound_session", "crypto_megolm_outbound_session", "crypto_account"} {
		if _, err := b.store.db.ExecContext(ctx, `DELETE FROM `+table+` WHERE account_id = ?`, acct); err != nil {
			b.log.ErrorContext(ctx, "matrix: forget a device's keys", "table", table, "err", err)
		}
	}
}

// Cross-signing statuses kept in the account (cross_signing), besides "ok".
const crossSignedOK = "ok"
