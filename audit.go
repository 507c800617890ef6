package rotor

import (
	"context"
	"time"
)

// Audit event sources: where an audited event comes from. The API's own
// operations use CloudTrail's name for Secrets Manager, so existing tooling
// groups them as it groups AWS's.
const (
	AuditSourceSecretsManager = "secretsmanager.amazonaws.com" // X-Amz-Target secretsmanager.<Op>
	AuditSourceRotor          = "rotor"                        // X-Amz-Target rotor.<Op>, and unknown targets
	AuditSourceRotation       = "rotor.rotation"               // one step of a rotation run
)

// AuditRecord is what the wire layer and the rotation engine report about
// one request or one rotation step. It never holds a secret value:
// Parameters is built from the request members the service model does not
// mark sensitive, and error messages are the client-safe ones (scrubbed, for
// rotation steps).
type AuditRecord struct {
	Time      time.Time
	Source    string // one of the AuditSource constants
	Name      string // the operation (GetSecretValue) or the rotation step (createSecret)
	RequestID string
	Region    string

	// Principal is who made the request; zero when authentication failed,
	// in which case AccessKeyID is the key the request presented, if any.
	Principal   Principal
	AccessKeyID string

	SourceIP  string
	UserAgent string

	// Parameters is a JSON object of the request's non-secret members
	// (CloudTrail's requestParameters), or nil.
	Parameters []byte

	// The response's resource, when the operation names one
	// (CloudTrail's responseElements).
	ARN, SecretName, VersionID string

	// ErrorCode is the AWS exception name of a failed request ("" on
	// success); ErrorMessage is the message the client was sent.
	ErrorCode    string
	ErrorMessage string
	ReadOnly     bool
}

// Auditor keeps the audit trail: one record per API request (refused ones
// included) and per rotation step. The audit package implements it.
//
// A request is audited in two calls. Begin, before the request is served,
// reserves room for its record: it returns reserved=true when there is room;
// reserved=false with a nil error when there is none but the server is
// configured to serve anyway; or an *Error with code EUNAVAILABLE when the
// request must be refused because its record could not be kept. Record,
// after the request was answered, hands over the record; reserved says
// whether Begin reserved room for it. A record without a reservation that
// cannot be kept is counted and logged, never dropped silently.
type Auditor interface {
	Begin(ctx context.Context) (reserved bool, err error)
	Record(rec AuditRecord, reserved bool)
}
