package storetest

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
)

// Rotation runs and steps.

// finalStates are the run states in which a run is no longer active.
var finalStates = []string{rotor.RunSucceeded, rotor.RunFailed, rotor.RunCancelled, rotor.RunAbandoned}

// runSecret returns a secret record in region named name, with an ARN
// suffix derived from the name so that every name gets its own ARN.
func runSecret(region, name string, n int) *rotor.SecretRecord {
	s := secret(region, name, at(n))
	h := fnv.New32a()
	h.Write([]byte(region + "/" + name))
	s.ARN = rotor.SecretARN(region, account, name, fmt.Sprintf("%06x", h.Sum32()&0xffffff))
	return s
}

// dueSecret returns a live secret with rotation configured and enabled and
// its NextRotationDate at next.
func dueSecret(region, name string, next time.Time) *rotor.SecretRecord {
	s := runSecret(region, name, 0)
	s.Rotation = rotor.RotationConfig{Configured: true, Enabled: true, LambdaARN: rotor.LambdaARN(region, account, "rotate"),
		Rules: rotor.RotationRules{AutomaticallyAfterDays: 7}}
	s.LastRotatedDate = at(-100)
	s.NextRotationDate = next
	return s
}

// newRun returns a run of sec in status, created at(n), with NextAttempt
// at(n) and Finished set when status is final.
func newRun(id string, sec *rotor.SecretRecord, status string, n int) *rotor.RunRecord {
	r := &rotor.RunRecord{
		ID:          id,
		SecretARN:   sec.ARN,
		Region:      sec.Region,
		Token:       "token-" + id,
		Kind:        rotor.RunRotate,
		FunctionARN: rotor.LambdaARN(sec.Region, account, "rotate"),
		Status:      status,
		Step:        rotor.StepCreate,
		Attempt:     1,
		MaxAttempts: 3,
		NextAttempt: at(n),
		Created:     at(n),
		Updated:     at(n),
	}
	if !r.Active() {
		r.Finished = at(n + 1)
	}
	return r
}

// createRuns creates the runs in one Update.
func createRuns(t *testing.T, s rotor.Store, runs ...*rotor.RunRecord) {
	t.Helper()
	update(t, s, func(tx rotor.Tx) error {
		for _, r := range runs {
			if err := tx.CreateRun(r); err != nil {
				return fmt.Errorf("CreateRun(%s): %w", r.ID, err)
			}
		}
		return nil
	})
}

func normRun(r *rotor.RunRecord) rotor.RunRecord {
	c := *r
	c.NextAttempt, c.Created, c.Updated, c.Finished = normTime(c.NextAttempt), normTime(c.Created), normTime(c.Updated), normTime(c.Finished)
	c.LeaseUntil = normTime(c.LeaseUntil)
	return c
}

func normStep(s *rotor.StepRecord) rotor.StepRecord {
	c := *s
	c.Started = normTime(c.Started)
	return c
}

func sameRun(t *testing.T, what string, got, want *rotor.RunRecord) {
	t.Helper()
	if got == nil {
		t.Errorf("%s = nil, want %+v", what, *want)
		return
	}
	if g, w := normRun(got), normRun(want); g != w {
		t.Errorf("%s =\n\t%+v\nwant\n\t%+v", what, g, w)
	}
	checkUTC(t, what, got.NextAttempt, got.Created, got.Updated, got.Finished, got.LeaseUntil)
}

func runIDs(rs []*rotor.RunRecord) []string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	return ids
}

// sameRuns fails t unless got holds exactly want, in order, field for field.
func sameRuns(t *testing.T, what string, got, want []*rotor.RunRecord) {
	t.Helper()
	if g, w := runIDs(got), runIDs(want); !slices.Equal(g, w) {
		t.Errorf("%s = %v, want %v", what, g, w)
		return
	}
	for i := range got {
		sameRun(t, fmt.Sprintf("%s[%d]", what, i), got[i], want[i])
	}
}

// getRun reads the run id, which must exist.
func getRun(t *testing.T, s rotor.Store, id string) *rotor.RunRecord {
	t.Helper()
	var got *rotor.RunRecord
	view(t, s, func(tx rotor.Tx) (err error) {
		got, err = tx.Run(id)
		return err
	})
	return got
}

