package awsapi

import (
	"context"

	"github.com/rotorhq/rotor"
)

// Values and versions: GetSecretValue, BatchGetSecretValue, PutSecretValue,
// ListSecretVersionIds, UpdateSecretVersionStage.

type getSecretValueRequest struct {
	SecretID     *string `json:"SecretId"`
	VersionID    *string `json:"VersionId"`
	VersionStage *string `json:"VersionStage"`
}

// secretValueEntry is GetSecretValue's output and one BatchGetSecretValue
// value. Exactly the member holding the value is present; SecretBinary is
// base64 on the wire.
type secretValueEntry struct {
	ARN           string    `json:"ARN,omitempty"`
	Name          string    `json:"Name,omitempty"`
	VersionID     string    `json:"VersionId,omitempty"`
	SecretBinary  []byte    `json:"SecretBinary,omitempty"`
	SecretString  *string   `json:"SecretString,omitempty"`
	VersionStages []string  `json:"VersionStages,omitempty"`
	CreatedDate   Timestamp `json:"CreatedDate,omitzero"`
}

func valueToWire(v *rotor.SecretValue) secretValueEntry {
	return secretValueEntry{
		ARN:           v.ARN,
		Name:          v.Name,
		VersionID:     v.VersionID,
		SecretBinary:  v.Value.Binary,
		SecretString:  v.Value.String,
		VersionStages: sortedStages(v.Stages),
		CreatedDate:   at(v.CreatedDate),
	}
}

func (h *Handler) getSecretValue(ctx context.Context, in *getSecretValueRequest) (any, error) {
	out, err := result(h.Secrets.GetSecretValue(ctx, rotor.GetSecretValueInput{
		SecretID:     str(in.SecretID),
		VersionID:    str(in.VersionID),
		VersionStage: str(in.VersionStage),
	}))
	if err != nil {
		return nil, err
	}
	return secretValueOutput{out}, nil
}

// secretValueOutput is GetSecretValue's output: the manager's result,
// encoded as its secretValueEntry. A struct of one pointer is stored in an
// interface as the pointer itself, so returning it as the handler's "any"
// allocates nothing, where the secretValueEntry would be copied to the
// heap.
type secretValueOutput struct{ v *rotor.SecretValue }

func (o secretValueOutput) appendJSON(b []byte) []byte { return valueToWire(o.v).appendJSON(b) }

type batchGetSecretValueRequest struct {
	SecretIDList []string     `json:"SecretIdList"`
	Filters      []wireFilter `json:"Filters"`
	MaxResults   *int32       `json:"MaxResults"`
	NextToken    *string      `json:"NextToken"`
}

// wireBatchError is APIErrorType: ErrorCode is the AWS exception name from
// the same table as whole-request errors.
type wireBatchError struct {
	SecretID  string `json:"SecretId,omitempty"`
	ErrorCode string `json:"ErrorCode,omitempty"`
	Message   string `json:"Message,omitempty"`
}

type batchGetSecretValueResponse struct {
	SecretValues []secretValueEntry `json:"SecretValues"`
	Errors       []wireBatchError   `json:"Errors"`
	NextToken    string             `json:"NextToken,omitempty"`
}

func (h *Handler) batchGetSecretValue(ctx context.Context, in *batchGetSecretValueRequest) (any, error) {
	out, err := result(h.Secrets.BatchGetSecretValue(ctx, rotor.BatchGetSecretValueInput{
		SecretIDs:  in.SecretIDList,
		Filters:    filtersFromWire(in.Filters),
		MaxResults: maxResults(in.MaxResults),
		NextToken:  str(in.NextToken),
	}))
	if err != nil {
		return nil, err
	}
	resp := batchGetSecretValueResponse{
		SecretValues: make([]secretValueEntry, len(out.Values)),
		Errors:       make([]wireBatchError, len(out.Errors)),
		NextToken:    out.NextToken,
	}
	for i := range out.Values {
		resp.SecretValues[i] = valueToWire(&out.Values[i])
	}
	for i, e := range out.Errors {
		ex := exceptionFor(e.Code)
		msg := e.Message
		if ex.Type == typeInternal {
			msg = internalMessage
		}
		resp.Errors[i] = wireBatchError{SecretID: e.SecretID, ErrorCode: ex.Type, Message: msg}
	}
	return resp, nil
}

