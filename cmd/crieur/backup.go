package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"crieur/board/media"
	"crieur/board/store"
	"crieur/config"
)

// fileAndConfig reads a command's one file argument, given before the
// flags (crieur backup FILE --data DIR) or after them, and the settings.
func fileAndConfig(name string, args, env []string, usage string, stdout io.Writer) (string, config.Config, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stdout) // --help and mistakes are read where the command answers
	file := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	cfg, err := loadConfig(fs, args, env)
	if err != nil {
		return "", cfg, err
	}
	if file == "" {
		file = fs.Arg(0)
	}
	if file == "" {
		return "", cfg, errors.New(usage)
	}
	return file, cfg, nil
}

// backupCmd writes a consistent copy of the store (boards and their keys,
// tokens, announcements, followers, sign-ups, the embedded queue) and the
// pictures into one .tar.gz, while the server runs.
func backupCmd(ctx context.Context, args []string, stdout io.Writer, env []string) error {
	file, cfg, err := fileAndConfig("backup", args, env, "usage: crieur backup FILE.tar.gz [--data DIR | --config FILE]", stdout)
	if err != nil {
		return err
	}
	if st, err := os.Stat(file); err == nil && st.IsDir() {
		return fmt.Errorf("%s is a folder: name the backup file, like %s", file, filepath.Join(file, "crieur-"+time.Now().Format("2006-01-02")+".tar.gz"))
	}
	// Not a query_only connection: SQLite counts VACUUM INTO as a write,
	// though it writes only the copy.
	db, err := openDB(cfg, false)
	if err != nil {
		return err
	}
	defer db.Close()
	work, err := os.MkdirTemp(filepath.Dir(file), ".crieur-backup-")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer os.RemoveAll(work)
	// VACUUM INTO reads one snapshot of the file, whatever the server
	// writes meanwhile, and writes a compact copy.
	snapshot := filepath.Join(work, "crieur.db")
	_, err = db.ExecContext(ctx, `VACUUM INTO ?`, snapshot)
	if err != nil {
		return fmt.Errorf("copy the store: %w", err)
	}
	counts, pictures, err := snapshotFacts(ctx, snapshot)
	if err != nil {
		return err
	}
	tmp := file + ".part"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600) // it holds the boards' private keys
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer os.Remove(tmp)
	gz := gzip.NewWriter(out)
	tw := tar.NewWriter(gz)
	add := func(name, path string) error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: st.Size(), ModTime: st.ModTime(), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = io.Copy(tw, f)
		return err
	}
	if err := add("crieur.db", snapshot); err != nil {
		out.Close()
		return fmt.Errorf("backup: %w", err)
	}
	mdir := media.Dir(cfg.MediaDir())
	for _, name := range pictures {
		path, ok := mdir.Path(name)
		if !ok {
			continue
		}
		if err := add("media/"+name, path); err != nil {
			out.Close()
			return fmt.Errorf("backup picture %s: %w", name, err)
		}
	}
	for _, c := range []io.Closer{tw, gz} {
		if err := c.Close(); err != nil {
			out.Close()
			return fmt.Errorf("backup: %w", err)
		}
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return fmt.Errorf("backup: %w", err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(tmp, file); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	st, _ := os.Stat(file)
	fmt.Fprintf(stdout, "backed up %s and %s to %s (%.1f MB); it holds the boards' private keys: keep it private\n",
		counts, some(len(pictures), "picture"), file, float64(st.Size())/(1<<20))
	return nil
}

// snapshotFacts counts what a store holds and lists its pictures.
func snapshotFacts(ctx context.Context, path string) (string, []string, error) {
	db, err := store.OpenReadDB(path, 1)
	if err != nil {
		return "", nil, err
	}
	defer db.Close()
	var boards, anns, followers int
	for q, n := range map[string]*int{
		`SELECT COUNT(*) FROM boards`:                                 &boards,
		`SELECT COUNT(*) FROM announcements WHERE deleted_at IS NULL`: &anns,
		`SELECT COUNT(*) FROM followers`:                              &followers,
	} {
		if err := db.QueryRowContext(ctx, q).Scan(n); err != nil {
			return "", nil, fmt.Errorf("read the copy: %w", err)
		}
	}
	var pictures []string
	rows, err := db.QueryContext(ctx, `SELECT DISTINCT name FROM media ORDER BY name`)
	if err != nil && !strings.Contains(err.Error(), "no such table") {
		return "", nil, fmt.Errorf("read the copy: %w", err)
	}
	if err == nil {
		defer rows.Close()
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				return "", nil, err
			}
			pictures = append(pictures, n)
		}
		if err := rows.Err(); err != nil {
			return "", nil, err
		}
	}
	return fmt.Sprintf("%s, %s, %s", some(boards, "board"), some(anns, "announcement"), some(followers, "follower")), pictures, nil
}

