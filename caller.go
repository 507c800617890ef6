package rotor

import (
	"context"
	"time"
)

// Role is what an identity may do.
type Role string

const (
	// RoleAdmin may call every operation, Rotor's own included.
	RoleAdmin Role = "admin"
	// RoleReadOnly may only read: GetSecretValue, BatchGetSecretValue,
	// DescribeSecret, ListSecrets and ListSecretVersionIds.
	RoleReadOnly Role = "read-only"
	// RoleScoped is a temporary principal (issued to a rotation function)
	// that may act only on the secrets listed in Principal.Resources.
	RoleScoped Role = "scoped"
)

// Valid reports whether r is a role an identity may be given.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleReadOnly }

// Principal is an authenticated caller.
type Principal struct {
	Identity    string // identity name
	AccessKeyID string
	Role        Role
	// Resources lists the secret ARNs a RoleScoped principal may touch.
	Resources []string
	// Expires is when temporary credentials stop working; zero for long-term keys.
	Expires time.Time
}

// Caller is who is calling and in which region; the wire layer puts it in
// the request context after authentication.
type Caller struct {
	Principal Principal
	Region    string
	RequestID string
}

type callerKey struct{}

// NewContext returns a copy of ctx carrying c.
func NewContext(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the Caller in ctx, if any.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// Authorizer decides whether a principal may perform action (an AWS-style
// action name such as "secretsmanager:GetSecretValue" or
// "rotor:CreateIdentity") on resource (a secret ARN, or "" for actions that
// name no secret). It returns nil or an *Error with code EDENIED whose message
// says what was denied.
type Authorizer interface {
	Authorize(ctx context.Context, p Principal, action, resource string) error
}

// Authentication is the outcome of verifying a request's signature: who
// signed it, and the region and service of its credential scope.
type Authentication struct {
	Principal Principal
	Region    string
	Service   string
}