func testRunRoundTrip(t *testing.T, s rotor.Store) {
	sec := runSecret(region1, "round-trip", 1)
	createSecrets(t, s, sec)

	full := &rotor.RunRecord{
		ID:          "run-full",
		SecretARN:   sec.ARN,
		Region:      region1,
		Token:       "a1b2c3d4-0000-4000-8000-000000000001",
		Kind:        rotor.RunTestOnly,
		FunctionARN: rotor.LambdaARN(region1, account, "rotate-full"),
		Status:      rotor.RunRunning,
		Step:        rotor.StepTest,
		Attempt:     2,
		MaxAttempts: 5,
		NextAttempt: at(3),
		LastError:   "testSecret: connection refused\nline two 'quoted' \"double\"",
		Created:     at(1),
		Updated:     at(2),
		Owner:       "node-a 7f3e",
		LeaseUntil:  at(4),
	}
	createRuns(t, s, full)
	sameRun(t, "Run(created)", getRun(t, s, full.ID), full)
	view(t, s, func(tx rotor.Tx) error {
		got, err := tx.ActiveRun(sec.ARN)
		if err != nil {
			t.Errorf("ActiveRun: %v", err)
		} else {
			sameRun(t, "ActiveRun", got, full)
		}
		return nil
	})

	// UpdateRun replaces every field.
	changed := &rotor.RunRecord{
		ID:          full.ID,
		SecretARN:   sec.ARN,
		Region:      region1,
		Token:       "a1b2c3d4-0000-4000-8000-000000000002",
		Kind:        rotor.RunRotate,
		FunctionARN: rotor.LambdaARN(region1, account, "rotate-other"),
		Status:      rotor.RunFailed,
		Step:        rotor.StepFinish,
		Attempt:     5,
		MaxAttempts: 6,
		NextAttempt: at(30),
		LastError:   "finishSecret: gave up",
		Created:     at(10),
		Updated:     at(20),
		Finished:    at(40),
		Owner:       "node-b",
		LeaseUntil:  at(50),
	}
	update(t, s, func(tx rotor.Tx) error { return tx.UpdateRun(changed) })
	sameRun(t, "Run(updated)", getRun(t, s, full.ID), changed)

	// Zero times and empty strings round-trip as such.
	back := *changed
	back.Token, back.FunctionARN, back.LastError, back.Step, back.Owner = "", "", "", "", ""
	back.Attempt, back.MaxAttempts = 0, 0
	back.NextAttempt, back.Created, back.Updated, back.Finished, back.LeaseUntil = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	update(t, s, func(tx rotor.Tx) error { return tx.UpdateRun(&back) })
	got := getRun(t, s, full.ID)
	sameRun(t, "Run(zeroed)", got, &back)
	for _, tm := range []time.Time{got.NextAttempt, got.Created, got.Updated, got.Finished, got.LeaseUntil} {
		if !tm.IsZero() {
			t.Errorf("zero time came back as %v", tm)
		}
	}

	viewCode(t, s, "ActiveRun(only a final run)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		_, err := tx.ActiveRun(sec.ARN)
		return err
	})
	viewCode(t, s, "ActiveRun(unknown secret)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		_, err := tx.ActiveRun(sec.ARN + "x")
		return err
	})
	viewCode(t, s, "Run(unknown)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		_, err := tx.Run("run-unknown")
		return err
	})
	unknown := newRun("run-unknown", sec, rotor.RunPending, 1)
	updateCode(t, s, "UpdateRun(unknown)", rotor.ENOTFOUND, func(tx rotor.Tx) error { return tx.UpdateRun(unknown) })
	orphan := newRun("run-orphan", runSecret(region1, "never-created", 1), rotor.RunPending, 1)
	updateCode(t, s, "CreateRun(unknown secret)", rotor.ENOTFOUND, func(tx rotor.Tx) error { return tx.CreateRun(orphan) })
	dupID := newRun(full.ID, sec, rotor.RunSucceeded, 50)
	updateCode(t, s, "CreateRun(taken id)", rotor.EEXISTS, func(tx rotor.Tx) error { return tx.CreateRun(dupID) })
	// The failures kept nothing: the run is unchanged, no new run exists.
	sameRun(t, "Run after failed writes", getRun(t, s, full.ID), &back)
	view(t, s, func(tx rotor.Tx) error {
		for _, id := range []string{unknown.ID, orphan.ID} {
			if _, err := tx.Run(id); rotor.ErrorCode(err) != rotor.ENOTFOUND {
				t.Errorf("Run(%s) after a failed write: err = %v, want ENOTFOUND", id, err)
			}
		}
		return nil
	})

	// Writes inside View fail and change nothing.
	extra := newRun("run-in-view", sec, rotor.RunPending, 60)
	s.View(context.Background(), func(tx rotor.Tx) error {
		if err := tx.CreateRun(extra); err == nil {
			t.Error("CreateRun inside View succeeded")
		}
		if err := tx.UpdateRun(changed); err == nil {
			t.Error("UpdateRun inside View succeeded")
		}
		if err := tx.AddStep(&rotor.StepRecord{RunID: full.ID, Step: rotor.StepCreate, Outcome: "ok"}); err == nil {
			t.Error("AddStep inside View succeeded")
		}
		return nil
	})
	sameRun(t, "Run after writes inside View", getRun(t, s, full.ID), &back)
	view(t, s, func(tx rotor.Tx) error {
		if _, err := tx.Run(extra.ID); rotor.ErrorCode(err) != rotor.ENOTFOUND {
			t.Errorf("run created inside View: err = %v, want ENOTFOUND", err)
		}
		if steps, err := tx.Steps(full.ID); err != nil || len(steps) != 0 {
			t.Errorf("Steps after AddStep inside View = %d, %v; want none", len(steps), err)
		}
		return nil
	})
}

func testRunOneActivePerSecret(t *testing.T, s rotor.Store) {
	sec := runSecret(region1, "one-active", 1)
	other := runSecret(region1, "other", 2)
	createSecrets(t, s, sec, other)

	first := newRun("run-0", sec, rotor.RunPending, 1)
	createRuns(t, s, first)
	for _, status := range []string{rotor.RunPending, rotor.RunRunning} {
		second := newRun("second-"+status, sec, status, 2)
		updateCode(t, s, "CreateRun(second "+status+" run)", rotor.EEXISTS, func(tx rotor.Tx) error { return tx.CreateRun(second) })
	}
	// Another secret's active run, and a final run of this secret (history
	// being recorded), are no conflict.
	createRuns(t, s, newRun("other-active", other, rotor.RunRunning, 3), newRun("history", sec, rotor.RunFailed, 0))

	// The active run may change between the active states.
	running := *first
	running.Status, running.Attempt = rotor.RunRunning, 2
	update(t, s, func(tx rotor.Tx) error { return tx.UpdateRun(&running) })

	// Once the active run ends, in any final state, a new one may start.
	active := &running
	for i, final := range finalStates {
		ended := *active
		ended.Status, ended.Finished = final, at(10*i+5)
		update(t, s, func(tx rotor.Tx) error { return tx.UpdateRun(&ended) })
		viewCode(t, s, "ActiveRun after the run became "+final, rotor.ENOTFOUND, func(tx rotor.Tx) error {
			_, err := tx.ActiveRun(sec.ARN)
			return err
		})
		next := newRun(fmt.Sprintf("run-%d", i+1), sec, rotor.RunPending, 10*i+10)
		update(t, s, func(tx rotor.Tx) error {
			if err := tx.CreateRun(next); err != nil {
				return fmt.Errorf("CreateRun after the run became %s: %w", final, err)
			}
			return nil
		})
		view(t, s, func(tx rotor.Tx) error {
			got, err := tx.ActiveRun(sec.ARN)
			if err != nil {
				t.Errorf("ActiveRun: %v", err)
			} else {
				sameRun(t, "ActiveRun after a new run started", got, next)
			}
			return nil
		})
		active = next
	}

	// Reviving an ended run while another is active conflicts too.
	revived := newRun("run-0", sec, rotor.RunPending, 1)
	updateCode(t, s, "UpdateRun(ended run back to pending)", rotor.EEXISTS, func(tx rotor.Tx) error { return tx.UpdateRun(revived) })
	if got := getRun(t, s, "run-0"); got.Status != finalStates[0] {
		t.Errorf("run-0 after a refused UpdateRun has status %s, want %s", got.Status, finalStates[0])
	}
	var all []*rotor.RunRecord
	view(t, s, func(tx rotor.Tx) (err error) {
		all, err = tx.Runs("", sec.ARN, "", 0)
		return err
	})
	activeCount := 0
	for _, r := range all {
		if r.Active() {
			activeCount++
		}
	}
	if len(all) != len(finalStates)+2 || activeCount != 1 {
		t.Errorf("secret has runs %v with %d active, want %d runs with 1 active", runIDs(all), activeCount, len(finalStates)+2)
	}
}

