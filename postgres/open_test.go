package postgres_test

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/postgres"
	"github.com/rotorhq/rotor/postgres/pgtest"
)

// TestMigrateConcurrently opens one fresh database from four goroutines at
// once, as servers starting together would: every Open succeeds and each
// migration is applied and recorded once.
func TestMigrateConcurrently(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	const n = 4
	stores := make([]*postgres.Store, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = postgres.Open(context.Background(), dbURL, postgres.Options{})
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Open %d: %v", i, errs[i])
			continue
		}
		defer stores[i].Close()
	}
	conn := pgtest.Connect(t, dbURL)
	rows, err := conn.Query(context.Background(), `SELECT version, count(*) FROM migrations GROUP BY version ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	want := 1
	for rows.Next() {
		var version, times int
		if err := rows.Scan(&version, &times); err != nil {
			t.Fatal(err)
		}
		if version != want || times != 1 {
			t.Errorf("migration %d recorded %d times, want migration %d recorded once", version, times, want)
		}
		want++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if want == 1 {
		t.Fatal("no migration recorded")
	}
	// Every store works on the migrated schema.
	for i, s := range stores {
		if s == nil {
			continue
		}
		if err := s.Update(context.Background(), func(tx rotor.Tx) error {
			return tx.CreateIdentity(&rotor.IdentityRecord{Name: "id" + string(rune('a'+i)), Role: rotor.RoleNone})
		}); err != nil {
			t.Errorf("store %d: %v", i, err)
		}
	}
}

// TestOpenRefusesNewerDatabase checks that a database migrated by a newer
// Rotor is refused rather than used with a schema this binary does not
// know.
func TestOpenRefusesNewerDatabase(t *testing.T) {
	s, dbURL := pgtest.Open(t, postgres.Options{})
	s.Close()
	conn := pgtest.Connect(t, dbURL)
	if _, err := conn.Exec(context.Background(), `INSERT INTO migrations (version, name, applied_date) VALUES (9999, '9999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	_, err := postgres.Open(context.Background(), dbURL, postgres.Options{})
	if err == nil || !strings.Contains(err.Error(), "newer version") {
		t.Fatalf("Open(newer database) = %v, want an error saying it was written by a newer version", err)
	}
}

// TestOpenErrorsHidePassword opens URLs carrying a password that fail in
// each way Open can fail, and checks that neither the message nor the
// whole error text contains the password.
func TestOpenErrorsHidePassword(t *testing.T) {
	const password = "hunter2-Sekrit"
	dbURL, err := url.Parse(pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	withPassword := func(u url.URL) string {
		u.User = url.UserPassword(u.User.Username(), password)
		return u.String()
	}
	unreachable := *dbURL
	unreachable.Host = "127.0.0.1:1"
	syncOff := *dbURL
	syncOff.RawQuery = "synchronous_commit=off"
	cases := []struct {
		what, url, code string
	}{
		{"unreachable server", withPassword(unreachable), rotor.EUNAVAILABLE},
		{"unparsable URL", "postgres://app:" + password + "@127.0.0.1:notaport/db", rotor.EINVALID},
		{"key=value form", "host=127.0.0.1 port=1 user=app password=" + password + " connect_timeout=5", rotor.EUNAVAILABLE},
		{"password in the query", "postgres://app@127.0.0.1:1/db?password=" + password, rotor.EUNAVAILABLE},
		{"synchronous_commit off", withPassword(syncOff), rotor.EINVALID},
	}
	for _, c := range cases {
		_, err := postgres.Open(context.Background(), c.url, postgres.Options{})
		if rotor.ErrorCode(err) != c.code {
			t.Errorf("%s: err = %v, want code %s", c.what, err, c.code)
		}
		if err != nil && (strings.Contains(err.Error(), password) || strings.Contains(rotor.ErrorMessage(err), password)) {
			t.Errorf("%s: the error shows the password: %v", c.what, err)
		}
	}
	// The password a store was opened with is not in what it shows.
	s, err := postgres.Open(context.Background(), withPassword(*dbURL), postgres.Options{})
	if err != nil {
		t.Fatalf("Open with a password (trusted locally): %v", err)
	}
	defer s.Close()
	if r := s.Redacted(); strings.Contains(r, password) || !strings.Contains(r, dbURL.Host) {
		t.Errorf("Redacted() = %q", r)
	}
	if err := s.Backup(context.Background(), t.TempDir()+"/x"); err == nil || strings.Contains(err.Error(), password) ||
		!strings.Contains(rotor.ErrorMessage(err), "pg_dump") {
		t.Errorf("Backup = %v; want EINVALID naming pg_dump, without the password", err)
	}
}

// TestTransactionSettings checks what each transaction runs with: Update
// at READ COMMITTED with synchronous_commit on even when the database's
// default is off, or what the URL asks for; View at REPEATABLE READ, read
// only.
func TestTransactionSettings(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	conn := pgtest.Connect(t, dbURL)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(context.Background(), "ALTER DATABASE "+strings.TrimPrefix(u.Path, "/")+" SET synchronous_commit = off"); err != nil {
		t.Fatal(err)
	}
	settings := func(s *postgres.Store, update bool) map[string]string {
		t.Helper()
		got := map[string]string{}
		run := s.View
		if update {
			run = s.Update
		}
		err := run(context.Background(), func(tx rotor.Tx) error {
			for _, name := range []string{"synchronous_commit", "transaction_isolation", "transaction_read_only"} {
				v, err := postgres.Setting(tx, name)
				if err != nil {
					return err
				}
				got[name] = v
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	open := func(rawURL string) *postgres.Store {
		t.Helper()
		s, err := postgres.Open(context.Background(), rawURL, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	s := open(dbURL)
	if got := settings(s, true); got["synchronous_commit"] != "on" || got["transaction_isolation"] != "read committed" || got["transaction_read_only"] != "off" {
		t.Errorf("Update runs with %v", got)
	}
	if got := settings(s, false); got["transaction_isolation"] != "repeatable read" || got["transaction_read_only"] != "on" {
		t.Errorf("View runs with %v", got)
	}
	q := u.Query()
	q.Set("synchronous_commit", "remote_apply")
	withSetting := *u
	withSetting.RawQuery = q.Encode()
	if got := settings(open(withSetting.String()), true); got["synchronous_commit"] != "remote_apply" {
		t.Errorf("Update with synchronous_commit=remote_apply in the URL runs with %v", got)
	}
}
