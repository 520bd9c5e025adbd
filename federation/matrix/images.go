package matrix

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto/attachment"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"crieur/board"
	"crieur/federation/delivery"
)

// MediaFiles reads a board's pictures (board.Service).
type MediaFiles interface {
	MediaFile(ctx context.Context, b board.Board, name string) ([]byte, error)
}

// imageKey names one picture as posted: a new description is a new post.
func imageKey(im board.Image) string {
	sum := sha256.Sum256([]byte(im.ID + "\x00" + im.Alt))
	return hex.EncodeToString(sum[:12])
}

// syncImages makes the room show a's pictures after its message: each as
// an m.image (uploaded once per homeserver), in order; pictures it no
// longer has, or whose description changed, are redacted.
func (b *Bridge) syncImages(ctx context.Context, s *session, acct Account, bd board.Board, a board.Announcement, p sendPayload, roomID id.RoomID) error {
	cli := s.cli
	posted, err := b.store.ImageEvents(ctx, a.ID, p.Room)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, im := range a.Images {
		want[imageKey(im)] = true
	}
	for key, ev := range posted {
		if want[key] {
			continue
		}
		err := b.redact(ctx, cli, roomID, ev, "Picture removed from the announcement", txnID(p, "img-redact-"+key))
		if err != nil && !errors.Is(err, mautrix.MNotFound) {
			return err
		}
		if err := b.store.DeleteImageEvent(ctx, a.ID, p.Room, key); err != nil {
			return err
		}
	}
	var encrypted bool
	if len(a.Images) > 0 {
		enc, err := b.roomEncryption(ctx, s, roomID)
		if err != nil {
			return err
		}
		if enc != nil && s.mach == nil {
			return nil // sendEvent refused the message already: nothing to upload
		}
		encrypted = enc != nil
	}
	for _, im := range a.Images {
		key := imageKey(im)
		if _, ok := posted[key]; ok {
			continue
		}
		var mxc id.ContentURI
		var file *event.EncryptedFileInfo
		var err error
		if encrypted {
			// An encrypted room's members expect its pictures encrypted
			// too: the homeserver stores only the ciphertext, and the key
			// goes in the (encrypted) event (crypto/attachment).
			file, err = b.uploadedEncrypted(ctx, cli, acct, bd, im)
		} else {
			mxc, err = b.uploaded(ctx, cli, acct, bd, im)
		}
		if err != nil {
			return err
		}
		// body is what clients give as the picture's alternative text and
		// what a client without images prints. No filename: since Matrix
		// 1.10 a body that differs from the filename is a caption under
		// the picture, and the description is not one. A decorative
		// picture's body is empty, as its alt is on the page (a word such
		// as "Picture" would be read aloud for nothing).
		content := &event.MessageEventContent{
			MsgType: event.MsgImage, Body: neutralise(im.Alt), URL: mxc.CUString(),
			Info:     &event.FileInfo{MimeType: im.MediaType, Width: im.Width, Height: im.Height, Size: im.Size, Blurhash: im.Blurhash, AnoaBlurhash: im.Blurhash},
			Mentions: &event.Mentions{},
		}
		if file != nil {
			content.URL, content.File = "", file
		}
		resp, err := b.sendEvent(ctx, s, roomID, event.EventMessage, content, txnID(p, "img-"+key))
		if err != nil {
			return err
		}
		if err := b.store.SaveImageEvent(ctx, a.ID, p.Room, key, resp.EventID); err != nil {
			return err
		}
	}
	return nil
}

// uploaded is the picture's mxc: URI on the account's homeserver,
// uploading it the first time.
func (b *Bridge) uploaded(ctx context.Context, cli *mautrix.Client, acct Account, bd board.Board, im board.Image) (id.ContentURI, error) {
	if s, ok, err := b.store.MediaURI(ctx, acct.Homeserver, im.ID); err != nil {
		return id.ContentURI{}, err
	} else if ok {
		return id.ParseContentURI(s)
	}
	if b.media == nil {
		return id.ContentURI{}, delivery.Permanent(errors.New("the bridge has no access to pictures"))
	}
	data, err := b.media.MediaFile(ctx, bd, im.ID)
	if err != nil {
		return id.ContentURI{}, delivery.Permanent(fmt.Errorf("picture %s: %w", im.ID, err))
	}
	resp, err := cli.UploadBytesWithName(ctx, data, im.MediaType, im.ID)
	if err != nil {
		return id.ContentURI{}, fmt.Errorf("upload picture: %w", err)
	}
	if err := b.store.SaveMediaURI(ctx, acct.Homeserver, im.ID, resp.ContentURI.String()); err != nil {
		return id.ContentURI{}, err
	}
	return resp.ContentURI, nil
}

