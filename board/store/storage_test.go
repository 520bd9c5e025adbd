package store

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net/http"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"crieur/board"
	"crieur/board/httpx"
)

// A full disk (SQLITE_FULL, here from max_page_count, which is the error a
// full disk gives) is told as one, with the folder to free space in, and
// answered 507 rather than "internal error".
func TestFullDiskSaysFreeSpace(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, db := newStoreIn(t, dir)
	b, err := s.CreateBoard(ctx, board.Board{Name: "news", DisplayName: "News"})
	if err != nil {
		t.Fatal(err)
	}
	var pages int
	if err := db.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA max_page_count = ` + strconv.Itoa(pages)); err != nil {
		t.Fatal(err)
	}
	_, _, err = service(s).Create(ctx, board.System, b, board.Draft{Title: "Too much", Body: strings.Repeat("A long text. ", 1500)}, "")
	if err == nil {
		t.Fatal("a write on a full store succeeded")
	}
	var full *board.StorageError
	if err := board.DiagnoseStorage(err, dir); !errors.As(err, &full) || full.Problem != board.StorageFull ||
		!strings.Contains(err.Error(), "the disk is full: nothing was written; free space in "+dir) {
		t.Errorf("a full disk diagnosed as %v", err)
	}
	if e := httpx.Classify(err); e.Status != http.StatusInsufficientStorage || !strings.Contains(e.Safe, "disk is full") {
		t.Errorf("a full disk answered %d %q", e.Status, e.Safe)
	}
}

// A store opened read-only (what a read-only mount gives SQLite) is told
// as read-only, with the mount to check, and answered 503.
func TestReadOnlyStoreSaysCheckTheMount(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "crieur.db")
	db, err := OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(ctx, db); err != nil {
		t.Fatal(err)
	}
	db.Close()
	ro, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	s := &Store{db: ro}
	_, err = s.CreateBoard(ctx, board.Board{Name: "news", DisplayName: "News"})
	if err == nil {
		t.Fatal("a write on a read-only store succeeded")
	}
	var locked *board.StorageError
	if err := board.DiagnoseStorage(err, dir); !errors.As(err, &locked) || locked.Problem != board.StorageReadOnly ||
		!strings.Contains(err.Error(), "the store in "+dir+" is read-only: check the mount") {
		t.Errorf("a read-only store diagnosed as %v", err)
	}
	if e := httpx.Classify(err); e.Status != http.StatusServiceUnavailable || !strings.Contains(e.Safe, "cannot write its data") {
		t.Errorf("a read-only store answered %d %q", e.Status, e.Safe)
	}
}

// A data folder of another user (root's, Crieur run as nobody) is told
// with the chown that fixes it, not as "unable to open database file
// (14)". The store is opened by this test binary run as uid 65534
// (setpriv), which needs root, as CI runs the tests.
func TestFolderOfAnotherUserSaysChown(t *testing.T) {
	if dir := os.Getenv("CRIEUR_TEST_OPEN_AS_OTHER"); dir != "" {
		openAsOther(dir)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a process as another user")
	}
	setpriv, err := osexec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv not installed")
	}
	// Where uid 65534 may read and run but not write.
	base, err := os.MkdirTemp("", "crieur-owner-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(base)
	// The folder is a symbolic link to root's folder, as systemd's
	// DynamicUser makes /var/lib/crieur (to /var/lib/private/crieur).
	dir := filepath.Join(base, "data")
	bin := filepath.Join(base, "store.test")
	if err := os.MkdirAll(filepath.Join(base, "private", "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(base, "private"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("private", "data"), dir); err != nil {
		t.Fatal(err)
	}
	if err := copyFile(os.Args[0], bin); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	openAs65534 := func() string {
		cmd := osexec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", bin, "-test.run=^TestFolderOfAnotherUserSaysChown$")
		cmd.Env = append(os.Environ(), "CRIEUR_TEST_OPEN_AS_OTHER="+dir)
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	out := openAs65534()
	advice := "chown -R 65534 " + dir + "/"
	for _, want := range []string{
		"Crieur runs as uid 65534 and may not write in " + dir + ", which belongs to uid 0",
		advice + " (",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("opening a folder of another user says:\n%s\nwant %q in it", out, want)
		}
	}
	// The advice, followed as written, is what lets Crieur in.
	if msg, err := osexec.Command("sh", "-c", advice).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v %s", advice, err, msg)
	}
	if out := openAs65534(); !strings.Contains(out, "opened a folder of another user") {
		t.Errorf("after %s, opening it says:\n%s", advice, out)
	}
}

// openAsOther opens the store in dir as the server does and prints what
// it was told.
func openAsOther(dir string) {
	db, err := OpenDB(filepath.Join(dir, "crieur.db"))
	if err == nil {
		_, err = Upgrade(context.Background(), db, CopyOptions{Dir: filepath.Join(dir, "backups")}, nil)
		db.Close()
	}
	if err == nil {
		os.Stdout.WriteString("opened a folder of another user\n")
		return
	}
	os.Stdout.WriteString("told: " + board.DiagnoseStorage(err, dir).Error() + "\n")
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// A store that a full disk keeps from opening (the disk filled up, the
// service restarts) is told as a full disk, not "disk I/O error (4874)":
// SQLite cannot size the WAL's shared memory then. The disk is a 1 MiB
// tmpfs, which needs root (as CI runs the tests).
func TestFullDiskAtOpenSaysFreeSpace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small file system")
	}
	dir := t.TempDir()
	if out, err := osexec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { osexec.Command("umount", "-l", dir).Run() })
	data := filepath.Join(dir, "data")
	s, db := newStoreIn(t, data)
	if _, err := s.CreateBoard(context.Background(), board.Board{Name: "news", DisplayName: "News"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, name := range []string{"crieur.db-wal", "crieur.db-shm"} {
		os.Remove(filepath.Join(data, name)) // a clean stop leaves none
	}
	filler, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(filler, io.LimitReader(zeros{}, 2<<20)) // until the disk is full
	filler.Close()
	_, err = OpenDB(filepath.Join(data, "crieur.db"))
	if err == nil {
		t.Skip("the store opened on a full disk: nothing to tell")
	}
	var full *board.StorageError
	if err := board.DiagnoseStorage(err, data); !errors.As(err, &full) || full.Problem != board.StorageFull ||
		!strings.Contains(err.Error(), "the disk is full: nothing was written; free space in "+data) {
		t.Errorf("a full disk at open diagnosed as %v", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
