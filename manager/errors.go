package manager

import (
	"errors"
	"fmt"

	"github.com/rotorhq/rotor"
)

// AWS texts (aws-api.md §2, §3); they are part of the wire contract.
const (
	msgSecretNotFound   = "Secrets Manager can't find the specified secret."
	msgMarkedForDelete  = "You can't perform this operation on the secret because it was marked for deletion."
	msgAlreadyDeleted   = "You tried to perform the operation on a secret that's currently marked deleted."
	msgScheduledName    = "You can't create this secret because a secret with this name is already scheduled for deletion."
	msgTokenRequired    = "You must provide a ClientRequestToken value. We recommend a UUID-type value."
	msgBothValues       = "You can't specify both a binary secret value and a string secret value in the same secret."
	msgNoValue          = "You must provide either SecretString or SecretBinary."
	msgStageNotOnID     = "You provided a VersionStage that is not associated to the provided VersionId."
	msgRecoveryWindow   = "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."
	msgForceAndWindow   = "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."
	msgBatchIDsXFilters = "Either 'SecretIdList' or 'Filters' must be provided, but not both."
	msgBatchMaxResults  = "'Filters' not specified. 'Filters' must also be specified when 'MaxResults' is provided."
	msgInvalidNextToken = "Invalid NextToken."
	msgNoMoveOrRemove   = "You must specify MoveToVersionId, RemoveFromVersionId, or both."
	msgStageLimit       = "You can't attach more than 20 staging labels to a secret."
	msgVersionLimit     = "The secret already has more than 100 versions without staging labels, and none is old enough to be removed. Try again later."
	msgTagLimit         = "You can't attach more than 50 tags to a secret."
	msgReservedTagKey   = "The aws: prefix is reserved for AWS use. You can't add, edit or delete tags whose key starts with it."
	msgDecrypt          = "Secrets Manager can't decrypt the protected secret text using the provided KMS key."
	msgEncrypt          = "Secrets Manager can't encrypt the protected secret text using the provided KMS key."
	msgInternal         = "An error occurred on the server side."
)

// errNotFound is the ENOTFOUND answer for an unknown secret.
func errNotFound() *rotor.Error { return rotor.Errorf(rotor.ENOTFOUND, msgSecretNotFound) }

func errVersionNotFound(id string) *rotor.Error {
	return rotor.Errorf(rotor.ENOTFOUND, "Secrets Manager can't find the specified secret value for VersionId: %s", id)
}

func errStageNotFound(stage string) *rotor.Error {
	return rotor.Errorf(rotor.ENOTFOUND, "Secrets Manager can't find the specified secret value for staging label: %s", stage)
}

func errMarkedForDeletion() *rotor.Error { return rotor.Errorf(rotor.ESTATE, msgMarkedForDelete) }

func errTokenInUse(token, arn string) *rotor.Error {
	return rotor.Errorf(rotor.EEXISTS,
		"You can't use ClientRequestToken %s because that value is already in use for a version of secret %s.", token, arn)
}

// errValidation formats a model-constraint violation the way AWS's
// framework does. value is left out when it may be sensitive.
func errValidation(value, path, constraint string) *rotor.Error {
	if value == "" {
		return rotor.Errorf(rotor.EVALIDATION,
			"1 validation error detected: Value at '%s' failed to satisfy constraint: %s", path, constraint)
	}
	return rotor.Errorf(rotor.EVALIDATION,
		"1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, path, constraint)
}

func errMaxLen(path string, n int) *rotor.Error {
	return errValidation("", path, fmt.Sprintf("Member must have length less than or equal to %d", n))
}

func errMinLen(path string, n int) *rotor.Error {
	return errValidation("", path, fmt.Sprintf("Member must have length greater than or equal to %d", n))
}

// internal wraps a fault that is not the caller's: the cause is kept for
// logs only and the message is generic. An EINVALID error passes through
// unchanged: it is the store refusing a value it cannot hold (a PostgreSQL
// store cannot keep a NUL character in a description, tag, label or token),
// which is the caller's input, and its message says which field. A store's
// EUNAVAILABLE (the database cannot be reached at the moment) is kept, so
// that the client is told to retry (503) rather than of a fault (500).
func internal(op string, err error) *rotor.Error {
	var re *rotor.Error
	if errors.As(err, &re) && (re.Code == rotor.EINTERNAL && re.Message == msgInternal || re.Code == rotor.EINVALID) {
		return re
	}
	if errors.As(err, &re) && re.Code == rotor.EUNAVAILABLE {
		return &rotor.Error{Code: rotor.EUNAVAILABLE, Message: re.Message, Err: fmt.Errorf("%s: %w", op, err)}
	}
	return &rotor.Error{Code: rotor.EINTERNAL, Message: msgInternal, Err: fmt.Errorf("%s: %w", op, err)}
}

// isCode reports whether err carries the rotor error code code.
func isCode(err error, code string) bool { return err != nil && rotor.ErrorCode(err) == code }
