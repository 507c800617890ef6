package sqlite

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite3 "modernc.org/sqlite/lib"
)

// The writer's VFS: SQLite's "unix" VFS with the WAL's appends gathered.
//
// SQLite writes each WAL frame with two write(2) calls (its 24-byte header,
// then the page), so a commit of 27 pages made 54 system calls, each ~3-4 µs
// on a virtual machine. This VFS gives the WAL file of each connection
// opened with it (the store's writer) a buffer: a write that continues the
// one before is appended to it, and the buffer goes to the file in one
// write(2), at the offset and in the order SQLite wrote, before anything
// that needs the bytes there:
//
//   - xSync of the WAL (each commit with synchronous=FULL), before the fsync;
//   - xShmBarrier of the database, which SQLite calls before it publishes
//     new frames in the WAL index (walIndexWriteHdr; it also calls it as it
//     reads that index's header, walIndexTryHdr), so a reader on another
//     connection never sees a frame counted that is not in the file;
//   - xShmLock releasing an exclusive lock of the database, the WAL write
//     lock among them, so frames of a transaction rolled back after it
//     spilled reach the file before another connection (or process) may
//     write there, as they would unbuffered;
//   - xUnlock of the database, for the same reason in locking_mode=
//     EXCLUSIVE, where SQLite takes no -shm locks and the database file's
//     EXCLUSIVE lock keeps other connections out until it is released;
//   - xFileControl(SQLITE_FCNTL_COMMIT_PHASETWO) of the database, which
//     SQLite calls as every commit ends, before COMMIT returns: with
//     locking_mode=EXCLUSIVE set before the WAL opened, the WAL index is in
//     heap memory and SQLite calls no xShmBarrier or xShmLock, and with
//     synchronous=NORMAL no xSync, yet a commit must survive the process;
//   - xRead overlapping the buffer, xTruncate, xFileSize and xClose of the
//     WAL, a write that does not continue the buffer, and a buffer that
//     would outgrow walBufSize.
//
// The database's methods flush every buffered WAL of their database (by
// file name), whatever connection it belongs to. The barrier and xShmLock
// cannot return an error, and xUnlock and xFileControl follow them: a
// failed flush there is kept and returned by the WAL's next method call.
// That cannot lose a commit with synchronous=FULL, the store's setting,
// where xSync has flushed a commit's frames before its barrier; with
// synchronous=NORMAL it would be published before it is reported.
//
// A process killed with frames in a buffer loses them as it would lose
// frames not yet written: they belong to no acknowledged commit, and
// recovery stops at the last valid commit frame. Every other file (the
// database, journals, temporary files, readers' connections) is the unix
// VFS's, but for the database's xShmBarrier, xShmLock, xUnlock and
// xFileControl (which flush) and xClose.

// walVFSName is the name the writer's DSN selects the VFS by.
const walVFSName = "rotor-wal"

// walBufSize bounds the bytes a WAL buffer holds (31 frames of 4 KiB
// pages), and so one write: SQLite's unix VFS writes at most 128 KiB - 1
// bytes a system call (seekAndWriteFd masks the length with 0x1ffff).
// A larger transaction takes several writes.
const walBufSize = 1<<17 - 1

var (
	walVFSOnce sync.Once
	walVFSErr  error

	baseVFS  uintptr // the unix VFS
	baseOpen uintptr // its xOpen

	walFiles sync.Map // pFile (uintptr) -> *walBuf: WAL files open through walVFS
	dbFiles  sync.Map // pFile (uintptr) -> string: database files open through walVFS, and their names
)

// cmem returns the pointer whose address p holds. modernc.org/sqlite, being
// transpiled C, passes every pointer as a uintptr; cmem is only given
// addresses of memory Go's garbage collector neither moves nor frees while
// they are in use: C memory (from libc.Xmalloc or SQLite's allocator, and
// the transpiled library's static tables). Converting such an address back to a pointer is safe; go vet cannot know
// that of a uintptr, so the conversion is written as a reinterpretation of
// the variable rather than a conversion of its value.
func cmem(p uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }

// fnAddr returns the address the transpiled C calls f by: the pointer a
// Go func value holds (for a top-level function, static memory).
func fnAddr[F any](f F) uintptr { return *(*uintptr)(unsafe.Pointer(&f)) }

// registerWalVFS registers walVFSName once per process.
func registerWalVFS() error {
	walVFSOnce.Do(func() {
		tls := libc.NewTLS()
		defer tls.Close()
		baseVFS = sqlite3.Xsqlite3_vfs_find(tls, 0)
		if baseVFS == 0 {
			walVFSErr = errNoBaseVFS
			return
		}
		// The VFS and its name are C memory, never freed: SQLite keeps
		// them in its list of VFSes.
		p := libc.Xmalloc(tls, types.Size_t(unsafe.Sizeof(sqlite3.Tsqlite3_vfs{})))
		name, err := libc.CString(walVFSName)
		if p == 0 || err != nil {
			walVFSErr = errNoMemVFS
			return
		}
		vfs := (*sqlite3.Tsqlite3_vfs)(cmem(p))
		*vfs = *(*sqlite3.Tsqlite3_vfs)(cmem(baseVFS))
		vfs.FzName = name
		vfs.FpNext = 0
		baseOpen = vfs.FxOpen
		vfs.FxOpen = fnAddr(walOpen)
		if rc := sqlite3.Xsqlite3_vfs_register(tls, p, 0); rc != sqlite3.SQLITE_OK {
			walVFSErr = errRegisterVFS
		}
	})
	return walVFSErr
}

type vfsError string

func (e vfsError) Error() string { return string(e) }

const (
	errNoBaseVFS   = vfsError("sqlite: no default VFS to extend")
	errNoMemVFS    = vfsError("sqlite: no memory for the writer's VFS")
	errRegisterVFS = vfsError("sqlite: registering the writer's VFS failed")
)

// walOpen is the VFS's xOpen: the unix VFS's, then the database file gets
// the flushing methods and a WAL file its buffer and the buffering methods.
// A WAL whose buffer or methods cannot be allocated keeps the unix methods
// (it is written through), and so does any file opened without methods; a
// database whose methods cannot be allocated is closed, and the open fails
// with SQLITE_NOMEM (its WAL would be buffered without flushing barriers).
func walOpen(tls *libc.TLS, pVfs, zName, pFile uintptr, flags int32, pOutFlags uintptr) int32 {
	rc := (*(*func(*libc.TLS, uintptr, uintptr, uintptr, int32, uintptr) int32)(unsafe.Pointer(&baseOpen)))(tls, baseVFS, zName, pFile, flags, pOutFlags)
	f := (*sqlite3.Tsqlite3_file)(cmem(pFile))
	if rc != sqlite3.SQLITE_OK || f.FpMethods == 0 || zName == 0 {
		return rc
	}
	switch {
	case flags&sqlite3.SQLITE_OPEN_MAIN_DB != 0:
		m := wrapped(tls, f.FpMethods, false)
		if m == 0 {
			fp := f.FpMethods
			(*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&(*sqlite3.Tsqlite3_io_methods)(cmem(fp)).FxClose)))(tls, pFile)
			f.FpMethods = 0
			return sqlite3.SQLITE_NOMEM
		}
		dbFiles.Store(pFile, libc.GoString(zName))
		f.FpMethods = m
	case flags&sqlite3.SQLITE_OPEN_WAL != 0:
		m := wrapped(tls, f.FpMethods, true)
		if m == 0 {
			return rc
		}
		mem := libc.Xmalloc(tls, walBufSize)
		if mem == 0 {
			return rc
		}
		walFiles.Store(pFile, &walBuf{
			db:   libc.GoString(sqlite3.Xsqlite3_filename_database(tls, zName)),
			file: pFile,
			base: (*sqlite3.Tsqlite3_io_methods)(cmem(f.FpMethods)),
			mem:  mem,
		})
		f.FpMethods = m
	}
	return rc
}

