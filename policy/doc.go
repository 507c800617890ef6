// Package policy parses, validates, compiles and evaluates IAM policy
// documents the way AWS does for requests within a single account. It is
// pure: no I/O, no storage, no clock; it imports only the standard library.
//
// # Documents
//
// Parse reads a JSON document in AWS's grammar (Version, Id, Statement; per
// statement Sid, Effect, Principal/NotPrincipal, Action/NotAction,
// Resource/NotResource, Condition; a single string or object wherever AWS
// allows an array) as one of two kinds:
//
//   - Identity: attached to an identity. No Principal; at most 6,144
//     characters not counting white space, as IAM.
//   - Resource: attached to a secret. Principal or NotPrincipal required:
//     "*", {"AWS": "*"}, an account ("123456789012" or
//     "arn:aws:iam::123456789012:root") or a user
//     ("arn:aws:iam::123456789012:user/name"); at most 20,480 characters,
//     as Secrets Manager.
//
// A document Parse refuses yields an *Error whose Message is AWS's where
// AWS has one ("Syntax errors in policy.", "Policy statement must contain
// actions.", ...); Code tells Malformed (MalformedPolicyDocumentException)
// from TooLarge. Parse compiles the document once: wildcards are split,
// actions lower-cased, CIDRs, dates and numbers parsed, condition keys
// canonicalised, and statements ordered Deny first. Store the document
// text, keep the *Policy in memory, and evaluate it as often as needed:
// evaluation allocates nothing itself (policy variables are resolved while
// matching), so its cost is the matching and the Context's lookups.
//
// # Matching
//
// Actions match without regard to case, with '*' and '?' wildcards
// ("secretsmanager:Get*"). Resources match case-sensitively, with '*' and
// '?' anywhere in the ARN ("arn:aws:secretsmanager:*:123456789012:
// secret:app1/*", or "secret:app1/db-??????" for the six-character suffix
// AWS appends to a secret's name); as AWS documents, a '*' that ends an ARN
// segment may match across colons and any other '*' stays within its
// segment. '?' is one character, not one byte. A request on no resource (ListSecrets)
// is covered only by Resource "*". In Version 2012-10-17 documents,
// Resource and the String* and Arn* condition values may hold policy
// variables: ${aws:username}, ${aws:PrincipalArn}, any key of Keys(), with an
// optional default (${aws:username, 'nobody'}) and the escapes ${*}, ${?}
// and ${$}; a variable's value is matched literally, and a variable the
// request lacks (with no default) matches nothing.
//
// Conditions support the String*, Numeric*, Date* (ISO 8601 or epoch
// seconds), Bool, BinaryEquals, IpAddress/NotIpAddress (IPv4 and IPv6,
// CIDR or single address), Arn* and Null operators, every one with
// ...IfExists (but Null) and the ForAnyValue:/ForAllValues: set
// operators, with AWS's rules for missing keys (see condition.eval).
// Condition key names are case-insensitive; the caller's Context receives
// them lower-cased. Only the keys in Keys() are ever looked up: a condition
// on any other key behaves as if the request lacked it, and Validate
// reports it.
//
// # Decisions
//
// Policy.Evaluate gives one policy's verdict (NoMatch, Allow, Deny).
// Decide combines a caller's identity policies with a secret's resource
// policy: an explicit Deny anywhere wins, then an Allow from either side,
// else an implicit deny. DeniedMessage words an AccessDeniedException as
// AWS does. Policy.IsPublic is the BlockPublicPolicy check, and Validate
// lists findings for ValidateResourcePolicy. Generate builds a document
// from Go values (for policies Rotor writes itself, such as those of
// rotation credentials).
package policy
