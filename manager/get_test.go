package manager_test

import (
	"context"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
)

// createPlaceholder adds an empty version id labelled stages to the secret
// arn directly through the store, as the rotation engine does.
func (e *env) createPlaceholder(t testing.TB, arn, id string, stages ...string) {
	t.Helper()
	err := e.store.Update(context.Background(), func(tx rotor.Tx) error {
		if err := tx.CreateVersion(arn, &rotor.VersionRecord{ID: id, CreatedDate: e.clock.Now()}); err != nil {
			return err
		}
		for _, st := range stages {
			if err := tx.SetStage(arn, st, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("create placeholder: %v", err)
	}
	e.svc.InvalidateCache()
}

func TestGetSecretValue(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.create(t, "get", "one") // tok(0): AWSCURRENT
	e.clock.Advance(time.Minute)
	e.put(t, "get", tok(1), "two") // tok(1): AWSCURRENT, tok(0): AWSPREVIOUS
	e.clock.Advance(time.Minute)
	e.put(t, "get", tok(2), "three", "CUSTOM", "ALPHA")
	e.createPlaceholder(t, r.ARN, tok(3), "AWSPENDING")

	for name, tc := range map[string]struct {
		in        rotor.GetSecretValueInput
		value     string
		versionID string
		stages    []string
	}{
		"Default":        {rotor.GetSecretValueInput{SecretID: "get"}, "two", tok(1), []string{"AWSCURRENT"}},
		"ByStage":        {rotor.GetSecretValueInput{SecretID: "get", VersionStage: "AWSPREVIOUS"}, "one", tok(0), []string{"AWSPREVIOUS"}},
		"ByID":           {rotor.GetSecretValueInput{SecretID: "get", VersionID: tok(2)}, "three", tok(2), []string{"ALPHA", "CUSTOM"}},
		"ByIDAndStage":   {rotor.GetSecretValueInput{SecretID: "get", VersionID: tok(2), VersionStage: "CUSTOM"}, "three", tok(2), []string{"ALPHA", "CUSTOM"}},
		"ByARN":          {rotor.GetSecretValueInput{SecretID: r.ARN}, "two", tok(1), []string{"AWSCURRENT"}},
		"ByPartialARN":   {rotor.GetSecretValueInput{SecretID: r.ARN[:len(r.ARN)-7]}, "two", tok(1), []string{"AWSCURRENT"}},
		"CustomStageRef": {rotor.GetSecretValueInput{SecretID: "get", VersionStage: "ALPHA"}, "three", tok(2), []string{"ALPHA", "CUSTOM"}},
	} {
		t.Run(name, func(t *testing.T) {
			v := e.get(t, tc.in)
			if v.Value.String == nil || *v.Value.String != tc.value {
				t.Fatalf("value = %+v, want %q", v.Value, tc.value)
			}
			wantEqual(t, "VersionID", v.VersionID, tc.versionID)
			wantEqual(t, "Stages", v.Stages, tc.stages)
			wantEqual(t, "ARN", v.ARN, r.ARN)
			wantEqual(t, "Name", v.Name, "get")
		})
	}

	t.Run("CreatedDateIsVersionCreation", func(t *testing.T) {
		created := e.clock.Now().Add(-2 * time.Minute) // tok(0) was created at the start
		if v := e.get(t, rotor.GetSecretValueInput{SecretID: "get", VersionID: tok(0)}); !v.CreatedDate.Equal(created) {
			t.Fatalf("CreatedDate = %v, want %v", v.CreatedDate, created)
		}
	})

	for name, tc := range map[string]struct {
		in   rotor.GetSecretValueInput
		code string
		msg  string
	}{
		"ErrUnknownSecret":     {rotor.GetSecretValueInput{SecretID: "nope"}, rotor.ENOTFOUND, msgNotFound},
		"ErrUnknownARN":        {rotor.GetSecretValueInput{SecretID: r.ARN[:len(r.ARN)-6] + "zzzzzz"}, rotor.ENOTFOUND, msgNotFound},
		"ErrLabelNotAttached":  {rotor.GetSecretValueInput{SecretID: "get", VersionStage: "NOPE"}, rotor.ENOTFOUND, "Secrets Manager can't find the specified secret value for staging label: NOPE"},
		"ErrUnknownVersionID":  {rotor.GetSecretValueInput{SecretID: "get", VersionID: tok(99)}, rotor.ENOTFOUND, "Secrets Manager can't find the specified secret value for VersionId: " + tok(99)},
		"ErrStageNotOnVersion": {rotor.GetSecretValueInput{SecretID: "get", VersionID: tok(0), VersionStage: "AWSCURRENT"}, rotor.ESTATE, "You provided a VersionStage that is not associated to the provided VersionId."},
		"ErrPlaceholderByID":   {rotor.GetSecretValueInput{SecretID: "get", VersionID: tok(3), VersionStage: "AWSPENDING"}, rotor.ENOTFOUND, "Secrets Manager can't find the specified secret value for VersionId: " + tok(3)},
		"ErrPlaceholderStage":  {rotor.GetSecretValueInput{SecretID: "get", VersionStage: "AWSPENDING"}, rotor.ENOTFOUND, "Secrets Manager can't find the specified secret value for staging label: AWSPENDING"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.svc.GetSecretValue(e.ctx, tc.in)
			wantErr(t, err, tc.code, tc.msg)
		})
	}

	t.Run("DeprecatedVersionReadableByID", func(t *testing.T) {
		e.put(t, "get", tok(4), "four") // tok(0) loses AWSPREVIOUS
		if _, ok := e.stages(t, "get")[tok(0)]; ok {
			t.Fatalf("tok(0) still labelled")
		}
		v := e.get(t, rotor.GetSecretValueInput{SecretID: "get", VersionID: tok(0)})
		if *v.Value.String != "one" || v.Stages != nil {
			t.Fatalf("deprecated version = %q %v", *v.Value.String, v.Stages)
		}
	})

	t.Run("ErrMarkedForDeletion", func(t *testing.T) {
		e := newEnv(t)
		e.create(t, "del", "v")
		if _, err := e.svc.DeleteSecret(e.ctx, rotor.DeleteSecretInput{SecretID: "del"}); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.GetSecretValue(e.ctx, rotor.GetSecretValueInput{SecretID: "del"})
		wantErr(t, err, rotor.ESTATE, msgMarkedForDelete)
	})

	t.Run("ErrNoCaller", func(t *testing.T) {
		_, err := e.svc.GetSecretValue(context.Background(), rotor.GetSecretValueInput{SecretID: "get"})
		wantErr(t, err, rotor.EINTERNAL, "")
	})
}

// TestLastAccessedDateFlushedWithinInterval: without any explicit flush,
// the first reads of the day are written once the flush interval has
// passed; and the notes waiting at a flush are written in one transaction.
func TestLastAccessedDateFlushedWithinInterval(t *testing.T) {
	t.Parallel()
	today := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	e := newEnv(t, withAccessFlushInterval(20*time.Millisecond))
	e.create(t, "a", "one")
	e.create(t, "b", "two")
	e.current(t, "a")
	e.current(t, "b")
	// The bound is the interval; the deadline only keeps a broken build
	// from hanging.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if e.describe(t, "a").LastAccessedDate.Equal(today) && e.describe(t, "b").LastAccessedDate.Equal(today) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the access dates were never written")
		}
	}

	// Batched: three first reads, one flush, one transaction.
	e = newEnv(t, withAccessFlushInterval(time.Hour))
	for _, name := range []string{"a", "b", "c"} {
		e.create(t, name, "v")
	}
	start := e.store.updates.Load()
	for _, name := range []string{"a", "b", "c"} {
		e.current(t, name)
	}
	if err := e.svc.FlushAccessDates(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := e.store.updates.Load() - start; n != 1 {
		t.Fatalf("three first reads of the day were written in %d transactions, want 1", n)
	}
	for _, name := range []string{"a", "b", "c"} {
		if d := e.describe(t, name); !d.LastAccessedDate.Equal(today) {
			t.Fatalf("%s: LastAccessedDate = %v, want %v", name, d.LastAccessedDate, today)
		}
	}
}

func TestLastAccessedDate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create(t, "acc", "one")
	e.put(t, "acc", tok(1), "two")
	if d := e.describe(t, "acc"); !d.LastAccessedDate.IsZero() {
		t.Fatalf("LastAccessedDate = %v before any read", d.LastAccessedDate)
	}
	today := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

	start := e.store.updates.Load()
	for range 20 {
		e.current(t, "acc")
		e.clock.Advance(time.Minute)
	}
	if n := e.store.updates.Load() - start; n != 0 {
		t.Fatalf("20 reads wrote %d times before the access dates were flushed, want 0 (the write leaves the read path)", n)
	}
	flush := func() {
		t.Helper()
		if err := e.svc.FlushAccessDates(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	flush()
	if n := e.store.updates.Load() - start; n != 1 {
		t.Fatalf("20 reads of one version on one day wrote %d times, want 1", n)
	}
	d := e.describe(t, "acc")
	if !d.LastAccessedDate.Equal(today) {
		t.Fatalf("secret LastAccessedDate = %v, want %v", d.LastAccessedDate, today)
	}

	// Another version the same day: one more write.
	e.get(t, rotor.GetSecretValueInput{SecretID: "acc", VersionStage: "AWSPREVIOUS"})
	e.get(t, rotor.GetSecretValueInput{SecretID: "acc", VersionStage: "AWSPREVIOUS"})
	flush()
	if n := e.store.updates.Load() - start; n != 2 {
		t.Fatalf("writes = %d after reading a second version, want 2", n)
	}

	// A fresh service (empty memory) sees today in the store: no write.
	other := newEnvSharing(t, e)
	other.current(t, "acc")
	if err := other.svc.FlushAccessDates(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := e.store.updates.Load() - start; n != 2 {
		t.Fatalf("writes = %d after a read by a fresh service, want 2", n)
	}

	// The next day: one more write per version read.
	e.clock.Advance(24 * time.Hour)
	for range 5 {
		e.current(t, "acc")
	}
	flush()
	if n := e.store.updates.Load() - start; n != 3 {
		t.Fatalf("writes = %d after reads the next day, want 3", n)
	}
	out, err := e.svc.ListSecretVersionIds(e.ctx, rotor.ListSecretVersionIdsInput{SecretID: "acc"})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range out.Versions {
		want := today
		if v.VersionID == tok(1) {
			want = today.Add(24 * time.Hour)
		}
		if !v.LastAccessedDate.Equal(want) {
			t.Fatalf("version %s LastAccessedDate = %v, want %v", v.VersionID, v.LastAccessedDate, want)
		}
	}
	if d := e.describe(t, "acc"); !d.LastAccessedDate.Equal(today.Add(24 * time.Hour)) {
		t.Fatalf("secret LastAccessedDate = %v", d.LastAccessedDate)
	}
}
