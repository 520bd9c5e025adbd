package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CopyOptions say where Upgrade keeps the copy of a store it takes before
// changing it, and how many such copies it keeps.
type CopyOptions struct {
	// Dir is the folder of the copies (the data folder's backups/).
	Dir string
	// Keep is how many copies are kept, the newest; older ones are removed
	// after a new one is taken. 0 or less keeps them all.
	Keep int
	// Now is the clock naming a copy; nil is time.Now.
	Now func() time.Time
}

// Upgraded is what Upgrade did.
type Upgraded struct {
	From, To int
	// Changes are the steps applied, "22 follow-ups of edits", in order.
	Changes []string
	// Copy is the copy taken before the first step, "" when none was
	// (a new store, or one already at this release's schema).
	Copy string
}

// copyName is how a copy is named: the schema it holds, so that whoever
// restores it knows which release reads it, and when it was taken (UTC),
// which orders the copies.
var copyName = regexp.MustCompile(`^crieur-schema(\d+)-(\d{8}T\d{6}Z)(-\d+)?\.db$`)

// Upgrade brings db to this release's schema like Migrate, but first takes
// a copy of a store that has data and is older than this release, so that
// going back to the previous release is restoring one file. It logs one
// line for the whole upgrade (its steps and where the copy is). A new store
// and a store already current are not copied. log may be nil.
func Upgrade(ctx context.Context, db *sql.DB, o CopyOptions, log *slog.Logger) (Upgraded, error) {
	return upgrade(ctx, db, steps, o, log)
}

// upgrade is Upgrade to the schema of steps (the tests add one, as the
// next release will).
func upgrade(ctx context.Context, db *sql.DB, steps []step, o CopyOptions, log *slog.Logger) (Upgraded, error) {
	done, err := Version(ctx, db)
	if err != nil {
		return Upgraded{}, err
	}
	up := Upgraded{From: done, To: done}
	if done > len(steps) {
		return up, &NewerSchemaError{Found: done, Known: len(steps), WrittenBy: writtenBy(ctx, db)}
	}
	if done == len(steps) {
		return up, nil
	}
	// Schema 0 is both a new file and a store of a release that did not
	// count its schema yet: only the second has tables to keep.
	empty, err := isEmpty(ctx, db)
	if err != nil {
		return up, err
	}
	if !empty {
		if up.Copy, err = takeCopy(ctx, db, done, o); err != nil {
			return up, fmt.Errorf("copy the store before upgrading it from schema %d (nothing was changed): %w", done, err)
		}
		// Copies the operator no longer needs are not worth stopping for.
		if err := pruneCopies(o.Dir, o.Keep); err != nil && log != nil {
			log.WarnContext(ctx, "old copies of the store were not removed", "folder", o.Dir, "err", err)
		}
	}
	for _, st := range steps[done:] {
		if err := apply(ctx, db, st); err != nil {
			if up.Copy != "" {
				return up, fmt.Errorf("%w; the store as it was before the upgrade is in %s", err, up.Copy)
			}
			return up, err
		}
		up.To = st.version
		up.Changes = append(up.Changes, strconv.Itoa(st.version)+" "+st.what)
	}
	if log == nil {
		return up, nil
	}
	if empty {
		log.InfoContext(ctx, "store created", "schema", up.To)
		return up, nil
	}
	log.InfoContext(ctx, fmt.Sprintf("store upgraded: schema %d → %d", up.From, up.To),
		"changes", strings.Join(up.Changes, "; "), "copy", up.Copy)
	return up, nil
}

// isEmpty says whether db holds no table at all: a file just made.
func isEmpty(ctx context.Context, db *sql.DB) (bool, error) {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'`).Scan(&n); err != nil {
		return false, fmt.Errorf("read the store's tables: %w", err)
	}
	return n == 0, nil
}

// takeCopy writes a consistent copy of db, at schema, into o.Dir. VACUUM INTO, as crieur backup does:
// it reads one snapshot whatever the WAL holds, where copying the file
// would miss what is still in the WAL.
func takeCopy(ctx context.Context, db *sql.DB, schema int, o CopyOptions) (string, error) {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil { // it holds the boards' private keys
		return "", err
	}
	base := fmt.Sprintf("crieur-schema%d-%s", schema, now().UTC().Format("20060102T150405Z"))
	path := filepath.Join(o.Dir, base+".db")
	for i := 2; ; i++ { // two upgrades in one second keep both copies
		_, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			// A folder Crieur may not read (root's backups/): said as
			// such, where trying the next name would never end.
			return "", err
		}
		path = filepath.Join(o.Dir, fmt.Sprintf("%s-%d.db", base, i))
	}
	tmp := path + ".part"
	os.Remove(tmp) // a copy a crash interrupted
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		os.Remove(tmp)
		return "", err
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		os.Remove(tmp)
		return "", err
	}
	// Under its final name only when whole: a half copy is never taken
	// for one to restore.
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return path, nil
}

// pruneCopies removes all but the keep newest copies in dir (by the time in
// their names), leaving whatever else is there; keep 0 or less keeps all.
func pruneCopies(dir string, keep int) error {
	if keep <= 0 {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	type copyFile struct{ name, at string }
	var copies []copyFile
	for _, e := range entries {
		if m := copyName.FindStringSubmatch(e.Name()); m != nil && e.Type().IsRegular() {
			n, _ := strconv.Atoi(strings.TrimPrefix(m[3], "-"))
			copies = append(copies, copyFile{e.Name(), fmt.Sprintf("%s-%04d", m[2], n)})
		}
	}
	slices.SortFunc(copies, func(a, b copyFile) int { return strings.Compare(b.at, a.at) })
	for _, c := range copies[min(keep, len(copies)):] {
		if err := os.Remove(filepath.Join(dir, c.name)); err != nil {
			return fmt.Errorf("remove an old copy: %w", err)
		}
	}
	return nil
}
