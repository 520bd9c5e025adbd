package board

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"time"
)

// Token is an admin credential; BoardID nil means every board.
type Token struct {
	ID         int64      `json:"id"`
	BoardID    *int64     `json:"-"`
	Board      string     `json:"board,omitempty"` // its board's name; empty: every board
	Label      string     `json:"label"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	// Role is what the token may do: RolePublisher or RoleEditor.
	Role string `json:"role"`
}

// The roles of a token.
const (
	// RolePublisher writes, publishes, edits and deletes.
	RolePublisher = "publisher"
	// RoleEditor writes drafts, which a publisher publishes.
	RoleEditor = "editor"
)

// ErrTokenExpired is returned for a token past its expiry.
var ErrTokenExpired = errors.New("this token has expired; ask for a new one ('crieur token create')")

// DeliveryRecord is the latest state of one outbox entry at one target.
type DeliveryRecord struct {
	OutboxID  int64
	Target    string
	State     string
	Attempts  int
	LastError string
	// NextAttempt is when a delivery being retried is tried again.
	NextAttempt time.Time
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// HashToken is how a secret (a token, a session, a withdraw link) is kept:
// its SHA-256, never the secret itself.
func HashToken(plain string) string {
	sum := sha256.Sum256([]byte(plain))
	return hex.EncodeToString(sum[:])
}