func testRunDueRuns(t *testing.T, s rotor.Store) {
	var secs []*rotor.SecretRecord
	for i := range 9 {
		region := region1
		if i%2 == 1 {
			region = region2
		}
		secs = append(secs, runSecret(region, fmt.Sprintf("due-%d", i), i))
	}
	createSecrets(t, s, secs...)

	zero := newRun("pending-zero", secs[0], rotor.RunPending, 1)
	zero.NextAttempt = time.Time{}
	at10 := newRun("pending-10", secs[1], rotor.RunPending, 10)
	at20a := newRun("pending-20a", secs[2], rotor.RunPending, 20) // same NextAttempt as 20b, created later
	at20a.Created = at(15)
	at20b := newRun("pending-20b", secs[3], rotor.RunPending, 20)
	at20b.Created = at(12)
	at30 := newRun("pending-30", secs[4], rotor.RunPending, 30)
	at31 := newRun("pending-31", secs[5], rotor.RunPending, 31) // not yet due
	running := newRun("running-5", secs[6], rotor.RunRunning, 5)
	failed := newRun("failed-5", secs[7], rotor.RunFailed, 5)
	cancelled := newRun("cancelled-5", secs[8], rotor.RunCancelled, 5)
	createRuns(t, s, at31, at30, running, at20a, failed, zero, at10, cancelled, at20b)

	for _, c := range []struct {
		name  string
		now   time.Time
		limit int
		want  []*rotor.RunRecord
	}{
		{"AllDue", at(30), 0, []*rotor.RunRecord{zero, at10, at20b, at20a, at30}},
		{"Limit", at(30), 3, []*rotor.RunRecord{zero, at10, at20b}},
		{"LimitAboveCount", at(30), 100, []*rotor.RunRecord{zero, at10, at20b, at20a, at30}},
		{"BoundaryIncluded", at(20), 0, []*rotor.RunRecord{zero, at10, at20b, at20a}},
		{"JustBefore", at(20).Add(-time.Nanosecond), 0, []*rotor.RunRecord{zero, at10}},
		{"OnlyZero", at(9), 0, []*rotor.RunRecord{zero}},
		{"Later", at(100), 0, []*rotor.RunRecord{zero, at10, at20b, at20a, at30, at31}},
	} {
		t.Run(c.name, func(t *testing.T) {
			view(t, s, func(tx rotor.Tx) error {
				got, err := tx.DueRuns(c.now, c.limit)
				if err != nil {
					return err
				}
				sameRuns(t, "DueRuns", got, c.want)
				return nil
			})
		})
	}

	// Once started, a run is no longer due.
	started := *zero
	started.Status = rotor.RunRunning
	update(t, s, func(tx rotor.Tx) error { return tx.UpdateRun(&started) })
	view(t, s, func(tx rotor.Tx) error {
		got, err := tx.DueRuns(at(10), 0)
		if err != nil {
			return err
		}
		sameRuns(t, "DueRuns after the first was started", got, []*rotor.RunRecord{at10})
		return nil
	})
}

func testRunRunsWithStatus(t *testing.T, s rotor.Store) {
	var secs []*rotor.SecretRecord
	for i := range 4 {
		secs = append(secs, runSecret([]string{region1, region2}[i%2], fmt.Sprintf("status-%d", i), i))
	}
	createSecrets(t, s, secs...)
	runA := newRun("running-a", secs[0], rotor.RunRunning, 7)
	runB := newRun("running-b", secs[1], rotor.RunRunning, 3)
	pend := newRun("pending", secs[2], rotor.RunPending, 5)
	fail1 := newRun("failed-1", secs[0], rotor.RunFailed, 1)
	fail2 := newRun("failed-2", secs[3], rotor.RunFailed, 2)
	succ := newRun("succeeded", secs[1], rotor.RunSucceeded, 4)
	createRuns(t, s, runA, pend, fail2, runB, succ, fail1)

	view(t, s, func(tx rotor.Tx) error {
		for _, c := range []struct {
			status string
			want   []*rotor.RunRecord
		}{
			{rotor.RunRunning, []*rotor.RunRecord{runB, runA}},
			{rotor.RunPending, []*rotor.RunRecord{pend}},
			{rotor.RunFailed, []*rotor.RunRecord{fail1, fail2}},
			{rotor.RunSucceeded, []*rotor.RunRecord{succ}},
			{rotor.RunCancelled, nil},
			{"no-such-status", nil},
		} {
			got, err := tx.RunsWithStatus(c.status)
			if err != nil {
				t.Errorf("RunsWithStatus(%s): %v", c.status, err)
				continue
			}
			sameRuns(t, "RunsWithStatus("+c.status+")", got, c.want)
		}
		return nil
	})
}

