package client

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/rotorhq/rotor"
)

// Sentinel errors. Each is a *rotor.Error; the errors this package returns
// wrap one of them (match with errors.Is) together with the underlying SDK
// or driver error, if any (reach it with errors.As).
var (
	// ErrSecretNotFound: the secret does not exist (DescribeSecret answered
	// ResourceNotFoundException). Code ENOTFOUND.
	ErrSecretNotFound = &rotor.Error{Code: rotor.ENOTFOUND, Message: "secret not found"}
	// ErrStageNotFound: the secret exists but no version carries the
	// staging label, or that version has no value yet (the placeholder a
	// rotation creates). Code ENOTFOUND.
	ErrStageNotFound = &rotor.Error{Code: rotor.ENOTFOUND, Message: "no secret value carries the staging label"}
	// ErrVersionNotFound: the secret has no version with the requested
	// VersionId, or that version has no value. Code ENOTFOUND.
	ErrVersionNotFound = &rotor.Error{Code: rotor.ENOTFOUND, Message: "secret version not found"}
	// ErrBinary: a string was wanted but the secret value is binary
	// (SecretBinary). Code EINVALID.
	ErrBinary = &rotor.Error{Code: rotor.EINVALID, Message: "wanted a string, the secret value is binary"}
	// ErrString: binary was wanted but the secret value is a string
	// (SecretString). Code EINVALID.
	ErrString = &rotor.Error{Code: rotor.EINVALID, Message: "wanted binary, the secret value is a string"}
	// ErrNotDBSecret: the secret value is not a JSON object in AWS's
	// database-secret shape, or lacks a field the database needs (a
	// password always; connectors may require more). Code EINVALID.
	ErrNotDBSecret = &rotor.Error{Code: rotor.EINVALID, Message: "the secret value is not a database secret in AWS's JSON shape"}
	// ErrLoginRefused: the database refused every credential the secret
	// offered within the retry budget. Code EDENIED.
	ErrLoginRefused = &rotor.Error{Code: rotor.EDENIED, Message: "the database refused the credentials of the secret"}
	// ErrInvalidSecretID: the secret id given is empty. Code EINVALID.
	ErrInvalidSecretID = &rotor.Error{Code: rotor.EINVALID, Message: "secret id must not be empty"}
)

// isNotFound reports whether err is the SDK's ResourceNotFoundException.
func isNotFound(err error) bool {
	var nf *types.ResourceNotFoundException
	return errors.As(err, &nf)
}

// sdkNotFound returns the SDK's ResourceNotFoundException in err's chain,
// or nil.
func sdkNotFound(err error) error {
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return nf
	}
	return nil
}

// wrap returns an error that matches both sentinel (errors.Is) and cause
// (errors.Is/As), with the secret id as context. cause may be nil.
func wrap(sentinel *rotor.Error, secretID, detail string, cause error) error {
	msg := fmt.Sprintf("client: secret %q", secretID)
	if detail != "" {
		msg += " " + detail
	}
	if cause == nil {
		return fmt.Errorf("%s: %w", msg, sentinel)
	}
	return fmt.Errorf("%s: %w: %w", msg, sentinel, cause)
}
