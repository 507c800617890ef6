package rotor

import (
	"errors"
	"fmt"
)

// Error codes. They are domain words; the AWS exception names they map to
// live in one table in package awsapi.
const (
	EINTERNAL     = "internal"      // a server fault; the only code that is not the caller's
	ENOTFOUND     = "not_found"     // no such secret, version or label (ResourceNotFoundException)
	EEXISTS       = "exists"        // name or token already used (ResourceExistsException)
	EINVALID      = "invalid"       // a parameter is wrong for the operation (InvalidParameterException)
	EVALIDATION   = "validation"    // input breaks the model's constraints (ValidationException)
	ESTATE        = "state"         // valid input, wrong state: deleted, rotating (InvalidRequestException)
	ELIMIT        = "limit"         // a quota would be exceeded (LimitExceededException)
	EPRECONDITION = "precondition"  // a prerequisite is missing (PreconditionNotMetException)
	ENEXTTOKEN    = "next_token"    // pagination token not valid (InvalidNextTokenException)
	EENCRYPT      = "encrypt"       // sealing a value failed (EncryptionFailure)
	EDECRYPT      = "decrypt"       // opening a value failed (DecryptionFailure)
	EDENIED       = "access_denied" // authenticated, but not allowed (AccessDeniedException)
	ETHROTTLED    = "throttled"     // too many requests (ThrottlingException)
	EUNSUPPORTED  = "unsupported"   // the operation exists in the API but Rotor does not offer it yet
	EPOLICY       = "policy"        // a resource policy is not a valid policy (MalformedPolicyDocumentException)

	// Authentication failures, each a distinct AWS exception.
	EAUTHMISSING    = "auth_missing"    // no credentials at all (MissingAuthenticationTokenException)
	EAUTHINCOMPLETE = "auth_incomplete" // malformed Authorization (IncompleteSignatureException)
	EAUTHUNKNOWN    = "auth_unknown"    // unknown or inactive access key (UnrecognizedClientException)
	EAUTHSIGNATURE  = "auth_signature"  // signature mismatch or outside the clock window (InvalidSignatureException)
	EAUTHEXPIRED    = "auth_expired"    // temporary credentials have expired (ExpiredTokenException)
)

// Error is the one error type that crosses layer boundaries. Message is safe
// to show a client and never contains secret material; Err is the internal
// cause, for logs only.
type Error struct {
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("rotor error: code=%s message=%s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("rotor error: code=%s message=%s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, "" for nil
// and EINTERNAL for any other error.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of the first *Error in err's
// chain, or a generic text for any other error (whose text may not be safe).
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "An error occurred on the server side."
}
