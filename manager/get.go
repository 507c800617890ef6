package manager

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/rotorhq/rotor"
)

// GetSecretValue returns one version's value: by in.VersionID, by
// in.VersionStage, by both (the version must carry the label), or AWSCURRENT
// when neither is given. It records the read as LastAccessedDate (the UTC
// day) on the version and the secret, writing at most once per version per
// day. Served from the cache when warm; the value is decrypted on every call.
//
// Errors (aws-api.md §2.4): ENOTFOUND for an unknown secret, version id or
// label, and for a version that has no value yet (rotation placeholder);
// ESTATE when the version lacks the requested label or the secret is
// scheduled for deletion; EDENIED; EDECRYPT; EINTERNAL.
func (s *Service) GetSecretValue(ctx context.Context, in rotor.GetSecretValueInput) (*rotor.SecretValue, error) {
	c, err := s.beginSecret(ctx, in.SecretID)
	if err != nil {
		return nil, err
	}
	if in.VersionStage != "" {
		if err := validateStage(in.VersionStage, "versionStage"); err != nil {
			return nil, err
		}
	}
	return s.getValue(ctx, c, in.SecretID, nil, in.VersionID, in.VersionStage)
}

// getValue is GetSecretValue once the request is validated: it reads the
// version of the secret id selected by versionID and stage. e is the
// secret's loaded entry, or nil to look id up in the caller's region.
func (s *Service) getValue(ctx context.Context, c rotor.Caller, id string, e *entry, versionID, stage string) (*rotor.SecretValue, error) {
	if e == nil {
		var err error
		e, err = s.lookup(ctx, c.Region, id)
		if isCode(err, rotor.ENOTFOUND) {
			return nil, s.notFound(ctx, c, actionGetSecretValue, id)
		} else if err != nil {
			return nil, err
		}
	}
	if err := s.authorize(ctx, c, rotor.AccessRequest{Action: actionGetSecretValue, Resource: e.rec.ARN, Secret: e.rec,
		SecretID: id, VersionID: versionID, VersionStage: stage}); err != nil {
		return nil, err
	}
	if !e.rec.DeletedDate.IsZero() {
		return nil, errMarkedForDeletion()
	}
	v, err := selectVersion(e, versionID, stage)
	if err != nil {
		return nil, err
	}
	return s.readVersion(ctx, e, v)
}

// selectVersion applies the §2.4 resolution table to a loaded secret.
func selectVersion(e *entry, versionID, stage string) (*rotor.VersionRecord, error) {
	if versionID != "" {
		v := e.version(versionID)
		if v == nil {
			return nil, errVersionNotFound(versionID)
		}
		if stage != "" && e.labels[stage] != versionID {
			return nil, rotor.Errorf(rotor.ESTATE, msgStageNotOnID)
		}
		if v.Value == nil {
			return nil, errVersionNotFound(versionID)
		}
		return v, nil
	}
	if stage == "" {
		stage = rotor.StageCurrent
	}
	id, ok := e.labels[stage]
	v := e.version(id)
	if !ok || v == nil || v.Value == nil {
		return nil, errStageNotFound(stage)
	}
	return v, nil
}

// readResult is the one allocation behind a readVersion result: the
// SecretValue plus the string value and the labels it points to, which
// would otherwise be allocated separately. Each result has its own, so
// callers may modify what they receive.
type readResult struct {
	sv     rotor.SecretValue
	str    string
	stages [2]string // enough for AWSCURRENT with one more label
}

// readVersion decrypts v of e, records the access and builds the result.
func (s *Service) readVersion(ctx context.Context, e *entry, v *rotor.VersionRecord) (*rotor.SecretValue, error) {
	r := e.read(v)
	pt, err := s.decrypt(v, r.aad)
	if err != nil {
		s.log.Error("decrypt secret value", "arn", e.rec.ARN, "version", v.ID, "err", err)
		return nil, err
	}
	s.touch(ctx, e, v)
	res := &readResult{sv: rotor.SecretValue{
		ARN:         e.rec.ARN,
		Name:        e.rec.Name,
		VersionID:   v.ID,
		CreatedDate: v.CreatedDate,
	}}
	if v.Binary {
		res.sv.Value.Binary = binaryValue(pt)
	} else {
		res.str = string(pt)
		res.sv.Value.String = &res.str
	}
	// r.stages is shared by every reader of the entry: copy it.
	if n := len(r.stages); n > 0 && n <= len(res.stages) {
		res.sv.Stages = res.stages[:n:n]
		copy(res.sv.Stages, r.stages)
	} else {
		res.sv.Stages = slices.Clone(r.stages)
	}
	return &res.sv, nil
}

