package policy

import "strings"

// IsPublic reports whether p, a resource policy of a secret in account,
// grants access to principals outside the account: an Allow statement
// whose Principal is "*" or names another account or another account's
// user, or that uses NotPrincipal, unless a condition pins the caller to
// ARNs of account. The pinning conditions are a positive StringEquals,
// StringLike, ArnEquals or ArnLike (ForAnyValue allowed, IfExists not) on
// aws:PrincipalArn whose every value starts with
// "arn:aws:iam::<account>:". It is the check behind BlockPublicPolicy.
//
// AWS runs an automated reasoner (Zelkova) for the same purpose; this rule
// is deliberately simpler and never more permissive for the principals
// Rotor has: other restrictions AWS may accept as non-public (aws:SourceIp,
// for example) still leave the secret open to any principal from that
// place, so they do not count here. Identity policies are never public.
func (p *Policy) IsPublic(account string) bool {
	if p.kind != Resource {
		return false
	}
	for i := range p.statements[p.nDeny:] {
		s := &p.statements[p.nDeny+i]
		if s.grantsOutside(account) && !s.pinnedTo(account) {
			return true
		}
	}
	return false
}

func (s *statement) grantsOutside(account string) bool {
	if s.notPrincipal {
		return true
	}
	for _, pr := range s.principals {
		switch {
		case pr.any:
			return true
		case pr.account != "":
			if pr.account != account {
				return true
			}
		case principalAccount(pr.arn) != account:
			return true
		}
	}
	return false
}

func (s *statement) pinnedTo(account string) bool {
	prefix := "arn:aws:iam::" + account + ":"
	for i := range s.conditions {
		c := &s.conditions[i]
		if c.key != "aws:principalarn" || c.negated || c.ifExists || c.set == setAllValues {
			continue
		}
		var srcs []string
		switch c.op {
		case opString, opStringLike:
			for _, pat := range c.pats {
				srcs = append(srcs, pat.src)
			}
		case opARN:
			if c.anyARN {
				continue
			}
			for _, a := range c.arns {
				srcs = append(srcs, a.src)
			}
		default:
			continue
		}
		pinned := len(srcs) > 0
		for _, src := range srcs {
			if !strings.HasPrefix(src, prefix) {
				pinned = false
			}
		}
		if pinned {
			return true
		}
	}
	return false
}