// ioMethods is a methods table extending a unix one. SQLite files point at
// its first field, so a file's pMethods is also the address of the
// ioMethods.
type ioMethods struct {
	m    sqlite3.Tsqlite3_io_methods
	base uintptr // the unix table
}

var (
	wrapMu sync.Mutex
	// wrappers holds every methods table made, one per unix table and
	// kind of file, for the process's life. They are C memory, not Go
	// objects: SQLite's file structures point at them, and the transpiled
	// C converts that uintptr back to a pointer, which checkptr (on with
	// -race) refuses for an address in Go's heap; and C memory needs no
	// reference from Go to stay alive, the garbage collector not scanning
	// the C memory that points at it.
	wrappers = map[[2]uintptr]uintptr{} // (base methods, wal) -> its extension
)

// wrapped returns the methods table extending base (a unix table): the
// WAL's, buffering, or the database's, flushing; 0 if there is no memory
// for it.
func wrapped(tls *libc.TLS, base uintptr, wal bool) uintptr {
	wrapMu.Lock()
	defer wrapMu.Unlock()
	key := [2]uintptr{base, 0}
	if wal {
		key[1] = 1
	}
	p, ok := wrappers[key]
	if !ok {
		if p = libc.Xmalloc(tls, types.Size_t(unsafe.Sizeof(ioMethods{}))); p == 0 {
			return 0
		}
		w := (*ioMethods)(cmem(p))
		w.m = *(*sqlite3.Tsqlite3_io_methods)(cmem(base))
		w.base = base
		m := &w.m
		m.FxClose = fnAddr(dbClose)
		if wal {
			m.FxClose = fnAddr(walClose)
			m.FxWrite = fnAddr(walWrite)
			m.FxRead = fnAddr(walRead)
			m.FxSync = fnAddr(walSync)
			m.FxTruncate = fnAddr(walTruncate)
			m.FxFileSize = fnAddr(walFileSize)
		} else {
			m.FxUnlock = fnAddr(dbUnlock)
			m.FxFileControl = fnAddr(dbFileControl)
			if m.FxShmBarrier != 0 {
				m.FxShmBarrier = fnAddr(dbShmBarrier)
			}
			if m.FxShmLock != 0 {
				m.FxShmLock = fnAddr(dbShmLock)
			}
		}
		wrappers[key] = p
	}
	return p
}

// baseOf returns the unix methods of a file that has an ioMethods.
func baseOf(pFile uintptr) *sqlite3.Tsqlite3_io_methods {
	return (*sqlite3.Tsqlite3_io_methods)(cmem((*ioMethods)(cmem((*sqlite3.Tsqlite3_file)(cmem(pFile)).FpMethods)).base))
}

// walBuf is the buffer of one WAL file open through walVFS. mu serialises
// every call into the file's unix methods: SQLite calls them from its
// connection's goroutine, and barriers and unlocks of other connections of
// the database flush the buffer from theirs.
type walBuf struct {
	db   string                       // the database's file name
	file uintptr                      // the sqlite3_file
	base *sqlite3.Tsqlite3_io_methods // its unix methods

	pending atomic.Bool // n > 0, read without mu by flushDB

	mu     sync.Mutex
	mem    uintptr // walBufSize bytes of C memory; 0 once closed
	off    int64   // file offset of mem[0]
	n      int     // bytes held
	err    int32   // a failed flush not yet returned to SQLite
	calls  int64   // xWrite calls SQLite made
	writes int64   // the unix xWrite calls they took
}

// bufOf returns the buffer of a WAL file. Its methods are installed only
// after its buffer is stored, which is deleted only by xClose, after which
// SQLite makes no call on the file.
func bufOf(pFile uintptr) *walBuf {
	b, _ := walFiles.Load(pFile)
	return b.(*walBuf)
}

