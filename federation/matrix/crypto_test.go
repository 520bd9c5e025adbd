//go:build goolm

package matrix

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix/crypto"
	"maunium.net/go/mautrix/id"

	"crieur/board"
	"crieur/board/locale"
	"crieur/board/markdown"
	"crieur/federation/delivery"
)

// mautrix's stores work over the board store's modernc connection (its
// $1 placeholders, its upgrades), in the same file; the pickle key is made
// once and is the same for the next process; cross-signing seeds come
// back as kept, and are pickled, not in clear.
func TestCryptoStoresInTheBoardStore(t *testing.T) {
	ctx := context.Background()
	db, bstore := openStore(t)
	mstore := NewStore(db)
	b := NewBridge(mstore, bstore, nil, testLinks{}, nil, http.DefaultClient, slog.New(slog.DiscardHandler))
	st, err := b.stores(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.pickleKey) != 32 {
		t.Fatalf("pickle key of %d bytes", len(st.pickleKey))
	}
	for _, table := range []string{"crypto_account", "crypto_secrets", "crypto_version", "mx_room_state", "mx_version"} {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name = ?`, table).Scan(&n); err != nil || n != 1 {
			t.Errorf("table %s: %d %v", table, n, err)
		}
	}
	// The next process (a restart, or a restored backup) reads the same key.
	again, err := NewBridge(mstore, bstore, nil, testLinks{}, nil, http.DefaultClient, slog.New(slog.DiscardHandler)).stores(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.pickleKey, st.pickleKey) {
		t.Fatal("the pickle key changed between two processes: nothing kept could be read again")
	}

	secrets := crypto.NewSQLCryptoStore(st.db, dbutil.NoopLogger, boardSecrets(1), "", st.pickleKey)
	if _, found, err := loadSeeds(ctx, secrets); err != nil || found {
		t.Fatalf("seeds before any: %v %v", found, err)
	}
	seeds := crypto.CrossSigningSeeds{MasterKey: bytes.Repeat([]byte{1}, 32), SelfSigningKey: bytes.Repeat([]byte{2}, 32), UserSigningKey: bytes.Repeat([]byte{3}, 32)}
	if err := saveSeeds(ctx, secrets, seeds); err != nil {
		t.Fatal(err)
	}
	got, found, err := loadSeeds(ctx, crypto.NewSQLCryptoStore(again.db, dbutil.NoopLogger, boardSecrets(1), "", again.pickleKey))
	if err != nil || !found || !bytes.Equal(got.MasterKey, seeds.MasterKey) || !bytes.Equal(got.SelfSigningKey, seeds.SelfSigningKey) || !bytes.Equal(got.UserSigningKey, seeds.UserSigningKey) {
		t.Fatalf("seeds read back: %v %v %+v", found, err, got)
	}
	var raw []byte
	if err := db.QueryRowContext(ctx, `SELECT secret FROM crypto_secrets WHERE account_id = ? AND name = ?`, boardSecrets(1), string(id.SecretXSMaster)).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, seeds.MasterKey) {
		t.Error("the master key's seed is stored in clear")
	}
	if _, found, _ := loadSeeds(ctx, crypto.NewSQLCryptoStore(st.db, dbutil.NoopLogger, boardSecrets(2), "", st.pickleKey)); found {
		t.Error("another board reads this board's keys")
	}
}

// encryptedHomeserver is a homeserver whose room is encrypted with
// algorithm; it records what was sent.
type encryptedHomeserver struct {
	algorithm string
	user      string // whoami's answer ("": none, as for a token without a device)
	mu        sync.Mutex
	sent      []string // paths of sends
}

func (h *encryptedHomeserver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case strings.Contains(r.URL.Path, "/join/"):
		room := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		_ = json.NewEncoder(w).Encode(map[string]string{"room_id": room})
	case strings.HasSuffix(r.URL.Path, "/state/m.room.encryption/"), strings.HasSuffix(r.URL.Path, "/state/m.room.encryption"):
		_ = json.NewEncoder(w).Encode(map[string]string{"algorithm": h.algorithm})
	case strings.HasSuffix(r.URL.Path, "/account/whoami") && h.user != "":
		_ = json.NewEncoder(w).Encode(map[string]string{"user_id": h.user})
	case strings.Contains(r.URL.Path, "/send/"):
		h.sent = append(h.sent, r.URL.Path)
		_ = json.NewEncoder(w).Encode(map[string]string{"event_id": "$sent"})
	default: // whoami, keys: this homeserver has no device to give
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"errcode":"M_NOT_FOUND","error":"not here"}`)
	}
}

