package awsapi

import (
	"context"

	"github.com/rotorhq/rotor"
)

// Rotor's own operations ("X-Amz-Target: rotor.<Op>", SigV4 service
// "rotor"): identities, access keys, key-encryption keys, backups and
// rotation runs (runs.go). They use the same framing, validation and errors
// as the Secrets Manager operations; member names are PascalCase. The input
// and output structs are exported so the CLI encodes and decodes exactly what
// the server serves.

// RotorTargetPrefix is the X-Amz-Target prefix and the SigV4 service name of
// Rotor's own operations.
const RotorTargetPrefix = "rotor"

// CreateIdentityInput is rotor.CreateIdentity's request. Name is required;
// Role is "admin" or "read-only" (attaching that built-in policy) or left
// out for an identity that may do nothing until it is given an identity
// policy.
type CreateIdentityInput struct {
	Name string `json:"Name"`
	Role string `json:"Role,omitempty"`
}

// CreateIdentityOutput is rotor.CreateIdentity's response.
type CreateIdentityOutput struct {
	Identity Identity `json:"Identity"`
}

// Identity describes an identity and its access keys (never their secrets).
type Identity struct {
	Name        string             `json:"Name"`
	Role        string             `json:"Role"`
	CreatedDate Timestamp          `json:"CreatedDate,omitzero"`
	AccessKeys  []AccessKeySummary `json:"AccessKeys"`
}

// AccessKeySummary describes one access key of an identity.
type AccessKeySummary struct {
	AccessKeyID string    `json:"AccessKeyId"`
	Status      string    `json:"Status"`
	CreatedDate Timestamp `json:"CreatedDate,omitzero"`
}

// ListIdentitiesInput is rotor.ListIdentities' request (no members).
type ListIdentitiesInput struct{}

// ListIdentitiesOutput is rotor.ListIdentities' response.
type ListIdentitiesOutput struct {
	Identities []Identity `json:"Identities"`
}

// DeleteIdentityInput is rotor.DeleteIdentity's request; the response is {}.
type DeleteIdentityInput struct {
	Name string `json:"Name"`
}

// PutIdentityPolicyInput is rotor.PutIdentityPolicy's request: the inline
// identity policy (IAM's grammar, at most 6,144 characters not counting
// white space) of identity Name, replacing any it had. The response is {}.
type PutIdentityPolicyInput struct {
	Name           string `json:"Name"`
	PolicyDocument string `json:"PolicyDocument"`
}

// GetIdentityPolicyInput is rotor.GetIdentityPolicy's request.
type GetIdentityPolicyInput struct {
	Name string `json:"Name"`
}

// GetIdentityPolicyOutput is rotor.GetIdentityPolicy's response: the
// document exactly as it was put.
type GetIdentityPolicyOutput struct {
	Name           string `json:"Name"`
	PolicyDocument string `json:"PolicyDocument"`
}

// DeleteIdentityPolicyInput is rotor.DeleteIdentityPolicy's request; the
// response is {}.
type DeleteIdentityPolicyInput struct {
	Name string `json:"Name"`
}

// CreateAccessKeyInput is rotor.CreateAccessKey's request: the identity that
// gets the new key.
type CreateAccessKeyInput struct {
	Identity string `json:"Identity"`
}

// CreateAccessKeyOutput is rotor.CreateAccessKey's response, the only time
// the key's secret is shown.
type CreateAccessKeyOutput struct {
	AccessKey AccessKey `json:"AccessKey"`
}

// AccessKey is a newly created access key with its secret.
type AccessKey struct {
	AccessKeyID     string    `json:"AccessKeyId"`
	SecretAccessKey string    `json:"SecretAccessKey"`
	Identity        string    `json:"Identity"`
	Status          string    `json:"Status"`
	CreatedDate     Timestamp `json:"CreatedDate,omitzero"`
}

// UpdateAccessKeyInput is rotor.UpdateAccessKey's request; Status is
// "Active" or "Inactive". The response is {}.
type UpdateAccessKeyInput struct {
	AccessKeyID string `json:"AccessKeyId"`
	Status      string `json:"Status"`
}

// DeleteAccessKeyInput is rotor.DeleteAccessKey's request; the response is {}.
type DeleteAccessKeyInput struct {
	AccessKeyID string `json:"AccessKeyId"`
}

// GetCallerIdentityInput is rotor.GetCallerIdentity's request (no
// members).
type GetCallerIdentityInput struct{}