func callWrite(tls *libc.TLS, fp, pFile, pBuf uintptr, amt int32, off int64) int32 {
	return (*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&fp)))(tls, pFile, pBuf, amt, off)
}

// flush writes b's bytes to the file and empties b, whether the write
// succeeds or not; b.mu is held.
func (b *walBuf) flush(tls *libc.TLS) int32 {
	if b.n == 0 {
		return sqlite3.SQLITE_OK
	}
	rc := callWrite(tls, b.base.FxWrite, b.file, b.mem, int32(b.n), b.off)
	b.writes++
	b.n = 0
	b.pending.Store(false)
	return rc
}

// takeErr returns, and forgets, a failed flush SQLite has not been told
// of; b.mu is held.
func (b *walBuf) takeErr() int32 {
	rc := b.err
	b.err = sqlite3.SQLITE_OK
	return rc
}

// flushDB flushes every buffered WAL of the database file pDb, keeping a
// failure for the WAL's next call (see takeErr).
func flushDB(tls *libc.TLS, pDb uintptr) {
	v, ok := dbFiles.Load(pDb)
	if !ok {
		return
	}
	name := v.(string)
	walFiles.Range(func(_, v any) bool {
		// pending is false for all but a WAL of this database with bytes
		// written by its own connection, which (when pDb is that
		// connection's database) is this goroutine: no frame it must
		// flush is missed.
		if b := v.(*walBuf); b.pending.Load() && b.db == name {
			b.mu.Lock()
			if rc := b.flush(tls); rc != sqlite3.SQLITE_OK && b.err == sqlite3.SQLITE_OK {
				b.err = rc
			}
			b.mu.Unlock()
		}
		return true
	})
}

func walWrite(tls *libc.TLS, pFile, pBuf uintptr, amt int32, off int64) int32 {
	b := bufOf(pFile)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	if rc := b.takeErr(); rc != sqlite3.SQLITE_OK {
		return rc
	}
	if b.n > 0 && (off != b.off+int64(b.n) || b.n+int(amt) > walBufSize) {
		if rc := b.flush(tls); rc != sqlite3.SQLITE_OK {
			return rc
		}
	}
	if int(amt) > walBufSize { // never, with pages of at most 64 KiB
		b.writes++
		return callWrite(tls, b.base.FxWrite, pFile, pBuf, amt, off)
	}
	if b.n == 0 {
		b.off = off
		b.pending.Store(true)
	}
	copy(unsafe.Slice((*byte)(cmem(b.mem+uintptr(b.n))), amt), unsafe.Slice((*byte)(cmem(pBuf)), amt))
	b.n += int(amt)
	return sqlite3.SQLITE_OK
}

func walRead(tls *libc.TLS, pFile, pBuf uintptr, amt int32, off int64) int32 {
	b := bufOf(pFile)
	b.mu.Lock()
	defer b.mu.Unlock()
	if rc := b.takeErr(); rc != sqlite3.SQLITE_OK {
		return rc
	}
	if b.n > 0 && off < b.off+int64(b.n) && off+int64(amt) > b.off {
		if rc := b.flush(tls); rc != sqlite3.SQLITE_OK {
			return rc
		}
	}
	fp := b.base.FxRead
	return (*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&fp)))(tls, pFile, pBuf, amt, off)
}

// flushed locks pFile's buffer and flushes it, returning the buffer (to
// unlock) and a failure of this flush or one not yet reported.
func flushed(tls *libc.TLS, pFile uintptr) (*walBuf, int32) {
	b := bufOf(pFile)
	b.mu.Lock()
	if rc := b.takeErr(); rc != sqlite3.SQLITE_OK {
		return b, rc
	}
	return b, b.flush(tls)
}

