package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// formKeyLife is how long a sign-up form's key is taken: a page left open
// for weeks asks to be filled in again (with a fresh key), nothing worse.
const formKeyLife = 30 * 24 * time.Hour

// formKeys issues and checks the keys of the public sign-up forms. A key
// is made by the server for one announcement and signed with the
// server's secret, so a script cannot make up keys: each one costs it a
// page, and the per-network allowance bounds what it can do with them.
type formKeys struct {
	secret func(ctx context.Context) ([]byte, error)

	mu  sync.Mutex
	key []byte
}

func (k *formKeys) secretKey(ctx context.Context) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.key == nil {
		s, err := k.secret(ctx)
		if err != nil {
			return nil, err
		}
		k.key = s
	}
	return k.key, nil
}

func formMAC(secret []byte, annID int64, nonce, issued string) string {
	m := hmac.New(sha256.New, secret)
	fmt.Fprintf(m, "signup form\x00%d\x00%s\x00%s", annID, nonce, issued)
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// issue makes a key for a form of announcement annID.
func (k *formKeys) issue(ctx context.Context, annID int64, now time.Time) (string, error) {
	secret, err := k.secretKey(ctx)
	if err != nil {
		return "", err
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	nonce, issued := hex.EncodeToString(b), strconv.FormatInt(now.Unix(), 36)
	return "f1." + nonce + "." + issued + "." + formMAC(secret, annID, nonce, issued), nil
}

// valid says whether key was issued by this server for annID, and not
// too long ago.
func (k *formKeys) valid(ctx context.Context, key string, annID int64, now time.Time) (bool, error) {
	parts := strings.Split(key, ".")
	if len(parts) != 4 || parts[0] != "f1" {
		return false, nil
	}
	secret, err := k.secretKey(ctx)
	if err != nil {
		return false, err
	}
	if !hmac.Equal([]byte(parts[3]), []byte(formMAC(secret, annID, parts[1], parts[2]))) {
		return false, nil
	}
	at, err := strconv.ParseInt(parts[2], 36, 64)
	if err != nil {
		return false, nil
	}
	age := now.Sub(time.Unix(at, 0))
	return age >= -time.Hour && age <= formKeyLife, nil
}
