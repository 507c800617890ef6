package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"time"

	"github.com/rotorhq/rotor/internal/migrations"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one numbered schema change.
type migration = migrations.Migration

// loadMigrations returns the embedded migrations in order (see
// migrations.Load for the naming rule).
func loadMigrations() ([]migration, error) {
	return migrations.Load(migrationFS)
}

// migrate applies, in order, every embedded migration that the migrations
// table does not record, each in its own (BEGIN IMMEDIATE) transaction. It
// refuses a database that records a migration this binary does not know,
// that is, one written by a newer version.
func migrate(db *sql.DB) error {
	return migrateTo(db, 0)
}

// migrateTo is migrate up to migration last only (0: all of them); tests
// use it to build a database as an older version left it.
func migrateTo(db *sql.DB, last int) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS migrations (
		version      INTEGER NOT NULL PRIMARY KEY,
		name         TEXT    NOT NULL,
		applied_date BIGINT  NOT NULL
	)`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	var newest int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM migrations`).Scan(&newest); err != nil {
		return fmt.Errorf("read migrations: %w", err)
	}
	if newest > len(ms) {
		return fmt.Errorf("database is at migration %d, this binary knows only %d: it was written by a newer version", newest, len(ms))
	}
	for _, m := range ms {
		if last > 0 && m.Version > last {
			break
		}
		if err := apply(ctx, db, m); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	return nil
}

func apply(ctx context.Context, db *sql.DB, m migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO migrations (version, name, applied_date) VALUES (?, ?, ?)`,
		m.Version, m.Name, time.Now().UnixNano()); err != nil {
		return err
	}
	return tx.Commit()
}
