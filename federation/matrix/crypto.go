package matrix

// End-to-end encryption: one olm device per board's bot, its keys in
// mautrix's crypto store (tables crypto_*, in the board store's file, so in
// backups), the room state encryption needs in mautrix's state store
// (mx_*). Matrix sends run only in the serve process, so one process owns
// each device; within it, one session per board holds its OlmMachine.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"go.mau.fi/util/dbutil"
	"go.mau.fi/util/jsonbytes"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto"
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
	if err := crypto.NewSQLCryptoStore(db, dbutil.NoopLogger, "", "", nil).DB.Upgrade(ctx); err != nil {
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

// boardSecrets names where a board's cross-signing private keys are kept
// in the crypto store (its crypto_secrets table): they outlive devices.
func boardSecrets(boardID int64) string { return fmt.Sprintf("crieur-board-%d", boardID) }

// session is a board's client, syncer and (when encryption could be set
// up) olm machine, shared by its sync loop and its sends.
type session struct {
	cli       *mautrix.Client
	syncer    *mautrix.DefaultSyncer
	state     *sqlstatestore.SQLStateStore // cli's, typed
	mach      *crypto.OlmMachine           // nil: rooms cannot be served encrypted (cryptoErr says why)
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
	store := crypto.NewSQLCryptoStore(st.db, dbutil.NoopLogger, deviceAccount(a.BoardID, a.DeviceID), id.DeviceID(a.DeviceID), st.pickleKey)
	// mautrix logs through zerolog, at length; Crieur says in its own log
	// what an operator needs (slog), and nothing of keys.
	nop := zerolog.Nop()
	mach := crypto.NewOlmMachine(cli, &nop, store, st.state)
	if err := mach.Load(ctx); err != nil {
		s.cryptoErr = fmt.Errorf("encryption: load the bot's olm account: %w", err)
		return s, nil
	}
	if err := ensureDeviceKeys(ctx, cli, mach); err != nil {
		if unanswered(err) {
			return nil, err
		}
		s.cryptoErr = err
		return s, nil
	}
	s.mach = mach
	syncer.OnSync(mach.ProcessSyncResponse)
	syncer.OnEventType(event.StateMember, mach.HandleMemberEvent)
	syncer.OnEventType(event.EventEncrypted, func(ctx context.Context, evt *event.Event) { b.onEncrypted(ctx, s, evt) })
	return s, nil
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

// ensureDeviceKeys uploads the device's keys the first time and checks,
// the next times, that the homeserver still has these keys for it, as
// mautrix's own helper does (crypto/cryptohelper/cryptohelper.go:
// verifyDeviceKeysOnServer; that package is not used because it links
// a cgo SQLite driver).
func ensureDeviceKeys(ctx context.Context, cli *mautrix.Client, mach *crypto.OlmMachine) error {
	resp, err := cli.QueryKeys(ctx, &mautrix.ReqQueryKeys{DeviceKeys: map[id.UserID]mautrix.DeviceIDList{cli.UserID: {cli.DeviceID}}})
	if unanswered(err) {
		return err // as it is: the caller tells it from a refusal
	}
	if err != nil {
		return fmt.Errorf("encryption: ask the homeserver for the bot's device keys: %w", remoteSafe(err))
	}
	shared := mach.GetAccount().Shared
	device, ok := resp.DeviceKeys[cli.UserID][cli.DeviceID]
	switch {
	case !ok || len(device.Keys) == 0:
		if shared {
			return errors.New("encryption: the homeserver lost the keys of the bot's device; set the board's Matrix up again (a new login makes a new device)")
		}
		if err := mach.ShareKeys(ctx, -1); unanswered(err) {
			return err
		} else if err != nil {
			return fmt.Errorf("encryption: the homeserver refused the bot's device keys: %w", remoteSafe(err))
		}
		return nil
	case !shared:
		return errors.New("encryption: the access token's device already has encryption keys that another client made: give Crieur a device of its own (set it up with the password, or a token from a fresh login)")
	case device.Keys.GetEd25519(cli.DeviceID) != mach.OwnIdentity().SigningKey:
		return errors.New("encryption: the homeserver has other keys for the bot's device than Crieur's; set the board's Matrix up again (a new login makes a new device)")
	}
	return nil
}

// onEncrypted decrypts an m.room.encrypted event and hands it to the
// handlers as if it had come in clear. Its room key may come a moment
// later (a to-device event of a later sync): it is waited for a while,
// as mautrix's helper does, then the event is given up with a warning.
func (b *Bridge) onEncrypted(ctx context.Context, s *session, evt *event.Event) {
	decrypted, err := s.mach.DecryptMegolmEvent(ctx, evt)
	if errors.Is(err, crypto.NoSessionFound) {
		content := evt.Content.AsEncrypted()
		go func() {
			if !s.mach.WaitForSession(ctx, evt.RoomID, content.SenderKey, content.SessionID, sessionWait) {
				b.log.WarnContext(ctx, "matrix: cannot decrypt an event: its room key never came", "room", evt.RoomID, "event", evt.ID, "sender", evt.Sender)
				return
			}
			decrypted, err := s.mach.DecryptMegolmEvent(ctx, evt)
			if err != nil {
				b.log.WarnContext(ctx, "matrix: cannot decrypt an event", "room", evt.RoomID, "event", evt.ID, "sender", evt.Sender, "err", err)
				return
			}
			decrypted.Mautrix.EventSource |= event.SourceDecrypted
			s.syncer.Dispatch(ctx, decrypted)
		}()
		return
	}
	if err != nil {
		b.log.WarnContext(ctx, "matrix: cannot decrypt an event", "room", evt.RoomID, "event", evt.ID, "sender", evt.Sender, "err", err)
		return
	}
	decrypted.Mautrix.EventSource |= event.SourceDecrypted
	s.syncer.Dispatch(ctx, decrypted)
}

// sessionWait is how long an encrypted event waits for its room key.
const sessionWait = 25 * time.Second

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
	if enc == nil {
		return s.cli.SendMessageEvent(ctx, roomID, evtType, content, mautrix.ReqSendEvent{TransactionID: txn, DontEncrypt: true})
	}
	if s.mach == nil {
		return nil, delivery.Local(fmt.Errorf("%s is end-to-end encrypted and %v; Crieur does not post there in clear", roomID, s.cryptoErr))
	}
	encrypted, err := b.encrypt(ctx, s, roomID, evtType, content)
	if err != nil {
		return nil, err
	}
	// The same transaction id as in clear: a retry is still answered
	// with the first event, whatever its new ciphertext.
	return s.cli.SendMessageEvent(ctx, roomID, event.EventEncrypted, encrypted, mautrix.ReqSendEvent{TransactionID: txn})
}

// encrypt shares the room's megolm session with its members' devices,
// then encrypts with it. The members are the homeserver's (joined and
// invited, as clients share with invitees), not only what the sync has
// shown so far: a member who joined since is given the key rather than
// left unable to read. mautrix copies m.relates_to outside the ciphertext,
// as the spec asks for edits and poll ends (crypto/encryptmegolm.go:
// getRelatesTo).
func (b *Bridge) encrypt(ctx context.Context, s *session, roomID id.RoomID, evtType event.Type, content any) (*event.EncryptedEventContent, error) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	resp, err := s.cli.Members(ctx, roomID)
	if err != nil {
		return nil, fmt.Errorf("list the members of %s to share the room key: %w", roomID, err)
	}
	st := s.state
	known, err := st.GetRoomJoinedOrInvitedMembers(ctx, roomID)
	if err != nil {
		return nil, err
	}
	var users []id.UserID
	newcomer := false
	for _, evt := range resp.Chunk {
		_ = evt.Content.ParseRaw(evt.Type) // mautrix parsed it already, or it is not a member event (AsMember: empty)
		m := evt.Content.AsMember()
		if m.Membership != event.MembershipJoin && m.Membership != event.MembershipInvite {
			continue
		}
		user := id.UserID(evt.GetStateKey())
		users = append(users, user)
		if !slices.Contains(known, user) {
			newcomer = true
			if err := st.SetMembership(ctx, roomID, user, m.Membership); err != nil {
				return nil, err
			}
		}
	}
	if newcomer {
		// The current session was shared without them: a new one, shared
		// with everyone, as a membership change seen in sync does
		// (crypto/machine.go: HandleMemberEvent).
		if err := s.mach.CryptoStore.RemoveOutboundGroupSession(ctx, roomID); err != nil {
			return nil, err
		}
	}
	if err := s.mach.ShareGroupSession(ctx, roomID, users); err != nil {
		return nil, fmt.Errorf("share the room key of %s: %w", roomID, err)
	}
	encrypted, err := s.mach.EncryptMegolmEvent(ctx, roomID, evtType, content)
	if crypto.IsShareError(err) {
		// Expired between the two steps (its age or message count).
		if err := s.mach.ShareGroupSession(ctx, roomID, users); err != nil {
			return nil, fmt.Errorf("share the room key of %s: %w", roomID, err)
		}
		encrypted, err = s.mach.EncryptMegolmEvent(ctx, roomID, evtType, content)
	}
	if err != nil {
		return nil, fmt.Errorf("encrypt for %s: %w", roomID, err)
	}
	if encrypted.RelatesTo == nil {
		// mautrix copies the relation out of typed contents
		// (crypto/encryptmegolm.go: getRelatesTo), but the maps polls are
		// made of reached the room without it outside the ciphertext (a
		// poll's edit: TestMatrixEncryptedRoomMemberDecrypts); the spec
		// wants it outside too, so that the homeserver can relate them.
		encrypted.RelatesTo = relationOf(content)
	}
	return encrypted, nil
}