func testRunRuns(t *testing.T, s rotor.Store) {
	a := runSecret(region1, "runs-a", 1)
	b := runSecret(region1, "runs-b", 2)
	c := runSecret(region2, "runs-c", 3)
	createSecrets(t, s, a, b, c)
	a1 := newRun("a1", a, rotor.RunSucceeded, 1)
	b1 := newRun("b1", b, rotor.RunSucceeded, 2)
	a2 := newRun("a2", a, rotor.RunFailed, 3)
	b2 := newRun("b2", b, rotor.RunRunning, 4)
	a3 := newRun("a3", a, rotor.RunPending, 5)
	c1 := newRun("c1", c, rotor.RunPending, 6)
	createRuns(t, s, c1, a2, b1, a3, a1, b2)

	for _, tc := range []struct {
		name                      string
		region, secretARN, status string
		limit                     int
		want                      []*rotor.RunRecord
	}{
		{"Region", region1, "", "", 0, []*rotor.RunRecord{a3, b2, a2, b1, a1}},
		{"RegionLimit", region1, "", "", 2, []*rotor.RunRecord{a3, b2}},
		{"RegionStatus", region1, "", rotor.RunSucceeded, 0, []*rotor.RunRecord{b1, a1}},
		{"RegionStatusLimit", region1, "", rotor.RunSucceeded, 1, []*rotor.RunRecord{b1}},
		{"OtherRegion", region2, "", "", 0, []*rotor.RunRecord{c1}},
		{"Secret", region1, a.ARN, "", 0, []*rotor.RunRecord{a3, a2, a1}},
		{"SecretIgnoresRegion", region2, a.ARN, "", 0, []*rotor.RunRecord{a3, a2, a1}},
		{"SecretNoRegion", "", a.ARN, "", 0, []*rotor.RunRecord{a3, a2, a1}},
		{"SecretStatus", region1, a.ARN, rotor.RunFailed, 0, []*rotor.RunRecord{a2}},
		{"SecretLimit", region1, a.ARN, "", 2, []*rotor.RunRecord{a3, a2}},
		{"SecretStatusNone", region1, b.ARN, rotor.RunPending, 0, nil},
		{"UnknownSecret", region1, a.ARN + "x", "", 0, nil},
		{"UnknownRegion", "ap-south-2", "", "", 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			view(t, s, func(tx rotor.Tx) error {
				got, err := tx.Runs(tc.region, tc.secretARN, tc.status, tc.limit)
				if err != nil {
					return err
				}
				sameRuns(t, "Runs", got, tc.want)
				return nil
			})
		})
	}
}

func testRunSteps(t *testing.T, s rotor.Store) {
	sec := runSecret(region1, "steps", 1)
	createSecrets(t, s, sec)
	run := newRun("run-steps", sec, rotor.RunRunning, 1)
	old := newRun("run-old", sec, rotor.RunFailed, 0)
	createRuns(t, s, run, old)

	want := []*rotor.StepRecord{
		{RunID: run.ID, Step: rotor.StepCreate, Attempt: 1, Started: at(10), Duration: 1500 * time.Millisecond, Outcome: "ok", Output: "created\nAWSPENDING"},
		{RunID: run.ID, Step: rotor.StepSet, Attempt: 1, Started: at(12), Duration: time.Nanosecond, Outcome: "error", Error: "setSecret: timeout", Output: ""},
		// The same Started twice: the order is the order of AddStep.
		{RunID: run.ID, Step: rotor.StepCreate, Attempt: 2, Started: at(20), Duration: 0, Outcome: "ok"},
		{RunID: run.ID, Step: rotor.StepSet, Attempt: 2, Started: at(20), Duration: 90 * time.Minute, Outcome: "ok", Output: "{\"x\": 'y'}"},
	}
	oldStep := &rotor.StepRecord{RunID: old.ID, Step: rotor.StepCreate, Attempt: 3, Started: at(1), Duration: time.Second, Outcome: "error", Error: "boom"}

	// Appended over several transactions, interleaved with another run's.
	update(t, s, func(tx rotor.Tx) error { return tx.AddStep(want[0]) })
	update(t, s, func(tx rotor.Tx) error {
		if err := tx.AddStep(oldStep); err != nil {
			return err
		}
		return tx.AddStep(want[1])
	})
	view(t, s, func(tx rotor.Tx) error {
		got, err := tx.Steps(run.ID)
		if err != nil {
			return err
		}
		sameSteps(t, "Steps after two", got, want[:2])
		return nil
	})
	update(t, s, func(tx rotor.Tx) error {
		for _, st := range want[2:] {
			if err := tx.AddStep(st); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx rotor.Tx) error {
		got, err := tx.Steps(run.ID)
		if err != nil {
			return err
		}
		sameSteps(t, "Steps", got, want)
		got, err = tx.Steps(old.ID)
		if err != nil {
			return err
		}
		sameSteps(t, "Steps(other run)", got, []*rotor.StepRecord{oldStep})
		return nil
	})

	// A run without steps has none; an unknown run is ENOTFOUND.
	fresh := newRun("run-fresh", sec, rotor.RunCancelled, 30)
	createRuns(t, s, fresh)
	view(t, s, func(tx rotor.Tx) error {
		if got, err := tx.Steps(fresh.ID); err != nil || len(got) != 0 {
			t.Errorf("Steps(run without steps) = %d, %v; want none, nil", len(got), err)
		}
		return nil
	})
	viewCode(t, s, "Steps(unknown run)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		_, err := tx.Steps("run-unknown")
		return err
	})
	updateCode(t, s, "AddStep(unknown run)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		return tx.AddStep(&rotor.StepRecord{RunID: "run-unknown", Step: rotor.StepCreate, Outcome: "ok"})
	})

	// A step added in a rolled-back transaction is not kept.
	err := s.Update(context.Background(), func(tx rotor.Tx) error {
		if err := tx.AddStep(&rotor.StepRecord{RunID: run.ID, Step: rotor.StepTest, Outcome: "ok"}); err != nil {
			return err
		}
		return errDeliberate
	})
	wantErr(t, "Update that adds a step and fails", err, errDeliberate)
	view(t, s, func(tx rotor.Tx) error {
		got, err := tx.Steps(run.ID)
		if err != nil {
			return err
		}
		sameSteps(t, "Steps after a rollback", got, want)
		return nil
	})
}

