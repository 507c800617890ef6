package postgres_test

import (
	"context"
	"strings"
	"testing"

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