// relationOf is a content's m.relates_to (nil if it has none).
func relationOf(content any) *event.RelatesTo {
	raw, err := json.Marshal(content)
	if err != nil {
		return nil
	}
	var c struct {
		RelatesTo *event.RelatesTo `json:"m.relates_to"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return nil
	}
	return c.RelatesTo
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

// crossSign gives the bot a cross-signing identity and signs its device
// with it, so that members who verify the bot (by comparing the master
// key shown to the operator) trust its device. The private keys are the
// board's, in the crypto store's secrets (pickled with the pickle key);
// they are made and published once. Publishing needs the bot's password
// (user-interactive auth; Dendrite asks for it always:
// clientapi/routing/key_crosssigning.go), so a set-up with a token only
// can sign a new device with keys made before, not make them. It says
// the master key and "ok", or why the device is not cross-signed; it
// never refuses the set-up: the device encrypts either way.
func (b *Bridge) crossSign(ctx context.Context, s *session, a Account, password string) (masterKey, status string) {
	st, err := b.stores(ctx)
	if err != nil {
		return "", "not cross-signed: " + err.Error()
	}
	secrets := crypto.NewSQLCryptoStore(st.db, dbutil.NoopLogger, boardSecrets(a.BoardID), "", st.pickleKey)
	mach := s.mach
	onServer, err := ownMasterKey(ctx, s.cli)
	if err != nil {
		return "", "not cross-signed: " + err.Error()
	}
	seeds, found, err := loadSeeds(ctx, secrets)
	if err != nil {
		return "", "not cross-signed: " + err.Error()
	}
	if found {
		if err := mach.ImportCrossSigningKeys(seeds); err != nil {
			return "", "not cross-signed: read the kept keys: " + err.Error()
		}
	}
	ours := ""
	if found {
		ours = mach.CrossSigningKeys.MasterKey.PublicKey().String()
	}
	if ours == "" || ours != onServer {
		if password == "" {
			if onServer != "" {
				return onServer, "not cross-signed: the homeserver has a cross-signing identity for " + a.UserID + " that another client made, whose keys Crieur does not have; set the Matrix set-up up with the bot's password to make Crieur's own"
			}
			// Some homeservers take the keys without a password; Dendrite
			// and Synapse do not.
		}
		keys, err := mach.GenerateCrossSigningKeys()
		if err != nil {
			return onServer, "not cross-signed: " + err.Error()
		}
		uia := func(*mautrix.RespUserInteractive) any {
			if password == "" {
				return nil
			}
			return map[string]any{
				"type":       mautrix.AuthTypePassword,
				"identifier": map[string]any{"type": mautrix.IdentifierTypeUser, "user": a.UserID},
				"user":       a.UserID,
				"password":   password,
			}
		}
		if err := mach.PublishCrossSigningKeys(ctx, keys, uia); err != nil {
			var herr mautrix.HTTPError
			if password == "" && errors.As(err, &herr) && herr.IsStatus(http.StatusUnauthorized) {
				return onServer, "not cross-signed: the homeserver wants the bot's password (user-interactive auth) to publish its cross-signing keys, and the set-up gave an access token only; set it up once with the password to have a verifiable bot"
			}
			return onServer, "not cross-signed: the homeserver refused the cross-signing keys: " + remoteSafe(err).Error()
		}
		if err := saveSeeds(ctx, secrets, mach.ExportCrossSigningKeys()); err != nil {
			return "", "not cross-signed: keep the keys: " + err.Error()
		}
		ours = keys.MasterKey.PublicKey().String()
		b.log.InfoContext(ctx, "matrix: cross-signing keys published", "matrix_user", a.UserID, "master_key", ours)
	}
	if err := mach.SignOwnDevice(ctx, mach.OwnIdentity()); err != nil {
		return ours, "not cross-signed: the homeserver refused the device's signature: " + remoteSafe(err).Error()
	}
	return ours, crossSignedOK
}

// ownMasterKey is the bot's master cross-signing key on the homeserver
// ("" if it has none).
func ownMasterKey(ctx context.Context, cli *mautrix.Client) (string, error) {
	resp, err := cli.QueryKeys(ctx, &mautrix.ReqQueryKeys{DeviceKeys: map[id.UserID]mautrix.DeviceIDList{cli.UserID: {}}})
	if err != nil {
		return "", fmt.Errorf("ask the homeserver for the bot's cross-signing keys: %w", remoteSafe(err))
	}
	for _, k := range resp.MasterKeys[cli.UserID].Keys {
		return k.String(), nil
	}
	return "", nil
}

var seedNames = []id.Secret{id.SecretXSMaster, id.SecretXSSelfSigning, id.SecretXSUserSigning}

func loadSeeds(ctx context.Context, secrets *crypto.SQLCryptoStore) (crypto.CrossSigningSeeds, bool, error) {
	var seeds crypto.CrossSigningSeeds
	dst := []*jsonbytes.UnpaddedURLBytes{&seeds.MasterKey, &seeds.SelfSigningKey, &seeds.UserSigningKey}
	for i, name := range seedNames {
		v, err := secrets.GetSecret(ctx, name)
		if err != nil {
			return seeds, false, fmt.Errorf("read the cross-signing keys: %w", err)
		}
		if v == "" {
			return seeds, false, nil
		}
		*dst[i] = []byte(v)
	}
	return seeds, true, nil
}

func saveSeeds(ctx context.Context, secrets *crypto.SQLCryptoStore, seeds crypto.CrossSigningSeeds) error {
	for i, v := range [][]byte{seeds.MasterKey, seeds.SelfSigningKey, seeds.UserSigningKey} {
		if err := secrets.PutSecret(ctx, seedNames[i], string(v)); err != nil {
			return err
		}
	}
	return nil
}
