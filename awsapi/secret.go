package awsapi

import (
	"context"

	"github.com/rotorhq/rotor"
)

// Secrets: CreateSecret, DescribeSecret, UpdateSecret, DeleteSecret,
// RestoreSecret, ListSecrets.

type createSecretRequest struct {
	Name               *string             `json:"Name"`
	ClientRequestToken *string             `json:"ClientRequestToken"`
	Description        *string             `json:"Description"`
	KmsKeyID           *string             `json:"KmsKeyId"`
	SecretBinary       []byte              `json:"SecretBinary"`
	SecretString       *string             `json:"SecretString"`
	Tags               []wireTag           `json:"Tags"`
	AddReplicaRegions  []wireReplicaRegion `json:"AddReplicaRegions"`
	Type               *string             `json:"Type"`
	// ForceOverwriteReplicaSecret only matters with replicas, which Rotor
	// does not offer; it is accepted and ignored.
}

type wireReplicaRegion struct {
	Region   *string `json:"Region"`
	KmsKeyID *string `json:"KmsKeyId"`
}

// versionResponse is the output of CreateSecret and UpdateSecret (and, with
// VersionStages, PutSecretValue).
type versionResponse struct {
	ARN           string   `json:"ARN,omitempty"`
	Name          string   `json:"Name,omitempty"`
	VersionID     string   `json:"VersionId,omitempty"`
	VersionStages []string `json:"VersionStages,omitempty"`
}

func (h *Handler) createSecret(ctx context.Context, in *createSecretRequest) (any, error) {
	if len(in.AddReplicaRegions) > 0 {
		// Replication is not offered; dropping the regions would be a silent
		// partial success.
		return nil, rotor.Errorf(rotor.EUNSUPPORTED, "AddReplicaRegions is not available in this version of Rotor yet.")
	}
	out, err := result(h.Secrets.CreateSecret(ctx, rotor.CreateSecretInput{
		Name:               str(in.Name),
		ClientRequestToken: str(in.ClientRequestToken),
		Description:        str(in.Description),
		KmsKeyID:           str(in.KmsKeyID),
		Value:              valueFromWire(in.SecretString, in.SecretBinary),
		Tags:               tagsFromWire(in.Tags),
		Type:               str(in.Type),
	}))
	if err != nil {
		return nil, err
	}
	return versionResponse{ARN: out.ARN, Name: out.Name, VersionID: out.VersionID}, nil
}

type secretIDRequest struct {
	SecretID *string `json:"SecretId"`
}

// secretMeta is what DescribeSecret and a ListSecrets entry share. Members
// without a value are left out; Tags is left out when nil and sent as []
// when empty.
type secretMeta struct {
	ARN               string             `json:"ARN,omitempty"`
	Name              string             `json:"Name,omitempty"`
	Type              string             `json:"Type,omitempty"`
	Description       string             `json:"Description,omitempty"`
	KmsKeyID          string             `json:"KmsKeyId,omitempty"`
	RotationEnabled   *bool              `json:"RotationEnabled,omitempty"`
	RotationLambdaARN string             `json:"RotationLambdaARN,omitempty"`
	RotationRules     *wireRotationRules `json:"RotationRules,omitempty"`
	LastRotatedDate   Timestamp          `json:"LastRotatedDate,omitzero"`
	LastChangedDate   Timestamp          `json:"LastChangedDate,omitzero"`
	LastAccessedDate  Timestamp          `json:"LastAccessedDate,omitzero"`
	DeletedDate       Timestamp          `json:"DeletedDate,omitzero"`
	NextRotationDate  Timestamp          `json:"NextRotationDate,omitzero"`
	Tags              []wireTag          `json:"Tags,omitzero"`
	OwningService     string             `json:"OwningService,omitempty"`
	CreatedDate       Timestamp          `json:"CreatedDate,omitzero"`
	PrimaryRegion     string             `json:"PrimaryRegion,omitempty"`
}

// describeSecretResponse names its version map VersionIdsToStages ...
type describeSecretResponse struct {
	secretMeta
	VersionIdsToStages map[string][]string `json:"VersionIdsToStages,omitempty"`
}

// ... and a ListSecrets entry names it SecretVersionsToStages.
type secretListEntry struct {
	secretMeta
	SecretVersionsToStages map[string][]string `json:"SecretVersionsToStages,omitempty"`
}

func metaToWire(d *rotor.SecretDescription) secretMeta {
	m := secretMeta{
		ARN:              d.ARN,
		Name:             d.Name,
		Type:             d.Type,
		Description:      d.Description,
		KmsKeyID:         d.KmsKeyID,
		LastRotatedDate:  at(d.LastRotatedDate),
		LastChangedDate:  at(d.LastChangedDate),
		LastAccessedDate: day(d.LastAccessedDate),
		DeletedDate:      at(d.DeletedDate),
		NextRotationDate: at(d.NextRotationDate),
		Tags:             tagsToWire(d.Tags),
		OwningService:    d.OwningService,
		CreatedDate:      at(d.CreatedDate),
		PrimaryRegion:    d.PrimaryRegion,
	}
	if r := d.Rotation; r.Configured {
		enabled := r.Enabled
		m.RotationEnabled = &enabled
		m.RotationLambdaARN = r.LambdaARN
		if r.Rules != (rotor.RotationRules{}) {
			m.RotationRules = &wireRotationRules{
				AutomaticallyAfterDays: r.Rules.AutomaticallyAfterDays,
				Duration:               r.Rules.Duration,
				ScheduleExpression:     r.Rules.ScheduleExpression,
			}
		}
	}
	return m
}

