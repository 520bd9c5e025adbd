package matrix

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// ErrNoSetup is a board without Matrix rooms.
var ErrNoSetup = errors.New("no Matrix set-up")

// CheckSetup says whether a board's bot can post: its token still works
// for its user, and how its last post to each room went. It is for
// `crieur check`, run on the server's machine.
func CheckSetup(ctx context.Context, store *Store, boardID int64, client *http.Client) (string, error) {
	a, err := store.Account(ctx, boardID)
	if err != nil {
		return "", ErrNoSetup
	}
	cli, err := newClient(a, client)
	if err != nil {
		return "", fmt.Errorf("homeserver %s: %w", a.Homeserver, err)
	}
	who, err := cli.Whoami(ctx)
	if err != nil {
		return "", fmt.Errorf("%s cannot log in to %s (the access token no longer works; set the board's Matrix up again): %w", a.UserID, a.Homeserver, err)
	}
	if who.UserID.String() != a.UserID {
		return "", fmt.Errorf("the access token belongs to %s, not %s", who.UserID, a.UserID)
	}
	status, err := store.RoomStatus(ctx, boardID)
	if err != nil {
		return "", err
	}
	var bad []string
	for _, room := range a.Rooms {
		if st, ok := status[room]; ok && st != "ok" {
			bad = append(bad, room+": "+st)
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return "", fmt.Errorf("%s is logged in, but its last post failed in %s", a.UserID, strings.Join(bad, "; "))
	}
	// An encrypted room that cannot be served is found before a post
	// fails there (Crieur never posts in clear into it).
	encrypted := 0
	for _, room := range a.Rooms {
		roomID := id.RoomID(room)
		if strings.HasPrefix(room, "#") {
			res, err := cli.ResolveAlias(ctx, id.RoomAlias(room))
			if err != nil {
				continue // the room's status says what is wrong with it
			}
			roomID = res.RoomID
		}
		var enc event.EncryptionEventContent
		if err := cli.StateEvent(ctx, roomID, event.StateEncryption, "", &enc); err != nil {
			continue // not encrypted, or not readable: the room's status says
		}
		encrypted++
		switch {
		case enc.Algorithm != id.AlgorithmMegolmV1:
			bad = append(bad, (&ErrUnsupportedEncryption{Room: room, Algorithm: enc.Algorithm}).Error())
		case a.Encryption != encryptionOK:
			bad = append(bad, fmt.Sprintf("%s is end-to-end encrypted, and the bot's device %s holds no keys (%s): set the board's Matrix up again", room, cmp.Or(a.DeviceID, "(unknown)"), cmp.Or(a.Encryption, "never set up")))
		}
	}
	if len(bad) > 0 {
		return "", fmt.Errorf("%s is logged in, but %s", a.UserID, strings.Join(bad, "; "))
	}
	line := fmt.Sprintf("%s is logged in to %s and posts to %d %s", a.UserID, a.Homeserver, len(a.Rooms), plural(len(a.Rooms), "room", "rooms"))
	if encrypted > 0 {
		line += fmt.Sprintf(" (%d end-to-end encrypted)", encrypted)
	}
	switch {
	case a.CrossSigning == crossSignedOK:
		line += fmt.Sprintf("; its device %s is cross-signed, master key %s (compare it with the one your client shows when you verify %s)", a.DeviceID, a.MasterKey, a.UserID)
	case a.CrossSigning != "":
		line += fmt.Sprintf("; device %s, %s", cmp.Or(a.DeviceID, "unknown"), a.CrossSigning)
	}
	return line, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
