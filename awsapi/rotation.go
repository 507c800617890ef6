package awsapi

import (
	"context"

	"github.com/rotorhq/rotor"
)

// Rotation: RotateSecret, CancelRotateSecret (served by Handler.Rotation).

// Range of RotationRules.AutomaticallyAfterDays (the model's
// AutomaticallyRotateAfterDaysType).
const (
	minRotationDays = 1
	maxRotationDays = 1000
)

// tokenRequiredMessage is AWS's answer to a raw request without a
// ClientRequestToken (aws-api.md §1.7).
const tokenRequiredMessage = "You must provide a ClientRequestToken value. We recommend a UUID-type value."

type rotateSecretRequest struct {
	SecretID                       *string                    `json:"SecretId"`
	ClientRequestToken             *string                    `json:"ClientRequestToken"`
	RotationLambdaARN              *string                    `json:"RotationLambdaARN"`
	RotationRules                  *rotationRulesRequest      `json:"RotationRules"`
	ExternalSecretRotationMetadata []externalRotationMetadata `json:"ExternalSecretRotationMetadata"`
	ExternalSecretRotationRoleArn  *string                    `json:"ExternalSecretRotationRoleArn"`
	RotateImmediately              *bool                      `json:"RotateImmediately"`
}

// rotationRulesRequest is RotationRulesType in a request, where an explicit
// AutomaticallyAfterDays must be told apart from an absent one.
type rotationRulesRequest struct {
	AutomaticallyAfterDays *int64  `json:"AutomaticallyAfterDays"`
	Duration               *string `json:"Duration"`
	ScheduleExpression     *string `json:"ScheduleExpression"`
}

type externalRotationMetadata struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// rotateSecretInput is RotateSecret's input shape with the model's range
// (1-1000) taken off RotationRules.AutomaticallyAfterDays: the domain uses 0
// for "unset", so an explicit 0 must be refused rather than passed on, and
// AWS refuses an out-of-range value as InvalidParameterException, which
// rotateSecret answers after the model's other checks.
var rotateSecretInput = func() *shape {
	in := secretsManagerModel.Inputs["RotateSecret"]
	rules := in.member("RotationRules")
	if rules == nil || rules.member("AutomaticallyAfterDays") == nil {
		panic("awsapi: the model's RotateSecret input has no RotationRules.AutomaticallyAfterDays")
	}
	days := *rules.member("AutomaticallyAfterDays")
	days.Min, days.Max = nil, nil
	return withMember(in, "RotationRules", withMember(rules, "AutomaticallyAfterDays", &days))
}()

// withMember returns a copy of the structure s whose member name has shape
// ms; s itself is not changed.
func withMember(s *shape, name string, ms *shape) *shape {
	c := *s
	c.Members = make([]member, len(s.Members))
	for i, m := range s.Members {
		if m.Name == name {
			m.Shape = ms
		}
		c.Members[i] = m
	}
	return &c
}

// rotateSecret checks, in this order, what the model cannot say: a
// ClientRequestToken is present (AWS demands it of raw requests; the SDKs
// and the CLI always send one), AutomaticallyAfterDays is within 1-1000 (both
// InvalidParameterException), and no managed-external-secret member is used
// (InvalidRequestException); then it calls Handler.Rotation.
func (h *Handler) rotateSecret(ctx context.Context, in *rotateSecretRequest) (any, error) {
	if in.ClientRequestToken == nil {
		return nil, rotor.Errorf(rotor.EINVALID, tokenRequiredMessage)
	}
	var rules *rotor.RotationRules
	if r := in.RotationRules; r != nil {
		rules = &rotor.RotationRules{Duration: str(r.Duration), ScheduleExpression: str(r.ScheduleExpression)}
		if d := r.AutomaticallyAfterDays; d != nil {
			if *d < minRotationDays || *d > maxRotationDays {
				return nil, rotor.Errorf(rotor.EINVALID, "RotationRules.AutomaticallyAfterDays must be within %d-%d.", minRotationDays, maxRotationDays)
			}
			rules.AutomaticallyAfterDays = *d
		}
	}
	if in.ExternalSecretRotationMetadata != nil || in.ExternalSecretRotationRoleArn != nil {
		// Accepting and dropping them would be a silent partial success.
		return nil, rotor.Errorf(rotor.EUNSUPPORTED, "managed external secrets are not available in this version of Rotor yet.")
	}
	out, err := result(h.Rotation.RotateSecret(ctx, rotor.RotateSecretInput{
		SecretID:           str(in.SecretID),
		ClientRequestToken: *in.ClientRequestToken,
		RotationLambdaARN:  str(in.RotationLambdaARN),
		RotationRules:      rules,
		RotateImmediately:  in.RotateImmediately,
	}))
	if err != nil {
		return nil, err
	}
	return versionResponse{ARN: out.ARN, Name: out.Name, VersionID: out.VersionID}, nil
}

// cancelRotateSecret answers {ARN, Name, VersionId}, VersionId left out when
// no run was stopped.
func (h *Handler) cancelRotateSecret(ctx context.Context, in *secretIDRequest) (any, error) {
	out, err := result(h.Rotation.CancelRotateSecret(ctx, str(in.SecretID)))
	if err != nil {
		return nil, err
	}
	return versionResponse{ARN: out.ARN, Name: out.Name, VersionID: out.VersionID}, nil
}
