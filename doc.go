// Package rotor holds Rotor's domain: secrets, versions and staging labels,
// the rules about names and ARNs that need no I/O, the one error type every
// layer speaks, and the contracts that connect the layers:
//
//   - SecretService, the secrets API that the wire layer (awsapi) serves and
//     the manager package implements;
//   - AdminService, Rotor's own operations (identities, access keys,
//     key-encryption keys, backups);
//   - Store, persistence only, implemented by sqlite (and later postgres);
//   - Authorizer, the one place that decides whether a caller may act.
//
// Glossary
//
//   - Secret: a named, versioned value with metadata, addressed by an ARN
//     arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 chars>.
//   - Version: one immutable value of a secret, identified by the
//     ClientRequestToken that created it. A rotation placeholder has no value
//     until it is filled exactly once.
//   - Staging label (stage): a name attached to at most one version of a
//     secret. AWSCURRENT is the default version; AWSPREVIOUS follows it;
//     AWSPENDING marks a rotation in progress. A version without labels is
//     deprecated.
//   - KEK / DEK: key-encryption key (from the keyring) and data-encryption key
//     (one per version); see package envelope.
//
// This package imports only the standard library.
package rotor
