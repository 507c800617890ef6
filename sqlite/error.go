package sqlite

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/rotorhq/rotor"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// storeError turns an error from database/sql or the driver into a
// *rotor.Error. It is the one place where driver errors are mapped:
//
//   - a *rotor.Error passes through unchanged;
//   - sql.ErrNoRows and a foreign-key violation (a referenced row is
//     missing) become ENOTFOUND;
//   - a primary-key or unique violation becomes EEXISTS;
//   - a trigger abort (the write-once guard) becomes ESTATE;
//   - anything else, context cancellation included, becomes EINTERNAL.
//
// noun names the kind of row ("secret", "version", ...) for the client-safe
// message; op and the driver's text go only into the wrapped cause, which is
// for logs. Messages never contain stored values.
func storeError(err error, noun, op string) error {
	if err == nil {
		return nil
	}
	var re *rotor.Error
	if errors.As(err, &re) {
		return err
	}
	cause := fmt.Errorf("%s: %w", op, err)
	if errors.Is(err, sql.ErrNoRows) {
		return &rotor.Error{Code: rotor.ENOTFOUND, Message: fmt.Sprintf("The %s does not exist.", noun), Err: cause}
	}
	var se *msqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return &rotor.Error{Code: rotor.EEXISTS, Message: fmt.Sprintf("The %s already exists.", noun), Err: cause}
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return &rotor.Error{Code: rotor.ENOTFOUND, Message: fmt.Sprintf("A row the %s refers to does not exist.", noun), Err: cause}
		case sqlite3.SQLITE_CONSTRAINT_TRIGGER:
			return &rotor.Error{Code: rotor.ESTATE, Message: fmt.Sprintf("The %s cannot be changed that way: a stored value is written once.", noun), Err: cause}
		}
	}
	return &rotor.Error{Code: rotor.EINTERNAL, Message: "The database failed to complete the request.", Err: cause}
}

// notFound returns the ENOTFOUND error for a row that a lookup did not find.
func notFound(noun, op string) error {
	return storeError(sql.ErrNoRows, noun, op)
}
