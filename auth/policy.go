package auth

import (
	"context"
	"strings"

	"github.com/rotorhq/rotor"
)

// Resource patterns a grant may name.
const (
	anyResource = "*" // any resource, and no resource
	noResource  = ""  // only actions that name no resource
)

// grant allows principals of a role to perform the actions matching action
// ("*" for all, "prefix:*" for all of a service, or one exact name) on the
// resources matching resource (one of the patterns above).
type grant struct {
	role     rotor.Role
	action   string
	resource string
}

// policy is the whole authorization policy of the long-term roles: a
// request is allowed when at least one grant matches it, and denied
// otherwise. RoleScoped principals have no grant here: they may do exactly
// what their own Principal.Scope allows (see allowed). IAM-style policies
// can replace this table later without touching the callers.
var policy = []grant{
	{rotor.RoleAdmin, "*", anyResource},

	{rotor.RoleReadOnly, "secretsmanager:GetSecretValue", anyResource},
	{rotor.RoleReadOnly, "secretsmanager:BatchGetSecretValue", anyResource},
	{rotor.RoleReadOnly, "secretsmanager:DescribeSecret", anyResource},
	{rotor.RoleReadOnly, "secretsmanager:ListSecrets", anyResource},
	{rotor.RoleReadOnly, "secretsmanager:ListSecretVersionIds", anyResource},
}

// allowed reports whether p may perform action on resource: for a
// RoleScoped principal, whether some grant of its Scope allows exactly
// that action on exactly that resource; for the other roles, whether some
// grant of policy matches. A Scope never widens a long-term role.
func allowed(p rotor.Principal, action, resource string) bool {
	if p.Role == rotor.RoleScoped {
		for _, g := range p.Scope {
			if g.Allows(action, resource) {
				return true
			}
		}
		return false
	}
	for _, g := range policy {
		if g.role == p.Role && actionMatches(g.action, action) && resourceMatches(g.resource, resource) {
			return true
		}
	}
	return false
}

func actionMatches(pattern, action string) bool {
	if pattern == "*" {
		return true
	}
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(action, prefix) && len(action) > len(prefix)
	}
	return pattern == action
}

func resourceMatches(pattern string, resource string) bool {
	switch pattern {
	case anyResource:
		return true
	case noResource:
		return resource == ""
	}
	return false
}

// Authorize implements rotor.Authorizer. It returns nil when p may perform
// action on resource ("" for actions that name no secret), and otherwise an
// EDENIED *rotor.Error in AWS's words: "User: <identity> is not authorized
// to perform: <action> on resource: <resource>" (the " on resource: ..."
// part is omitted when resource is ""). The decision depends only on p,
// action and resource; it reads nothing from the store.
func (s *Service) Authorize(ctx context.Context, p rotor.Principal, action, resource string) error {
	if allowed(p, action, resource) {
		return nil
	}
	if resource == "" {
		return rotor.Errorf(rotor.EDENIED, "User: %s is not authorized to perform: %s", p.Identity, action)
	}
	return rotor.Errorf(rotor.EDENIED, "User: %s is not authorized to perform: %s on resource: %s", p.Identity, action, resource)
}
