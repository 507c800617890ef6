package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/postgres"
	"github.com/rotorhq/rotor/postgres/pgtest"
)

// TestHotReadsUseIndexes checks that each read on the request path (a miss
// of the service's caches) is one statement answered from indexes: with
// sequential scans disabled, PostgreSQL's plan for it contains none, which
// it would if no index could serve the query. (The tables are small, so
// without that setting the planner would rightly prefer scanning them.)
func TestHotReadsUseIndexes(t *testing.T) {
	_, dbURL := pgtest.Open(t, postgres.Options{})
	conn := pgtest.Connect(t, dbURL)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "SET enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	for _, q := range postgres.HotReads {
		rows, err := conn.Query(ctx, "EXPLAIN "+q.Query, q.Args...)
		if err != nil {
			t.Fatalf("%s: %v", q.Method, err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", q.Method, err)
		}
		if p := strings.Join(plan, "\n"); strings.Contains(p, "Seq Scan") || !strings.Contains(p, "Index") {
			t.Errorf("%s is not answered from indexes:\n%s", q.Method, p)
		}
	}
}

// TestListRotationUsesItsIndex: a listing by name with the rotation filter
// is a scan of secrets_list_rotation in its order (no sort), from the
// cursor on, with or without a name prefix. (Sequential scans are off, as
// in TestHotReadsUseIndexes; the unique (region, name) index would do
// without a sort too, but test each secret.)
func TestListRotationUsesItsIndex(t *testing.T) {
	_, dbURL := pgtest.Open(t, postgres.Options{})
	conn := pgtest.Connect(t, dbURL)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "SET enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	for _, q := range []rotor.SecretQuery{
		{Region: "us-east-1", Rotation: rotor.RotationOn, SortBy: rotor.SortByName, Limit: 51},
		{Region: "us-east-1", Rotation: rotor.RotationOff, SortBy: rotor.SortByName, Limit: 51, Desc: true,
			After: &rotor.SecretCursor{Name: "m", ARN: "arn"}},
		{Region: "us-east-1", Rotation: rotor.RotationOn, SortBy: rotor.SortByName, Limit: 51,
			Filters: []rotor.PrefixFilter{{Key: rotor.FilterName, Values: []rotor.PrefixValue{{Prefix: "app/"}}}}},
	} {
		query, args, err := postgres.ListSecretsSQL(q)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := conn.Query(ctx, "EXPLAIN "+query, args...)
		if err != nil {
			t.Fatalf("EXPLAIN %s: %v", query, err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		// The Limit's input is the index scan itself: no sort of the
		// secrets in between (the tags' subplans sort their own rows).
		if p := strings.Join(plan, "\n"); len(plan) < 2 || !strings.Contains(plan[1], "Index Scan") ||
			!strings.Contains(plan[1], "using secrets_list_rotation") {
			t.Errorf("ListSecrets(rotation %s, desc %v, filters %v) plan:\n%s\nwant a scan of secrets_list_rotation without a sort",
				q.Rotation, q.Desc, q.Filters, p)
		}
	}
}

// TestLatestFailedRunsUseIndexes: a page of the latest failed runs scans
// rotation_runs_region_status in its order (no sort) from the cursor, and
// looks each run's later runs up in rotation_runs_secret_created.
func TestLatestFailedRunsUseIndexes(t *testing.T) {
	_, dbURL := pgtest.Open(t, postgres.Options{})
	conn := pgtest.Connect(t, dbURL)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "SET enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	for _, after := range []*rotor.RunCursor{nil, {Created: time.Unix(5, 0), ID: "r"}} {
		query, args := postgres.LatestFailedRunsSQL("us-east-1", after, 50)
		rows, err := conn.Query(ctx, "EXPLAIN "+query, args...)
		if err != nil {
			t.Fatalf("EXPLAIN %s: %v", query, err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		p := strings.Join(plan, "\n")
		if strings.Contains(p, "Seq Scan") || strings.Contains(p, "Sort") || !strings.Contains(p, "rotation_runs_region_status") ||
			!strings.Contains(p, "rotation_runs_secret_created") {
			t.Errorf("LatestFailedRuns(after %v) plan:\n%s\nwant index scans of rotation_runs_region_status and rotation_runs_secret_created, no sort", after, p)
		}
	}
}
