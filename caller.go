package rotor

import (
	"context"
	"slices"
	"time"
)

// Role is what an identity may do.
type Role string

const (
	// RoleNone has no built-in document: the identity may do exactly what
	// its own identity policy allows (nothing without one).
	RoleNone Role = ""
	// RoleAdmin attaches the built-in document that allows every action on
	// every resource, Rotor's own "rotor:*" actions included.
	RoleAdmin Role = "admin"
	// RoleReadOnly attaches the built-in document that allows only reading:
	// GetSecretValue, BatchGetSecretValue, DescribeSecret, ListSecrets and
	// ListSecretVersionIds on every secret.
	RoleReadOnly Role = "read-only"
	// RoleScoped is a temporary principal (issued to a rotation function)
	// that may do exactly what its Principal.Scope allows, and nothing else.
	RoleScoped Role = "scoped"
)

// Valid reports whether r is a role an identity may be given (RoleNone
// included).
func (r Role) Valid() bool { return r == RoleNone || r == RoleAdmin || r == RoleReadOnly }

// Principal is an authenticated caller.
type Principal struct {
	Identity    string // identity name
	AccessKeyID string
	Role        Role
	// ARN names the principal in policies (aws:PrincipalArn, a resource
	// policy's Principal) and in AccessDeniedException messages:
	// "arn:aws:iam::<account>:user/<identity>" for an identity,
	// "arn:aws:sts::<account>:assumed-role/rotor-<identity>" for temporary
	// RoleScoped credentials (a rotation run's identity is
	// "rotation/<run id>"). Package auth sets it; when it is empty the
	// authorizer derives it from Identity and Role.
	ARN string
	// Policies are the principal's compiled identity policies: the built-in
	// document of its Role, its own inline policy, and for RoleScoped
	// credentials the document generated from Scope. Package auth sets them
	// when it authenticates the principal, as a []*policy.Policy — opaque
	// here, so that this package imports only the standard library (and the
	// client library, which imports it, no server package); nil means the
	// built-in document of Role alone.
	Policies any
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
	// SourceIP is the client's address (IPv4 or IPv6, no port) for the
	// aws:SourceIp condition key; "" when unknown (in-process callers).
	SourceIP string
	// SecureTransport reports whether the request came over TLS, for
	// aws:SecureTransport.
	SecureTransport bool
}

type callerKey struct{}

// NewContext returns a copy of ctx carrying c.
func NewContext(ctx context.Context, c Caller) context.Context {
	return &callerContext{Context: ctx, c: c}
}

// callerContext is ctx carrying a Caller: what context.WithValue(ctx,
// callerKey{}, c) would be, in one allocation instead of two (the
// context and the boxed Caller). Value hands out a pointer to c, which
// CallerFrom copies.
type callerContext struct {
	context.Context
	c Caller
}

func (cc *callerContext) Value(key any) any {
	if _, ok := key.(callerKey); ok {
		return &cc.c
	}
	return cc.Context.Value(key)
}

func (cc *callerContext) String() string { return "rotor.NewContext(caller)" }

// CallerFrom returns the Caller in ctx, if any.
func CallerFrom(ctx context.Context) (Caller, bool) {
	if cc, ok := ctx.(*callerContext); ok {
		return cc.c, true
	}
	c, ok := ctx.Value(callerKey{}).(*Caller)
	if !ok {
		return Caller{}, false
	}
	return *c, true
}

// AccessRequest is one authorization question: may the caller perform
// Action on Resource? The other fields fill the condition keys of policies.
type AccessRequest struct {
	// Action is an AWS-style action name such as
	// "secretsmanager:GetSecretValue" or "rotor:CreateIdentity".
	Action string
	// Resource is the ARN the action is on, which policies are matched
	// against: the secret's ARN when it exists, the ARN the request named
	// when it does not (a name as a partial ARN, without suffix), "" for
	// actions that name no secret (IAM's Resource "*"). A denial names
	// Resource, except for a secret that does not exist: then it names
	// SecretID as sent, as AWS does.
	Resource string
	// Secret is the secret the action is on, nil when it does not exist (or
	// the action names none). Its resource policy (ResourcePolicy) is
	// evaluated with the caller's identity policies, and its tags fill
	// aws:ResourceTag/* and secretsmanager:ResourceTag/*.
	Secret *SecretRecord
	// SecretID is the SecretId as the caller sent it
	// (secretsmanager:SecretId); Name the name a CreateSecret asks for
	// (secretsmanager:Name when Secret is nil).
	SecretID string
	Name     string
	// VersionID and VersionStage are the version a request names
	// (secretsmanager:VersionId, secretsmanager:VersionStage).
	VersionID    string
	VersionStage string
	// RotationLambdaARN is the rotation function a RotateSecret asks for
	// (secretsmanager:RotationLambdaARN).
	RotationLambdaARN string
	// RequestTags are the tags a request adds (aws:RequestTag/*); TagKeys
	// the tag keys it names (aws:TagKeys), the keys of RequestTags when nil.
	RequestTags []Tag
	TagKeys     []string
}

// Authorizer decides whether the caller c may make the request r. It
// returns nil or an *Error with code EDENIED whose message says what was
// denied, in AWS's words. Every path authorizes through one Authorizer: the
// Secrets Manager API, Rotor's own operations and rotation credentials.
type Authorizer interface {
	Authorize(ctx context.Context, c Caller, r AccessRequest) error
}

// Authentication is the outcome of verifying a request's signature: who
// signed it, and the region and service of its credential scope.
type Authentication struct {
	Principal Principal
	Region    string
	Service   string
}