// GetCallerIdentityOutput is rotor.GetCallerIdentity's response: who signed
// the request, as STS GetCallerIdentity answers it. Identity is the
// identity's name (for rotation credentials "rotation/<run id>"); Role is
// "admin", "read-only" or "scoped".
type GetCallerIdentityOutput struct {
	Identity    string `json:"Identity"`
	AccessKeyID string `json:"AccessKeyId"`
	Role        string `json:"Role"`
}

// ListKeysInput is rotor.ListKeys' request (no members).
type ListKeysInput struct{}

// ListKeysOutput is rotor.ListKeys' response: the keyring's key-encryption keys.
type ListKeysOutput struct {
	Keys []KeyInfo `json:"Keys"`
}

// KeyInfo describes one key-encryption key. Wrapped counts the data keys it
// wraps; Active marks the key that wraps new data keys.
type KeyInfo struct {
	KeyID       string    `json:"KeyId"`
	Active      bool      `json:"Active"`
	CreatedDate Timestamp `json:"CreatedDate,omitzero"`
	Wrapped     int       `json:"Wrapped"`
}

// RotateKeysInput is rotor.RotateKeys' request (no members).
type RotateKeysInput struct{}

// RotateKeysOutput is rotor.RotateKeys' response: the new active key.
type RotateKeysOutput struct {
	Key KeyInfo `json:"Key"`
}

// RetireKeyInput is rotor.RetireKey's request; the response is {}.
type RetireKeyInput struct {
	KeyID string `json:"KeyId"`
}

// BackupInput is rotor.Backup's request: where the server writes the
// snapshot, a file name or a path inside its backup directory (backup_dir);
// any other path is refused with InvalidParameterException.
type BackupInput struct {
	Path string `json:"Path"`
}

// BackupOutput is rotor.Backup's response: the file written, on the
// server's machine.
type BackupOutput struct {
	Path string `json:"Path"`
}

// DownloadBackupInput is rotor.DownloadBackup's request (no members). Its
// successful response is not JSON but the snapshot itself (see stream.go):
// Content-Type application/octet-stream, Content-Length, and the SHA-256
// digest of the bytes in Content-Digest (RFC 9530, "sha-256=:<base64>:").
type DownloadBackupInput struct{}

// RotorOperations returns the names of Rotor's own operations, sorted. The
// rotation-run operations (ListRotationRuns, RotationHistory,
// AbandonRotation) are listed too; a Handler without Runs answers them
// InvalidRequestException "<Op> is not available in this version of Rotor yet.".
func RotorOperations() []string { return sortedKeys(rotorOps) }

// runStatuses are the values of Run.Status and ListRotationRunsInput.Status,
// in lifecycle order.
var runStatuses = []string{rotor.RunPending, rotor.RunRunning, rotor.RunSucceeded, rotor.RunFailed, rotor.RunCancelled, rotor.RunAbandoned}

// MaxRunResults is the largest MaxResults of ListRotationRuns and
// RotationHistory; without MaxResults the service's default (100) applies.
const MaxRunResults = 1000

