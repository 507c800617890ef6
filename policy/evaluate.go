package policy

// Effect is the outcome of evaluating one policy against a request.
type Effect int

const (
	// NoMatch: no statement applies; the policy neither allows nor denies.
	NoMatch Effect = iota
	// Allow: an Allow statement applies and no Deny statement does.
	Allow
	// Deny: a Deny statement applies.
	Deny
)

func (e Effect) String() string {
	switch e {
	case Allow:
		return "Allow"
	case Deny:
		return "Deny"
	}
	return "NoMatch"
}

// Request is what a policy is evaluated against.
type Request struct {
	// Principal is the caller's ARN: "arn:aws:iam::<account>:user/<name>"
	// or "arn:aws:iam::<account>:root". Only resource policies look at it.
	Principal string
	// Action is "service:Operation", e.g. "secretsmanager:GetSecretValue";
	// matched without regard to case.
	Action string
	// Resource is the ARN the action is on, matched case-sensitively; ""
	// for actions on no resource (ListSecrets, GetRandomPassword), which
	// only Resource "*" covers, as in AWS.
	Resource string
	// Context supplies condition keys and policy variables; may be nil.
	Context Context
}

// Evaluate returns Deny if a Deny statement of p applies to r, else Allow
// if an Allow statement does, else NoMatch. A statement applies when its
// principal (resource policies only), action, resource and every condition
// match. Evaluate allocates nothing itself (a Context may) and is safe
// for concurrent use.
func (p *Policy) Evaluate(r *Request) Effect {
	if p.denies(r) {
		return Deny
	}
	if p.allows(r) {
		return Allow
	}
	return NoMatch
}

func (p *Policy) denies(r *Request) bool {
	for i := range p.statements[:p.nDeny] {
		if p.statements[i].applies(r) {
			return true
		}
	}
	return false
}

func (p *Policy) allows(r *Request) bool {
	for i := range p.statements[p.nDeny:] {
		if p.statements[p.nDeny+i].applies(r) {
			return true
		}
	}
	return false
}

func (s *statement) applies(r *Request) bool {
	if s.hasPrincipal && !s.principalMatches(r.Principal) {
		return false
	}
	if !s.actionMatches(r.Action) {
		return false
	}
	if !s.resourceMatches(r.Resource, r.Context) {
		return false
	}
	for i := range s.conditions {
		if !s.conditions[i].eval(r.Context) {
			return false
		}
	}
	return true
}

func (s *statement) principalMatches(caller string) bool {
	if s.notPrincipal {
		for i := range s.principals {
			if s.principals[i].excludes(caller) {
				return false
			}
		}
		return true
	}
	for i := range s.principals {
		if s.principals[i].matches(caller, s.deny) {
			return true
		}
	}
	return false
}

func (s *statement) actionMatches(action string) bool {
	for i := range s.actions {
		if s.actions[i].match(action, true, nil) {
			return !s.notAction
		}
	}
	return s.notAction
}

func (s *statement) resourceMatches(resource string, ctx Context) bool {
	if resource == "" {
		resource = "*" // only "*" covers an action on no resource
	}
	for i := range s.resources {
		pat := &s.resources[i]
		if resource == "*" && !pat.any {
			continue
		}
		if pat.match(resource, false, ctx) {
			return !s.notResource
		}
	}
	return s.notResource
}

// Reason says why Decide reached its decision.
type Reason int

const (
	// ImplicitDeny: no policy allows the request, and none denies it.
	ImplicitDeny Reason = iota
	// ExplicitDenyIdentity: a Deny statement of an identity policy applies.
	ExplicitDenyIdentity
	// ExplicitDenyResource: a Deny statement of the resource policy applies.
	ExplicitDenyResource
	// AllowedByIdentity: an identity policy allows the request.
	AllowedByIdentity
	// AllowedByResource: the resource policy allows the request (and no
	// identity policy does).
	AllowedByResource
)

func (r Reason) String() string {
	switch r {
	case ExplicitDenyIdentity:
		return "explicit deny in an identity-based policy"
	case ExplicitDenyResource:
		return "explicit deny in a resource-based policy"
	case AllowedByIdentity:
		return "allowed by an identity-based policy"
	case AllowedByResource:
		return "allowed by a resource-based policy"
	}
	return "no policy allows"
}

// Decision is the outcome of Decide.
type Decision struct {
	Allowed bool
	Reason  Reason
}

// Decide applies AWS's evaluation logic for a request within one account:
// an explicit Deny in any of the identity policies or in the resource
// policy denies; otherwise an Allow in either an identity policy or the
// resource policy allows; otherwise the request is implicitly denied.
// Identity deny is reported before resource deny, identity allow before
// resource allow. resource may be nil (no resource policy); nil entries of
// identity are skipped. Resource statements naming the account (rather
// than the caller) allow only the account root: for everyone else the
// account's identity policies decide, as in AWS. The account root's
// unconditional access, if the caller wants it, is the caller's to grant.
func Decide(identity []*Policy, resource *Policy, r *Request) Decision {
	for _, p := range identity {
		if p != nil && p.denies(r) {
			return Decision{Reason: ExplicitDenyIdentity}
		}
	}
	if resource != nil && resource.denies(r) {
		return Decision{Reason: ExplicitDenyResource}
	}
	for _, p := range identity {
		if p != nil && p.allows(r) {
			return Decision{Allowed: true, Reason: AllowedByIdentity}
		}
	}
	if resource != nil && resource.allows(r) {
		return Decision{Allowed: true, Reason: AllowedByResource}
	}
	return Decision{Reason: ImplicitDeny}
}

// DeniedMessage returns AWS's AccessDeniedException message for a request
// denied for reason:
//
//	User: <principal> is not authorized to perform: <action> on resource: <resource> because no identity-based policy allows the <action> action
//	User: <principal> is not authorized to perform: <action> on resource: <resource> with an explicit deny in an identity-based policy
//	User: <principal> is not authorized to perform: <action> on resource: <resource> with an explicit deny in a resource-based policy
//
// " on resource: <resource>" is left out when resource is "". This is the
// wording AWS documents for IAM's access denied messages (IAM User Guide,
// "Troubleshoot access denied error messages" and its authorization-ID
// page, whose example reads "... is not authorized to perform:
// iam:CreateInstanceProfile on resource: arn:aws:iam::123456789012:
// instance-profile/my-instance-profile with an explicit deny in an
// identity-based policy: <policy ARN>"; Rotor policies have no ARN, so the
// message ends before the colon) and that services return today, e.g.
// "... on resource: * because no identity-based policy allows the
// ses:GetSuppressedDestination action". It returns "" for an allowing
// reason.
func DeniedMessage(principal, action, resource string, reason Reason) string {
	head := "User: " + principal + " is not authorized to perform: " + action
	if resource != "" {
		head += " on resource: " + resource
	}
	switch reason {
	case ImplicitDeny:
		return head + " because no identity-based policy allows the " + action + " action"
	case ExplicitDenyIdentity:
		return head + " with an explicit deny in an identity-based policy"
	case ExplicitDenyResource:
		return head + " with an explicit deny in a resource-based policy"
	}
	return ""
}
