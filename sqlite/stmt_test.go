package sqlite_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/sqlite"
)

// TestPreparedQueriesAreIndexed checks that every prepared query (the read
// path of a cache miss among them) is prepared on both pools and reads
// through an index: no full scan of a table.
func TestPreparedQueriesAreIndexed(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "rotor.db"))
	for _, q := range sqlite.PreparedQueries() {
		if !sqlite.Prepared(s, q) {
			t.Errorf("not prepared: %s", q)
		}
		args := make([]any, strings.Count(q, "?"))
		for i := range args {
			args[i] = "x"
		}
		plan, err := sqlite.QueryPlan(s, q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for _, step := range plan {
			// SCAN s reads the one row of the read queries' materialized CTE.
			if strings.HasPrefix(step, "SCAN ") && step != "SCAN sqlite_master" && step != "SCAN s" {
				t.Errorf("full scan %q in plan of %s", step, q)
			}
		}
	}
}

// TestRunSummaryIsIndexed: RunSummary, run on every metrics scrape, counts
// runs from the status index without reading the table, and finds the
// failed runs and their secrets' later runs through indexes.
func TestRunSummaryIsIndexed(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "rotor.db"))
	for i, want := range [][]string{
		{"SCAN rotation_runs USING COVERING INDEX rotation_runs_status_next"},
		{"SEARCH f USING INDEX rotation_runs_status_next (status=?)", "SEARCH l USING INDEX rotation_runs_secret_created (secret_arn=? AND created>?)"},
	} {
		q := sqlite.RunSummaryQueries[i]
		args := make([]any, strings.Count(q, "?"))
		for i := range args {
			args[i] = "x"
		}
		plan, err := sqlite.QueryPlan(s, q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for _, step := range want {
			if !slices.Contains(plan, step) {
				t.Errorf("plan of %s is %q, want a step %q", q, plan, step)
			}
		}
	}
}

// TestSingleStatementReads checks what the joined reads return for the
// shapes the joins must handle: several tags in position order, a secret
// without versions, a placeholder, several labels on one version, and a
// missing secret; in a View and in an Update (the writer's statements).
func TestSingleStatementReads(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "rotor.db"))
	ctx := context.Background()
	now := time.Unix(1700000000, 0).UTC()
	arn := rotor.SecretARN("r", "123456789012", "s", "AbCdEf")
	bare := rotor.SecretARN("r", "123456789012", "bare", "AbCdEf")
	err := s.Update(ctx, func(tx rotor.Tx) error {
		for _, rec := range []*rotor.SecretRecord{
			{ARN: arn, Region: "r", Name: "s", TagsEverSet: true, CreatedDate: now,
				Tags: []rotor.Tag{{Key: "z", Value: "1"}, {Key: "a", Value: "2"}, {Key: "m", Value: ""}}},
			{ARN: bare, Region: "r", Name: "bare", CreatedDate: now},
		} {
			if err := tx.CreateSecret(rec); err != nil {
				return err
			}
		}
		for i, id := range []string{"v1", "v2", "p"} {
			v := &rotor.VersionRecord{ID: id, CreatedDate: now.Add(time.Duration(i) * time.Second)}
			if id != "p" {
				v.Value = &rotor.Sealed{KeyID: "k", WrappedKey: []byte{1}, Ciphertext: []byte(id)}
			}
			if err := tx.CreateVersion(arn, v); err != nil {
				return err
			}
		}
		for stage, id := range map[string]string{"AWSCURRENT": "v2", "B": "v2", "AWSPREVIOUS": "v1", "AWSPENDING": "p"} {
			if err := tx.SetStage(arn, stage, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check := func(tx rotor.Tx) error {
		rec, err := tx.SecretByName("r", "s")
		if err != nil {
			return err
		}
		if got := rec.Tags; len(got) != 3 || got[0].Key != "z" || got[1].Key != "a" || got[2] != (rotor.Tag{Key: "m"}) {
			t.Errorf("tags = %+v, want z, a, m in position order", got)
		}
		if byARN, err := tx.Secret(arn); err != nil || len(byARN.Tags) != 3 || byARN.Name != "s" {
			t.Errorf("Secret = %+v, %v", byARN, err)
		}
		if b, err := tx.Secret(bare); err != nil || b.Tags != nil {
			t.Errorf("untagged secret = %+v, %v; want nil tags", b, err)
		}
		vs, err := tx.Versions(arn)
		if err != nil {
			return err
		}
		var got []string
		for _, v := range vs {
			got = append(got, v.ID+"="+strings.Join(v.Stages, "+"))
			if (v.Value == nil) != (v.ID == "p") || (v.Value != nil && string(v.Value.Ciphertext) != v.ID) {
				t.Errorf("version %s value = %+v", v.ID, v.Value)
			}
		}
		if strings.Join(got, " ") != "v1=AWSPREVIOUS v2=AWSCURRENT+B p=AWSPENDING" {
			t.Errorf("versions = %v", got)
		}
		if vs, err := tx.Versions(bare); err != nil || len(vs) != 0 {
			t.Errorf("versions of a secret without any = %v, %v", vs, err)
		}
		if _, err := tx.Versions("arn:missing"); rotor.ErrorCode(err) != rotor.ENOTFOUND {
			t.Errorf("versions of a missing secret: %v, want ENOTFOUND", err)
		}
		if _, err := tx.SecretByName("r", "missing"); rotor.ErrorCode(err) != rotor.ENOTFOUND {
			t.Errorf("missing secret: %v, want ENOTFOUND", err)
		}
		return nil
	}
	if err := s.View(ctx, check); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, check); err != nil {
		t.Fatal(err)
	}

	// ReadSecret and ReadSecretARN: the same secret and versions in one
	// statement, tags in position order, labels sorted.
	for what, read := range map[string]func() (*rotor.SecretRecord, []*rotor.VersionRecord, error){
		"ReadSecret":    func() (*rotor.SecretRecord, []*rotor.VersionRecord, error) { return s.ReadSecret(ctx, "r", "s") },
		"ReadSecretARN": func() (*rotor.SecretRecord, []*rotor.VersionRecord, error) { return s.ReadSecretARN(ctx, arn) },
	} {
		rec, vs, err := read()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got := rec.Tags; rec.ARN != arn || len(got) != 3 || got[0].Key != "z" || got[1].Key != "a" || got[2] != (rotor.Tag{Key: "m"}) {
			t.Errorf("%s: secret %s tags %+v, want %s with z, a, m", what, rec.ARN, got, arn)
		}
		var got []string
		for _, v := range vs {
			got = append(got, v.ID+"="+strings.Join(v.Stages, "+"))
		}
		if strings.Join(got, " ") != "v1=AWSPREVIOUS v2=AWSCURRENT+B p=AWSPENDING" {
			t.Errorf("%s: versions = %v", what, got)
		}
	}
	if rec, vs, err := s.ReadSecret(ctx, "r", "bare"); err != nil || rec.ARN != bare || rec.Tags != nil || vs != nil {
		t.Errorf("ReadSecret of a secret without tags or versions = %+v, %v, %v", rec, vs, err)
	}
	if _, _, err := s.ReadSecret(ctx, "r", "missing"); rotor.ErrorCode(err) != rotor.ENOTFOUND {
		t.Errorf("ReadSecret of a missing secret: %v, want ENOTFOUND", err)
	}
	if _, _, err := s.ReadSecretARN(ctx, "arn:missing"); rotor.ErrorCode(err) != rotor.ENOTFOUND {
		t.Errorf("ReadSecretARN of a missing secret: %v, want ENOTFOUND", err)
	}
}
