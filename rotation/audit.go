package rotation

import (
	"context"
	"encoding/json"
	"time"

	"github.com/rotorhq/rotor"
)

// Audit error codes of rotation steps (CloudTrail's errorCode).
const (
	auditStepFailed = "RotationStepFailed" // the function failed the step, or its record could not be stored
	auditRunStopped = "RotationRunStopped" // the run was cancelled or abandoned
)

// auditBegin reserves room for a step's record; it returns the Auditor's
// EUNAVAILABLE refusal, which stops the step before it runs.
func (e *Engine) auditBegin(ctx context.Context) (bool, error) {
	if e.Audit == nil {
		return false, nil
	}
	return e.Audit.Begin(ctx)
}

// stepParameters is a step record's requestParameters: the event the
// function receives, and the run it belongs to. It never holds a value.
type stepParameters struct {
	SecretID           string `json:"secretId"`
	ClientRequestToken string `json:"clientRequestToken"`
	Step               string `json:"step"`
	RotationLambdaARN  string `json:"rotationLambdaARN"`
	RunID              string `json:"runId"`
	Attempt            int    `json:"attempt"`
}

// auditStep records one step: code "" for success, else auditStepFailed or
// auditRunStopped with msg, which is already scrubbed of secret values.
func (e *Engine) auditStep(run rotor.RunRecord, step string, started time.Time, code, msg string, reserved bool) {
	if e.Audit == nil {
		return
	}
	params, _ := json.Marshal(stepParameters{SecretID: run.SecretARN, ClientRequestToken: run.Token, Step: step,
		RotationLambdaARN: run.FunctionARN, RunID: run.ID, Attempt: run.Attempt})
	e.Audit.Record(rotor.AuditRecord{
		Time: started, Source: rotor.AuditSourceRotation, Name: step, RequestID: run.ID + "/" + step, Region: run.Region,
		Parameters: params, ARN: run.SecretARN, VersionID: run.Token, ErrorCode: code, ErrorMessage: msg,
	}, reserved)
}
