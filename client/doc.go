// Package client is Rotor's Go client library: a read-through cache of
// secrets and the retry logic that lets database connections survive a
// credential rotation. It is built on aws-sdk-go-v2, so it works unchanged
// against Rotor and against AWS Secrets Manager; point the SDK client at
// Rotor with its endpoint (AWS_ENDPOINT_URL or Options.BaseEndpoint).
//
// # Cache
//
// A [Cache] keeps secret values by secret id and staging label. It uses the
// same wire pattern as AWS's caching library (aws-secretsmanager-caching-go)
// and the Secrets Manager Agent: when its description of a secret is missing
// or older than the TTL it calls DescribeSecret to learn which version
// carries each label, then GetSecretValue(SecretId, VersionId) only for a
// version it does not hold yet. Versions never change, so their values are
// kept (a few per secret, least recently used first out) and a refresh that
// finds the same version sends no GetSecretValue at all.
//
// Defaults: TTL 5 minutes (as the Agent; each refresh picks the next one at
// a random point in [TTL/2, TTL) like caching-go, so a fleet does not refresh
// in step), 1024 secrets (least recently used evicted), 10 versions per
// secret, error back-off from 1 s doubling to 30 s. One request per secret is
// in flight at a time however many goroutines ask. When a refresh fails the
// last good value is served (stale-on-error), the failure is logged, counted
// in [Stats] and kept for [Cache.LastError], and the secret is not asked for
// again until the back-off has passed; [Cache.Refresh] ignores TTL and
// back-off.
//
// # Connections that follow the secret
//
// A [Dialer] logs in to a database with the credentials of a secret in AWS's
// JSON shape ([DBSecret]). When the database refuses the login it forces a
// refresh of the secret, tries any newer AWSCURRENT version and (unless
// disabled) the AWSPENDING version, and otherwise waits with exponential
// back-off and jitter and tries again — by default at most 5 logins within
// 10 seconds. That covers the window of a single-user rotation, when the
// database already wants the new password while AWSCURRENT still holds the
// old one. The subpackages pgsecret, mysqlsecret and redissecret wrap a
// Dialer for PostgreSQL (pgx), MySQL/MariaDB (go-sql-driver/mysql) and Redis
// (go-redis).
//
// # Errors
//
// The sentinel errors of this package are *rotor.Error values with a rotor
// error code; match them with errors.Is. The error returned wraps the
// sentinel and, where there is one, the SDK or driver error, so errors.As
// still finds e.g. *types.ResourceNotFoundException or *pgconn.PgError.
// No error message contains a secret value.
package client
