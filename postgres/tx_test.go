package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/postgres"
	"github.com/rotorhq/rotor/postgres/pgtest"
)

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := rotor.ErrorCode(err); got != code {
		t.Errorf("%s: err = %v (code %q), want code %s", what, err, got, code)
	}
}

func secretRec(name string) *rotor.SecretRecord {
	return &rotor.SecretRecord{ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + name + "-AbCdEf",
		Region: "us-east-1", Name: name, CreatedDate: t0}
}

// TestExpectedErrorsLeaveTransactionUsable checks that every expected
// error of a write method is found without a failing statement, so that a
// caller that handles it may carry on and commit, as with SQLite, although
// PostgreSQL aborts a transaction at its first failed statement.
func TestExpectedErrorsLeaveTransactionUsable(t *testing.T) {
	s, _ := pgtest.Open(t, postgres.Options{})
	seed(t, s)
	other := secretRec("other")
	if err := s.Update(context.Background(), func(tx rotor.Tx) error { return tx.CreateSecret(other) }); err != nil {
		t.Fatal(err)
	}
	late := secretRec("late")
	err := s.Update(context.Background(), func(tx rotor.Tx) error {
		taken := *other
		taken.ARN = arn // other's name in the same region
		steps := []struct {
			what string
			code string
			err  error
		}{
			{"CreateSecret(taken ARN)", rotor.EEXISTS, tx.CreateSecret(secretRec("inv"))},
			{"UpdateSecret(name taken)", rotor.EEXISTS, tx.UpdateSecret(&taken)},
			{"UpdateSecret(unknown)", rotor.ENOTFOUND, tx.UpdateSecret(secretRec("nope"))},
			{"CreateSecret(duplicate tag keys)", rotor.EEXISTS, tx.CreateSecret(&rotor.SecretRecord{ARN: "x", Region: "r", Name: "x",
				Tags: []rotor.Tag{{Key: "k"}, {Key: "k"}}})},
			{"CreateVersion(taken id)", rotor.EEXISTS, tx.CreateVersion(arn, &rotor.VersionRecord{ID: "v1"})},
			{"CreateVersion(unknown secret)", rotor.ENOTFOUND, tx.CreateVersion("nope", &rotor.VersionRecord{ID: "v"})},
			{"FillVersion(filled)", rotor.ESTATE, tx.FillVersion(arn, "v1", rotor.Sealed{KeyID: "k", WrappedKey: []byte("w"), Ciphertext: []byte("c")}, false)},
			{"SetStage(unknown version)", rotor.ENOTFOUND, tx.SetStage(arn, rotor.StagePrevious, "nope")},
			{"DeleteVersions(unknown id)", rotor.ENOTFOUND, tx.DeleteVersions(arn, []string{"v1", "nope"})},
			{"ReplaceSealed(other ciphertext)", rotor.ESTATE, tx.ReplaceSealed(rotor.SealedRef{Kind: rotor.SealedVersion, SecretARN: arn, ID: "v1"},
				rotor.Sealed{KeyID: "k", WrappedKey: []byte("w"), Ciphertext: []byte("forged")})},
			{"ReplaceSealed(placeholder)", rotor.ESTATE, tx.ReplaceSealed(rotor.SealedRef{Kind: rotor.SealedVersion, SecretARN: arn, ID: "v2"},
				rotor.Sealed{KeyID: "k", WrappedKey: []byte("w"), Ciphertext: []byte("c")})},
			{"CreateRun(second active)", rotor.EEXISTS, tx.CreateRun(&rotor.RunRecord{ID: "run9", SecretARN: arn, Region: "us-east-1", Status: rotor.RunRunning})},
			{"CreateRun(taken id)", rotor.EEXISTS, tx.CreateRun(&rotor.RunRecord{ID: "run0", SecretARN: arn, Region: "us-east-1", Status: rotor.RunFailed})},
			{"UpdateRun(second active)", rotor.EEXISTS, tx.UpdateRun(&rotor.RunRecord{ID: "run0", SecretARN: arn, Region: "us-east-1", Status: rotor.RunPending})},
			{"UpdateRun(unknown secret)", rotor.ENOTFOUND, tx.UpdateRun(&rotor.RunRecord{ID: "run0", SecretARN: "nope", Region: "us-east-1", Status: rotor.RunFailed})},
			{"AddStep(unknown run)", rotor.ENOTFOUND, tx.AddStep(&rotor.StepRecord{RunID: "nope"})},
			{"CreateIdentity(taken)", rotor.EEXISTS, tx.CreateIdentity(&rotor.IdentityRecord{Name: "alice"})},
			{"CreateAccessKey(unknown identity)", rotor.ENOTFOUND, tx.CreateAccessKey(&rotor.AccessKeyRecord{AccessKeyID: "AKIANEW", Identity: "nobody"})},
			{"CreateAccessKey(taken id)", rotor.EEXISTS, tx.CreateAccessKey(&rotor.AccessKeyRecord{AccessKeyID: "AKIAINV000000000001", Identity: "alice"})},
			{"CreateSecret(NUL in description)", rotor.EINVALID, tx.CreateSecret(&rotor.SecretRecord{ARN: "y", Region: "r", Name: "y", Description: "a\x00b"})},
		}
		for _, st := range steps {
			wantCode(t, st.what, st.err, st.code)
		}
		// The transaction goes on and commits.
		return tx.CreateSecret(late)
	})
	if err != nil {
		t.Fatalf("Update after expected errors: %v", err)
	}
	err = s.View(context.Background(), func(tx rotor.Tx) error {
		if _, err := tx.Secret(late.ARN); err != nil {
			t.Errorf("the secret written after the errors was not committed: %v", err)
		}
		if r, err := tx.Run("run0"); err != nil || r.Status != rotor.RunSucceeded {
			t.Errorf("run0 = %+v, %v; want it unchanged", r, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestUpdateRefusesAfterFailedStatement checks that when a statement fails
// inside PostgreSQL (aborting the transaction) and fn ignores the error,
// later calls fail, Update returns an error rather than reporting a
// commit, nothing is kept, and the store goes on working.
func TestUpdateRefusesAfterFailedStatement(t *testing.T) {
	s, _ := pgtest.Open(t, postgres.Options{})
	sec := secretRec("after-failure")
	err := s.Update(context.Background(), func(tx rotor.Tx) error {
		if err := tx.CreateSecret(sec); err != nil {
			return err
		}
		if err := postgres.ExecRaw(tx, "SELECT 1/0"); rotor.ErrorCode(err) != rotor.EINTERNAL {
			t.Errorf("a failing statement: err = %v, want EINTERNAL", err)
		}
		err := tx.CreateSecret(secretRec("later"))
		wantCode(t, "a write after the failure", err, rotor.EINTERNAL)
		if err == nil || !strings.Contains(err.Error(), "aborted") {
			t.Errorf("the error after the failure should say the transaction was aborted: %v", err)
		}
		_, err = tx.Secret(sec.ARN)
		wantCode(t, "a read after the failure", err, rotor.EINTERNAL)
		return nil // ignoring everything
	})
	wantCode(t, "Update whose fn ignored a failed statement", err, rotor.EINTERNAL)
	err = s.Update(context.Background(), func(tx rotor.Tx) error {
		if _, err := tx.Secret(sec.ARN); rotor.ErrorCode(err) != rotor.ENOTFOUND {
			t.Errorf("the aborted transaction's secret: err = %v, want ENOTFOUND", err)
		}
		return tx.CreateSecret(sec)
	})
	if err != nil {
		t.Fatalf("Update after an aborted one: %v", err)
	}
}

// TestTextPostgresCannotHold checks the store's answer to strings that
// PostgreSQL's text cannot hold: a write is refused with EINVALID naming
// the field (and nothing is stored), a lookup finds nothing, and rotation
// history (function output) keeps any bytes.
func TestTextPostgresCannotHold(t *testing.T) {
	s, _ := pgtest.Open(t, postgres.Options{})
	seed(t, s)
	ctx := context.Background()
	bad := []struct {
		field string
		fn    func(tx rotor.Tx) error
	}{
		{"description", func(tx rotor.Tx) error {
			r := secretRec("nul-desc")
			r.Description = "before\x00after"
			return tx.CreateSecret(r)
		}},
		{"tag key", func(tx rotor.Tx) error {
			r := secretRec("nul-tag")
			r.Tags = []rotor.Tag{{Key: "k\x00", Value: "v"}}
			return tx.CreateSecret(r)
		}},
		{"tag value", func(tx rotor.Tx) error {
			sec, err := tx.Secret(arn)
			if err != nil {
				return err
			}
			sec.Tags = []rotor.Tag{{Key: "k", Value: "\xff"}}
			return tx.UpdateSecret(sec)
		}},
		{"version id", func(tx rotor.Tx) error { return tx.CreateVersion(arn, &rotor.VersionRecord{ID: "v\x003"}) }},
		{"KMS key id", func(tx rotor.Tx) error {
			return tx.CreateVersion(arn, &rotor.VersionRecord{ID: "v3", KmsKeyID: "alias/\x00"})
		}},
		{"staging label", func(tx rotor.Tx) error { return tx.SetStage(arn, "LABEL\x00", "v1") }},
		{"identity policy", func(tx rotor.Tx) error { return tx.SetIdentityPolicy("alice", "{\x00}") }},
	}
	for _, b := range bad {
		err := s.Update(ctx, b.fn)
		wantCode(t, b.field, err, rotor.EINVALID)
		if msg := rotor.ErrorMessage(err); !strings.Contains(msg, b.field) || !strings.Contains(msg, "PostgreSQL") {
			t.Errorf("%s: message %q should name the field and the store", b.field, msg)
		}
	}
	// Nothing was stored, and lookups of such strings find nothing.
	err := s.View(ctx, func(tx rotor.Tx) error {
		if all, err := tx.Secrets("us-east-1"); err != nil || len(all) != 1 || len(all[0].Tags) != 1 || all[0].Tags[0].Value != "v" {
			t.Errorf("Secrets = %+v, %v; want only the seeded secret, unchanged", all, err)
		}
		if vs, err := tx.Versions(arn); err != nil || len(vs) != 2 || len(vs[0].Stages) != 1 {
			t.Errorf("Versions = %+v, %v; want v1 (AWSCURRENT) and v2", vs, err)
		}
		if i, err := tx.Identity("alice"); err != nil || i.Policy != "" {
			t.Errorf("Identity = %+v, %v; want no policy", i, err)
		}
		_, err := tx.Secret(arn + "\x00")
		wantCode(t, "Secret(NUL)", err, rotor.ENOTFOUND)
		_, err = tx.SecretByName("us-east-1", "\xc3")
		wantCode(t, "SecretByName(invalid UTF-8)", err, rotor.ENOTFOUND)
		_, err = tx.Version(arn, "v1\x00")
		wantCode(t, "Version(NUL)", err, rotor.ENOTFOUND)
		_, err = tx.AccessKey("\xff")
		wantCode(t, "AccessKey(invalid UTF-8)", err, rotor.ENOTFOUND)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Rotation history keeps whatever a function printed.
	output := "out\x00put \xff\xfe end"
	err = s.Update(ctx, func(tx rotor.Tx) error {
		r, err := tx.Run("run1")
		if err != nil {
			return err
		}
		r.LastError = "error \x00 with \xc3 bytes"
		if err := tx.UpdateRun(r); err != nil {
			return err
		}
		return tx.AddStep(&rotor.StepRecord{RunID: "run1", Step: rotor.StepSet, Attempt: 1, Outcome: "error", Error: "e\x00", Output: output})
	})
	if err != nil {
		t.Fatalf("storing run history with any bytes: %v", err)
	}
	err = s.View(ctx, func(tx rotor.Tx) error {
		r, err := tx.Run("run1")
		if err != nil {
			return err
		}
		if r.LastError != "error \x00 with \xc3 bytes" {
			t.Errorf("LastError = %q", r.LastError)
		}
		steps, err := tx.Steps("run1")
		if err != nil {
			return err
		}
		if len(steps) != 2 || steps[1].Output != output || steps[1].Error != "e\x00" {
			t.Errorf("steps = %+v", steps)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestListSecretsNonTextBytes checks listings whose prefix, cursor or
// substring is not text (a UTF-8 sequence cut short): they match exactly
// the stored strings whose bytes do.
func TestListSecretsNonTextBytes(t *testing.T) {
	s, _ := pgtest.Open(t, postgres.Options{})
	ctx := context.Background()
	names := []string{"abc", "zed", "ébène", "éclair", "è"}
	err := s.Update(ctx, func(tx rotor.Tx) error {
		for _, n := range names {
			if err := tx.CreateSecret(secretRec(n)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	list := func(q rotor.SecretQuery) []string {
		t.Helper()
		q.Region, q.Limit = "us-east-1", 100
		if q.SortBy == "" {
			q.SortBy = rotor.SortByName
		}
		var out []string
		err := s.View(ctx, func(tx rotor.Tx) error {
			got, err := tx.ListSecrets(q)
			for _, r := range got {
				out = append(out, r.Name)
			}
			return err
		})
		if err != nil {
			t.Fatalf("ListSecrets(%+v): %v", q, err)
		}
		return out
	}
	// Byte-wise name order: "abc" < "zed" < "è" (c3 a8) < "ébène" (c3 a9 62) < "éclair" (c3 a9 63).
	prefix := func(p string) []rotor.PrefixFilter {
		return []rotor.PrefixFilter{{Key: rotor.FilterName, Values: []rotor.PrefixValue{{Prefix: p}}}}
	}
	contains := func(x string) []rotor.ContainsFilter {
		return []rotor.ContainsFilter{{Fields: []string{rotor.FilterName}, AnyOf: [][]string{{x}}}}
	}
	cases := []struct {
		what string
		q    rotor.SecretQuery
		want []string
	}{
		{"all", rotor.SecretQuery{}, []string{"abc", "zed", "è", "ébène", "éclair"}},
		{"prefix \\xc3", rotor.SecretQuery{Filters: prefix("\xc3")}, []string{"è", "ébène", "éclair"}},
		{"prefix \\xc3\\xa9", rotor.SecretQuery{Filters: prefix("\xc3\xa9")}, []string{"ébène", "éclair"}},
		{"prefix \\xff", rotor.SecretQuery{Filters: prefix("\xff")}, nil},
		{"prefix with NUL", rotor.SecretQuery{Filters: prefix("a\x00")}, nil},
		{"negated prefix \\xc3", rotor.SecretQuery{Filters: []rotor.PrefixFilter{{Key: rotor.FilterName,
			Values: []rotor.PrefixValue{{Prefix: "\xc3", Negate: true}}}}}, []string{"abc", "zed"}},
		{"cursor name \\xc3", rotor.SecretQuery{After: &rotor.SecretCursor{Name: "\xc3"}}, []string{"è", "ébène", "éclair"}},
		{"cursor name \\xc3 descending", rotor.SecretQuery{Desc: true, After: &rotor.SecretCursor{Name: "\xc3"}}, []string{"zed", "abc"}},
		{"cursor name \\xff", rotor.SecretQuery{After: &rotor.SecretCursor{Name: "\xff"}}, nil},
		{"cursor name \\xff descending", rotor.SecretQuery{Desc: true, After: &rotor.SecretCursor{Name: "\xff"}},
			[]string{"éclair", "ébène", "è", "zed", "abc"}},
		{"cursor name with NUL", rotor.SecretQuery{After: &rotor.SecretCursor{Name: "zed\x00"}}, []string{"è", "ébène", "éclair"}},
		{"contains \\xa9", rotor.SecretQuery{Contains: contains("\xa9")}, []string{"ébène", "éclair"}},
		{"contains \\xa8", rotor.SecretQuery{Contains: contains("\xa8")}, []string{"è", "ébène"}},
		{"contains NUL", rotor.SecretQuery{Contains: contains("\x00")}, nil},
	}
	for _, c := range cases {
		if got := list(c.q); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.what, got, c.want)
		}
	}
	// A date cursor whose ARN is not text: equal dates are ordered by ARN.
	arnOf := func(n string) string { return secretRec(n).ARN }
	byARN := slices.Clone(names)
	slices.SortFunc(byARN, func(a, b string) int { return strings.Compare(arnOf(a), arnOf(b)) })
	cut := arnOf("zed")[:len(arnOf("zed"))-1] + "\xff" // just above "zed"'s ARN, below none after it
	want := byARN[slices.Index(byARN, "zed")+1:]
	if got := list(rotor.SecretQuery{SortBy: rotor.SortByCreatedDate, After: &rotor.SecretCursor{Time: t0, ARN: cut}}); !slices.Equal(got, want) {
		t.Errorf("created-date cursor with a non-text ARN: got %q, want %q", got, want)
	}
	wantDesc := slices.Clone(byARN[:slices.Index(byARN, "zed")+1])
	slices.Reverse(wantDesc)
	if got := list(rotor.SecretQuery{SortBy: rotor.SortByCreatedDate, Desc: true, After: &rotor.SecretCursor{Time: t0, ARN: cut}}); !slices.Equal(got, wantDesc) {
		t.Errorf("descending created-date cursor with a non-text ARN: got %q, want %q", got, wantDesc)
	}
}

// TestWritesSerialisedAcrossStores runs read-modify-write Updates through
// two Stores on one database, as two servers would, and checks that none
// is lost: the advisory lock serialises writers across processes, not only
// within one.
func TestWritesSerialisedAcrossStores(t *testing.T) {
	a, dbURL := pgtest.Open(t, postgres.Options{})
	b, err := postgres.Open(context.Background(), dbURL, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	counter := secretRec("counter")
	counter.Description = "0"
	if err := a.Update(ctx, func(tx rotor.Tx) error { return tx.CreateSecret(counter) }); err != nil {
		t.Fatal(err)
	}
	const workers, rounds = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers*rounds)
	for _, s := range []*postgres.Store{a, b} {
		for range workers {
			wg.Go(func() {
				for range rounds {
					errs <- s.Update(ctx, func(tx rotor.Tx) error {
						rec, err := tx.Secret(counter.ARN)
						if err != nil {
							return err
						}
						n, err := strconv.Atoi(rec.Description)
						if err != nil {
							return err
						}
						rec.Description = strconv.Itoa(n + 1)
						return tx.UpdateSecret(rec)
					})
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	err = b.View(ctx, func(tx rotor.Tx) error {
		rec, err := tx.Secret(counter.ARN)
		if err == nil && rec.Description != strconv.Itoa(2*workers*rounds) {
			t.Errorf("counter = %s after %d increments: writes were lost", rec.Description, 2*workers*rounds)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestUpdateCanceledWaitingForAnotherServer cancels an Update while it
// waits for the write lock another Store holds: it returns the context's
// error, its backend stops waiting (no statement is left queued on the
// lock), and it writes nothing.
func TestUpdateCanceledWaitingForAnotherServer(t *testing.T) {
	a, dbURL := pgtest.Open(t, postgres.Options{})
	b, err := postgres.Open(context.Background(), dbURL, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	conn := pgtest.Connect(t, dbURL)
	waiting := func() int {
		return count(t, conn, `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`)
	}

	holding, release := make(chan struct{}), make(chan struct{})
	releaseOnce := sync.OnceFunc(func() { close(release) })
	defer releaseOnce()
	first := make(chan error, 1)
	go func() {
		first <- a.Update(context.Background(), func(tx rotor.Tx) error {
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	second := make(chan error, 1)
	go func() {
		second <- b.Update(ctx, func(tx rotor.Tx) error { return tx.CreateSecret(secretRec("canceled")) })
	}()
	waitFor(t, "the second Update to wait for the lock", func() bool { return waiting() == 1 })
	cancel()
	if err := <-second; !errors.Is(err, context.Canceled) {
		t.Errorf("Update canceled while waiting for another server = %v, want context.Canceled", err)
	}
	waitFor(t, "the canceled backend to stop waiting", func() bool { return waiting() == 0 })
	releaseOnce()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	err = a.View(context.Background(), func(tx rotor.Tx) error {
		_, err := tx.Secret(secretRec("canceled").ARN)
		wantCode(t, "the canceled Update's secret", err, rotor.ENOTFOUND)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Both stores still write.
	for i, s := range []*postgres.Store{a, b} {
		if err := s.Update(context.Background(), func(tx rotor.Tx) error { return tx.CreateSecret(secretRec(fmt.Sprint("after-", i))) }); err != nil {
			t.Errorf("store %d after the cancel: %v", i, err)
		}
	}
}

// waitFor polls cond until it holds, failing t after 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestConnectionLossIsRetryable terminates the backend of a transaction
// in flight, as a database restart or failover would: the next call fails
// with EUNAVAILABLE (which clients retry), nothing of the transaction is
// kept, and the next Update runs on a fresh connection.
func TestConnectionLossIsRetryable(t *testing.T) {
	s, dbURL := pgtest.Open(t, postgres.Options{})
	conn := pgtest.Connect(t, dbURL)
	lost := secretRec("lost")
	err := s.Update(context.Background(), func(tx rotor.Tx) error {
		if err := tx.CreateSecret(lost); err != nil {
			return err
		}
		if _, err := conn.Exec(context.Background(), "SELECT pg_terminate_backend($1)", postgres.BackendPID(tx)); err != nil {
			t.Fatal(err)
		}
		return tx.CreateSecret(secretRec("after-loss"))
	})
	wantCode(t, "a write after the connection was lost", err, rotor.EUNAVAILABLE)
	err = s.Update(context.Background(), func(tx rotor.Tx) error {
		_, err := tx.Secret(lost.ARN)
		wantCode(t, "the lost transaction's secret", err, rotor.ENOTFOUND)
		return tx.CreateSecret(lost)
	})
	if err != nil {
		t.Fatalf("Update after the connection was lost: %v", err)
	}
}
