package policy

import "strings"

// principal is one compiled entry of a Principal or NotPrincipal element.
type principal struct {
	any     bool   // "*" or {"AWS": "*"}
	account string // an account: "123456789012" or "arn:aws:iam::123456789012:root"
	arn     string // an IAM user ARN, matched exactly
}

var errUnsupportedPrincipal = malformed("This resource policy contains an unsupported principal.")

// compilePrincipals reads a Principal or NotPrincipal value: "*", or an
// object whose only key is "AWS", holding one string or an array of them.
// Each must be "*", a 12-digit account, "arn:aws:iam::<account>:root" or
// "arn:aws:iam::<account>:user/<path/><name>". Wildcards elsewhere, other
// principal types (Service, Federated, CanonicalUser) and other ARNs are
// refused: Rotor has no such principals.
func compilePrincipals(v any) ([]principal, error) {
	if s, ok := v.(string); ok {
		if s != "*" {
			return nil, malformed("Invalid principal in policy: %q", s)
		}
		return []principal{{any: true}}, nil
	}
	o, ok := v.(*object)
	if !ok || len(o.keys) == 0 {
		return nil, errSyntax
	}
	var out []principal
	for _, k := range o.keys {
		if k != "AWS" {
			return nil, errUnsupportedPrincipal
		}
		list, ok := stringList(o.vals[k])
		if !ok {
			return nil, errSyntax
		}
		for _, s := range list {
			p, ok := compilePrincipal(s)
			if !ok {
				return nil, errUnsupportedPrincipal
			}
			out = append(out, p)
		}
	}
	return out, nil
}

func compilePrincipal(s string) (principal, bool) {
	if s == "*" {
		return principal{any: true}, true
	}
	if isAccount(s) {
		return principal{account: s}, true
	}
	rest, ok := strings.CutPrefix(s, "arn:aws:iam::")
	if !ok {
		return principal{}, false
	}
	account, res, ok := strings.Cut(rest, ":")
	if !ok || !isAccount(account) || strings.ContainsAny(res, "*?:") {
		return principal{}, false
	}
	if res == "root" {
		return principal{account: account}, true
	}
	name, ok := strings.CutPrefix(res, "user/")
	if !ok || name == "" || strings.HasSuffix(name, "/") {
		return principal{}, false
	}
	return principal{arn: s}, true
}

func isAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// principalAccount returns the account field of an IAM ARN
// ("arn:aws:iam::<account>:...") or of an STS assumed-role session ARN
// ("arn:aws:sts::<account>:assumed-role/..."), both principals of that
// account.
func principalAccount(arn string) string {
	rest, ok := strings.CutPrefix(arn, "arn:aws:iam::")
	if !ok {
		if rest, ok = strings.CutPrefix(arn, "arn:aws:sts::"); !ok {
			return ""
		}
	}
	if i := strings.IndexByte(rest, ':'); i >= 0 {
		return rest[:i]
	}
	return ""
}

// isRoot reports whether arn is the root of account.
func isRoot(arn, account string) bool {
	const pre, suf = "arn:aws:iam::", ":root"
	return len(arn) == len(pre)+len(account)+len(suf) && strings.HasPrefix(arn, pre) &&
		arn[len(pre):len(pre)+len(account)] == account && strings.HasSuffix(arn, suf)
}

// matches reports whether caller is covered by p in a Principal element of
// a statement with the given effect. An account entry stands for the
// account itself: in an Allow it covers only the account root (AWS
// delegates the account's other principals to their identity policies, so
// a resource policy naming the account grants them nothing by itself); in
// a Deny it covers every principal of the account, which is never less
// strict than AWS.
func (p *principal) matches(caller string, deny bool) bool {
	switch {
	case p.any:
		return true
	case p.account != "":
		if deny {
			return principalAccount(caller) == p.account
		}
		return isRoot(caller, p.account)
	}
	return caller == p.arn
}

// excludes reports whether caller is named by p in a NotPrincipal element:
// exactly, with an account standing for its root only (as AWS does, naming
// an account in NotPrincipal does not exempt its users).
func (p *principal) excludes(caller string) bool {
	switch {
	case p.any:
		return true
	case p.account != "":
		return isRoot(caller, p.account)
	}
	return caller == p.arn
}