type putSecretValueRequest struct {
	SecretID           *string  `json:"SecretId"`
	ClientRequestToken *string  `json:"ClientRequestToken"`
	SecretBinary       []byte   `json:"SecretBinary"`
	SecretString       *string  `json:"SecretString"`
	VersionStages      []string `json:"VersionStages"`
	RotationToken      *string  `json:"RotationToken"`
}

func (h *Handler) putSecretValue(ctx context.Context, in *putSecretValueRequest) (any, error) {
	out, err := result(h.Secrets.PutSecretValue(ctx, rotor.PutSecretValueInput{
		SecretID:           str(in.SecretID),
		ClientRequestToken: str(in.ClientRequestToken),
		Value:              valueFromWire(in.SecretString, in.SecretBinary),
		Stages:             in.VersionStages,
		RotationToken:      str(in.RotationToken),
	}))
	if err != nil {
		return nil, err
	}
	return versionResponse{ARN: out.ARN, Name: out.Name, VersionID: out.VersionID, VersionStages: sortedStages(out.Stages)}, nil
}

type listSecretVersionIdsRequest struct {
	SecretID          *string `json:"SecretId"`
	MaxResults        *int32  `json:"MaxResults"`
	NextToken         *string `json:"NextToken"`
	IncludeDeprecated *bool   `json:"IncludeDeprecated"`
}

// secretVersionsListEntry leaves VersionStages out for a deprecated
// (unlabelled) version, as AWS does.
type secretVersionsListEntry struct {
	VersionID        string    `json:"VersionId,omitempty"`
	VersionStages    []string  `json:"VersionStages,omitempty"`
	LastAccessedDate Timestamp `json:"LastAccessedDate,omitzero"`
	CreatedDate      Timestamp `json:"CreatedDate,omitzero"`
	KmsKeyIDs        []string  `json:"KmsKeyIds,omitempty"`
}

type listSecretVersionIdsResponse struct {
	Versions  []secretVersionsListEntry `json:"Versions"`
	NextToken string                    `json:"NextToken,omitempty"`
	ARN       string                    `json:"ARN,omitempty"`
	Name      string                    `json:"Name,omitempty"`
}

func (h *Handler) listSecretVersionIds(ctx context.Context, in *listSecretVersionIdsRequest) (any, error) {
	out, err := result(h.Secrets.ListSecretVersionIds(ctx, rotor.ListSecretVersionIdsInput{
		SecretID:          str(in.SecretID),
		MaxResults:        maxResults(in.MaxResults),
		NextToken:         str(in.NextToken),
		IncludeDeprecated: in.IncludeDeprecated != nil && *in.IncludeDeprecated,
	}))
	if err != nil {
		return nil, err
	}
	resp := listSecretVersionIdsResponse{
		Versions:  make([]secretVersionsListEntry, len(out.Versions)),
		NextToken: out.NextToken,
		ARN:       out.ARN,
		Name:      out.Name,
	}
	for i, v := range out.Versions {
		resp.Versions[i] = secretVersionsListEntry{
			VersionID:        v.VersionID,
			VersionStages:    sortedStages(v.Stages),
			LastAccessedDate: day(v.LastAccessedDate),
			CreatedDate:      at(v.CreatedDate),
			KmsKeyIDs:        v.KmsKeyIDs,
		}
	}
	return resp, nil
}

type updateSecretVersionStageRequest struct {
	SecretID            *string `json:"SecretId"`
	VersionStage        *string `json:"VersionStage"`
	RemoveFromVersionID *string `json:"RemoveFromVersionId"`
	MoveToVersionID     *string `json:"MoveToVersionId"`
}

func (h *Handler) updateSecretVersionStage(ctx context.Context, in *updateSecretVersionStageRequest) (any, error) {
	out, err := result(h.Secrets.UpdateSecretVersionStage(ctx, rotor.UpdateSecretVersionStageInput{
		SecretID:            str(in.SecretID),
		VersionStage:        str(in.VersionStage),
		MoveToVersionID:     str(in.MoveToVersionID),
		RemoveFromVersionID: str(in.RemoveFromVersionID),
	}))
	if err != nil {
		return nil, err
	}
	return refResponse{ARN: out.ARN, Name: out.Name}, nil
}
