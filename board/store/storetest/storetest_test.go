package storetest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"crieur/board/store"
)

// The copy is a store at this release's schema with nothing in it, and a
// file already there is left as it is.
func TestOpenGivesAnEmptyCurrentStore(t *testing.T) {
	ctx := context.Background()
	seeded := filepath.Join(t.TempDir(), "crieur.db")
	if err := Seed(seeded); err != nil {
		t.Fatal(err)
	}
	db, err := store.OpenDB(seeded)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := store.Schema(ctx, db); err != nil { // before anything could migrate it
		t.Fatalf("the copied store's schema: %v", err)
	}
	st, _ := Open(t)
	if boards, err := st.Boards(ctx); err != nil || len(boards) != 0 {
		t.Fatalf("the copied store holds %v (%v), want nothing", boards, err)
	}
	path := filepath.Join(t.TempDir(), "crieur.db")
	if err := os.WriteFile(path, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Seed(path); err != nil {
		t.Fatal(err)
	}
	if raw, _ := os.ReadFile(path); string(raw) != "mine" {
		t.Fatalf("Seed wrote over a file already there: %q", raw[:min(len(raw), 16)])
	}
}
