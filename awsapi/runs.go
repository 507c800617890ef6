package awsapi

import (
	"context"

	"github.com/rotorhq/rotor"
)

// Rotor's rotation-run operations (served by Handler.Runs): ListRotationRuns,
// RotationHistory, AbandonRotation. Only admins may call them; the service
// behind Handler.Runs decides.

// ListRotationRunsInput is rotor.ListRotationRuns' request. Every member is
// optional: SecretId (a name or ARN) limits the list to one secret, Status to
// runs in one state (pending, running, succeeded, failed, cancelled or
// abandoned), MaxResults (1-MaxRunResults) to that many runs.
type ListRotationRunsInput struct {
	SecretID   string `json:"SecretId,omitempty"`
	Status     string `json:"Status,omitempty"`
	MaxResults int    `json:"MaxResults,omitempty"`
}

// ListRotationRunsOutput is rotor.ListRotationRuns' response: the runs,
// newest first ([] when there are none).
type ListRotationRunsOutput struct {
	Runs []Run `json:"Runs"`
}

// RotationHistoryInput is rotor.RotationHistory's request: the secret
// (required) and at most MaxResults (1-MaxRunResults) of its runs.
type RotationHistoryInput struct {
	SecretID   string `json:"SecretId"`
	MaxResults int    `json:"MaxResults,omitempty"`
}

// RotationHistoryOutput is rotor.RotationHistory's response: the secret's
// runs with their steps, newest run first ([] when there are none).
type RotationHistoryOutput struct {
	Runs []RunHistory `json:"Runs"`
}

// RunHistory is one run with its step invocations, oldest first ([] when
// none ran yet).
type RunHistory struct {
	Run   Run    `json:"Run"`
	Steps []Step `json:"Steps"`
}

// AbandonRotationInput is rotor.AbandonRotation's request: the secret whose
// failed or cancelled rotation is cleaned up.
type AbandonRotationInput struct {
	SecretID string `json:"SecretId"`
}

// AbandonRotationOutput is rotor.AbandonRotation's response. VersionId is
// the version of the run that was stopped or whose AWSPENDING label was
// removed, left out when there was none.
type AbandonRotationOutput struct {
	ARN       string `json:"ARN,omitempty"`
	Name      string `json:"Name,omitempty"`
	VersionID string `json:"VersionId,omitempty"`
}

// Run is one rotation run (rotor.RunRecord) on the wire. VersionId is the
// ClientRequestToken being rotated to; Kind is "rotate" or "test"; Status is
// one of pending, running, succeeded, failed, cancelled, abandoned; Step is
// the step to run next (or running now); Attempt is 1-based. Timestamps are
// left out when unset (Finished of an active run, for one); the other
// members are always present.
type Run struct {
	RunID       string    `json:"RunId"`
	SecretARN   string    `json:"SecretARN"`
	Region      string    `json:"Region"`
	VersionID   string    `json:"VersionId"`
	Kind        string    `json:"Kind"`
	FunctionARN string    `json:"FunctionARN"`
	Status      string    `json:"Status"`
	Step        string    `json:"Step"`
	Attempt     int       `json:"Attempt"`
	MaxAttempts int       `json:"MaxAttempts"`
	NextAttempt Timestamp `json:"NextAttempt,omitzero"`
	LastError   string    `json:"LastError"`
	Created     Timestamp `json:"Created,omitzero"`
	Updated     Timestamp `json:"Updated,omitzero"`
	Finished    Timestamp `json:"Finished,omitzero"`
}

// Step is one invocation of one rotation step (rotor.StepRecord) on the
// wire: Step is createSecret, setSecret, testSecret or finishSecret; Outcome
// is "ok" or "error"; DurationMillis is the invocation's duration in
// milliseconds; Error and Output are already scrubbed of secret values by
// the engine. Started is left out when unset.
type Step struct {
	Step           string    `json:"Step"`
	Attempt        int       `json:"Attempt"`
	Started        Timestamp `json:"Started,omitzero"`
	DurationMillis int64     `json:"DurationMillis"`
	Outcome        string    `json:"Outcome"`
	Error          string    `json:"Error"`
	Output         string    `json:"Output"`
}

func runToWire(r *rotor.RunRecord) Run {
	return Run{
		RunID:       r.ID,
		SecretARN:   r.SecretARN,
		Region:      r.Region,
		VersionID:   r.Token,
		Kind:        r.Kind,
		FunctionARN: r.FunctionARN,
		Status:      r.Status,
		Step:        r.Step,
		Attempt:     r.Attempt,
		MaxAttempts: r.MaxAttempts,
		NextAttempt: at(r.NextAttempt),
		LastError:   r.LastError,
		Created:     at(r.Created),
		Updated:     at(r.Updated),
		Finished:    at(r.Finished),
	}
}

func stepToWire(s *rotor.StepRecord) Step {
	return Step{
		Step:           s.Step,
		Attempt:        s.Attempt,
		Started:        at(s.Started),
		DurationMillis: s.Duration.Milliseconds(),
		Outcome:        s.Outcome,
		Error:          s.Error,
		Output:         s.Output,
	}
}

func (h *Handler) listRotationRuns(ctx context.Context, in *ListRotationRunsInput) (any, error) {
	runs, err := h.Runs.ListRotationRuns(ctx, rotor.RunFilter{SecretID: in.SecretID, Status: in.Status, Limit: in.MaxResults})
	if err != nil {
		return nil, err
	}
	out := ListRotationRunsOutput{Runs: make([]Run, len(runs))}
	for i := range runs {
		out.Runs[i] = runToWire(&runs[i])
	}
	return out, nil
}

func (h *Handler) rotationHistory(ctx context.Context, in *RotationHistoryInput) (any, error) {
	hist, err := h.Runs.RotationHistory(ctx, in.SecretID, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := RotationHistoryOutput{Runs: make([]RunHistory, len(hist))}
	for i := range hist {
		rh := RunHistory{Run: runToWire(&hist[i].Run), Steps: make([]Step, len(hist[i].Steps))}
		for j := range hist[i].Steps {
			rh.Steps[j] = stepToWire(&hist[i].Steps[j])
		}
		out.Runs[i] = rh
	}
	return out, nil
}

func (h *Handler) abandonRotation(ctx context.Context, in *AbandonRotationInput) (any, error) {
	out, err := result(h.Runs.AbandonRotation(ctx, in.SecretID))
	if err != nil {
		return nil, err
	}
	return AbandonRotationOutput{ARN: out.ARN, Name: out.Name, VersionID: out.VersionID}, nil
}