// touch notes today as the LastAccessedDate of version v and its secret,
// unless the version already shows today or this process already noted it
// today. The write happens later, batched with others (see access.go), so
// the read does not wait for it and never fails because of it.
func (s *Service) touch(_ context.Context, e *entry, v *rotor.VersionRecord) {
	today := day(s.now())
	if v.LastAccessedDate.Equal(today) && e.rec.LastAccessedDate.Equal(today) {
		return
	}
	key := e.rec.ARN + "\x00" + v.ID
	s.accessMu.Lock()
	defer s.accessMu.Unlock()
	if last, ok := s.accessed[key]; ok && last.Equal(today) {
		return
	}
	if len(s.accessed) >= accessedMax {
		s.accessed = map[string]time.Time{}
	}
	s.accessed[key] = today
	s.noteAccessLocked(key, accessNote{arn: e.rec.ARN, region: e.rec.Region, name: e.rec.Name, version: v.ID, day: today})
}

// BatchGetSecretValue returns the AWSCURRENT values of the secrets named by
// in.SecretIDs, or of the live secrets matching in.Filters (a page of at
// most in.MaxResults, default and maximum 20, continued with NextToken).
// A secret that cannot be read is reported in Errors with its rotor code
// (ENOTFOUND, ESTATE for one scheduled for deletion, EDENIED, EDECRYPT)
// instead of failing the call. As on AWS the call itself is authorized as
// "secretsmanager:BatchGetSecretValue" on resource "", then each secret as
// "secretsmanager:GetSecretValue"; with Filters the listing is also
// authorized as "secretsmanager:ListSecrets" on resource "".
//
// Errors: EINVALID when both or neither of SecretIDs and Filters are given,
// or MaxResults without Filters; EVALIDATION; ENEXTTOKEN; EDENIED for the
// call or the listing; EINTERNAL.
func (s *Service) BatchGetSecretValue(ctx context.Context, in rotor.BatchGetSecretValueInput) (*rotor.BatchGetSecretValueOutput, error) {
	c, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	if (len(in.SecretIDs) > 0) == (len(in.Filters) > 0) {
		return nil, rotor.Errorf(rotor.EINVALID, msgBatchIDsXFilters)
	}
	if err := s.authorizeNone(ctx, c, actionBatchGetSecretValue); err != nil {
		return nil, err
	}
	if len(in.Filters) == 0 {
		if in.MaxResults != 0 {
			return nil, rotor.Errorf(rotor.EINVALID, msgBatchMaxResults)
		}
		if in.NextToken != "" {
			return nil, rotor.Errorf(rotor.ENEXTTOKEN, msgInvalidNextToken)
		}
		if len(in.SecretIDs) > maxBatchIDs {
			return nil, errMaxLen("secretIdList", maxBatchIDs)
		}
		for _, id := range in.SecretIDs {
			if err := validateSecretID(id); err != nil {
				return nil, err
			}
		}
		out := &rotor.BatchGetSecretValueOutput{}
		for _, id := range in.SecretIDs {
			if err := s.batchOne(ctx, c, id, nil, out); err != nil {
				return nil, err
			}
		}
		return out, nil
	}

	q := listQuery{region: c.Region, op: "BatchGetSecretValue", filters: in.Filters,
		maxResults: in.MaxResults, nextToken: in.NextToken}
	page, err := s.listPage(ctx, c, q, maxBatchResults, maxBatchResults)
	if err != nil {
		return nil, err
	}
	out := &rotor.BatchGetSecretValueOutput{NextToken: page.next}
	for _, e := range page.entries {
		if err := s.batchOne(ctx, c, e.rec.ARN, e, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// batchOne reads the AWSCURRENT value of one secret for BatchGetSecretValue
// (e is nil when it must be looked up by id) and appends it, or its error,
// to out. Only faults (EINTERNAL) are returned.
func (s *Service) batchOne(ctx context.Context, c rotor.Caller, id string, e *entry, out *rotor.BatchGetSecretValueOutput) error {
	val, err := s.getValue(ctx, c, id, e, "", rotor.StageCurrent)
	if err == nil {
		out.Values = append(out.Values, *val)
		return nil
	}
	var re *rotor.Error
	if !errors.As(err, &re) || re.Code == rotor.EINTERNAL {
		return err
	}
	out.Errors = append(out.Errors, rotor.BatchError{SecretID: id, Code: re.Code, Message: re.Message})
	return nil
}