func sameSteps(t *testing.T, what string, got, want []*rotor.StepRecord) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d steps, want %d", what, len(got), len(want))
		return
	}
	for i := range got {
		if g, w := normStep(got[i]), normStep(want[i]); !reflect.DeepEqual(g, w) {
			t.Errorf("%s[%d] =\n\t%+v\nwant\n\t%+v", what, i, g, w)
		}
		checkUTC(t, what, got[i].Started)
	}
}

// wantErr fails t unless err is, or wraps, target.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: err = %v, want %v", what, err, target)
	}
}

func testRunDeleteSecretCascades(t *testing.T, s rotor.Store) {
	doomed := runSecret(region1, "doomed-runs", 1)
	kept := runSecret(region1, "kept-runs", 2)
	createSecrets(t, s, doomed, kept)
	createRuns(t, s,
		newRun("doomed-old", doomed, rotor.RunSucceeded, 1), newRun("doomed-active", doomed, rotor.RunRunning, 2),
		newRun("kept-old", kept, rotor.RunFailed, 3), newRun("kept-active", kept, rotor.RunPending, 4))
	update(t, s, func(tx rotor.Tx) error {
		for _, id := range []string{"doomed-old", "doomed-active", "kept-old", "kept-active"} {
			if err := tx.AddStep(&rotor.StepRecord{RunID: id, Step: rotor.StepCreate, Attempt: 1, Started: at(5), Outcome: "ok", Output: id}); err != nil {
				return err
			}
		}
		return nil
	})

	update(t, s, func(tx rotor.Tx) error { return tx.DeleteSecret(doomed.ARN) })

	view(t, s, func(tx rotor.Tx) error {
		for _, id := range []string{"doomed-old", "doomed-active"} {
			if _, err := tx.Run(id); rotor.ErrorCode(err) != rotor.ENOTFOUND {
				t.Errorf("Run(%s) of a deleted secret: err = %v, want ENOTFOUND", id, err)
			}
			if _, err := tx.Steps(id); rotor.ErrorCode(err) != rotor.ENOTFOUND {
				t.Errorf("Steps(%s) of a deleted secret: err = %v, want ENOTFOUND", id, err)
			}
		}
		if _, err := tx.ActiveRun(doomed.ARN); rotor.ErrorCode(err) != rotor.ENOTFOUND {
			t.Errorf("ActiveRun(deleted secret): err = %v, want ENOTFOUND", err)
		}
		if got, err := tx.Runs(region1, "", "", 0); err != nil || !slices.Equal(runIDs(got), []string{"kept-active", "kept-old"}) {
			t.Errorf("Runs(region) after delete = %v, %v; want [kept-active kept-old]", runIDs(got), err)
		}
		if got, err := tx.RunsWithStatus(rotor.RunRunning); err != nil || len(got) != 0 {
			t.Errorf("RunsWithStatus(running) after delete = %v, %v; want none", runIDs(got), err)
		}
		for _, id := range []string{"kept-old", "kept-active"} {
			steps, err := tx.Steps(id)
			if err != nil || len(steps) != 1 || steps[0].Output != id {
				t.Errorf("Steps(%s) of the kept secret = %d, %v; want its one step", id, len(steps), err)
			}
		}
		return nil
	})

	// Re-creating the secret starts without runs; the old ids are free.
	again := runSecret(region1, doomed.Name, 50)
	createSecrets(t, s, again)
	if again.ARN != doomed.ARN {
		t.Fatalf("re-created ARN %s differs from %s", again.ARN, doomed.ARN)
	}
	view(t, s, func(tx rotor.Tx) error {
		if got, err := tx.Runs("", again.ARN, "", 0); err != nil || len(got) != 0 {
			t.Errorf("Runs(re-created secret) = %v, %v; want none", runIDs(got), err)
		}
		return nil
	})
	createRuns(t, s, newRun("doomed-active", again, rotor.RunPending, 60))
	view(t, s, func(tx rotor.Tx) error {
		if steps, err := tx.Steps("doomed-active"); err != nil || len(steps) != 0 {
			t.Errorf("Steps of a new run reusing a deleted run's id = %d, %v; want none (old steps survived)", len(steps), err)
		}
		return nil
	})
}

func testRunDueRotations(t *testing.T, s rotor.Store) {
	now := at(100)
	due := dueSecret(region1, "due", at(50))
	dueNow := dueSecret(region1, "due-now", now)
	dueOtherRegion := dueSecret(region2, "due-elsewhere", at(10))
	dueFinishedRun := dueSecret(region1, "due-finished-run", at(60))
	notYet := dueSecret(region1, "not-yet", now.Add(time.Nanosecond))
	disabled := dueSecret(region1, "disabled", at(50))
	disabled.Rotation.Enabled = false
	neverConfigured := runSecret(region1, "never-configured", 0)
	neverConfigured.NextRotationDate = at(50)
	deleted := dueSecret(region1, "deleted", at(50))
	deleted.DeletedDate, deleted.PurgeDate = at(60), at(200)
	pending := dueSecret(region1, "pending-run", at(50))
	running := dueSecret(region1, "running-run", at(50))
	zeroNext := dueSecret(region1, "zero-next", time.Time{})
	createSecrets(t, s, due, dueNow, dueOtherRegion, dueFinishedRun, notYet, disabled, neverConfigured, deleted, pending, running, zeroNext)
	createRuns(t, s,
		newRun("pending", pending, rotor.RunPending, 70),
		newRun("running", running, rotor.RunRunning, 70),
		newRun("finished", dueFinishedRun, rotor.RunSucceeded, 70),
		newRun("due-history", due, rotor.RunSucceeded, 1))

	dueAt := func(tm time.Time) []string {
		t.Helper()
		var got []string
		view(t, s, func(tx rotor.Tx) (err error) {
			got, err = tx.DueRotations(tm)
			return err
		})
		slices.Sort(got)
		return got
	}
	sorted := func(secs ...*rotor.SecretRecord) []string {
		var arns []string
		for _, sec := range secs {
			arns = append(arns, sec.ARN)
		}
		slices.Sort(arns)
		return arns
	}
	for _, c := range []struct {
		name string
		now  time.Time
		want []string
	}{
		{"Now", now, sorted(due, dueNow, dueOtherRegion, dueFinishedRun)},
		{"Earlier", at(55), sorted(due, dueOtherRegion)},
		{"BeforeAll", at(9), nil},
		{"Later", now.Add(time.Nanosecond), sorted(due, dueNow, dueOtherRegion, dueFinishedRun, notYet)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := dueAt(c.now); !slices.Equal(got, c.want) {
				t.Errorf("DueRotations(%v) =\n\t%v\nwant\n\t%v", c.now, got, c.want)
			}
		})
	}

	// When the active runs end, their secrets are due again; starting a run
	// makes a secret not due.
	update(t, s, func(tx rotor.Tx) error {
		for _, id := range []string{"pending", "running"} {
			r, err := tx.Run(id)
			if err != nil {
				return err
			}
			r.Status, r.Finished = rotor.RunCancelled, at(80)
			if err := tx.UpdateRun(r); err != nil {
				return err
			}
		}
		return tx.CreateRun(newRun("started", due, rotor.RunPending, 90))
	})
	if got, want := dueAt(now), sorted(dueNow, dueOtherRegion, dueFinishedRun, pending, running); !slices.Equal(got, want) {
		t.Errorf("DueRotations after the runs changed =\n\t%v\nwant\n\t%v", got, want)
	}
}

