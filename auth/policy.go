package auth

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/policy"
)

// Built-in identity policies, attached by an identity's role. They are
// ordinary documents evaluated by the same policy.Decide as any other: the
// roles are shorthands, not a second authorization path.
const (
	// AdminPolicy allows every action, Rotor's own "rotor:*" included, on
	// every resource and on none.
	AdminPolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"RotorAdmin","Effect":"Allow","Action":"*","Resource":"*"}]}`
	// ReadOnlyPolicy allows reading every secret and listing them.
	ReadOnlyPolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"RotorReadOnly","Effect":"Allow","Action":[` +
		`"secretsmanager:GetSecretValue","secretsmanager:BatchGetSecretValue","secretsmanager:DescribeSecret",` +
		`"secretsmanager:ListSecrets","secretsmanager:ListSecretVersionIds"],"Resource":"*"}]}`
)

var (
	adminPolicies    = []*policy.Policy{policy.MustParse(AdminPolicy, policy.Identity)}
	readOnlyPolicies = []*policy.Policy{policy.MustParse(ReadOnlyPolicy, policy.Identity)}
)

// RolePolicies returns the built-in identity policies role attaches: the
// admin document, the read-only document, or none (RoleNone, RoleScoped,
// anything else). The slice is shared: do not modify it.
func RolePolicies(role rotor.Role) []*policy.Policy {
	switch role {
	case rotor.RoleAdmin:
		return adminPolicies
	case rotor.RoleReadOnly:
		return readOnlyPolicies
	}
	return nil
}

// UserARN is the ARN of the identity name in account, as IAM names a user.
func UserARN(account, name string) string {
	return "arn:aws:iam::" + account + ":user/" + name
}

// ScopedARN is the ARN of temporary RoleScoped credentials issued as
// identity in account, shaped as an STS assumed-role session:
// "arn:aws:sts::<account>:assumed-role/rotor-<identity>", so a rotation
// run's credentials ("rotation/<run id>") are
// "arn:aws:sts::<account>:assumed-role/rotor-rotation/<run id>".
func ScopedARN(account, identity string) string {
	return "arn:aws:sts::" + account + ":assumed-role/rotor-" + identity
}

// ScopePolicy returns the identity policy that allows exactly what scope
// allows: one Allow statement per grant, an action on no resource ("")
// written as Resource "*" restricted to that grant's actions, as IAM does.
func ScopePolicy(scope []rotor.Grant) (*policy.Policy, error) {
	stmts := make([]policy.Statement, 0, len(scope))
	for _, g := range scope {
		res := make([]string, 0, len(g.Resources))
		for _, r := range g.Resources {
			if r == "" {
				r = "*"
			}
			res = append(res, r)
		}
		stmts = append(stmts, policy.Statement{Effect: "Allow", Action: g.Actions, Resource: res})
	}
	if len(stmts) == 0 {
		// A statement-less document is malformed: deny everything instead.
		stmts = append(stmts, policy.Statement{Effect: "Deny", Action: []string{"*"}, Resource: []string{"*"}})
	}
	return policy.Generate(policy.Identity, stmts...)
}

// compiledCache holds compiled resource policies by document text, so a
// secret's policy is parsed once, not per request. It is bounded: when it
// grows past maxCompiled entries it starts over.
type compiledCache struct {
	m sync.Map // string -> *policy.Policy
	n atomic.Int64
}

const maxCompiled = 4096

// resource returns the compiled resource policy doc.
func (c *compiledCache) resource(doc string) (*policy.Policy, error) {
	if v, ok := c.m.Load(doc); ok {
		return v.(*policy.Policy), nil
	}
	p, err := policy.Parse(doc, policy.Resource)
	if err != nil {
		return nil, err
	}
	if c.n.Add(1) > maxCompiled {
		c.m.Clear()
		c.n.Store(1)
	}
	c.m.Store(doc, p)
	return p, nil
}

// Authorize implements rotor.Authorizer with AWS's evaluation logic for a
// single account (policy.Decide): an explicit Deny in one of the caller's
// identity policies or in the secret's resource policy denies; otherwise an
// Allow in either allows; otherwise the request is implicitly denied.
//
// The caller's identity policies are c.Principal.Policies; when nil, the
// document ScopePolicy makes of a RoleScoped principal's Scope, or else the
// built-in document of its role; the resource policy is
// r.Secret.ResourcePolicy, compiled once per distinct document. Condition
// keys are read from c and r (see reqContext); aws:CurrentTime is the
// Service's clock.
//
// A denial is an EDENIED *rotor.Error whose message is AWS's
// (policy.DeniedMessage) naming the principal's ARN, the action and
// r.Resource (left out when ""), or for a secret that does not exist
// (r.Secret nil, r.SecretID set) the SecretId as the caller sent it, as
// AWS does. A stored resource policy that no longer
// compiles denies the request (EINTERNAL), never allows it.
func (s *Service) Authorize(ctx context.Context, c rotor.Caller, r rotor.AccessRequest) error {
	p := &c.Principal
	ids, _ := p.Policies.([]*policy.Policy) // nil (unset) means Role's built-in document
	if ids == nil && p.Role == rotor.RoleScoped && len(p.Scope) > 0 {
		// A scoped principal built in-process (a built-in rotation
		// function's caller) carries its Scope, not the policy
		// IssueTemporary compiled from it: compile the same document.
		sp, err := ScopePolicy(p.Scope)
		if err != nil {
			return internal(fmt.Errorf("scope policy: %w", err))
		}
		ids = []*policy.Policy{sp}
	} else if ids == nil {
		ids = RolePolicies(p.Role)
	}
	arn := p.ARN
	if arn == "" {
		arn = s.principalARN(*p)
	}
	var res *policy.Policy
	if r.Secret != nil && r.Secret.ResourcePolicy != "" {
		var err error
		if res, err = s.compiled.resource(r.Secret.ResourcePolicy); err != nil {
			return &rotor.Error{Code: rotor.EINTERNAL, Message: "An error occurred on the server side.",
				Err: fmt.Errorf("compile resource policy of %s: %w", r.Secret.ARN, err)}
		}
	}
	rc := contexts.Get().(*reqContext)
	rc.c, rc.r, rc.arn, rc.now = c, r, arn, s.now
	d := policy.Decide(ids, res, &policy.Request{Principal: arn, Action: r.Action, Resource: r.Resource, Context: rc})
	*rc = reqContext{} // keep no secret record or principal alive in the pool
	contexts.Put(rc)
	if d.Allowed {
		return nil
	}
	shown := r.Resource
	if r.Secret == nil && r.SecretID != "" {
		// A secret that does not exist: AWS names the SecretId as sent
		// ("on resource: app1/missing"), never an ARN it would have to
		// invent.
		shown = r.SecretID
	}
	return &rotor.Error{Code: rotor.EDENIED, Message: policy.DeniedMessage(arn, r.Action, shown, d.Reason)}
}

