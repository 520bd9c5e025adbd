package board

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"syscall"
)

// StorageProblem is why the store cannot take a write: something only the
// server's administrator can fix, so the error says what to do.
type StorageProblem int

// The problems StorageError names.
const (
	// StorageFull: the disk (or the volume) holding the data is full.
	StorageFull StorageProblem = iota + 1
	// StorageReadOnly: the data is on a read-only mount, or its files are
	// read-only.
	StorageReadOnly
	// StorageDenied: the data folder belongs to another user than the one
	// Crieur runs as.
	StorageDenied
)

// StorageError is a write the store refused for a StorageProblem. Its
// message is for the administrator (the log, crieur serve's exit); the
// editor and the API say it in their reader's words from Problem.
type StorageError struct {
	Problem StorageProblem
	// Folder is the data folder ("" when the caller does not know it).
	Folder string
	// User is the uid Crieur runs as; Owner the folder's (-1: unknown).
	User, Owner int
	// FilesOwned: Owner owns files in the folder, not the folder itself.
	FilesOwned bool
	Err        error
}

func (e *StorageError) Error() string {
	folder := e.Folder
	if folder == "" {
		folder = "the data folder"
	}
	switch e.Problem {
	case StorageFull:
		return fmt.Sprintf("the disk is full: nothing was written; free space in %s (or give its volume more room), then try again (%v)", folder, e.Err)
	case StorageDenied:
		owner := ""
		switch {
		case e.Owner >= 0 && e.FilesOwned:
			owner = fmt.Sprintf(", whose files belong to uid %d", e.Owner)
		case e.Owner >= 0:
			owner = fmt.Sprintf(", which belongs to uid %d", e.Owner)
		}
		// The slash makes chown follow a folder that is a symbolic link,
		// as systemd's DynamicUser makes /var/lib/NAME (to
		// /var/lib/private/NAME): without it, chown -R changes the link
		// alone and the advice does nothing.
		target := folder
		if e.Folder != "" && !strings.HasSuffix(target, "/") {
			target += "/"
		}
		return fmt.Sprintf("Crieur runs as uid %d and may not write in %s%s: give the folder to the user Crieur runs as: chown -R %d %s (%v)", e.User, folder, owner, e.User, target, e.Err)
	}
	return fmt.Sprintf("the store in %s is read-only: check the mount (a read-only file system or volume, :ro in a container) and that its files are writable, then start Crieur again (%v)", folder, e.Err)
}

func (e *StorageError) Unwrap() error { return e.Err }

// SQLite's primary result codes that say the storage, not the request, is
// at fault (sqlite3.h). The driver's error is read through its Code method
// so that the board imports no driver.
const (
	sqliteReadOnly  = 8
	sqliteIOErr     = 10
	sqliteFull      = 13
	sqliteCantOpen  = 14
	sqlitePrimaryOf = 0xff // an extended code's low byte is its primary code
)

// DiagnoseStorage is the one place that tells a full disk, a read-only
// store and a data folder Crieur may not write from other failures: err
// as a *StorageError saying what to do, or err itself. folder is the data
// folder, looked at to tell a folder of another user from a read-only
// mount ("" when unknown).
func DiagnoseStorage(err error, folder string) error {
	if err == nil {
		return nil
	}
	var already *StorageError
	if errors.As(err, &already) {
		return err
	}
	problem := storageProblem(err)
	if problem == 0 && folder != "" && isIOError(err) && nearlyFull(folder) {
		// SQLite says only "disk I/O error" when a full disk stops it
		// sizing the WAL's shared memory at open (SQLITE_IOERR_SHMSIZE,
		// 4874): the disk restarting a stopped service meets. The folder's
		// free space tells it from a failing disk.
		problem = StorageFull
	}
	if problem == 0 {
		return err
	}
	e := &StorageError{Problem: problem, Folder: folder, User: os.Geteuid(), Owner: -1, Err: err}
	if problem == StorageFull || folder == "" {
		return e
	}
	// SQLite says "read-only" or "cannot open" alike for a folder of
	// another user and a read-only mount: the folder tells which.
	if st, serr := os.Stat(folder); serr == nil {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			e.Owner = int(sys.Uid)
		}
	}
	switch aerr := syscall.Access(folder, 2 /* W_OK */); {
	case errors.Is(aerr, syscall.EROFS):
		e.Problem = StorageReadOnly
	case aerr != nil && e.Owner >= 0 && e.Owner != e.User, errors.Is(aerr, syscall.EACCES) && e.Owner < 0:
		e.Problem = StorageDenied
	case errors.Is(aerr, syscall.EACCES):
		// Our own folder, made read-only (chmod): read-only it is.
		e.Problem = StorageReadOnly
	case aerr == nil && e.User != 0:
		// Our folder, with files another user made (a command run with
		// sudo): SQLite opens them read-only.
		if uid, ok := foreignFile(folder, e.User); ok {
			e.Problem, e.Owner, e.FilesOwned = StorageDenied, uid, true
		}
	}
	return e
}

// foreignFile finds a file in folder that belongs to another user than uid.
func foreignFile(folder string, uid int) (int, bool) {
	entries, err := os.ReadDir(folder)
	if err != nil {
		return 0, false
	}
	for _, en := range entries {
		info, err := en.Info()
		if err != nil {
			continue
		}
		if sys, ok := info.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != uid {
			return int(sys.Uid), true
		}
	}
	return 0, false
}

// isIOError says whether err is SQLite's SQLITE_IOERR, whatever its
// extended code.
func isIOError(err error) bool {
	coded, ok := sqliteCode(err)
	return ok && coded&sqlitePrimaryOf == sqliteIOErr
}

// nearlyFull says whether the file system holding folder has less room
// left for Crieur than one page of writes.
func nearlyFull(folder string) bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs(folder, &st); err != nil {
		return false
	}
	return st.Bavail*uint64(st.Bsize) < 64<<10
}

// sqliteCode is the result code of a SQLite driver's error. Other errors
// have a Code too (an HTTP status): only the SQLite driver's is a result
// code.
func sqliteCode(err error) (int, bool) {
	var coded interface{ Code() int }
	if !errors.As(err, &coded) {
		return 0, false
	}
	if t := reflect.TypeOf(coded); t.Kind() != reflect.Pointer || !strings.HasSuffix(t.Elem().PkgPath(), "sqlite") {
		return 0, false
	}
	return coded.Code(), true
}

// storageProblem reads err's cause: SQLite's result code, or the system's
// error number when the failure came from the OS (a file Crieur writes
// itself: a picture, a copy, the folder's modes).
func storageProblem(err error) StorageProblem {
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return StorageFull
	case errors.Is(err, syscall.EROFS):
		return StorageReadOnly
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return StorageDenied
	}
	code, ok := sqliteCode(err)
	if !ok {
		return 0
	}
	switch code & sqlitePrimaryOf {
	case sqliteFull:
		return StorageFull
	case sqliteReadOnly:
		return StorageReadOnly
	case sqliteCantOpen:
		return StorageDenied
	}
	return 0
}