func testRunConcurrentCreate(t *testing.T, s rotor.Store) {
	const workers = 8
	sec := runSecret(region1, "contended-runs", 1)
	createSecrets(t, s, sec)

	var wg sync.WaitGroup
	errs := make([]error, workers)
	start := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			<-start
			errs[w] = s.Update(context.Background(), func(tx rotor.Tx) error {
				return tx.CreateRun(newRun(fmt.Sprintf("run-w%d", w), sec, rotor.RunPending, w))
			})
		})
	}
	close(start)
	wg.Wait()

	winner := ""
	for w, err := range errs {
		switch {
		case err == nil:
			if winner != "" {
				t.Errorf("both %s and run-w%d were created", winner, w)
			}
			winner = fmt.Sprintf("run-w%d", w)
		default:
			wantCode(t, fmt.Sprintf("CreateRun(run-w%d)", w), err, rotor.EEXISTS)
		}
	}
	if winner == "" {
		t.Fatal("no CreateRun succeeded")
	}
	view(t, s, func(tx rotor.Tx) error {
		got, err := tx.ActiveRun(sec.ARN)
		if err != nil || got.ID != winner {
			t.Errorf("ActiveRun = %v, %v; want %s", got, err, winner)
		}
		all, err := tx.Runs("", sec.ARN, "", 0)
		if err != nil || !slices.Equal(runIDs(all), []string{winner}) {
			t.Errorf("Runs = %v, %v; want only %s", runIDs(all), err, winner)
		}
		return nil
	})
}

func testRunExpiredRuns(t *testing.T, s rotor.Store) {
	var secs []*rotor.SecretRecord
	for i := range 7 {
		secs = append(secs, runSecret([]string{region1, region2}[i%2], fmt.Sprintf("lease-%d", i), i))
	}
	createSecrets(t, s, secs...)
	leased := func(id string, sec *rotor.SecretRecord, status string, until time.Time) *rotor.RunRecord {
		r := newRun(id, sec, status, 1)
		r.Owner, r.LeaseUntil = "node-"+id, until
		return r
	}
	never := leased("running-zero", secs[0], rotor.RunRunning, time.Time{}) // claimed before leases existed
	never.Owner = ""
	at10 := leased("running-10", secs[1], rotor.RunRunning, at(10))
	at20a := leased("running-20a", secs[2], rotor.RunRunning, at(20)) // same LeaseUntil as 20b, created later
	at20a.Created = at(15)
	at20b := leased("running-20b", secs[3], rotor.RunRunning, at(20))
	at20b.Created = at(12)
	live := leased("running-30", secs[4], rotor.RunRunning, at(30))
	pending := leased("pending-5", secs[5], rotor.RunPending, at(5)) // not running: DueRuns' business
	failed := leased("failed-5", secs[6], rotor.RunFailed, at(5))
	createRuns(t, s, live, at20a, pending, never, failed, at10, at20b)

	for _, c := range []struct {
		name  string
		now   time.Time
		limit int
		want  []*rotor.RunRecord
	}{
		{"AllLapsed", at(20), 0, []*rotor.RunRecord{never, at10, at20b, at20a}},
		{"Limit", at(20), 2, []*rotor.RunRecord{never, at10}},
		{"BoundaryIncluded", at(10), 0, []*rotor.RunRecord{never, at10}},
		{"JustBefore", at(10).Add(-time.Nanosecond), 0, []*rotor.RunRecord{never}},
		{"Later", at(100), 0, []*rotor.RunRecord{never, at10, at20b, at20a, live}},
	} {
		t.Run(c.name, func(t *testing.T) {
			view(t, s, func(tx rotor.Tx) error {
				got, err := tx.ExpiredRuns(c.now, c.limit)
				if err != nil {
					return err
				}
				sameRuns(t, "ExpiredRuns", got, c.want)
				return nil
			})
		})
	}

	// A renewed lease is no longer expired; a run that stopped running is
	// not either.
	renewed := *at10
	renewed.LeaseUntil = at(50)
	ended := *never
	ended.Status, ended.Finished = rotor.RunSucceeded, at(21)
	update(t, s, func(tx rotor.Tx) error {
		if err := tx.UpdateRun(&renewed); err != nil {
			return err
		}
		return tx.UpdateRun(&ended)
	})
	view(t, s, func(tx rotor.Tx) error {
		got, err := tx.ExpiredRuns(at(40), 0)
		if err != nil {
			return err
		}
		sameRuns(t, "ExpiredRuns after a renewal and a completion", got, []*rotor.RunRecord{at20b, at20a, live})
		return nil
	})
}

