package sqlite_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/sqlite"
)

// TestMigrateListsBackfillsTagText opens a database that has migrations
// 0001 and 0002 and tagged secrets, as an older Rotor left it: Open fills
// tag_text for the existing tags, so tag filters (which rule rows out by
// tag_text) still find them, and negated ones leave them out.
func TestMigrateListsBackfillsTagText(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rotor.db")
	db := mustRaw(t, path)
	stmts := []string{`CREATE TABLE migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_date BIGINT NOT NULL)`}
	for i, name := range []string{"0001_init.sql", "0002_runs.sql"} {
		b, err := os.ReadFile(filepath.Join("migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		stmts = append(stmts, string(b),
			`INSERT INTO migrations (version, name, applied_date) VALUES (`+string(rune('1'+i))+`, '`+name+`', 1)`)
	}
	stmts = append(stmts,
		`INSERT INTO secrets (arn, region, name, created_date) VALUES ('`+arn+`', 'us-east-1', 'fixture', 1)`,
		`INSERT INTO tags (secret_arn, position, key, value) VALUES ('`+arn+`', 0, 'team', 'core'), ('`+arn+`', 1, 'env', 'prod')`)
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("building the old database: %v", err)
		}
	}
	db.Close()

	s := mustOpen(t, path)
	for _, tc := range []struct {
		f    rotor.PrefixFilter
		want []string
	}{
		{rotor.PrefixFilter{Key: rotor.FilterTagKey, Values: []rotor.PrefixValue{{Prefix: "en"}}}, []string{"fixture"}},
		{rotor.PrefixFilter{Key: rotor.FilterTagValue, Values: []rotor.PrefixValue{{Prefix: "core"}}}, []string{"fixture"}},
		{rotor.PrefixFilter{Key: rotor.FilterTagKey, Values: []rotor.PrefixValue{{Prefix: "team", Negate: true}}}, nil},
	} {
		view(t, s, func(tx rotor.Tx) error {
			got, err := tx.ListSecrets(rotor.SecretQuery{Region: "us-east-1", Filters: []rotor.PrefixFilter{tc.f}, SortBy: rotor.SortByName, Limit: 10})
			if err != nil {
				return err
			}
			var names []string
			for _, r := range got {
				names = append(names, r.Name)
			}
			if !slices.Equal(names, tc.want) {
				t.Errorf("ListSecrets(%+v) after migrating = %q, want %q", tc.f, names, tc.want)
			}
			return nil
		})
	}
}

// TestListRotationPlan: a listing by name with the rotation filter is one
// range scan of secrets_list_rotation, in the index's order (no sort),
// from the cursor on, with or without a name prefix.
func TestListRotationPlan(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "rotor.db"))
	for _, q := range []rotor.SecretQuery{
		{Region: "us-east-1", Rotation: rotor.RotationOn, SortBy: rotor.SortByName, Limit: 51},
		{Region: "us-east-1", Rotation: rotor.RotationOff, SortBy: rotor.SortByName, Limit: 51, Desc: true,
			After: &rotor.SecretCursor{Name: "m", ARN: "arn"}},
	} {
		plan, err := sqlite.ListSecretsPlan(s, q)
		if err != nil {
			t.Fatal(err)
		}
		p := strings.Join(plan, "\n")
		if !strings.Contains(p, "USING INDEX secrets_list_rotation (region=? AND rotation_enabled=?") || strings.Contains(p, "TEMP B-TREE") {
			t.Errorf("ListSecrets(rotation %s, desc %v) plan:\n%s\nwant a range scan of secrets_list_rotation without a sort", q.Rotation, q.Desc, p)
		}
	}
}

// TestLatestFailedRunsPlan: a page of the latest failed runs is a range
// scan of rotation_runs_region_status in its order (no sort) from the
// cursor, each run's later runs looked up by its secret.
func TestLatestFailedRunsPlan(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "rotor.db"))
	for _, after := range []*rotor.RunCursor{nil, {Created: time.Unix(5, 0), ID: "r"}} {
		plan, err := sqlite.LatestFailedRunsPlan(s, after)
		if err != nil {
			t.Fatal(err)
		}
		p := strings.Join(plan, "\n")
		if !strings.Contains(p, "SEARCH f USING INDEX rotation_runs_region_status (region=? AND status=?") ||
			!strings.Contains(p, "SEARCH l USING INDEX rotation_runs_secret_created (secret_arn=? AND created>?)") || strings.Contains(p, "TEMP B-TREE") {
			t.Errorf("LatestFailedRuns(after %v) plan:\n%s\nwant range scans of rotation_runs_region_status and rotation_runs_secret_created, no sort", after, p)
		}
	}
}
