package manager_test

import (
	"database/sql"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/rotorhq/rotor/manager"
	"github.com/rotorhq/rotor/sqlite"
)

// BenchmarkWALPagesPerWrite counts the pages (WAL frames) a write adds to
// SQLite's write-ahead log, by B-tree: CreateSecret + PutSecretValue
// pairs from 8 goroutines (as bench/writes), after 3,000 pairs that give
// the tables some size. A reader holds the WAL open meanwhile, so that no
// checkpoint restarts it and every frame written stays in the file to be
// counted. The COMMIT's cost, most of the single writer's, grows with
// these pages.
//
//	go test -run XXX -bench BenchmarkWALPagesPerWrite ./manager/
//
// It reports pages/write, writes/commit, and pages/write of each B-tree
// that takes 0.1 or more (in the log with -v).
func BenchmarkWALPagesPerWrite(b *testing.B) {
	path := filepath.Join(b.TempDir(), "rotor.db")
	st, err := sqlite.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	e := newEnv(b, func(c *manager.Config) { c.Store = st; c.Now = nil; c.Authorizer = allowAll{} })
	pairs := func(from, n int) {
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := from + g; i < from+n; i += 8 {
					if err := writePair(e, fmt.Sprintf("bench/c%d/s%d", g, i), i); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	pairs(0, 3000)

	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(2)
	if _, err := db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		b.Fatal(err)
	}
	pin, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	var n int
	if err := pin.QueryRow("SELECT count(*) FROM secrets").Scan(&n); err != nil {
		b.Fatal(err)
	}
	before := st.Stats()
	b.ResetTimer()
	pairs(3000, max(8, b.N))
	b.StopTimer()
	after := st.Stats()
	wal, err := os.ReadFile(path + "-wal")
	pin.Rollback()
	if err != nil {
		b.Fatal(err)
	}

	// The WAL: a 32-byte header (page size at bytes 8-11), then frames of
	// a 24-byte header (page number first) and a page.
	pageSize := int(binary.BigEndian.Uint32(wal[8:12]))
	perPage := map[uint32]int{}
	frames := 0
	for off := 32; off+24+pageSize <= len(wal); off += 24 + pageSize {
		perPage[binary.BigEndian.Uint32(wal[off:])]++
		frames++
	}
	names := map[uint32]string{1: "page 1"}
	rows, err := db.Query("SELECT name, pageno FROM dbstat")
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var name string
		var page uint32
		if err := rows.Scan(&name, &page); err != nil {
			b.Fatal(err)
		}
		if page != 1 {
			names[page] = name
		}
	}
	rows.Close()
	byTree := map[string]int{}
	for page, c := range perPage {
		name, ok := names[page]
		if !ok {
			name = "free pages"
		}
		byTree[name] += c
	}
	writes := float64(after.Updates - before.Updates)
	b.ReportMetric(float64(frames)/writes, "pages/write")
	b.ReportMetric(writes/float64(after.Commits-before.Commits), "writes/commit")
	trees := make([]string, 0, len(byTree))
	for t := range byTree {
		trees = append(trees, t)
	}
	sort.Slice(trees, func(i, j int) bool { return byTree[trees[i]] > byTree[trees[j]] })
	for _, t := range trees {
		if per := float64(byTree[t]) / writes; per >= 0.1 {
			b.Logf("%-32s %.2f pages/write", t, per)
		}
	}
}