func testLeaseAcquire(t *testing.T, s rotor.Store) {
	acquire := func(name, owner string, now, until time.Time) bool {
		t.Helper()
		var ok bool
		update(t, s, func(tx rotor.Tx) (err error) {
			ok, err = tx.AcquireLease(name, owner, now, until)
			return err
		})
		return ok
	}
	for _, c := range []struct {
		what        string
		name, owner string
		now, until  time.Time
		want        bool
	}{
		{"first taker", "sched", "a", at(0), at(10), true},
		{"another owner while held", "sched", "b", at(5), at(15), false},
		{"another owner one ns before expiry", "sched", "b", at(10).Add(-time.Nanosecond), at(20), false},
		{"another lease name is free", "other", "b", at(5), at(15), true},
		{"holder renews", "sched", "a", at(6), at(16), true},
		{"old expiry no longer counts", "sched", "b", at(12), at(22), false},
		{"holder may shorten", "sched", "a", at(7), at(8), true},
		{"another owner once lapsed (boundary)", "sched", "b", at(8), at(30), true},
		{"former holder is refused", "sched", "a", at(9), at(40), false},
		{"holder after its own lapse", "sched", "b", at(31), at(50), true},
	} {
		if got := acquire(c.name, c.owner, c.now, c.until); got != c.want {
			t.Errorf("%s: AcquireLease(%s, %s) = %v, want %v", c.what, c.name, c.owner, got, c.want)
		}
	}
	for _, c := range []struct{ name, owner string }{{"", "a"}, {"x", ""}} {
		updateCode(t, s, fmt.Sprintf("AcquireLease(%q, %q)", c.name, c.owner), rotor.EINVALID, func(tx rotor.Tx) error {
			_, err := tx.AcquireLease(c.name, c.owner, at(0), at(1))
			return err
		})
	}
	// A lease taken in a rolled-back transaction is not kept.
	err := s.Update(context.Background(), func(tx rotor.Tx) error {
		if ok, err := tx.AcquireLease("rolled-back", "a", at(0), at(100)); err != nil || !ok {
			return fmt.Errorf("AcquireLease = %v, %v", ok, err)
		}
		return errDeliberate
	})
	wantErr(t, "Update that takes a lease and fails", err, errDeliberate)
	if !acquire("rolled-back", "b", at(1), at(2)) {
		t.Error("a lease taken in a rolled-back transaction still holds")
	}
	// Inside View it fails.
	s.View(context.Background(), func(tx rotor.Tx) error {
		if _, err := tx.AcquireLease("in-view", "a", at(0), at(1)); err == nil {
			t.Error("AcquireLease inside View succeeded")
		}
		return nil
	})
}

// testLeaseConcurrent races owners for one free lease: exactly one wins.
func testLeaseConcurrent(t *testing.T, s rotor.Store) {
	const owners = 8
	var wg sync.WaitGroup
	won := make([]bool, owners)
	errs := make([]error, owners)
	start := make(chan struct{})
	for w := range owners {
		wg.Go(func() {
			<-start
			errs[w] = s.Update(context.Background(), func(tx rotor.Tx) (err error) {
				won[w], err = tx.AcquireLease("contended", fmt.Sprintf("owner-%d", w), at(0), at(60))
				return err
			})
		})
	}
	close(start)
	wg.Wait()
	winners := 0
	for w := range owners {
		if errs[w] != nil {
			t.Errorf("owner-%d: %v", w, errs[w])
		}
		if won[w] {
			winners++
		}
	}
	if winners != 1 {
		t.Errorf("%d owners hold the lease at once, want 1", winners)
	}
}

// testRunSummary: RunSummary counts runs by state across regions and finds
// the Finished time of the oldest failed run that no later succeeded,
// cancelled or abandoned run of the same secret resolved.
func testRunSummary(t *testing.T, s rotor.Store) {
	summary := func() *rotor.RunSummary {
		t.Helper()
		var sum *rotor.RunSummary
		view(t, s, func(tx rotor.Tx) (err error) {
			sum, err = tx.RunSummary()
			return err
		})
		return sum
	}
	if sum := summary(); sum.ByStatus == nil || len(sum.ByStatus) != 0 || !sum.OldestFailure.IsZero() {
		t.Fatalf("empty store: RunSummary = %+v, want an empty non-nil map and a zero time", sum)
	}

	secs := map[string]*rotor.SecretRecord{}
	for i, name := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		secs[name] = runSecret([]string{region1, region2}[i%2], "summary-"+name, i)
	}
	createSecrets(t, s, secs["a"], secs["b"], secs["c"], secs["d"], secs["e"], secs["f"], secs["g"], secs["h"])
	createRuns(t, s,
		newRun("a-failed", secs["a"], rotor.RunFailed, 1), // resolved by a-succeeded
		newRun("a-succeeded", secs["a"], rotor.RunSucceeded, 5),
		newRun("b-failed-1", secs["b"], rotor.RunFailed, 3), // Finished at(4); a later failure and a pending run do not resolve it
		newRun("b-failed-2", secs["b"], rotor.RunFailed, 6),
		newRun("b-pending", secs["b"], rotor.RunPending, 8),
		newRun("c-failed", secs["c"], rotor.RunFailed, 10),
		newRun("d-succeeded", secs["d"], rotor.RunSucceeded, 0),
		newRun("d-cancelled", secs["d"], rotor.RunCancelled, 9),
		newRun("e-failed", secs["e"], rotor.RunFailed, 2), // resolved by e-abandoned
		newRun("e-abandoned", secs["e"], rotor.RunAbandoned, 12),
		newRun("f-failed", secs["f"], rotor.RunFailed, 5), // Finished at(6); a running run does not resolve it
		newRun("f-running", secs["f"], rotor.RunRunning, 13),
		newRun("g-failed", secs["g"], rotor.RunFailed, 0), // resolved by g-cancelled
		newRun("g-cancelled", secs["g"], rotor.RunCancelled, 14),
		newRun("h-succeeded", secs["h"], rotor.RunSucceeded, -5), // before the failure: resolves nothing
		newRun("h-failed", secs["h"], rotor.RunFailed, -3),       // Finished at(-2): the oldest unresolved
	)
	sum := summary()
	wantCounts := map[string]int{rotor.RunFailed: 8, rotor.RunSucceeded: 3, rotor.RunCancelled: 2,
		rotor.RunAbandoned: 1, rotor.RunPending: 1, rotor.RunRunning: 1}
	if !reflect.DeepEqual(sum.ByStatus, wantCounts) {
		t.Errorf("ByStatus = %v, want %v", sum.ByStatus, wantCounts)
	}
	if !sum.OldestFailure.Equal(at(-2)) {
		t.Errorf("OldestFailure = %v, want %v (h-failed: an earlier success does not resolve it)", sum.OldestFailure, at(-2))
	}

	createRuns(t, s, newRun("h-succeeded-later", secs["h"], rotor.RunSucceeded, 30))
	if got := summary().OldestFailure; !got.Equal(at(4)) {
		t.Errorf("after h succeeded: OldestFailure = %v, want %v (b-failed-1)", got, at(4))
	}
	done := getRun(t, s, "b-pending")
	done.Status, done.Finished = rotor.RunSucceeded, at(31)
	update(t, s, func(tx rotor.Tx) error { return tx.UpdateRun(done) })
	if got := summary().OldestFailure; !got.Equal(at(6)) {
		t.Errorf("after b succeeded: OldestFailure = %v, want %v (f-failed)", got, at(6))
	}
	for _, id := range []string{"c-failed", "f-failed"} {
		r := getRun(t, s, id)
		update(t, s, func(tx rotor.Tx) error { return tx.DeleteSecret(r.SecretARN) })
	}
	if sum := summary(); !sum.OldestFailure.IsZero() || sum.ByStatus[rotor.RunFailed] != 6 {
		t.Errorf("with every failure resolved or its secret deleted: %+v, want 6 failed runs and a zero time", sum)
	}
}

