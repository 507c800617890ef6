package manager_test

import (
	"context"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/manager"
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