func (h *Handler) describeSecret(ctx context.Context, in *secretIDRequest) (any, error) {
	d, err := result(h.Secrets.DescribeSecret(ctx, str(in.SecretID)))
	if err != nil {
		return nil, err
	}
	return describeSecretResponse{secretMeta: metaToWire(d), VersionIdsToStages: versionStages(d.VersionStages)}, nil
}

type updateSecretRequest struct {
	SecretID           *string `json:"SecretId"`
	ClientRequestToken *string `json:"ClientRequestToken"`
	Description        *string `json:"Description"`
	KmsKeyID           *string `json:"KmsKeyId"`
	SecretBinary       []byte  `json:"SecretBinary"`
	SecretString       *string `json:"SecretString"`
	Type               *string `json:"Type"`
}

func (h *Handler) updateSecret(ctx context.Context, in *updateSecretRequest) (any, error) {
	out, err := result(h.Secrets.UpdateSecret(ctx, rotor.UpdateSecretInput{
		SecretID:           str(in.SecretID),
		ClientRequestToken: str(in.ClientRequestToken),
		Description:        in.Description,
		KmsKeyID:           in.KmsKeyID,
		Value:              valueFromWire(in.SecretString, in.SecretBinary),
		Type:               in.Type,
	}))
	if err != nil {
		return nil, err
	}
	return versionResponse{ARN: out.ARN, Name: out.Name, VersionID: out.VersionID}, nil
}

type deleteSecretRequest struct {
	SecretID                   *string `json:"SecretId"`
	RecoveryWindowInDays       *int64  `json:"RecoveryWindowInDays"`
	ForceDeleteWithoutRecovery *bool   `json:"ForceDeleteWithoutRecovery"`
}

type deleteSecretResponse struct {
	ARN          string    `json:"ARN,omitempty"`
	Name         string    `json:"Name,omitempty"`
	DeletionDate Timestamp `json:"DeletionDate,omitzero"`
}

func (h *Handler) deleteSecret(ctx context.Context, in *deleteSecretRequest) (any, error) {
	force := in.ForceDeleteWithoutRecovery != nil && *in.ForceDeleteWithoutRecovery
	if in.RecoveryWindowInDays != nil && *in.RecoveryWindowInDays == 0 {
		// rotor.DeleteSecretInput uses 0 for "not given", so an explicit 0
		// cannot be passed on; answer it here as AWS does (aws-api.md §2.6)
		// rather than silently applying the default window.
		if force {
			return nil, rotor.Errorf(rotor.EINVALID, "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
		}
		return nil, rotor.Errorf(rotor.EINVALID, "The RecoveryWindowInDays value must be between %d and %d days (inclusive).", rotor.MinRecoveryDays, rotor.MaxRecoveryDays)
	}
	var window int64
	if in.RecoveryWindowInDays != nil {
		window = *in.RecoveryWindowInDays
	}
	out, err := result(h.Secrets.DeleteSecret(ctx, rotor.DeleteSecretInput{
		SecretID:           str(in.SecretID),
		RecoveryWindowDays: window,
		ForceDelete:        force,
	}))
	if err != nil {
		return nil, err
	}
	return deleteSecretResponse{ARN: out.ARN, Name: out.Name, DeletionDate: at(out.DeletionDate)}, nil
}

// refResponse is the ARN-and-Name output of RestoreSecret and
// UpdateSecretVersionStage.
type refResponse struct {
	ARN  string `json:"ARN,omitempty"`
	Name string `json:"Name,omitempty"`
}

func (h *Handler) restoreSecret(ctx context.Context, in *secretIDRequest) (any, error) {
	out, err := result(h.Secrets.RestoreSecret(ctx, str(in.SecretID)))
	if err != nil {
		return nil, err
	}
	return refResponse{ARN: out.ARN, Name: out.Name}, nil
}

type listSecretsRequest struct {
	IncludePlannedDeletion *bool        `json:"IncludePlannedDeletion"`
	MaxResults             *int32       `json:"MaxResults"`
	NextToken              *string      `json:"NextToken"`
	Filters                []wireFilter `json:"Filters"`
	SortOrder              *string      `json:"SortOrder"`
	SortBy                 *string      `json:"SortBy"`
}

type listSecretsResponse struct {
	SecretList []secretListEntry `json:"SecretList"`
	NextToken  string            `json:"NextToken,omitempty"`
}

func (h *Handler) listSecrets(ctx context.Context, in *listSecretsRequest) (any, error) {
	out, err := result(h.Secrets.ListSecrets(ctx, rotor.ListSecretsInput{
		IncludePlannedDeletion: in.IncludePlannedDeletion != nil && *in.IncludePlannedDeletion,
		MaxResults:             maxResults(in.MaxResults),
		NextToken:              str(in.NextToken),
		Filters:                filtersFromWire(in.Filters),
		SortBy:                 str(in.SortBy),
		SortOrder:              str(in.SortOrder),
	}))
	if err != nil {
		return nil, err
	}
	resp := listSecretsResponse{SecretList: make([]secretListEntry, len(out.Secrets)), NextToken: out.NextToken}
	for i := range out.Secrets {
		d := &out.Secrets[i]
		resp.SecretList[i] = secretListEntry{secretMeta: metaToWire(d), SecretVersionsToStages: versionStages(d.VersionStages)}
	}
	return resp, nil
}
