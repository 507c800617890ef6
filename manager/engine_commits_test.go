package manager_test

import (
	"context"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/manager"
	"github.com/rotorhq/rotor/rotation"
)

// TestEngineBookkeepingTransactions counts the write transactions of one
// rotation run by the real engine: besides the function's own two writes
// (PutSecretValue in createSecret, UpdateSecretVersionStage in
// finishSecret) the engine's claim, step records and completion take at
// most 3, and the history still holds all four steps.
func TestEngineBookkeepingTransactions(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t, func(_ *rotEnv, c *manager.Config) { c.AccessFlushInterval = time.Hour })
	eng := newEngine(t, r)
	r.setInvoke(singleUser(r, "rotated-secret"))
	created := r.create(t, "db", "initial-secret")
	r.rotate(t, "db", "", nil)
	start := r.store.updates.Load()
	if n, err := eng.RunDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("RunDue = %d, %v", n, err)
	}
	const functionWrites = 2
	if n := r.store.updates.Load() - start - functionWrites; n > 3 {
		t.Errorf("the engine used %d write transactions for one run, want at most 3", n)
	}
	hist, err := r.svc.RotationHistory(r.ctx, created.ARN, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Run.Status != rotor.RunSucceeded || len(hist[0].Steps) != 4 {
		t.Fatalf("history = %+v", hist)
	}
	for i, st := range hist[0].Steps {
		if st.Step != rotor.Steps[i] || st.Outcome != "ok" {
			t.Fatalf("step %d = %+v", i, st)
		}
	}
}

// TestEngineHandoffSkipsTheClaim: with the engine running and offering
// room (Config.OfferRun), RotateSecret creates its run already claimed by
// that engine, which starts it at once: the run costs the engine 2 write
// transactions (the record after setSecret and the completion), no claim.
func TestEngineHandoffSkipsTheClaim(t *testing.T) {
	t.Parallel()
	var eng *rotation.Engine
	r := newRotEnv(t, func(_ *rotEnv, c *manager.Config) {
		c.AccessFlushInterval = time.Hour
		c.OfferRun = func() *rotation.Handoff { return eng.Offer() }
	})
	eng = newEngine(t, r)
	eng.PollInterval = time.Hour // only the handoff can start the run
	r.setInvoke(singleUser(r, "rotated-secret"))
	r.create(t, "db", "initial-secret")
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	t.Cleanup(func() { stop(); <-done })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if h := eng.Offer(); h != nil { // the engine runs
			h.Release()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the engine never offered room")
		}
	}

	start := r.store.updates.Load()
	r.rotate(t, "db", "", nil)
	run := r.onlyRun(t, "db")
	if run.Owner != eng.ID() || run.Status == rotor.RunPending {
		t.Fatalf("run after RotateSecret = %+v, want it claimed by %s", run, eng.ID())
	}
	for deadline := time.Now().Add(10 * time.Second); run.Status != rotor.RunSucceeded; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) || !run.Active() {
			t.Fatalf("run = %+v, want it to succeed", run)
		}
		run = r.onlyRun(t, "db")
	}
	const rotateSecret, functionWrites = 1, 2
	if n := r.store.updates.Load() - start - rotateSecret - functionWrites; n != 2 {
		t.Errorf("the engine used %d write transactions for a handed-over run, want 2", n)
	}
	if r.queuedCount() != 0 {
		t.Errorf("OnRunQueued called %d times for a run handed over", r.queuedCount())
	}
}