func walSync(tls *libc.TLS, pFile uintptr, flags int32) int32 {
	b, rc := flushed(tls, pFile)
	defer b.mu.Unlock()
	if rc != sqlite3.SQLITE_OK {
		return rc
	}
	fp := b.base.FxSync
	return (*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&fp)))(tls, pFile, flags)
}

func walTruncate(tls *libc.TLS, pFile uintptr, size int64) int32 {
	b, rc := flushed(tls, pFile)
	defer b.mu.Unlock()
	if rc != sqlite3.SQLITE_OK {
		return rc
	}
	fp := b.base.FxTruncate
	return (*(*func(*libc.TLS, uintptr, int64) int32)(unsafe.Pointer(&fp)))(tls, pFile, size)
}

func walFileSize(tls *libc.TLS, pFile, pSize uintptr) int32 {
	b, rc := flushed(tls, pFile)
	defer b.mu.Unlock()
	if rc != sqlite3.SQLITE_OK {
		return rc
	}
	fp := b.base.FxFileSize
	return (*(*func(*libc.TLS, uintptr, uintptr) int32)(unsafe.Pointer(&fp)))(tls, pFile, pSize)
}

// walClose flushes and frees the buffer, then closes the file, returning
// the first failure. A flushDB that found b before it left walFiles finds
// it empty.
func walClose(tls *libc.TLS, pFile uintptr) int32 {
	b := bufOf(pFile)
	b.mu.Lock()
	defer b.mu.Unlock()
	rc := b.takeErr()
	if frc := b.flush(tls); rc == sqlite3.SQLITE_OK {
		rc = frc
	}
	libc.Xfree(tls, b.mem)
	b.mem = 0
	walFiles.Delete(pFile)
	fp := b.base.FxClose
	if crc := (*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&fp)))(tls, pFile); rc == sqlite3.SQLITE_OK {
		rc = crc
	}
	return rc
}

func dbShmBarrier(tls *libc.TLS, pFile uintptr) {
	flushDB(tls, pFile)
	fp := baseOf(pFile).FxShmBarrier
	(*(*func(*libc.TLS, uintptr))(unsafe.Pointer(&fp)))(tls, pFile)
}

func dbShmLock(tls *libc.TLS, pFile uintptr, ofst, n, flags int32) int32 {
	if flags&sqlite3.SQLITE_SHM_UNLOCK != 0 && flags&sqlite3.SQLITE_SHM_EXCLUSIVE != 0 {
		flushDB(tls, pFile)
	}
	fp := baseOf(pFile).FxShmLock
	return (*(*func(*libc.TLS, uintptr, int32, int32, int32) int32)(unsafe.Pointer(&fp)))(tls, pFile, ofst, n, flags)
}

func dbClose(tls *libc.TLS, pFile uintptr) int32 {
	fp := baseOf(pFile).FxClose
	dbFiles.Delete(pFile)
	return (*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&fp)))(tls, pFile)
}

// dbUnlock flushes the database's WAL buffers before it lowers the lock of
// the database file: in locking_mode=EXCLUSIVE that lock, not the -shm
// locks, keeps other connections from writing the WAL.
func dbUnlock(tls *libc.TLS, pFile uintptr, eLock int32) int32 {
	flushDB(tls, pFile)
	fp := baseOf(pFile).FxUnlock
	return (*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&fp)))(tls, pFile, eLock)
}

// dbFileControl flushes the database's WAL buffers as a commit ends
// (SQLITE_FCNTL_COMMIT_PHASETWO), then passes every operation on.
func dbFileControl(tls *libc.TLS, pFile uintptr, op int32, pArg uintptr) int32 {
	if op == sqlite3.SQLITE_FCNTL_COMMIT_PHASETWO {
		flushDB(tls, pFile)
	}
	fp := baseOf(pFile).FxFileControl
	return (*(*func(*libc.TLS, uintptr, int32, uintptr) int32)(unsafe.Pointer(&fp)))(tls, pFile, op, pArg)
}
