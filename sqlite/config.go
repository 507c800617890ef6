package sqlite

import (
	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// stmtJournalSpill is the size, in bytes, up to which SQLite keeps a
// statement journal (the sub-journal of a SAVEPOINT) in memory before it
// moves it to a temporary file; SQLite's default is 64 KiB.
//
// Every Update runs in a savepoint of its group-commit batch (commit.go),
// and the savepoint's sub-journal gets a copy of each page the Update
// changes that existed when it began: a CreateSecret or PutSecretValue
// changes 10-30 such pages, so with the default most batches spilled to a
// temporary file, and every page copy became a pwrite(2) (about a tenth of
// the writer's CPU). The in-memory sub-journal is emptied each time an
// Update's savepoint is released, so it holds one Update's pages at a time,
// and a large Update (a migration, a re-wrap of many values) still spills
// past the bound. PRAGMA temp_store=memory would also keep it in memory,
// but without any bound.
//
// 128 KiB (31 pages) is the largest size that works: SQLite allocates an
// in-memory journal in chunks of this size, and with modernc.org/sqlite
// v1.62.0 moving a journal whose chunks are larger than 128 KiB to its
// file fails (SQLITE_FULL, "database or disk is full"); TestSubJournal
// checks the spill past the bound.
const stmtJournalSpill = 1 << 17

// configured reports whether SQLite accepted stmtJournalSpill. It is
// false when something initialised SQLite before this package's init,
// which leaves SQLite's default in place (slower, not wrong).
var configured bool

func init() {
	configured = configure(sqlite3.SQLITE_CONFIG_STMTJRNL_SPILL, stmtJournalSpill)
}

// configure calls sqlite3_config(op, value) for an op taking one int. It
// must run before SQLite initialises (the first connection opens), and
// settings are process-wide.
func configure(op int32, value int32) bool {
	tls := libc.NewTLS()
	defer tls.Close()
	va := libc.Xmalloc(tls, 8)
	if va == 0 {
		return false
	}
	defer libc.Xfree(tls, va)
	if va&7 != 0 { // VaList needs 8-byte alignment; malloc gives at least that
		return false
	}
	return sqlite3.Xsqlite3_config(tls, op, libc.VaList(va, value)) == sqlite3.SQLITE_OK
}
