package pgsecret

// A small database/sql driver over *pgx.Conn. pgx's own adapter
// (github.com/jackc/pgx/v5/stdlib) imports pgxpool and so needs
// github.com/jackc/puddle/v2, which this module does not require; this file
// follows the same design (intrinsic types in binary format, everything else
// as text; prepared statements reference-counted per connection) for what
// database/sql needs.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"reflect"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// Driver is a database/sql driver for PostgreSQL over pgx. Open takes a
// pgx connection string (URL or keyword/value); it is there to satisfy
// driver.Driver, applications open connections through a Connector.
type Driver struct{}

var _ driver.Driver = Driver{}

// Open opens one connection from a pgx connection string, within 60 s.
func (Driver) Open(name string) (driver.Conn, error) {
	cfg, err := pgx.ParseConfig(name)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return connect(ctx, cfg)
}

// resultFormats asks for binary results only for the types conn.go
// converts itself; every other type comes back as text and is returned as
// a string.
var resultFormats = pgx.QueryResultFormatsByOID{
	pgtype.BoolOID: pgx.BinaryFormatCode, pgtype.ByteaOID: pgx.BinaryFormatCode,
	pgtype.Float4OID: pgx.BinaryFormatCode, pgtype.Float8OID: pgx.BinaryFormatCode,
	pgtype.Int2OID: pgx.BinaryFormatCode, pgtype.Int4OID: pgx.BinaryFormatCode, pgtype.Int8OID: pgx.BinaryFormatCode,
	pgtype.DateOID: pgx.BinaryFormatCode, pgtype.TimestampOID: pgx.BinaryFormatCode,
	pgtype.TimestamptzOID: pgx.BinaryFormatCode,
}

// conn is one database/sql connection.
type conn struct {
	pc        *pgx.Conn
	lastReset time.Time
	stmtRefs  map[*pgconn.StatementDescription]int
}

var (
	_ driver.Conn               = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
	_ driver.NamedValueChecker  = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.Validator          = (*conn)(nil)
)

// connect opens a pgx connection and wraps it.
func connect(ctx context.Context, cfg *pgx.ConnConfig) (*conn, error) {
	pc, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &conn{pc: pc, lastReset: time.Now(), stmtRefs: make(map[*pgconn.StatementDescription]int)}, nil
}

func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if c.pc.IsClosed() {
		return nil, driver.ErrBadConn
	}
	sd, err := c.pc.Prepare(ctx, query, query)
	if err != nil {
		return nil, err
	}
	c.stmtRefs[sd]++
	return &stmt{sd: sd, c: c}, nil
}

func (c *conn) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.pc.Close(ctx)
}

func (c *conn) Begin() (driver.Tx, error) { return c.BeginTx(context.Background(), driver.TxOptions{}) }

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if c.pc.IsClosed() {
		return nil, driver.ErrBadConn
	}
	var o pgx.TxOptions
	switch sql.IsolationLevel(opts.Isolation) {
	case sql.LevelDefault:
	case sql.LevelReadUncommitted:
		o.IsoLevel = pgx.ReadUncommitted
	case sql.LevelReadCommitted:
		o.IsoLevel = pgx.ReadCommitted
	case sql.LevelRepeatableRead, sql.LevelSnapshot:
		o.IsoLevel = pgx.RepeatableRead
	case sql.LevelSerializable:
		o.IsoLevel = pgx.Serializable
	default:
		return nil, fmt.Errorf("pgsecret: unsupported isolation level %v", sql.IsolationLevel(opts.Isolation))
	}
	if opts.ReadOnly {
		o.AccessMode = pgx.ReadOnly
	}
	tx, err := c.pc.BeginTx(ctx, o)
	if err != nil {
		return nil, err
	}
	return txn{ctx: ctx, tx: tx}, nil
}