// uploadedEncrypted is the picture encrypted on the account's homeserver
// (its address and key), uploading it the first time. One ciphertext
// serves every encrypted room of the homeserver: each room's event
// carries the key, encrypted for that room.
func (b *Bridge) uploadedEncrypted(ctx context.Context, cli *mautrix.Client, acct Account, bd board.Board, im board.Image) (*event.EncryptedFileInfo, error) {
	name := "e2ee:" + im.ID
	if s, ok, err := b.store.MediaURI(ctx, acct.Homeserver, name); err != nil {
		return nil, err
	} else if ok {
		var file event.EncryptedFileInfo
		if err := json.Unmarshal([]byte(s), &file); err != nil {
			return nil, fmt.Errorf("encrypted picture %s: %w", im.ID, err)
		}
		return &file, nil
	}
	if b.media == nil {
		return nil, delivery.Permanent(errors.New("the bridge has no access to pictures"))
	}
	data, err := b.media.MediaFile(ctx, bd, im.ID)
	if err != nil {
		return nil, delivery.Permanent(fmt.Errorf("picture %s: %w", im.ID, err))
	}
	file := attachment.NewEncryptedFile()
	ciphertext := slices.Clone(data) // the service's bytes stay as they are
	file.EncryptInPlace(ciphertext)
	resp, err := cli.UploadBytesWithName(ctx, ciphertext, "application/octet-stream", "")
	if err != nil {
		return nil, fmt.Errorf("upload picture: %w", err)
	}
	info := &event.EncryptedFileInfo{EncryptedFile: *file, URL: resp.ContentURI.CUString()}
	kept, err := json.Marshal(info)
	if err != nil {
		return nil, err
	}
	if err := b.store.SaveMediaURI(ctx, acct.Homeserver, name, string(kept)); err != nil {
		return nil, err
	}
	return info, nil
}

// redactImages takes back every picture posted with an announcement.
func (b *Bridge) redactImages(ctx context.Context, s *session, a board.Announcement, p sendPayload, roomID id.RoomID, reason string) error {
	cli := s.cli
	posted, err := b.store.ImageEvents(ctx, a.ID, p.Room)
	if err != nil {
		return err
	}
	for key, ev := range posted {
		err := b.redact(ctx, cli, roomID, ev, reason, txnID(p, "img-delete-"+key))
		if err != nil && !errors.Is(err, mautrix.MNotFound) {
			return err
		}
	}
	return nil
}

// ImageEvents lists the pictures posted with an announcement in a room.
func (s *Store) ImageEvents(ctx context.Context, announcementID int64, room string) (map[string]id.EventID, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT image_key, event_id FROM matrix_images WHERE announcement_id = ? AND room = ?`, announcementID, room)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]id.EventID{}
	for rows.Next() {
		var k, ev string
		if err := rows.Scan(&k, &ev); err != nil {
			return nil, err
		}
		out[k] = id.EventID(ev)
	}
	return out, rows.Err()
}

// SaveImageEvent records a picture posted in a room.
func (s *Store) SaveImageEvent(ctx context.Context, announcementID int64, room, key string, ev id.EventID) error {
	_, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO matrix_images (announcement_id, room, image_key, event_id) VALUES (?, ?, ?, ?)`, announcementID, room, key, string(ev))
	return err
}

// DeleteImageEvent forgets a picture taken back.
func (s *Store) DeleteImageEvent(ctx context.Context, announcementID int64, room, key string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM matrix_images WHERE announcement_id = ? AND room = ? AND image_key = ?`, announcementID, room, key)
	return err
}

// MediaURI is where a picture is on a homeserver, if it was uploaded.
func (s *Store) MediaURI(ctx context.Context, homeserver, name string) (string, bool, error) {
	var mxc string
	err := s.db.QueryRowContext(ctx, `SELECT mxc FROM matrix_media WHERE homeserver = ? AND name = ?`, homeserver, name).Scan(&mxc)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return mxc, err == nil, err
}

// SaveMediaURI records a picture uploaded to a homeserver.
func (s *Store) SaveMediaURI(ctx context.Context, homeserver, name, mxc string) error {
	_, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO matrix_media (homeserver, name, mxc) VALUES (?, ?, ?)`, homeserver, name, mxc)
	return err
}
