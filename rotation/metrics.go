package rotation

import "time"

// Metrics is told what the engine does (Engine.Metrics), so a metrics
// package can count it without this package depending on it. Its methods
// must be cheap and safe for concurrent use.
type Metrics interface {
	// ObserveStep records one step: step is createSecret, setSecret,
	// testSecret or finishSecret; outcome is StepOK, StepFailed or
	// StepStopped; d is how long it took.
	ObserveStep(step, outcome string, d time.Duration)
	// ObserveAttempt records how one attempt of a run ended: one of
	// AttemptSucceeded, AttemptFailed (the run failed for good),
	// AttemptRetried (another attempt is scheduled) or AttemptStopped (the
	// run was cancelled or abandoned).
	ObserveAttempt(result string)
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