// rotorModel holds the input shapes of Rotor's own operations, in the same
// form as the Secrets Manager model, so one validator serves both.
var rotorModel = func() *serviceModel {
	one := int64(1)
	nonEmpty := &shape{Name: "NonEmptyString", Type: "string", Min: &one}
	role := &shape{Name: "RoleType", Type: "string", Enum: []string{string(rotor.RoleAdmin), string(rotor.RoleReadOnly)}}
	status := &shape{Name: "AccessKeyStatusType", Type: "string", Enum: []string{rotor.KeyActive, rotor.KeyInactive}}
	secretID := secretsManagerModel.Shapes["SecretIdType"] // as in Secrets Manager: 1-2048 characters
	runStatus := &shape{Name: "RunStatusType", Type: "string", Enum: runStatuses}
	maxRuns := int64(MaxRunResults)
	maxResults := &shape{Name: "RunMaxResultsType", Type: "integer", Min: &one, Max: &maxRuns}
	maxDoc := int64(131072) // IAM's PolicyDocument bound; the policy's own limit is checked by the service
	document := &shape{Name: "PolicyDocumentType", Type: "string", Min: &one, Max: &maxDoc}
	// input declares an input shape whose members are all required ...
	input := func(name string, members ...member) *shape {
		s := &shape{Name: name, Type: "structure", Required: map[string]bool{}, Members: members}
		for _, m := range members {
			s.Required[m.Name] = true
		}
		return s
	}
	// ... and optional adds members that may be left out, after the required ones.
	optional := func(s *shape, members ...member) *shape {
		s.Members = append(s.Members, members...)
		return s
	}
	return &serviceModel{TargetPrefix: prefixRotor, Inputs: map[string]*shape{
		"CreateIdentity": optional(input("CreateIdentityInput", member{"Name", nonEmpty}), member{"Role", role}),
		"PutIdentityPolicy": input("PutIdentityPolicyInput", member{"Name", nonEmpty},
			member{"PolicyDocument", document}),
		"GetIdentityPolicy":    input("GetIdentityPolicyInput", member{"Name", nonEmpty}),
		"DeleteIdentityPolicy": input("DeleteIdentityPolicyInput", member{"Name", nonEmpty}),
		"ListIdentities":       input("ListIdentitiesInput"),
		"DeleteIdentity":       input("DeleteIdentityInput", member{"Name", nonEmpty}),
		"CreateAccessKey":      input("CreateAccessKeyInput", member{"Identity", nonEmpty}),
		"UpdateAccessKey":      input("UpdateAccessKeyInput", member{"AccessKeyId", nonEmpty}, member{"Status", status}),
		"DeleteAccessKey":      input("DeleteAccessKeyInput", member{"AccessKeyId", nonEmpty}),
		"ListKeys":             input("ListKeysInput"),
		"RotateKeys":           input("RotateKeysInput"),
		"RetireKey":            input("RetireKeyInput", member{"KeyId", nonEmpty}),
		"Backup":               input("BackupInput", member{"Path", nonEmpty}),
		"DownloadBackup":       input("DownloadBackupInput"),
		"ListRotationRuns": optional(input("ListRotationRunsInput"),
			member{"SecretId", secretID}, member{"Status", runStatus}, member{"MaxResults", maxResults}),
		"RotationHistory": optional(input("RotationHistoryInput", member{"SecretId", secretID}),
			member{"MaxResults", maxResults}),
		"AbandonRotation": input("AbandonRotationInput", member{"SecretId", secretID}),

		"GetCallerIdentity": input("GetCallerIdentityInput"),
	}}
}()

// rotorOps is the dispatch table for "rotor.<Op>".
var rotorOps = bindOps(rotorModel, useAdmin, map[string]opSpec{
	"CreateIdentity":       {run: run((*Handler).createIdentity)},
	"ListIdentities":       {run: run((*Handler).listIdentities)},
	"DeleteIdentity":       {run: run((*Handler).deleteIdentity)},
	"PutIdentityPolicy":    {run: run((*Handler).putIdentityPolicy)},
	"GetIdentityPolicy":    {run: run((*Handler).getIdentityPolicy)},
	"DeleteIdentityPolicy": {run: run((*Handler).deleteIdentityPolicy)},
	"CreateAccessKey":      {run: run((*Handler).createAccessKey)},
	"UpdateAccessKey":      {run: run((*Handler).updateAccessKey)},
	"DeleteAccessKey":      {run: run((*Handler).deleteAccessKey)},
	"ListKeys":             {run: run((*Handler).listKeys)},
	"RotateKeys":           {run: run((*Handler).rotateKeys)},
	"RetireKey":            {run: run((*Handler).retireKey)},
	"Backup":               {run: run((*Handler).backup), long: true},
	"DownloadBackup":       {run: run((*Handler).downloadBackup), long: true},
	"ListRotationRuns":     {run: run((*Handler).listRotationRuns), uses: useRuns},
	"RotationHistory":      {run: run((*Handler).rotationHistory), uses: useRuns},
	"AbandonRotation":      {run: run((*Handler).abandonRotation), uses: useRuns},

	// GetCallerIdentity needs no authorization, as on AWS: any caller that
	// authenticated may ask who it is (a rotation function tests a new
	// access key with it whatever the key's identity may do).
	"GetCallerIdentity": {run: run((*Handler).getCallerIdentity)},
})

func identityToWire(id *rotor.Identity) Identity {
	out := Identity{
		Name:        id.Name,
		Role:        string(id.Role),
		CreatedDate: at(id.CreatedDate),
		AccessKeys:  make([]AccessKeySummary, len(id.AccessKeys)),
	}
	for i, k := range id.AccessKeys {
		out.AccessKeys[i] = AccessKeySummary{AccessKeyID: k.AccessKeyID, Status: k.Status, CreatedDate: at(k.CreatedDate)}
	}
	return out
}

func keyToWire(k *rotor.KeyInfo) KeyInfo {
	return KeyInfo{KeyID: k.ID, Active: k.Active, CreatedDate: at(k.CreatedDate), Wrapped: k.Wrapped}
}

// empty is the {} response of operations without output.
type empty struct{}

