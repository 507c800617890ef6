package manager

import (
	"context"
	"slices"
	"sort"
	"strconv"

	"github.com/rotorhq/rotor"
)

// defaultKeyName is what ListSecretVersionIds reports for versions under
// the default key.
const defaultKeyName = "DefaultEncryptionKey"

// describe builds the description of a loaded secret: a fresh value that
// shares nothing with the cache.
func describe(e *entry) *rotor.SecretDescription {
	r := e.rec
	d := &rotor.SecretDescription{
		ARN:              r.ARN,
		Name:             r.Name,
		Type:             r.Type,
		Description:      r.Description,
		KmsKeyID:         normalizeKmsKeyID(r.KmsKeyID),
		Rotation:         r.Rotation,
		LastRotatedDate:  r.LastRotatedDate,
		LastChangedDate:  r.LastChangedDate,
		LastAccessedDate: r.LastAccessedDate,
		DeletedDate:      r.DeletedDate,
		NextRotationDate: r.NextRotationDate,
		CreatedDate:      r.CreatedDate,
		OwningService:    r.OwningService,
		PrimaryRegion:    r.PrimaryRegion,
	}
	if r.TagsEverSet || len(r.Tags) > 0 {
		d.Tags = append(make([]rotor.Tag, 0, len(r.Tags)), r.Tags...)
	}
	for _, v := range e.versions {
		if st := e.labels.stagesOf(v.ID); st != nil {
			if d.VersionStages == nil {
				d.VersionStages = map[string][]string{}
			}
			d.VersionStages[v.ID] = st
		}
	}
	return d
}

// DescribeSecret returns the secret's metadata: every member of
// rotor.SecretDescription, Tags nil when the secret was never tagged and
// empty once every tag was removed, VersionStages for labelled versions
// only. It works on secrets scheduled for deletion (DeletedDate is set).
//
// Errors: EVALIDATION; ENOTFOUND; EDENIED; EINTERNAL.
func (s *Service) DescribeSecret(ctx context.Context, secretID string) (*rotor.SecretDescription, error) {
	c, err := s.beginSecret(ctx, secretID)
	if err != nil {
		return nil, err
	}
	p, err := s.lookup(ctx, c.Region, secretID)
	if isCode(err, rotor.ENOTFOUND) {
		return nil, s.notFound(ctx, c, actionDescribeSecret, secretID)
	} else if err != nil {
		return nil, err
	}
	e := p.entry()
	if err := s.authorizeSecret(ctx, c, actionDescribeSecret, e.rec, secretID); err != nil {
		return nil, err
	}
	return describe(e), nil
}

// ListSecretVersionIds lists the secret's versions newest first (ties in
// creation time: the most recently stored first), in pages of MaxResults
// (1–100, default 100) continued by NextToken. Unlabeled (deprecated)
// versions are listed, with no Stages, only when IncludeDeprecated is set.
// KmsKeyIDs is ["DefaultEncryptionKey"] for versions under the default key.
// It works on secrets scheduled for deletion.
//
// Errors: EVALIDATION; ENEXTTOKEN; ENOTFOUND; EDENIED; EINTERNAL.
func (s *Service) ListSecretVersionIds(ctx context.Context, in rotor.ListSecretVersionIdsInput) (*rotor.ListSecretVersionIdsOutput, error) {
	c, err := s.beginSecret(ctx, in.SecretID)
	if err != nil {
		return nil, err
	}
	size, err := pageSize("maxResults", in.MaxResults, maxListResults, maxListResults)
	if err != nil {
		return nil, err
	}
	p, err := s.lookup(ctx, c.Region, in.SecretID)
	if isCode(err, rotor.ENOTFOUND) {
		return nil, s.notFound(ctx, c, actionListSecretVersionIds, in.SecretID)
	} else if err != nil {
		return nil, err
	}
	e := p.entry()
	fp := fingerprint("ListSecretVersionIds", e.rec.ARN, strconv.FormatBool(in.IncludeDeprecated))
	var after *cursor
	if in.NextToken != "" {
		cur, err := decodeToken(in.NextToken, fp)
		if err != nil {
			return nil, err
		}
		after = &cur
	}
	if err := s.authorizeSecret(ctx, c, actionListSecretVersionIds, e.rec, in.SecretID); err != nil {
		return nil, err
	}

	// Newest first; the store lists oldest first, so reversing it before a
	// stable sort puts the most recently stored first among equal times.
	vs := slices.Clone(e.versions)
	slices.Reverse(vs)
	sort.SliceStable(vs, func(i, j int) bool { return vs[i].CreatedDate.After(vs[j].CreatedDate) })
	if !in.IncludeDeprecated {
		vs = slices.DeleteFunc(vs, func(v *rotor.VersionRecord) bool { return !e.labels.labelled(v.ID) })
	}
	if after != nil {
		start := -1
		for i, v := range vs {
			if v.ID == after.ID {
				start = i + 1
				break
			}
		}
		if start < 0 { // the last version shown is gone: resume by time
			start = len(vs)
			for i, v := range vs {
				if timeKey(v.CreatedDate) < after.T {
					start = i
					break
				}
			}
		}
		vs = vs[start:]
	}
	out := &rotor.ListSecretVersionIdsOutput{ARN: e.rec.ARN, Name: e.rec.Name, Versions: []rotor.VersionEntry{}}
	if len(vs) > size {
		vs = vs[:size]
		last := vs[size-1]
		out.NextToken = encodeToken(cursor{F: fp, T: timeKey(last.CreatedDate), ID: last.ID})
	}
	for _, v := range vs {
		key := defaultKeyName
		if k := normalizeKmsKeyID(v.KmsKeyID); k != "" {
			key = k
		}
		out.Versions = append(out.Versions, rotor.VersionEntry{
			VersionID:        v.ID,
			Stages:           e.labels.stagesOf(v.ID),
			LastAccessedDate: v.LastAccessedDate,
			CreatedDate:      v.CreatedDate,
			KmsKeyIDs:        []string{key},
		})
	}
	return out, nil
}
