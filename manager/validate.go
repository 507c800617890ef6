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

// checkLength checks the length n of the request field path against the
// model's bounds min..max: EVALIDATION naming the bound it breaks.
func checkLength(path string, n, min, max int) error {
	switch {
	case n < min:
		return errMinLen(path, min)
	case n > max:
		return errMaxLen(path, max)
	}
	return nil
}

func validateSecretID(id string) error {
	return checkLength("secretId", len(id), 1, maxSecretID)
}

// validateValue checks a value that is present: exactly one kind, not
// empty, at most rotor.MaxSecretValueBytes bytes. The value itself never
// appears in a message.
func validateValue(v rotor.Value) error {
	if v.String != nil && v.Binary != nil {
		return rotor.Errorf(rotor.EINVALID, msgBothValues)
	}
	switch {
	case v.String != nil:
		return checkLength("secretString", len(*v.String), 1, rotor.MaxSecretValueBytes)
	case v.Binary != nil:
		return checkLength("secretBinary", len(v.Binary), 1, rotor.MaxSecretValueBytes)
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
	return checkLength("clientRequestToken", len(token), 0, maxToken)
}

func validateStage(st, path string) error {
	return checkLength(path, len(st), 1, maxStageLen)
}

// validateStages checks PutSecretValue's VersionStages: nil (default) or
// 1–20 labels of 1–256 characters. Duplicates are harmless and kept.
func validateStages(stages []string) error {
	if stages == nil {
		return nil
	}
	if err := checkLength("versionStages", len(stages), 1, rotor.MaxStagesPerSecret); err != nil {
		return err
	}
	for _, st := range stages {
		if err := validateStage(st, "versionStages"); err != nil {
			return err
		}
	}
	return nil
}

func validateDescription(d string) error {
	return checkLength("description", len(d), 0, maxDescription)
}

func validateKmsKeyID(k string) error {
	return checkLength("kmsKeyId", len(k), 0, maxKmsKeyID)
}

func validateType(t string) error {
	return checkLength("type", len(t), 0, maxType)
}

// reservedTagPrefix starts the tag keys AWS keeps for itself, in any case
// ("aws:", "AWS:", "Aws:"): nobody may add, change or remove one.
const reservedTagPrefix = "aws:"

// validateTagKey checks a tag key to add or remove: 1–128 characters
// (EVALIDATION), and not under reservedTagPrefix (EINVALID, as AWS refuses
// it with InvalidParameterException).
func validateTagKey(k, path string) error {
	if err := checkLength(path, len(k), 1, maxTagKey); err != nil {
		return err
	}
	if len(k) >= len(reservedTagPrefix) && strings.EqualFold(k[:len(reservedTagPrefix)], reservedTagPrefix) {
		return rotor.Errorf(rotor.EINVALID, msgReservedTagKey)
	}
	return nil
}

// validateTags checks a list of tags to add: key 1–128 and not reserved
// (validateTagKey), value 0–256, no key twice (EINVALID), at most 50.
func validateTags(tags []rotor.Tag) error {
	seen := make(map[string]bool, len(tags))
	for i, t := range tags {
		if err := validateTagKey(t.Key, fmt.Sprintf("tags.%d.member.key", i+1)); err != nil {
			return err
		}
		if err := checkLength(fmt.Sprintf("tags.%d.member.value", i+1), len(t.Value), 0, maxTagValue); err != nil {
			return err
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

// pageSize resolves the page size n given in the request field field
// ("maxResults"): 0 means def, otherwise 1..max (EVALIDATION naming field).
func pageSize(field string, n, def, max int) (int, error) {
	switch {
	case n == 0:
		return def, nil
	case n < 0:
		return 0, errValidation(fmt.Sprint(n), field, "Member must have value greater than or equal to 1")
	case n > max:
		return 0, errValidation(fmt.Sprint(n), field, fmt.Sprintf("Member must have value less than or equal to %d", max))
	}
	return n, nil
}