func (c *conn) ExecContext(ctx context.Context, query string, named []driver.NamedValue) (driver.Result, error) {
	if c.pc.IsClosed() {
		return nil, driver.ErrBadConn
	}
	tag, err := c.pc.Exec(ctx, query, args(named)...)
	if err != nil {
		if pgconn.SafeToRetry(err) {
			return nil, driver.ErrBadConn
		}
		return nil, err
	}
	return driver.RowsAffected(tag.RowsAffected()), nil
}

func (c *conn) QueryContext(ctx context.Context, query string, named []driver.NamedValue) (driver.Rows, error) {
	if c.pc.IsClosed() {
		return nil, driver.ErrBadConn
	}
	rs, err := c.pc.Query(ctx, query, append([]any{resultFormats}, args(named)...)...)
	if err != nil {
		if pgconn.SafeToRetry(err) {
			return nil, driver.ErrBadConn
		}
		return nil, err
	}
	// Read the first row now: database/sql asks for the columns before
	// Next, and errors of the statement itself surface here.
	more := rs.Next()
	if err := rs.Err(); err != nil {
		rs.Close()
		return nil, err
	}
	return &rows{c: c, rs: rs, first: true, firstMore: more}, nil
}

func (c *conn) Ping(ctx context.Context) error {
	if c.pc.IsClosed() {
		return driver.ErrBadConn
	}
	if err := c.pc.Ping(ctx); err != nil {
		c.Close()
		return driver.ErrBadConn
	}
	return nil
}

// CheckNamedValue passes every argument to pgx, which handles
// driver.Valuer and its own types.
func (c *conn) CheckNamedValue(*driver.NamedValue) error { return nil }

// ResetSession discards a connection left inside a transaction and pings
// one idle for more than a second.
func (c *conn) ResetSession(ctx context.Context) error {
	if c.pc.IsClosed() || c.pc.PgConn().TxStatus() != 'I' {
		return driver.ErrBadConn
	}
	now := time.Now()
	if now.Sub(c.lastReset) > time.Second {
		if err := c.pc.PgConn().Ping(ctx); err != nil {
			return driver.ErrBadConn
		}
	}
	c.lastReset = now
	return nil
}

func (c *conn) IsValid() bool { return !c.pc.IsClosed() }

// args converts database/sql arguments for pgx.
func args(named []driver.NamedValue) []any {
	out := make([]any, len(named))
	for i, v := range named {
		out[i] = v.Value
	}
	return out
}

type stmt struct {
	sd *pgconn.StatementDescription
	c  *conn
}

var (
	_ driver.StmtExecContext  = (*stmt)(nil)
	_ driver.StmtQueryContext = (*stmt)(nil)
)

func (s *stmt) Close() error {
	if s.c.stmtRefs[s.sd] > 1 {
		s.c.stmtRefs[s.sd]--
		return nil
	}
	delete(s.c.stmtRefs, s.sd)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.c.pc.Deallocate(ctx, s.sd.SQL)
}

func (s *stmt) NumInput() int { return len(s.sd.ParamOIDs) }

func (s *stmt) Exec([]driver.Value) (driver.Result, error) {
	return nil, errors.New("pgsecret: Stmt.Exec is not supported; use ExecContext")
}

func (s *stmt) Query([]driver.Value) (driver.Rows, error) {
	return nil, errors.New("pgsecret: Stmt.Query is not supported; use QueryContext")
}

func (s *stmt) ExecContext(ctx context.Context, named []driver.NamedValue) (driver.Result, error) {
	return s.c.ExecContext(ctx, s.sd.SQL, named)
}

func (s *stmt) QueryContext(ctx context.Context, named []driver.NamedValue) (driver.Rows, error) {
	return s.c.QueryContext(ctx, s.sd.SQL, named)
}

type rows struct {
	c         *conn
	rs        pgx.Rows
	first     bool // the first row was read by QueryContext
	firstMore bool
	names     []string
	convert   []func([]byte) (driver.Value, error)
}

var _ driver.RowsColumnTypeScanType = (*rows)(nil)

func (r *rows) Columns() []string {
	if r.names == nil {
		fds := r.rs.FieldDescriptions()
		r.names = make([]string, len(fds))
		for i, fd := range fds {
			r.names[i] = fd.Name
		}
	}
	return r.names
}

