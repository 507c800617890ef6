// Package auth decides who is calling Rotor and what they may do.
//
// # Authentication
//
// Every request carries an AWS Signature Version 4. Service.Authenticate
// parses it (package sigv4), checks that the credential scope names a
// region this server serves, looks up the access key's secret and verifies
// the signature. The result is a rotor.Principal.
//
// Two kinds of access keys exist:
//
//   - Long-term keys ("AKIA" + 16 characters) belong to a stored identity.
//     Their 40-character secret is stored sealed by package envelope with
//     envelope.AccessKeyAAD, since SigV4 needs the raw secret and it cannot
//     be hashed. Decrypted secrets are cached in memory, so a warm request
//     reads nothing from the store and decrypts nothing; every change made
//     through the Service (status, key or identity deletion) drops the
//     affected entries before the call returns, so it holds for the very
//     next request. Changes made to the store behind the Service's back
//     (another process, a restored backup) are not seen until restart.
//   - Temporary keys ("ASIA" + 16 characters) are minted by
//     Service.IssueTemporary, live in memory only (never stored, gone on
//     restart) and must be sent with their session token in
//     X-Amz-Security-Token on every request. They stop working when their
//     time-to-live passes (ExpiredTokenException) or when revoked.
//
// # Authorization
//
// Service.Authorize implements rotor.Authorizer by evaluating IAM policy
// documents with package policy (AWS's logic for one account: an explicit
// Deny wins, then an Allow from an identity policy or the secret's
// resource policy, else deny). A principal's identity policies are its
// role's built-in document (AdminPolicy, ReadOnlyPolicy, none for
// RoleNone) plus its identity's inline policy, compiled when its key is
// loaded; a RoleScoped principal's Scope becomes a generated policy
// (ScopePolicy). Denials carry AWS's messages with the principal's ARN.
//
// In terms of the built-in documents: RoleAdmin may do everything;
// RoleReadOnly may only read secrets; RoleNone may do nothing; a
// RoleScoped principal may do what the grants of its Principal.Scope allow
// (exact actions on exact resources), which the server decided when it
// issued the credentials — for a rotation function, rotor.RotationScope —
// unless the secret's resource policy denies it. Only the admin document
// allows Rotor's own "rotor:*" actions. The secret's resource policy
// applies to every principal.
//
// Errors are *rotor.Error values. Their messages never contain a secret
// access key, a session token or any key material.
package auth
