package postgres

import (
	"context"
	"embed"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rotorhq/rotor/internal/migrations"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrateLockKey is the key of the session-level advisory lock held while
// migrating ("rotor-mg" in ASCII), so that servers starting at once on one
// database apply each migration once, one after the other.
const migrateLockKey int64 = 0x726f746f722d6d67

// migration is one numbered schema change.
type migration = migrations.Migration

// loadMigrations returns the embedded migrations in order (see
// migrations.Load for the naming rule).
func loadMigrations() ([]migration, error) {
	return migrations.Load(migrationFS)
}

// migrate applies, in order, every embedded migration that the migrations
// table does not record, each in its own transaction, on conn (a
// connection of its own, not from the pool). It holds the session
// advisory lock migrateLockKey throughout, so concurrent callers on the
// same database wait for each other and each migration is applied once.
// It refuses a database that records a migration this binary does not
// know, that is, one written by a newer version.
func migrate(ctx context.Context, conn *pgx.Conn) (err error) {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLockKey); err != nil {
		return fmt.Errorf("take the migration lock: %w", err)
	}
	defer func() {
		// Closing the connection releases the lock too; unlock anyway so
		// a caller that keeps conn does not hold it.
		if _, uerr := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrateLockKey); uerr != nil && err == nil {
			err = fmt.Errorf("release the migration lock: %w", uerr)
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS migrations (
		version      INTEGER NOT NULL PRIMARY KEY,
		name         TEXT    NOT NULL,
		applied_date BIGINT  NOT NULL
	)`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	var newest int
	if err := conn.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM migrations`).Scan(&newest); err != nil {
		return fmt.Errorf("read migrations: %w", err)
	}
	if newest > len(ms) {
		return fmt.Errorf("database is at migration %d, this binary knows only %d: it was written by a newer version", newest, len(ms))
	}
	for _, m := range ms[newest:] {
		if err := apply(ctx, conn, m); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	return nil
}

// apply runs one migration and records it, in one transaction. The
// migration's text may hold several statements (and function bodies), so
// it runs through the simple query protocol.
func apply(ctx context.Context, conn *pgx.Conn, m migration) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := conn.PgConn().Exec(ctx, m.SQL).ReadAll(); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO migrations (version, name, applied_date) VALUES ($1, $2, $3)`,
		m.Version, m.Name, time.Now().UnixNano()); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
