package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/postgres"
	"github.com/rotorhq/rotor/sqlite"
)

// Store kinds, chosen by the store setting.
const (
	storeSQLite   = "sqlite"   // store = "": SQLite in the data directory
	storePostgres = "postgres" // store = postgres://... or postgresql://...
)

// storeKind returns which backend the store setting selects, or an error
// saying what is wrong with it. The error never repeats the setting, which
// may hold a password.
func storeKind(setting string) (string, error) {
	if setting == "" {
		return storeSQLite, nil
	}
	u, err := url.Parse(setting)
	if err != nil {
		return "", errors.New("store is not a URL: give postgres://user:password@host:5432/database, or leave it empty for SQLite in the data directory")
	}
	switch u.Scheme {
	case "postgres", "postgresql":
		return storePostgres, nil
	}
	return "", fmt.Errorf("store: scheme %q is not supported: give postgres://user:password@host:5432/database (or postgresql://), or leave it empty for SQLite in the data directory", u.Scheme)
}

// storeName is how messages name the store: the SQLite file, or the
// database URL with its password replaced by xxxxx.
func (c *Config) storeName() string {
	if c.Store == "" {
		return c.DatabasePath()
	}
	if u, err := url.Parse(c.Store); err == nil {
		return u.Redacted()
	}
	return "the store"
}

// sharedStore reports whether the configured store is a database several
// servers may share (every backend but SQLite).
func (c *Config) sharedStore() bool { return c.Store != "" }

// openStore opens the store c selects. For SQLite it also returns the
// *sqlite.Store (for its statistics); nil for another backend. log gets
// the store's own messages (nil: none).
func openStore(ctx context.Context, c *Config, log *slog.Logger) (rotor.Store, *sqlite.Store, error) {
	kind, err := storeKind(c.Store)
	if err != nil {
		return nil, nil, err
	}
	switch kind {
	case storePostgres:
		st, err := postgres.Open(ctx, c.Store, postgres.Options{Logger: log})
		if err != nil {
			return nil, nil, fmt.Errorf("open store %s: %w", c.storeName(), err)
		}
		return st, nil, nil
	}
	if log != nil {
		// A migration of a large database (after an upgrade) can take a
		// minute: say what the wait is.
		log.Info("opening database; schema migrations it lacks run now", "path", c.DatabasePath())
	}
	start := time.Now()
	st, err := sqlite.OpenWith(c.DatabasePath(), sqlite.Options{MmapSize: c.Database.MmapBytes})
	if err != nil {
		return nil, nil, fmt.Errorf("open database: %w", err)
	}
	if log != nil {
		log.Info("database open", "took", time.Since(start).Round(time.Millisecond))
	}
	return st, st, nil
}
