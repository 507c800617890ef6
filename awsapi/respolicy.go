package awsapi

import (
	"context"

	"github.com/rotorhq/rotor"
)

// Resource policies: PutResourcePolicy, GetResourcePolicy,
// DeleteResourcePolicy, ValidateResourcePolicy.

type putResourcePolicyRequest struct {
	SecretID          *string `json:"SecretId"`
	ResourcePolicy    *string `json:"ResourcePolicy"`
	BlockPublicPolicy *bool   `json:"BlockPublicPolicy"`
}

func (h *Handler) putResourcePolicy(ctx context.Context, in *putResourcePolicyRequest) (any, error) {
	out, err := result(h.Secrets.PutResourcePolicy(ctx, rotor.PutResourcePolicyInput{
		SecretID:          str(in.SecretID),
		ResourcePolicy:    str(in.ResourcePolicy),
		BlockPublicPolicy: in.BlockPublicPolicy != nil && *in.BlockPublicPolicy, // AWS's default: false
	}))
	if err != nil {
		return nil, err
	}
	return refResponse{ARN: out.ARN, Name: out.Name}, nil
}

// getResourcePolicyResponse leaves ResourcePolicy out when the secret has
// none, as AWS does.
type getResourcePolicyResponse struct {
	ARN            string `json:"ARN,omitempty"`
	Name           string `json:"Name,omitempty"`
	ResourcePolicy string `json:"ResourcePolicy,omitempty"`
}

func (h *Handler) getResourcePolicy(ctx context.Context, in *secretIDRequest) (any, error) {
	out, err := result(h.Secrets.GetResourcePolicy(ctx, str(in.SecretID)))
	if err != nil {
		return nil, err
	}
	return getResourcePolicyResponse{ARN: out.ARN, Name: out.Name, ResourcePolicy: out.Policy}, nil
}

func (h *Handler) deleteResourcePolicy(ctx context.Context, in *secretIDRequest) (any, error) {
	out, err := result(h.Secrets.DeleteResourcePolicy(ctx, str(in.SecretID)))
	if err != nil {
		return nil, err
	}
	return refResponse{ARN: out.ARN, Name: out.Name}, nil
}

type validateResourcePolicyRequest struct {
	SecretID       *string `json:"SecretId"`
	ResourcePolicy *string `json:"ResourcePolicy"`
}

// validateResourcePolicyResponse always carries PolicyValidationPassed and
// ValidationErrors ([] when there are none).
type validateResourcePolicyResponse struct {
	PolicyValidationPassed bool                  `json:"PolicyValidationPassed"`
	ValidationErrors       []wireValidationError `json:"ValidationErrors"`
}

type wireValidationError struct {
	CheckName    string `json:"CheckName,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

func (h *Handler) validateResourcePolicy(ctx context.Context, in *validateResourcePolicyRequest) (any, error) {
	out, err := result(h.Secrets.ValidateResourcePolicy(ctx, rotor.ValidateResourcePolicyInput{
		SecretID:       str(in.SecretID),
		ResourcePolicy: str(in.ResourcePolicy),
	}))
	if err != nil {
		return nil, err
	}
	resp := validateResourcePolicyResponse{PolicyValidationPassed: out.Passed, ValidationErrors: make([]wireValidationError, len(out.Errors))}
	for i, e := range out.Errors {
		resp.ValidationErrors[i] = wireValidationError{CheckName: e.Check, ErrorMessage: e.Message}
	}
	return resp, nil
}
