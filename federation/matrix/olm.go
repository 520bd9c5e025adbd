//go:build goolm

package matrix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/rs/zerolog"
	"go.mau.fi/util/dbutil"
	"go.mau.fi/util/jsonbytes"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// The olm machine itself: mautrix's crypto package, built with its pure-Go
// olm (the goolm tag, which every build of Crieur carries: README,
// Building). Without the tag that package compiles libolm through cgo and
// needs olm.h; olm_none.go then stands in, and no room is served
// encrypted.

type olmMachine = crypto.OlmMachine

// upgradeOlmTables makes mautrix's crypto tables (their upgrades are
// mautrix's: crypto/sql_store_upgrade).
func upgradeOlmTables(ctx context.Context, db *dbutil.Database) error {
	return crypto.NewSQLCryptoStore(db, dbutil.NoopLogger, "", "", nil).DB.Upgrade(ctx)
}

// deviceKey is the device's signing key, which members verify.
func (s *session) deviceKey() string { return s.mach.OwnIdentity().SigningKey.String() }

// startOlm gives the session its olm machine: the device's account from
// the crypto store, its keys on the homeserver, the sync handlers that
// keep it current and decrypt. A homeserver that does not answer is an
// error; a refusal is the session's reason not to encrypt (cryptoErr).
func (b *Bridge) startOlm(ctx context.Context, s *session, st *cryptoStores, a Account) (*session, error) {
	cli, syncer := s.cli, s.syncer
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

// boardSecrets names where a board's cross-signing private keys are kept
// in the crypto store (its crypto_secrets table): they outlive devices.
func boardSecrets(boardID int64) string { return fmt.Sprintf("crieur-board-%d", boardID) }
