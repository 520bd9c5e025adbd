package main

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func crieurCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return runCLI("", nil, args...)
}

// A backup taken while editors post restores to a store that serves, with
// every announcement it had when it was taken and its pictures.
func TestBackupUnderWritesRestores(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	c := startCrieur(t, data, 0)
	up := c.upload(testJPEG(t))
	if _, code := c.post(map[string]any{"title": "With a picture", "images": []map[string]any{{"id": up.ID, "alt": "Our stall"}}}, nil); code != 201 {
		t.Fatalf("post: %d", code)
	}
	var posted atomic.Int64
	posted.Store(1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, code := c.post(map[string]any{"title": fmt.Sprintf("Busy %d", i)}, nil); code == 201 {
				posted.Add(1)
			}
		}
	})
	time.Sleep(300 * time.Millisecond)
	before := posted.Load()
	file := filepath.Join(t.TempDir(), "crieur.tar.gz")
	out, err := crieurCmd(t, "backup", file, "--data", data)
	after := posted.Load()
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	if err != nil || !strings.Contains(out, "backed up") || !strings.Contains(out, "and 1 picture to") {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	if st, _ := os.Stat(file); st == nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the backup holds private keys but is %v", st.Mode())
	}

	restored := t.TempDir()
	if out, err := crieurCmd(t, "restore", file, "--data", restored); err != nil || !strings.Contains(out, "restored") {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	if out, err := crieurCmd(t, "restore", file, "--data", restored); err == nil || !strings.Contains(out, "not empty") {
		t.Errorf("restore into a used directory: %v\n%s", err, out)
	}
	c2 := startCrieur(t, restored, 0)
	c2.Token = c.Token // the tokens come back with the store
	type item struct {
		ID     int64
		Title  string
		Images []struct{ ID string }
	}
	var list []item
	for before := int64(0); ; {
		var page []item
		if code := c2.api("GET", fmt.Sprintf("/api/v1/boards/news/announcements?limit=100&before=%d", before), nil, nil, &page); code != 200 {
			t.Fatalf("the restored server's API: %d", code)
		}
		list = append(list, page...)
		if len(page) < 100 {
			break
		}
		before = page[len(page)-1].ID
	}
	n := int64(len(list))
	t.Logf("backup taken with %d-%d announcements posted; restored %d", before, after, n)
	if n < before || n > after {
		t.Errorf("restored %d announcements; the backup ran while %d to %d were posted", n, before, after)
	}
	last := list[len(list)-1]
	if last.Title != "With a picture" || len(last.Images) != 1 {
		t.Fatalf("the first announcement came back as %+v", last)
	}
	if code, body := page(t, c2.URL+"/boards/news/media/"+last.Images[0].ID, ""); code != 200 || !strings.HasPrefix(body, "\xFF\xD8") {
		t.Errorf("the restored picture answers %d", code)
	}
	if code, _ := page(t, c2.objectURL(list[0].ID), "application/activity+json"); code != 200 {
		t.Errorf("the restored announcement's object answers %d", code)
	}
}

func TestRestoreRefusesAForeignArchive(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "evil.tar.gz")
	f, _ := os.Create(file)
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	body := []byte("x")
	_ = tw.WriteHeader(&tar.Header{Name: "../../outside.txt", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
	_, _ = tw.Write(body)
	tw.Close()
	gz.Close()
	f.Close()
	dir := t.TempDir()
	out, err := crieurCmd(t, "restore", file, "--data", dir)
	if err == nil || !strings.Contains(out, "which no Crieur backup has") {
		t.Fatalf("a foreign archive: %v\n%s", err, out)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a refused restore left %d entries behind", len(entries))
	}
}

// A backup aimed at a folder asks for a file name (a user tried
// `crieur backup backups/` and read "rename …/.part …/: file exists").
func TestBackupIntoAFolderAsksForAFileName(t *testing.T) {
	t.Parallel()
	data, folder := t.TempDir(), t.TempDir()
	if out, err := runCLI("", nil, "board", "create", "news", "--data", data); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err := runCLI("", nil, "backup", folder+"/", "--data", data)
	if err == nil || !strings.Contains(out, "is a folder: name the backup file, like "+filepath.Join(folder, "crieur-")) {
		t.Fatalf("backup into a folder: %v\n%s", err, out)
	}
}