func (h *Handler) createIdentity(ctx context.Context, in *CreateIdentityInput) (any, error) {
	id, err := result(h.Admin.CreateIdentity(ctx, in.Name, rotor.Role(in.Role)))
	if err != nil {
		return nil, err
	}
	return CreateIdentityOutput{Identity: identityToWire(id)}, nil
}

func (h *Handler) listIdentities(ctx context.Context, _ *ListIdentitiesInput) (any, error) {
	ids, err := h.Admin.ListIdentities(ctx)
	if err != nil {
		return nil, err
	}
	out := ListIdentitiesOutput{Identities: make([]Identity, len(ids))}
	for i := range ids {
		out.Identities[i] = identityToWire(&ids[i])
	}
	return out, nil
}

func (h *Handler) deleteIdentity(ctx context.Context, in *DeleteIdentityInput) (any, error) {
	return empty{}, h.Admin.DeleteIdentity(ctx, in.Name)
}

func (h *Handler) putIdentityPolicy(ctx context.Context, in *PutIdentityPolicyInput) (any, error) {
	return empty{}, h.Admin.PutIdentityPolicy(ctx, in.Name, in.PolicyDocument)
}

func (h *Handler) getIdentityPolicy(ctx context.Context, in *GetIdentityPolicyInput) (any, error) {
	doc, err := h.Admin.GetIdentityPolicy(ctx, in.Name)
	if err != nil {
		return nil, err
	}
	return GetIdentityPolicyOutput{Name: in.Name, PolicyDocument: doc}, nil
}

func (h *Handler) deleteIdentityPolicy(ctx context.Context, in *DeleteIdentityPolicyInput) (any, error) {
	return empty{}, h.Admin.DeleteIdentityPolicy(ctx, in.Name)
}

func (h *Handler) createAccessKey(ctx context.Context, in *CreateAccessKeyInput) (any, error) {
	k, err := result(h.Admin.CreateAccessKey(ctx, in.Identity))
	if err != nil {
		return nil, err
	}
	return CreateAccessKeyOutput{AccessKey: AccessKey{
		AccessKeyID:     k.AccessKeyID,
		SecretAccessKey: k.SecretAccessKey,
		Identity:        k.Identity,
		Status:          k.Status,
		CreatedDate:     at(k.CreatedDate),
	}}, nil
}

func (h *Handler) updateAccessKey(ctx context.Context, in *UpdateAccessKeyInput) (any, error) {
	return empty{}, h.Admin.UpdateAccessKey(ctx, in.AccessKeyID, in.Status)
}

func (h *Handler) deleteAccessKey(ctx context.Context, in *DeleteAccessKeyInput) (any, error) {
	return empty{}, h.Admin.DeleteAccessKey(ctx, in.AccessKeyID)
}

func (h *Handler) getCallerIdentity(ctx context.Context, _ *GetCallerIdentityInput) (any, error) {
	c, ok := rotor.CallerFrom(ctx)
	if !ok {
		return nil, rotor.Errorf(rotor.EAUTHMISSING, "Missing Authentication Token")
	}
	p := c.Principal
	return GetCallerIdentityOutput{Identity: p.Identity, AccessKeyID: p.AccessKeyID, Role: string(p.Role)}, nil
}

func (h *Handler) listKeys(ctx context.Context, _ *ListKeysInput) (any, error) {
	keys, err := h.Admin.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	out := ListKeysOutput{Keys: make([]KeyInfo, len(keys))}
	for i := range keys {
		out.Keys[i] = keyToWire(&keys[i])
	}
	return out, nil
}

func (h *Handler) rotateKeys(ctx context.Context, _ *RotateKeysInput) (any, error) {
	k, err := result(h.Admin.RotateKeys(ctx))
	if err != nil {
		return nil, err
	}
	return RotateKeysOutput{Key: keyToWire(k)}, nil
}

func (h *Handler) retireKey(ctx context.Context, in *RetireKeyInput) (any, error) {
	return empty{}, h.Admin.RetireKey(ctx, in.KeyID)
}

func (h *Handler) backup(ctx context.Context, in *BackupInput) (any, error) {
	path, err := h.Admin.Backup(ctx, in.Path)
	if err != nil {
		return nil, err
	}
	return BackupOutput{Path: path}, nil
}

func (h *Handler) downloadBackup(ctx context.Context, _ *DownloadBackupInput) (any, error) {
	snap, err := h.Admin.DownloadBackup(ctx)
	if err != nil {
		return nil, err
	}
	return &snapshotOutput{snap: snap}, nil
}
