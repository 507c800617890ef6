package manager

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/envelope"
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
// secret, packed, or nil to look id up in the caller's region.
func (s *Service) getValue(ctx context.Context, c rotor.Caller, id string, e *packed, versionID, stage string) (*rotor.SecretValue, error) {
	if e == nil {
		var err error
		e, err = s.lookup(ctx, c.Region, id)
		if isCode(err, rotor.ENOTFOUND) {
			return nil, s.notFound(ctx, c, actionGetSecretValue, id)
		} else if err != nil {
			return nil, err
		}
	}
	// The record is decoded into the result's allocation: one allocation
	// for both.
	res := new(readResult)
	e.decodeRecordInto(&res.rec)
	rec := &res.rec
	if err := s.authorize(ctx, c, rotor.AccessRequest{Action: actionGetSecretValue, Resource: rec.ARN, Secret: rec,
		SecretID: id, VersionID: versionID, VersionStage: stage}); err != nil {
		return nil, err
	}
	if !rec.DeletedDate.IsZero() {
		return nil, errMarkedForDeletion()
	}
	v, err := selectVersion(e, versionID, stage)
	if err != nil {
		return nil, err
	}
	return s.readVersion(ctx, res, &v)
}

// selectVersion applies the §2.4 resolution table to a packed secret.
func selectVersion(e *packed, versionID, stage string) (packedVersion, error) {
	if versionID != "" {
		v, ok := e.find(versionID, "")
		if !ok {
			return v, errVersionNotFound(versionID)
		}
		if stage != "" && !v.hasLabel(stage) {
			return v, rotor.Errorf(rotor.ESTATE, msgStageNotOnID)
		}
		if !v.hasValue {
			return v, errVersionNotFound(versionID)
		}
		return v, nil
	}
	if stage == "" {
		stage = rotor.StageCurrent
	}
	v, ok := e.find("", stage)
	if !ok || !v.hasValue {
		return v, errStageNotFound(stage)
	}
	return v, nil
}

// readResult is the one allocation behind a readVersion result: the
// SecretValue plus the string value and the labels it points to, which
// would otherwise be allocated separately, and the secret's record that
// authorized the read. Each result has its own, so callers may modify what
// they receive.
type readResult struct {
	sv     rotor.SecretValue
	str    string
	stages [2]string // enough for AWSCURRENT with one more label
	rec    rotor.SecretRecord
}

// readVersion decrypts v of the secret res.rec, records the access and
// completes the result res.
func (s *Service) readVersion(ctx context.Context, res *readResult, v *packedVersion) (*rotor.SecretValue, error) {
	rec := &res.rec
	res.sv = rotor.SecretValue{
		ARN:         rec.ARN,
		Name:        rec.Name,
		VersionID:   v.id,
		CreatedDate: v.created,
	}
	if err := s.openVersion(rec.ARN, v, res); err != nil {
		s.log.Error("decrypt secret value", "arn", rec.ARN, "version", v.id, "err", err)
		return nil, err
	}
	s.touch(ctx, rec, v.id, v.accessed)
	if st := v.stages(res.stages[:0:len(res.stages)]); len(st) > 0 {
		res.sv.Stages = st
	}
	return &res.sv, nil
}

// versionOpener is what envelope.Keyring offers beyond Keyring: opening a
// packed version's value into a buffer of the caller's, with the
// associated data built without allocating.
type versionOpener interface {
	AppendOpenVersion(dst []byte, keyID, wrappedKey, ciphertext, secretARN, versionID string) ([]byte, error)
}

// plainBuffers holds buffers for plaintexts on their way to a result;
// each is wiped before it returns to the pool.
var plainBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledPlain bounds the plaintext buffers kept for reuse.
const maxPooledPlain = 16 << 10

// openVersion decrypts the value of v (of the secret arn) into res: its
// string, or its Binary. With a keyring that is a versionOpener the
// plaintext goes through a pooled buffer that is wiped afterwards, so the
// only copy left is the result's own.
func (s *Service) openVersion(arn string, v *packedVersion, res *readResult) error {
	o, ok := s.keyring.(versionOpener)
	if !ok {
		pt, err := s.decryptSealed(v.sealed(), envelope.VersionAAD(arn, v.id))
		if err != nil {
			return err
		}
		s.setValue(res, v.binary, pt)
		return nil
	}
	buf := plainBuffers.Get().(*[]byte)
	pt, err := o.AppendOpenVersion((*buf)[:0], v.keyID, v.wrapped, v.text, arn, v.id)
	if err != nil {
		plainBuffers.Put(buf)
		return &rotor.Error{Code: rotor.EDECRYPT, Message: msgDecrypt, Err: err}
	}
	if v.binary {
		s.setValue(res, true, bytes.Clone(pt))
	} else {
		res.str = string(pt)
		res.sv.Value.String = &res.str
	}
	clear(pt)
	if cap(pt) <= maxPooledPlain {
		*buf = pt[:0]
		plainBuffers.Put(buf)
	}
	return nil
}

// setValue sets the value of res to the plaintext pt (which res keeps).
func (s *Service) setValue(res *readResult, binary bool, pt []byte) {
	if binary {
		res.sv.Value.Binary = binaryValue(pt)
	} else {
		res.str = string(pt)
		res.sv.Value.String = &res.str
	}
}

// touch notes today as the LastAccessedDate of version id (last read on
// accessed) and of its secret rec, unless both already show today or this
// process already noted it today. The write happens later, batched with
// others (see access.go), so the read does not wait for it and never fails
// because of it.
func (s *Service) touch(_ context.Context, rec *rotor.SecretRecord, id string, accessed time.Time) {
	today := day(s.now())
	if accessed.Equal(today) && rec.LastAccessedDate.Equal(today) {
		return
	}
	// The key is built on the stack and becomes a string only when it is
	// stored: until the noted day is written and the cache refilled, every
	// read of the version comes here.
	var buf [256]byte
	k := append(append(append(buf[:0], rec.ARN...), 0), id...)
	s.accessMu.Lock()
	defer s.accessMu.Unlock()
	if last, ok := s.accessed[string(k)]; ok && last.Equal(today) {
		return
	}
	key := string(k)
	if len(s.accessed) >= accessedMax {
		s.accessed = map[string]time.Time{}
	}
	s.accessed[key] = today
	s.noteAccessLocked(key, accessNote{arn: rec.ARN, region: rec.Region, name: rec.Name, version: id, day: today})
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
		if err := s.batchOne(ctx, c, e.rec.ARN, newPacked(e.rec, e.versions), out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// batchOne reads the AWSCURRENT value of one secret for BatchGetSecretValue
// (e is nil when it must be looked up by id) and appends it, or its error,
// to out. Only faults (EINTERNAL) are returned.
func (s *Service) batchOne(ctx context.Context, c rotor.Caller, id string, e *packed, out *rotor.BatchGetSecretValueOutput) error {
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
