package activitypub

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"crieur/board"
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
func (f *FileKeys) PrivateKey(_ context.Context, name string) (*rsa.PrivateKey, error) {
	if !board.ValidName(name) {
		return nil, fmt.Errorf("%w %q", errBadBoardName, name)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if k, ok := f.keys[name]; ok {
		return k, nil
	}
	path := filepath.Join(f.Dir, name+".pem")
	info, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no key file for board %q: export it with 'crieur board key %s > %s'", name, name, path)
	}
	if err != nil {
		return nil, err
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key file %s is readable by others: chmod 600 it", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, unreadable(path, err)
	}
	k, err := parsePrivateKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	if f.keys == nil {
		f.keys = map[string]*rsa.PrivateKey{}
	}
	f.keys[name] = k
	return k, nil
}

// unreadable says what to do about a key file or folder this process
// cannot read: most often it was written by another user (an export typed
// on the host, read by a container's uid 10001).
func unreadable(path string, err error) error {
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%s cannot be read by uid %d, which crieur deliver runs as: %w; make it that user's (chown -R %d %s; the container image runs as uid 10001), or let crieur serve write the keys itself (keys_dir, CRIEUR_KEYS_DIR)",
			path, os.Getuid(), err, os.Getuid(), path)
	}
	return fmt.Errorf("key file %s: %w", path, err)
}

// CheckKeyFiles reads every BOARD.pem in dir as FileKeys would, so that
// crieur deliver can say once, at its start, what keeps it from signing,
// rather than once per delivery.
func CheckKeyFiles(ctx context.Context, dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		// serve makes it at its start (keys_dir): a worker started first waits.
		return fmt.Errorf("the key folder %s does not exist yet: crieur serve writes it at its start when keys_dir (CRIEUR_KEYS_DIR) names it, or export each key with 'crieur board key BOARD > %s/BOARD.pem'", dir, dir)
	}
	if err != nil {
		return unreadable(dir, err)
	}
	fk := &FileKeys{Dir: dir}
	for _, e := range entries {
		if e.IsDir() || filepath.Ext(e.Name()) != ".pem" {
			continue
		}
		if _, err := fk.PrivateKey(ctx, strings.TrimSuffix(e.Name(), ".pem")); err != nil {
			return err
		}
	}
	return nil
}

// WriteKeyFile writes a board's private key to dir/BOARD.pem for FileKeys:
// private (0600 in a 0700 folder, owned by this process's user) and whole
// or not at all (a temporary file renamed), so a worker never reads half a
// key. A file that already holds the key is left alone.
func WriteKeyFile(dir, name, pemText string) (written bool, err error) {
	if !board.ValidName(name) {
		return false, fmt.Errorf("%w %q", errBadBoardName, name)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("keys_dir: %w", err)
	}
	path := filepath.Join(dir, name+".pem")
	if old, err := os.ReadFile(path); err == nil && string(old) == pemText {
		if info, err := os.Stat(path); err == nil && info.Mode().Perm() == 0o600 {
			return false, nil
		}
	}
	tmp, err := os.CreateTemp(dir, "."+name+".pem.*")
	if err != nil {
		return false, fmt.Errorf("keys_dir: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, nothing left to remove
	if _, err := tmp.WriteString(pemText); err != nil {
		tmp.Close()
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	return true, nil
}