func (r *rows) Close() error {
	r.rs.Close()
	return r.rs.Err()
}

// ColumnTypeScanType returns the Go type a column's values have.
func (r *rows) ColumnTypeScanType(i int) reflect.Type {
	switch r.rs.FieldDescriptions()[i].DataTypeOID {
	case pgtype.BoolOID:
		return reflect.TypeFor[bool]()
	case pgtype.ByteaOID:
		return reflect.TypeFor[[]byte]()
	case pgtype.Float4OID, pgtype.Float8OID:
		return reflect.TypeFor[float64]()
	case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID:
		return reflect.TypeFor[int64]()
	case pgtype.DateOID, pgtype.TimestampOID, pgtype.TimestamptzOID:
		return reflect.TypeFor[time.Time]()
	default:
		return reflect.TypeFor[string]()
	}
}

func (r *rows) Next(dest []driver.Value) error {
	if r.convert == nil {
		r.initConvert()
	}
	more := r.firstMore
	if r.first {
		r.first = false
	} else {
		more = r.rs.Next()
	}
	if !more {
		if err := r.rs.Err(); err != nil {
			return err
		}
		return io.EOF
	}
	for i, raw := range r.rs.RawValues() {
		if raw == nil {
			dest[i] = nil
			continue
		}
		v, err := r.convert[i](raw)
		if err != nil {
			return fmt.Errorf("pgsecret: convert column %d: %w", i, err)
		}
		dest[i] = v
	}
	return nil
}

// initConvert plans the conversion of each column to a driver.Value.
func (r *rows) initConvert() {
	m := r.c.pc.TypeMap()
	fds := r.rs.FieldDescriptions()
	r.convert = make([]func([]byte) (driver.Value, error), len(fds))
	for i, fd := range fds {
		oid, format := fd.DataTypeOID, fd.Format
		switch oid {
		case pgtype.BoolOID:
			r.convert[i] = plan[bool](m, oid, format, func(v bool) (driver.Value, error) { return v, nil })
		case pgtype.ByteaOID:
			r.convert[i] = plan[[]byte](m, oid, format, func(v []byte) (driver.Value, error) { return v, nil })
		case pgtype.Float4OID, pgtype.Float8OID:
			r.convert[i] = plan[float64](m, oid, format, func(v float64) (driver.Value, error) { return v, nil })
		case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID:
			r.convert[i] = plan[int64](m, oid, format, func(v int64) (driver.Value, error) { return v, nil })
		case pgtype.DateOID:
			r.convert[i] = plan[pgtype.Date](m, oid, format, func(v pgtype.Date) (driver.Value, error) { return v.Value() })
		case pgtype.TimestampOID:
			r.convert[i] = plan[pgtype.Timestamp](m, oid, format, func(v pgtype.Timestamp) (driver.Value, error) { return v.Value() })
		case pgtype.TimestamptzOID:
			r.convert[i] = plan[pgtype.Timestamptz](m, oid, format, func(v pgtype.Timestamptz) (driver.Value, error) { return v.Value() })
		default:
			r.convert[i] = plan[string](m, oid, format, func(v string) (driver.Value, error) { return v, nil })
		}
	}
}

// plan returns a function that decodes a raw column value into a T with
// pgx's scan plan and converts it with out.
func plan[T any](m *pgtype.Map, oid uint32, format int16, out func(T) (driver.Value, error)) func([]byte) (driver.Value, error) {
	var v T
	p := m.PlanScan(oid, format, &v)
	return func(src []byte) (driver.Value, error) {
		var zero T
		v = zero
		if err := p.Scan(src, &v); err != nil {
			return nil, err
		}
		return out(v)
	}
}

type txn struct {
	ctx context.Context
	tx  pgx.Tx
}

func (t txn) Commit() error   { return t.tx.Commit(t.ctx) }
func (t txn) Rollback() error { return t.tx.Rollback(t.ctx) }
