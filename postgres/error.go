package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/rotorhq/rotor"
)

// SQLSTATEs the store tells apart.
const (
	sqlstateUniqueViolation     = "23505"
	sqlstateForeignKeyViolation = "23503"
	// sqlstateWriteOnce is raised by the schema's write-once triggers
	// (rotor_value_written_once, migration 0001).
	sqlstateWriteOnce = "RW001"
	// Text the database encoding cannot hold; checkText refuses such
	// strings first, so these are a last line of defence.
	sqlstateCharacterNotInRepertoire = "22021"
	sqlstateUntranslatableCharacter  = "22P05"
)

// storeError turns an error from pgx into a *rotor.Error. It is the one
// place where driver errors are mapped:
//
//   - a *rotor.Error passes through unchanged;
//   - pgx.ErrNoRows and a foreign-key violation (a referenced row is
//     missing) become ENOTFOUND;
//   - a unique violation (SQLSTATE 23505) becomes EEXISTS;
//   - the write-once triggers (SQLSTATE RW001) become ESTATE;
//   - text the database cannot hold (22021, 22P05) becomes EINVALID;
//   - a lost or refused connection (class 08, the server shutting down or
//     not yet accepting connections, too many connections, a network
//     error) becomes EUNAVAILABLE, which clients retry;
//   - anything else, context cancellation included, becomes EINTERNAL.
//
// noun names the kind of row ("secret", "version", ...) for the
// client-safe message; op and the driver's text go only into the wrapped
// cause, which is for logs. Messages never contain stored values.
func storeError(err error, noun, op string) error {
	if err == nil {
		return nil
	}
	var re *rotor.Error
	if errors.As(err, &re) {
		return err
	}
	cause := fmt.Errorf("postgres: %s: %w", op, err)
	if errors.Is(err, pgx.ErrNoRows) {
		return &rotor.Error{Code: rotor.ENOTFOUND, Message: fmt.Sprintf("The %s does not exist.", noun), Err: cause}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case sqlstateUniqueViolation:
			return &rotor.Error{Code: rotor.EEXISTS, Message: fmt.Sprintf("The %s already exists.", noun), Err: cause}
		case sqlstateForeignKeyViolation:
			return &rotor.Error{Code: rotor.ENOTFOUND, Message: fmt.Sprintf("A row the %s refers to does not exist.", noun), Err: cause}
		case sqlstateWriteOnce:
			return &rotor.Error{Code: rotor.ESTATE, Message: fmt.Sprintf("The %s cannot be changed that way: a stored value is written once.", noun), Err: cause}
		case sqlstateCharacterNotInRepertoire, sqlstateUntranslatableCharacter:
			return &rotor.Error{Code: rotor.EINVALID, Message: fmt.Sprintf("The %s holds text this server's PostgreSQL store cannot hold.", noun), Err: cause}
		}
	}
	if unavailable(err) {
		return &rotor.Error{Code: rotor.EUNAVAILABLE, Message: "The database is unavailable; try again.", Err: cause}
	}
	return &rotor.Error{Code: rotor.EINTERNAL, Message: "The database failed to complete the request.", Err: cause}
}

// unavailable reports whether err means the database could not be reached
// or went away, so that the same request may succeed later. Context
// cancellation is not unavailability.
func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case len(pe.Code) == 5 && pe.Code[:2] == "08": // connection exception
			return true
		case pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03": // admin/crash shutdown, cannot connect now
			return true
		case pe.Code == "53300": // too many connections
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || pgconn.SafeToRetry(err)
}

// notFound returns the ENOTFOUND error for a row that a lookup did not find.
func notFound(noun, op string) error {
	return storeError(pgx.ErrNoRows, noun, op)
}

// exists returns the EEXISTS error for a row that an insert found taken.
func exists(noun, op string) error {
	return &rotor.Error{Code: rotor.EEXISTS, Message: fmt.Sprintf("The %s already exists.", noun),
		Err: fmt.Errorf("postgres: %s: already exists", op)}
}

// ctxErr prefers the context's error over the one pgx reports when the
// context has ended, so errors.Is(err, context.Canceled) holds.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w: %w", cerr, err)
	}
	return err
}

// internalError is an EINTERNAL error whose cause is op: err.
func internalError(op string, err error) error {
	return &rotor.Error{Code: rotor.EINTERNAL, Message: "The database failed to complete the request.",
		Err: fmt.Errorf("postgres: %s: %w", op, err)}
}
