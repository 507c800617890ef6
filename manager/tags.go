package manager

import (
	"context"
	"fmt"
	"slices"

	"github.com/rotorhq/rotor"
)

// TagResource adds tags to the secret, overwriting the value of a key it
// already has in place (keys are case-sensitive; tags keep the order in
// which their keys were first added).
//
// Errors: EVALIDATION for a key of 0 or more than 128 characters or a value
// over 256; EINVALID for a key given twice or more than 50 tags in all;
// ESTATE on a secret scheduled for deletion; ENOTFOUND; EDENIED; EINTERNAL.
func (s *Service) TagResource(ctx context.Context, secretID string, tags []rotor.Tag) error {
	c, err := s.beginSecret(ctx, secretID)
	if err != nil {
		return err
	}
	if err := validateTags(tags); err != nil {
		return err
	}
	return s.mutateWith(ctx, c, rotor.AccessRequest{Action: actionTagResource, RequestTags: tags}, secretID, func(tx rotor.Tx, rec *rotor.SecretRecord) error {
		if !rec.DeletedDate.IsZero() {
			return errMarkedForDeletion()
		}
		merged := slices.Clone(rec.Tags)
		for _, t := range tags {
			if i := slices.IndexFunc(merged, func(m rotor.Tag) bool { return m.Key == t.Key }); i >= 0 {
				merged[i].Value = t.Value
			} else {
				merged = append(merged, t)
			}
		}
		if len(merged) > maxTagsPerSecret {
			return rotor.Errorf(rotor.EINVALID, msgTagLimit)
		}
		rec.Tags = merged
		rec.TagsEverSet = rec.TagsEverSet || len(tags) > 0
		return storeChanged(tx, rec, s.now())
	})
}

// UntagResource removes the tags with the given keys; keys the secret does
// not have are ignored.
//
// Errors: EVALIDATION for an empty or over-long key; ESTATE on a secret
// scheduled for deletion; ENOTFOUND; EDENIED; EINTERNAL.
func (s *Service) UntagResource(ctx context.Context, secretID string, keys []string) error {
	c, err := s.beginSecret(ctx, secretID)
	if err != nil {
		return err
	}
	for i, k := range keys {
		if err := validateTagKey(k, fmt.Sprintf("tagKeys.%d.member", i+1)); err != nil {
			return err
		}
	}
	return s.mutateWith(ctx, c, rotor.AccessRequest{Action: actionUntagResource, TagKeys: keys}, secretID, func(tx rotor.Tx, rec *rotor.SecretRecord) error {
		if !rec.DeletedDate.IsZero() {
			return errMarkedForDeletion()
		}
		kept := slices.DeleteFunc(slices.Clone(rec.Tags), func(t rotor.Tag) bool { return slices.Contains(keys, t.Key) })
		if len(kept) == len(rec.Tags) {
			return nil
		}
		rec.Tags = kept
		return storeChanged(tx, rec, s.now())
	})
}