// An encrypted room gets nothing in clear: not when the bot's device could
// not get keys, not when the room's algorithm is one Crieur cannot encrypt
// for. The delivery says why and waits (a LocalError: the set-up's or the
// room's to fix), and the room's status says it.
func TestEncryptedRoomNeverGetsClearText(t *testing.T) {
	for _, tc := range []struct{ algorithm, want string }{
		{string(id.AlgorithmMegolmV1), "does not post there in clear"},
		{"org.example.quantum.v1", `"org.example.quantum.v1", which Crieur cannot encrypt for`},
	} {
		t.Run(tc.algorithm, func(t *testing.T) {
			ctx := context.Background()
			db, bstore := openStore(t)
			svc := board.NewService(board.Options{Store: bstore, Markup: markdown.New(), Notices: locale.Notices{}})
			bd, _, err := svc.EnsureBoard(ctx, "news", "News")
			if err != nil {
				t.Fatal(err)
			}
			hs := &encryptedHomeserver{algorithm: tc.algorithm}
			srv := httptest.NewServer(hs)
			defer srv.Close()
			const room = "!room:example.org"
			mstore := NewStore(db)
			if err := mstore.SaveAccount(ctx, Account{BoardID: bd.ID, Homeserver: srv.URL, UserID: "@crieur:example.org", AccessToken: "t", Rooms: []string{room}, MsgType: "m.notice"}); err != nil {
				t.Fatal(err)
			}
			bridge := NewBridge(mstore, bstore, nil, testLinks{}, nil, srv.Client(), slog.New(slog.DiscardHandler))
			if _, _, err := svc.Create(ctx, board.System, bd, board.Draft{Title: "Secret meeting"}, ""); err != nil {
				t.Fatal(err)
			}
			entries, err := bstore.PendingOutbox(ctx, 10)
			if err != nil || len(entries) == 0 {
				t.Fatalf("outbox: %v %v", entries, err)
			}
			jobs, err := bridge.Expand(ctx, entries[0])
			if err != nil || len(jobs) != 1 {
				t.Fatalf("expand: %v %v", jobs, err)
			}
			err = bridge.Handle(ctx, jobs[0])
			var local *delivery.LocalError
			if !errors.As(err, &local) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Handle: %v; want a LocalError saying %q", err, tc.want)
			}
			if len(hs.sent) != 0 {
				t.Fatalf("sent into an encrypted room without encryption: %v", hs.sent)
			}
			status, _ := mstore.RoomStatus(ctx, bd.ID)
			if !strings.Contains(status[room], tc.want) {
				t.Errorf("room status %q", status[room])
			}
		})
	}
}

// keysHomeserver answers whoami with a device and takes its keys, as a
// homeserver does for a token made before Crieur kept devices.
type keysHomeserver struct {
	mu      sync.Mutex
	uploads int
	failing bool // answers 502 to key requests, as a homeserver being restarted
}