// restoreCmd unpacks a backup into an empty data directory, checks the
// store and brings it to this release's schema.
func restoreCmd(ctx context.Context, args []string, stdout io.Writer, env []string) error {
	file, cfg, err := fileAndConfig("restore", args, env, "usage: crieur restore FILE.tar.gz [--data DIR | --config FILE] (into an empty data directory)", stdout)
	if err != nil {
		return err
	}
	if entries, err := os.ReadDir(cfg.DataDir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty: restore into a new, empty data directory (nothing was changed)", cfg.DataDir)
	}
	if err := os.MkdirAll(cfg.MediaDir(), 0o700); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	// Whatever fails from here leaves an empty directory, not half a store.
	ok := false
	defer func() {
		if !ok {
			entries, _ := os.ReadDir(cfg.DataDir)
			for _, e := range entries {
				os.RemoveAll(filepath.Join(cfg.DataDir, e.Name()))
			}
		}
	}()
	err = walkBackup(file, func(name string, picture bool, r io.Reader) error {
		dest := cfg.DatabasePath()
		if picture {
			dest = filepath.Join(cfg.MediaDir(), name)
		}
		f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("restore %s: %w", name, err)
		}
		_, err = io.Copy(f, r)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("restore %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	db, err := store.OpenDB(cfg.DatabasePath())
	if err != nil {
		return err
	}
	defer db.Close()
	var check string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		return fmt.Errorf("the store in %s is damaged (%s %v): not restored", file, check, err)
	}
	if _, err := store.New(ctx, db); err != nil {
		return err
	}
	counts, pictures, err := snapshotFacts(ctx, cfg.DatabasePath())
	if err != nil {
		return err
	}
	ok = true
	fmt.Fprintf(stdout, "restored %s and %s into %s at %s; start it with crieur serve\n", counts, some(len(pictures), "picture"), cfg.DataDir, time.Now().Format(time.RFC3339))
	return nil
}

// walkBackup reads a backup entry by entry, the store and then the
// pictures (picture true, name the picture's), refusing what no Crieur
// backup holds: restore writes what it reads, check reads it through.
// Reaching the end also checks gzip's checksum.
func walkBackup(file string, each func(name string, picture bool, r io.Reader) error) error {
	in, err := os.Open(file)
	if err != nil {
		return err
	}
	defer in.Close()
	gz, err := gzip.NewReader(in)
	if err != nil {
		return fmt.Errorf("%s is not a Crieur backup (not gzip): %w", file, err)
	}
	tr := tar.NewReader(gz)
	sawDB := false
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s is damaged: %w", file, err)
		}
		name, picture := strings.CutPrefix(h.Name, "media/")
		switch {
		case h.Name == "crieur.db":
			sawDB = true
		case picture && media.ValidName(name):
		default:
			return fmt.Errorf("%s holds %q, which no Crieur backup has: not restored", file, h.Name)
		}
		if h.Typeflag != tar.TypeReg {
			return fmt.Errorf("%s holds %q as something other than a file: not restored", file, h.Name)
		}
		if err := each(name, picture, tr); err != nil {
			return err
		}
	}
	if !sawDB {
		return fmt.Errorf("%s has no store (crieur.db): not a Crieur backup", file)
	}
	return nil
}

// some says n things in English, one or several ("1 board", "2 boards").
func some(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
