package manager

import (
	"fmt"
	"strings"

	"github.com/rotorhq/rotor"
)

// Model limits re-checked here (defence in depth: the wire layer checks them
// first, but no caller may break an invariant of the store).
const (
	maxDescription   = 2048
	maxKmsKeyID      = 2048
	maxType          = 256
	maxSecretID      = 2048
	maxToken         = 64
	maxStageLen      = 256
	maxTagKey        = 128
	maxTagValue      = 256
	maxTagsPerSecret = 50
	maxFilters       = 10
	maxFilterValues  = 10
	maxFilterValue   = 512
	maxBatchIDs      = 20
	maxListResults   = 100
	maxBatchResults  = 20
	maxNextToken     = 4096
)

// defaultKmsAlias is the AWS-managed key; naming it is the same as naming none.
const defaultKmsAlias = "alias/aws/secretsmanager"

// normalizeKmsKeyID returns "" for the default key and k otherwise.
func normalizeKmsKeyID(k string) string {
	if k == defaultKmsAlias || strings.HasSuffix(k, ":"+defaultKmsAlias) {
		return ""
	}
	return k
}

func validateSecretID(id string) error {
	if id == "" {
		return errMinLen("secretId", 1)
	}
	if len(id) > maxSecretID {
		return errMaxLen("secretId", maxSecretID)
	}
	return nil
}

// validateValue checks a value that is present: exactly one kind, not
// empty, at most rotor.MaxSecretValueBytes bytes. The value itself never
// appears in a message.
func validateValue(v rotor.Value) error {
	if v.String != nil && v.Binary != nil {
		return rotor.Errorf(rotor.EINVALID, msgBothValues)
	}
	switch {
	case v.String != nil && len(*v.String) == 0:
		return errMinLen("secretString", 1)
	case v.String != nil && len(*v.String) > rotor.MaxSecretValueBytes:
		return errMaxLen("secretString", rotor.MaxSecretValueBytes)
	case v.Binary != nil && len(v.Binary) == 0:
		return errMinLen("secretBinary", 1)
	case v.Binary != nil && len(v.Binary) > rotor.MaxSecretValueBytes:
		return errMaxLen("secretBinary", rotor.MaxSecretValueBytes)
	}
	return nil
}

// validateToken checks a ClientRequestToken that accompanies a value: it is
// required (ESTATE, as AWS answers a raw request without it) and becomes the
// version id.
func validateToken(token string, hasValue bool) error {
	if token == "" {
		if hasValue {
			return rotor.Errorf(rotor.ESTATE, msgTokenRequired)
		}
		return nil
	}
	if len(token) > maxToken {
		return errMaxLen("clientRequestToken", maxToken)
	}
	return nil
}

func validateStage(st, path string) error {
	if st == "" {
		return errMinLen(path, 1)
	}
	if len(st) > maxStageLen {
		return errMaxLen(path, maxStageLen)
	}
	return nil
}

// validateStages checks PutSecretValue's VersionStages: nil (default) or
// 1–20 labels of 1–256 characters. Duplicates are harmless and kept.
func validateStages(stages []string) error {
	if stages == nil {
		return nil
	}
	if len(stages) == 0 {
		return errMinLen("versionStages", 1)
	}
	if len(stages) > rotor.MaxStagesPerSecret {
		return errMaxLen("versionStages", rotor.MaxStagesPerSecret)
	}
	for _, st := range stages {
		if err := validateStage(st, "versionStages"); err != nil {
			return err
		}
	}
	return nil
}

func validateDescription(d string) error {
	if len(d) > maxDescription {
		return errMaxLen("description", maxDescription)
	}
	return nil
}

func validateKmsKeyID(k string) error {
	if len(k) > maxKmsKeyID {
		return errMaxLen("kmsKeyId", maxKmsKeyID)
	}
	return nil
}

func validateType(t string) error {
	if len(t) > maxType {
		return errMaxLen("type", maxType)
	}
	return nil
}

func validateTagKey(k, path string) error {
	if k == "" {
		return errMinLen(path, 1)
	}
	if len(k) > maxTagKey {
		return errMaxLen(path, maxTagKey)
	}
	return nil
}

// validateTags checks a list of tags to add: key 1–128, value 0–256, no key
// twice (EINVALID), at most 50.
func validateTags(tags []rotor.Tag) error {
	seen := make(map[string]bool, len(tags))
	for i, t := range tags {
		if err := validateTagKey(t.Key, fmt.Sprintf("tags.%d.member.key", i+1)); err != nil {
			return err
		}
		if len(t.Value) > maxTagValue {
			return errMaxLen(fmt.Sprintf("tags.%d.member.value", i+1), maxTagValue)
		}
		if seen[t.Key] {
			return rotor.Errorf(rotor.EINVALID, "The tag key %s appears more than once in the request.", t.Key)
		}
		seen[t.Key] = true
	}
	if len(tags) > maxTagsPerSecret {
		return rotor.Errorf(rotor.EINVALID, msgTagLimit)
	}
	return nil
}

// pageSize resolves MaxResults: 0 means def, otherwise 1..max.
func pageSize(n, def, max int) (int, error) {
	switch {
	case n == 0:
		return def, nil
	case n < 0:
		return 0, errValidation(fmt.Sprint(n), "maxResults", "Member must have value greater than or equal to 1")
	case n > max:
		return 0, errValidation(fmt.Sprint(n), "maxResults", fmt.Sprintf("Member must have value less than or equal to %d", max))
	}
	return n, nil
}
