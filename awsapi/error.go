package awsapi

import (
	"errors"
	"net/http"

	"github.com/rotorhq/rotor"
)

// Exception names that the wire layer produces itself, not mapped from a
// rotor error code.
const (
	typeInternal         = "InternalServiceError"
	typeSerialization    = "SerializationException"
	typeUnknownOperation = "UnknownOperationException"
	typeValidation       = "ValidationException"
	typeUnavailable      = "ServiceUnavailableException"
)

// internalMessage is the only text a client sees for a server fault; the
// cause is logged with the request id.
const internalMessage = "An error occurred on the server side."

// exception is how one rotor error code appears on the wire.
type exception struct {
	Type   string // the AWS exception name, sent as __type and X-Amzn-ErrorType
	Status int
}

// exceptions is the one table from rotor error codes to AWS exceptions.
//
// Every client error is HTTP 400, as real Secrets Manager answers
// (ResourceNotFoundException included; aws-api.md §1.4). The authentication
// failures are client errors too: 400, as AWS JSON-protocol services such as
// DynamoDB answer MissingAuthenticationTokenException,
// IncompleteSignatureException, UnrecognizedClientException,
// InvalidSignatureException and ExpiredTokenException (API Gateway's 403 is
// a REST-protocol convention). ThrottlingException is 400 as in other AWS JSON
// services; the SDKs retry it by its code, not its status. Codes missing from
// the table, EINTERNAL included, are server faults: 500 InternalServiceError,
// which the SDKs retry.
var exceptions = map[string]exception{
	rotor.ENOTFOUND:       {"ResourceNotFoundException", http.StatusBadRequest},
	rotor.EEXISTS:         {"ResourceExistsException", http.StatusBadRequest},
	rotor.EINVALID:        {"InvalidParameterException", http.StatusBadRequest},
	rotor.EVALIDATION:     {typeValidation, http.StatusBadRequest},
	rotor.ESTATE:          {"InvalidRequestException", http.StatusBadRequest},
	rotor.ELIMIT:          {"LimitExceededException", http.StatusBadRequest},
	rotor.EPRECONDITION:   {"PreconditionNotMetException", http.StatusBadRequest},
	rotor.ENEXTTOKEN:      {"InvalidNextTokenException", http.StatusBadRequest},
	rotor.EENCRYPT:        {"EncryptionFailure", http.StatusBadRequest},
	rotor.EDECRYPT:        {"DecryptionFailure", http.StatusBadRequest},
	rotor.EDENIED:         {"AccessDeniedException", http.StatusBadRequest},
	rotor.ETHROTTLED:      {"ThrottlingException", http.StatusBadRequest},
	rotor.EUNSUPPORTED:    {"InvalidRequestException", http.StatusBadRequest},
	rotor.EPOLICY:         {"MalformedPolicyDocumentException", http.StatusBadRequest},
	rotor.EPUBLICPOLICY:   {"PublicPolicyException", http.StatusBadRequest},
	rotor.EAUTHMISSING:    {"MissingAuthenticationTokenException", http.StatusBadRequest},
	rotor.EAUTHINCOMPLETE: {"IncompleteSignatureException", http.StatusBadRequest},
	rotor.EAUTHUNKNOWN:    {"UnrecognizedClientException", http.StatusBadRequest},
	rotor.EAUTHSIGNATURE:  {"InvalidSignatureException", http.StatusBadRequest},
	rotor.EAUTHEXPIRED:    {"ExpiredTokenException", http.StatusBadRequest},
	// The server cannot serve now (the audit log cannot be written): 503,
	// which every AWS SDK retries by its status.
	rotor.EUNAVAILABLE: {typeUnavailable, http.StatusServiceUnavailable},
}

// exceptionFor returns the AWS exception for a rotor error code:
// InternalServiceError (500) for EINTERNAL and any code not in the table.
func exceptionFor(code string) exception {
	if e, ok := exceptions[code]; ok {
		return e
	}
	return exception{Type: typeInternal, Status: http.StatusInternalServerError}
}

// apiError is an error already in wire form. The wire layer creates these
// for failures that have no rotor code (SerializationException,
// UnknownOperationException); everything else is converted by toAPIError.
type apiError struct {
	Type    string
	Status  int
	Message string
}

func (e *apiError) Error() string { return e.Type + ": " + e.Message }

func serializationError(msg string) *apiError {
	return &apiError{Type: typeSerialization, Status: http.StatusBadRequest, Message: msg}
}

func unknownOperation(status int, msg string) *apiError {
	return &apiError{Type: typeUnknownOperation, Status: status, Message: msg}
}

// toAPIError converts any error to its wire form. internal reports a server
// fault, whose message is replaced by internalMessage: the cause must be
// logged, never sent.
func toAPIError(err error) (ae *apiError, internal bool) {
	if errors.As(err, &ae) {
		return ae, ae.Status >= 500
	}
	ex := exceptionFor(rotor.ErrorCode(err))
	if ex.Type == typeInternal {
		return &apiError{Type: ex.Type, Status: ex.Status, Message: internalMessage}, true
	}
	return &apiError{Type: ex.Type, Status: ex.Status, Message: rotor.ErrorMessage(err)}, false
}

// errorBody is the JSON body of every error response. botocore reads the
// code only from __type; aws-sdk-go-v2 reads X-Amzn-ErrorType and then the
// body.
type errorBody struct {
	Type    string `json:"__type"`
	Message string `json:"Message"`
}

// ErrorAnswer returns the AWS exception type and the message the API
// answers err with (InternalServiceError and a generic message for a
// server fault), for another front end over the same services (the web
// console's audit records) to report errors exactly as the API would.
func ErrorAnswer(err error) (exception, message string) {
	ae, _ := toAPIError(err)
	return ae.Type, ae.Message
}
