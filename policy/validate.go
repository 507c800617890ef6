package policy

import (
	"fmt"
	"strings"
)

// Finding types.
const (
	FindingError   = "ERROR"   // the policy does not do what it seems to, or is refused with BlockPublicPolicy
	FindingWarning = "WARNING" // the policy is accepted, but part of it can never take effect
)

// Finding checks (the CheckName of ValidateResourcePolicy's errors).
const (
	// CheckPublicAccess: the resource policy grants access outside the
	// account (see Policy.IsPublic).
	CheckPublicAccess = "PUBLIC_ACCESS"
	// CheckUnknownConditionKey: a condition names a key Rotor never supplies
	// (see Keys); the condition behaves as if the request lacked the key.
	CheckUnknownConditionKey = "UNKNOWN_CONDITION_KEY"
	// CheckMismatchedType: a condition's operator does not fit its key's
	// type (IpAddress on aws:username, Bool on aws:SourceIp): it can never
	// match, so only its negation or IfExists can be true.
	CheckMismatchedType = "MISMATCHED_TYPE"
	// CheckUnknownAction: an Action or NotAction entry of the secretsmanager
	// service matches none of its actions (see SecretsManagerActions).
	CheckUnknownAction = "UNKNOWN_ACTION"
	// CheckVariableInOldVersion: "${" appears in a policy without Version
	// "2012-10-17", where it is plain text rather than a policy variable.
	CheckVariableInOldVersion = "POLICY_VARIABLE_IN_OLD_VERSION"
)

// Finding is one problem Validate reports about a well-formed policy:
// Type is FindingError or FindingWarning, Check one of the Check*
// constants, Message a sentence for the user.
type Finding struct {
	Type    string
	Check   string
	Message string
}

// Validate parses doc as a policy of the given kind and reports what is
// wrong with it beyond syntax, for ValidateResourcePolicy and for callers
// that want to warn before storing a policy. account is the account the
// policy's secret (or identity) belongs to. A malformed document returns
// Parse's *Error and no findings; a well-formed one returns a nil error
// and its findings, ERROR before WARNING.
func Validate(doc string, kind Kind, account string) ([]Finding, error) {
	p, err := Parse(doc, kind)
	if err != nil {
		return nil, err
	}
	return p.Findings(account), nil
}

// Findings returns the findings for p (see Validate).
func (p *Policy) Findings(account string) []Finding {
	var out []Finding
	if p.IsPublic(account) {
		out = append(out, Finding{Type: FindingError, Check: CheckPublicAccess,
			Message: "The resource policy grants access to principals outside account " + account + "."})
	}
	seen := map[string]bool{}
	for _, k := range p.unknown {
		if seen[strings.ToLower(k)] {
			continue
		}
		seen[strings.ToLower(k)] = true
		out = append(out, Finding{Type: FindingWarning, Check: CheckUnknownConditionKey,
			Message: fmt.Sprintf("The condition key %s is not supported: a condition on it is evaluated as if the request did not have it.", k)})
	}
	for i := range p.statements {
		for _, c := range p.statements[i].conditions {
			if c.known && !operatorFits(c.op, c.key) {
				out = append(out, Finding{Type: FindingWarning, Check: CheckMismatchedType,
					Message: fmt.Sprintf("The operator %s does not fit the type of the condition key %s: it never matches.", c.opName, c.written)})
			}
		}
	}
	for _, a := range p.unknownActions() {
		out = append(out, Finding{Type: FindingWarning, Check: CheckUnknownAction,
			Message: fmt.Sprintf("The action %s matches no Secrets Manager action.", a)})
	}
	if p.version != Version2012 && strings.Contains(p.doc, "${") {
		out = append(out, Finding{Type: FindingWarning, Check: CheckVariableInOldVersion,
			Message: `The policy uses "${" without "Version": "2012-10-17"; policy variables are then plain text.`})
	}
	return out
}
