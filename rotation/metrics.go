package rotation

import (
	"time"

	"github.com/rotorhq/rotor"
)

// Metrics is told what the engine does (Engine.Metrics), so a metrics
// package can count it without this package depending on it. Its methods
// must be cheap and safe for concurrent use.
type Metrics interface {
	// ObserveStep records one step: step is createSecret, setSecret,
	// testSecret or finishSecret; outcome is StepOK, StepFailed or
	// StepStopped; d is how long it took.
	ObserveStep(step, outcome string, d time.Duration)
	// ObserveAttempt records how one attempt of a run ended, once that
	// is recorded in the run: one of AttemptSucceeded, AttemptFailed (the
	// run failed for good), AttemptRetried (another attempt is scheduled)
	// or AttemptStopped (the run was cancelled, abandoned or taken over, or
	// the attempt's outcome could not be recorded).
	ObserveAttempt(result string)
	// ObserveLag records how late the engine started an attempt: from
	// when it was due (rotor.RunRecord.NextAttempt) to when it was claimed.
	ObserveLag(d time.Duration)
}

// Step outcomes given to Metrics.ObserveStep.
const (
	StepOK      = "ok"
	StepFailed  = "failed"
	StepStopped = "stopped"
)

// Attempt results given to Metrics.ObserveAttempt.
const (
	AttemptSucceeded = "succeeded"
	AttemptFailed    = "failed"
	AttemptRetried   = "retried"
	AttemptStopped   = "stopped"
)

// observeStep tells Metrics about a step that began at started and ended
// with the audit code (see auditStep): "" for success.
func (e *Engine) observeStep(step, code string, started time.Time) {
	if e.Metrics == nil {
		return
	}
	outcome := StepOK
	switch code {
	case auditStepFailed:
		outcome = StepFailed
	case auditRunStopped:
		outcome = StepStopped
	}
	e.Metrics.ObserveStep(step, outcome, e.now().Sub(started))
}

// observeAttempt tells Metrics how an attempt ended.
func (e *Engine) observeAttempt(result string) {
	if e.Metrics != nil {
		e.Metrics.ObserveAttempt(result)
	}
}

// observeLag tells Metrics how long run waited past its due time before
// this attempt was claimed (Updated is the claim time).
func (e *Engine) observeLag(run rotor.RunRecord) {
	if e.Metrics != nil && !run.NextAttempt.IsZero() {
		e.Metrics.ObserveLag(max(run.Updated.Sub(run.NextAttempt), 0))
	}
}
