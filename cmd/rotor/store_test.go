package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStoreSetting: the store is chosen by --store, ROTOR_STORE or the
// config file's store key, with the usual precedence, and names the
// backend by its URL scheme.
func TestStoreSetting(t *testing.T) {
	file := filepath.Join(t.TempDir(), "rotor.toml")
	os.WriteFile(file, []byte("store = \"postgresql://from-file/db\"\n"), 0o600)
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
		kind string
	}{
		{"default", nil, nil, "", storeSQLite},
		{"file", []string{"--config", file}, nil, "postgresql://from-file/db", storePostgres},
		{"env over file", []string{"--config", file}, map[string]string{"ROTOR_STORE": "postgres://from-env/db"}, "postgres://from-env/db", storePostgres},
		{"flag over env", []string{"--store", "postgres://from-flag/db"}, map[string]string{"ROTOR_STORE": "postgres://from-env/db"}, "postgres://from-flag/db", storePostgres},
	} {
		c, err := LoadConfig(tc.args, env(tc.env))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		kind, err := storeKind(c.Store)
		if c.Store != tc.want || kind != tc.kind || err != nil {
			t.Errorf("%s: store %q (%s, %v), want %q (%s)", tc.name, c.Store, kind, err, tc.want, tc.kind)
		}
		if c.sharedStore() != (tc.kind != storeSQLite) {
			t.Errorf("%s: sharedStore = %t", tc.name, c.sharedStore())
		}
	}
}

// TestStoreSettingRefused: a store URL of another scheme, or not a URL, is
// refused at configuration time with a message that names what is
// accepted and never repeats the setting (it may hold a password).
func TestStoreSettingRefused(t *testing.T) {
	for _, bad := range []string{"mysql://root:hunter2@db/rotor", "hunter2", "sqlite:///var/lib/rotor.db", "postgres ://x:hunter2@h/db"} {
		_, err := LoadConfig([]string{"--store", bad}, env(nil))
		if err == nil {
			t.Errorf("--store %q accepted", bad)
			continue
		}
		if !strings.Contains(err.Error(), "postgres://") {
			t.Errorf("--store %q: error %q does not say what is accepted", bad, err)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("--store %q: error %q repeats the password", bad, err)
		}
	}
}

// TestStoreNameRedactsPassword: messages name a database store by its URL
// with the password masked.
func TestStoreNameRedactsPassword(t *testing.T) {
	c := DefaultConfig()
	c.Store = "postgres://rotor:hunter2@db.internal:5432/rotor?sslmode=verify-full"
	got := c.storeName()
	if strings.Contains(got, "hunter2") || !strings.Contains(got, "db.internal:5432/rotor") {
		t.Errorf("storeName = %q", got)
	}
	c.Store = ""
	if got := c.storeName(); got != c.DatabasePath() {
		t.Errorf("storeName for SQLite = %q, want %q", got, c.DatabasePath())
	}
}
