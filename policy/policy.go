package policy

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind says where a policy document is attached, which decides its grammar
// and size limit.
type Kind int

const (
	// Identity is a policy attached to an identity (IAM's identity-based
	// policy): no Principal, at most MaxIdentitySize characters not counting
	// white space, Sids of letters and digits only.
	Identity Kind = iota + 1
	// Resource is a policy attached to a secret (a resource-based policy):
	// Principal or NotPrincipal required, at most MaxResourceSize characters.
	Resource
)

func (k Kind) String() string {
	switch k {
	case Identity:
		return "identity"
	case Resource:
		return "resource"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Size limits, in characters (Unicode code points).
const (
	// MaxIdentitySize is IAM's limit for a managed policy. As IAM does, white
	// space is not counted.
	MaxIdentitySize = 6144
	// MaxResourceSize is Secrets Manager's limit for a secret's resource
	// policy (ResourcePolicy, 1-20480 characters, white space included).
	MaxResourceSize = 20480
)

// Policy versions. A document without Version is read as Version2008, where
// "${...}" is plain text rather than a policy variable.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Code classifies an *Error.
type Code int

const (
	// Malformed: the document is not a valid policy of its kind; AWS answers
	// MalformedPolicyDocumentException (IAM: MalformedPolicyDocument).
	Malformed Code = iota + 1
	// TooLarge: the document is over its kind's size limit; IAM answers
	// LimitExceeded "Cannot exceed quota for PolicySize: 6144", Secrets
	// Manager a validation error on ResourcePolicy's length.
	TooLarge
)

// Error is the error Parse and Validate return for a document they refuse.
// Message is in AWS's words where AWS has them and is safe to send to the
// client; it quotes only parts of the document.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return "policy: " + e.Message }

func malformed(format string, args ...any) *Error {
	return &Error{Code: Malformed, Message: fmt.Sprintf(format, args...)}
}

// errSyntax is IAM's message for a document that is not JSON or breaks the
// grammar in a way IAM does not describe further, errVersion its message
// for a bad Version. Secrets Manager words both as errResourceSyntax (its
// answer to a resource policy with Version "2019-10-19").
var (
	errSyntax         = &Error{Code: Malformed, Message: "Syntax errors in policy."}
	errVersion        = &Error{Code: Malformed, Message: "The policy must contain a valid version string"}
	errResourceSyntax = &Error{Code: Malformed, Message: "This policy has invalid syntax."}
)

// Policy is a parsed, validated and compiled policy document. It is
// immutable and safe for concurrent use; evaluating it allocates nothing.
type Policy struct {
	kind    Kind
	version string
	doc     string
	// statements holds the Deny statements first, then the Allow ones, each
	// group in document order: a Deny ends evaluation, and an Allow can only
	// decide once no Deny matched.
	statements []statement
	nDeny      int
	unknown    []string // condition keys not in Keys(), as written, for Validate
}

// Kind returns the kind p was parsed as.
func (p *Policy) Kind() Kind { return p.kind }

// String returns the document p was parsed from, byte for byte.
func (p *Policy) String() string { return p.doc }

// statement is one compiled Statement.
type statement struct {
	sid  string
	deny bool

	hasPrincipal bool // resource policies: Principal or NotPrincipal present
	notPrincipal bool
	principals   []principal

	notAction bool
	actions   []pattern // folded: actions match without regard to case

	notResource bool
	resources   []pattern

	conditions []condition
}

// Parse validates doc as a policy of the given kind and compiles it. The
// error is an *Error: TooLarge over the kind's size limit, Malformed for
// anything else wrong, with AWS's message where AWS has one:
//
//   - "Syntax errors in policy." for invalid JSON, a duplicate key, an
//     unknown element, an element of the wrong type, an Effect other than
//     "Allow" or "Deny", or both Action and NotAction (Resource and
//     NotResource, Principal and NotPrincipal) in one statement;
//   - "The policy must contain a valid version string" for a Version other
//     than "2012-10-17" or "2008-10-17";
//   - for a resource policy, Secrets Manager's "This policy has invalid
//     syntax." instead of either of the two above;
//   - "Policy statement must contain actions." / "... resources.";
//   - "Policy document should not specify a principal." (identity policies);
//   - "Missing required field Principal" (resource policies);
//   - "This resource policy contains an unsupported principal." for a
//     principal other than "*", an account, or an IAM user or account root;
//   - "Statement IDs (SID) in a single policy must be unique.";
//   - messages naming the bad action, resource, condition operator or value.
//
// Element names, Effect values and condition operator names are
// case-sensitive, as AWS documents them; condition key names are not.
func Parse(doc string, kind Kind) (*Policy, error) {
	if kind != Identity && kind != Resource {
		return nil, fmt.Errorf("policy: Parse with invalid kind %v", kind)
	}
	p, err := parse(doc, kind)
	if err == nil {
		return p, nil
	}
	if kind == Resource && (err == errSyntax || err == errVersion) {
		err = errResourceSyntax
	}
	if e, ok := err.(*Error); ok {
		c := *e // a copy: callers may not change the shared sentinels
		return nil, &c
	}
	return nil, err
}

func parse(doc string, kind Kind) (*Policy, error) {
	if err := checkSize(doc, kind); err != nil {
		return nil, err
	}
	root, err := decodeJSON(doc)
	if err != nil {
		return nil, err
	}
	top, ok := root.(*object)
	if !ok {
		return nil, errSyntax
	}
	p := &Policy{kind: kind, doc: doc, version: Version2008}
	for _, k := range top.keys {
		switch k {
		case "Version":
			v, ok := top.vals[k].(string)
			if !ok || (v != Version2012 && v != Version2008) {
				return nil, errVersion
			}
			p.version = v
		case "Id":
			if _, ok := top.vals[k].(string); !ok {
				return nil, errSyntax
			}
		case "Statement":
		default:
			return nil, errSyntax
		}
	}
	raw, ok := top.vals["Statement"]
	if !ok {
		return nil, errSyntax
	}
	var list []any
	switch t := raw.(type) {
	case *object:
		list = []any{t}
	case []any:
		list = t
	}
	if len(list) == 0 {
		return nil, errSyntax
	}
	sids := map[string]bool{}
	var allows []statement
	for _, e := range list {
		o, ok := e.(*object)
		if !ok {
			return nil, errSyntax
		}
		s, err := p.compileStatement(o)
		if err != nil {
			return nil, err
		}
		if s.sid != "" {
			if sids[s.sid] {
				return nil, malformed("Statement IDs (SID) in a single policy must be unique.")
			}
			sids[s.sid] = true
		}
		if s.deny {
			p.statements = append(p.statements, s)
		} else {
			allows = append(allows, s)
		}
	}
	p.nDeny = len(p.statements)
	p.statements = append(p.statements, allows...)
	return p, nil
}

// MustParse is Parse for documents known to be valid, such as generated
// ones; it panics on error.
func MustParse(doc string, kind Kind) *Policy {
	p, err := Parse(doc, kind)
	if err != nil {
		panic(err)
	}
	return p
}

func checkSize(doc string, kind Kind) error {
	if kind == Identity {
		n := 0
		for _, r := range doc {
			if !unicode.IsSpace(r) {
				n++
			}
		}
		if n > MaxIdentitySize {
			return &Error{Code: TooLarge, Message: fmt.Sprintf("Cannot exceed quota for PolicySize: %d", MaxIdentitySize)}
		}
		return nil
	}
	if utf8.RuneCountInString(doc) > MaxResourceSize {
		return &Error{Code: TooLarge, Message: fmt.Sprintf("Resource policy exceeds the maximum length of %d characters.", MaxResourceSize)}
	}
	return nil
}

func (p *Policy) compileStatement(o *object) (statement, error) {
	var s statement
	vars := p.version == Version2012
	seen := map[string]bool{}
	for _, k := range o.keys {
		switch k {
		case "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
			"Resource", "NotResource", "Condition":
			seen[k] = true
		default:
			return s, errSyntax
		}
	}
	if seen["Action"] && seen["NotAction"] || seen["Resource"] && seen["NotResource"] ||
		seen["Principal"] && seen["NotPrincipal"] {
		return s, errSyntax
	}

	if v, ok := o.vals["Sid"]; ok {
		sid, ok := v.(string)
		if !ok {
			return s, errSyntax
		}
		if p.kind == Identity && strings.IndexFunc(sid, func(r rune) bool {
			return !('0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z')
		}) >= 0 {
			return s, malformed("Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*")
		}
		s.sid = sid
	}

	switch v := o.vals["Effect"]; v {
	case "Allow":
	case "Deny":
		s.deny = true
	case nil:
		return s, malformed("Missing required field Effect")
	default:
		return s, errSyntax
	}

	// Principal.
	if seen["Principal"] || seen["NotPrincipal"] {
		if p.kind == Identity {
			return s, malformed("Policy document should not specify a principal.")
		}
		key := "Principal"
		if seen["NotPrincipal"] {
			key, s.notPrincipal = "NotPrincipal", true
		}
		ps, err := compilePrincipals(o.vals[key])
		if err != nil {
			return s, err
		}
		s.hasPrincipal, s.principals = true, ps
	} else if p.kind == Resource {
		return s, malformed("Missing required field Principal")
	}

	// Action.
	key := "Action"
	if seen["NotAction"] {
		key, s.notAction = "NotAction", true
	}
	if !seen[key] {
		return s, malformed("Policy statement must contain actions.")
	}
	actions, ok := stringList(o.vals[key])
	if !ok {
		if arr, isArr := o.vals[key].([]any); isArr && len(arr) == 0 {
			return s, malformed("Policy statement must contain actions.")
		}
		return s, errSyntax
	}
	for _, a := range actions {
		if err := checkAction(a); err != nil {
			return s, err
		}
		pat, err := compilePattern(a, true, false, true, false)
		if err != nil {
			return s, err
		}
		s.actions = append(s.actions, pat)
	}

	// Resource.
	key = "Resource"
	if seen["NotResource"] {
		key, s.notResource = "NotResource", true
	}
	if !seen[key] {
		return s, malformed("Policy statement must contain resources.")
	}
	resources, ok := stringList(o.vals[key])
	if !ok {
		if arr, isArr := o.vals[key].([]any); isArr && len(arr) == 0 {
			return s, malformed("Policy statement must contain resources.")
		}
		return s, errSyntax
	}
	for _, r := range resources {
		if r != "*" && (!strings.HasPrefix(r, "arn:") || strings.Count(r, ":") < 5) {
			return s, malformed("Resource %s must be in ARN format or \"*\".", r)
		}
		pat, err := compilePattern(r, true, vars, false, true)
		if err != nil {
			return s, err
		}
		s.resources = append(s.resources, pat)
	}

	// Condition.
	if v, ok := o.vals["Condition"]; ok {
		conds, err := p.compileConditions(v, vars)
		if err != nil {
			return s, err
		}
		s.conditions = conds
	}
	return s, nil
}

// checkAction applies IAM's rules to one Action or NotAction entry: "*", or
// vendor:name where vendor is letters, digits and hyphens.
func checkAction(a string) error {
	if a == "*" {
		return nil
	}
	vendor, name, ok := strings.Cut(a, ":")
	if !ok {
		return malformed("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")
	}
	if strings.Contains(name, ":") {
		return malformed("Actions/Condition can contain only one colon.")
	}
	if vendor == "" || strings.IndexFunc(vendor, func(r rune) bool {
		return !('0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || r == '-')
	}) >= 0 {
		return malformed("Vendor %s is not valid", vendor)
	}
	if name == "" {
		return malformed("Action %s is not valid", a)
	}
	return nil
}