func (h *keysHomeserver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.failing && strings.Contains(r.URL.Path, "/keys/"):
		w.WriteHeader(http.StatusBadGateway)
	case strings.HasSuffix(r.URL.Path, "/account/whoami"):
		_ = json.NewEncoder(w).Encode(map[string]string{"user_id": "@crieur:example.org", "device_id": "OLDDEVICE"})
	case strings.HasSuffix(r.URL.Path, "/keys/query"):
		_, _ = io.WriteString(w, `{"device_keys":{}}`)
	case strings.HasSuffix(r.URL.Path, "/keys/upload"):
		h.uploads++
		_, _ = io.WriteString(w, `{"one_time_key_counts":{"signed_curve25519":50}}`)
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"errcode":"M_NOT_FOUND","error":"not here"}`)
	}
}

// An account set up before Crieur kept devices gets its token's device
// (whoami), recorded, with keys; the sync loop, which still holds the
// account as it was read, gets the same session, not a second olm
// machine for the same device.
func TestAccountWithoutDeviceAdoptsTheTokens(t *testing.T) {
	ctx := context.Background()
	db, bstore := openStore(t)
	hs := &keysHomeserver{}
	srv := httptest.NewServer(hs)
	defer srv.Close()
	mstore := NewStore(db)
	old := Account{BoardID: 1, Homeserver: srv.URL, UserID: "@crieur:example.org", AccessToken: "t", Rooms: []string{"!room:example.org"}, MsgType: "m.notice"}
	if err := mstore.SaveAccount(ctx, old); err != nil {
		t.Fatal(err)
	}
	b := NewBridge(mstore, bstore, nil, testLinks{}, nil, srv.Client(), slog.New(slog.DiscardHandler))
	s, err := b.sessionFor(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	if s.mach == nil || s.cryptoErr != nil {
		t.Fatalf("no encryption: %v", s.cryptoErr)
	}
	if got, _ := mstore.Account(ctx, 1); got.DeviceID != "OLDDEVICE" {
		t.Errorf("device recorded: %q", got.DeviceID)
	}
	if hs.uploads == 0 {
		t.Error("the device's keys were not uploaded")
	}
	stored, _ := mstore.Account(ctx, 1)
	for _, a := range []Account{old, stored} {
		if again, err := b.sessionFor(ctx, a); err != nil || again != s {
			t.Errorf("a second session for the same token (device id %q): %v", a.DeviceID, err)
		}
	}
	if got := s.account().DeviceID; got != "OLDDEVICE" {
		t.Errorf("the session forgot its device: %q", got)
	}
}

// crieur check fails for an encrypted room the bot cannot serve, before a
// post fails there, and says how many rooms are encrypted otherwise.
func TestCheckSeesEncryptedRooms(t *testing.T) {
	ctx := context.Background()
	const room, bot = "!room:example.org", "@crieur:example.org"
	for _, tc := range []struct {
		name, algorithm, encryption, want string
		fails                             bool
	}{
		{"served", string(id.AlgorithmMegolmV1), "ok", "posts to 1 room (1 end-to-end encrypted); its device DEV is cross-signed, master key MASTER", false},
		{"no keys", string(id.AlgorithmMegolmV1), "encryption: the homeserver refused the bot's device keys", "is end-to-end encrypted, and the bot's device DEV holds no keys (encryption: the homeserver refused", true},
		{"unknown algorithm", "org.example.quantum.v1", "ok", `"org.example.quantum.v1", which Crieur cannot encrypt for`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := openStore(t)
			srv := httptest.NewServer(&encryptedHomeserver{algorithm: tc.algorithm, user: bot})
			defer srv.Close()
			mstore := NewStore(db)
			a := Account{BoardID: 1, Homeserver: srv.URL, UserID: bot, AccessToken: "t", Rooms: []string{room}, MsgType: "m.notice",
				DeviceID: "DEV", MasterKey: "MASTER", CrossSigning: crossSignedOK, Encryption: tc.encryption}
			if err := mstore.SaveAccount(ctx, a); err != nil {
				t.Fatal(err)
			}
			line, err := CheckSetup(ctx, mstore, 1, srv.Client())
			got := line
			if err != nil {
				got = err.Error()
			}
			if (err != nil) != tc.fails || !strings.Contains(got, tc.want) {
				t.Errorf("check: %q (failed: %v); want %q, failing: %v", got, err != nil, tc.want, tc.fails)
			}
		})
	}
}

// A homeserver that does not answer while the device's keys are checked
// leaves no session behind: the next send or sync tries again and gets
// encryption, rather than a session without it until the next restart.
func TestDeviceKeysWhileTheHomeserverFails(t *testing.T) {
	ctx := context.Background()
	db, bstore := openStore(t)
	hs := &keysHomeserver{failing: true}
	srv := httptest.NewServer(hs)
	defer srv.Close()
	a := Account{BoardID: 1, Homeserver: srv.URL, UserID: "@crieur:example.org", AccessToken: "t", Rooms: []string{"!room:example.org"}, MsgType: "m.notice", DeviceID: "DEV"}
	b := NewBridge(NewStore(db), bstore, nil, testLinks{}, nil, srv.Client(), slog.New(slog.DiscardHandler))
	if s, err := b.sessionFor(ctx, a); err == nil {
		t.Fatalf("a session while the homeserver fails (encryption: %s)", s.encryption())
	}
	hs.mu.Lock()
	hs.failing = false
	hs.mu.Unlock()
	s, err := b.sessionFor(ctx, a)
	if err != nil || s.mach == nil {
		t.Fatalf("once it answers: %v (encryption: %v)", err, s)
	}
}
