//go:build goolm

package main

// End-to-end encrypted rooms against a real Dendrite: a member's own
// client (a second mautrix client with its own olm machine, goolm, its
// own store) reads what Crieur posts there.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
	"maunium.net/go/mautrix/sqlstatestore"
)

// member is a room member's client with end-to-end encryption, syncing
// (room keys come to its device as to-device events) until the test ends.
type member struct {
	cli  *mautrix.Client
	mach *crypto.OlmMachine
}

func newMember(t *testing.T, d *dendrite, user, password string) *member {
	t.Helper()
	ctx := context.Background()
	cli := d.login(user, password)
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "member.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	raw.SetMaxOpenConns(1)
	db, err := dbutil.NewWithDB(raw, "sqlite3")
	if err != nil {
		t.Fatal(err)
	}
	state := sqlstatestore.NewSQLStateStore(db, dbutil.NoopLogger, false)
	if err := state.Upgrade(ctx); err != nil {
		t.Fatal(err)
	}
	store := crypto.NewSQLCryptoStore(db, dbutil.NoopLogger, "member", cli.DeviceID, []byte("the member's pickle key"))
	if err := store.DB.Upgrade(ctx); err != nil {
		t.Fatal(err)
	}
	cli.StateStore = state
	// Its crypto log is shown when the test fails: what it did with
	// the room keys it was sent.
	logs := &logBuffer{}
	zlog := zerolog.New(logs).Level(zerolog.DebugLevel)
	mach := crypto.NewOlmMachine(cli, &zlog, store, state)
	if err := mach.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := mach.ShareKeys(ctx, -1); err != nil {
		t.Fatal(err)
	}
	syncer := mautrix.NewDefaultSyncer()
	cli.Syncer, cli.Store = syncer, mautrix.NewMemorySyncStore()
	syncer.OnEvent(cli.StateStoreSyncHandler)
	syncer.OnSync(mach.ProcessSyncResponse)
	syncer.OnEventType(event.StateMember, mach.HandleMemberEvent)
	syncCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for syncCtx.Err() == nil {
			_ = cli.SyncWithContext(syncCtx)
			select {
			case <-syncCtx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		raw.Close()
		if t.Failed() {
			t.Logf("the member's crypto log:\n%s", tail(logs.String(), 40))
		}
	})
	return &member{cli: cli, mach: mach}
}

// seen is one of the bot's events as the member's client shows it.
type seen struct {
	raw       *event.Event // as the homeserver gave it
	shown     *event.Event // decrypted (nil if it could not be, or was redacted)
	redacted  bool
	encrypted bool
}

