//go:build !goolm

package matrix

import (
	"context"
	"errors"

	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// Built without the goolm tag (README, Building), Crieur has no olm: a
// plain `go build` or `go vet` works without libolm's C headers, and the
// board's encrypted rooms say why nothing is posted there.

// olmMachine is never made in this build (session.mach stays nil).
type olmMachine struct{}

var errNoOlm = errors.New("this Crieur was built without end-to-end encryption (build it with -tags goolm, as the README says)")

func upgradeOlmTables(context.Context, *dbutil.Database) error { return nil }

func (s *session) deviceKey() string { return "" }

func (b *Bridge) startOlm(_ context.Context, s *session, _ *cryptoStores, _ Account) (*session, error) {
	s.cryptoErr = errNoOlm
	return s, nil
}

func (b *Bridge) encrypt(context.Context, *session, id.RoomID, event.Type, any) (*event.EncryptedEventContent, error) {
	return nil, errNoOlm
}

func (b *Bridge) crossSign(context.Context, *session, Account, string) (masterKey, status string) {
	return "", "not cross-signed: " + errNoOlm.Error()
}
