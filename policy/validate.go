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

// Finding codes.
const (
	// CodePublicAccess: the resource policy grants access outside the
	// account (see Policy.IsPublic).
	CodePublicAccess = "PUBLIC_ACCESS"
	// CodeUnknownConditionKey: a condition names a key Rotor never supplies
	// (see Keys); the condition behaves as if the request lacked the key.
	CodeUnknownConditionKey = "UNKNOWN_CONDITION_KEY"
	// CodeUnknownAction: an Action or NotAction entry of the secretsmanager
	// service matches none of its actions (see SecretsManagerActions).
	CodeUnknownAction = "UNKNOWN_ACTION"
	// CodeVariableInOldVersion: "${" appears in a policy without Version
	// "2012-10-17", where it is plain text rather than a policy variable.
	CodeVariableInOldVersion = "POLICY_VARIABLE_IN_OLD_VERSION"
)

// Finding is one problem Validate reports about a well-formed policy:
// Type is FindingError or FindingWarning, Code one of the Code*
// constants, Message a sentence for the user.
type Finding struct {
	Type    string
	Code    string
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
		out = append(out, Finding{Type: FindingError, Code: CodePublicAccess,
			Message: "The resource policy grants access to principals outside account " + account + "."})
	}
	seen := map[string]bool{}
	for _, k := range p.unknown {
		if seen[strings.ToLower(k)] {
			continue
		}
		seen[strings.ToLower(k)] = true
		out = append(out, Finding{Type: FindingWarning, Code: CodeUnknownConditionKey,
			Message: fmt.Sprintf("The condition key %s is not supported: a condition on it is evaluated as if the request did not have it.", k)})
	}
	for _, a := range p.unknownActions() {
		out = append(out, Finding{Type: FindingWarning, Code: CodeUnknownAction,
			Message: fmt.Sprintf("The action %s matches no Secrets Manager action.", a)})
	}
	if p.version != Version2012 && strings.Contains(p.doc, "${") {
		out = append(out, Finding{Type: FindingWarning, Code: CodeVariableInOldVersion,
			Message: `The policy uses "${" without "Version": "2012-10-17"; policy variables are then plain text.`})
	}
	return out
}