// testLatestFailedRuns: the failed runs that are the latest of their
// secret, per region, newest first with ties by ID, whole and page by
// page; a failed run followed by any later run (even a pending one) is
// left out, and of two runs created at once the greater ID is the latest.
func testLatestFailedRuns(t *testing.T, s rotor.Store) {
	var secs []*rotor.SecretRecord
	for _, name := range []string{"a", "b", "c", "e", "f", "g"} {
		secs = append(secs, runSecret(region1, "latest-"+name, 1))
	}
	d := runSecret(region2, "latest-d", 1)
	createSecrets(t, s, append(secs, d)...)
	a, b, c, e, f, g := secs[0], secs[1], secs[2], secs[3], secs[4], secs[5]
	a1 := newRun("a1", a, rotor.RunFailed, 1)
	a2 := newRun("a2", a, rotor.RunSucceeded, 3) // resolves a1
	b1 := newRun("b1", b, rotor.RunSucceeded, 2)
	b2 := newRun("b2", b, rotor.RunFailed, 4)
	c1 := newRun("c1", c, rotor.RunFailed, 5)
	e1 := newRun("e1", e, rotor.RunFailed, 6)
	e2 := newRun("e2", e, rotor.RunPending, 7) // a retry under way
	f1 := newRun("f1", f, rotor.RunFailed, 8)
	f2 := newRun("f2", f, rotor.RunFailed, 8) // same Created: the greater ID is the latest
	g1 := newRun("g1", g, rotor.RunFailed, 5) // ties with c1, greater ID first
	d1 := newRun("d1", d, rotor.RunFailed, 9)
	createRuns(t, s, g1, a2, f1, d1, c1, b1, e2, a1, f2, b2, e1)

	latest := func(region string, after *rotor.RunCursor, limit int) []*rotor.RunRecord {
		t.Helper()
		var got []*rotor.RunRecord
		view(t, s, func(tx rotor.Tx) (err error) {
			got, err = tx.LatestFailedRuns(region, after, limit)
			return err
		})
		return got
	}
	want := []*rotor.RunRecord{f2, g1, c1, b2}
	sameRuns(t, "LatestFailedRuns(region1)", latest(region1, nil, 100), want)
	sameRuns(t, "LatestFailedRuns(region2)", latest(region2, nil, 100), []*rotor.RunRecord{d1})
	if got := latest("ap-south-2", nil, 100); got == nil || len(got) != 0 {
		t.Errorf("LatestFailedRuns(unknown region) = %v, want an empty slice", got)
	}
	for limit := 1; limit <= 3; limit++ {
		var paged []*rotor.RunRecord
		var after *rotor.RunCursor
		for n := 0; n <= len(want); n++ {
			page := latest(region1, after, limit)
			if len(page) > limit {
				t.Fatalf("LatestFailedRuns(limit %d) returned %d runs", limit, len(page))
			}
			paged = append(paged, page...)
			if len(page) < limit {
				break
			}
			last := page[len(page)-1]
			after = &rotor.RunCursor{Created: last.Created, ID: last.ID}
		}
		if g, w := runIDs(paged), runIDs(want); !slices.Equal(g, w) {
			t.Errorf("LatestFailedRuns by pages of %d = %v, want %v", limit, g, w)
		}
	}
	// A cursor need not be a run's position.
	sameRuns(t, "LatestFailedRuns(after c1's time, id \"d\")", latest(region1, &rotor.RunCursor{Created: at(5), ID: "d"}, 100),
		[]*rotor.RunRecord{c1, b2})
	// A retried run that fails again is listed again; one that succeeds is not.
	e2.Status, e2.Finished = rotor.RunFailed, at(10)
	update(t, s, func(tx rotor.Tx) error { return tx.UpdateRun(e2) })
	sameRuns(t, "LatestFailedRuns after e2 failed", latest(region1, nil, 100), []*rotor.RunRecord{f2, e2, g1, c1, b2})
	viewCode(t, s, "limit 0", rotor.EINVALID, func(tx rotor.Tx) error {
		_, err := tx.LatestFailedRuns(region1, nil, 0)
		return err
	})
}
