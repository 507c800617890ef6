package rotor

import (
	"context"
	"slices"
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
	// that may do exactly what its Principal.Scope allows, and nothing else.
	RoleScoped Role = "scoped"
)

// Valid reports whether r is a role an identity may be given.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleReadOnly }

// Principal is an authenticated caller.
type Principal struct {
	Identity    string // identity name
	AccessKeyID string
	Role        Role
	// Scope is everything a RoleScoped principal may do; it is empty for
	// every other role. The server decides it when it issues the
	// credentials, from what it has stored, never from anything the
	// principal itself can write.
	Scope []Grant
	// Expires is when temporary credentials stop working; zero for long-term keys.
	Expires time.Time
}

// Grant is one allow statement of a Principal's Scope: it allows each of
// Actions on each of Resources. It maps one to one to an IAM policy
// statement {"Effect": "Allow", "Action": Actions, "Resource": Resources}.
//
// Matching is exact: an action is a full name such as
// "secretsmanager:GetSecretValue" and a resource a full secret ARN; there
// are no wildcards. The resource "" stands for the actions that name no
// resource (GetRandomPassword), which IAM writes as "*".
type Grant struct {
	Actions   []string
	Resources []string
}

// Allows reports whether g allows action on resource ("" for an action
// that names no resource).
func (g Grant) Allows(action, resource string) bool {
	return slices.Contains(g.Actions, action) && slices.Contains(g.Resources, resource)
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
