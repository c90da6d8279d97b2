package sqldb_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jifen/sqldb"
	"jifen/sqldb/sqldbtest"
)

// What is committed reaches the database file soon, copied by the
// checkpointer beside the writer, not only when the log is full (10,000
// pages) or the database closes.
func TestCheckpointerCopiesTheLog(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "jifen.db")
	db, err := sqldb.Open(ctx, "sqlite:"+path, sqldbtest.Keys(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	time.Sleep(500 * time.Millisecond) // the migrations, copied or not
	before := size()
	// A few hundred pages, far below the writer's own checkpoint.
	if err := db.ExecForTest(ctx, "CREATE TABLE checkpoint_probe (body TEXT)"); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if err := db.ExecForTest(ctx, "INSERT INTO checkpoint_probe (body) VALUES (?)", strings.Repeat("积分", 2000)); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); size() < before+100*12000; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the database file is %d bytes, %d before 1.2 MB was committed: the log was not copied", size(), before)
		}
	}
}
