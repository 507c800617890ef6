package rotor

import "strings"

// ARN is a parsed Amazon Resource Name.
type ARN struct {
	Partition string
	Service   string
	Region    string
	Account   string
	Resource  string // everything after the fifth colon, e.g. "secret:name-AbCdEf"
}

// ParseARN splits s into its parts; ok is false if s is not of the form
// arn:partition:service:region:account:resource.
func ParseARN(s string) (a ARN, ok bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] == "" || parts[5] == "" {
		return ARN{}, false
	}
	return ARN{Partition: parts[1], Service: parts[2], Region: parts[3], Account: parts[4], Resource: parts[5]}, true
}

// String formats a.
func (a ARN) String() string {
	return "arn:" + a.Partition + ":" + a.Service + ":" + a.Region + ":" + a.Account + ":" + a.Resource
}

// ARNSuffixLength is the length of the random suffix AWS appends to a
// secret's name in its ARN ("-" excluded).
const ARNSuffixLength = 6

// SecretARN builds the ARN of a secret from its region, account, name and
// 6-character random suffix.
func SecretARN(region, account, name, suffix string) string {
	return ARN{Partition: "aws", Service: "secretsmanager", Region: region, Account: account,
		Resource: "secret:" + name + "-" + suffix}.String()
}

// SecretNameFromARN returns the name part of a secret ARN's resource with
// the random suffix removed when withSuffix is true, or the whole resource
// name (for partial ARNs, which lack the suffix) when it is false.
func SecretNameFromARN(a ARN, withSuffix bool) (string, bool) {
	if a.Service != "secretsmanager" || !strings.HasPrefix(a.Resource, "secret:") {
		return "", false
	}
	name := strings.TrimPrefix(a.Resource, "secret:")
	if !withSuffix {
		return name, name != ""
	}
	i := len(name) - ARNSuffixLength - 1
	if i < 1 || name[i] != '-' {
		return "", false
	}
	return name[:i], true
}

// LambdaARN builds the ARN of a rotation function.
func LambdaARN(region, account, name string) string {
	return ARN{Partition: "aws", Service: "lambda", Region: region, Account: account,
		Resource: "function:" + name}.String()
}

// InvalidNameMessage is AWS's text for a secret name that breaks the rules.
const InvalidNameMessage = "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!"

// ValidSecretName reports whether name is 1-512 characters of ASCII letters,
// digits and /_+=.@- as AWS requires of names users create.
func ValidSecretName(name string) bool {
	if len(name) == 0 || len(name) > MaxNameLength {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("/_+=.@-", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// ValidSecretID reports whether id may name a secret in a request's
// SecretId: an ARN (ParseARN accepts it; full or partial, the lookup decides
// whether it names anything), or else a non-empty string of ASCII letters,
// digits and /_+=.@-! (a name: one users create, or one a service creates
// for itself, such as "rds!cluster-..."). AWS answers any other id with
// ValidationException InvalidNameMessage before it looks anything up; the
// length limits are the API model's.
func ValidSecretID(id string) bool {
	if strings.HasPrefix(id, "arn:") {
		_, ok := ParseARN(id)
		return ok
	}
	if id == "" {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("/_+=.@-!", c) >= 0:
		default:
			return false
		}
	}
	return true
}