// botEvents lists the bot's message events in room, oldest first,
// decrypted by the member's client; ok is false while a room key is
// still on its way.
func (m *member) botEvents(t *testing.T, room id.RoomID) (out []seen, ok bool) {
	t.Helper()
	ctx := context.Background()
	resp, err := m.cli.Messages(ctx, room, "", "", mautrix.DirectionBackward, nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	ok = true
	for i := len(resp.Chunk) - 1; i >= 0; i-- {
		evt := resp.Chunk[i]
		if evt.Sender != userID("crieur") || evt.StateKey != nil || evt.Type == event.EventRedaction {
			continue
		}
		s := seen{raw: evt, redacted: evt.Unsigned.RedactedBecause != nil, encrypted: evt.Type == event.EventEncrypted}
		if s.encrypted && !s.redacted {
			if err := evt.Content.ParseRaw(evt.Type); err != nil {
				t.Fatal(err)
			}
			dec, err := m.mach.DecryptMegolmEvent(ctx, evt)
			if errors.Is(err, crypto.NoSessionFound) {
				ok = false
				out = append(out, s) // shown as "unable to decrypt", for now
				continue
			}
			if err != nil {
				t.Fatalf("the member cannot decrypt %s: %v", evt.ID, err)
			}
			s.shown = dec
		} else if !s.redacted {
			_ = evt.Content.ParseRaw(evt.Type)
			s.shown = evt
		}
		out = append(out, s)
	}
	return out, ok
}

// waitShown waits until the member's client shows one of the bot's
// events that match, and returns it.
func (m *member) waitShown(t *testing.T, room id.RoomID, what string, match func(seen) bool) seen {
	t.Helper()
	var got seen
	var events []seen
	defer func() {
		if t.Failed() {
			for _, s := range events {
				shown := "-"
				if s.shown != nil {
					shown = s.shown.Type.Type + " " + string(s.shown.Content.VeryRaw)
				}
				t.Logf("bot event %s %s %s redacted %v: %.300s", s.raw.ID, s.raw.Type.Type, regexp.MustCompile(`"ciphertext":"[^"]*"`).ReplaceAll(s.raw.Content.VeryRaw, nil), s.redacted, shown)
			}
		}
	}()
	waitFor(t, 30*time.Second, what, func() bool {
		events, _ = m.botEvents(t, room)
		for _, s := range events {
			if match(s) {
				got = s
				return true
			}
		}
		return false
	})
	return got
}

// sendEncrypted sends content into an encrypted room as the member's
// client does: the room key shared with the members' devices first.
func (m *member) sendEncrypted(t *testing.T, room id.RoomID, typ event.Type, content any) id.EventID {
	t.Helper()
	ctx := context.Background()
	members, err := m.cli.JoinedMembers(ctx, room)
	if err != nil {
		t.Fatal(err)
	}
	var users []id.UserID
	for u := range members.Joined {
		users = append(users, u)
	}
	if err := m.mach.ShareGroupSession(ctx, room, users); err != nil {
		t.Fatal(err)
	}
	enc, err := m.mach.EncryptMegolmEvent(ctx, room, typ, content)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := m.cli.SendMessageEvent(ctx, room, event.EventEncrypted, enc)
	if err != nil {
		t.Fatal(err)
	}
	return resp.EventID
}

// encryptedRoom is a private room the member makes, encrypted from its
// start with algorithm, the bot invited.
func encryptedRoom(t *testing.T, m *member, algorithm id.Algorithm) id.RoomID {
	t.Helper()
	empty := ""
	resp, err := m.cli.CreateRoom(context.Background(), &mautrix.ReqCreateRoom{
		Preset: "private_chat", Name: "Members (encrypted)", Invite: []id.UserID{userID("crieur")},
		InitialState: []*event.Event{{Type: event.StateEncryption, StateKey: &empty,
			Content: event.Content{Parsed: &event.EncryptionEventContent{Algorithm: algorithm}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return resp.RoomID
}

func isMessage(s seen, has string) bool {
	if s.shown == nil || s.shown.Type != event.EventMessage {
		return false
	}
	msg := s.shown.Content.AsMessage()
	return msg.RelatesTo == nil && strings.Contains(msg.Body, has)
}

// The acceptance: in a room encrypted from its start, Crieur's
// announcement, its edit, its poll and a fresh post after a restart are
// all m.room.encrypted, and the member's client decrypts them to what it
// shows; a poll answer sent encrypted is a sign-up; a deletion redacts
// them; the bot's device is cross-signed with the master key the set-up
// shows, and keeps its device and keys across the restart.
func TestMatrixEncryptedRoomMemberDecrypts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := startDendrite(t)
	d.createAccount("crieur", botPassword)
	d.createAccount("reader", readerPassword)
	m := newMember(t, d, "reader", readerPassword)
	room := encryptedRoom(t, m, id.AlgorithmMegolmV1)

	data := t.TempDir()
	c := startCrieur(t, data, 0)
	var setup map[string]any
	body := map[string]any{"homeserver": d.URL, "user_id": userID("crieur").String(), "rooms": []string{room.String()}, "password": botPassword}
	if code := c.api("PUT", "/api/v1/boards/news/matrix", body, nil, &setup); code != 200 {
		t.Fatalf("PUT matrix: %d %v", code, setup)
	}
	device, _ := setup["device_id"].(string)
	master, _ := setup["master_key"].(string)
	deviceKey, _ := setup["device_key"].(string)
	if setup["encryption"] != "ok" || device == "" || deviceKey == "" || setup["cross_signing"] != "ok" || master == "" {
		t.Fatalf("the set-up does not show a device with keys, cross-signed: %v", setup)
	}
	if st, _ := setup["rooms_status"].(map[string]any); st[room.String()] != "ok" {
		t.Fatalf("room status: %v", setup["rooms_status"])
	}

	// The device is signed by the bot's self-signing key, itself signed
	// by the master key the operator was shown: what a member's client
	// checks once the operator verified the bot.
	keys, err := m.cli.QueryKeys(ctx, &mautrix.ReqQueryKeys{DeviceKeys: map[id.UserID]mautrix.DeviceIDList{userID("crieur"): {}}})
	if err != nil {
		t.Fatal(err)
	}
	bot := userID("crieur")
	if got := keys.MasterKeys[bot].Keys[id.NewKeyID(id.KeyAlgorithmEd25519, master)]; got.String() != master {
		t.Errorf("the homeserver's master key for the bot is not the one shown: %+v", keys.MasterKeys[bot])
	}
	var selfSigning string
	for _, k := range keys.SelfSigningKeys[bot].Keys {
		selfSigning = k.String()
	}
	if _, ok := keys.SelfSigningKeys[bot].Signatures[bot][id.NewKeyID(id.KeyAlgorithmEd25519, master)]; !ok || selfSigning == "" {
		t.Errorf("the self-signing key is not signed by the master key: %+v", keys.SelfSigningKeys[bot])
	}
	if _, ok := keys.DeviceKeys[bot][id.DeviceID(device)].Signatures[bot][id.NewKeyID(id.KeyAlgorithmEd25519, selfSigning)]; !ok {
		t.Errorf("the bot's device is not cross-signed: %+v", keys.DeviceKeys[bot][id.DeviceID(device)].Signatures)
	}
	if got := keys.DeviceKeys[bot][id.DeviceID(device)].Keys.GetEd25519(id.DeviceID(device)); got.String() != deviceKey {
		t.Errorf("device key %s on the homeserver, %s shown", got, deviceKey)
	}

	a, code := c.post(map[string]any{"kind": "call", "title": "Cooks wanted", "body": "Bring **aprons**.",
		"call": map[string]any{"roles": []map[string]any{{"name": "cook", "places": 2}}, "contact": "fair@example.org"}}, nil)
	if code != 201 {
		t.Fatalf("post: %d", code)
	}
	orig := m.waitShown(t, room, "the announcement, decrypted", func(s seen) bool { return isMessage(s, "Cooks wanted") })
	msg := orig.shown.Content.AsMessage()
	if !orig.encrypted || msg.Format != event.FormatHTML || !strings.Contains(msg.FormattedBody, "<strong>Call for volunteers: Cooks wanted</strong>") ||
		!strings.Contains(msg.FormattedBody, "<strong>aprons</strong>") || !strings.Contains(msg.Body, c.objectURL(a.ID)) {
		t.Fatalf("the announcement as the member sees it (encrypted %v): %+v", orig.encrypted, msg)
	}
	poll := m.waitShown(t, room, "the poll, decrypted", func(s seen) bool {
		return s.shown != nil && s.shown.Type == event.EventUnstablePollStart
	})
	var start struct {
		Start struct {
			Question map[string]string   `json:"question"`
			Answers  []map[string]string `json:"answers"`
		} `json:"org.matrix.msc3381.poll.start"`
	}
	if err := json.Unmarshal(poll.shown.Content.VeryRaw, &start); err != nil {
		t.Fatal(err)
	}
	if !poll.encrypted || !strings.Contains(start.Start.Question["org.matrix.msc1767.text"], "Cooks wanted") ||
		len(start.Start.Answers) != 1 || start.Start.Answers[0]["id"] != "cook" {
		t.Fatalf("the poll as the member sees it (encrypted %v): %s", poll.encrypted, poll.shown.Content.VeryRaw)
	}

	// Her answer, encrypted, is decrypted by Crieur and taken.
	m.sendEncrypted(t, room, event.EventUnstablePollResponse, map[string]any{
		"m.relates_to":                     map[string]any{"rel_type": "m.reference", "event_id": poll.raw.ID},
		"org.matrix.msc3381.poll.response": map[string]any{"answers": []string{"cook"}},
	})
	var signups struct{ Taken map[string]int }
	waitFor(t, 30*time.Second, "the member's encrypted answer as a sign-up", func() bool {
		signups.Taken = nil
		c.api("GET", fmt.Sprintf("/api/v1/boards/news/announcements/%d/signups", a.ID), nil, nil, &signups)
		return signups.Taken["cook"] == 1
	})

	// Her encrypted reply is an interaction, as a clear one is.
	reply := &event.MessageEventContent{MsgType: event.MsgText, Body: "I can bring a big pot"}
	reply.SetRelatesTo((&event.RelatesTo{}).SetThread(orig.raw.ID, orig.raw.ID))
	m.sendEncrypted(t, room, event.EventMessage, reply)
	waitFor(t, 30*time.Second, "the member's encrypted reply as an interaction", func() bool {
		var inter []map[string]any
		c.api("GET", fmt.Sprintf("/api/v1/boards/news/announcements/%d/interactions", a.ID), nil, nil, &inter)
		for _, in := range inter {
			if in["kind"] == "reply" && in["content"] == "I can bring a big pot" && in["actor"] == userID("reader").String() {
				return true
			}
		}
		return false
	})

	if code := c.api("PATCH", fmt.Sprintf("/api/v1/boards/news/announcements/%d", a.ID), map[string]any{"title": "Cooks and drivers wanted"}, nil, nil); code != 200 {
		t.Fatalf("edit: %d", code)
	}
	edit := m.waitShown(t, room, "the edit, decrypted", func(s seen) bool {
		if s.shown == nil || s.shown.Type != event.EventMessage {
			return false
		}
		msg := s.shown.Content.AsMessage()
		return msg.RelatesTo.GetReplaceID() == orig.raw.ID && msg.NewContent != nil && strings.Contains(msg.NewContent.Body, "Cooks and drivers wanted")
	})
	// The relation is readable outside the ciphertext, as the spec wants,
	// so that the homeserver can aggregate the edit.
	outer := edit.raw.Content.AsEncrypted()
	if !edit.encrypted || outer.RelatesTo == nil || outer.RelatesTo.GetReplaceID() != orig.raw.ID {
		t.Errorf("the edit's m.relates_to outside the ciphertext: %+v", outer.RelatesTo)
	}
	if strings.Contains(string(edit.raw.Content.VeryRaw), "Cooks") {
		t.Error("the edit's text is readable outside the ciphertext")
	}
	if nc := edit.shown.Content.AsMessage().NewContent; !strings.Contains(nc.FormattedBody, "Cooks and drivers wanted") {
		t.Errorf("the edit's m.new_content: %+v", nc)
	}

	// The poll follows the new title: an edit of the poll, encrypted too.
	m.waitShown(t, room, "the poll's edit, decrypted", func(s seen) bool {
		return s.shown != nil && s.shown.Type == event.EventUnstablePollStart && strings.Contains(string(s.shown.Content.VeryRaw), `"m.new_content"`) &&
			strings.Contains(string(s.shown.Content.VeryRaw), "Cooks and drivers wanted") && s.raw.Content.AsEncrypted().RelatesTo.GetReplaceID() == poll.raw.ID
	})
	// Closing the call ends the poll, with the results, encrypted.
	if code := c.api("PUT", fmt.Sprintf("/api/v1/boards/news/announcements/%d/closed", a.ID), nil, nil, nil); code != 200 {
		t.Fatalf("close: %d", code)
	}
	end := m.waitShown(t, room, "the poll's end, decrypted", func(s seen) bool {
		return s.shown != nil && s.shown.Type == event.EventUnstablePollEnd
	})
	if rel := end.raw.Content.AsEncrypted().RelatesTo; !end.encrypted || !strings.Contains(string(end.shown.Content.VeryRaw), "cook: 1 of 2") ||
		rel == nil || rel.Type != event.RelReference || rel.EventID != poll.raw.ID {
		t.Errorf("the poll's end (encrypted %v, relation outside %+v): %s", end.encrypted, rel, end.shown.Content.VeryRaw)
	}

	if code := c.api("DELETE", fmt.Sprintf("/api/v1/boards/news/announcements/%d", a.ID), nil, nil, nil); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	for _, ev := range []id.EventID{orig.raw.ID, edit.raw.ID, poll.raw.ID} {
		waitFor(t, 20*time.Second, "the redaction of "+ev.String(), func() bool {
			got, err := m.cli.GetEvent(ctx, room, ev)
			return err == nil && got.Unsigned.RedactedBecause != nil
		})
	}
	events, _ := m.botEvents(t, room)
	for _, s := range events {
		if !s.encrypted {
			t.Errorf("Crieur sent %s in clear into an encrypted room", s.raw.Type.Type)
		}
	}

	// A restart keeps the device and its keys: the set-up shows the same,
	// and the member decrypts what comes after.
	token := c.Token
	c.Kill()
	c2 := startCrieur(t, data, c.Port)
	c2.Token = token
	var after map[string]any
	waitFor(t, 20*time.Second, "the set-up after the restart", func() bool {
		after = nil
		c2.api("GET", "/api/v1/boards/news/matrix", nil, nil, &after)
		return after["encryption"] == "ok" && after["device_key"] != nil // the device loaded again
	})
	if after["device_id"] != device || after["device_key"] != deviceKey || after["master_key"] != master {
		t.Fatalf("after the restart: device %v key %v master %v; before: %s %s %s", after["device_id"], after["device_key"], after["master_key"], device, deviceKey, master)
	}
	c2.post(map[string]any{"title": "Repair café after the restart"}, nil)
	later := m.waitShown(t, room, "a post after the restart, decrypted", func(s seen) bool { return isMessage(s, "Repair café after the restart") })
	// The member's client tells which device the room key came from: the
	// same as before the restart.
	if src := later.shown.Mautrix.TrustSource; !later.encrypted || src == nil || src.DeviceID != id.DeviceID(device) || src.SigningKey.String() != deviceKey {
		t.Errorf("after the restart, sent by %+v, want device %s with key %s", src, device, deviceKey)
	}

	// The pickle key, which unlocks the bot's keys in the store, is in no
	// log.
	if raw, err := sql.Open("sqlite", "file:"+filepath.Join(data, "crieur.db")+"?mode=ro"); err == nil {
		var key string
		_ = raw.QueryRow(`SELECT value FROM meta WHERE name = 'matrix_pickle_key'`).Scan(&key)
		raw.Close()
		if len(key) != 64 || strings.Contains(c.stderr.String(), key) || strings.Contains(c2.stderr.String(), key) {
			t.Errorf("the pickle key (%d hex digits) is missing, or in the log", len(key))
		}
	}

	// crieur check shows the operator what to compare.
	out, _ := crieurCmd(t, "check", "--data", data)
	if !strings.Contains(out, "Matrix for news") || !strings.Contains(out, "master key "+master) || !strings.Contains(out, device+" is cross-signed") {
		t.Errorf("crieur check does not show the device and master key:\n%s", out)
	}

	// The keys are in the backup: a server restored from it is the same
	// device, and the member reads what it posts.
	file := filepath.Join(t.TempDir(), "crieur.tar.gz")
	if out, err := crieurCmd(t, "backup", file, "--data", data); err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	c2.Kill()
	restored := t.TempDir()
	if out, err := crieurCmd(t, "restore", file, "--data", restored); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	c3 := startCrieur(t, restored, 0)
	c3.Token = token
	c3.post(map[string]any{"title": "Posted by the restored server"}, nil)
	fromBackup := m.waitShown(t, room, "a post of the restored server, decrypted", func(s seen) bool { return isMessage(s, "Posted by the restored server") })
	if src := fromBackup.shown.Mautrix.TrustSource; !fromBackup.encrypted || src == nil || src.DeviceID != id.DeviceID(device) || src.SigningKey.String() != deviceKey {
		t.Errorf("after the restore, sent by %+v, want device %s with key %s", src, device, deviceKey)
	}
}

// A clear room made encrypted later gets encrypted messages from then
// on, pictures as encrypted attachments the member's client decrypts to
// the picture the board serves.
func TestMatrixRoomEncryptedLaterAndPictures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := startDendrite(t)
	d.createAccount("crieur", botPassword)
	d.createAccount("reader", readerPassword)
	m := newMember(t, d, "reader", readerPassword)
	resp, err := m.cli.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", Name: "Members", Invite: []id.UserID{userID("crieur")}})
	if err != nil {
		t.Fatal(err)
	}
	room := resp.RoomID
	c := startCrieur(t, t.TempDir(), 0)
	body := map[string]any{"homeserver": d.URL, "user_id": userID("crieur").String(), "rooms": []string{room.String()}, "password": botPassword}
	var setup map[string]any
	if code := c.api("PUT", "/api/v1/boards/news/matrix", body, nil, &setup); code != 200 || setup["encryption"] != "ok" {
		t.Fatalf("PUT matrix: %d %v", code, setup)
	}
	c.post(map[string]any{"title": "Before the encryption"}, nil)
	before := m.waitShown(t, room, "the post in clear", func(s seen) bool { return isMessage(s, "Before the encryption") })
	if before.encrypted {
		t.Fatal("a clear room got an encrypted message")
	}

	empty := ""
	if _, err := m.cli.SendStateEvent(ctx, room, event.StateEncryption, empty, &event.EncryptionEventContent{Algorithm: id.AlgorithmMegolmV1}); err != nil {
		t.Fatal(err)
	}
	up := c.upload(testJPEG(t))
	_, served := page(t, c.URL+up.Path, "")
	const alt = "Our stall at the fair, with jam jars"
	c.post(map[string]any{"title": "After the encryption", "images": []map[string]any{{"id": up.ID, "alt": alt}}}, nil)
	after := m.waitShown(t, room, "the post, decrypted", func(s seen) bool { return isMessage(s, "After the encryption") })
	if !after.encrypted {
		t.Fatal("posted in clear into a room made encrypted")
	}
	pic := m.waitShown(t, room, "the picture, decrypted", func(s seen) bool {
		return s.shown != nil && s.shown.Type == event.EventMessage && s.shown.Content.AsMessage().MsgType == event.MsgImage
	})
	msg := pic.shown.Content.AsMessage()
	if !pic.encrypted || msg.File == nil || msg.URL != "" || msg.Body != alt || msg.Info == nil || msg.Info.MimeType != "image/jpeg" {
		t.Fatalf("the picture as the member sees it (encrypted %v): %+v", pic.encrypted, msg)
	}
	mxc, err := msg.File.URL.Parse()
	if err != nil {
		t.Fatal(err)
	}
	ciphertext, err := m.cli.DownloadBytes(ctx, mxc)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(ciphertext), served[:64]) {
		t.Error("the homeserver holds the picture in clear")
	}
	if err := msg.File.DecryptInPlace(ciphertext); err != nil || string(ciphertext) != served {
		t.Errorf("the decrypted picture: %v (%d bytes, want %d)", err, len(ciphertext), len(served))
	}
}

// A room encrypted with an algorithm Crieur cannot encrypt for is refused
// at set-up with the reason, and nothing is saved; so is an encrypted room
// with the token of a device whose keys another client made. A set-up
// with an access token only works in an encrypted room, and says plainly
// that cross-signing wants the password; once the password made the keys,
// a later device given as a token is signed with them.
func TestMatrixEncryptionRefusedWhereItCannotBeServed(t *testing.T) {
	t.Parallel()
	d := startDendrite(t)
	d.createAccount("crieur", botPassword)
	d.createAccount("reader", readerPassword)
	m := newMember(t, d, "reader", readerPassword)
	odd := encryptedRoom(t, m, "org.example.quantum.v1")
	good := encryptedRoom(t, m, id.AlgorithmMegolmV1)
	c := startCrieur(t, t.TempDir(), 0)
	var out map[string]any
	body := map[string]any{"homeserver": d.URL, "user_id": userID("crieur").String(), "rooms": []string{good.String(), odd.String()}, "password": botPassword}
	if code := c.api("PUT", "/api/v1/boards/news/matrix", body, nil, &out); code != 400 {
		t.Fatalf("PUT with a room encrypted with an unknown algorithm: %d %v, want 400", code, out)
	}
	if why := fmt.Sprint(out); !strings.Contains(why, odd.String()) || !strings.Contains(why, "org.example.quantum.v1") || !strings.Contains(why, "end-to-end encrypted") {
		t.Errorf("the refusal does not say why: %v", out)
	}
	if code := c.api("GET", "/api/v1/boards/news/matrix", nil, nil, nil); code != 404 {
		t.Errorf("after the refusal, GET matrix: %d, want 404 (nothing saved)", code)
	}

	// The token of a device whose keys another client made (the
	// operator's own client): Crieur cannot hold that device's keys, so
	// the encrypted room is refused, saying why.
	other := newMember(t, d, "crieur", botPassword)
	out = nil
	body = map[string]any{"homeserver": d.URL, "user_id": userID("crieur").String(), "rooms": []string{good.String()}, "access_token": other.cli.AccessToken}
	if code := c.api("PUT", "/api/v1/boards/news/matrix", body, nil, &out); code != 400 {
		t.Fatalf("PUT with the token of a device with keys: %d %v, want 400", code, out)
	}
	if why := fmt.Sprint(out); !strings.Contains(why, good.String()) || !strings.Contains(why, "already has encryption keys") {
		t.Errorf("the refusal does not say why: %v", out)
	}

	// A token of a fresh login: its device gets keys, the room is served
	// encrypted; cross-signing needs the password, and the set-up says so.
	tok := d.login("crieur", botPassword)
	out = nil
	body = map[string]any{"homeserver": d.URL, "user_id": userID("crieur").String(), "rooms": []string{good.String()}, "access_token": tok.AccessToken}
	if code := c.api("PUT", "/api/v1/boards/news/matrix", body, nil, &out); code != 200 {
		t.Fatalf("PUT with a token: %d %v", code, out)
	}
	if out["encryption"] != "ok" || out["device_id"] != tok.DeviceID.String() {
		t.Errorf("a token's device: %v", out)
	}
	if cs, _ := out["cross_signing"].(string); !strings.Contains(cs, "password") {
		t.Errorf("cross-signing with a token only: %q, want the reason (the password)", cs)
	}
	c.post(map[string]any{"title": "Posted with a token"}, nil)
	s := m.waitShown(t, good, "the post, decrypted", func(s seen) bool { return isMessage(s, "Posted with a token") })
	if !s.encrypted {
		t.Error("posted in clear")
	}
	if strings.Contains(fmt.Sprint(out), tok.AccessToken) || strings.Contains(c.stderr.String(), tok.AccessToken) {
		t.Error("the access token is shown")
	}

	// With the password once, the bot gets its cross-signing keys; a
	// later device, even one given as a token, is signed with them.
	out = nil
	body = map[string]any{"homeserver": d.URL, "user_id": userID("crieur").String(), "rooms": []string{good.String()}, "password": botPassword}
	if code := c.api("PUT", "/api/v1/boards/news/matrix", body, nil, &out); code != 200 || out["cross_signing"] != "ok" {
		t.Fatalf("PUT with the password: %d %v", code, out)
	}
	master := out["master_key"]
	tok2 := d.login("crieur", botPassword)
	out = nil
	body = map[string]any{"homeserver": d.URL, "user_id": userID("crieur").String(), "rooms": []string{good.String()}, "access_token": tok2.AccessToken}
	if code := c.api("PUT", "/api/v1/boards/news/matrix", body, nil, &out); code != 200 || out["cross_signing"] != "ok" || out["master_key"] != master {
		t.Fatalf("PUT with a token after the keys were made: %d %v (master key before: %v)", code, out, master)
	}
	keys, err := m.cli.QueryKeys(context.Background(), &mautrix.ReqQueryKeys{DeviceKeys: map[id.UserID]mautrix.DeviceIDList{userID("crieur"): {}}})
	if err != nil {
		t.Fatal(err)
	}
	var selfSigning string
	for _, k := range keys.SelfSigningKeys[userID("crieur")].Keys {
		selfSigning = k.String()
	}
	if _, ok := keys.DeviceKeys[userID("crieur")][tok2.DeviceID].Signatures[userID("crieur")][id.NewKeyID(id.KeyAlgorithmEd25519, selfSigning)]; !ok || selfSigning == "" {
		t.Errorf("the token's device is not cross-signed: %+v", keys.DeviceKeys[userID("crieur")][tok2.DeviceID].Signatures)
	}
}