// principalARN derives p's ARN from its identity and role.
func (s *Service) principalARN(p rotor.Principal) string {
	if p.Role == rotor.RoleScoped {
		return ScopedARN(s.account, p.Identity)
	}
	return UserARN(s.account, p.Identity)
}

// contexts recycles reqContexts: Decide keeps nothing of its Context, so
// an authorization allocates nothing.
var contexts = sync.Pool{New: func() any { return new(reqContext) }}

// reqContext is the policy.Context of one request: it reads condition keys
// from the caller and the request lazily, only when a statement asks, and
// builds no map. Each single value is returned in its own one-element
// array, so values of different keys never share storage.
type reqContext struct {
	c   rotor.Caller // copies: pointers to Authorize's arguments would make them escape
	r   rotor.AccessRequest
	arn string
	now func() time.Time
	one [nKeys][1]string
}

// Indexes into reqContext.one.
const (
	kSourceIP = iota
	kCurrentTime
	kPrincipalARN
	kUsername
	kName
	kSecretID
	kVersionStage
	kVersionID
	kAllowRotation
	kRotationLambda
	nKeys
)

var (
	trueValue  = []string{"true"}
	falseValue = []string{"false"}
)

// single returns v as key k's only value, or no value when v is "".
func (x *reqContext) single(k int, v string) ([]string, bool) {
	if v == "" {
		return nil, false
	}
	x.one[k][0] = v
	return x.one[k][:], true
}

// Value implements policy.Context for the keys of policy.Keys().
func (x *reqContext) Value(key string) ([]string, bool) {
	r, sec := &x.r, x.r.Secret
	switch key {
	case "aws:sourceip":
		return x.single(kSourceIP, x.c.SourceIP)
	case "aws:currenttime":
		return x.single(kCurrentTime, x.now().UTC().Format(time.RFC3339))
	case "aws:securetransport":
		if x.c.SecureTransport {
			return trueValue, true
		}
		return falseValue, true
	case "aws:principalarn":
		return x.single(kPrincipalARN, x.arn)
	case "aws:username":
		if x.c.Principal.Role == rotor.RoleScoped {
			return nil, false // as for an assumed role: no user name
		}
		return x.single(kUsername, x.c.Principal.Identity)
	case "secretsmanager:name":
		if sec != nil {
			return x.single(kName, sec.Name)
		}
		return x.single(kName, r.Name)
	case "secretsmanager:secretid":
		return x.single(kSecretID, r.SecretID)
	case "secretsmanager:versionstage":
		return x.single(kVersionStage, r.VersionStage)
	case "secretsmanager:versionid":
		return x.single(kVersionID, r.VersionID)
	case "secretsmanager:resource/allowrotationlambdaarn":
		if sec == nil {
			return nil, false
		}
		return x.single(kAllowRotation, sec.Rotation.LambdaARN)
	case "secretsmanager:rotationlambdaarn":
		return x.single(kRotationLambda, r.RotationLambdaARN)
	case "aws:tagkeys":
		if r.TagKeys != nil {
			return r.TagKeys, true
		}
		if len(r.RequestTags) == 0 {
			return nil, false
		}
		keys := make([]string, len(r.RequestTags))
		for i, t := range r.RequestTags {
			keys[i] = t.Key
		}
		return keys, true
	}
	if tag, ok := strings.CutPrefix(key, "aws:resourcetag/"); ok {
		return tagValue(sec, tag)
	}
	if tag, ok := strings.CutPrefix(key, "secretsmanager:resourcetag/"); ok {
		return tagValue(sec, tag)
	}
	if tag, ok := strings.CutPrefix(key, "aws:requesttag/"); ok {
		return findTag(r.RequestTags, tag)
	}
	return nil, false
}

// tagValue is the value of the secret's tag key (matched without regard to
// case, as the key arrives lower-cased); none when sec is nil.
func tagValue(sec *rotor.SecretRecord, key string) ([]string, bool) {
	if sec == nil {
		return nil, false
	}
	return findTag(sec.Tags, key)
}

func findTag(tags []rotor.Tag, key string) ([]string, bool) {
	for _, t := range tags {
		if strings.EqualFold(t.Key, key) {
			return []string{t.Value}, true
		}
	}
	return nil, false
}
