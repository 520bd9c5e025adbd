package activitypub

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"crieur/config"
)

var errBadBoardName = errors.New("invalid board name")

// FileKeys reads boards' private keys from DIR/BOARD.pem, for delivery
// workers that run without the store (`crieur deliver --keys DIR`).
type FileKeys struct {
	Dir  string
	mu   sync.Mutex
	keys map[string]*rsa.PrivateKey
}

// PrivateKey implements the Deliverer's key source.
func (f *FileKeys) PrivateKey(_ context.Context, board string) (*rsa.PrivateKey, error) {
	if !config.ValidBoardName(board) {
		return nil, fmt.Errorf("%w %q", errBadBoardName, board)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if k, ok := f.keys[board]; ok {
		return k, nil
	}
	path := filepath.Join(f.Dir, board+".pem")
	info, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no key file for board %q: export it with 'crieur board key %s > %s'", board, board, path)
	}
	if err != nil {
		return nil, err
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key file %s is readable by others: chmod 600 it", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := parsePrivateKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	if f.keys == nil {
		f.keys = map[string]*rsa.PrivateKey{}
	}
	f.keys[board] = k
	return k, nil
}
